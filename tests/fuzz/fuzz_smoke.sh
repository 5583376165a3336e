#!/bin/sh
# A short libFuzzer run of each model-reader target (tests/fuzz/fuzz_import.c). `make
# fuzz` builds them (clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
# and their seed corpora $BUILD/fuzz-corpus/KIND; each runs for $FUZZ_SECONDS (the
# Makefile's default) on its seeds and, where there is one, tests/fuzz/regress/KIND
# (crash inputs to keep: each is also run once on its own). First, $BUILD/ub_canary
# (the same flags) must stop on its signed overflow: else undefined behaviour would only
# print "runtime error" and the run pass. A "runtime error" in a log fails the run too.
# Writes only under $BUILD and a temp dir: new inputs go to the temp dir, a crash input
# to $BUILD/fuzz-crashes/KIND. SKIP without clang's libFuzzer (FAIL when CI=true).
. tests/lib/lib.sh
CLANG=${CLANG:-clang}
MAKE=${MAKE:-make}
skip() { if [ "${CI:-}" = true ]; then echo "FAIL: $1: $2 (required in CI)"; else echo "SKIP: $1: $2"; fi; }

if [ -z "${FUZZ_SECONDS:-}" ]; then
    fail fuzz "FUZZ_SECONDS is not set: run it through make (make fuzz-smoke or make test)"
    exit 1
fi
# one place builds the targets: the Makefile's fuzz rule
if ! $MAKE --no-print-directory fuzz BUILD="$BUILD" CLANG="$CLANG" PYTHON="$PYTHON" >"$T/build.log" 2>&1; then
    skip fuzz "make fuzz failed (clang -fsanitize=fuzzer needs libfuzzer-14-dev): $(grep -E 'error|Error' "$T/build.log" | head -n 2 | tr '\n' ' ')"
    exit 0
fi
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=halt_on_error=1
printf overflow >"$T/overflow"
if "$BUILD/ub_canary" "$T/overflow" >"$T/canary.log" 2>&1; then
    fail "fuzz builds stop on undefined behaviour" "ub_canary exited 0 on a signed overflow: $(grep -m1 'runtime error' "$T/canary.log")"
elif ! grep -q 'runtime error: signed integer overflow' "$T/canary.log"; then
    fail "fuzz builds stop on undefined behaviour" "ub_canary failed, but not on UBSan's report: $(tail -n 3 "$T/canary.log")"
else
    pass "fuzz builds stop on undefined behaviour (ub_canary's signed overflow ends the run)"
fi
for n in onnx caffe wire fcn; do
    seeds=$BUILD/fuzz-corpus/$n
    regress=
    [ -d tests/fuzz/regress/$n ] && regress=tests/fuzz/regress/$n
    mkdir -p "$T/$n"
    # shellcheck disable=SC2086
    if "$BUILD/fuzz_$n" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix="$T/" "$T/$n" "$seeds" $regress >"$T/$n.log" 2>&1 && ! grep -q 'runtime error' "$T/$n.log"; then
        pass "fuzz $n: $(grep -o 'Done [0-9]* runs' "$T/$n.log" | tail -1) in $FUZZ_SECONDS s, no crash"
    else
        keep=$BUILD/fuzz-crashes/$n
        mkdir -p "$keep"
        for a in "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*; do [ -f "$a" ] && cp "$a" "$keep/"; done
        fail "fuzz $n" "$(grep -E 'ERROR|SUMMARY' "$T/$n.log" | head -2) (input in $keep; once fixed, add it to tests/fuzz/regress/$n)"
    fi
done
