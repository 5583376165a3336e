#!/usr/bin/python3
"""Writes an fcn model (fcn.h's own format) as an ONNX model, with Debian's python3-onnx.

    /usr/bin/python3 tools/fcn_to_onnx.py MODEL.fcn OUT.onnx [--opset 13] [--batch N|dynamic]

The graph is what an exporter writes for the same network: input 'input' of shape
(N, C, H, W) float32 (N dynamic by default), then the input transform as Sub (the mean,
per channel, omitted when 0) and Mul (the scale, omitted when 1), then per layer: Conv
(with bias), MaxPool / AveragePool (ceil_mode, count_include_pad=1: the divisor is the
window clipped to the padded input, as Caffe and fcn), Flatten + Gemm (transB=1) for fc,
Relu / LeakyRelu, Tanh, Sigmoid, Dropout, Softmax (axis 1). fcn.h's ONNX loader reads it
back to the same network bit for bit (the weights are copied, the transform is the same
two float32 operations).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fcn_format import read_fcn  # noqa: E402


def to_onnx(m, opset=13, batch="N"):
    h, w, c = m["input"]
    nodes, inits = [], []
    cur, n = "input", [0]

    def name(prefix):
        n[0] += 1
        return "%s%d" % (prefix, n[0])

    def init(nm, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), nm))
        return nm

    def node(op, inputs, **attrs):
        nonlocal cur
        out = name(op.lower() + "_")
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        cur = out
        return out

    mean = np.asarray(m["mean"], dtype=np.float32)
    if np.any(mean != 0):
        node("Sub", [cur, init("mean", mean.reshape(1, c, 1, 1))])
    if np.float32(m["scale"]) != np.float32(1.0):
        node("Mul", [cur, init("scale", np.asarray(m["scale"], dtype=np.float32))])
    flat = False
    for i, L in enumerate(m["layers"]):
        t = L["type"]
        if t == "conv":
            p = L["pad"]
            node("Conv", [cur, init("conv%d.weight" % i, L["w"]), init("conv%d.bias" % i, L["b"])],
                 kernel_shape=[L["kh"], L["kw"]], strides=[L["stride"]] * 2, pads=[p] * 4)
        elif t in ("maxpool", "avgpool"):
            attrs = dict(kernel_shape=[L["kh"], L["kw"]], strides=[L["stride"]] * 2, pads=[L["pad"]] * 4)
            if L["ceil"]:
                attrs["ceil_mode"] = 1
            if t == "avgpool":
                attrs["count_include_pad"] = 1
            node("MaxPool" if t == "maxpool" else "AveragePool", [cur], **attrs)
        elif t == "fc":
            if not flat:
                node("Flatten", [cur], axis=1)
                flat = True
            node("Gemm", [cur, init("fc%d.weight" % i, L["w"]), init("fc%d.bias" % i, L["b"])], transB=1)
        elif t == "relu":
            if L["slope"] != 0:
                node("LeakyRelu", [cur], alpha=float(L["slope"]))
            else:
                node("Relu", [cur])
        elif t in ("tanh", "sigmoid"):
            node(t.capitalize(), [cur])
        elif t == "dropout":
            node("Dropout", [cur])
        elif t == "softmax":
            node("Softmax", [cur], axis=1)
        else:
            raise ValueError("layer %d: %s" % (i + 1, t))
    k = m["layers"][-1]["maps"] if "maps" in m["layers"][-1] else None
    if k is None:
        k = next(L["maps"] for L in reversed(m["layers"]) if "maps" in L)
    nodes[-1].output[0] = "output"
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, c, h, w])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, k])
    g = helper.make_graph(nodes, "fcn", [x], [y], initializer=inits)
    model = helper.make_model(g, producer_name="fcn_to_onnx.py", opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset <= 13 else 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--batch", default="dynamic", help="'dynamic' (default) or a number")
    a = ap.parse_args()
    m = read_fcn(a.model)
    model = to_onnx(m, a.opset, "N" if a.batch == "dynamic" else int(a.batch))
    onnx.save(model, a.out)
    print("wrote %s (%d bytes)" % (a.out, os.path.getsize(a.out)))


if __name__ == "__main__":
    main()
