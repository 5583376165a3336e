#!/usr/bin/python3
"""Cross-check against an implementation we did not write: OpenCV's dnn module (Debian
python3-opencv) reads the same Caffe and ONNX files as fcn.h; the classifier's outputs
must agree within TOL on real ISBI patches, and fcn's dense map (mirror border) must
agree with OpenCV run patch by patch on sampled pixels.

    /usr/bin/python3 tests/import/test_interop.py [BUILD]     (prints PASS/FAIL/SKIP lines)

TOL = 1e-5 absolute on the softmax outputs: OpenCV adds in its own order (blocked,
vectorised convolutions and GEMM), so the bits differ from fcn's fixed order, by a few
float32 ulps per layer; 1e-5 is ~100x what we observe and far below any decision.
OpenCV does not apply Caffe's transform_param in an Input layer, so Caffe inputs are fed
(x - mean) * scale, computed in float32 exactly as fcn does; the ONNX models carry the
transform as Sub/Mul nodes and get the raw pixels. Models: models/isbi-n4.{prototxt,
caffemodel,onnx} if present (else a stand-in of the same architecture, random weights),
and the small test models of tests/data/import (every layer; BatchNorm and Pad folded).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

TOL = 1e-5
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("BUILD", "build")
FCN = os.path.join(BUILD, "fcn")
CI = os.environ.get("CI") == "true"


def out(kind, name, why="", escalate=True):
    if kind == "SKIP" and CI and escalate:
        kind, why = "FAIL", why + " (required in CI)"
    print("%s: %s%s" % (kind, name, (": " + why) if why else ""))
    sys.stdout.flush()


try:
    import cv2
except ImportError as e:
    out("SKIP", "interop", "no OpenCV (apt-get install python3-opencv): %s" % e)
    sys.exit(0)
import fcn_format as F  # noqa: E402


def data_dir():
    for d in (os.environ.get("FCN_DATA"), os.path.join(ROOT, "..", "shared", "data", "isbi2012"), "/work/shared/data/isbi2012"):
        if d and os.path.isdir(d):
            return d
    return None


def fcn_map(model, img, extra):
    with tempfile.TemporaryDirectory() as t:
        np.save(os.path.join(t, "x.npy"), img.astype(np.float32))
        r = subprocess.run([FCN, "map"] + model + [os.path.join(t, "x.npy"), "--npy", os.path.join(t, "m.npy"), "-q"] + extra,
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError(r.stderr.strip())
        return np.load(os.path.join(t, "m.npy"))


def cv_net(model):
    if len(model) == 2:
        return cv2.dnn.readNetFromCaffe(model[0], model[1])
    return cv2.dnn.readNetFromONNX(model[0])


def cv_run(net, patches, pre):
    """patches: (n, P, P, C) raw pixels -> (n, K)."""
    x = patches.astype(np.float32)
    if pre is not None:
        x = (x - pre[1]) * pre[0]  # float32, as fcn's transform
    blob = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    res = []
    for i in range(len(blob)):  # one at a time: a dynamic batch is not always supported
        net.setInput(blob[i:i + 1])
        res.append(net.forward().reshape(-1))
    return np.array(res, dtype=np.float32)


def check(label, model, fcnfile, slice_img, rng, tmp):
    m = F.read_fcn(fcnfile)
    if len(model) == 2:
        # the same prototxt for both, less what OpenCV 4.6 does not do as Caffe does: it
        # keeps TRAIN-phase layers (fcn drops them) and ignores InnerProduct 'transpose'
        # (then both read the blob as N x K); in tests/data/import these are on one line
        txt = "".join(l.replace("transpose: true", "") for l in open(model[0]) if "phase: TRAIN" not in l)
        model = [os.path.join(tmp, label.replace(" ", "_") + ".prototxt"), model[1]]
        open(model[0], "w").write(txt)
    elif label.startswith("onnx_"):
        # OpenCV needs the nodes in order; some test models have them shuffled (fcn does
        # not care): give both a topologically sorted copy
        import onnx
        g = onnx.load(model[0])
        have = {i.name for i in g.graph.input} | {i.name for i in g.graph.initializer} | {""}
        nodes, order = list(g.graph.node), []
        while nodes:
            n = next(n for n in nodes if all(i in have for i in n.input))
            nodes.remove(n)
            order.append(n)
            have |= set(n.output)
        del g.graph.node[:]
        g.graph.node.extend(order)
        # and OpenCV wants Conv's kernel_shape, which ONNX lets one infer from the weights
        dims = {i.name: list(i.dims) for i in g.graph.initializer}
        for n in g.graph.node:
            if n.op_type == "Conv" and not any(a.name == "kernel_shape" for a in n.attribute):
                n.attribute.extend([onnx.helper.make_attribute("kernel_shape", dims[n.input[1]][2:])])
        model = [os.path.join(tmp, label + "_sorted.onnx")]
        onnx.save(g, model[0])
    if np.float32(m["scale"]) == 1:  # keep the logits of the small random test nets moderate
        slice_img = slice_img / np.float32(255)
    P, Q, C = m["input"]
    pre = (np.float32(m["scale"]), np.asarray(m["mean"], np.float32)) if len(model) == 2 else None
    try:
        net = cv_net(model)
    except cv2.error as e:
        # an OpenCV limitation, not a missing package: not a CI failure
        out("SKIP", "interop %s" % label, "OpenCV cannot read it: %s" % str(e).strip()[-200:], escalate=False)
        return
    img = np.stack([np.roll(slice_img, 7 * c, axis=1) for c in range(C)], axis=-1)  # C channels of real pixels
    # 1. the classifier on real patches: --border valid, map pixel (i, j) = patch at (i, j)
    n = 6
    y0, x0 = rng.integers(0, img.shape[0] - P - n), rng.integers(0, img.shape[1] - Q - n)
    crop = img[y0:y0 + P + n - 1, x0:x0 + Q + n - 1]
    path = ["--path", "sliding"] if P < 20 else []
    try:
        fm = fcn_map(model, crop, ["--border", "valid"] + path)
    except RuntimeError as e:
        out("FAIL", "interop %s: fcn map" % label, str(e))
        return
    idx = [(i, j) for i in range(n) for j in range(n)][::3]
    patches = np.array([crop[i:i + P, j:j + Q] for i, j in idx])
    ref = cv_run(net, patches, pre)
    got = np.array([fm[i, j] for i, j in idx])
    d = float(np.max(np.abs(ref - got)))
    out("PASS" if d <= TOL else "FAIL", "interop %s: classifier on %d real patches, max |fcn - OpenCV| = %.2g (tol %g)"
        % (label, len(idx), d, TOL), "" if d <= TOL else "too far")
    # 2. the dense (or, for padded nets, sliding) map with mirror border vs OpenCV patch by patch
    H = W = 40
    y0, x0 = rng.integers(0, img.shape[0] - H), rng.integers(0, img.shape[1] - W)
    sub = img[y0:y0 + H, x0:x0 + W]
    try:
        dense_ok = subprocess.run([FCN, "info"] + model, capture_output=True, text=True).stdout.find("dense path: accepted") >= 0
        fm = fcn_map(model, sub, [] if dense_ok else ["--path", "sliding"])
    except RuntimeError as e:
        out("FAIL", "interop %s: fcn map" % label, str(e))
        return
    padded = np.pad(sub, (((P - 1) // 2, P // 2), ((Q - 1) // 2, Q // 2), (0, 0)), mode="reflect")
    pix = [(int(a), int(b)) for a, b in zip(rng.integers(0, H, 12), rng.integers(0, W, 12))] + [(0, 0), (H - 1, W - 1)]
    ref = cv_run(net, np.array([padded[i:i + P, j:j + Q] for i, j in pix]), pre)
    got = np.array([fm[i, j] for i, j in pix])
    d = float(np.max(np.abs(ref - got)))
    out("PASS" if d <= TOL else "FAIL", "interop %s: %s map (mirror border) vs OpenCV patch by patch at %d pixels, max diff %.2g"
        % (label, "dense" if dense_ok else "sliding", len(pix), d), "" if d <= TOL else "too far")


def main():
    if not os.path.exists(FCN):
        out("FAIL", "interop", "%s not built" % FCN)
        return
    d = data_dir()
    if not d:
        out("SKIP", "interop", "no ISBI data (set FCN_DATA)")
        return
    slice_img = cv2.imread(os.path.join(d, "test-images", "0.png"), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    rng = np.random.default_rng(2012)
    with tempfile.TemporaryDirectory() as t:
        mdir = os.path.join(ROOT, "models")
        base = os.path.join(mdir, "isbi-n4")
        if not all(os.path.exists(base + e) for e in (".fcn", ".onnx", ".prototxt", ".caffemodel")):
            base = os.path.join(t, "n4")
            F.write_fcn(F.random_n4(), base + ".fcn")
            import fcn_to_caffe
            import fcn_to_onnx
            import onnx
            onnx.save(fcn_to_onnx.to_onnx(F.read_fcn(base + ".fcn")), base + ".onnx")
            p, w = fcn_to_caffe.to_caffe(F.read_fcn(base + ".fcn"))
            open(base + ".prototxt", "w").write(p)
            open(base + ".caffemodel", "wb").write(w)
            print("(models/isbi-n4.* not all present: a stand-in n4 with random weights)")
        check("isbi-n4 caffe", [base + ".prototxt", base + ".caffemodel"], base + ".fcn", slice_img, rng, t)
        check("isbi-n4 onnx", [base + ".onnx"], base + ".fcn", slice_img, rng, t)
        td = os.path.join(ROOT, "tests", "data", "import")
        for name, model in (("caffe_all", ["caffe_all.prototxt", "caffe_all.caffemodel"]),
                            ("caffe_v1", ["caffe_v1.prototxt", "caffe_v1.caffemodel"]),
                            ("caffe_bn", ["caffe_bn.prototxt", "caffe_bn.caffemodel"]),
                            ("onnx_all", ["onnx_all.onnx"]), ("onnx_dense", ["onnx_dense.onnx"]),
                            ("onnx_fold", ["onnx_fold.onnx"]), ("onnx_opset9", ["onnx_opset9.onnx"])):
            check(name, [os.path.join(td, f) for f in model], os.path.join(td, name + ".fcn"), slice_img, rng, t)


if __name__ == "__main__":
    main()
