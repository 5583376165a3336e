#!/bin/sh
# make bench-volume: fcn map on EM volumes, measured. Inputs are mosaics of the real ISBI
# 2012 test slices as 16-bit tiled TIFF pages (bench/volume_data.py; $FCN_DATA or
# ../shared/data/isbi2012), made once under $BUILD/bench-volume (about 1 GB). Prints a
# report and writes it to $BUILD/bench-volume.txt:
#   1. peak RSS and throughput, TIFF in, uint8 OME-Zarr out: the small EM net (20x20
#      patch, tests/volume) at 4096^2 and 16384^2, the shipped 95x95 membrane net at
#      2048^2 and 8192^2: the RSS must not grow with the page;
#   2. shards: the same job as 1, 4 and 16 shards run one after another, against one
#      process: identical bytes, and the time the shards add;
#   3. bench_stream: fcn_map_stream against fcn_map in the library.
# Times: wall clock and CPU (user + sys; steadier on a shared machine).
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
FCN=$BUILD/fcn
W=$BUILD/bench-volume
D="$PYTHON bench/volume_data.py"
REPORT=$BUILD/bench-volume.txt
N4=models/isbi-n4.fcn
mkdir -p "$W" || exit 1
: >"$REPORT"
say() { echo "$@" | tee -a "$REPORT"; }

for s in 2048 4096 8192 16384; do
    [ -s "$W/m$s.tif" ] || $D mosaic "$W/m$s.tif" "$s" || exit 1
done
[ -s "$W/pages4.tif" ] || $D mosaic "$W/pages4.tif" 4096 4 || exit 1
$D model "$W/small.fcn" || exit 1

say "make bench-volume on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
say ""
say "1. TIFF (16-bit, tiled 512) in, uint8 OME-Zarr (zlib, chunks 512) out"
say "$(printf '%-28s %10s %9s %9s %10s %9s' net page wall 'cpu' 'peak RSS' 'Mpx/s')"
# one NET PAGE_SIDE: the map of m$side.tif
one() {
    name=$1 model=$2 side=$3
    rm -rf "$W/out.zarr"
    t=$($D run "$FCN" map "$model" "$W/m$side.tif" -o "$W/out.zarr" --dtype u8 --in-scale 0.0038910506 -q)
    say "$(echo "$t" | awk -v n="$name" -v s="$side" '{ printf "%-28s %10s %8.1fs %8.1fs %6.1f MiB %9.2f", n, s "^2", $1, $2 + $3, $4 / 1024, s * s / $1 / 1e6 }')"
}
one "small (20x20 patch)" "$W/small.fcn" 4096
one "small (20x20 patch)" "$W/small.fcn" 16384
one "n4 (95x95, shipped model)" "$N4" 2048
one "n4 (95x95, shipped model)" "$N4" 8192

say ""
say "2. shards, one after another: 4 pages of 4096^2, the small net, uint8 Zarr"
say "$(printf '%-14s %9s %9s %12s  %s' shards wall cpu 'cpu vs one' bytes)"
base=""
for n in 1 4 16; do
    rm -rf "$W/sh$n.zarr"
    tw=0 tc=0 i=0
    while [ $i -lt $n ]; do
        t=$($D run "$FCN" map "$W/small.fcn" "$W/pages4.tif" -o "$W/sh$n.zarr" --dtype u8 --in-scale 0.0038910506 -q \
            --shard $i/$n)
        tw=$(echo "$t" | awk -v a="$tw" '{ print a + $1 }') tc=$(echo "$t" | awk -v a="$tc" '{ print a + $2 + $3 }')
        i=$((i + 1))
    done
    [ -z "$base" ] && base=$tc
    same="identical to 1 shard"
    [ $n -gt 1 ] && ! diff -r "$W/sh1.zarr" "$W/sh$n.zarr" >/dev/null && same="DIFFERENT"
    say "$(awk -v n="$n" -v w="$tw" -v c="$tc" -v b="$base" -v s="$same" 'BEGIN { printf "%-14s %8.1fs %8.1fs %+11.1f%%  %s", n, w, c, 100 * (c / b - 1), s }')"
done

say ""
say "3. the library:"
"$BUILD/bench_stream" --reps 2 | tee -a "$REPORT"
echo "(written to $REPORT)"
