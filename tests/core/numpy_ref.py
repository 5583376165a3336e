#!/usr/bin/env python3
"""An independent reference for fcn.h's maps, in float64 numpy.

Usage: numpy_ref.py DIR

DIR holds what `test_core --export DIR` writes: for each net NN, netNN.fcn (written by
fcn_net_save), netNN.image.npy (H x W x C float32), netNN.map.npy (the dense map,
H' x W' x K float32) and netNN.json (border and output stride). This script reads the
model file itself (text header, CRC-32 by zlib, little-endian float32 weights), pads the
image with numpy.pad, cuts one patch per output pixel and runs the layers on all patches
at once in float64, written straight from the model format's description in fcn.h. It
shares no code with the library, so a mistake that both of the library's paths make
shows up here.

Tolerance: max |fcn - ref| <= 1e-4 * max(max |ref|, 1e-3) per net (float32 sums with
fma against float64; the observed differences are near 1e-6 relative).

Prints one line per net: "PASS: numpy-ref netNN (...): max diff D" or "FAIL: ...".
"""
import json
import os
import sys
import zlib

import numpy as np

REL_TOL = 1e-4


class ModelError(Exception):
    pass


def parse_model(path):
    data = open(path, "rb").read()
    pos = 0
    lines = []
    while True:
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise ModelError("no weights line")
        line = data[pos:nl].decode("ascii")
        start = pos
        pos = nl + 1
        toks = line.split()
        if not toks or toks[0].startswith("#"):
            continue
        if toks[0] == "weights":
            nbytes = int(toks[1])
            assert toks[2] == "crc32"
            crc = int(toks[3], 16)
            header_end = start
            break
        lines.append(toks)
    weights = data[pos:]
    if len(weights) != nbytes:
        raise ModelError("weights: %d bytes, header says %d" % (len(weights), nbytes))
    if zlib.crc32(data[:header_end] + weights) & 0xFFFFFFFF != crc:
        raise ModelError("crc32 mismatch")
    if lines[0] != ["fcn-model", "1"]:
        raise ModelError("bad magic line %r" % lines[0])
    net = {"scale": 1.0, "mean": None, "layers": []}
    for toks in lines[1:]:
        kw = toks[0]
        if kw == "input":
            net["h"], net["w"], net["c"] = int(toks[1]), int(toks[2]), int(toks[3])
        elif kw == "scale":
            net["scale"] = float(toks[1])
        elif kw == "mean":
            net["mean"] = [float(t) for t in toks[1:]]
        else:
            layer = {"type": kw}
            rest = []
            if kw == "conv":
                layer["maps"], layer["kh"], layer["kw"] = int(toks[1]), int(toks[2]), int(toks[3])
                rest = toks[4:]
                layer["stride"] = 1
            elif kw in ("maxpool", "avgpool"):
                layer["kh"], layer["kw"] = int(toks[1]), int(toks[2])
                rest = toks[3:]
                layer["stride"] = layer["kh"]
            elif kw == "fc":
                layer["maps"] = int(toks[1])
                rest = toks[2:]
            elif kw in ("relu", "tanh", "sigmoid", "dropout", "softmax"):
                rest = toks[1:]
                layer["slope"] = 0.0
            else:
                raise ModelError("unknown layer %s" % kw)
            i = 0
            while i < len(rest):
                if rest[i] == "ceil":
                    layer["ceil"] = True
                    i += 1
                elif rest[i] == "stride":
                    layer["stride"] = int(rest[i + 1])
                    i += 2
                elif rest[i] == "pad":
                    layer["pad"] = int(rest[i + 1])
                    i += 2
                elif rest[i] == "slope":
                    layer["slope"] = float(rest[i + 1])
                    i += 2
                else:
                    raise ModelError("unknown option %s" % rest[i])
            if layer.get("pad", 0):
                raise ModelError("pad: not supported by this reference (the dense path refuses it too)")
            net["layers"].append(layer)
    if net["mean"] is None:
        net["mean"] = [0.0] * net["c"]
    # shapes and weights
    floats = np.frombuffer(weights, dtype="<f4").astype(np.float64)
    off = 0
    c, h, w = net["c"], net["h"], net["w"]
    for layer in net["layers"]:
        t = layer["type"]
        layer["in"] = (c, h, w)
        if t == "conv":
            kh, kw_, s = layer["kh"], layer["kw"], layer["stride"]
            n = layer["maps"] * c * kh * kw_
            layer["W"] = floats[off:off + n].reshape(layer["maps"], c, kh, kw_)
            off += n
            layer["b"] = floats[off:off + layer["maps"]]
            off += layer["maps"]
            c, h, w = layer["maps"], (h - kh) // s + 1, (w - kw_) // s + 1
        elif t in ("maxpool", "avgpool"):
            kh, kw_, s = layer["kh"], layer["kw"], layer["stride"]
            if layer.get("ceil"):
                # ceil rounding; the exported nets only use it where it divides evenly
                oh, ow = -(-(h - kh) // s) + 1, -(-(w - kw_) // s) + 1
                if (oh - 1) * s + kh > h or (ow - 1) * s + kw_ > w:
                    raise ModelError("clipped ceil pool: not supported by this reference")
            h, w = (h - kh) // s + 1, (w - kw_) // s + 1
        elif t == "fc":
            n = layer["maps"] * c * h * w
            layer["W"] = floats[off:off + n].reshape(layer["maps"], c * h * w)
            off += n
            layer["b"] = floats[off:off + layer["maps"]]
            off += layer["maps"]
            c, h, w = layer["maps"], 1, 1
    if off != len(floats):
        raise ModelError("weights: %d floats, the layers use %d" % (len(floats), off))
    if (h, w) != (1, 1):
        raise ModelError("output %dx%d, not 1x1" % (h, w))
    net["k"] = c
    return net


def run_layers(net, x):
    """x: N x C x Ph x Pw float64 patches (after the transform). Returns N x K."""
    for layer in net["layers"]:
        t = layer["type"]
        if t == "conv":
            W, b, s = layer["W"], layer["b"], layer["stride"]
            _, _, kh, kw = W.shape
            n, c, h, w = x.shape
            oh, ow = (h - kh) // s + 1, (w - kw) // s + 1
            y = np.zeros((n, W.shape[0], oh, ow)) + b[None, :, None, None]
            for ky in range(kh):
                for kx in range(kw):
                    sl = x[:, :, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s]
                    y += np.einsum("oc,nchw->nohw", W[:, :, ky, kx], sl)
            x = y
        elif t in ("maxpool", "avgpool"):
            kh, kw, s = layer["kh"], layer["kw"], layer["stride"]
            n, c, h, w = x.shape
            oh, ow = (h - kh) // s + 1, (w - kw) // s + 1
            win = [x[:, :, ky:ky + s * (oh - 1) + 1:s, kx:kx + s * (ow - 1) + 1:s]
                   for ky in range(kh) for kx in range(kw)]
            x = np.max(win, axis=0) if t == "maxpool" else np.mean(win, axis=0)
        elif t == "fc":
            n = x.shape[0]
            x = (x.reshape(n, -1) @ layer["W"].T + layer["b"])[:, :, None, None]
        elif t == "relu":
            x = np.where(x > 0, x, x * layer["slope"])
        elif t == "tanh":
            x = np.tanh(x)
        elif t == "sigmoid":
            x = 1.0 / (1.0 + np.exp(-x))
        elif t == "softmax":
            e = np.exp(x - x.max(axis=1, keepdims=True))
            x = e / e.sum(axis=1, keepdims=True)
        elif t == "dropout":
            pass
    return x.reshape(x.shape[0], -1)


def reference_map(net, image, border, stride):
    ph, pw = net["h"], net["w"]
    img = image.astype(np.float64)
    if border != "valid":
        pads = ((ph - 1) // 2, ph // 2), ((pw - 1) // 2, pw // 2), (0, 0)
        if border == "zero":
            img = np.pad(img, pads, mode="constant", constant_values=0.0)
        elif border == "replicate":
            img = np.pad(img, pads, mode="edge")
        elif border == "mirror":
            img = np.pad(img, pads, mode="reflect")
        else:
            raise ValueError(border)
    mean = np.array(net["mean"], dtype=np.float64)
    img = (img - mean[None, None, :]) * net["scale"]
    # patches whose top-left corners are (i*s, j*s)
    win = np.lib.stride_tricks.sliding_window_view(img, (ph, pw), axis=(0, 1))  # H-ph+1, W-pw+1, C, ph, pw
    win = win[::stride, ::stride]
    oh, ow = win.shape[:2]
    patches = np.ascontiguousarray(win).reshape(oh * ow, net["c"], ph, pw)
    out = run_layers(net, patches)
    return out.reshape(oh, ow, -1)


def main():
    if len(sys.argv) != 2:
        print("usage: numpy_ref.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    names = sorted(f[:-4] for f in os.listdir(d) if f.endswith(".fcn"))
    if not names:
        print("FAIL: numpy-ref: no nets in %s" % d)
        return 1
    failed = 0
    for name in names:
        base = os.path.join(d, name)
        label = "numpy-ref %s" % name
        try:
            opts = json.load(open(base + ".json"))
            label += " (%s, border %s, stride %d)" % (opts.get("net", "?"), opts["border"], opts["stride"])
            net = parse_model(base + ".fcn")
            image = np.load(base + ".image.npy")
            fmap = np.load(base + ".map.npy")
            ref = reference_map(net, image, opts["border"], opts["stride"])
        except Exception as e:  # a reference that cannot run is a failure, not a skip
            print("FAIL: %s: %s: %s" % (label, type(e).__name__, e))
            failed += 1
            continue
        if ref.shape != fmap.shape:
            print("FAIL: %s: map shape %s, reference %s" % (label, fmap.shape, ref.shape))
            failed += 1
            continue
        diff = np.abs(fmap.astype(np.float64) - ref)
        scale = max(float(np.abs(ref).max()), 1e-3)
        worst = float(diff.max())
        if not np.all(np.isfinite(fmap)) or worst > REL_TOL * scale:
            y, x, k = np.unravel_index(int(np.argmax(diff)), diff.shape)
            print("FAIL: %s: max |diff| %.3g > %.1g * %.3g, at pixel (x=%d, y=%d) channel %d: fcn %.9g, reference %.9g"
                  % (label, worst, REL_TOL, scale, x, y, k, fmap[y, x, k], ref[y, x, k]))
            failed += 1
        else:
            print("PASS: %s: %dx%dx%d map, max |diff| %.2g (%.2g of the map's scale %.3g)"
                  % (label, fmap.shape[0], fmap.shape[1], fmap.shape[2], worst, worst / scale, scale))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
