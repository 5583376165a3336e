#!/bin/sh
# Tests the example programs and the README's quick-start sample. Run from the repository
# root; prints "PASS: name", "FAIL: name: why" or "SKIP: name: why" per case.
#   - $BUILD/slide reproduces the slide's worked example with both paths;
#   - the committed models/slide-7x7x3.fcn and tests/data/slide-x.npy are what
#     `slide --write-model` / `slide --write-input` write (reproducible);
#   - $BUILD/quickstart maps an image and writes the PNG that `fcn map` writes;
#   - the C code between <!-- quickstart begin --> and <!-- quickstart end --> in
#     README.md (in a ```c fence) is examples/quickstart.c verbatim and compiles with the
#     strict flags, warnings as errors.
. tests/lib/lib.sh
CC=${CC:-cc}
CLANG=${CLANG:-clang}
STB_INC=${STB_INC:-/usr/include/stb}
# the Makefile's strict flags (make test passes them), warnings as errors
STRICT="${STRICT:--std=c99 -pedantic -Wall -Wextra -Wsign-conversion -Wstrict-prototypes -Wshadow -ffp-contract=off -fno-fast-math} -O2 -Werror"

# ---- slide ----------------------------------------------------------------------------
if [ ! -x "$BUILD/slide" ]; then
    fail slide "$BUILD/slide not found (run make)"
else
    "$BUILD/slide" >"$T/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q 'paths agree bit for bit' "$T/out" && grep -q "match the slide's output" "$T/out" &&
        grep -q 'corrected' "$T/out"; then
        pass slide
    else
        fail slide "exit $rc; output: $(tail -n 3 "$T/out")"
    fi
    "$BUILD/slide" --model models/slide-7x7x3.fcn >"$T/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q 'paths agree bit for bit' "$T/out"; then pass slide-committed-model
    else fail slide-committed-model "exit $rc; output: $(tail -n 3 "$T/out")"; fi
    "$BUILD/slide" --write-model "$T/slide.fcn" 2>"$T/err" && "$BUILD/slide" --write-input "$T/slide-x.npy" 2>>"$T/err"
    if [ $? -ne 0 ]; then fail slide-reproducible "$(cat "$T/err")"
    elif ! cmp -s "$T/slide.fcn" models/slide-7x7x3.fcn; then
        fail slide-reproducible "models/slide-7x7x3.fcn differs from 'slide --write-model'"
    elif ! cmp -s "$T/slide-x.npy" tests/data/slide-x.npy; then
        fail slide-reproducible "tests/data/slide-x.npy differs from 'slide --write-input'"
    else pass slide-reproducible; fi
    "$BUILD/slide" --bogus >/dev/null 2>&1
    rc=$?
    if [ $rc -eq 2 ]; then pass slide-usage; else fail slide-usage "exit $rc for a bad option, expected 2"; fi
fi

# ---- quickstart -----------------------------------------------------------------------
if [ ! -x "$BUILD/quickstart" ]; then
    fail quickstart "$BUILD/quickstart not found (run make)"
elif ! "$PYTHON" -c 'import zlib' >/dev/null 2>&1; then
    skip quickstart "no $PYTHON to write a test PNG"
else
    # a small RGB PNG of pseudo-random pixels
    "$PYTHON" - "$T/in.png" <<'EOF'
import struct, sys, zlib
w, h, x, raw = 21, 14, 11, bytearray()
for _ in range(h):
    raw.append(0)
    for _ in range(w * 3):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        raw.append((x >> 16) & 0xff)
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
                              + chunk(b'IDAT', zlib.compress(bytes(raw))) + chunk(b'IEND', b''))
EOF
    "$BUILD/quickstart" models/slide-7x7x3.fcn "$T/in.png" "$T/out.png" >"$T/out" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || [ ! -s "$T/out.png" ]; then
        fail quickstart "exit $rc, no PNG: $(cat "$T/out")"
    else
        pass quickstart
        # the same map, class 0, written by fcn map: the same PNG bytes
        if [ -x "$BUILD/fcn" ]; then
            if "$BUILD/fcn" map models/slide-7x7x3.fcn "$T/in.png" -o "$T/fcn.png" -q >"$T/out" 2>&1 &&
                cmp -s "$T/out.png" "$T/fcn.png"; then
                pass quickstart-equals-fcn-map
            else
                fail quickstart-equals-fcn-map "quickstart's PNG differs from fcn map's: $(cat "$T/out")"
            fi
        fi
    fi
    "$BUILD/quickstart" >/dev/null 2>&1
    rc=$?
    if [ $rc -ne 0 ]; then pass quickstart-usage; else fail quickstart-usage "exit 0 without arguments"; fi
    "$BUILD/quickstart" models/slide-7x7x3.fcn "$T/nothere.png" "$T/x.png" >/dev/null 2>"$T/err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q nothere "$T/err"; then pass quickstart-bad-image
    else fail quickstart-bad-image "exit $rc: $(cat "$T/err")"; fi
fi

# ---- the README's quick-start sample --------------------------------------------------
if [ ! -f README.md ]; then
    fail readme-quickstart "README.md not found (it must hold the sample between <!-- quickstart begin --> and <!-- quickstart end -->)"
elif ! grep -q '^<!-- quickstart begin -->' README.md || ! grep -q '^<!-- quickstart end -->' README.md; then
    fail readme-quickstart "README.md lacks the markers <!-- quickstart begin --> and <!-- quickstart end -->"
else
    # the lines inside the ```c fence between the markers
    awk '/^<!-- quickstart begin -->/ { on = 1; next }
         /^<!-- quickstart end -->/ { on = 0 }
         on && /^```c[ \t]*$/ { code = 1; next }
         on && code && /^```[ \t]*$/ { code = 0; next }
         on && code { print }' README.md >"$T/readme_quickstart.c"
    if [ ! -s "$T/readme_quickstart.c" ]; then
        fail readme-quickstart "no \`\`\`c fence between the quickstart markers in README.md"
    else
        if diff -u examples/quickstart.c "$T/readme_quickstart.c" >"$T/diff" 2>&1; then
            pass readme-quickstart-is-example
        else
            fail readme-quickstart-is-example "README.md's sample differs from examples/quickstart.c (paste it verbatim): $(sed -n '3,10p' "$T/diff" | cut -c1-80)"
        fi
        for cc in "$CC" "$CLANG"; do
            if ! command -v "$cc" >/dev/null 2>&1; then
                skip "readme-quickstart-compiles-$cc" "no $cc"
                continue
            fi
            # shellcheck disable=SC2086
            if $cc $STRICT -I. -isystem "$STB_INC" "$T/readme_quickstart.c" -o "$T/readme_quickstart" -lm -pthread >"$T/err" 2>&1; then
                pass "readme-quickstart-compiles-$cc"
            else
                fail "readme-quickstart-compiles-$cc" "$(head -n 10 "$T/err")"
            fi
        done
    fi
fi
exit 0
