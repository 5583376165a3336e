#!/bin/sh
# Embeds the OpenCL kernel source into fcn_opencl.h.
#
#   sh tools/embed_opencl.sh [HEADER]        prints HEADER (default fcn_opencl.h) with the
#                                            text between its "fcn-opencl-source begin"
#                                            and "fcn-opencl-source end" lines regenerated
#   sh tools/embed_opencl.sh --source        prints the program text itself
#
# The program is opencl/fcn_prelude.cl, then the "fcn-arith" section of fcn.h (the
# lines after the comment that holds "fcn-arith begin", up to the line that holds
# "fcn-arith end"), then opencl/fcn.cl, then opencl/fcn_tiled.cl. It is emitted as an
# array of C string pieces, each at most 3000 characters (C99 guarantees 4095 per
# literal), split at line ends, for clCreateProgramWithSource; FCN__CL_TILED_PIECE is
# the first piece of fcn_tiled.cl (the host repeats those pieces, once per register
# block). Run from anywhere; paths are relative to the repo root.
# `make opencl-embed` rewrites fcn_opencl.h; tests/opencl/test_opencl_embed.sh checks it is current.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

arith() {
    awk '
        state == 0 && /fcn-arith begin/ { state = 1 }
        state == 1 { if (index($0, "*/")) state = 2; next }
        state == 2 && /fcn-arith end/ { state = 3; exit }
        state == 2 { print }
        END { if (state != 3) { print "embed_opencl.sh: no fcn-arith section in fcn.h" > "/dev/stderr"; exit 1 } }
    ' "$root/fcn.h"
}

# The program text, each part preceded by a line "@@PART name" (not part of the text).
parts() {
    echo "@@PART opencl/fcn_prelude.cl"
    cat "$root/opencl/fcn_prelude.cl"
    echo "@@PART fcn.h, the fcn-arith section"
    arith
    echo "@@PART opencl/fcn.cl"
    cat "$root/opencl/fcn.cl"
    echo "@@PART opencl/fcn_tiled.cl"
    cat "$root/opencl/fcn_tiled.cl"
}

if [ "${1:-}" = "--source" ]; then
    parts | grep -v '^@@PART '
    exit 0
fi

header=${1:-$root/fcn_opencl.h}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
parts >"$tmp"

awk -v src="$tmp" '
function flush() {
    if (open) { print pending ","; open = 0 }
}
function emit(   line, n, pieces, e) {
    print "static const char *const fcn__cl_source[] = {"
    size = 0; open = 0; pieces = 0
    while ((getline line < src) > 0) {
        if (line ~ /^@@PART /) {
            flush()
            print "    /* " substr(line, 8) " */"
            if (line ~ /fcn_tiled[.]cl/) tiled = pieces
            size = 0
            continue
        }
        n = length(line) + 1
        if (open && size + n > 3000) { flush(); size = 0 }
        if (open) print pending
        else { open = 1; pieces++ }
        e = line
        gsub(/\\/, "\\\\", e)
        gsub(/"/, "\\\"", e)
        gsub(/\?/, "\\?", e)
        gsub(/\t/, "\\t", e)
        pending = "    \"" e "\\n\""
        size += n
    }
    flush()
    close(src)
    print "};"
    print "#define FCN__CL_SOURCE_PIECES " pieces
    print "#define FCN__CL_TILED_PIECE " tiled
}
/fcn-opencl-source end/ { skip = 0 }
!skip { print }
/fcn-opencl-source begin/ { emit(); skip = 1; found = 1 }
END { if (!found) { print "embed_opencl.sh: no fcn-opencl-source begin line in the header" > "/dev/stderr"; exit 1 } }
' "$header"
