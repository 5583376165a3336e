#!/bin/sh
# A short libFuzzer run of each import target (tests/fuzz/fuzz_import.c): builds them with
# clang -fsanitize=fuzzer,address,undefined, runs each for $FUZZ_SECONDS (default 3) on
# its seed corpus tests/corpus/KIND and the regression corpus tests/corpus/regress/KIND
# (inputs that once failed: each is also run once on its own). New inputs go to a temp
# dir, not the repo. SKIP without clang's libFuzzer (FAIL when CI=true).
set -u
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
SECS=${FUZZ_SECONDS:-3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
skip() { if [ "${CI:-}" = true ]; then echo "FAIL: $1: $2 (required in CI)"; else echo "SKIP: $1: $2"; fi; }
for k in 1:onnx 2:caffe 3:wire; do
    n=${k#*:}
    bin=$BUILD/fuzz_$n
    if [ -x "$bin" ] && [ -z "$(find fcn.h tests/fuzz/fuzz_import.c -newer "$bin" 2>/dev/null)" ]; then
        : # up to date
    elif ! $CLANG -g -O1 -fsanitize=fuzzer,address,undefined -ffp-contract=off -I. -DFUZZ_TARGET=${k%%:*} \
        tests/fuzz/fuzz_import.c -o "$BUILD/fuzz_$n" -lm -pthread >"$T/build.log" 2>&1; then
        skip "fuzz $n" "cannot build with $CLANG -fsanitize=fuzzer (apt-get install libfuzzer-14-dev): $(tail -1 "$T/build.log")"
        continue
    fi
    mkdir -p "$T/$n" tests/corpus/regress/$n
    if "$BUILD/fuzz_$n" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
        -artifact_prefix="$T/" "$T/$n" tests/corpus/$n tests/corpus/regress/$n >"$T/$n.log" 2>&1; then
        echo "PASS: fuzz $n: $(grep -o 'Done [0-9]* runs' "$T/$n.log" | tail -1) in ${SECS} s, no crash"
    else
        echo "FAIL: fuzz $n: $(grep -E 'ERROR|SUMMARY' "$T/$n.log" | head -2 | tr '\n' ' ') (crash input kept in tests/corpus/regress/$n)"
        for a in "$T"/crash-* "$T"/leak-* "$T"/timeout-* "$T"/oom-*; do [ -f "$a" ] && cp "$a" tests/corpus/regress/$n/; done
    fi
done
