#!/bin/sh
# ONNX's own node tests (onnx.backend.test, from Debian's python3-onnx) as a conformance
# suite of the ONNX importer: tests/import/onnx_node_cases.py writes the cases whose ops
# the importer reads, as patch classifiers, into $BUILD/onnx-node (never committed);
# $BUILD/test_onnx_node loads each, maps it on the sliding path (and the dense path where
# it runs) and compares with ONNX's expected outputs, as tests/import/onnx_node_expect.txt
# says each case must pass or be refused. Prints its PASS/FAIL lines and the counts
# (passed, refused with a reason, failed). SKIP without python3-onnx (FAIL when CI is set).
. tests/lib/lib.sh
skip() { if [ -n "${CI:-}" ]; then echo "FAIL: $1: $2 (required in CI)"; else echo "SKIP: $1: $2"; fi; }

if ! "$PYTHON" -c 'import onnx.backend.test.case' 2>/dev/null; then
    skip onnx-node "$PYTHON has no onnx.backend.test (Debian: python3-onnx)"
    exit 0
fi
if [ ! -x "$BUILD/test_onnx_node" ]; then
    fail onnx-node "$BUILD/test_onnx_node is not built (make $BUILD/test_onnx_node)"
    exit 1
fi
rm -rf "$BUILD/onnx-node"
if ! "$PYTHON" tests/import/onnx_node_cases.py "$BUILD/onnx-node" >"$T/gen.log" 2>&1; then
    fail onnx-node "tests/import/onnx_node_cases.py failed: $(tail -n 3 "$T/gen.log")"
    exit 1
fi
cat "$T/gen.log"
"$BUILD/test_onnx_node" "$BUILD/onnx-node" tests/import/onnx_node_expect.txt
