#!/usr/bin/python3
"""PyTorch's dense form of an fcn.h patch classifier, timed (bench/bench.c runs it).

    torch_dense.py --dir DIR [--threads 1,2] [--runs 5] NAME [NAME ...]

For each NAME reads DIR/NAME.fcn (fcn.h's model format, version 1: text header, then
"weights NBYTES crc32 X" and the little-endian float32 weights) and DIR/NAME.npy (the H x W
float32 image), and computes the dense per-pixel map the way PyTorch does it fastest:
the mirror border with F.pad(mode='reflect') ((P-1)//2 top/left, P//2 bottom/right), the
input transform (x - mean) * scale, convolutions as F.conv2d with dilation = the product
of the earlier strides, a KxK max-pool (stride S) as the max of its K*K shifted views of
the dilated grid (torch.maximum of slices), after which the dilation is multiplied by S,
fully connected layers as dilated convolutions whose kernel is the layer's input
(C x H x W), softmax over the channels. torch.no_grad, float32.

For each thread count T (torch.set_num_threads) it times one warm-up and then --runs
runs, and writes DIR/NAME.torch.txt, one line per T:
    threads T runs R min SECONDS median SECONDS
and DIR/NAME.torch.npy, the map of the last thread count as float32 (H, W, K).
Prints the torch version first; exits non-zero with a message on any error.
"""
import argparse
import os
import statistics
import sys
import time
import zlib

import numpy as np
import torch
import torch.nn.functional as F


def load_fcn(path):
    """Returns (input (h, w, c), scale, mean[c], [layer dicts with weights])."""
    with open(path, "rb") as f:
        data = f.read()
    pos, first = 0, True
    inp, scale, mean, layers = None, 1.0, [], []
    while True:
        nl = data.index(b"\n", pos)
        start, line = pos, data[pos:nl].decode("ascii").strip()
        pos = nl + 1
        if first:
            if line.split()[:2] != ["fcn-model", "1"]:
                raise ValueError("%s: not an fcn-model 1 file" % path)
            first = False
            continue
        if not line or line.startswith("#"):
            continue
        tok = line.split()
        op, args = tok[0], tok[1:]

        def opt(name, default):
            return int(args[args.index(name) + 1]) if name in args else default

        if op == "input":
            inp = tuple(int(v) for v in args[:3])
        elif op == "scale":
            scale = float(args[0])
        elif op == "mean":
            mean += [float(v) for v in args]
        elif op == "conv":
            layers.append(dict(type="conv", maps=int(args[0]), kh=int(args[1]), kw=int(args[2]),
                               stride=opt("stride", 1), pad=opt("pad", 0)))
        elif op in ("maxpool", "avgpool"):
            kh, kw = int(args[0]), int(args[1])
            layers.append(dict(type=op, kh=kh, kw=kw, stride=opt("stride", kh), pad=opt("pad", 0),
                               ceil="ceil" in args))
        elif op == "fc":
            layers.append(dict(type="fc", maps=int(args[0])))
        elif op == "relu":
            layers.append(dict(type="relu", slope=float(args[args.index("slope") + 1]) if "slope" in args else 0.0))
        elif op in ("tanh", "sigmoid", "dropout", "softmax"):
            layers.append(dict(type=op))
        elif op == "weights":
            nbytes, crc = int(args[0]), int(args[2], 16)
            blob = data[pos:pos + nbytes]
            if len(blob) != nbytes or zlib.crc32(blob, zlib.crc32(data[:start])) & 0xFFFFFFFF != crc:
                raise ValueError("%s: weights short or CRC mismatch" % path)
            break
        else:
            raise ValueError("%s: unknown directive %r" % (path, line))
    if inp is None:
        raise ValueError("%s: no input line" % path)
    w = np.frombuffer(blob, dtype="<f4")
    c, h, wd = inp[2], inp[0], inp[1]
    if not mean:
        mean = [0.0] * c
    off = 0
    for L in layers:
        t = L["type"]
        if t in ("conv", "fc"):
            if t == "fc":
                L["kh"], L["kw"] = h, wd
            n = L["maps"] * c * L["kh"] * L["kw"]
            L["w"] = torch.from_numpy(w[off:off + n].astype(np.float32).reshape(L["maps"], c, L["kh"], L["kw"]))
            L["b"] = torch.from_numpy(w[off + n:off + n + L["maps"]].astype(np.float32))
            off += n + L["maps"]
            if L.get("pad", 0):
                raise ValueError("conv with padding has no exact dense form")
            s = L.get("stride", 1)
            h, wd, c = (h - L["kh"]) // s + 1, (wd - L["kw"]) // s + 1, L["maps"]
        elif t in ("maxpool", "avgpool"):
            if L["pad"] or L["ceil"]:
                raise ValueError("pool with padding or ceil rounding has no exact dense form")
            h, wd = (h - L["kh"]) // L["stride"] + 1, (wd - L["kw"]) // L["stride"] + 1
    if off != len(w):
        raise ValueError("%s: %d weights, the layers use %d" % (path, len(w), off))
    if (h, wd) != (1, 1):
        raise ValueError("%s: the output is %dx%d, not 1x1" % (path, h, wd))
    return inp, scale, mean, layers


def dense(x, inp, scale, mean, layers):
    """x: (H, W) float32 tensor (one channel) or (H, W, C). Returns (1, K, H, W)."""
    ph, pw = inp[0], inp[1]
    if x.dim() == 2:
        x = x[None, None]
    else:
        x = x.permute(2, 0, 1)[None].contiguous()
    m = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    x = (x - m) * scale
    x = F.pad(x, ((pw - 1) // 2, pw // 2, (ph - 1) // 2, ph // 2), mode="reflect")
    d = 1
    for L in layers:
        t = L["type"]
        if t in ("conv", "fc"):
            x = F.conv2d(x, L["w"], L["b"], dilation=d)
            d *= L.get("stride", 1)
        elif t in ("maxpool", "avgpool"):
            kh, kw = L["kh"], L["kw"]
            H, W = x.shape[2] - (kh - 1) * d, x.shape[3] - (kw - 1) * d
            acc = None
            for i in range(kh):
                for j in range(kw):
                    v = x[:, :, i * d:i * d + H, j * d:j * d + W]
                    if acc is None:
                        acc = v
                    elif t == "maxpool":
                        acc = torch.maximum(acc, v)
                    else:
                        acc = acc + v
            x = acc if t == "maxpool" else acc / (kh * kw)
            d *= L["stride"]
        elif t == "relu":
            x = F.relu(x) if L["slope"] == 0 else F.leaky_relu(x, L["slope"])
        elif t == "tanh":
            x = torch.tanh(x)
        elif t == "sigmoid":
            x = torch.sigmoid(x)
        elif t == "softmax":
            x = torch.softmax(x, dim=1)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    print("torch %s, mkldnn %s" % (torch.__version__, torch.backends.mkldnn.is_available()))
    with torch.no_grad():
        for name in a.names:
            inp, scale, mean, layers = load_fcn(os.path.join(a.dir, name + ".fcn"))
            img = torch.from_numpy(np.load(os.path.join(a.dir, name + ".npy")).astype(np.float32))
            lines, out = [], None
            for T in threads:
                torch.set_num_threads(T)
                dense(img, inp, scale, mean, layers)  # warm-up
                ts = []
                for _ in range(a.runs):
                    t0 = time.perf_counter()
                    out = dense(img, inp, scale, mean, layers)
                    ts.append(time.perf_counter() - t0)
                lines.append("threads %d runs %d min %.6f median %.6f\n" % (T, a.runs, min(ts), statistics.median(ts)))
                print(name, lines[-1], end="")
            res = out[0].permute(1, 2, 0).contiguous().numpy().astype(np.float32)
            if res.shape[:2] != tuple(img.shape[:2]):
                raise ValueError("%s: map %s, image %s" % (name, res.shape, tuple(img.shape)))
            np.save(os.path.join(a.dir, name + ".torch.npy"), res)
            with open(os.path.join(a.dir, name + ".torch.txt"), "w") as f:
                f.writelines(lines)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a message bench.c prints
        print("torch_dense.py: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
