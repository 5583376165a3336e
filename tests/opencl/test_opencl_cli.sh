#!/bin/sh
# The CLI's OpenCL path: `fcn devices`, `fcn map --path opencl [--device D]` giving the
# dense path's bytes, and the clear errors. Prints PASS/FAIL/SKIP lines (tests/run.sh).
. tests/lib/lib.sh
DATA=${FCN_DATA:-../shared/data/isbi2012}
[ -n "${HOME:-}" ] && [ -w "${HOME:-/nonexistent}" ] || export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$T/pocl}"

# the same tool built without the OpenCL headers says so, and the rest still works
if cc -std=c99 -O1 -ffp-contract=off -I. -I"${STB_INC:-/usr/include/stb}" cli/fcn.c -o "$T/fcn-nocl" -lm -pthread 2>"$T/err"; then
    "$T/fcn-nocl" map models/slide-7x7x3.fcn tests/data/slide-x.npy --border zero --stride 2 --npy "$T/x.npy" --path opencl >"$T/out" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q 'built without OpenCL' "$T/out"; then pass opencl-cli-not-built
    else fail opencl-cli-not-built "exit $rc: $(cat "$T/out")"; fi
else
    fail opencl-cli-not-built "does not compile without FCN_CLI_OPENCL: $(cat "$T/err")"
fi

"$FCN" devices >"$T/dev" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    if grep -q 'no OpenCL platform\|built without OpenCL' "$T/dev" && [ -z "${CI:-}" ]; then
        echo "SKIP: opencl-cli: $(head -n 1 "$T/dev")"
        exit 0
    fi
    fail opencl-cli-devices "exit $rc: $(cat "$T/dev")"
    exit 0
fi
if grep -q 'fp32 fma: ' "$T/dev" && grep -q 'correctly rounded divide: ' "$T/dev"; then pass opencl-cli-devices
else fail opencl-cli-devices "no contract fields in: $(cat "$T/dev")"; fi

# the slide's example, and a crop of an ISBI slice through the membrane model
for case in slide isbi; do
    if [ $case = slide ]; then
        set -- models/slide-7x7x3.fcn tests/data/slide-x.npy --border zero --stride 2
    elif [ -f "$DATA/test-images/1.png" ]; then
        set -- models/isbi-n4.fcn "$DATA/test-images/1.png" --rect 100,200,48,40
    else
        if [ -n "${CI:-}" ]; then fail opencl-cli-isbi "ISBI data not found in $DATA"; else echo "SKIP: opencl-cli-isbi: ISBI data not found in $DATA"; fi
        continue
    fi
    if "$FCN" map "$@" --npy "$T/cl.npy" --path opencl -q 2>"$T/err" && "$FCN" map "$@" --npy "$T/c.npy" -q 2>>"$T/err"; then
        if cmp -s "$T/cl.npy" "$T/c.npy"; then pass "opencl-cli-$case-same-bytes"
        else fail "opencl-cli-$case-same-bytes" "the opencl and dense maps differ: $(cmp "$T/cl.npy" "$T/c.npy")"; fi
    else
        fail "opencl-cli-$case-same-bytes" "$(cat "$T/err")"
    fi
done

"$FCN" map models/slide-7x7x3.fcn tests/data/slide-x.npy --npy "$T/x.npy" --path opencl --device 999 >"$T/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -qi 'device' "$T/out"; then pass opencl-cli-bad-device
else fail opencl-cli-bad-device "exit $rc: $(cat "$T/out")"; fi

"$FCN" map models/slide-7x7x3.fcn tests/data/slide-x.npy --npy "$T/x.npy" --device 0 >"$T/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'with --path opencl' "$T/out"; then pass opencl-cli-device-needs-opencl
else fail opencl-cli-device-needs-opencl "exit $rc: $(cat "$T/out")"; fi

mkdir "$T/novendors"
OCL_ICD_VENDORS="$T/novendors" "$FCN" devices >"$T/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'no OpenCL platform' "$T/out"; then pass opencl-cli-no-platform
else fail opencl-cli-no-platform "exit $rc: $(cat "$T/out")"; fi
