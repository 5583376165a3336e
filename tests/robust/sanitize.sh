#!/bin/sh
# The sanitizer builds (clang; `make robust-builds` builds them into $BUILD/robust/):
#   AddressSanitizer + UndefinedBehaviorSanitizer: test_import, test_isbi --quick (the
#     SIMD kernels of this machine, -march=native), alloc_sweep (LeakSanitizer checks what
#     its own count checks), and the fcn tool, under tests/cli/test_cli.sh,
#     tests/cli/test_eval.sh and tests/robust/bad_images.py;
#   ThreadSanitizer: test_core --quick and tests/robust/threads.c (four threads load and
#     map at once).
# (test_core under ASan+UBSan is tests/core/matrix.sh's gcc build.) Every build stops at
# its first report: -fno-sanitize-recover=all, halt_on_error=1, exit status 86, so a
# report fails the program whatever it printed. One PASS or FAIL line per program; a
# failing program's own lines are shown indented, so that they do not count twice.
. tests/lib/lib.sh
MAKE=${MAKE:-make}
CLANG=${CLANG:-clang}
R=$BUILD/robust
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:exitcode=86:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=86
export TSAN_OPTIONS=halt_on_error=1:exitcode=86:allocator_may_return_null=1

start=$(date +%s)
if ! $MAKE --no-print-directory -j2 robust-builds BUILD="$BUILD" CLANG="$CLANG" >"$T/build.log" 2>&1; then
    fail sanitizers "make robust-builds failed: $(grep -E 'error|Error' "$T/build.log" | head -n 3 | tr '\n' ' ')"
    exit 1
fi
echo "# sanitizer builds: $(($(date +%s) - start)) s"

# one NAME CMD...: runs CMD; PASS if it exits 0 with no FAIL line and no sanitizer report.
one() {
    name=$1
    shift
    t0=$(date +%s)
    "$@" >"$T/log" 2>&1
    rc=$?
    p=$(grep -c '^PASS:' "$T/log")
    f=$(grep -c '^FAIL:' "$T/log")
    if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && ! grep -qE 'Sanitizer|runtime error:' "$T/log"; then
        pass "$name ($p cases, $(($(date +%s) - t0)) s)"
    else
        fail "$name" "exit status $rc, $f failed cases, its report:"
        { grep -E '^FAIL:|ERROR: |WARNING: ThreadSanitizer|runtime error:|SUMMARY' "$T/log" | head -n 12
          grep -qE '^FAIL:|ERROR: |WARNING: ThreadSanitizer|runtime error:|SUMMARY' "$T/log" || tail -n 12 "$T/log"
        } | sed 's/^/    /'
    fi
}

one "asan+ubsan test_import" "$R/asan/test_import"
one "asan+ubsan test_isbi --quick" "$R/asan/test_isbi" --quick
one "asan+ubsan alloc_sweep" "$R/asan/alloc_sweep"
one "asan+ubsan fcn: tests/cli/test_cli.sh" env BUILD="$R/asan" sh tests/cli/test_cli.sh
one "asan+ubsan fcn: tests/cli/test_eval.sh" env BUILD="$R/asan" sh tests/cli/test_eval.sh
one "asan+ubsan fcn: tests/robust/bad_images.py" "$PYTHON" tests/robust/bad_images.py "$R/asan/fcn" "$R/bad-images"
one "tsan test_core --quick" "$R/tsan/test_core" --quick
one "tsan threads" "$R/tsan/threads"
echo "# sanitizers: $(($(date +%s) - start)) s"
exit 0
