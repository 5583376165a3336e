#!/bin/sh
# Builds tests/core/test_core.c eight ways (two compilers, -O0 and -O3 -march=native, one
# build with AddressSanitizer + UndefinedBehaviorSanitizer, one without threads
# (FCN_NO_THREADS), one with the portable kernels only (FCN_NO_SIMD), and tcc, which has
# no target attributes and so only the portable kernels; the gcc and clang builds without
# -march carry the AVX2 and AVX-512 kernels too and run what the CPU has), runs each with --quick
# --dump, and checks that every build passes and that all the dumps (maps of fixed
# cases, bits of fcn_expf/tanh/sigmoid) are byte-identical: the arithmetic contract says
# that no compiler, optimisation level or instruction set (each build's test_core also
# compares every kernel family the CPU runs) may change a bit.
#
# One line per build ("PASS: matrix gcc-O0" or "FAIL: ..."), one for the identity of the
# dumps. A failing build's own FAIL lines are shown indented, so that they do not count.
# Env: CC (default gcc), CLANG (default clang), TCC (default tcc), BUILD (default build); the builds go to
# $BUILD/matrix/NAME/.
set -u
BUILD=${BUILD:-build}
CC=${CC:-gcc}
CLANG=${CLANG:-clang}
here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
M=$BUILD/matrix
mkdir -p "$M" || { echo "FAIL: matrix: cannot create $M"; exit 1; }

COMMON="-std=c99 -pedantic -Wall -Wextra -ffp-contract=off -fno-fast-math -I$root"
SAN="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
cc_name=$(basename "$CC")
clang_name=$(basename "$CLANG")

# name|compiler|flags; the sanitizer build is the slowest: first
builds="$cc_name-O1-asan-ubsan|$CC|$SAN
$cc_name-O0|$CC|-O0
$cc_name-O3-native|$CC|-O3 -march=native
$clang_name-O0|$CLANG|-O0
$clang_name-O3-native|$CLANG|-O3 -march=native
$cc_name-O2-nothreads|$CC|-O2 -DFCN_NO_THREADS
$cc_name-O2-nosimd|$CC|-O2 -DFCN_NO_SIMD"
# tcc has no target attributes: it must fall back to the portable kernels, same bits
TCC=${TCC:-tcc}
if command -v "$TCC" >/dev/null 2>&1; then
    builds="$builds
tcc|$TCC|-O2"
elif [ -n "${CI:-}" ]; then
    echo "FAIL: matrix tcc: $TCC not found (Debian tcc; make deps installs it)"
else
    echo "SKIP: matrix tcc: $TCC not found (Debian tcc)"
fi

# Builds and runs one configuration; leaves status (0 ok, 1 build failed, 2 run failed)
# in $dir/status.
one() {
    name=$1 comp=$2 flags=$3
    dir=$M/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    # shellcheck disable=SC2086
    if ! $comp $COMMON $flags "$root/tests/core/test_core.c" -o "$dir/test_core" -lm -pthread >"$dir/build.log" 2>&1; then
        echo 1 >"$dir/status"
        return
    fi
    ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1 \
        "$dir/test_core" --quick --dump "$dir/dump.bin" >"$dir/run.log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] || grep -q '^FAIL:' "$dir/run.log" || [ ! -s "$dir/dump.bin" ]; then
        echo 2 >"$dir/status"
    else
        echo 0 >"$dir/status"
    fi
}

# A few at a time (the machine may have few cores).
jobs=${MATRIX_JOBS:-2}
start=$(date +%s)
running=0
names=""
while IFS='|' read -r name comp flags; do
    names="$names $name"
    one "$name" "$comp" "$flags" </dev/null &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done <<EOF
$builds
EOF
wait

first=""
same=""
differ=""
missing=""
failed=0
for name in $names; do
    dir=$M/$name
    st=$(cat "$dir/status" 2>/dev/null || echo 1)
    case $st in
    0)
        p=$(grep -c '^PASS:' "$dir/run.log")
        echo "PASS: matrix $name ($p cases; $(sed -n 's/^# test_core: .*dense kernels: //p' "$dir/run.log") kernels)"
        ;;
    1)
        echo "FAIL: matrix $name: the build failed:"
        grep -E 'error|Error' "$dir/build.log" | head -n 10 | sed 's/^/    /'
        [ -s "$dir/build.log" ] || echo "    (no output; is the compiler installed?)"
        failed=1
        ;;
    *)
        f=$(grep -c '^FAIL:' "$dir/run.log")
        echo "FAIL: matrix $name: $f failed cases in test_core --quick (log: $dir/run.log):"
        grep '^FAIL:' "$dir/run.log" | head -n 20 | sed 's/^/    /'
        if [ "$f" -eq 0 ]; then tail -n 20 "$dir/run.log" | sed 's/^/    /'; fi
        failed=1
        ;;
    esac
    if [ -s "$dir/dump.bin" ]; then
        if [ -z "$first" ]; then
            first=$name
        elif cmp -s "$M/$first/dump.bin" "$dir/dump.bin"; then
            same="$same $name"
        else
            differ="$differ $name"
        fi
    else
        missing="$missing $name"
    fi
done

if [ -z "$first" ]; then
    echo "FAIL: matrix dumps byte-identical: no build wrote a dump"
elif [ -n "$differ" ]; then
    echo "FAIL: matrix dumps byte-identical: the dumps of$differ differ from $first's (cmp -l $M/$first/dump.bin $M/NAME/dump.bin)"
    for name in $differ; do
        echo "    $name: $(cmp "$M/$first/dump.bin" "$M/$name/dump.bin" 2>&1 | head -n 1)"
    done
elif [ -z "$same" ]; then
    echo "FAIL: matrix dumps byte-identical: only $first wrote a dump (missing:$missing)"
else
    echo "PASS: matrix dumps byte-identical ($first and$same${missing:+; missing:$missing})"
fi
echo "# matrix: $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ] && [ -z "$differ" ] && [ -n "$same" ]
