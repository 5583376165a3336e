#!/bin/sh
# Compile tests, as stb and sokol have: the ways a program may include the headers.
#   c++     fcn.h, fcn_import.h and fcn_opencl.h implemented in one C++ translation unit
#           (tests/package/test_cxx.cpp, $CXX -std=c++11 -Wall -Wextra -ffp-contract=off):
#           no warning, and its maps right (its own PASS/FAIL lines);
#   static  FCN_STATIC in two translation units of one program (static_a.c, static_b.c,
#           the strict C99 flags): they link, and both private copies map right.
# Run from the repository root; prints PASS/FAIL/SKIP lines (tests/run.sh).
. tests/lib/lib.sh
CC=${CC:-cc}
CXX=${CXX:-g++}
STRICT=${STRICT:--std=c99 -pedantic -Wall -Wextra -Wsign-conversion -Wstrict-prototypes -Wshadow -ffp-contract=off -fno-fast-math}
[ -n "${HOME:-}" ] && [ -w "${HOME:-/nonexistent}" ] || export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$T/pocl}"

# ---- C++ ----------------------------------------------------------------------------------
if ! command -v "$CXX" >/dev/null 2>&1; then
    required c++ "no $CXX (apt-get install g++)"
else
    cl="" cl_libs=""
    if [ -f /usr/include/CL/cl.h ]; then cl=-DFCN_TEST_OPENCL cl_libs=-lOpenCL; fi
    # shellcheck disable=SC2086
    if ! "$CXX" -std=c++11 -Wall -Wextra -ffp-contract=off -O2 -I. $cl tests/package/test_cxx.cpp \
        -o "$T/cxx" -lm -pthread $cl_libs >"$T/cxx.log" 2>&1; then
        fail "c++ build" "$CXX -std=c++11 failed: $(grep -m 5 'error' "$T/cxx.log")"
    elif grep -q 'warning' "$T/cxx.log"; then
        fail "c++ build" "$CXX -std=c++11 -Wall -Wextra warns: $(grep -m 5 'warning' "$T/cxx.log")"
    else
        pass "c++ build: the three headers' implementations in one C++11 translation unit, no warning"
    fi
    [ -x "$T/cxx" ] && runbin "c++ run" "$T/cxx"
fi

# ---- FCN_STATIC -----------------------------------------------------------------------------
# shellcheck disable=SC2086
if ! "$CC" $STRICT -O2 -I. tests/package/static_a.c tests/package/static_b.c -o "$T/static" -lm -pthread \
    >"$T/static.log" 2>&1; then
    fail "static build" "$(grep -m 5 -E 'error|multiple definition' "$T/static.log")"
else
    if grep -q 'warning' "$T/static.log"; then
        fail "static build" "warnings: $(grep -m 5 'warning' "$T/static.log")"
    else
        pass "static build: FCN_STATIC in two translation units links, no warning"
    fi
    runbin "static run" "$T/static"
fi
exit 0
