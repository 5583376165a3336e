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
rng = np.random.default_rng(7)
cases = []


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


def save_onnx(name, nodes, inits, inp, out_shape, opset=13, shuffle=False, ir=7):
    if shuffle:
        nodes = [nodes[i] for i in np.random.default_rng(3).permutation(len(nodes))]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, inp)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    g = helper.make_graph(nodes, name, [x], [y], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    open(os.path.join(OUT, name + ".onnx"), "wb").write(m.SerializeToString())


def T(name, arr, raw=True):
    arr = np.asarray(arr)
    if raw:
        return numpy_helper.from_array(arr, name)
    if arr.dtype == np.float32:
        return helper.make_tensor(name, TensorProto.FLOAT, arr.shape, arr.ravel().tolist())
    return helper.make_tensor(name, TensorProto.INT64, arr.shape, arr.ravel().tolist())


def N(op, ins, outs, **kw):
    return helper.make_node(op, ins, outs, name=outs[0], **kw)


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

    # ---- Caffe: every layer kind, V2 and V1 ----
    S = _schema()
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
    bad_onnx("bad_op", [N("BatchNormalization", ["x", "b", "b", "b", "b"], ["y"])], base,
             "node 'y' (BatchNormalization): op not supported")
    bad_onnx("bad_cycle", [N("Relu", ["z"], ["a"]), N("Relu", ["a"], ["z"]), N("Relu", ["x"], ["y"])], [], "cycle")
    bad_onnx("bad_missing", [N("Relu", ["nowhere"], ["y"])], [], "input 'nowhere' is not produced")
    bad_onnx("bad_avgpad", [N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], [],
             "count_include_pad")
    bad_onnx("bad_branch", [N("Relu", ["x"], ["a"]), N("Sigmoid", ["x"], ["b"]), N("Add", ["a", "b"], ["y"])], [],
             "only a chain")
    bad_onnx("bad_opset", [N("Relu", ["x"], ["y"])], [], "opset 6", opset=6)
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
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("# written by tests/import/make_import_cases.py; read by tests/import/test_import.c\n")
        f.write("\n".join(cases) + "\n")
    print("wrote %d cases to %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
