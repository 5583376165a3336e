#!/bin/sh
# Tests `fcn eval` (pixel and Rand error) and `fcn map --tta` of the command-line tool
# $BUILD/fcn (cli/fcn.c). Run from the repository root; prints "PASS: name",
# "FAIL: name: why" or "SKIP: name: why" per case (tests/run.sh). Needs $PYTHON with numpy
# (default /usr/bin/python3) to write the tiny maps and labels; without it, skips.
#
# The hand-worked answers (fcn eval's definitions, see fcn --help):
#   membrane predicted iff p >= 0.5 (p = map class 0), true iff label < 128;
#   pixel error = wrong pixels / all pixels;
#   Rand: over the pixels that are non-membrane in the labels, n_ij = pixels in label
#   segment i and predicted segment j (4-connected non-membrane components; every
#   predicted-membrane pixel its own singleton segment), s_i = sum_j n_ij, t_j = sum_i n_ij,
#   V = 2 sum n^2 / (sum s^2 + sum t^2) (= 2 / (1/split + 1/merge)), error = 1 - V.
. tests/lib/lib.sh

if [ ! -x "$FCN" ]; then
    fail eval-build "$FCN not found (run make)"
    exit 1
fi
if ! "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then
    skip eval "no numpy in $PYTHON"
    exit 0
fi

# ev NAME WANT MAP LABELS [OPTIONS...]: fcn eval prints WANT (the line's start, up to the
# membrane count's parenthesis: "pixel_error E  rand_error R  (H x W, N membrane").
ev() {
    name=$1 want=$2
    shift 2
    if ! "$FCN" eval "$@" >"$T/out" 2>"$T/err"; then
        fail "$name" "exit status $?: $(head -c 300 "$T/err")"
    elif [ "$(wc -l <"$T/out")" -ne 1 ] || ! grep -q "^$want pixels in labels; Rand split" "$T/out"; then
        fail "$name" "expected '$want pixels in labels; ...', got: $(cat "$T/out")"
    else
        pass "$name"
    fi
}

py() { "$PYTHON" "$T/helper.py" "$@"; }

cat >"$T/helper.py" <<'PYEOF'
import struct, sys, zlib
import numpy as np

def pgm(path, a):
    a = np.asarray(a, np.uint8)
    with open(path, 'wb') as f:
        f.write(b'P5\n%d %d\n255\n' % (a.shape[1], a.shape[0]) + a.tobytes())

sys.path.insert(0, 'tests/lib')
from pyhelp import write_model, write_png

def png(path, a):
    a = np.ascontiguousarray(a, np.uint8)
    write_png(path, a.shape[1], a.shape[0], 1, a.tobytes())

def two(p):
    """(H, W, 2) map: class 0 = p (membrane), class 1 = 1 - p."""
    p = np.asarray(p, np.float32)
    return np.stack([p, np.float32(1) - p], axis=-1)

def components(mask):
    """4-connected components by flood fill: dict pixel -> component number."""
    h, w = mask.shape
    lab, n = {}, 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] and (y, x) not in lab:
                stack = [(y, x)]
                lab[(y, x)] = n
                while stack:
                    a, b = stack.pop()
                    for c, d in ((a - 1, b), (a + 1, b), (a, b - 1), (a, b + 1)):
                        if 0 <= c < h and 0 <= d < w and mask[c, d] and (c, d) not in lab:
                            lab[(c, d)] = n
                            stack.append((c, d))
                n += 1
    return lab

def reference(p, labels):
    """An independent reading of the definitions: dictionaries, split and merge scores."""
    pm, tm = p >= 0.5, labels < 128
    pix = float((pm != tm).mean())
    g, q = components(~tm), components(~pm)
    nij, s, t = {}, {}, {}
    for (y, x), i in g.items():
        j = q.get((y, x), ('single', y, x))
        nij[(i, j)] = nij.get((i, j), 0) + 1
        s[i] = s.get(i, 0) + 1
        t[j] = t.get(j, 0) + 1
    sn = sum(v * v for v in nij.values())
    split = sn / sum(v * v for v in s.values())
    merge = sn / sum(v * v for v in t.values())
    return pix, 1 - 2 / (1 / split + 1 / merge)

def tf(a, t):
    """Transform t of fcn map --tta: transpose if t & 4, then flip rows if t & 1, columns if t & 2."""
    if t & 4: a = a.transpose((1, 0) + tuple(range(2, a.ndim)))
    if t & 1: a = a[::-1]
    if t & 2: a = a[:, ::-1]
    return np.ascontiguousarray(a)

def untf(a, t):
    if t & 2: a = a[:, ::-1]
    if t & 1: a = a[::-1]
    if t & 4: a = a.transpose((1, 0) + tuple(range(2, a.ndim)))
    return np.ascontiguousarray(a)

def model(path, header, nfloats, seed):
    write_model(path, header, (np.random.default_rng(int(seed)).standard_normal(int(nfloats)) * 0.5).astype('<f4').tobytes())

def main(a):
    d = a[1] if len(a) > 1 else '.'
    cmd = a[0]
    if cmd == 'cases':
        # A: 4x4, row 1 membrane. Label segments: row 0 (4 px), rows 2-3 (8 px); 12 fg px.
        la = np.full((4, 4), 255); la[1] = 0
        pgm(d + '/a.pgm', la)
        png(d + '/a.png', la)
        np.save(d + '/a-labels.npy', la.astype(np.uint8))
        pa = np.where(la < 128, 1.0, 0.0)
        np.save(d + '/a-perfect.npy', two(pa))
        np.save(d + '/a-perfect-hw.npy', pa.astype(np.float32))             # shape (H, W)
        np.save(d + '/a-perfect-c1.npy', two(pa)[:, :, ::-1].copy())        # membrane in class 1
        np.save(d + '/a-perfect-u8.npy', pa.astype(np.uint8))               # refused: not float32
        # B: A with pixel (3,3) predicted membrane (p = 0.9)
        pb = pa.copy(); pb[3, 3] = 0.9
        np.save(d + '/b-flip.npy', two(pb))
        # C: 5x5, column 2 membrane: segments left (10 px) and right (10 px); the prediction
        # has no membrane at all, so both are one predicted segment
        lc = np.full((5, 5), 255); lc[:, 2] = 0
        pgm(d + '/c.pgm', lc)
        np.save(d + '/c-merge.npy', two(np.full((5, 5), 0.1)))
        # D: 5x5 all interior (one segment of 25); the prediction puts a membrane on row 2
        ld = np.full((5, 5), 255)
        pgm(d + '/d.pgm', ld)
        pd = np.zeros((5, 5)); pd[2] = 0.8
        np.save(d + '/d-split.npy', two(pd))
        # E: 4x4 all interior; p = 0.5 exactly at (0,0), the float below 0.5 at (0,1)
        le = np.full((4, 4), 255)
        pgm(d + '/e.pgm', le)
        pe = np.zeros((4, 4), np.float32); pe[0, 0] = 0.5; pe[0, 1] = np.nextafter(np.float32(0.5), np.float32(0))
        np.save(d + '/e-tie.npy', two(pe))
        # F: all membrane labels (no foreground: the Rand error is 0/0)
        pgm(d + '/f.pgm', np.zeros((4, 4)))
        pgm(d + '/g5.pgm', np.full((5, 5), 255))
        return 0
    if cmd == 'random':  # DIR SEED: a 40x40 random map and labels, and the reference line
        rng = np.random.default_rng(int(a[2]))
        y, x = np.mgrid[:40, :40]
        mem = (y % 9 == 0) | (x % 11 == 0)                  # cells on a grid
        mem ^= rng.random((40, 40)) < 0.04                  # and some noise
        lab = np.where(mem, 0, 255)
        p = np.where(mem, 0.8, 0.2).astype(np.float32)      # the labels, with 15% random
        k = rng.random((40, 40)) < 0.15
        p[k] = rng.random(int(k.sum())).astype(np.float32)
        p[0, 1] = 0.5                                       # a tie
        pgm(d + '/r.pgm', lab)
        np.save(d + '/r.npy', two(p))
        pix, re = reference(p, lab)
        print('pixel_error %.6f  rand_error %.6f' % (pix, re))
        return 0
    if cmd == 'model':
        model(a[1], a[2], a[3], a[4])
        return 0
    if cmd == 'image':  # OUT H W C SEED
        rng = np.random.default_rng(int(a[5]))
        np.save(a[1], (rng.random((int(a[2]), int(a[3]), int(a[4]))) * 255).astype(np.float32))
        return 0
    if cmd == 'tf':  # IN T OUT: transform t of an image
        np.save(a[3], tf(np.load(a[1]), int(a[2])))
        return 0
    if cmd == 'mean':  # OUT M0 .. M7: the 8 maps mapped back, added in order t = 0..7, / 8
        acc = None
        for t in range(8):
            m = untf(np.load(a[2 + t]), t)
            acc = m if acc is None else (acc + m).astype(np.float32)
        np.save(a[1], (acc / np.float32(8)).astype(np.float32))
        return 0
    if cmd == 'same':  # A B [X Y W H]: B == A (or A's crop) bit for bit
        x, y = np.load(a[1]), np.load(a[2])
        if len(a) > 3:
            c0, r0, w, h = map(int, a[3:7])
            x = x[r0:r0 + h, c0:c0 + w]
        if x.shape != y.shape or x.tobytes() != y.tobytes():
            print('differ: shapes %s %s, max |diff| %s' % (x.shape, y.shape,
                  np.abs(x - y).max() if x.shape == y.shape else '-'))
            return 1
        return 0
    raise SystemExit('unknown helper command ' + cmd)

sys.exit(main(sys.argv[1:]))
PYEOF

py cases "$T"

# ---- hand-worked cases --------------------------------------------------------------------
# A, perfect: no wrong pixel; each label segment is exactly one predicted segment.
ev eval-perfect 'pixel_error 0.000000  rand_error 0.000000  (4 x 4, 4 membrane' "$T/a-perfect.npy" "$T/a.pgm"
ev eval-perfect-png-labels 'pixel_error 0.000000  rand_error 0.000000  (4 x 4, 4 membrane' "$T/a-perfect.npy" "$T/a.png"
ev eval-perfect-npy-labels 'pixel_error 0.000000  rand_error 0.000000  (4 x 4, 4 membrane' "$T/a-perfect.npy" "$T/a-labels.npy"
ev eval-map-hw 'pixel_error 0.000000  rand_error 0.000000  (4 x 4, 4 membrane' "$T/a-perfect-hw.npy" "$T/a.pgm"
ev eval-class-1 'pixel_error 0.000000  rand_error 0.000000  (4 x 4, 4 membrane' "$T/a-perfect-c1.npy" "$T/a.pgm" --class 1
# B, one flipped pixel (3,3): pixel error 1/16 = 0.0625. Rand: n = {row0: 4, rows2-3: 7,
# the singleton (3,3): 1}; sum n^2 = 16 + 49 + 1 = 66; label sizes 4, 8: sum s^2 = 80;
# predicted sizes 4, 7, 1: sum t^2 = 66. V = 132 / 146, error = 14/146 = 0.0958904.
ev eval-one-flipped 'pixel_error 0.062500  rand_error 0.095890  (4 x 4, 4 membrane' "$T/b-flip.npy" "$T/a.pgm"
if grep -q 'Rand split 0.825000, merge 1.000000)' "$T/out"; then pass eval-one-flipped-split-merge
else fail eval-one-flipped-split-merge "expected split 66/80 = 0.825, merge 1: $(cat "$T/out")"; fi
# C, merge: pixel error 5/25 = 0.2 (the membrane column). Rand: n = {left: 10, right: 10}
# in one predicted segment of 20: sum n^2 = 200, sum s^2 = 100 + 100 = 200,
# sum t^2 = 400; split 1, merge 0.5, V = 400/600, error 1/3.
ev eval-merge 'pixel_error 0.200000  rand_error 0.333333  (5 x 5, 5 membrane' "$T/c-merge.npy" "$T/c.pgm"
if grep -q 'Rand split 1.000000, merge 0.500000)' "$T/out"; then pass eval-merge-split-merge
else fail eval-merge-split-merge "expected split 1, merge 0.5: $(cat "$T/out")"; fi
# D, split: pixel error 5/25 = 0.2. Rand: one label segment of 25; predicted rows 0-1
# (10), rows 3-4 (10) and 5 singletons on row 2: sum n^2 = 100 + 100 + 5 = 205,
# sum s^2 = 625, sum t^2 = 205; split 205/625 = 0.328, merge 1; V = 410/830,
# error = 420/830 = 0.5060241.
ev eval-split 'pixel_error 0.200000  rand_error 0.506024  (5 x 5, 0 membrane' "$T/d-split.npy" "$T/d.pgm"
if grep -q 'Rand split 0.328000, merge 1.000000)' "$T/out"; then pass eval-split-split-merge
else fail eval-split-split-merge "expected split 0.328, merge 1: $(cat "$T/out")"; fi
# E, the tie: p = 0.5 is membrane, the float just below is not. Pixel error 1/16; Rand:
# singleton (0,0) and one segment of 15: sum n^2 = 225 + 1 = 226 = sum t^2, sum s^2 = 256;
# V = 452/482, error = 30/482 = 0.0622407. With --threshold 0.6 nothing is membrane: 0, 0.
ev eval-tie-half-is-membrane 'pixel_error 0.062500  rand_error 0.062241  (4 x 4, 0 membrane' "$T/e-tie.npy" "$T/e.pgm"
ev eval-threshold 'pixel_error 0.000000  rand_error 0.000000  (4 x 4, 0 membrane' "$T/e-tie.npy" "$T/e.pgm" --threshold 0.6
# F: labels all membrane, the prediction all non-membrane: pixel error 1; Rand 0/0 = nan.
ev eval-no-foreground 'pixel_error 1.000000  rand_error nan  (4 x 4, 16 membrane' "$T/e-tie.npy" "$T/f.pgm" --threshold 2

# ---- an independent reference (python dictionaries) on random 40x40 slices ---------------
for seed in 1 2 3; do
    want=$(py random "$T" $seed)
    got=$("$FCN" eval "$T/r.npy" "$T/r.pgm" 2>&1 | sed 's/  (.*//')
    if [ "$got" = "$want" ]; then pass "eval-random-$seed"; else fail "eval-random-$seed" "fcn: '$got', python: '$want'"; fi
done

# ---- errors -------------------------------------------------------------------------------
expect eval-usage-no-args 2 "needs MAP.npy and LABELS" "$FCN" eval
expect eval-usage-one-arg 2 "needs MAP.npy and LABELS" "$FCN" eval "$T/a-perfect.npy"
expect eval-usage-extra 2 "unexpected argument" "$FCN" eval "$T/a-perfect.npy" "$T/a.pgm" extra
expect eval-usage-bad-threshold 2 "--threshold" "$FCN" eval "$T/a-perfect.npy" "$T/a.pgm" --threshold half
expect eval-usage-unknown-option 2 "unknown option" "$FCN" eval "$T/a-perfect.npy" "$T/a.pgm" --fast
expect eval-sizes-differ 1 "sizes differ" "$FCN" eval "$T/a-perfect.npy" "$T/g5.pgm"
expect eval-missing-map 1 "nothere\.npy: cannot open" "$FCN" eval "$T/nothere.npy" "$T/a.pgm"
expect eval-missing-labels 1 "nothere\.pgm: cannot open" "$FCN" eval "$T/a-perfect.npy" "$T/nothere.pgm"
expect eval-map-not-float32 1 "float32" "$FCN" eval "$T/a-perfect-u8.npy" "$T/a.pgm"
expect eval-map-png-refused 1 "float32" "$FCN" eval "$T/a.png" "$T/a.pgm"
expect eval-class-out-of-range 1 "--class 2" "$FCN" eval "$T/a-perfect.npy" "$T/a.pgm" --class 2
echo "garbage" >"$T/garbage.png"
expect eval-garbage-labels 1 "garbage\.png: cannot decode" "$FCN" eval "$T/a-perfect.npy" "$T/garbage.png"
"$FCN" --help >"$T/out" 2>&1
if grep -q 'fcn eval' "$T/out" && grep -q 'p = 0.5 exactly' "$T/out" && grep -q 'singleton' "$T/out"; then
    pass eval-help
else
    fail eval-help "--help does not document eval's tie and singleton rules"
fi

# ---- fcn map --tta: the mean of the 8 transformed maps, in the documented order -----------
# A 5x5 patch net with a pool; a 9x7 image (not square, so the transposes matter).
py model "$T/n5.fcn" 'fcn-model 1\ninput 5 5 2\nconv 3 3 3\nrelu\nmaxpool 2 2 stride 1\nfc 2\nsoftmax' 83 7
py image "$T/img.npy" 9 7 2 11
ok=1
for t in 0 1 2 3 4 5 6 7; do
    if ! py tf "$T/img.npy" $t "$T/img$t.npy" || ! "$FCN" map "$T/n5.fcn" "$T/img$t.npy" --npy "$T/m$t.npy" -q 2>"$T/err"
    then
        ok=0
        break
    fi
done
if [ $ok = 1 ] && py mean "$T/want.npy" "$T"/m0.npy "$T"/m1.npy "$T"/m2.npy "$T"/m3.npy "$T"/m4.npy "$T"/m5.npy \
    "$T"/m6.npy "$T"/m7.npy; then
    for p in dense sliding; do
        if ! "$FCN" map "$T/n5.fcn" "$T/img.npy" --tta --path $p --npy "$T/tta-$p.npy" -q 2>"$T/err"; then
            fail "tta-$p" "$(cat "$T/err")"
        elif why=$(py same "$T/want.npy" "$T/tta-$p.npy"); then pass "tta-$p"
        else fail "tta-$p" "$why"; fi
    done
    if "$FCN" map "$T/n5.fcn" "$T/img.npy" --tta --rect 1,2,4,5 --npy "$T/tta-rect.npy" -q 2>"$T/err" &&
        why=$(py same "$T/want.npy" "$T/tta-rect.npy" 1 2 4 5); then pass tta-rect
    else fail tta-rect "$(cat "$T/err") ${why:-}"; fi
else
    fail tta-reference "could not map the transformed images: $(cat "$T/err")"
fi
# valid border with an even patch lines up; mirror with an even patch does not
py model "$T/n4.fcn" 'fcn-model 1\ninput 4 4 2\nconv 2 4 4\nsoftmax' 66 8
ok=1
for t in 0 1 2 3 4 5 6 7; do
    "$FCN" map "$T/n4.fcn" "$T/img$t.npy" --border valid --npy "$T/v$t.npy" -q 2>"$T/err" || { ok=0; break; }
done
if [ $ok = 1 ] && py mean "$T/wantv.npy" "$T"/v0.npy "$T"/v1.npy "$T"/v2.npy "$T"/v3.npy "$T"/v4.npy "$T"/v5.npy \
    "$T"/v6.npy "$T"/v7.npy && "$FCN" map "$T/n4.fcn" "$T/img.npy" --tta --border valid --npy "$T/tta-v.npy" -q 2>"$T/err" &&
    why=$(py same "$T/wantv.npy" "$T/tta-v.npy"); then
    pass tta-valid-even-patch
else
    fail tta-valid-even-patch "$(cat "$T/err") ${why:-}"
fi
expect tta-even-patch-mirror-refused 1 "square patch, of odd side" "$FCN" map "$T/n4.fcn" "$T/img.npy" --tta --npy "$T/x.npy"
expect tta-stride-refused 1 "stride 1" "$FCN" map "$T/n5.fcn" "$T/img.npy" --tta --stride 2 --npy "$T/x.npy"
"$FCN" map "$T/n5.fcn" "$T/img.npy" --tta --npy "$T/x.npy" >"$T/out" 2>&1
if grep -q 'tta 8 passes' "$T/out"; then pass tta-summary; else fail tta-summary "$(cat "$T/out")"; fi
exit 0
