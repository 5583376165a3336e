#!/bin/sh
# make device-check: the OpenCL path on every GPU of this machine, in one command and
# under 5 minutes, for a machine with no package access. Builds test_opencl and
# bench_opencl from this repository with only a C compiler and the stb headers, finds
# the OpenCL drivers installed (and NVIDIA's libnvidia-opencl.so.1, through an ICD file
# it writes into a temporary OCL_ICD_VENDORS folder), runs the bit tests and the
# benchmark on each GPU and prints one summary (also written to $BUILD/device-check/).
#
#   sh tools/device_check.sh [--cpu] [--quick] [--loader auto|system|builtin]
#     --cpu      check CPU (and other) OpenCL devices too, e.g. PoCL; else GPUs only
#     --quick    for CPU drivers: small benchmark maps (n4 128x128 and 256x256, w49
#                25x256), test_opencl --quick (fewer random nets, no 95x95 net on the
#                slow simple kernel)
#     --loader   system: link the machine's libOpenCL.so.1 (Khronos' or ocl-icd's ICD
#                loader) by its path; builtin: build tools/device/icd_loader.c into the
#                programs instead; auto (default): system if there is one, else builtin
#
# What it needs, and where it looks (README, "The OpenCL path on a GPU"):
#   a C compiler     $CC, else cc, gcc or clang
#   OpenCL headers   carried: tools/device/include/CL (Khronos, Apache-2.0)
#   stb_image.h      $STB_INC, /usr/include/stb, $BUILD/device-pack/stb (make device-pack)
#   ISBI slices      $FCN_DATA, ../shared/data/isbi2012, $BUILD/device-pack/isbi2012;
#                    without them the ISBI tests skip and the benchmark uses a synthetic image
#   drivers          the *.icd files of $OCL_ICD_VENDORS (else /etc/OpenCL/vendors), plus
#                    an ICD file for libnvidia-opencl.so.1 if none names it yet: its path
#                    where $DEVICE_CHECK_LIBDIRS (a space-separated list), LD_LIBRARY_PATH,
#                    a usual folder or ldconfig has it, else its bare name
# Environment: CC, DEVICE_CHECK_CFLAGS (default -O3 -march=native), BUILD, STB_INC,
# FCN_DATA, OCL_ICD_VENDORS, DEVICE_CHECK_LIBDIRS. Exit status 0 only if every device
# checked has the C path's bits in every test and map.
set -u
cd "$(dirname "$0")/.." || exit 1
start=$(date +%s)
BUILD=${BUILD:-build}
cpu=0 quick=0 loader=auto
while [ $# -gt 0 ]; do
    case $1 in
    --cpu) cpu=1 ;;
    --quick) quick=1 ;;
    --loader) loader=${2:-}; shift ;;
    *) echo "usage: device_check.sh [--cpu] [--quick] [--loader auto|system|builtin]" >&2; exit 2 ;;
    esac
    shift
done
case $loader in auto | system | builtin) ;; *) echo "device-check: --loader auto, system or builtin" >&2; exit 2 ;; esac
out=$BUILD/device-check
rm -rf "$out"
mkdir -p "$out" || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
summary=$out/summary.txt
say() { echo "$*" | tee -a "$summary"; }
die() { say "device-check: $*"; exit 1; }

# ---- what to build with ---------------------------------------------------------------
cc=${CC:-}
[ -n "$cc" ] && command -v "$cc" >/dev/null 2>&1 || cc=
for c in cc gcc clang; do [ -z "$cc" ] && command -v $c >/dev/null 2>&1 && cc=$c; done
[ -n "$cc" ] || die "no C compiler (cc, gcc or clang; or set CC)"
stb=
for d in ${STB_INC:-} /usr/include/stb "$BUILD/device-pack/stb"; do
    [ -z "$stb" ] && [ -f "$d/stb_image.h" ] && stb=$d
done
[ -n "$stb" ] || die "no stb_image.h: set STB_INC to its folder, or run 'make device-pack' on a machine with libstb-dev and bring $BUILD/device-pack along"
data=
for d in ${FCN_DATA:-} ../shared/data/isbi2012 "$BUILD/device-pack/isbi2012"; do
    [ -z "$data" ] && [ -f "$d/train-images/0.png" ] && data=$d
done

# the drivers: the vendors' ICD files, and NVIDIA's library if none names it
vendors=$tmp/vendors
mkdir "$vendors"
src=${OCL_ICD_VENDORS:-/etc/OpenCL/vendors}
for f in "$src" "$src"/*.icd; do case $f in *.icd) [ -f "$f" ] && cp "$f" "$vendors/" ;; esac; done
nvlib=
for d in ${DEVICE_CHECK_LIBDIRS:-} $(echo "${LD_LIBRARY_PATH:-}" | tr ':' ' ') /usr/lib/x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/nvidia/current /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib64/nvidia /usr/lib \
    /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib; do
    [ -z "$nvlib" ] && [ -e "$d/libnvidia-opencl.so.1" ] && nvlib=$d/libnvidia-opencl.so.1
done
[ -z "$nvlib" ] && nvlib=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null | sed -n 's/.*libnvidia-opencl\.so\.1 .*=> \(.*\)/\1/p' | head -n 1)
if grep -qs 'libnvidia-opencl' "$vendors"/*.icd; then
    icdnote="${nvlib:-libnvidia-opencl.so.1} (an installed ICD file names it)"
elif [ -n "$nvlib" ]; then
    echo "$nvlib" >"$vendors/fcn-nvidia.icd"
    icdnote="$nvlib (ICD file written: fcn-nvidia.icd)"
else
    # not found on disk: the dynamic linker may still know it (a bare name costs nothing)
    echo "libnvidia-opencl.so.1" >"$vendors/fcn-nvidia.icd"
    icdnote="libnvidia-opencl.so.1 not found in the usual folders (ICD file written with the bare name: fcn-nvidia.icd)"
fi
export OCL_ICD_VENDORS="$vendors"

# the ICD loader: the machine's libOpenCL.so.1, linked by its path (no -dev package
# needed), or tools/device/icd_loader.c built in
syslib=$( (ldconfig -p || /sbin/ldconfig -p) 2>/dev/null | sed -n 's/.*libOpenCL\.so\.1 .*=> \(.*\)/\1/p' | head -n 1)
for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/cuda/lib64; do
    [ -z "$syslib" ] && [ -e "$d/libOpenCL.so.1" ] && syslib=$d/libOpenCL.so.1
done
if [ "$loader" = system ] && [ -z "$syslib" ]; then die "--loader system: no libOpenCL.so.1 on this machine"; fi
if [ "$loader" = builtin ] || [ -z "$syslib" ]; then
    loader=builtin
    link="tools/device/icd_loader.c -ldl"
    loadnote="built in (tools/device/icd_loader.c)"
else
    loader=system
    link=$syslib
    loadnote="$syslib"
fi

flags="-std=c99 -ffp-contract=off -fno-fast-math ${DEVICE_CHECK_CFLAGS:--O3 -march=native} -I. -isystem tools/device/include -isystem $stb"
build() { # name, source
    # shellcheck disable=SC2086
    $cc $flags "$2" $link -o "$tmp/$1" -lm -pthread >"$out/build-$1.log" 2>&1
}

say "device-check: fcn.h $(sed -n 's/^#define FCN_VERSION_STRING "\(.*\)"/\1/p' fcn.h), $(git describe --always --dirty 2>/dev/null || echo 'not a git checkout'), $(date -u '+%Y-%m-%d %H:%M UTC')"
say "  host: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc 2>/dev/null || echo '?') CPUs; compiler: $($cc --version 2>/dev/null | head -n 1)"
say "  OpenCL loader: $loadnote; ICD files: $(cd "$vendors" && ls | tr '\n' ' ')"
say "  NVIDIA driver: $icdnote"
say "  ISBI data: ${data:-none (ISBI tests skip; the benchmark uses a synthetic image)}"

# bench_opencl first: it lists the devices
build bench_opencl bench/bench_opencl.c || die "building bench_opencl failed ($cc): $(head -c 600 "$out/build-bench_opencl.log")"
"$tmp/bench_opencl" --list >"$tmp/devices" 2>"$out/devices.err" || die "no OpenCL device to check: $(cat "$out/devices.err")"
ndev=$(wc -l <"$tmp/devices")
sel=$(awk -F'\t' '$2 == "gpu" { print $1 }' "$tmp/devices")
if [ -z "$sel" ]; then
    say "device-check: NO GPU among the $ndev OpenCL device(s) found:"
    sed 's/^/    /' "$tmp/devices" | tee -a "$summary"
    if [ "$cpu" = 0 ]; then
        say "  nothing measured (--cpu checks CPU devices too: make device-check DEVICE_CHECK_ARGS=\"--cpu --quick\")"
        exit 1
    fi
    say "  checking the other devices, as asked (--cpu); no GPU figures come from this run"
fi
[ "$cpu" = 1 ] && sel=$(cut -f1 "$tmp/devices")
build test_opencl tests/opencl/test_opencl.c || die "building test_opencl failed ($cc): $(head -c 600 "$out/build-test_opencl.log")"

# each device: the bit tests, then the benchmark; one tuning cache for both
[ -n "$data" ] && export FCN_DATA="$data"
export FCN_OPENCL_CACHE="$tmp/tune"
# PoCL (a CPU driver) keeps compiled kernels under $HOME/.cache unless told otherwise
[ -z "${POCL_CACHE_DIR:-}" ] && ! [ -w "${HOME:-/nonexistent}" ] && export POCL_CACHE_DIR="$tmp/pocl"
limit=$(command -v timeout >/dev/null 2>&1 && echo "timeout" || echo "")
status=0
for i in $sel; do
    name=$(awk -F'\t' -v i="$i" '$1 == i { print $4 " (" $5 ", driver " $6 ")" }' "$tmp/devices")
    t0=$(date +%s)
    FCN_OPENCL_DEVICE=$i ${limit:+$limit 120} "$tmp/test_opencl" $([ "$quick" = 1 ] && echo --quick) >"$out/test-$i.log" 2>&1
    rc=$?
    p=$(grep -c '^PASS:' "$out/test-$i.log") f=$(grep -c '^FAIL:' "$out/test-$i.log") s=$(grep -c '^SKIP:' "$out/test-$i.log")
    t1=$(date +%s)
    ${limit:+$limit 120} "$tmp/bench_opencl" --device "$i" $([ "$quick" = 1 ] && echo --quick) >"$out/bench-$i.log" 2>&1
    brc=$?
    t2=$(date +%s)
    bits=yes
    [ "$rc" -ne 0 ] || [ "$f" -ne 0 ] || [ "$brc" -ne 0 ] && bits=NO
    [ "$bits" = yes ] || status=1
    say ""
    say "device $i: $name"
    say "  bits equal to the C path: $bits (test_opencl: $p passed, $f failed, $s skipped, exit $rc, $((t1 - t0)) s;" \
        "bench_opencl exit $brc, $((t2 - t1)) s)"
    [ "$rc" = 124 ] && say "  test_opencl ran out of time (120 s)"
    [ "$brc" = 124 ] && say "  bench_opencl ran out of time (120 s)"
    grep '^FAIL:' "$out/test-$i.log" | head -n 5 | cut -c1-300 | sed 's/^/  /' | tee -a "$summary"
    grep -E '^(FP32 peak|kernel|tiled shape|  tuning layer|  net |  n4 |  w49 |bits:)' "$out/bench-$i.log" |
        sed 's/^/  /' | tee -a "$summary"
    [ "$brc" -ne 0 ] && grep -v -E '^(device|FP32|kernel|tiled|  |image|bits)' "$out/bench-$i.log" | head -n 5 |
        sed 's/^/  bench: /' | tee -a "$summary"
done
say ""
say "device-check: $(echo "$sel" | wc -w) device(s) in $(($(date +%s) - start)) s; logs and this summary in $out/"
exit $status
