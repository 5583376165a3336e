#!/usr/bin/python3
"""Writes an fcn model (fcn.h's own format) as a Caffe deploy net: NET.prototxt (text)
and WEIGHTS.caffemodel (binary NetParameter), with Debian's python3-protobuf and a
minimal schema built here from the field numbers of Caffe's published caffe.proto
(no Caffe needed).

    /usr/bin/python3 tools/fcn_to_caffe.py MODEL.fcn OUT.prototxt OUT.caffemodel [--legacy]

The net starts with an Input layer of shape (1, C, H, W) that carries the model's input
transform as transform_param { scale mean_value } (fcn reads it there; Caffe itself
applies transform_param only in Data layers, so with Caffe or OpenCV feed (x - mean) *
scale yourself). Layers: Convolution, Pooling (MAX / AVE, round_mode FLOOR unless the
fcn layer has ceil), InnerProduct, ReLU (negative_slope), TanH, Sigmoid, Dropout,
Softmax; activations in place (top == bottom), as Caffe nets usually are. Weights are
float32 blobs with a 'shape' (or, with --legacy, V1 'layers' and num/channels/height/
width blobs with unpacked floats: the old format, for tests).
"""
import argparse
import os
import sys

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fcn_format import f32, pool_out, read_fcn  # noqa: E402

F = descriptor_pb2.FieldDescriptorProto


def _schema():
    """NetParameter, LayerParameter, V1LayerParameter, BlobProto, BlobShape: only the
    fields a caffemodel needs, with caffe.proto's numbers."""
    fd = descriptor_pb2.FileDescriptorProto(name="fcn_caffe_min.proto", package="caffe", syntax="proto2")

    def msg(name, fields):
        m = fd.message_type.add(name=name)
        for fname, num, typ, label, tname, packed in fields:
            f = m.field.add(name=fname, number=num, type=typ, label=label)
            if tname:
                f.type_name = ".caffe." + tname
            if packed:
                f.options.packed = True

    OPT, REP = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    msg("BlobShape", [("dim", 1, F.TYPE_INT64, REP, None, True)])
    msg("BlobProto", [("shape", 7, F.TYPE_MESSAGE, OPT, "BlobShape", False),
                      ("data", 5, F.TYPE_FLOAT, REP, None, True),
                      ("num", 1, F.TYPE_INT32, OPT, None, False), ("channels", 2, F.TYPE_INT32, OPT, None, False),
                      ("height", 3, F.TYPE_INT32, OPT, None, False), ("width", 4, F.TYPE_INT32, OPT, None, False)])
    msg("BlobProtoUnpacked", [("data", 5, F.TYPE_FLOAT, REP, None, False),
                              ("num", 1, F.TYPE_INT32, OPT, None, False), ("channels", 2, F.TYPE_INT32, OPT, None, False),
                              ("height", 3, F.TYPE_INT32, OPT, None, False), ("width", 4, F.TYPE_INT32, OPT, None, False)])
    msg("LayerParameter", [("name", 1, F.TYPE_STRING, OPT, None, False), ("type", 2, F.TYPE_STRING, OPT, None, False),
                           ("bottom", 3, F.TYPE_STRING, REP, None, False), ("top", 4, F.TYPE_STRING, REP, None, False),
                           ("blobs", 7, F.TYPE_MESSAGE, REP, "BlobProto", False)])
    msg("V1LayerParameter", [("bottom", 2, F.TYPE_STRING, REP, None, False), ("top", 3, F.TYPE_STRING, REP, None, False),
                             ("name", 4, F.TYPE_STRING, OPT, None, False), ("type", 5, F.TYPE_INT32, OPT, None, False),
                             ("blobs", 6, F.TYPE_MESSAGE, REP, "BlobProtoUnpacked", False)])
    msg("NetParameter", [("name", 1, F.TYPE_STRING, OPT, None, False),
                         ("layers", 2, F.TYPE_MESSAGE, REP, "V1LayerParameter", False),
                         ("layer", 100, F.TYPE_MESSAGE, REP, "LayerParameter", False)])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    get = getattr(message_factory, "GetMessageClass", None)
    if get is None:
        factory = message_factory.MessageFactory(pool)
        get = lambda d: factory.GetPrototype(d)  # noqa: E731
    return {n: get(pool.FindMessageTypeByName("caffe." + n)) for n in
            ("NetParameter", "LayerParameter", "V1LayerParameter", "BlobProto", "BlobProtoUnpacked", "BlobShape")}


V1_TYPES = {"Convolution": 4, "Pooling": 17, "InnerProduct": 14, "ReLU": 18, "TanH": 23, "Sigmoid": 19,
            "Dropout": 6, "Softmax": 20}
V1_NAMES = {"Convolution": "CONVOLUTION", "Pooling": "POOLING", "InnerProduct": "INNER_PRODUCT", "ReLU": "RELU",
            "TanH": "TANH", "Sigmoid": "SIGMOID", "Dropout": "DROPOUT", "Softmax": "SOFTMAX"}


def to_caffe(m, name="fcn", legacy=False):
    """(prototxt text, caffemodel bytes)."""
    S = _schema()
    h, w, c = m["input"]
    net = S["NetParameter"](name=name)
    key = "layers" if legacy else "layer"
    txt = ['name: "%s"' % name]
    if legacy:  # V1 nets give the input at net level
        txt += ['input: "data"', "input_dim: 1", "input_dim: %d" % c, "input_dim: %d" % h, "input_dim: %d" % w]
    else:
        tp = ["scale: %s" % f32(m["scale"])] + ["mean_value: %s" % f32(v) for v in m["mean"]]
        txt += ['layer {', '  name: "data"', '  type: "Input"', '  top: "data"',
                '  input_param { shape { dim: 1 dim: %d dim: %d dim: %d } }' % (c, h, w),
                '  transform_param { %s }' % " ".join(tp), '}']
    cur, n = "data", {}
    hw = (h, w)
    for L in m["layers"]:
        t = L["type"]
        typ = {"conv": "Convolution", "maxpool": "Pooling", "avgpool": "Pooling", "fc": "InnerProduct",
               "relu": "ReLU", "tanh": "TanH", "sigmoid": "Sigmoid", "dropout": "Dropout", "softmax": "Softmax"}[t]
        n[t] = n.get(t, 0) + 1
        lname = "%s%d" % (t, n[t])
        inplace = t in ("relu", "tanh", "sigmoid", "dropout")
        top = cur if inplace else lname
        body = []
        if t == "conv":
            hw = tuple((x + 2 * L["pad"] - k) // L["stride"] + 1 for x, k in zip(hw, (L["kh"], L["kw"])))
            body.append("convolution_param { num_output: %d kernel_h: %d kernel_w: %d stride: %d pad: %d }"
                        % (L["maps"], L["kh"], L["kw"], L["stride"], L["pad"]))
        elif t in ("maxpool", "avgpool"):
            # round_mode (newer Caffe) only where floor and ceil rounding differ, so that
            # older readers (OpenCV's caffe.proto, V1 nets) read the same net
            Lc = dict(L, ceil=True)
            out = (pool_out(hw[0], L), pool_out(hw[1], L, True))
            differs = out != (pool_out(hw[0], Lc), pool_out(hw[1], Lc, True))
            if differs and legacy:
                raise ValueError("%s: floor rounding differs from ceil; V1 nets have no round_mode" % lname)
            body.append("pooling_param { pool: %s kernel_h: %d kernel_w: %d stride: %d pad: %d%s }"
                        % ("MAX" if t == "maxpool" else "AVE", L["kh"], L["kw"], L["stride"], L["pad"],
                           " round_mode: FLOOR" if differs else ""))
            hw = out
        elif t == "fc":
            hw = (1, 1)
            body.append("inner_product_param { num_output: %d }" % L["maps"])
        elif t == "relu" and L["slope"] != 0:
            body.append("relu_param { negative_slope: %s }" % f32(L["slope"]))
        tstr = V1_NAMES[typ] if legacy else '"%s"' % typ
        txt += ['%s {' % key, '  name: "%s"' % lname, '  type: %s' % tstr, '  bottom: "%s"' % cur,
                '  top: "%s"' % top] + ["  " + b for b in body] + ['}']
        cur = top
        if t in ("conv", "fc"):
            if legacy:
                lay = net.layers.add(name=lname, type=V1_TYPES[typ], bottom=[cur], top=[top])
                wb = L["w"] if t == "conv" else L["w"].reshape(1, 1, *L["w"].shape)
                for arr in (wb, L["b"].reshape(1, 1, 1, -1)):
                    b = lay.blobs.add(num=arr.shape[0], channels=arr.shape[1], height=arr.shape[2], width=arr.shape[3])
                    b.data.extend(np.asarray(arr, dtype=np.float32).ravel().tolist())
            else:
                lay = net.layer.add(name=lname, type=typ, bottom=[cur], top=[top])
                for arr in (L["w"], L["b"]):
                    b = lay.blobs.add()
                    b.shape.dim.extend(arr.shape)
                    b.data.extend(np.asarray(arr, dtype=np.float32).ravel().tolist())
    return "\n".join(txt) + "\n", net.SerializeToString()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("prototxt")
    ap.add_argument("caffemodel")
    ap.add_argument("--legacy", action="store_true", help="V1 'layers', legacy blob dims, unpacked floats")
    a = ap.parse_args()
    m = read_fcn(a.model)
    proto, weights = to_caffe(m, os.path.splitext(os.path.basename(a.model))[0], a.legacy)
    with open(a.prototxt, "w") as f:
        f.write(proto)
    with open(a.caffemodel, "wb") as f:
        f.write(weights)
    print("wrote %s, %s (%d bytes)" % (a.prototxt, a.caffemodel, len(weights)))


if __name__ == "__main__":
    main()
