#!/bin/sh
# Checks fcn against PyTorch on the trained ISBI network: for each line of
# tests/data/isbi-n4-torch-ref.txt (P(membrane), P(non-membrane) that the PyTorch patch
# classifier computed at a pixel of an ISBI test image, mirror border; written by
# tools/export_fcn.py) maps that pixel with models/isbi-n4.fcn through fcn (dense and
# sliding path, tests/torch/torch_ref.c) and compares: absolute tolerance $TORCH_TOL (default
# 2e-5) on probabilities. If $PYTHON has torch (and PIL), one more case recomputes the
# first 2 references live from tools/isbi-n4.pt, to prove the reference file is current.
# Prints "PASS: name", "FAIL: name: why" or "SKIP: name: why" per case (tests/run.sh).
# The images are read from $FCN_DATA, else ../shared/data/isbi2012; without them the
# cases are skipped (a failure when $CI is set).
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
TOL=${TORCH_TOL:-2e-5}
MODEL=models/isbi-n4.fcn
REF=tests/data/isbi-n4-torch-ref.txt
DATA=${FCN_DATA:-../shared/data/isbi2012}

if [ ! -f "$DATA/test-images/0.png" ]; then
    if [ -n "${CI:-}" ]; then
        echo "FAIL: torch-ref: ISBI data not found in $DATA (set FCN_DATA)"
        exit 1
    fi
    echo "SKIP: torch-ref: ISBI data not found in $DATA (set FCN_DATA)"
    exit 0
fi
for f in "$MODEL" "$REF"; do
    if [ ! -f "$f" ]; then
        echo "FAIL: torch-ref: $f is missing (run tools/export_fcn.py)"
        exit 1
    fi
done

mkdir -p "$BUILD" || exit 1
# the live torch check runs in the background while the C side runs ($BUILD/torch_ref,
# built by make test)
havetorch=0
if "$PYTHON" -c 'import torch, PIL' >/dev/null 2>&1; then
    havetorch=1
    "$PYTHON" tools/export_fcn.py --pt tools/isbi-n4.pt --ref "$REF" --data "$DATA" --check-only 2 \
        --tol 1e-6 >"$BUILD/torch_ref_live.log" 2>&1 &
    livepid=$!
fi
if [ ! -x "$BUILD/torch_ref" ]; then
    echo "FAIL: torch-ref-build: $BUILD/torch_ref is not built (make $BUILD/torch_ref)"
    exit 1
fi
"$BUILD/torch_ref" "$MODEL" "$REF" "$DATA" "$TOL"
rc=$?

if [ "$havetorch" -eq 1 ]; then
    if wait "$livepid"; then
        echo "PASS: torch-ref-current: $(tail -n 1 "$BUILD/torch_ref_live.log")"
    else
        echo "FAIL: torch-ref-current: tools/isbi-n4.pt no longer gives $REF: $(tail -n 3 "$BUILD/torch_ref_live.log" | tr '\n' ' ')"
        rc=1
    fi
else
    echo "SKIP: torch-ref-current: $PYTHON has no torch or PIL"
fi
exit $rc
