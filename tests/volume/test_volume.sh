#!/bin/sh
# EM volumes through the fcn tool: TIFF stacks (written by tifffile; LZW by libtiff's
# tiffcp), folders of slices and 16-bit PNG in; OME-Zarr (read back by zarr) and TIFF
# (read back by tifffile) out. Every page must equal the single-slice map of that page
# (fcn map PAGE.npy --npy) bit for bit. Then shards under GNU parallel, a run killed with
# SIGKILL and resumed, and the clear errors. Prints PASS/FAIL/SKIP lines (tests/run.sh).
. tests/lib/lib.sh
H="$PYTHON tests/volume/volume_helper.py"

if ! "$PYTHON" -c 'import numpy, tifffile, zarr' >/dev/null 2>&1; then
    skip volume "needs python3-numpy, python3-tifffile and python3-zarr (make deps)"
    exit 0
fi
$H model "$T/m.fcn" 1 || { fail volume-model "cannot write the test model"; exit 1; }
M=$T/m.fcn

# ref STACK N [OPTS]: the single-slice maps STACK.pI.map.npy of its N pages (.pI.npy)
ref() {
    s=$1 n=$2
    shift 2
    i=0
    while [ $i -lt "$n" ]; do
        "$FCN" map "$M" "$s.p$i.npy" --npy "$s.p$i.map.npy" -q "$@" || return 1
        i=$((i + 1))
    done
}
refs() { i=0; while [ $i -lt "$2" ]; do printf '%s ' "$1.p$i.map.npy"; i=$((i + 1)); done; }

# check NAME CMD...: PASS if CMD (a helper check) exits 0, else FAIL with what it printed
check() {
    name=$1
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# ---- stacks in, OME-Zarr out, page by page against the single-slice maps ----------------
$H stack "$T/u8.tif" u8 3 70 90 1 strips=7
$H stack "$T/u16.tif" u16 3 75 64 2 tile=32,48 deflate
$H stack "$T/f32.tif" f32 2 66 81 3 deflate strips=5
$H stack "$T/big.tif" u16 2 40 50 4 bigtiff tile=16,16
ref "$T/u8.tif" 3 && ref "$T/f32.tif" 2 && ref "$T/u16.tif" 3 --in-scale 0.00390625 &&
    ref "$T/big.tif" 2 --in-scale 0.00390625 || fail volume-refs "single-slice maps failed"

"$FCN" map "$M" "$T/u8.tif" -o "$T/u8.zarr" -q &&
    check "zarr: 8-bit stack, strips, uncompressed" $H zarr "$T/u8.zarr" f32 1,512,512 zlib $(refs "$T/u8.tif" 3)
"$FCN" map "$M" "$T/u16.tif" -o "$T/u16.zarr" -q --in-scale 0.00390625 &&
    check "zarr: 16-bit stack, tiles, deflate, --in-scale" $H zarr "$T/u16.zarr" f32 1,512,512 zlib $(refs "$T/u16.tif" 3)
"$FCN" map "$M" "$T/f32.tif" -o "$T/f32.zarr" -q &&
    check "zarr: float32 stack, deflate strips" $H zarr "$T/f32.zarr" f32 1,512,512 zlib $(refs "$T/f32.tif" 2)
"$FCN" map "$M" "$T/big.tif" -o "$T/big.zarr" -q --in-scale 0.00390625 &&
    check "zarr: BigTIFF stack" $H zarr "$T/big.zarr" f32 1,512,512 zlib $(refs "$T/big.tif" 2)
# LZW with the horizontal predictor, by libtiff's own tiffcp, tiled
if command -v tiffcp >/dev/null; then
    tiffcp -c lzw:2 -t -w 32 -l 32 "$T/u8.tif" "$T/lzw.tif" &&
        "$FCN" map "$M" "$T/lzw.tif" -o "$T/lzw.zarr" -q --dtype u8 --chunk 1,32,48 --compress none &&
        check "zarr: LZW tiled stack (tiffcp), u8, chunks 1,32,48, uncompressed" \
            $H zarr "$T/lzw.zarr" u8 1,32,48 none $(refs "$T/u8.tif" 3)
else
    skip "zarr: LZW stack" "tiffcp not installed (libtiff-tools; make deps)"
fi
# --in-scale is one multiply a sample, first: the same map as samples scaled beforehand
$H scaled "$T/u16.tif.p1.npy" 0.00390625 "$T/pre.npy" && "$FCN" map "$M" "$T/pre.npy" --npy "$T/pre.map.npy" -q &&
    check "--in-scale multiplies the samples first" cmp "$T/pre.map.npy" "$T/u16.tif.p1.map.npy"

# chunks spanning pages, u8 (the PNG writer's conversion), an output stride
"$FCN" map "$M" "$T/u8.tif" -o "$T/cz.zarr" -q --chunk 2,32,40 --dtype u8 &&
    check "zarr: chunks of 2 pages, u8" $H zarr "$T/cz.zarr" u8 2,32,40 zlib $(refs "$T/u8.tif" 3)
"$FCN" map "$M" "$T/u8.tif.p0.npy" -o "$T/p0.png" -q --class 1 &&
    check "u8 values are the PNG writer's" $H png "$T/p0.png" "$T/u8.tif.p0.map.npy" 1
ref "$T/f32.tif" 2 --stride 3 --border valid && "$FCN" map "$M" "$T/f32.tif" -o "$T/s3.zarr" -q --stride 3 --border valid &&
    check "zarr: stride 3, border valid" $H zarr "$T/s3.zarr" f32 1,512,512 zlib $(refs "$T/f32.tif" 2)
# the sliding path streams too: the same bits
ref "$T/big.tif" 2 --in-scale 0.00390625 &&
    "$FCN" map "$M" "$T/big.tif" -o "$T/sl.zarr" -q --in-scale 0.00390625 --path sliding --chunk 1,16,24 &&
    check "zarr: sliding path" $H zarr "$T/sl.zarr" f32 1,16,24 zlib $(refs "$T/big.tif" 2)

# the ISBI 2012 challenge's stacks are ImageJ TIFFs: the real training slices as one
DATA=${FCN_DATA:-../shared/data/isbi2012}
if [ -f "$DATA/train-images/0.png" ] && "$PYTHON" -c 'import cv2' >/dev/null 2>&1; then
    $H imagej "$T/isbi.tif" "$DATA" 4 && "$FCN" map "$M" "$T/isbi.tif" -o "$T/isbi.zarr" -q --dtype u8 &&
        for i in 0 1 2 3; do "$FCN" map "$M" "$DATA/train-images/$i.png" --npy "$T/isbi$i.npy" -q; done &&
        check "zarr: an ImageJ stack of the real ISBI 2012 slices, u8" \
            $H zarr "$T/isbi.zarr" u8 1,512,512 zlib "$T/isbi0.npy" "$T/isbi1.npy" "$T/isbi2.npy" "$T/isbi3.npy"
else
    skip "zarr: an ImageJ stack of the ISBI slices" "no ISBI 2012 data in $DATA (or no python3-opencv)"
fi

# ---- TIFF out ---------------------------------------------------------------------------
"$FCN" map "$M" "$T/u16.tif" -o "$T/o8.tif" -q --in-scale 0.00390625 &&
    check "tiff out: u8 class 0" $H tiff "$T/o8.tif" 0 u8 classic $(refs "$T/u16.tif" 3)
"$FCN" map "$M" "$T/u16.tif" -o "$T/of.tif" -q --in-scale 0.00390625 --class 1 --dtype f32 --bigtiff &&
    check "tiff out: float32 class 1, BigTIFF" $H tiff "$T/of.tif" 1 f32 big $(refs "$T/u16.tif" 3)

# ---- 16-bit PNG, folders of slices, one TIFF page as an image ----------------------------
if "$PYTHON" -c 'import cv2' >/dev/null 2>&1; then
    $H png16 "$T/x16.png" 50 60 5 && "$FCN" map "$M" "$T/x16.png" --npy "$T/x16.map.npy" -q &&
        "$FCN" map "$M" "$T/x16.png.npy" --npy "$T/x16.ref.npy" -q &&
        check "16-bit PNG read at 16 bits" cmp "$T/x16.map.npy" "$T/x16.ref.npy"
    mkdir "$T/dir"
    $H stack "$T/s0.tif" u16 1 50 60 6 && $H stack "$T/s2.tif" u16 2 50 60 7 tile=16,32 &&
        ref "$T/s0.tif" 1 && ref "$T/s2.tif" 2 && cp "$T/s0.tif" "$T/s2.tif" "$T/dir/" &&
        cp "$T/x16.png" "$T/dir/s1.png" && echo notes >"$T/dir/README.txt" &&
        "$FCN" map "$M" "$T/dir" -o "$T/dir.zarr" -q &&
        check "a folder of slices (TIFF and PNG, sorted by name) is a stack" \
            $H zarr "$T/dir.zarr" f32 1,512,512 zlib "$T/s0.tif.p0.map.npy" "$T/x16.ref.npy" \
            "$T/s2.tif.p0.map.npy" "$T/s2.tif.p1.map.npy"
else
    skip "16-bit PNG and folders" "needs python3-opencv"
fi
$H stack "$T/one.tif" u16 1 45 55 8 tile=16,16 && ref "$T/one.tif" 1 &&
    "$FCN" map "$M" "$T/one.tif" --npy "$T/one.npy" -q && check "a one-page TIFF maps like an image" cmp "$T/one.npy" "$T/one.tif.p0.map.npy"

# ---- shards: any set, anywhere, any order, at once: the one-process array, byte for byte --
# 2 pages of 2100 x 2100, chunks of 512: blocks of 2048 x 2048, 2 x 2 a page, 8 blocks
$H stack "$T/sh.tif" u16 2 2100 2100 9 tile=256,256 deflate
"$FCN" map "$M" "$T/sh.tif" -o "$T/one.zarr" -q --in-scale 0.00390625 || fail shards "the one-process map failed"
if command -v parallel >/dev/null; then
    parallel -j 5 "$FCN" map "$M" "$T/sh.tif" -o "$T/par.zarr" -q --in-scale 0.00390625 \
        --shard {}/5 --resume ::: 4 2 0 3 1 >"$T/par.log" 2>&1 || fail "5 shards under GNU parallel" "$(cat "$T/par.log")"
    if diff -r "$T/one.zarr" "$T/par.zarr" >"$T/diff" 2>&1; then pass "5 shards under GNU parallel: the one-process array, byte for byte"
    else fail "5 shards under GNU parallel" "$(head -c 400 "$T/diff")"; fi
else
    skip "5 shards under GNU parallel" "parallel not installed (make deps)"
fi
# more shards than blocks: the extra ones only check the metadata
i=0
while [ $i -lt 16 ]; do
    "$FCN" map "$M" "$T/sh.tif" -o "$T/s16.zarr" -q --in-scale 0.00390625 --shard $i/16 || break
    i=$((i + 1))
done
if [ $i -eq 16 ] && diff -r "$T/one.zarr" "$T/s16.zarr" >"$T/diff" 2>&1; then pass "16 shards, one after another: the same bytes"
else fail "16 shards" "shard $i: $(head -c 400 "$T/diff")"; fi

# ---- killed with SIGKILL, then resumed ------------------------------------------------------
# 3 pages of 2100 x 150, chunks of 64: 2 blocks a page, 594 chunks
$H stack "$T/k.tif" u16 3 2100 150 10 tile=64,64 deflate
"$FCN" map "$M" "$T/k.tif" -o "$T/one64.zarr" -q --chunk 1,64,64 --in-scale 0.00390625 --compress none
"$FCN" map "$M" "$T/k.tif" -o "$T/kill.zarr" -q --chunk 1,64,64 --in-scale 0.00390625 --compress none --threads 1 &
pid=$!
n=0
while [ $n -lt 400 ] && ! ls "$T/kill.zarr/0/0/0/0" >/dev/null 2>&1; do sleep 0.02; n=$((n + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
before=$($H chunks-whole "$T/kill.zarr" temporaries-allowed 2>&1)
total=$(find "$T/one64.zarr/0" -type f ! -name '.*' | wc -l)
if ! echo "$before" | grep -qE '^[0-9]+$'; then
    fail "a killed run leaves only whole chunks" "$before"
elif [ "$before" -ge "$total" ]; then
    fail "a killed run" "the run finished ($before of $total chunks) before the kill: nothing to resume"
else
    pass "a killed run leaves only whole chunks under final names ($before of $total)"
    "$FCN" map "$M" "$T/k.tif" -o "$T/kill.zarr" --chunk 1,64,64 --in-scale 0.00390625 --compress none --resume >"$T/res" 2>&1
    if diff -r -x '.*.tmp' "$T/one64.zarr" "$T/kill.zarr" >"$T/diff" 2>&1 && grep -q "$before complete already" "$T/res"; then
        pass "resumed after SIGKILL: the one-process array, byte for byte; $before chunks not recomputed"
    else
        fail "resumed after SIGKILL" "$(head -c 300 "$T/diff") $(cat "$T/res")"
    fi
fi

# ---- clear errors ---------------------------------------------------------------------------
$H stack "$T/i16.tif" i16 1 30 30 10
$H stack "$T/rgb.tif" rgb 1 30 30 11
$H stack "$T/nan.tif" f32 2 30 30 12 && $H stack "$T/nan.tif" nan 2 30 30 12
$H stack "$T/cut.tif" u8 1 300 200 13
head -c 40000 "$T/cut.tif" >"$T/cut2.tif"
expect "error: signed samples" 1 "page 0: 16-bit signed integer samples are not supported" "$FCN" map "$M" "$T/i16.tif" -o "$T/e1.zarr"
expect "error: RGB pages" 1 "3 samples per pixel \(RGB\)" "$FCN" map "$M" "$T/rgb.tif" -o "$T/e2.zarr"
expect "error: NaN samples" 1 "page 1: the sample at row 15, column 10 is not a finite number" "$FCN" map "$M" "$T/nan.tif" -o "$T/e3.zarr"
expect "error: truncated TIFF page" 1 "cut2.tif: page 0: cannot read row [0-9]+" "$FCN" map "$M" "$T/cut2.tif" -o "$T/e4.zarr"
printf 'II*\000garbage' >"$T/bad.tif"
expect "error: not a TIFF inside" 1 "bad.tif: cannot read it as TIFF" "$FCN" map "$M" "$T/bad.tif" -o "$T/e5.zarr"
mkdir "$T/mixed" && cp "$T/u8.tif" "$T/f32.tif" "$T/mixed/"
expect "error: pages of two sizes" 1 "u8.tif, page 0 is 70x90 \(HxW\), the stack's first page 66x81: the pages of a stack must have one size" \
    "$FCN" map "$M" "$T/mixed" -o "$T/e.zarr"
mkdir "$T/empty"
expect "error: a folder without images" 1 "no image files in the folder" "$FCN" map "$M" "$T/empty" -o "$T/e.zarr"
expect "error: OUT.zarr of another shape" 1 "u8.zarr/0/.zarray exists and is another array: its shape is \[2,3,70,90\], this map's \[2,3,75,64\]" \
    "$FCN" map "$M" "$T/u16.tif" -o "$T/u8.zarr"
expect "error: OUT.zarr of another dtype" 1 "its dtype is \"<f4\", this map's \"\|u1\"" \
    "$FCN" map "$M" "$T/u8.tif" -o "$T/u8.zarr" --dtype u8 --resume
expect "error: OUT.zarr of another model" 1 "\.zattrs exists and is another array: its fcn is .*model_crc32" \
    "$FCN" map models/slide-7x7x3.fcn "$T/u8.tif" -o "$T/u8.zarr" --resume
expect "error: shard out of range" 2 "--shard: '5/5', expected I/N" "$FCN" map "$M" "$T/u8.tif" -o "$T/e.zarr" --shard 5/5
expect "error: shard of 0" 2 "--shard: '0/0'" "$FCN" map "$M" "$T/u8.tif" -o "$T/e.zarr" --shard 0/0
expect "error: --shard with TIFF out" 2 "--shard and --resume \(they need -o OUT.zarr\)" "$FCN" map "$M" "$T/u8.tif" -o "$T/e.tif" --shard 0/2
expect "error: --npy with a volume" 2 "--npy writes one image's map" "$FCN" map "$M" "$T/u8.tif" -o "$T/e.zarr" --npy "$T/e.npy"
expect "error: a stack to PNG" 1 "a stack of 3 pages: its map goes to -o OUT.zarr or OUT.tif" "$FCN" map "$M" "$T/u8.tif" -o "$T/e.png"
expect "error: --chunk for PNG" 2 "are for -o OUT.zarr or OUT.tif" "$FCN" map "$M" "$T/u8.tif.p0.npy" -o "$T/e.png" --chunk 1,2,3
# a full disk: a small tmpfs (root only); what is there is whole, and the error says why
if [ "$(id -u)" = 0 ] && mkdir "$T/full" && mount -t tmpfs -o size=160k tmpfs "$T/full" 2>/dev/null; then
    expect "error: a full disk" 1 "No space left on device" "$FCN" map "$M" "$T/k.tif" -o "$T/full/x.zarr" --compress none --chunk 1,64,64
    if out=$($H chunks-whole "$T/full/x.zarr" 2>&1); then pass "a full disk leaves only whole chunks ($out) and no temporary"
    else fail "a full disk leaves only whole chunks" "$out"; fi
    umount "$T/full"
else
    skip "error: a full disk" "needs root to mount a small tmpfs"
fi

# ---- the progress bar covers the whole job; --quiet says nothing -----------------------------
if command -v script >/dev/null; then
    script -qec "$FCN map $M $T/u8.tif -o $T/bar.zarr --chunk 1,32,32" /dev/null >"$T/bar" 2>&1
    # the last update: every page and block done (GNU grep: \1 in an extended expression)
    if tr '\r' '\n' <"$T/bar" | grep -qE '^\[#{20}\] 100%  page 3/3 block ([0-9]+)/\1  .* Mpx/s  0:00 left'; then
        pass "progress bar: pages, blocks, Mpx/s, time left, to the end of the job"
    else
        fail "progress bar" "$(tr '\r' '\n' <"$T/bar" | tail -n 3)"
    fi
else
    skip "progress bar" "needs script (util-linux) for a terminal"
fi
"$FCN" map "$M" "$T/u8.tif" -o "$T/quiet.zarr" --quiet >"$T/q.out" 2>"$T/q.err"
if [ $? -eq 0 ] && [ ! -s "$T/q.out" ] && [ ! -s "$T/q.err" ]; then pass "--quiet: no summary, no bar"
else fail "--quiet" "$(cat "$T/q.out" "$T/q.err")"; fi
