#!/bin/sh
# The demo (make demo): the trained ISBI 2012 membrane network applied at every pixel of
# an EM slice with fcn.h's dense path, against the sliding window's time for the same
# image, and scored on a held-out labelled slice.
#
#   sh tools/demo.sh          (run from anywhere; make demo builds build/fcn first)
#
# It maps test-images/$FCN_DEMO_SLICE.png (default 0) of the ISBI 2012 data to
# $FCN_DEMO_OUT/demo-map.png (default build/), P(non-membrane) * 255, so that membranes
# are dark as in the labels; times the sliding window on a few pixels of the middle rows
# (one row per CPU, widened until it takes a second, and checked to be bit for bit the
# dense map's pixels) and extrapolates to the whole image; then, where the labels are
# there, maps train slice $FCN_DEMO_HELDOUT (default 19, held out from training; empty:
# skip) and prints its pixel and Rand error (fcn eval).
#
# Environment: FCN (default $BUILD/fcn), BUILD (default build), MODEL (default
# models/isbi-n4.fcn), FCN_DATA (the data folder; default ../shared/data/isbi2012 next
# to the repository), FCN_DEMO_IMAGE (map this image instead of a test slice),
# FCN_DEMO_SLICE, FCN_DEMO_HELDOUT, FCN_DEMO_OUT, FCN_DEMO_MIN_S (the sliding
# measurement's least duration, default 1 second).
# Exit status: 0 done; 1 something is missing (data, model, build/fcn) or failed.
set -u
# the repository root, as a prefix of the default paths ("" when it is the current folder)
R=$(cd "$(dirname "$0")/.." && pwd) || exit 1
if [ "$R" = "$(pwd)" ]; then R=""; else R="$R/"; fi
BUILD=${BUILD:-${R}build}
FCN=${FCN:-$BUILD/fcn}
MODEL=${MODEL:-${R}models/isbi-n4.fcn}
OUT=${FCN_DEMO_OUT:-$BUILD}
SLICE=${FCN_DEMO_SLICE:-0}
HELDOUT=${FCN_DEMO_HELDOUT-19}
MIN_S=${FCN_DEMO_MIN_S:-1}
if [ -n "${FCN_DATA:-}" ]; then
    DATA=$FCN_DATA
    where="FCN_DATA=$FCN_DATA"
else
    DATA=${R}../shared/data/isbi2012
    where="$DATA (the default: ../shared/data/isbi2012 next to the repository; FCN_DATA is not set)"
fi

die() {
    echo "demo: $*" >&2
    exit 1
}

[ -x "$FCN" ] || die "$FCN not found: build it first (make $BUILD/fcn, or make demo)"

if [ -n "${FCN_DEMO_IMAGE:-}" ]; then
    IMG=$FCN_DEMO_IMAGE
    [ -f "$IMG" ] || die "FCN_DEMO_IMAGE=$IMG: no such file"
    what="image $IMG"
else
    IMG=$DATA/test-images/$SLICE.png
    what="ISBI 2012 test slice $SLICE ($IMG)"
    if [ ! -f "$IMG" ]; then
        cat >&2 <<EOF
demo: the ISBI 2012 data was not found: there is no test-images/$SLICE.png in
  $where.
Get the ISBI 2012 EM segmentation data (challenge "Segmentation of neuronal structures in
EM stacks"; Cardona et al. 2010, Arganda-Carreras et al. 2015), either
  - the challenge's volumes train-volume.tif, train-labels.tif and test-volume.tif
    (30 slices each, 512x512, 8-bit grey; http://brainiac2.mit.edu/isbi_challenge/),
    saved as one PNG per slice named 0.png, 1.png, ... (e.g. Fiji's File > Save As >
    Image Sequence, format PNG, then rename the files); or
  - any copy of the slices as PNGs, e.g. the folder data/membrane of the U-Net
    repository https://github.com/zhixuhao/unet (train/image -> train-images,
    train/label -> train-labels, test -> test-images).
and put them in a folder laid out as
  DIR/test-images/0.png .. 29.png     512x512 8-bit grey slices to map (slice $SLICE is used)
  DIR/train-images/19.png             optional: a labelled slice held out from training,
  DIR/train-labels/19.png               scored with fcn eval (label 0 = membrane, 255 = cell)
then run: make demo FCN_DATA=DIR   (or put DIR at ../shared/data/isbi2012).
EOF
        exit 1
    fi
fi

[ -f "$MODEL" ] || die "model $MODEL not found (the trained ISBI 2012 membrane network is models/isbi-n4.fcn;
  another model: make demo MODEL=path/to/model.fcn)"
mkdir -p "$OUT" || die "cannot create $OUT"

# the summary line of fcn map: "...: image HxWxC -> map ..., N threads: T s, F FLOP, G GFLOP/s"
field_time() { sed -n 's/.* threads*: \([0-9.]*\) s, .*/\1/p'; }
field_rate() { sed -n 's/.*, \([0-9.]*\) GFLOP\/s$/\1/p'; }
field_size() { sed -n 's/.* image \([0-9]*\)x\([0-9]*\)x[0-9]* -> .*/\1 \2/p'; }

echo "demo: model $MODEL, $what"
line=$("$FCN" map "$MODEL" "$IMG" -o "$OUT/demo-map.png" --class 1 2>"$OUT/demo.err") ||
    die "fcn map failed: $(cat "$OUT/demo.err")"
echo "dense path:     $line"
echo "                wrote $OUT/demo-map.png: P(non-membrane) * 255 (class 1), membranes dark as in the labels"
td=$(echo "$line" | field_time)
# shellcheck disable=SC2046 # split "H W" into $1 $2 on purpose
set -- $(echo "$line" | field_size)
{ [ $# -eq 2 ] && [ -n "$td" ]; } || die "cannot read the summary line of fcn map: $line"
H=$1 W=$2

# The sliding window on R rows (one per CPU: the sliding path gives each thread rows) of
# n pixels in the middle of the image, n x 4 until it takes MIN_S seconds or n = W.
R=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
[ "$R" -ge 1 ] 2>/dev/null || R=1
[ "$R" -gt "$H" ] && R=$H
n=2
while :; do
    [ "$n" -gt "$W" ] && n=$W
    x0=$(((W - n) / 2)) y0=$(((H - R) / 2))
    rect=$x0,$y0,$n,$R
    sline=$("$FCN" map "$MODEL" "$IMG" --path sliding --rect "$rect" --npy "$OUT/demo-sliding.npy" 2>"$OUT/demo.err") ||
        die "fcn map --path sliding failed: $(cat "$OUT/demo.err")"
    ts=$(echo "$sline" | field_time)
    [ -n "$ts" ] || die "cannot read the summary line of fcn map: $sline"
    if [ "$n" -ge "$W" ] || awk -v t="$ts" -v m="$MIN_S" 'BEGIN { exit !(t >= m) }'; then break; fi
    n=$((n * 4))
done
echo "sliding window: $sline"
"$FCN" map "$MODEL" "$IMG" --rect "$rect" --npy "$OUT/demo-dense-rect.npy" -q 2>"$OUT/demo.err" ||
    die "fcn map --rect failed: $(cat "$OUT/demo.err")"
if cmp -s "$OUT/demo-sliding.npy" "$OUT/demo-dense-rect.npy"; then
    same="equal to the dense map's, bit for bit"
else
    same="DIFFERENT from the dense map's (a bug: the paths must agree)"
fi
awk -v ts="$ts" -v td="$td" -v n="$n" -v r="$R" -v h="$H" -v w="$W" -v same="$same" 'BEGIN {
    px = n * r; full = ts * h * w / px
    printf "                %d x %d pixels (%d) in %.3f s, %s;\n", r, n, px, ts, same
    if (ts <= 0 || td <= 0) {
        printf "                (too fast to time to the millisecond: no extrapolation)\n"
        exit
    }
    u = full >= 3600 ? sprintf(" (%.1f h)", full / 3600) : full >= 60 ? sprintf(" (%.1f min)", full / 60) : ""
    printf "                the whole %dx%d image would take ~%.0f s%s with the sliding window,\n", h, w, full, u
    printf "                %.3f s with the dense path: %.0fx faster\n", td, full / td
}'
"$FCN" info "$MODEL" --size "${H}x$W" 2>/dev/null | awk '/^ +total / {
    # the columns of fcn info: "  %2s  %-12s %16s %16s %10s"
    s = substr($0, 20, 16); d = substr($0, 37, 16); x = substr($0, 54)
    gsub(/^ +| +$/, "", s); gsub(/^ +| +$/, "", d); gsub(/^ +| +$/, "", x)
    printf "                (arithmetic, fcn info: sliding %sFLOP, dense %sFLOP, %s less;\n", s, d, x
    printf "                 speed: dense %s GFLOP/s, sliding %s GFLOP/s)\n", rd, rs }' rd="$(echo "$line" | field_rate)" \
    rs="$(echo "$sline" | field_rate)"
rm -f "$OUT/demo-sliding.npy" "$OUT/demo-dense-rect.npy"

# A labelled slice held out from training: how good the model is.
if [ -n "$HELDOUT" ] && [ -z "${FCN_DEMO_IMAGE:-}" ]; then
    TI=$DATA/train-images/$HELDOUT.png TL=$DATA/train-labels/$HELDOUT.png
    if [ -f "$TI" ] && [ -f "$TL" ]; then
        "$FCN" map "$MODEL" "$TI" --npy "$OUT/demo-$HELDOUT.npy" -o "$OUT/demo-$HELDOUT-map.png" --class 1 -q \
            2>"$OUT/demo.err" || die "fcn map $TI failed: $(cat "$OUT/demo.err")"
        e=$("$FCN" eval "$OUT/demo-$HELDOUT.npy" "$TL" 2>"$OUT/demo.err") || die "fcn eval failed: $(cat "$OUT/demo.err")"
        echo "held-out train slice $HELDOUT (not used in training), membrane iff P(membrane) >= 0.5:"
        echo "                $e"
        echo "                wrote $OUT/demo-$HELDOUT-map.png (fcn --help: eval defines both errors)"
        rm -f "$OUT/demo-$HELDOUT.npy"
    else
        echo "(no labelled slice $HELDOUT in $DATA/train-images, train-labels: not scored)"
    fi
fi
rm -f "$OUT/demo.err"
exit 0
