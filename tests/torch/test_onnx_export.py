#!/usr/bin/python3
"""PyTorch classifiers, exported with torch.onnx.export as the README says, load and
match PyTorch: 13 small patch classifiers covering the supported layer set (BatchNorm
after a conv, after a Linear, after an activation and at the input; AvgPool2d, which
PyTorch exports as Pad + AveragePool; MaxPool2d with ceil_mode; padded convs; ZeroPad2d
before a conv and before an AvgPool2d; global pools; Dropout; LeakyReLU, Tanh, Sigmoid;
a dynamic batch axis; an input transform), each
exported at opsets 9, 11, 13 and 17 into a temporary folder, then mapped by build/fcn
(--border valid: output pixel (i, j) is the net applied to image[i:i+P, j:j+P]) and
compared with PyTorch at every pixel of a small image: |fcn - torch| <= 1e-5 (1e-5
relative above 1). The sliding path always; the dense path too where the net has no
padding inside the patch and no clipped pool window, and then its map must be the same
bits as the sliding one (else it must refuse, naming the cause). Exports that must be
refused (training mode, reflection padding) are checked for their message.

    /usr/bin/python3 tests/torch/test_onnx_export.py BUILD

Prints PASS/FAIL/SKIP lines (tests/run.sh); SKIP without torch (a FAIL when CI is set).
"""
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
FCN = os.path.join(BUILD, "fcn")
OPSETS = (9, 11, 13, 17)
TOL = 1e-5

try:
    import torch
    import torch.nn as nn
except ImportError:
    print("%s: torch-export: %s has no torch (Debian: python3-torch)" % ("FAIL" if os.environ.get("CI") else "SKIP",
                                                                          sys.executable))
    sys.exit(0)

warnings.filterwarnings("ignore")
torch.manual_seed(14)
torch.set_num_threads(1)


def randomize_bn(m):
    """Running statistics and affine parameters far from the identity, so that a fold
    that is wrong or left out shows."""
    for x in m.modules():
        if isinstance(x, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = x.num_features
            x.running_mean.uniform_(-0.5, 0.5)
            x.running_var.uniform_(0.2, 2.0)
            x.weight.data.uniform_(0.5, 1.5)
            x.bias.data.uniform_(-0.5, 0.5)
            assert n > 0
    return m


class Transform(nn.Module):
    """The input transform fcn reads from a graph: (x - mean) * scale, per channel mean."""

    def __init__(self, net, mean, scale):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.scale = scale

    def forward(self, x):
        return self.net((x - self.mean) * self.scale)


class ViewFlatten(nn.Module):
    """x.view(x.size(0), -1): with a dynamic batch, Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""

    def forward(self, x):
        return x.view(x.size(0), -1)


S = nn.Sequential


def models():
    """(name, patch (C, P), module, dense: the dense path runs it, export options)."""
    return [
        ("conv-bn-maxpool", (3, 14), S(nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3),
                                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 2 * 2, 4), nn.Softmax(1)), True, {}),
        ("conv-bn-unfolded", (1, 12), S(nn.Conv2d(1, 6, 3), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                         nn.Linear(6 * 5 * 5, 3), nn.Softmax(1)), True, {"do_constant_folding": False}),
        ("linear-bn1d", (1, 10), S(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 12), nn.BatchNorm1d(12),
                                    nn.ReLU(), nn.Dropout(0.3), nn.Linear(12, 3), nn.BatchNorm1d(3), nn.Softmax(1)), True, {}),
        ("bn-after-relu", (2, 12), S(nn.BatchNorm2d(2), nn.Conv2d(2, 5, 3), nn.ReLU(), nn.BatchNorm2d(5), nn.Conv2d(5, 6, 3),
                                      nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 4 * 4, 3), nn.Softmax(1)), True, {}),
        ("avgpool", (1, 14), S(nn.Conv2d(1, 6, 3), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 8, 3), nn.Sigmoid(),
                               nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8 * 2 * 2, 3), nn.Softmax(1)), True, {}),
        ("avgpool-pad", (1, 13), S(nn.Conv2d(1, 6, 3), nn.ReLU(), nn.AvgPool2d(3, stride=2, padding=1), nn.Conv2d(6, 4, 3),
                                   nn.ReLU(), nn.AvgPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(4 * 2 * 2, 3),
                                   nn.Softmax(1)), False, {}),
        ("maxpool-ceil", (1, 15), S(nn.Conv2d(1, 6, 4), nn.ReLU(), nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Conv2d(6, 8, 2),
                                    nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(8 * 3 * 3, 3),
                                    nn.Softmax(1)), False, {}),
        ("padded-conv", (1, 12), S(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, padding=1), nn.Flatten(),
                                   nn.Linear(8 * 4 * 4, 3), nn.Softmax(1)), False, {}),
        ("zeropad", (1, 10), S(nn.ZeroPad2d(1), nn.Conv2d(1, 5, 3), nn.ReLU(), nn.MaxPool2d(2), nn.ZeroPad2d(2),
                               nn.Conv2d(5, 4, 5), nn.Flatten(), nn.Linear(4 * 5 * 5, 3), nn.Softmax(1)), False, {}),
        ("leaky-dropout", (2, 12), S(nn.Conv2d(2, 6, 3), nn.LeakyReLU(0.2), nn.Dropout2d(0.2), nn.MaxPool2d(2), nn.Conv2d(6, 8, 3),
                                     nn.LeakyReLU(), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8 * 3 * 3, 10), nn.Sigmoid(),
                                     nn.Linear(10, 4), nn.Softmax(1)), True, {}),
        ("dynamic-batch", (3, 12), Transform(S(nn.Conv2d(3, 6, 3, stride=2), nn.Tanh(), nn.Conv2d(6, 8, 3), nn.ReLU(),
                                               ViewFlatten(), nn.Linear(8 * 3 * 3, 5), nn.Softmax(1)), [120.0, 110.0, 100.0],
                                             1 / 64), True, {"dynamic_axes": {"x": {0: "N"}, "y": {0: "N"}}}),
        ("global-avgpool", (1, 12), S(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 6, 3), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3), nn.Softmax(1)), True, {}),
        ("zeropad-avgpool-globalmax", (2, 11), S(nn.ZeroPad2d(1), nn.AvgPool2d(3, stride=1), nn.Conv2d(2, 6, 3), nn.ReLU(),
                                                 nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(6, 3), nn.Softmax(1)),
         False, {}),
    ]


def refused():
    """Exports that must be refused: (name, patch, module, export options, message)."""
    return [
        ("training-mode", (1, 8), S(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)),
         {"training": torch.onnx.TrainingMode.TRAINING}, "training mode"),
        ("reflect-pad", (1, 8), S(nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect"), nn.ReLU(), nn.Flatten(),
                                  nn.Linear(4 * 8 * 8, 2)), {}, "mode 'reflect'"),
    ]


def export(m, path, c, p, opset, opts):
    x = torch.zeros(1, c, p, p)
    torch.onnx.export(m, x, path, opset_version=opset, input_names=["x"], output_names=["y"], **opts)


def run_fcn(args):
    r = subprocess.run([FCN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stderr.strip()


def fcn_map(model, img_npy, out, path):
    return run_fcn(["map", model, img_npy, "--npy", out, "--border", "valid", "--path", path, "--threads", "1", "--quiet"])


def check_model(tmp, name, c, p, m, dense, opts, opset, rng):
    label = "torch-export %s opset %d" % (name, opset)
    onnx_path = os.path.join(tmp, "%s-%d.onnx" % (name, opset))
    try:
        export(m, onnx_path, c, p, opset, opts)
    except Exception as e:  # an export PyTorch itself cannot do is not fcn's failure
        return "FAIL: %s: torch.onnx.export failed: %s" % (label, str(e).splitlines()[0])
    h = w = p + 7
    # pixels 0..255 where the net has its input transform, else 0..1 (as after one):
    # random weights on 0..255 give logits in the hundreds, where float32 rounding alone
    # moves a probability by 1e-5
    img = rng.uniform(0, 255 if isinstance(m, Transform) else 1, size=(h, w, c)).astype(np.float32)
    img_npy = os.path.join(tmp, "img-%d.npy" % c)
    np.save(img_npy, img)
    out_s = os.path.join(tmp, "sliding.npy")
    rc, err = fcn_map(onnx_path, img_npy, out_s, "sliding")
    if rc != 0:
        return "FAIL: %s: fcn map (sliding) exit %d: %s" % (label, rc, err)
    got = np.load(out_s)
    # PyTorch on every window: output pixel (i, j) is the net on img[i:i+p, j:j+p]
    win = np.stack([img[i:i + p, j:j + p] for i in range(h - p + 1) for j in range(w - p + 1)])
    with torch.no_grad():
        want = m(torch.from_numpy(win.transpose(0, 3, 1, 2).copy())).numpy()
    got2 = got.reshape(-1, got.shape[-1])
    if got2.shape != want.shape:
        return "FAIL: %s: map shape %s, torch %s" % (label, got.shape, want.shape)
    err_abs = np.abs(got2.astype(np.float64) - want) / np.maximum(1.0, np.abs(want))
    worst = float(err_abs.max())
    if not worst <= TOL:
        k = int(err_abs.argmax())
        return "FAIL: %s: pixel %d class %d: fcn %.9g, torch %.9g (tolerance %g)" % (
            label, k // want.shape[1], k % want.shape[1], got2.flat[k], want.flat[k], TOL)
    out_d = os.path.join(tmp, "dense.npy")
    rc, err = fcn_map(onnx_path, img_npy, out_d, "dense")
    if dense:
        if rc != 0:
            return "FAIL: %s: fcn map (dense) exit %d: %s" % (label, rc, err)
        d = np.load(out_d)
        if d.shape != got.shape or not np.array_equal(d.view(np.uint32), got.view(np.uint32)):
            diff = np.argwhere(d.view(np.uint32) != got.view(np.uint32))[0]
            return "FAIL: %s: dense differs from sliding at (y, x, k) = %s: %08x vs %08x" % (
                label, tuple(diff), d.view(np.uint32)[tuple(diff)], got.view(np.uint32)[tuple(diff)])
        how = "dense == sliding bit for bit"
    else:
        if rc == 0 or not ("pad" in err or "clipped" in err):
            return "FAIL: %s: the dense path should refuse (padding or a clipped pool window): exit %d: %s" % (label, rc, err)
        how = "dense refuses: %s" % err.split(": ", 2)[-1][:60]
    return "PASS: %s: %d pixels x %d classes within %.1e of torch (largest %.1e); %s" % (
        label, want.shape[0], want.shape[1], TOL, worst, how)


def main():
    if not os.access(FCN, os.X_OK):
        print("FAIL: torch-export: %s is not built (make %s)" % (FCN, FCN))
        return 1
    rng = np.random.default_rng(14)
    start = time.time()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (c, p), m, dense, opts in models():
            randomize_bn(m).eval()
            for opset in OPSETS:
                lines.append(check_model(tmp, name, c, p, m, dense, opts, opset, rng))
                print(lines[-1], flush=True)
        for name, (c, p), m, opts, want in refused():
            randomize_bn(m).eval()
            path = os.path.join(tmp, name + ".onnx")
            for opset in (9, 17):
                label = "torch-export %s opset %d: refused" % (name, opset)
                export(m, path, c, p, opset, opts)
                rc, err = run_fcn(["info", path])
                ok = rc == 1 and want in err
                lines.append("%s: %s%s" % ("PASS" if ok else "FAIL", label, (": " + err) if ok else
                                           ": exit %d, message lacks '%s': %s" % (rc, want, err)))
                print(lines[-1], flush=True)
    bad = sum(l.startswith("FAIL") for l in lines)
    print("torch-export: %d exports checked in %.1f s, %d failed" % (len(lines), time.time() - start, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
