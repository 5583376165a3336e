#!/usr/bin/python3
"""Train the ISBI 2012 membrane classifier of the talk (Ciresan et al. 2012, "N4").

    OMP_WAIT_POLICY=PASSIVE nice -n 10 /usr/bin/python3 tools/train_isbi.py --minutes 52 --threads 2 \
        --batch 1 --val-every 20 --out tools/isbi-n4.pt

(the command that made tools/isbi-n4.pt: 3107 steps, 10.8 epochs, 52 min on 2 shared cores;
the number of steps depends on the machine because the budget is in minutes)

The network is a patch classifier: a 95x95 grey window -> P(membrane), P(non-membrane)
for its centre pixel (class 0 = membrane, class 1 = non-membrane):

    conv 4x4 48, maxpool 2/2, relu      95 -> 92 -> 46
    conv 5x5 48, maxpool 2/2, relu      46 -> 42 -> 21
    conv 4x4 48, maxpool 2/2, relu      21 -> 18 -> 9
    conv 4x4 48, maxpool 2/2, relu       9 ->  6 -> 3
    fc 200, relu                        48*3*3 = 432 -> 200
    fc 2, softmax

Input transform: x' = (x - 124) * float32(1/255).
Activation: ReLU (Ciresan used scaled tanh). ReLU is the fast-to-train choice: no
saturation, so Adam converges in the few epochs that an hour on two CPU cores allows,
and relu(maxpool(x)) == maxpool(relu(x)) exactly, so it sits after the pool (4x fewer
values) without changing the function. Input transform: x' = x * float32(1/255), mean 0
(fcn's "scale 0.00392156886", "mean 124"). Centring the input and He
initialisation make the ReLU net start learning at once (with mean 0 and torch's default
init the loss stayed at ~0.66 for the first 100 steps of a trial run).

Training is dense: the same network is evaluated at every pixel of a tile at once (the
"a trous" formulation that fcn.h's dense path uses), so every forward/backward pass
trains on T*T labelled pixels instead of one. Two equivalent dense formulations are
implemented below:
  - "dilated": conv k dilated by the product of earlier strides, max-pool as kernel 2
    stride 1 dilated pooling, fc 200 as a 3x3 conv dilated by 16, fc 2 as a 1x1 conv;
  - "fragments" (default, faster on CPU: only undilated convolutions): each stride-2
    pool is evaluated at its 4 offsets, which go into the batch (Giusti et al. 2013),
    and the 256 fragments are interleaved back at the end.
Both equal the patch classifier (checked at start-up against nn.Sequential on every
pixel of a small tile; see dense_check()).

Data: $FCN_DATA or --data (default ../shared/data/isbi2012 relative to the repo root),
train-images/N.png and train-labels/N.png, N = 0..19; label < 128 = membrane. Slices
18 and 19 are held out for validation (--val). Each slice is mirror-padded by 47 on
every side (numpy 'reflect', fcn's default border: (95-1)//2 = 95//2 = 47). A training
step takes random (T+94)^2 crops of padded slices with their T x T labels, each with a
random flip / 90-degree rotation (the 8 symmetries of the square), and a class-weighted
cross entropy on every output pixel (membrane is ~22% of pixels; weight of class c is
proportional to freq_c^-BALANCE, BALANCE = 0.5 by default: half way between no weighting
and full balance, so the 0.5 threshold does not over-predict membrane as much as full
balancing would). Adam, cosine learning-rate decay over the time budget, checkpoints
(the patch classifier's state_dict) written to --out every --save-every minutes, so an
interrupted run still leaves a model. Seeds are fixed (torch and numpy); the number of
steps depends on the machine's speed because the budget is in minutes.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PATCH = 95
HALF_BEFORE = (PATCH - 1) // 2  # 47 rows/columns of border above / left
HALF_AFTER = PATCH // 2  # 47 below / right
SCALE = np.float32(1.0 / 255.0)  # the model file's "scale"
MEAN = np.float32(124.0)  # the model file's "mean": about the training slices' mean grey (123.7)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_net():
    """The patch classifier: (N, 1, 95, 95) scaled pixels -> (N, 2) logits (softmax outside)."""
    return nn.Sequential(
        nn.Conv2d(1, 48, 4), nn.MaxPool2d(2, 2), nn.ReLU(),  # 0 1 2
        nn.Conv2d(48, 48, 5), nn.MaxPool2d(2, 2), nn.ReLU(),  # 3 4 5
        nn.Conv2d(48, 48, 4), nn.MaxPool2d(2, 2), nn.ReLU(),  # 6 7 8
        nn.Conv2d(48, 48, 4), nn.MaxPool2d(2, 2), nn.ReLU(),  # 9 10 11
        nn.Flatten(),  # 12: C,H,W order
        nn.Linear(48 * 3 * 3, 200), nn.ReLU(),  # 13 14
        nn.Linear(200, 2),  # 15
    )


def init_net(net):
    """He (Kaiming) normal initialisation for the ReLU layers, zero biases."""
    for i in CONVS + (13,):
        nn.init.kaiming_normal_(net[i].weight, nonlinearity="relu")
        nn.init.zeros_(net[i].bias)
    nn.init.normal_(net[15].weight, std=0.01)
    nn.init.zeros_(net[15].bias)
    return net


CONVS = (0, 3, 6, 9)


def patch_shapes():
    """Shapes through the patch classifier (to derive fc 200's kernel: 3x3)."""
    net = make_net()
    x = torch.zeros(1, 1, PATCH, PATCH)
    out = []
    for m in net:
        x = m(x)
        out.append((type(m).__name__, tuple(x.shape)))
    return out


def _fc_as_conv(net):
    w13 = net[13].weight.view(200, 48, 3, 3)  # Linear's input is the C,H,W flatten
    w15 = net[15].weight.view(2, 200, 1, 1)
    return w13, w15


def dense_dilated(net, x):
    """(N,1,T+94,T+94) -> (N,2,T,T) logits; out[i,j] = net(x[i:i+95, j:j+95])."""
    d = 1
    for c in CONVS:
        conv = net[c]
        x = F.conv2d(x, conv.weight, conv.bias, dilation=d)
        x = F.max_pool2d(x, 2, stride=1, dilation=d)
        x = F.relu(x)
        d *= 2
    w13, w15 = _fc_as_conv(net)
    x = F.relu(F.conv2d(x, w13, net[13].bias, dilation=d))  # d = 16
    return F.conv2d(x, w15, net[15].bias)


def _frag_pool(x):
    """Max-pool 2/2 at the 4 offsets (dy, dx), stacked into the batch: index (dy*2+dx)*N + n."""
    h = (x.shape[2] - 1) // 2
    w = (x.shape[3] - 1) // 2
    return torch.cat([F.max_pool2d(x[:, :, dy:dy + 2 * h, dx:dx + 2 * w], 2)
                      for dy in (0, 1) for dx in (0, 1)], 0)


def dense_fragments(net, x):
    """Same as dense_dilated; needs T % 16 == 0."""
    n, _, s, s2 = x.shape
    t = s - (PATCH - 1)
    assert s == s2 and t % 16 == 0, "fragments: tile must be square with T % 16 == 0"
    for c in CONVS:
        conv = net[c]
        x = F.relu(_frag_pool(F.conv2d(x, conv.weight, conv.bias)))
    w13, w15 = _fc_as_conv(net)
    x = F.relu(F.conv2d(x, w13, net[13].bias))
    x = F.conv2d(x, w15, net[15].bias)  # (256 N, 2, t/16, t/16)
    q = t // 16
    x = x.reshape(2, 2, 2, 2, 2, 2, 2, 2, n, 2, q, q)  # dy4 dx4 dy3 dx3 dy2 dx2 dy1 dx1 n k p q
    # dense row = 16 p + 8 dy4 + 4 dy3 + 2 dy2 + dy1 (and the same for columns)
    x = x.permute(8, 9, 10, 0, 2, 4, 6, 11, 1, 3, 5, 7)
    return x.reshape(n, 2, t, t)


DENSE = {"dilated": dense_dilated, "fragments": dense_fragments}


def dense_check(net, tile=16, seed=1):
    """Max |dense - patch classifier| over every pixel of a random tile, both formulations."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 1, tile + PATCH - 1, tile + PATCH - 1, generator=g)
    with torch.no_grad():
        patches = x.unfold(2, PATCH, 1).unfold(3, PATCH, 1)  # 1,1,T,T,95,95
        patches = patches.reshape(tile * tile, 1, PATCH, PATCH)
        ref = net(patches).reshape(tile, tile, 2).permute(2, 0, 1)
        return {name: (f(net, x)[0] - ref).abs().max().item() for name, f in DENSE.items()}


def default_data():
    return os.environ.get("FCN_DATA") or os.path.join(REPO, "..", "shared", "data", "isbi2012")


def read_png(path):
    from PIL import Image  # python3-pil

    with Image.open(path) as im:
        a = np.asarray(im.convert("L"), dtype=np.uint8)
    return a


def load_slice(data, n, labels=True):
    img = read_png(os.path.join(data, "train-images", "%d.png" % n))
    if not labels:
        return img
    lab = read_png(os.path.join(data, "train-labels", "%d.png" % n))
    return img, (lab >= 128).astype(np.int64)  # 0 membrane, 1 non-membrane


def mirror_pad(img):
    return np.pad(img, ((HALF_BEFORE, HALF_AFTER), (HALF_BEFORE, HALF_AFTER)), mode="reflect")


def to_input(img_u8):
    """uint8 image (H,W) -> float32 tensor (1,1,H,W) = (pixel - MEAN) * SCALE in float32, as fcn does."""
    return torch.from_numpy((img_u8.astype(np.float32) - MEAN) * SCALE)[None, None]


def dense_map(net, img_u8, tile=256, dense="fragments"):
    """P(membrane) at every pixel of an image (mirror border), in tiles of T x T outputs."""
    h, w = img_u8.shape
    padded = mirror_pad(img_u8)
    th = ((h + tile - 1) // tile) * tile
    tw = ((w + tile - 1) // tile) * tile
    # pad further (any values) so every tile is complete; extra outputs are cropped away
    padded = np.pad(padded, ((0, th - h), (0, tw - w)), mode="edge")
    x = to_input(padded)
    out = np.zeros((th, tw), np.float32)
    f = DENSE[dense]
    with torch.no_grad():
        for y in range(0, th, tile):
            for xx in range(0, tw, tile):
                logits = f(net, x[:, :, y:y + tile + PATCH - 1, xx:xx + tile + PATCH - 1])
                out[y:y + tile, xx:xx + tile] = torch.softmax(logits, 1)[0, 0].numpy()
    return out[:h, :w]


def save_state(net, path):
    tmp = path + ".tmp"
    torch.save(net.state_dict(), tmp)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=default_data())
    ap.add_argument("--out", default=os.path.join(REPO, "tools", "isbi-n4.pt"))
    ap.add_argument("--minutes", type=float, default=55.0, help="wall-clock training budget")
    ap.add_argument("--epochs", type=float, default=0.0,
                    help="stop after this many epochs (labelled pixels / training pixels); 0 = time only")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val", default="18,19", help="held-out slices")
    ap.add_argument("--tile", type=int, default=128, help="output tile T (multiple of 16)")
    ap.add_argument("--batch", type=int, default=1, help="tiles per step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--balance", type=float, default=0.5,
                    help="class weight ~ freq^-BALANCE (0 none, 1 full balance)")
    ap.add_argument("--dense", choices=sorted(DENSE), default="fragments")
    ap.add_argument("--seed", type=int, default=2012)
    ap.add_argument("--save-every", type=float, default=5.0, help="minutes between checkpoints")
    ap.add_argument("--val-every", type=float, default=15.0, help="minutes between validations (0 = end only)")
    ap.add_argument("--init", help="start from this state_dict")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)

    print("shapes:", " ".join("%s%s" % (n, s[1:]) for n, s in patch_shapes()), flush=True)
    net = init_net(make_net())
    if args.init:
        net.load_state_dict(torch.load(args.init))
    chk = dense_check(net)
    print("dense check (max |dense - patch net| on a 16x16 tile): %s" % chk, flush=True)
    if max(chk.values()) > 1e-5:
        sys.exit("dense formulation differs from the patch classifier")

    val = [int(s) for s in args.val.split(",") if s != ""]
    train = [n for n in range(20) if n not in val]
    imgs, labs = [], []
    for n in train:
        img, lab = load_slice(args.data, n)
        imgs.append(to_input(mirror_pad(img))[0, 0].numpy())
        labs.append(lab)
    imgs = np.stack(imgs)
    labs = np.stack(labs)
    freq = np.array([(labs == 0).mean(), (labs == 1).mean()])
    cw = freq ** -args.balance
    cw = cw / (cw * freq).sum()  # mean weight per pixel = 1
    print("train slices %s, val slices %s, membrane fraction %.4f, class weights %s"
          % (train, val, freq[0], np.round(cw, 4).tolist()), flush=True)
    weight = torch.tensor(cw, dtype=torch.float32)
    vals = [load_slice(args.data, n) for n in val]

    T = args.tile
    S = T + PATCH - 1
    H, W = labs.shape[1:]
    f = DENSE[args.dense]
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    budget = args.minutes * 60.0
    total_px = labs.size
    t0 = time.time()
    last_log = last_save = last_val = t0
    step = 0
    seen = 0
    run_loss = run_err = run_n = 0.0

    def validate():
        net.eval()
        res = []
        for n, (img, lab) in zip(val, vals):
            p = dense_map(net, img, dense=args.dense)
            res.append(((p < 0.5).astype(np.int64) != lab).mean())
        net.train()
        return res

    while True:
        el = time.time() - t0
        if el >= budget or (args.epochs and seen >= args.epochs * total_px):
            break
        lr = args.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, el / budget)))
        if args.epochs:
            lr = args.lr * 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(el / budget, seen / (args.epochs * total_px)))))
        for g in opt.param_groups:
            g["lr"] = lr
        xb = np.empty((args.batch, 1, S, S), np.float32)
        yb = np.empty((args.batch, T, T), np.int64)
        for b in range(args.batch):
            k = rng.randint(len(train))
            y0 = rng.randint(H - T + 1)
            x0 = rng.randint(W - T + 1)
            xi = imgs[k, y0:y0 + S, x0:x0 + S]  # padded coords: top-left of output (y0, x0)
            yi = labs[k, y0:y0 + T, x0:x0 + T]
            r = rng.randint(4)
            xi, yi = np.rot90(xi, r), np.rot90(yi, r)
            if rng.randint(2):
                xi, yi = xi[:, ::-1], yi[:, ::-1]
            xb[b, 0] = xi
            yb[b] = yi
        xt = torch.from_numpy(xb)
        yt = torch.from_numpy(yb)
        logits = f(net, xt)
        loss = F.cross_entropy(logits, yt, weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        seen += yb.size
        with torch.no_grad():
            run_err += (logits.argmax(1) != yt).float().mean().item()
        run_loss += loss.item()
        run_n += 1
        now = time.time()
        if now - last_log >= 30 or step == 1:
            print("step %6d  epoch %6.3f  loss %.4f  train-err %.4f  lr %.2e  %7.1f s  %.0f px/s"
                  % (step, seen / total_px, run_loss / run_n, run_err / run_n, lr, now - t0,
                     seen / (now - t0)), flush=True)
            run_loss = run_err = run_n = 0.0
            last_log = now
        if now - last_save >= args.save_every * 60:
            save_state(net, args.out)
            print("checkpoint %s (step %d, %.1f min)" % (args.out, step, (now - t0) / 60), flush=True)
            last_save = now
        if args.val_every and now - last_val >= args.val_every * 60:
            tv = time.time()
            res = validate()
            print("validation pixel error %s (%.1f s)" % (" ".join("%d:%.4f" % p for p in zip(val, res)),
                                                         time.time() - tv), flush=True)
            last_val = time.time()
    save_state(net, args.out)
    el = time.time() - t0
    print("done: %d steps, %.3f epochs, %.1f min; saved %s" % (step, seen / total_px, el / 60, args.out), flush=True)
    if val:
        res = validate()
        print("final validation pixel error %s mean %.4f"
              % (" ".join("%d:%.4f" % p for p in zip(val, res)), float(np.mean(res))), flush=True)
    print("total wall %.1f min" % ((time.time() - t0) / 60), flush=True)


if __name__ == "__main__":
    main()
