#!/usr/bin/python3
"""Exports a PyTorch patch classifier to ONNX with torch.onnx.export, for fcn.h's ONNX
loader (fcn map MODEL.onnx ..., fcn convert MODEL.onnx -o MODEL.fcn).

    /usr/bin/python3 tools/export_onnx.py [--pt tools/isbi-n4.pt] [--out isbi-n4-torch.onnx]
                                          [--opset 13] [--no-transform] [--check]

The network here is the ISBI N4 of tools/train_isbi.py (make_net, weights --pt); for your
own model replace build() by your nn.Module (a chain of Conv2d, MaxPool2d, AvgPool2d,
Linear, Flatten, ReLU/LeakyReLU, Tanh, Sigmoid, Dropout, Softmax; batch of 1 patch of
C x H x W). The input transform (pixel - MEAN) * SCALE is exported in front of the net as
Sub and Mul nodes, so fcn gets raw 0..255 pixels (--no-transform leaves it out: then fcn
feeds the pixels unchanged). A Softmax is appended so the map holds probabilities. The
batch dimension is dynamic. --check compares PyTorch and fcn (build/fcn) on a few
random patches.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_isbi as tn  # noqa: E402


class WithTransform(nn.Module):
    def __init__(self, net, mean, scale):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(float(mean), dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float32))

    def forward(self, x):
        return torch.softmax(self.net((x - self.mean) * self.scale), 1)


def build(pt):
    net = tn.make_net()
    net.load_state_dict(torch.load(pt, map_location="cpu"))
    return net.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pt", default=os.path.join(tn.REPO, "tools", "isbi-n4.pt"))
    ap.add_argument("--out", default="isbi-n4-torch.onnx")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--no-transform", action="store_true")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    net = build(a.pt)
    model = WithTransform(net, 0.0 if a.no_transform else tn.MEAN, 1.0 if a.no_transform else tn.SCALE).eval()
    x = torch.zeros(1, 1, tn.PATCH, tn.PATCH)
    torch.onnx.export(model, x, a.out, opset_version=a.opset, input_names=["input"], output_names=["prob"],
                      dynamic_axes={"input": {0: "N"}, "prob": {0: "N"}}, do_constant_folding=True)
    print("wrote %s" % a.out)
    if a.check:
        fcn = os.path.join(tn.REPO, "build", "fcn")
        rng = np.random.default_rng(0)
        worst = 0.0
        with tempfile.TemporaryDirectory() as t:
            for _ in range(4):
                p = rng.integers(0, 256, (tn.PATCH, tn.PATCH)).astype(np.float32)
                np.save(os.path.join(t, "p.npy"), p)
                subprocess.run([fcn, "map", a.out, os.path.join(t, "p.npy"), "--border", "valid", "--npy",
                                os.path.join(t, "m.npy"), "-q"], check=True)
                got = np.load(os.path.join(t, "m.npy")).reshape(-1)
                with torch.no_grad():
                    ref = model(torch.from_numpy(p)[None, None]).numpy().reshape(-1)
                worst = max(worst, float(np.max(np.abs(got - ref))))
        print("max |fcn - torch| over 4 patches: %.3g" % worst)


if __name__ == "__main__":
    main()
