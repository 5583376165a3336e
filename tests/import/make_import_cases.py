#!/usr/bin/python3
"""Writes the small Caffe and ONNX models that tests/import/test_import.c reads, into
tests/data/import/ (committed; rerun after changing this script):

    /usr/bin/python3 tests/import/make_import_cases.py [OUTDIR]

Each good case NAME has the imported form (NAME.onnx, or NAME.prototxt + NAME.caffemodel)
and NAME.fcn, the same network written natively: the test loads both and requires the
same layers, transform and weight bits, and byte-identical maps. Each bad case is listed
in cases.txt as "bad FILE [FILE2] | SUBSTRING" (the loader's message must contain it).
Needs Debian's python3-onnx and python3-protobuf (and numpy).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fcn_format as F  # noqa: E402
from fcn_to_caffe import _schema  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "import")
REGRESS = os.path.join(OUT, "..", "..", "fuzz", "regress", "onnx")
rng = np.random.default_rng(7)
cases = []


def set_rng(r):
    """Makes r the generator of the cases that follow; returns the one before (cases
    added later draw from their own, so that the earlier files keep their bytes)."""
    global rng
    old, rng = rng, r
    return old


def rnd(*shape):
    return (rng.standard_normal(shape) * 0.5).astype(np.float32)


def conv(maps, c, k, stride=1, pad=0):
    return {"type": "conv", "maps": maps, "kh": k, "kw": k, "stride": stride, "pad": pad, "w": rnd(maps, c, k, k), "b": rnd(maps)}


def pool(t, k, stride, pad=0, ceil=False):
    return {"type": t, "kh": k, "kw": k, "stride": stride, "pad": pad, "ceil": ceil}


def fc(n, k):
    return {"type": "fc", "maps": n, "w": rnd(n, k), "b": rnd(n)}


def native(name, m):
    F.write_fcn(m, os.path.join(OUT, name + ".fcn"))


def save_onnx(name, nodes, inits, inp, out_shape, opset=13, shuffle=False, ir=7, out=None):
    if shuffle:
        nodes = [nodes[i] for i in np.random.default_rng(3).permutation(len(nodes))]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, inp)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    # before IR 4 the initializers are graph inputs too
    extra = [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in inits] if ir < 4 else []
    g = helper.make_graph(nodes, name, [x] + extra, [y], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    open(out or os.path.join(OUT, name + ".onnx"), "wb").write(m.SerializeToString())


def T(name, arr, raw=True):
    arr = np.asarray(arr)
    if raw:
        return numpy_helper.from_array(arr, name)
    if arr.dtype == np.float32:
        return helper.make_tensor(name, TensorProto.FLOAT, arr.shape, arr.ravel().tolist())
    return helper.make_tensor(name, TensorProto.INT64, arr.shape, arr.ravel().tolist())


def N(op, ins, outs, **kw):
    return helper.make_node(op, ins, outs, name=outs[0], **kw)


# ---- the BatchNormalization fold, as fcn_import.h states it: in float64, each weight
# and bias rounded to float32 once (a fold into the next layer sums the bias in the
# layer's own order: channel, row, column) ----

def bn(c, eps=1e-5):
    """Random inference-form BatchNormalization parameters (scale, B, mean, var, eps)."""
    return {"s": rng.uniform(0.5, 1.5, c).astype(np.float32), "B": rnd(c), "mean": rnd(c),
            "var": rng.uniform(0.2, 2.0, c).astype(np.float32), "eps": np.float32(eps)}


def bn_affine(p):
    """y = a x + b in float64."""
    a = p["s"].astype(np.float64) / np.sqrt(p["var"].astype(np.float64) + np.float64(p["eps"]))
    return a, p["B"].astype(np.float64) - p["mean"].astype(np.float64) * a


def fold_back(L, a, b):
    """Conv or fc layer L followed by y = a x + b (per output)."""
    shape = (-1,) + (1,) * (L["w"].ndim - 1)
    L["w"] = (L["w"].astype(np.float64) * a.reshape(shape)).astype(np.float32)
    L["b"] = (L["b"].astype(np.float64) * a + b).astype(np.float32)


def fold_next(L, a, b, run):
    """Conv or fc layer L preceded by y = a x + b, channel k covering `run` consecutive
    weights of each output's row."""
    w = L["w"].reshape(L["w"].shape[0], -1)
    nw, nb = np.empty_like(w), np.empty_like(L["b"])
    for o in range(w.shape[0]):
        acc = float(L["b"][o])
        for j in range(w.shape[1]):
            x = float(w[o, j])
            acc += x * float(b[j // run])
            nw[o, j] = np.float32(x * float(a[j // run]))
        nb[o] = np.float32(acc)
    L["w"], L["b"] = nw.reshape(L["w"].shape), nb


def bn_inits(name, p):
    return [T(name + "_s", p["s"]), T(name + "_B", p["B"]), T(name + "_m", p["mean"]), T(name + "_v", p["var"])]


def BN(name, x, y, **kw):
    return N("BatchNormalization", [x, name + "_s", name + "_B", name + "_m", name + "_v"], [y], **kw)


def main():
    os.makedirs(OUT, exist_ok=True)
    # ---- ONNX: every op, against the native net ----
    # 9x9x2 input: Sub/Mul transform, Conv 3x3 pad 1 (bias), LeakyRelu, MaxPool 2 s2 ceil
    # (9 -> 5, clipped last window), Conv 3x3 no bias + Add bias (1,C,1,1), Tanh,
    # AveragePool 2 s1 (count_include_pad 1), Sigmoid, Flatten, Gemm transB=1 (float_data),
    # Relu, Dropout, MatMul + Add, Identity, Reshape via Constant (0, -1), Gemm transB=0
    # beta 1, Softmax. Nodes shuffled.
    c1, c2 = conv(4, 2, 3, pad=1), conv(3, 4, 3)
    c2["b"] = rnd(3)
    f1, f2, f3 = fc(6, 3 * 2 * 2), fc(5, 6), fc(3, 5)
    mean = np.array([10.0, -3.5], np.float32)
    scale = np.float32(0.125)
    m = {"input": (9, 9, 2), "scale": scale, "mean": list(mean), "layers": [
        c1, {"type": "relu", "slope": np.float32(0.1)}, pool("maxpool", 2, 2, ceil=True), c2, {"type": "tanh"},
        pool("avgpool", 2, 1), {"type": "sigmoid"}, f1, {"type": "relu", "slope": np.float32(0)},
        {"type": "dropout"}, f2, f3, {"type": "softmax"}]}
    native("onnx_all", m)
    nodes = [
        N("Sub", ["x", "mean"], ["t0"]), N("Mul", ["t0", "scale"], ["t1"]),
        N("Conv", ["t1", "c1w", "c1b"], ["a1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        N("LeakyRelu", ["a1"], ["a2"], alpha=0.1),
        N("MaxPool", ["a2"], ["a3"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        N("Conv", ["a3", "c2w"], ["a4"]),
        N("Add", ["a4", "c2b"], ["a5"]), N("Tanh", ["a5"], ["a6"]),
        N("AveragePool", ["a6"], ["a7"], kernel_shape=[2, 2], strides=[1, 1], count_include_pad=1),
        N("Sigmoid", ["a7"], ["a8"]), N("Flatten", ["a8"], ["a9"], axis=1),
        N("Gemm", ["a9", "f1w", "f1b"], ["b1"], transB=1), N("Relu", ["b1"], ["b2"]),
        N("Dropout", ["b2"], ["b3"]), N("MatMul", ["b3", "f2wt"], ["b4"]), N("Add", ["f2b", "b4"], ["b5"]),
        N("Identity", ["b5"], ["b6"]), N("Constant", [], ["shp"], value=T("shp", np.array([0, -1], np.int64), raw=False)),
        N("Reshape", ["b6", "shp"], ["b7"]), N("Gemm", ["b7", "f3wt", "f3b"], ["b8"], beta=1.0),
        N("Softmax", ["b8"], ["y"], axis=1)]
    inits = [T("mean", mean.reshape(1, 2, 1, 1)), T("scale", scale), T("c1w", c1["w"]), T("c1b", c1["b"], raw=False),
             T("c2w", c2["w"]), T("c2b", c2["b"].reshape(1, 3, 1, 1)), T("f1w", f1["w"], raw=False), T("f1b", f1["b"]),
             T("f2wt", f2["w"].T.copy()), T("f2b", f2["b"]), T("f3wt", f3["w"].T.copy()), T("f3b", f3["b"].reshape(1, 3))]
    save_onnx("onnx_all", nodes, inits, ["N", 2, 9, 9], ["N", 3], shuffle=True)
    cases.append("good onnx_all.onnx | onnx_all.fcn")

    # no padding anywhere: the dense path runs it (dense == sliding); opset 9, Reshape
    # from an initializer with 1 and -1, Softmax axis 1 default before opset 13
    c1, f1 = conv(5, 1, 3, stride=2), fc(4, 5 * 3 * 3)
    native("onnx_dense", {"input": (7, 7, 1), "scale": np.float32(1), "mean": [np.float32(0)],
                          "layers": [c1, {"type": "relu", "slope": np.float32(0)}, f1, {"type": "softmax"}]})
    nodes = [N("Conv", ["x", "w", "b"], ["a"], kernel_shape=[3, 3], strides=[2, 2], auto_pad="VALID"),
             N("Relu", ["a"], ["r"]), N("Reshape", ["r", "shape"], ["f"]),
             N("Gemm", ["f", "fw", "fb"], ["g"], transB=1), N("Softmax", ["g"], ["y"])]
    save_onnx("onnx_dense", nodes, [T("w", c1["w"]), T("b", c1["b"]), T("shape", np.array([1, -1], np.int64)),
                                    T("fw", f1["w"]), T("fb", f1["b"])], [1, 1, 7, 7], [1, 4], opset=9, ir=4)
    cases.append("good onnx_dense.onnx | onnx_dense.fcn")

    # ---- ONNX: Pad and BatchNormalization folded into the layers, opsets 7 to 21 ----
    first = set_rng(np.random.default_rng(14))
    # opset 11: Pad from a Constant before a Conv (pads 1, its own 0) and before an
    # AveragePool (count_include_pad), a Pad of zeros dropped; BatchNormalization after a
    # Conv without bias (into it), after a Relu (into the next, unpadded, conv), after a
    # Gemm with Dropout between (into it), after Unsqueeze (1, N, 1) and before Squeeze
    c1, c2, f1 = conv(4, 2, 3, pad=1), conv(5, 4, 2), fc(6, 5 * 3 * 3)
    c1["b"] = np.zeros(4, np.float32)
    p1, p2, p3 = bn(4), bn(4, eps=1e-3), bn(6)
    nodes = [N("Constant", [], ["zp"], value=T("zp", np.zeros(8, np.int64))), N("Pad", ["x", "zp"], ["x0"]),
             N("Constant", [], ["pp"], value=T("pp", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))),
             N("Pad", ["x0", "pp", "pv"], ["x1"], mode="constant"), N("Conv", ["x1", "c1w"], ["a1"]),
             BN("n1", "a1", "a2"), N("Relu", ["a2"], ["a3"]), BN("n2", "a3", "a4", epsilon=1e-3),
             N("Conv", ["a4", "c2w", "c2b"], ["a5"]), N("Pad", ["a5", "pp"], ["a6"]),
             N("AveragePool", ["a6"], ["a7"], kernel_shape=[3, 3], strides=[3, 3]), N("Tanh", ["a7"], ["a8"]),
             N("Flatten", ["a8"], ["a9"]), N("Gemm", ["a9", "f1w", "f1b"], ["b1"], transB=1), N("Dropout", ["b1"], ["b2"]),
             N("Unsqueeze", ["b2"], ["b3"], axes=[2]), BN("n3", "b3", "b4"), N("Squeeze", ["b4"], ["b5"], axes=[2]),
             N("Softmax", ["b5"], ["y"])]
    inits = [T("pv", np.array(0, np.float32)), T("c1w", c1["w"]), T("c2w", c2["w"]), T("c2b", c2["b"]), T("f1w", f1["w"]),
             T("f1b", f1["b"])] + bn_inits("n1", p1) + bn_inits("n2", p2) + bn_inits("n3", p3)
    save_onnx("onnx_fold", nodes, inits, [1, 2, 8, 8], [1, 6], opset=11, shuffle=True)
    fold_back(c1, *bn_affine(p1))
    fold_next(c2, *bn_affine(p2), run=4)
    fold_back(f1, *bn_affine(p3))
    native("onnx_fold", {"input": (8, 8, 2), "scale": np.float32(1), "mean": [np.float32(0)] * 2, "layers": [
        c1, {"type": "relu", "slope": np.float32(0)}, c2, pool("avgpool", 3, 3, pad=1), {"type": "tanh"}, f1,
        {"type": "dropout"}, {"type": "softmax"}]})
    cases.append("good onnx_fold.onnx | onnx_fold.fcn")

    # opset 7 and 9: Pad with pads and value attributes; a MaxPool's larger end pads as
    # PyTorch writes ceil_mode before opset 10 (7 -> 3 with kernel 3, stride 2, pads
    # 0,0,1,1); BatchNormalization (spatial 1) after a MatMul + Add, into it; the
    # BatchNormalization at the input folded into the first conv
    for opset in (7, 9):
        c1, f1 = conv(3, 1, 2), fc(4, 3 * 3 * 3)
        p0, p1 = bn(1), bn(4)
        nodes = [BN("n0", "x", "a0", **({"spatial": 1} if opset < 9 else {})), N("Conv", ["a0", "c1w", "c1b"], ["a1"]),
                 N("Pad", ["a1"], ["a2"], pads=[0, 0, 0, 0, 0, 0, 0, 0], value=0.0),
                 N("MaxPool", ["a2"], ["a3"], kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1]),
                 N("Flatten", ["a3"], ["a4"]), N("MatMul", ["a4", "f1wt"], ["a5"]), N("Add", ["a5", "f1b"], ["a6"]),
                 BN("n1", "a6", "a7"), N("Dropout", ["a7"], ["a8"], ratio=0.25), N("Softmax", ["a8"], ["y"])]
        inits = [T("c1w", c1["w"]), T("c1b", c1["b"]), T("f1wt", f1["w"].T.copy()), T("f1b", f1["b"])]
        save_onnx("onnx_opset%d" % opset, nodes, inits + bn_inits("n0", p0) + bn_inits("n1", p1), [1, 1, 8, 8], [1, 4],
                  opset=opset, ir=3 if opset < 9 else 4)
        fold_next(c1, *bn_affine(p0), run=4)
        fold_back(f1, *bn_affine(p1))
        native("onnx_opset%d" % opset, {"input": (8, 8, 1), "scale": np.float32(1), "mean": [np.float32(0)], "layers": [
            c1, pool("maxpool", 3, 2, ceil=True), f1, {"type": "dropout"}, {"type": "softmax"}]})
        cases.append("good onnx_opset%d.onnx | onnx_opset%d.fcn" % (opset, opset))

    # opset 21 (IR 10): Pad with axes (input 3) before a Conv with its own pads; Shape
    # with start and end; Squeeze/Unsqueeze axes as inputs; Dropout's training_mode a
    # bool false; BatchNormalization after a Conv that has a bias (into it)
    c1, f1 = conv(3, 2, 3, pad=2), fc(3, 3 * 8 * 8)
    p1 = bn(3)
    nodes = [N("Pad", ["x", "pads", "", "axes"], ["a1"]), N("Conv", ["a1", "c1w", "c1b"], ["a2"], pads=[1, 1, 1, 1]),
             BN("n1", "a2", "a3"), N("Relu", ["a3"], ["a4"]), N("Dropout", ["a4", "ratio", "train"], ["a5"]),
             N("Shape", ["a5"], ["sh"], start=0, end=1), N("Constant", [], ["m1"], value=T("m1", np.array([-1], np.int64))),
             N("Concat", ["sh", "m1"], ["tgt"], axis=0), N("Reshape", ["a5", "tgt"], ["a6"]),
             N("Unsqueeze", ["a6", "ax23"], ["a7"]), N("Squeeze", ["a7", "ax23"], ["a8"]),
             N("Gemm", ["a8", "f1w", "f1b"], ["a9"], transB=1, alpha=0.5, beta=2.0), N("Softmax", ["a9"], ["y"])]
    inits = [T("pads", np.array([1, 1, 1, 1], np.int64)), T("axes", np.array([-2, -1], np.int64)), T("c1w", c1["w"]),
             T("c1b", c1["b"]), T("ratio", np.array(0.5, np.float32)), T("train", np.array(False)),
             T("ax23", np.array([2, 3], np.int64)), T("f1w", f1["w"]), T("f1b", f1["b"])] + bn_inits("n1", p1)
    save_onnx("onnx_opset21", nodes, inits, ["N", 2, 6, 6], ["N", 3], opset=21, ir=10)
    fold_back(c1, *bn_affine(p1))
    f1["w"] = f1["w"] * np.float32(0.5)
    f1["b"] = f1["b"] * np.float32(2.0)
    native("onnx_opset21", {"input": (6, 6, 2), "scale": np.float32(1), "mean": [np.float32(0)] * 2, "layers": [
        c1, {"type": "relu", "slope": np.float32(0)}, {"type": "dropout"}, f1, {"type": "softmax"}]})
    cases.append("good onnx_opset21.onnx | onnx_opset21.fcn")

    # a BatchNormalization folded into the conv after it, whose bias comes from an Add
    # after it: the Add adds to the folded shift (one float addition)
    c1, f1 = conv(3, 2, 3), fc(2, 3 * 4 * 4)
    p1, bias = bn(2), rnd(3)
    nodes = [N("Relu", ["x"], ["a1"]), BN("n1", "a1", "a2"), N("Conv", ["a2", "c1w"], ["a3"]), N("Add", ["a3", "c1b"], ["a4"]),
             N("Flatten", ["a4"], ["a5"]), N("Gemm", ["a5", "f1w", "f1b"], ["a6"], transB=1), N("Softmax", ["a6"], ["y"])]
    save_onnx("onnx_fold_add", nodes, [T("c1w", c1["w"]), T("c1b", bias.reshape(1, 3, 1, 1)), T("f1w", f1["w"]),
                                       T("f1b", f1["b"])] + bn_inits("n1", p1), [1, 2, 6, 6], [1, 2])
    c1["b"] = np.zeros(3, np.float32)
    fold_next(c1, *bn_affine(p1), run=9)
    c1["b"] = c1["b"] + bias
    native("onnx_fold_add", {"input": (6, 6, 2), "scale": np.float32(1), "mean": [np.float32(0)] * 2, "layers": [
        {"type": "relu", "slope": np.float32(0)}, c1, f1, {"type": "softmax"}]})
    cases.append("good onnx_fold_add.onnx | onnx_fold_add.fcn")
    later = set_rng(first)

    # ---- Caffe: every layer kind, V2 and V1 ----
    S = _schema()

    first = set_rng(later)
    # BatchNorm + Scale (in place) after a Convolution and after an InnerProduct, each
    # pair composed in float64 and folded into it; a BatchNorm alone after a ReLU, into
    # the next Convolution. Caffe's statistics are the blobs divided by the third blob.
    c1, c2, f1 = conv(3, 1, 3), conv(4, 3, 2, stride=2), fc(3, 4 * 3 * 3)
    stats = {n: (rnd(k) * 4, rng.uniform(0.2, 2.0, k).astype(np.float32) * 999, np.float32(999)) for n, k in
             (("bn1", 3), ("bn2", 3), ("bn3", 3))}
    gamma = {"sc1": (rng.uniform(0.5, 1.5, 3).astype(np.float32), rnd(3)), "sc3": (rng.uniform(0.5, 1.5, 3).astype(np.float32),)}

    def caffe_bn(name, eps=1e-5):
        mean, var, f = stats[name]
        sf = 1.0 / np.float64(f)
        a = 1.0 / np.sqrt(sf * var.astype(np.float64) + np.float64(np.float32(eps)))
        return a, -(sf * mean.astype(np.float64)) * a

    def then_scale(ab, name):
        g = gamma[name]
        a2, b2 = g[0].astype(np.float64), (g[1].astype(np.float64) if len(g) > 1 else 0.0)
        return ab[0] * a2, a2 * ab[1] + b2

    proto = """name: "bn"
input: "data" input_shape { dim: 1 dim: 1 dim: 8 dim: 8 }
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "bn1" type: "BatchNorm" bottom: "c1" top: "c1" batch_norm_param { use_global_stats: true } }
layer { name: "sc1" type: "Scale" bottom: "c1" top: "c1" scale_param { bias_term: true } }
layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" }
layer { name: "bn2" type: "BatchNorm" bottom: "c1" top: "n2" batch_norm_param { eps: 0.001 } }
layer { name: "c2" type: "Convolution" bottom: "n2" top: "c2" convolution_param { num_output: 4 kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "c2" top: "ip" inner_product_param { num_output: 3 } }
layer { name: "bn3" type: "BatchNorm" bottom: "ip" top: "ip" }
layer { name: "sc3" type: "Scale" bottom: "ip" top: "ip" }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
"""
    open(os.path.join(OUT, "caffe_bn.prototxt"), "w").write(proto)
    net = S["NetParameter"](name="bn")
    blobs = {"c1": (c1["w"], c1["b"]), "c2": (c2["w"], c2["b"]), "ip": (f1["w"], f1["b"]), "sc1": gamma["sc1"],
             "sc3": gamma["sc3"]}
    blobs.update({n: (m_, v_, np.array([f_], np.float32)) for n, (m_, v_, f_) in stats.items()})
    for name, arrs in blobs.items():
        lay = net.layer.add(name=name, type="X")
        for arr in arrs:
            b = lay.blobs.add()
            b.shape.dim.extend(arr.shape)
            b.data.extend(arr.ravel().tolist())
    open(os.path.join(OUT, "caffe_bn.caffemodel"), "wb").write(net.SerializeToString())
    fold_back(c1, *then_scale(caffe_bn("bn1"), "sc1"))
    fold_next(c2, *caffe_bn("bn2", eps=0.001), run=4)
    fold_back(f1, *then_scale(caffe_bn("bn3"), "sc3"))
    native("caffe_bn", {"input": (8, 8, 1), "scale": np.float32(1), "mean": [np.float32(0)], "layers": [
        c1, {"type": "relu", "slope": np.float32(0)}, c2, f1, {"type": "softmax"}]})
    cases.append("good caffe_bn.prototxt caffe_bn.caffemodel | caffe_bn.fcn")
    later = set_rng(first)
    c1, c2 = conv(4, 3, 3, pad=1), conv(3, 4, 2)
    f1, f2 = fc(5, 3 * 2 * 2), fc(3, 5)
    m = {"input": (8, 8, 3), "scale": np.float32(0.5), "mean": [np.float32(1), np.float32(2), np.float32(3)],
         "layers": [c1, {"type": "relu", "slope": np.float32(0.25)}, pool("maxpool", 3, 2, ceil=True), c2,
                    {"type": "tanh"}, pool("avgpool", 2, 1, pad=1, ceil=True), {"type": "sigmoid"},
                    pool("maxpool", 2, 2, ceil=True), f1, {"type": "dropout"}, f2, {"type": "softmax"}]}
    # shapes: 8 -conv p1-> 8 -max3s2 ceil-> 4 (ceil(5/2)+1 = 4, clipped) -conv2-> 3
    #   -ave2s1p1 ceil-> 4 -max2s2-> 2 -> fc 5 -> fc 3
    native("caffe_all", m)
    proto = """name: "all"
layer { name: "data" type: "Input" top: "data"
  input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } }
  transform_param { scale: 0.5 mean_value: 1 mean_value: 2 mean_value: 3 } }
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1"
  convolution_param { num_output: 4 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" relu_param { negative_slope: 0.25 } }
layer { name: "p1" type: "Pooling" bottom: "c1" top: "p1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "c2" type: "Convolution" bottom: "p1" top: "c2" param { lr_mult: 1 }
  convolution_param { num_output: 4 kernel_h: 2 kernel_w: 2 } }  # num_output fixed below
layer { name: "t" type: "TanH" bottom: "c2" top: "c2" }
layer { name: "p2" type: "Pooling" bottom: "c2" top: "p2" pooling_param { pool: AVE kernel_size: 2 stride: 1 pad: 1 } }
layer { name: "s" type: "Sigmoid" bottom: "p2" top: "p2s" }
layer { name: "p3" type: "Pooling" bottom: "p2s" top: "p3" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "p3" top: "ip1" inner_product_param { num_output: 5 } }
layer { name: "d" type: "Dropout" bottom: "ip1" top: "ip1" dropout_param { dropout_ratio: 0.5 } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" inner_product_param { num_output: 3 transpose: true } }
layer { name: "prob" type: "Softmax" bottom: "ip2" top: "prob" }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" top: "loss" include { phase: TRAIN } }
""".replace("num_output: 4 kernel_h", "num_output: 3 kernel_h")
    open(os.path.join(OUT, "caffe_all.prototxt"), "w").write(proto)
    net = S["NetParameter"](name="all")
    for name, L, tr in (("c1", c1, False), ("c2", c2, False), ("ip1", f1, False), ("ip2", f2, True), ("extra", f2, False)):
        lay = net.layer.add(name=name, type="X")
        w = L["w"].T.copy() if tr else L["w"]
        for arr in (w, L["b"]):
            b = lay.blobs.add()
            b.shape.dim.extend(arr.shape)
            b.data.extend(arr.ravel().tolist())
    open(os.path.join(OUT, "caffe_all.caffemodel"), "wb").write(net.SerializeToString())
    cases.append("good caffe_all.prototxt caffe_all.caffemodel | caffe_all.fcn")

    # V1: legacy 'layers' with enum types, net-level input/input_dim, legacy blob dims,
    # unpacked floats, Flatten; no padding: the dense path runs it
    c1, f1 = conv(4, 1, 3), fc(3, 4 * 3 * 3)
    native("caffe_v1", {"input": (7, 7, 1), "scale": np.float32(1), "mean": [np.float32(0)],
                        "layers": [c1, {"type": "relu", "slope": np.float32(0)}, pool("maxpool", 2, 2, ceil=True), f1,
                                   {"type": "softmax"}]})
    proto = """name: "v1"
input: "data"
input_dim: 1 input_dim: 1 input_dim: 7 input_dim: 7
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1"
  blobs_lr: 1 convolution_param { num_output: 4 kernel_size: 3 } }
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "flat" type: FLATTEN bottom: "pool1" top: "flat" }
layers { name: "fc1" type: INNER_PRODUCT bottom: "flat" top: "fc1" inner_product_param { num_output: 3 } }
layers { name: "prob" type: SOFTMAX bottom: "fc1" top: "prob" }
"""
    open(os.path.join(OUT, "caffe_v1.prototxt"), "w").write(proto)
    net = S["NetParameter"](name="v1")
    for name, L in (("conv1", c1), ("fc1", f1)):
        lay = net.layers.add(name=name, type=4)
        w = L["w"] if L["type"] == "conv" else L["w"].reshape(1, 1, *L["w"].shape)
        for arr in (w, L["b"].reshape(1, 1, 1, -1)):
            b = lay.blobs.add(num=arr.shape[0], channels=arr.shape[1], height=arr.shape[2], width=arr.shape[3])
            b.data.extend(arr.ravel().tolist())
    open(os.path.join(OUT, "caffe_v1.caffemodel"), "wb").write(net.SerializeToString())
    cases.append("good caffe_v1.prototxt caffe_v1.caffemodel | caffe_v1.fcn")

    # ---- bad models: each must be refused with a message naming the cause ----
    def bad_onnx(name, nodes, inits, want, inp=(1, 1, 7, 7), opset=13):
        save_onnx(name, nodes, inits, list(inp), [1, 4], opset=opset)
        cases.append("bad %s.onnx | %s" % (name, want))

    w3 = rnd(4, 1, 3, 3)
    base = [T("w", w3), T("b", rnd(4))]
    bad_onnx("bad_group", [N("Conv", ["x", "w", "b"], ["y"], group=2)], base, "group 2")
    bad_onnx("bad_dilation", [N("Conv", ["x", "w", "b"], ["y"], dilations=[2, 2])], base, "dilations")
    bad_onnx("bad_pads", [N("Conv", ["x", "w", "b"], ["y"], pads=[1, 0, 1, 0])], base, "pads 1,0,1,0")
    bad_onnx("bad_op", [N("LRN", ["x"], ["y"], size=3)], base, "node 'y' (LRN): op not supported")
    bad_onnx("bad_cycle", [N("Relu", ["z"], ["a"]), N("Relu", ["a"], ["z"]), N("Relu", ["x"], ["y"])], [], "cycle")
    bad_onnx("bad_missing", [N("Relu", ["nowhere"], ["y"])], [], "input 'nowhere' is not produced")
    bad_onnx("bad_avgpad", [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [],
             "count_include_pad")
    bad_onnx("bad_branch", [N("Relu", ["x"], ["a"]), N("Sigmoid", ["x"], ["b"]), N("Add", ["a", "b"], ["y"])], [],
             "only a chain")
    bad_onnx("bad_opset", [N("Relu", ["x"], ["y"])], [], "opset 6", opset=6)
    first = set_rng(later)
    bad_onnx("bad_opset22", [N("Relu", ["x"], ["y"])], [], "opset 22; opsets 7 to 21", opset=22)
    # Pad: only zeros, only on H and W, only right before a Conv or AveragePool, and
    # together with the layer's own pads the same on every side
    pp = T("pp", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64))
    conv_after = [N("Conv", ["a", "w", "b"], ["y"])]
    bad_onnx("bad_padmode", [N("Pad", ["x", "pp"], ["a"], mode="reflect")] + conv_after, base + [pp], "mode 'reflect'")
    bad_onnx("bad_padvalue", [N("Pad", ["x", "pp", "cv"], ["a"])] + conv_after, base + [pp, T("cv", np.array(1.5, np.float32))],
             "padding with 1.5")
    bad_onnx("bad_padc", [N("Pad", ["x"], ["a"], pads=[0, 1, 0, 0, 0, 1, 0, 0])] + conv_after, base, "pads on the channels",
             opset=9)
    bad_onnx("bad_padneg", [N("Pad", ["x", "pn"], ["a"])] + conv_after, base + [T("pn", np.array([0, 0, -1, -1, 0, 0, -1, -1]))],
             "a negative pad crops")
    bad_onnx("bad_padmax", [N("Pad", ["x", "pp"], ["a"]), N("MaxPool", ["a"], ["y"], kernel_shape=[2, 2])], [pp],
             "would enter the maximum")
    bad_onnx("bad_padasym", [N("Pad", ["x", "pa"], ["a"])] + conv_after, base + [T("pa", np.array([0, 0, 1, 0, 0, 0, 0, 0]))],
             "pads 1,0,0,0 (with those of the Pad before it)")
    bad_onnx("bad_padrelu", [N("Pad", ["x", "pp"], ["a"]), N("Relu", ["a"], ["y"])], [pp],
             "node 'y' (Relu): reads the output of node 'a' (Pad); a Pad of zeros is supported only right before a Conv")
    # BatchNormalization: inference form, with a conv or fc right before or after it
    bnp = bn_inits("n", bn(4))
    bad_onnx("bad_bnrelu", [N("Conv", ["x", "w", "b"], ["a"]), N("Relu", ["a"], ["r"]), BN("n", "r", "c"),
                            N("Relu", ["c"], ["y"])], base + bnp, "node 'c' (BatchNormalization): nothing to fold it into")
    bad_onnx("bad_bnpad", [N("Conv", ["x", "w", "b"], ["a"]), N("Relu", ["a"], ["r"]), BN("n", "r", "c"),
                           N("Conv", ["c", "w2"], ["y"], pads=[1, 1, 1, 1])], base + bnp + [T("w2", rnd(2, 4, 3, 3))],
             "its padding would miss the shift")
    bad_onnx("bad_bnend", [N("Conv", ["x", "w", "b"], ["a"]), N("Relu", ["a"], ["r"]), BN("n", "r", "y")], base + bnp,
             "it ends the network")
    bad_onnx("bad_bnsub", [BN("n", "x", "a", epsilon=1e-3), N("Sub", ["a", "m"], ["y"])],
             bn_inits("n", bn(1)) + [T("m", np.array(0.5, np.float32))], "or Sub/Add/Mul/Div by a constant at the input")
    bad_onnx("bad_bntrain", [N("Conv", ["x", "w", "b"], ["a"]), BN("n", "a", "y", training_mode=1)], base + bnp,
             "training mode", opset=15)
    # the batch stays the first axis
    bad_onnx("bad_flatten0", [N("Flatten", ["x"], ["y"], axis=0)], [], "keeps the batch first")
    bad_onnx("bad_reshape", [N("Reshape", ["x", "sh"], ["y"])], [T("sh", np.array([7, -1], np.int64))],
             "Reshape to 7x7; the batch (of 1) must stay the first axis")
    bad_onnx("bad_squeeze0", [N("Squeeze", ["x", "ax"], ["y"])], [T("ax", np.array([0], np.int64))], "axis 0, the batch's")
    bad_onnx("bad_transa", [N("Flatten", ["x"], ["f"]), N("Gemm", ["f", "g"], ["y"], transA=1)], [T("g", rnd(1, 4))],
             "transA 1")
    # what an opset does not have, or a training-mode Dropout
    bad_onnx("bad_shape13", [N("Shape", ["x"], ["s"], start=1), N("Reshape", ["x", "s"], ["y"])], [],
             "attribute start is Shape's from opset 15; the model is opset 13")
    bad_onnx("bad_droptrain", [N("Dropout", ["x", "", "tm"], ["y"])], [T("tm", np.array(True))], "training mode (random)")
    # larger end pads of a MaxPool that are not a clipped last window (7 + 3: 5 windows
    # of 2, stride 2; ceil rounding gives 4)
    bad_onnx("bad_poolext", [N("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 3, 3])], [],
             "not a clipped last window", opset=9)
    # the fuzz target's regression input (kept in tests/fuzz/regress/onnx, where the smoke
    # run replays it): a Shape whose input 0 is omitted read before the values array
    # (fixed in 72c0efa)
    save_onnx("shape-missing-input", [N("Shape", ["", "x"], ["s"]), N("Conv", ["x", "w", "b"], ["y"])], base,
              [1, 1, 7, 7], [1, 4], out=os.path.join(REGRESS, "shape-missing-input.onnx"))
    cases.append("bad ../../fuzz/regress/onnx/shape-missing-input.onnx | node 's' (Shape): missing input")
    set_rng(first)
    bad_onnx("bad_batch", [N("Relu", ["x"], ["y"])], [], "batch 4", inp=(4, 1, 7, 7))
    # a weight whose raw data is shorter than its dims say
    t = T("w", w3)
    t.raw_data = t.raw_data[:-4]
    bad_onnx("bad_raw", [N("Conv", ["x", "w", "b"], ["y"])], [t, base[1]], "raw bytes")
    # absurd dims
    t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 20, 1 << 20, 1 << 20])
    bad_onnx("bad_dims", [N("Conv", ["x", "w"], ["y"])], [t], "absurd dimensions")

    # No two files in tests/ are the same bytes (a test checks it): a prototxt that another
    # case already wrote is that file again, and every case without weights shares one
    # empty.caffemodel.
    written = {}

    def put(name, data):
        """Writes data as name unless a bad case already wrote the same bytes; returns the
        file's name."""
        if data not in written:
            written[data] = name
            open(os.path.join(OUT, name), "wb").write(data)
        return written[data]

    def bad_caffe(name, proto, want, blobs=None):
        p = put(name + ".prototxt", proto.encode())
        net = S["NetParameter"]()
        for lname, arrs in (blobs or {}).items():
            lay = net.layer.add(name=lname)
            for arr in arrs:
                b = lay.blobs.add()
                b.shape.dim.extend(arr.shape)
                b.data.extend(arr.ravel().tolist())
        w = net.SerializeToString()
        w = put(name + ".caffemodel" if w else "empty.caffemodel", w)
        cases.append("bad %s %s | %s" % (p, w, want))

    head = 'input: "data" input_shape { dim: 1 dim: 1 dim: 7 dim: 7 }\n'
    conv_l = 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 %s } }\n'
    bad_caffe("bad_cgroup", head + conv_l % "group: 2", "layer 'c' (Convolution): group 2")
    bad_caffe("bad_cdil", head + conv_l % "dilation: 2", "dilation 2")
    bad_caffe("bad_ctype", head + 'layer { name: "n" type: "LRN" bottom: "data" top: "n" }\n', "layer 'n' (LRN): layer type not supported")
    bad_caffe("bad_cenum", head + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: STOCHASTIC kernel_size: 2 } }\n',
              "pool method 'STOCHASTIC'")
    bad_caffe("bad_cblob", head + conv_l % "", "layer 'c' (Convolution): needs weights 4x1x3x3",
              {"c": [rnd(4, 1, 5, 5), rnd(4)]})
    bad_caffe("bad_cnoblob", head + conv_l % "", "no layer of that name", {"other": [rnd(4, 1, 3, 3), rnd(4)]})
    bad_caffe("bad_ctext", head + 'layer { name: "c" type: "Convolution" \n', "not closed")
    bad_caffe("bad_cstride", head + conv_l % "stride_h: 1 stride_w: 2", "stride 1x2")
    bad_caffe("bad_cbnglobal", head + 'layer { name: "n" type: "BatchNorm" bottom: "data" top: "data" batch_norm_param { use_global_stats: false } }\n',
              "layer 'n' (BatchNorm): use_global_stats false")
    bad_caffe("bad_cscale", head + 'layer { name: "s" type: "Scale" bottom: "data" top: "data" scale_param { axis: 0 } }\n',
              "layer 's' (Scale): axis 0, num_axes 1")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# written by tests/import/make_import_cases.py; read by tests/import/test_import.c\n")
        f.write("\n".join(cases) + "\n")
    print("wrote %d cases to %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
