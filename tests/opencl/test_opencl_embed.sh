#!/bin/sh
# Checks that the OpenCL program embedded in fcn_opencl.h is current: regenerates the
# header with tools/embed_opencl.sh (opencl/fcn_prelude.cl + fcn.h's fcn-arith section +
# opencl/fcn.cl + opencl/fcn_tiled.cl) into a temporary file and compares. Then syntax-checks the program as
# OpenCL C 1.2 with clang, for each vector width the host may choose (skipped without a
# clang that has the OpenCL headers). Prints PASS/FAIL/SKIP lines for tests/run.sh.
set -u
cd "$(dirname "$0")/../.." || exit 1
CLANG=${CLANG:-clang}
tmp=$(mktemp)
prog=$(mktemp)
trap 'rm -f "$tmp" "$prog" "$prog.cl"' EXIT

if ! sh tools/embed_opencl.sh fcn_opencl.h >"$tmp"; then
    echo "FAIL: opencl-embed: tools/embed_opencl.sh failed"
elif cmp -s "$tmp" fcn_opencl.h; then
    echo "PASS: opencl-embed: fcn_opencl.h holds opencl/*.cl and fcn.h's fcn-arith section as they are"
else
    echo "FAIL: opencl-embed: fcn_opencl.h's embedded program is stale; run 'make opencl-embed' (diff follows)"
    diff fcn_opencl.h "$tmp" | head -20 | sed 's/^/    /'
fi

sh tools/embed_opencl.sh --source >"$prog.cl"
if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "SKIP: opencl-syntax: no $CLANG"
elif ! echo 'kernel void k(global float *p) { p[0] = fma(p[1], p[2], p[3]); }' >"$prog" ||
     ! "$CLANG" -x cl -cl-std=CL1.2 -Xclang -finclude-default-header -fsyntax-only "$prog" 2>/dev/null; then
    echo "SKIP: opencl-syntax: $CLANG cannot check OpenCL C (no opencl-c.h)"
else
    bad=""
    # the vector widths the host may choose, each with a register block of the tiled kernel
    for v in "4 1 1 4" "8 4 4 4" "16 2 4 8" "8 4 4 8"; do
        set -- $v
        out=$("$CLANG" -x cl -cl-std=CL1.2 -Xclang -finclude-default-header -fsyntax-only -Wall -Wextra -Werror \
            -DFCN_CL_VX=$1 -DFCN_CL_VOM=4 -DFCN_CL_OM=4 -DFCN_CL_RY=$2 -DFCN_CL_RX=$3 -DFCN_CL_RM=$4 "$prog.cl" 2>&1) ||
            bad="$bad vx=$1 block=$2x$3x$4: $out"
    done
    if [ -z "$bad" ]; then
        echo "PASS: opencl-syntax: the program is clean OpenCL C 1.2 ($CLANG -Wall -Wextra, vector widths 4, 8, 16, tiled blocks 1x1x4 to 4x4x8)"
    else
        echo "FAIL: opencl-syntax:$(echo "$bad" | head -c 600)"
    fi
fi

# The tiled kernel's register blocks stay in registers on a real GPU instruction set:
# each block of fcn_opencl.h's shape table (fcn__cl_tiles) compiled by clang's AMDGPU
# back end for gfx90a (AMD Instinct MI200) must use no scratch memory (no spills). The
# OpenCL built-ins the kernel calls are mapped to the back end's own, as AMD's device
# library would (it is not installed here); the work-group size stays a run-time value.
if ! command -v "$CLANG" >/dev/null 2>&1 || ! echo 'kernel void k(global float *p) { p[0] = 1.0f; }' >"$prog" ||
     ! "$CLANG" -x cl -cl-std=CL1.2 -nogpulib -target amdgcn-amd-amdhsa -mcpu=gfx90a -c -o /dev/null "$prog" 2>/dev/null; then
    echo "SKIP: opencl-registers: $CLANG has no AMDGPU back end"
else
    {
        cat <<'PRE'
#define get_local_id(d) ((d) == 0 ? __builtin_amdgcn_workitem_id_x() : (d) == 1 ? __builtin_amdgcn_workitem_id_y() : __builtin_amdgcn_workitem_id_z())
#define get_group_id(d) ((d) == 0 ? __builtin_amdgcn_workgroup_id_x() : (d) == 1 ? __builtin_amdgcn_workgroup_id_y() : __builtin_amdgcn_workgroup_id_z())
#define get_local_size(d) ((uint)((__constant ushort *)__builtin_amdgcn_dispatch_ptr())[2 + (d)])
#define barrier(f) __builtin_amdgcn_s_barrier()
#define fma(a, b, c) __builtin_fmaf(a, b, c)
#define min(a, b) ((a) < (b) ? (a) : (b))
PRE
        cat opencl/fcn_tiled.cl
    } >"$prog.cl"
    blocks=$(sed -n 's/^    {\([0-9]*\), \([0-9]*\), \([0-9]*\), [0-9]*, [0-9]*, [0-9]*, ".*/\1x\2x\3/p' fcn_opencl.h | sort -u)
    bad="" seen=""
    for b in $blocks; do
        ry=${b%%x*} rest=${b#*x} rx=${rest%%x*} rm=${rest#*x}
        if ! "$CLANG" -x cl -cl-std=CL1.2 -Xclang -finclude-default-header -nogpulib -target amdgcn-amd-amdhsa \
            -mcpu=gfx90a -O3 -S -o "$prog" -DFCN_CL_RY=$ry -DFCN_CL_RX=$rx -DFCN_CL_RM=$rm "$prog.cl" 2>"$prog.err"; then
            bad="$bad $b: $(head -c 300 "$prog.err")"
            continue
        fi
        scratch=$(sed -n 's/.*; ScratchSize: \([0-9]*\).*/\1/p' "$prog" | head -n 1)
        vgprs=$(sed -n 's/.*; NumVgprs: \([0-9]*\).*/\1/p' "$prog" | head -n 1)
        fmas=$(grep -c 'v_\(pk_\)\{0,1\}fma' "$prog")
        [ "$scratch" = 0 ] && [ "$fmas" -gt 0 ] || bad="$bad $b: scratch ${scratch:-?} bytes, $fmas fma instructions"
        seen="$seen $b:${vgprs}"
    done
    rm -f "$prog.err"
    if [ -z "$blocks" ]; then
        echo "FAIL: opencl-registers: no register blocks found in fcn_opencl.h's shape table"
    elif [ -z "$bad" ]; then
        echo "PASS: opencl-registers: every register block of the tiled kernel compiles for AMD gfx90a without spilling (block:VGPRs$seen)"
    else
        echo "FAIL: opencl-registers:$bad"
    fi
fi
