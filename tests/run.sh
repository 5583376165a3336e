#!/bin/sh
# Runs every test program and counts their verdicts. Each program prints one line per
# case: "PASS: name", "FAIL: name: why" or "SKIP: name: why". A program that exits
# non-zero without printing a FAIL line counts as one failure. Ends with the line
# "N passed, M failed[, K skipped]" and exits non-zero if anything failed.
# Run by make test-run from the repository root, which sets the environment (BUILD, CC,
# CXX, CLANG, PYTHON, STB_INC, STRICT, FUZZ_SECONDS, MAKE). Tests write only under $BUILD
# and temporary folders; the last line before the count checks that.
# Arguments, if any, are the names of the entries to run (make check-robust).
set -u
only=" $* "
BUILD=${BUILD:-build}
export BUILD
# Python would write __pycache__ next to the helpers it imports (tests/lib, tools)
export PYTHONDONTWRITEBYTECODE=1
pass=0 fail=0 skip=0
log=$(mktemp)
tree=$(mktemp)
trap 'rm -f "$log" "$tree"' EXIT
sh tests/repo/tree.sh snapshot "$tree"

run() {
    name=$1
    shift
    case "$only" in "  " | *" $name "*) ;; *) return ;; esac
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    p=$(grep -c '^PASS:' "$log")
    f=$(grep -c '^FAIL:' "$log")
    s=$(grep -c '^SKIP:' "$log")
    grep -E '^(FAIL|SKIP):' "$log"
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL: $name: exited with status $rc; its last lines:"
        tail -n 15 "$log" | sed 's/^/    /'
        f=1
    fi
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
    echo "-- $name: $p passed, $f failed, $s skipped ($(($(date +%s) - start)) s)"
}

# The list of test programs: each entry is a name and a command. tests/KIND/ holds them.
run core       "$BUILD/test_core"
run stream     "$BUILD/test_stream"
run isbi       "$BUILD/test_isbi"
run numpy-ref  sh tests/core/numpy_ref.sh
run matrix     sh tests/core/matrix.sh
run cli        sh tests/cli/test_cli.sh
run eval       sh tests/cli/test_eval.sh
run demo       sh tests/cli/test_demo.sh
run examples   sh tests/examples/test_examples.sh
run volume     sh tests/volume/test_volume.sh
run slurm      sh tests/volume/test_slurm.sh
run torch      sh tests/torch/test_torch.sh
run opencl     "$BUILD/test_opencl"
run opencl-embed sh tests/opencl/test_opencl_embed.sh
run opencl-cli sh tests/opencl/test_opencl_cli.sh
run device-check sh tests/opencl/test_device_check.sh
run import     "$BUILD/test_import"
run import-cli sh tests/import/test_import_cli.sh
run onnx-node  sh tests/import/test_onnx_node.sh
run torch-export "${PYTHON:-/usr/bin/python3}" tests/torch/test_onnx_export.py "$BUILD"
run interop    "${PYTHON:-/usr/bin/python3}" tests/import/test_interop.py "$BUILD"
run fuzz-smoke sh tests/fuzz/fuzz_smoke.sh
run alloc-sweep "$BUILD/alloc_sweep"
run bad-images "${PYTHON:-/usr/bin/python3}" tests/robust/bad_images.py "$BUILD/fcn" "$BUILD/bad-images"
run disk-full  sh tests/robust/disk_full.sh
run sanitizers sh tests/robust/sanitize.sh
run compile    sh tests/package/test_compile.sh
run install    sh tests/package/test_install.sh
run port       sh tests/port/test_port.sh
run flags      sh tests/port/test_flags.sh
run duplicates sh tests/repo/test_duplicates.sh
run tree       sh tests/repo/tree.sh check "$tree"

if [ "$skip" -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
