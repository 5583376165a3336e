#!/usr/bin/python3
"""ONNX's own node tests (onnx.backend.test, shipped by Debian's python3-onnx) turned
into patch classifiers for fcn's importer; tests/import/test_onnx_node.c runs them.

    /usr/bin/python3 tests/import/onnx_node_cases.py OUTDIR

Writes into OUTDIR (under build/, never committed): list.txt, one line per case "NAME
ITEMS OPS", and per item NAME.K.onnx, NAME.K.in (the input image, float32, H x W x C)
and NAME.K.out (the expected outputs, float32). A case is every node test whose nodes are
all ops fcn_import.h reads (SUPPORTED below, its op table); its first data set.

A node test is one op on inputs it gives; fcn reads a patch classifier: one float
N x C x H x W input, weights stored in the file, a 1 x K output. So each case becomes
one, changing nothing the op computes:
  - every input but the first becomes an initializer with the test's values (as an
    exporter stores weights);
  - a batch of N > 1 whose output keeps it (output axis 0 of size N) becomes N items of
    batch 1, each with its row of any initializer that has the batch axis too (Gemm's
    C, an Add's operand) and a Reshape's shape with the batch first read as 1;
  - an input of another rank than 4 is given as (1, d1, d2, rest) and reshaped to its
    own shape first;
  - the output (unless a Softmax makes it: fcn's softmax is the last layer; unless it
    has more than 4096 values, as 3-D pools have, refused before) is read out
    by a Reshape to (1, -1) and a Gemm whose weights pick up to 64 of its values (one 1
    in each row, elsewhere 0: a sum of exact zeros and the value itself), so that any
    shape becomes the 1 x K of a classifier, and a graph without layers gets one;
  - a model of an opset before 7 (fcn reads 7 to 21) is declared opset 7 when each of
    its ops is the same there (onnx.defs: the same version of the op).
Anything else (no input, a non-float input, several outputs, a batch the output does
not keep) is left as the test has it, for the importer to refuse.

The generator's data code predates numpy 1.24, which removed np.float, np.int, np.bool,
np.object, np.str and np.complex: they are put back (as the builtins they aliased)
before it is imported.
"""
import os
import sys
import warnings

import numpy as np

for _name, _alias in (("float", float), ("int", int), ("bool", bool), ("object", object), ("str", str),
                      ("complex", complex)):
    if _name not in np.__dict__:  # hasattr would warn for the removed names
        setattr(np, _name, _alias)
warnings.filterwarnings("ignore")

import onnx  # noqa: E402
from onnx import TensorProto, defs, helper, numpy_helper  # noqa: E402

# fcn_import.h's op table (fcn__onnx_ops): ops on the network's value and on constants
SUPPORTED = {"Conv", "MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool", "Gemm", "MatMul", "Add", "Sub",
             "Mul", "Div", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Softmax", "Pad", "BatchNormalization", "Flatten",
             "Reshape", "Dropout", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast",
             "ConstantOfShape", "Slice", "Transpose"}
READOUT = 64
READOUT_MAX = 4096  # the readout's weights: READOUT x the output (3-D pools, refused anyway, have more)


def batch_items(model, x, others, y):
    """[(x, others, y), ...]: one per batch row when the op keeps the batch, else one."""
    n = x.shape[0] if x.ndim >= 2 else 1
    if n <= 1 or y.ndim < 1 or y.shape[0] != n:
        return [(x, others, y)]
    shapes = {nd.input[1] for nd in model.graph.node if nd.op_type == "Reshape" and len(nd.input) > 1}
    items = []
    for k in range(n):
        o = {}
        for name, v in others.items():
            if v.ndim == x.ndim and v.ndim > 0 and v.shape[0] == n:
                v = v[k:k + 1]
            elif name in shapes and v.ndim == 1 and v.size and v[0] == n:
                v = v.copy()
                v[0] = 1
            o[name] = v
        items.append((x[k:k + 1], o, y[k:k + 1]))
    return items


def shape4(d):
    """How an input of shape d is given: 4-D, (N, C, H, W)."""
    if len(d) == 1:
        return (1, d[0], 1, 1)
    return tuple((tuple(d[:3]) + (int(np.prod(d[3:])),) if len(d) >= 4 else tuple(d) + (1,) * (4 - len(d))))


def as_patch(model, x, others, y):
    """The classifier for one item: (ModelProto, image H x W x C, expected outputs)."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    data = g.input[0]
    for name, v in others.items():
        g.initializer.append(numpy_helper.from_array(v, name))
    keep = [i for i in g.input if i.name not in others]
    del g.input[:]
    g.input.extend(keep)
    xname, yname = data.name, g.output[0].name
    d = x.shape
    x4 = shape4(d)
    if x4 != tuple(d):  # another rank: given as 4-D, reshaped to its own shape first
        g.input[0].CopyFrom(helper.make_tensor_value_info(xname + "_4d", TensorProto.FLOAT, list(x4)))
        g.initializer.append(numpy_helper.from_array(np.array(d, np.int64), xname + "_shape"))
        g.node.insert(0, helper.make_node("Reshape", [xname + "_4d", xname + "_shape"], [xname], name=xname + "_rank"))
    else:
        g.input[0].CopyFrom(helper.make_tensor_value_info(xname, TensorProto.FLOAT, list(d)))
    want = y.astype(np.float32).ravel()
    last = [nd.op_type for nd in g.node if yname in nd.output]
    if last != ["Softmax"] and y.size <= READOUT_MAX:
        pick = np.unique(np.linspace(0, y.size - 1, min(READOUT, y.size)).round().astype(np.int64))
        sel = np.zeros((pick.size, y.size), np.float32)
        sel[np.arange(pick.size), pick] = 1
        for nd in g.node:
            nd.output[:] = [yname + "_value" if o == yname else o for o in nd.output]
        g.initializer.append(numpy_helper.from_array(np.array([1, -1], np.int64), yname + "_row"))
        g.initializer.append(numpy_helper.from_array(sel, yname + "_pick"))
        g.node.extend([helper.make_node("Reshape", [yname + "_value", yname + "_row"], [yname + "_flat"], name=yname + "_flat"),
                       helper.make_node("Gemm", [yname + "_flat", yname + "_pick"], [yname], name=yname + "_readout",
                                        transB=1)])
        del g.output[1:]
        g.output[0].CopyFrom(helper.make_tensor_value_info(yname, TensorProto.FLOAT, [1, int(pick.size)]))
        want = want[pick]
    # the image: H x W x C (a batch of N > 1, which the importer refuses, as it is)
    img = x.reshape(x4[1:]).transpose(1, 2, 0) if x4[0] == 1 else x
    return m, np.ascontiguousarray(img, np.float32), want


def at_opset7(model):
    """The model declared opset 7 if it is older and its ops are the same at 7."""
    old = [o for o in model.opset_import if o.domain in ("", "ai.onnx") and o.version < 7]
    if not old:
        return model
    v = old[0].version
    for nd in model.graph.node:
        try:
            if defs.get_schema(nd.op_type, 7).since_version != defs.get_schema(nd.op_type, v).since_version:
                return model
        except Exception:  # an op that did not exist then: leave the model as it is
            return model
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 7
    return m


def items_of(case):
    """The (model, image, expected) items of a case: adapted where it fits (above), else
    the test's own model with its first input, for the importer to refuse."""
    model = at_opset7(case.model)
    inputs, outputs = ([np.asarray(v) if np.isscalar(v) else v for v in vs] for vs in case.data_sets[0])
    names = [i.name for i in model.graph.input]
    fits = (len(inputs) >= 1 and len(names) == len(inputs) and len(model.graph.output) == 1 and len(outputs) == 1 and
            isinstance(inputs[0], np.ndarray) and inputs[0].dtype == np.float32 and inputs[0].size > 0 and
            isinstance(outputs[0], np.ndarray) and outputs[0].dtype == np.float32 and
            all(isinstance(v, np.ndarray) for v in inputs))
    if not fits:
        x = inputs[0] if inputs and isinstance(inputs[0], np.ndarray) else np.zeros(0, np.float32)
        return [(model, np.asarray(x, np.float32).ravel(), np.zeros(0, np.float32))]
    others = dict(zip(names[1:], inputs[1:]))
    return [as_patch(model, x, o, y) for x, o, y in batch_items(model, inputs[0], others, outputs[0])]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/onnx-node"
    import onnx.backend.test.case.node as node_cases
    os.makedirs(out, exist_ok=True)
    lines = []
    for case in sorted(node_cases.collect_testcases(None), key=lambda c: c.name):
        ops = sorted({n.op_type for n in case.model.graph.node})
        if not ops or not set(ops) <= SUPPORTED:
            continue
        items = items_of(case)
        for k, (m, img, want) in enumerate(items):
            base = os.path.join(out, "%s.%d" % (case.name, k))
            with open(base + ".onnx", "wb") as f:
                f.write(m.SerializeToString())
            img.astype("<f4").tofile(base + ".in")
            want.astype("<f4").tofile(base + ".out")
        lines.append("%s %d %s" % (case.name, len(items), ",".join(ops)))
    with open(os.path.join(out, "list.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("onnx %s: %d node test cases in the supported op set written to %s" % (onnx.__version__, len(lines), out))


if __name__ == "__main__":
    main()
