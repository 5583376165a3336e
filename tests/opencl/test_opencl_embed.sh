#!/bin/sh
# Checks that the OpenCL program embedded in fcn_opencl.h is current: regenerates the
# header with tools/embed_opencl.sh (opencl/fcn_prelude.cl + fcn.h's fcn-arith section +
# opencl/fcn.cl) into a temporary file and compares. Then syntax-checks the program as
# OpenCL C 1.2 with clang, for each vector width the host may choose (skipped without a
# clang that has the OpenCL headers). Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
CLANG=${CLANG:-clang}
tmp=$(mktemp)
prog=$(mktemp)
trap 'rm -f "$tmp" "$prog" "$prog.cl"' EXIT

if ! sh tools/embed_opencl.sh fcn_opencl.h >"$tmp"; then
    echo "FAIL: opencl-embed: tools/embed_opencl.sh failed"
elif cmp -s "$tmp" fcn_opencl.h; then
    echo "PASS: opencl-embed: fcn_opencl.h holds opencl/*.cl and fcn.h's fcn-arith section as they are"
else
    echo "FAIL: opencl-embed: fcn_opencl.h's embedded program is stale; run 'make opencl-embed' (diff follows)"
    diff fcn_opencl.h "$tmp" | head -20 | sed 's/^/    /'
fi

sh tools/embed_opencl.sh --source >"$prog.cl"
if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "SKIP: opencl-syntax: no $CLANG"
elif ! echo 'kernel void k(global float *p) { p[0] = fma(p[1], p[2], p[3]); }' >"$prog" ||
     ! "$CLANG" -x cl -cl-std=CL1.2 -Xclang -finclude-default-header -fsyntax-only "$prog" 2>/dev/null; then
    echo "SKIP: opencl-syntax: $CLANG cannot check OpenCL C (no opencl-c.h)"
else
    bad=""
    for vx in 4 8 16; do
        out=$("$CLANG" -x cl -cl-std=CL1.2 -Xclang -finclude-default-header -fsyntax-only -Wall -Wextra -Werror \
            -DFCN_CL_VX=$vx -DFCN_CL_VOM=4 -DFCN_CL_OM=4 "$prog.cl" 2>&1) || bad="$bad vx=$vx: $out"
    done
    if [ -z "$bad" ]; then
        echo "PASS: opencl-syntax: the program is clean OpenCL C 1.2 ($CLANG -Wall -Wextra, vector widths 4, 8, 16)"
    else
        echo "FAIL: opencl-syntax:$(echo "$bad" | head -c 600)"
    fi
fi
