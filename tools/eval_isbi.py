#!/usr/bin/python3
"""Validation figures of the trained ISBI N4 network on held-out labelled slices.

    /usr/bin/python3 tools/eval_isbi.py --model tools/isbi-n4.pt --slices 18,19 [--data DIR]

For each slice: the dense map of P(membrane) (the dense torch formulation of
tools/train_isbi.py, mirror border, equal to the patch classifier at every pixel), then

  pixel error = fraction of pixels where [P(membrane) >= 0.5] != [label < 128]

  foreground-restricted Rand error (ISBI 2012, Arganda-Carreras et al. 2015, V^Rand):
    ground-truth segments  i: 4-connected components of the label's non-membrane pixels;
    predicted segments     j: 4-connected components of the pixels with P(membrane) < 0.5;
                              each predicted-membrane pixel is a segment of its own
                              (a singleton, as in the challenge's adapted Rand script);
    restrict to the N pixels that are non-membrane in the ground truth, and count
    n_ij = number of those pixels in ground-truth segment i and predicted segment j,
    a_i = sum_j n_ij, b_j = sum_i n_ij. Then (p_ij = n_ij / N, the 1/N^2 cancel)
      Rand split (recall)    R = sum_ij n_ij^2 / sum_i a_i^2
      Rand merge (precision) P = sum_ij n_ij^2 / sum_j b_j^2
      V^Rand = F = 2 P R / (P + R),   Rand error = 1 - F.
  (The challenge reports the best F over thresholds and after thinning borders; this is
  the plain value at threshold 0.5, no thinning.)
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_isbi as tn  # noqa: E402


def components(mask):
    """4-connected components of a boolean image: int64 labels, -1 outside the mask.
    Label propagation (min over the 4 neighbours) with pointer jumping; every label is the
    flat index of the component's first pixel."""
    h, w = mask.shape
    big = np.int64(h * w)
    idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
    lab = np.where(mask, idx, big)
    flat_mask = mask.ravel()
    while True:
        new = lab.copy()
        np.minimum(new[1:, :], lab[:-1, :], out=new[1:, :])
        np.minimum(new[:-1, :], lab[1:, :], out=new[:-1, :])
        np.minimum(new[:, 1:], lab[:, :-1], out=new[:, 1:])
        np.minimum(new[:, :-1], lab[:, 1:], out=new[:, :-1])
        new[~mask] = big
        f = new.ravel()
        for _ in range(4):  # pointer jumping: a label is a pixel of the same component
            f[flat_mask] = f[f[flat_mask]]
        if np.array_equal(new, lab):
            break
        lab = new
    return np.where(mask, lab, -1)


def rand_error(pred_membrane, gt_membrane):
    """Foreground-restricted Rand error (see the module docstring): (error, P, R)."""
    gt = components(~gt_membrane)
    pr = components(~pred_membrane)
    fg = ~gt_membrane
    n = pr.size
    # predicted membrane pixels: singletons, labelled n + their index (never a component label)
    pr = np.where(pred_membrane, n + np.arange(n).reshape(pr.shape), pr)
    g = gt[fg]
    p = pr[fg]
    _, gi = np.unique(g, return_inverse=True)
    _, pj = np.unique(p, return_inverse=True)
    pair = gi.astype(np.int64) * (pj.max() + 1) + pj
    n_ij = np.unique(pair, return_counts=True)[1].astype(np.float64)
    a_i = np.bincount(gi).astype(np.float64)
    b_j = np.bincount(pj).astype(np.float64)
    s = (n_ij ** 2).sum()
    prec = s / (b_j ** 2).sum()
    rec = s / (a_i ** 2).sum()
    f = 2 * prec * rec / (prec + rec)
    return 1.0 - f, prec, rec


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(tn.REPO, "tools", "isbi-n4.pt"))
    ap.add_argument("--slices", default="18,19")
    ap.add_argument("--data", default=tn.default_data())
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.5, help="membrane where P(membrane) >= this")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = tn.make_net()
    net.load_state_dict(torch.load(args.model, map_location="cpu"))
    net.eval()
    rows = []
    for n in [int(s) for s in args.slices.split(",")]:
        t0 = time.time()
        img, lab = tn.load_slice(args.data, n)
        p = tn.dense_map(net, img, tile=256)
        pred_m = p >= args.threshold
        gt_m = lab == 0
        pix = float((pred_m != gt_m).mean())
        re, prec, rec = rand_error(pred_m, gt_m)
        rows.append((pix, re))
        print("slice %2d: pixel error %.4f  Rand error %.4f  (Rand merge/precision %.4f, split/recall %.4f; "
              "membrane predicted %.3f, true %.3f; %.1f s)"
              % (n, pix, re, prec, rec, pred_m.mean(), gt_m.mean(), time.time() - t0), flush=True)
    m = np.mean(rows, 0)
    print("mean:     pixel error %.4f  Rand error %.4f" % (m[0], m[1]))


if __name__ == "__main__":
    main()
