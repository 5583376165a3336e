#!/bin/sh
# The same bits on every target: tests/port/port.c built for this machine (the
# reference, $BUILD/port) and for
#   aarch64-neon  the NEON kernels;
#   s390x         big-endian (the model formats are little-endian on disk), and float
#                 evaluated in double (FLT_EVAL_METHOD 1 under -std=c99);
#   i686-x87      32-bit, float evaluated in long double (FLT_EVAL_METHOD 2);
#   i686-sse2     32-bit with SSE2 arithmetic;
# each run under qemu-user (a 32-bit x86 program directly where the kernel runs it) and
# compared with the reference bit for bit (port.c says what it computes). On every
# target also examples/slide (the slide's own known output); on s390x and i686-x87
# tests/import/test_import.c (the Caffe and ONNX readers big-endian and 32-bit); on
# i686-x87 the fcn tool at sizes past 32 bits: `fcn info --size 8192x2700` and a
# 32768 x 32768 PNG (refused, not a crash).
#
# Needs Debian's qemu-user and gcc-aarch64-linux-gnu, gcc-s390x-linux-gnu,
# gcc-i686-linux-gnu with libc6-dev-arm64-cross, libc6-dev-s390x-cross and
# libc6-dev-i386-cross (the Makefile's DEB_PKGS: make deps installs them as root). A
# target whose compiler or qemu is missing is skipped with a line that says which (a
# FAIL in CI, which installs them). Static builds (nothing of the target's is needed at
# run time) in $BUILD/cross/. Run from the repository root; PASS/FAIL/SKIP lines.
# Env: BUILD, STRICT, STB_INC, PYTHON, FCN_DATA, PORT_JOBS (targets at a time, default 2).
. tests/lib/lib.sh
STRICT=${STRICT:--std=c99 -pedantic -Wall -Wextra -Wsign-conversion -Wstrict-prototypes -Wshadow -ffp-contract=off -fno-fast-math}
STB_INC=${STB_INC:-/usr/include/stb}
X=$BUILD/cross
mkdir -p "$X" || { fail port "cannot create $X"; exit 1; }
start=$(date +%s)

# ---- the reference: this machine's build ----------------------------------------------
native=native-$(uname -m)
if [ ! -x "$BUILD/port" ]; then
    fail "port $native" "no $BUILD/port (make $BUILD/port)"
    exit 1
fi
runbin "port $native" "$BUILD/port" --write "$X/ref.bin" --name "$native" --tmp "$T"

# ---- the targets ----------------------------------------------------------------------
# name|compiler|flags|qemu|Debian packages
targets="aarch64-neon|aarch64-linux-gnu-gcc|-O2|qemu-aarch64|gcc-aarch64-linux-gnu libc6-dev-arm64-cross
s390x|s390x-linux-gnu-gcc|-O2|qemu-s390x|gcc-s390x-linux-gnu libc6-dev-s390x-cross
i686-x87|i686-linux-gnu-gcc|-O2|qemu-i386|gcc-i686-linux-gnu libc6-dev-i386-cross
i686-sse2|i686-linux-gnu-gcc|-O2 -msse2 -mfpmath=sse|qemu-i386|gcc-i686-linux-gnu libc6-dev-i386-cross"

# cc NAME OUT SOURCE...: one static build for target NAME ($comp $flags), its log beside it
cc_target() {
    out=$2
    shift 2
    # shellcheck disable=SC2086
    if ! $comp $STRICT $flags -I. -isystem "$STB_INC" -static "$@" -o "$out" -lm -pthread >"$out.log" 2>&1; then
        fail "$name: build $(basename "$out")" "$(grep -m 5 -E 'error|Error' "$out.log")"
        return 1
    fi
}

# 32-bit sizes through the fcn tool (i686): its output and status, not a crash
cli_32bit() {
    fcn=$1
    $run "$fcn" info models/isbi-n4.fcn --size 8192x2700 >"$T/$name-info" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q 'dense path: accepted' "$T/$name-info" && ! grep -qi 'refuse' "$T/$name-info" &&
        grep -E '^ +total ' "$T/$name-info" | grep -qv ' - '; then
        pass "$name: fcn info --size 8192x2700: the dense path accepted, its FLOPs counted"
    else
        fail "$name: fcn info --size 8192x2700" "status $rc: $(tail -n 3 "$T/$name-info")"
    fi
    if [ ! -x "$PYTHON" ]; then
        required "$name: fcn map on a 32768x32768 PNG" "no $PYTHON to write it"
        return
    fi
    # 1 bit a pixel, all zero: 140 kB of PNG, 4 GB of floats
    "$PYTHON" - "$T/huge.png" <<'EOF'
import struct, sys, zlib
w = h = 32768
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
z = zlib.compressobj(9)
row = b'\0' * (1 + w // 8)
idat = b''.join(z.compress(row) for _ in range(h)) + z.flush()
with open(sys.argv[1], 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0))
            + chunk(b'IDAT', idat) + chunk(b'IEND', b''))
EOF
    $run "$fcn" map models/isbi-n4.fcn "$T/huge.png" -o "$T/huge-map.png" >"$T/$name-huge" 2>&1
    rc=$?
    if [ $rc -eq 1 ] && grep -q "too large for this machine's address space" "$T/$name-huge" && [ ! -e "$T/huge-map.png" ]; then
        pass "$name: fcn map on a 32768x32768 PNG: refused, too large for 32 bits"
    else
        fail "$name: fcn map on a 32768x32768 PNG" "status $rc, expected 1 and a clear error: $(tail -n 3 "$T/$name-huge")"
    fi
}

# one_target NAME COMPILER FLAGS QEMU PACKAGES: builds and runs it (lines to stdout)
one_target() {
    name=$1 comp=$2 flags=$3 qemu=$4 pkgs=$5
    T=$T/$name # the targets run at the same time: a folder each (runbin's run.out)
    mkdir -p "$T"
    if ! command -v "$comp" >/dev/null 2>&1; then
        required "$name" "no $comp (apt-get install $pkgs qemu-user)"
        return
    fi
    cc_target "$name" "$X/port-$name" tests/port/port.c || return
    # a 32-bit x86 program runs directly where the kernel can (the usage error: status 2)
    run=$qemu
    if [ "$qemu" = qemu-i386 ]; then
        "$X/port-$name" >/dev/null 2>&1
        [ $? -eq 2 ] && run=""
    fi
    if [ -n "$run" ] && ! command -v "$run" >/dev/null 2>&1; then
        required "$name" "no $run (apt-get install qemu-user)"
        return
    fi
    # the membrane model's pixel (0.25 GFLOP) where it takes seconds: NEON, or natively
    n4=0
    [ "$name" = aarch64-neon ] || [ -z "$run" ] && n4=1
    t0=$(date +%s)
    runbin "$name" $run "$X/port-$name" --check "$X/ref.bin" --name "$name" --tmp "$T" --n4 $n4
    if cc_target "$name" "$X/slide-$name" examples/slide.c; then
        if $run "$X/slide-$name" --model models/slide-7x7x3.fcn >"$T/$name-slide" 2>&1; then
            pass "$name: examples/slide --model models/slide-7x7x3.fcn: both paths give the slide's output"
        else
            fail "$name: examples/slide" "$(tail -n 3 "$T/$name-slide")"
        fi
    fi
    case $name in s390x | i686-x87)
        cc_target "$name" "$X/test_import-$name" tests/import/test_import.c &&
            runbin "$name: test_import" $run "$X/test_import-$name" | sed -E "s/^(PASS|FAIL|SKIP): /\\1: $name: /"
        ;;
    esac
    if [ "$name" = i686-x87 ] && cc_target "$name" "$X/fcn-$name" cli/fcn.c; then
        cli_32bit "$X/fcn-$name"
    fi
    echo "# $name: $(($(date +%s) - t0)) s (${run:-run directly})"
}

jobs=${PORT_JOBS:-2}
running=0
names=""
while IFS='|' read -r name comp flags qemu pkgs; do
    names="$names $name"
    one_target "$name" "$comp" "$flags" "$qemu" "$pkgs" >"$X/$name.out" 2>&1 </dev/null &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done <<EOF
$targets
EOF
wait
for name in $names; do cat "$X/$name.out"; done
echo "# port: $(($(date +%s) - start)) s"
