# lib.sh - sourced (from the repository root) by the shell tests: the build folder and
# tools, a temporary folder $T removed on exit, the PASS/FAIL/SKIP lines tests/run.sh
# counts, expect, runbin and required.
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
FCN=$BUILD/fcn
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass() { echo "PASS: $1"; }
fail() { printf 'FAIL: %s: %s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')"; } # one line
skip() { echo "SKIP: $1: $2"; }

# expect NAME RC PATTERN CMD...: CMD exits with RC and its stderr matches the extended
# regular expression PATTERN (case-insensitive; empty: anything).
expect() {
    name=$1 want=$2 pat=$3
    shift 3
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name" "exit status $rc, expected $want; stderr: $(head -c 300 "$T/err")"
        return 1
    fi
    if [ -n "$pat" ] && ! grep -qiE -- "$pat" "$T/err"; then
        fail "$name" "stderr does not match /$pat/: $(head -c 300 "$T/err")"
        return 1
    fi
    pass "$name"
}

# runbin NAME CMD...: runs a test program: its lines, and a FAIL if it exits non-zero
# without printing one
runbin() {
    name=$1
    shift
    "$@" >"$T/run.out" 2>&1
    rc=$?
    cat "$T/run.out"
    [ $rc -eq 0 ] || grep -q '^FAIL:' "$T/run.out" || fail "$name" "exit status $rc: $(tail -n 3 "$T/run.out")"
}

# required NAME WHY: something a test needs is missing: SKIP, but FAIL in CI (CI=true),
# which installs everything (.ci/run)
required() { if [ "${CI:-}" = true ]; then fail "$1" "$2 (required in CI)"; else skip "$1" "$2"; fi; }
