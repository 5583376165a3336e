#!/bin/sh
# make device-check, exercised here without a GPU: prints PASS/FAIL/SKIP lines for
# tests/run.sh.
#  1. The built-in ICD loader (tools/device/icd_loader.c): every call it forwards, on
#     PoCL, with its dispatch positions checked against Khronos' CL/cl_icd.h at compile
#     time; and the other way device-check links, the machine's libOpenCL.so.1 by its
#     path with the carried headers.
#  2. device-check end to end, as on a GPU node with NVIDIA's driver and no loader:
#     OCL_ICD_VENDORS empty, and a folder holding a "libnvidia-opencl.so.1" that is PoCL
#     (with PoCL's own files beside it, where PoCL looks for them): device-check must
#     write the ICD file, build with the built-in loader, say that it found no GPU, and
#     (--cpu --quick) check the CPU device: test_opencl and bench_opencl, one summary.
. tests/lib/lib.sh
CC=${CC:-cc}
[ -n "${HOME:-}" ] && [ -w "${HOME:-/nonexistent}" ] || export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$T/pocl}"
# a library's path: ldconfig's cache (in /sbin, not always on a user's PATH), else the usual folders
findlib() {
    f=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null | sed -n "s/.*$1 .*=> \(.*\)/\1/p" | head -n 1)
    for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
        [ -z "$f" ] && [ -e "$d/$1" ] && f=$d/$1
    done
    echo "$f"
}
pocl=$(findlib libpocl.so.2)
if [ -z "$pocl" ] || [ ! -e "$pocl" ]; then
    if [ -n "${CI:-}" ]; then fail device-check "no PoCL (pocl-opencl-icd) to run it on"; else echo "SKIP: device-check: no PoCL (pocl-opencl-icd)"; fi
    exit 0
fi

# 1. the loaders; the built-in one's dispatch positions are checked where Khronos'
#    cl_icd.h is installed (icd_check.c then includes the loader itself)
src="tests/opencl/icd_check.c tools/device/icd_loader.c" what="dispatch positions not checked: no /usr/include/CL/cl_icd.h"
[ -f /usr/include/CL/cl_icd.h ] && src="-DCHECK_POSITIONS tests/opencl/icd_check.c" what="dispatch positions as in CL/cl_icd.h"
# shellcheck disable=SC2086
if $CC -std=c99 -Wall -Wextra -I tools/device/include -I /usr/include $src -o "$T/icd-builtin" -ldl 2>"$T/err"; then
    "$T/icd-builtin" "device-check: the built-in ICD loader ($what)" || true
else
    fail device-check-builtin-loader "does not compile: $(head -c 600 "$T/err")"
fi
syslib=$(findlib libOpenCL.so.1)
if [ -z "$syslib" ]; then
    echo "SKIP: device-check: the system loader: no libOpenCL.so.1"
elif $CC -std=c99 -Wall -Wextra -isystem tools/device/include tests/opencl/icd_check.c "$syslib" -o "$T/icd-system" 2>"$T/err"; then
    "$T/icd-system" "device-check: $syslib linked by its path, with the carried headers" || true
else
    fail device-check-system-loader "does not link with $syslib: $(head -c 600 "$T/err")"
fi

# 2. a pretend NVIDIA driver: PoCL under NVIDIA's library name, PoCL's files where it
#    looks for them (relative to its library's folder)
arch=$(basename "$(dirname "$pocl")")
lib=$T/nv/lib/$arch
mkdir -p "$lib" "$T/nv/share" "$T/vendors"
ln -s "$pocl" "$lib/libnvidia-opencl.so.1"
ln -s "$(dirname "$pocl")/pocl" "$lib/pocl"
ln -s /usr/share/pocl "$T/nv/share/pocl"
OCL_ICD_VENDORS="$T/vendors" DEVICE_CHECK_LIBDIRS="$lib" BUILD="$T/build" \
    sh tools/device_check.sh --cpu --quick --loader builtin >"$T/out" 2>&1
rc=$?
sum=$T/build/device-check/summary.txt
check() { # name, pattern (fixed string) in the summary
    if grep -qF -- "$2" "$sum" 2>/dev/null; then pass "$1"; else fail "$1" "no '$2' in its summary: $(head -c 1500 "$T/out")"; fi
}
if [ $rc -eq 0 ] && [ -f "$sum" ] && cmp -s "$sum" "$T/out"; then pass "device-check: --cpu --quick on PoCL ends 0, its summary printed and written"
else fail "device-check: --cpu --quick on PoCL ends 0, its summary printed and written" "exit $rc: $(tail -c 1500 "$T/out")"; fi
check "device-check: writes the ICD file for libnvidia-opencl.so.1" "$lib/libnvidia-opencl.so.1 (ICD file written: fcn-nvidia.icd)"
check "device-check: builds with the built-in loader" "OpenCL loader: built in (tools/device/icd_loader.c)"
check "device-check: says clearly that it found no GPU" "NO GPU among the 1 OpenCL device(s) found"
check "device-check: the device found through the written ICD file is checked" "device 0: "
check "device-check: bits equal, test_opencl passing" "bits equal to the C path: yes (test_opencl: "
check "device-check: n4 on the first size" "n4   128x128"
check "device-check: n4 on the big size" "n4   256x256"
check "device-check: w49" "w49  25x256"
if [ "$(grep -c 'bits: same$' "$sum" 2>/dev/null)" = 3 ]; then pass "device-check: the three benchmark maps are the C path's bits"
else fail "device-check: the three benchmark maps are the C path's bits" "$(grep -E '^ +(n4|w49) ' "$sum")"; fi
