#!/bin/sh
# Nothing a test does writes into the source tree: tests write under $BUILD or a temp dir.
#   sh tests/repo/tree.sh snapshot FILE   every folder and file (with its checksum) of the
#                                         tree, less .git and $BUILD, into FILE
#   sh tests/repo/tree.sh check FILE      the same now; one PASS or FAIL line ("source tree
#                                         untouched") naming what appeared, changed or went
# tests/run.sh takes the snapshot first and checks last. Run from the repository root.
set -u
BUILD=${BUILD:-build}
state() {
    b=$(realpath -m "$BUILD")
    case $b in "$(pwd)"/*) b=.${b#"$(pwd)"} ;; esac
    find . -path ./.git -prune -o -path "$b" -prune -o -type d -printf 'dir %p\n' -o -type f -exec cksum {} + | sort
}
case ${1:-} in
snapshot) state >"$2" ;;
check)
    now=$(mktemp)
    trap 'rm -f "$now"' EXIT
    state >"$now"
    if cmp -s "$2" "$now"; then
        echo "PASS: source tree untouched ($(grep -vc '^dir ' "$now") files and $(grep -c '^dir ' "$now") folders outside $BUILD as before the tests)"
    else
        echo "FAIL: source tree untouched: the tests changed it ('<' before, '>' after): $(diff "$2" "$now" | grep '^[<>]' | head -n 8 | tr '\n' ' ')"
    fi
    ;;
*) echo "usage: tree.sh snapshot|check FILE" >&2; exit 2 ;;
esac
