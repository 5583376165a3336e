#!/bin/sh
# Tests the demo script tools/demo.sh (make demo) without the ISBI data or the trained
# model: a small random-weight model and small generated images (never the ISBI slices).
# Run from the repository root; prints "PASS: name", "FAIL: name: why" or "SKIP: name: why"
# per case (tests/run.sh). Needs $PYTHON with numpy (default /usr/bin/python3).
. tests/lib/lib.sh

if [ ! -x "$FCN" ]; then
    fail demo-build "$FCN not found (run make)"
    exit 1
fi
if ! "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then
    skip demo "no numpy in $PYTHON"
    exit 0
fi

"$PYTHON" - "$T" <<'PYEOF'
import struct, sys, zlib
import numpy as np
d = sys.argv[1]

sys.path.insert(0, 'tests/lib')
from pyhelp import write_png

def png(path, a):
    a = np.ascontiguousarray(a, np.uint8)
    write_png(path, a.shape[1], a.shape[0], 1, a.tobytes())

import os
for sub in ('data/test-images', 'data/train-images', 'data/train-labels', 'nolabels/test-images', 'empty'):
    os.makedirs(os.path.join(d, sub))
rng = np.random.default_rng(5)
y, x = np.mgrid[:64, :48]
cells = np.where((y % 16 == 0) | (x % 12 == 0), 40, 200)      # a membrane grid
png(d + '/data/test-images/0.png', cells + rng.integers(0, 40, cells.shape))
png(d + '/nolabels/test-images/0.png', cells + rng.integers(0, 40, cells.shape))
png(d + '/data/train-images/19.png', cells + rng.integers(0, 40, cells.shape))
png(d + '/data/train-labels/19.png', np.where(cells < 128, 0, 255))
png(d + '/other.png', rng.integers(0, 256, (20, 30)))
# a small net of the ISBI kind: 11x11 grey patch, 2 classes
head = b'fcn-model 1\ninput 11 11 1\nscale 0.00392156886\nconv 4 4 4\nrelu\nmaxpool 2 2\nfc 2\nsoftmax\n'
w = (rng.standard_normal(4 * 16 + 4 + 2 * 64 + 2) * 0.5).astype('<f4').tobytes()
crc = zlib.crc32(w, zlib.crc32(head)) & 0xffffffff
open(d + '/small.fcn', 'wb').write(head + b'weights %d crc32 %08x\n' % (len(w), crc) + w)
PYEOF

# demo NAME [VAR=VALUE...]: runs the demo with the small model into $T/out
demo() {
    name=$1
    shift
    rm -rf "$T/out"
    env BUILD="$BUILD" MODEL="$T/small.fcn" FCN_DEMO_OUT="$T/out" FCN_DEMO_MIN_S=0 "$@" sh tools/demo.sh \
        >"$T/stdout" 2>"$T/stderr"
}
# has NAME FILE PATTERN...: FILE has a line matching each extended regular expression
has() {
    name=$1 file=$2
    shift 2
    for pat in "$@"; do
        if ! grep -qE -- "$pat" "$file"; then
            fail "$name" "no line matching /$pat/ in: $(head -c 600 "$file")"
            return 1
        fi
    done
    pass "$name"
}

# ---- no data: the clear message, exit 1 ---------------------------------------------------
demo demo-no-data FCN_DATA="$T/empty"
rc=$?
if [ $rc -ne 1 ]; then fail demo-no-data-exit "exit status $rc, expected 1"; else pass demo-no-data-exit; fi
has demo-no-data-message "$T/stderr" "ISBI 2012 data was not found" "test-images/0.png in" "FCN_DATA=$T/empty" \
    "train-volume.tif" "test-volume.tif" "zhixuhao/unet" "DIR/test-images/0.png" "DIR/train-labels/19.png" \
    "make demo FCN_DATA=DIR"
if [ -e "$T/out/demo-map.png" ]; then fail demo-no-data-no-output "wrote a map anyway"; else pass demo-no-data-no-output; fi

# ---- no model: exit 1 -------------------------------------------------------------------------
demo demo-no-model FCN_DATA="$T/data" MODEL="$T/nothere.fcn"
rc=$?
if [ $rc -eq 1 ] && grep -q "model $T/nothere.fcn not found" "$T/stderr"; then pass demo-no-model
else fail demo-no-model "exit status $rc: $(cat "$T/stderr")"; fi

# ---- a fake data folder: map, sliding timing, held-out slice scored ---------------------------
if demo demo-runs FCN_DATA="$T/data"; then
    pass demo-runs
    has demo-output "$T/stdout" "^demo: model .*small\.fcn, ISBI 2012 test slice 0" \
        "^dense path: .*image 64x48x1 -> map 64x48x2, dense path.*GFLOP/s" "demo-map\.png: P\(non-membrane\)" \
        "^sliding window: .*sliding path.*GFLOP/s" "equal to the dense map's, bit for bit" \
        "whole 64x48 image would take.*sliding window|too fast to time" "with the dense path: [0-9]+x faster|too fast to time" "arithmetic, fcn info: sliding" "speed: dense [0-9.]+ GFLOP/s, sliding [0-9.]+ GFLOP/s" \
        "^held-out train slice 19" "pixel_error 0\.[0-9]{6}  rand_error [01]\.[0-9]{6}  \(64 x 48, [0-9]+ membrane pixels"
    if [ -f "$T/out/demo-map.png" ] && [ -f "$T/out/demo-19-map.png" ]; then
        s=$("$PYTHON" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(26); print(*struct.unpack(">IIBB", d[16:26]))' \
            "$T/out/demo-map.png")
        if [ "$s" = "48 64 8 0" ]; then pass demo-map-png; else fail demo-map-png "PNG is '$s' (W H depth colour)"; fi
    else
        fail demo-map-png "no demo-map.png or demo-19-map.png in $T/out: $(ls "$T/out")"
    fi
    # the PNG is class 1 of the map: what fcn map -o --class 1 writes
    "$FCN" map "$T/small.fcn" "$T/data/test-images/0.png" -o "$T/c1.png" --class 1 -q
    if cmp -s "$T/c1.png" "$T/out/demo-map.png"; then pass demo-map-is-class-1; else fail demo-map-is-class-1 "differs from fcn map --class 1"; fi
    leftover=
    for f in "$T"/out/*; do
        case ${f##*/} in demo-map.png | demo-19-map.png) ;; *) leftover="$leftover ${f##*/}" ;; esac
    done
    if [ -z "$leftover" ]; then pass demo-cleans-up; else fail demo-cleans-up "left in the output folder:$leftover"; fi
else
    fail demo-runs "exit status $?: $(cat "$T/stderr")"
fi

# ---- no labels: the held-out slice is skipped; FCN_DEMO_IMAGE maps another image -------------
if demo demo-no-labels FCN_DATA="$T/nolabels"; then
    has demo-no-labels "$T/stdout" "no labelled slice 19" "bit for bit"
else
    fail demo-no-labels "exit status $?: $(cat "$T/stderr")"
fi
if demo demo-image FCN_DATA="$T/empty" FCN_DEMO_IMAGE="$T/other.png"; then
    has demo-image "$T/stdout" "image 20x30x1 -> map 20x30x2" "bit for bit"
    if grep -q "held-out" "$T/stdout"; then fail demo-image-no-eval "scored a held-out slice with FCN_DEMO_IMAGE"
    else pass demo-image-no-eval; fi
else
    fail demo-image "exit status $?: $(cat "$T/stderr")"
fi
exit 0
