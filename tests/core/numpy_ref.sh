#!/bin/sh
# An independent check of the maps: test_core --export writes a dozen random nets (with
# fcn_net_save), their input images and dense maps; tests/core/numpy_ref.py recomputes each
# map in float64 numpy from the model file alone and compares. Guards against a mistake
# that both of the library's paths share. Without numpy: SKIP (FAIL when CI is set).
set -u
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
here=$(dirname "$0")

in_ci() { case "${CI:-}" in "" | false | 0) return 1 ;; *) return 0 ;; esac; }

if ! "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then
    if in_ci; then
        echo "FAIL: numpy-ref: $PYTHON cannot import numpy (CI is set, so this is a failure)"
        exit 1
    fi
    echo "SKIP: numpy-ref: $PYTHON cannot import numpy (install python3-numpy)"
    exit 0
fi
if [ ! -x "$BUILD/test_core" ]; then
    echo "FAIL: numpy-ref: $BUILD/test_core is not built (make $BUILD/test_core)"
    exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/fcn-numpy-ref.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM
if ! "$BUILD/test_core" --export "$dir" >"$dir/export.log" 2>&1; then
    echo "FAIL: numpy-ref: $BUILD/test_core --export failed:"
    sed 's/^/    /' "$dir/export.log"
    exit 1
fi
"$PYTHON" "$here/numpy_ref.py" "$dir"
