#!/usr/bin/python3
"""Export the trained ISBI N4 network (tools/isbi-n4.pt) to fcn's model format.

    /usr/bin/python3 tools/export_fcn.py [--pt tools/isbi-n4.pt] [--out models/isbi-n4.fcn]
                                         [--ref tests/data/isbi-n4-torch-ref.txt] [--data DIR]

Writes the model file exactly as fcn.h documents it (format version 1): a text header,
then "weights NBYTES crc32 XXXXXXXX" and the little-endian float32 weights layer by layer
(conv: (map, channel, row, column) then biases; fc: (output, input in C,H,W order) then
biases). The CRC-32 (zlib's) covers the header up to the start of the weights line,
followed by the weight bytes. Floats in the header use 9 significant digits.

Also writes the torch reference file: P(membrane), P(non-membrane) computed by the
PyTorch patch classifier itself (plain nn.Sequential, float32, on the 95x95 window of
the mirror-bordered image) at a few pixels of test-images/0.png and 1.png, one line
"IMAGE ROW COL P0 P1" each (%.9g); tests/torch/test_torch.sh checks fcn against them.
With --check-only it recomputes the reference file's first N lines and compares instead.
"""
import argparse
import os
import struct
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_isbi as tn  # noqa: E402

# (row, col) pixels per image: corners and edges (the mirror border) and a few inside.
REF_PIXELS = {
    "test-images/0.png": [(0, 0), (0, 511), (511, 0), (511, 511), (3, 200), (300, 46), (256, 256), (123, 401)],
    "test-images/1.png": [(47, 47), (511, 255), (100, 510), (200, 100), (333, 333), (400, 17), (77, 450), (480, 480)],
}


def fmt(x):
    return "%.9g" % float(x)


def header_and_weights(net):
    sd = {k: v.detach().to(torch.float32).cpu().numpy() for k, v in net.state_dict().items()}
    lines = ["fcn-model 1",
             "# ISBI 2012 membrane detector, Ciresan et al. 2012 'N4' architecture, trained by tools/train_isbi.py",
             "# outputs: P(membrane), P(non-membrane); input transform x' = (x - mean) * scale",
             "input %d %d 1" % (tn.PATCH, tn.PATCH),
             "scale %s" % fmt(tn.SCALE),
             "mean %s" % fmt(tn.MEAN)]
    blobs = []
    for i in tn.CONVS:
        w = sd["%d.weight" % i]
        lines.append("conv %d %d %d stride 1" % (w.shape[0], w.shape[2], w.shape[3]))
        lines.append("maxpool 2 2 stride 2")
        lines.append("relu")
        blobs += [w, sd["%d.bias" % i]]
    for i, act in ((13, True), (15, False)):
        w = sd["%d.weight" % i]
        lines.append("fc %d" % w.shape[0])
        if act:
            lines.append("relu")
        blobs += [w, sd["%d.bias" % i]]  # (out, in) with in = torch's C,H,W flatten
    lines.append("softmax")
    header = ("\n".join(lines) + "\n").encode("ascii")
    weights = b"".join(np.ascontiguousarray(b, dtype="<f4").tobytes() for b in blobs)
    return header, weights


def write_model(net, path):
    header, weights = header_and_weights(net)
    crc = zlib.crc32(weights, zlib.crc32(header)) & 0xFFFFFFFF
    wline = ("weights %d crc32 %08x\n" % (len(weights), crc)).encode("ascii")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(header + wline + weights)
    return len(header) + len(wline) + len(weights)


def torch_probs(net, data, name, pixels):
    """The patch classifier on the 95x95 windows of the mirror-bordered image: [(p0, p1)]."""
    img = tn.read_png(os.path.join(data, name))
    x = tn.to_input(tn.mirror_pad(img))  # bordered coordinates: window of pixel (r, c) starts at (r, c)
    patches = torch.cat([x[:, :, r:r + tn.PATCH, c:c + tn.PATCH] for r, c in pixels], 0)
    with torch.no_grad():
        p = torch.softmax(net(patches), 1)
    return p.numpy().astype(np.float32)


def load(pt):
    net = tn.make_net()
    net.load_state_dict(torch.load(pt, map_location="cpu"))
    net.eval()
    return net


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pt", default=os.path.join(tn.REPO, "tools", "isbi-n4.pt"))
    ap.add_argument("--out", default=os.path.join(tn.REPO, "models", "isbi-n4.fcn"))
    ap.add_argument("--ref", default=os.path.join(tn.REPO, "tests", "data", "isbi-n4-torch-ref.txt"))
    ap.add_argument("--data", default=tn.default_data())
    ap.add_argument("--no-ref", action="store_true", help="write the model file only")
    ap.add_argument("--check-only", type=int, default=0, metavar="N",
                    help="recompute the first N lines of --ref with --pt and compare (exit 1 if they differ)")
    ap.add_argument("--tol", type=float, default=1e-6, help="--check-only tolerance")
    args = ap.parse_args()
    torch.set_num_threads(2)
    net = load(args.pt)

    if args.check_only:
        rows = [l.split() for l in open(args.ref) if l.strip() and not l.startswith("#")][:args.check_only]
        worst = 0.0
        for name, r, c, p0, p1 in rows:
            p = torch_probs(net, args.data, name, [(int(r), int(c))])[0]
            worst = max(worst, abs(p[0] - float(p0)), abs(p[1] - float(p1)))
        print("max |torch now - reference file| over %d lines: %.3g" % (len(rows), worst))
        sys.exit(0 if worst <= args.tol else 1)

    n = write_model(net, args.out)
    print("wrote %s (%d bytes)" % (args.out, n))
    if args.no_ref:
        return
    out = ["# P(membrane) P(non-membrane) from the PyTorch patch classifier (tools/isbi-n4.pt, float32,",
           "# mirror border) at pixel ROW COL of IMAGE (relative to the ISBI data folder); written by",
           "# tools/export_fcn.py, checked against fcn by tests/torch/test_torch.sh.",
           "# IMAGE ROW COL P0 P1"]
    for name, pixels in REF_PIXELS.items():
        probs = torch_probs(net, args.data, name, pixels)
        for (r, c), p in zip(pixels, probs):
            out.append("%s %d %d %s %s" % (name, r, c, fmt(p[0]), fmt(p[1])))
    os.makedirs(os.path.dirname(os.path.abspath(args.ref)), exist_ok=True)
    with open(args.ref, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %s (%d references)" % (args.ref, len(out) - 4))


if __name__ == "__main__":
    main()
