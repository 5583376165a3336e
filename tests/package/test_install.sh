#!/bin/sh
# make install / make uninstall into temporary prefixes: the files land where they belong,
# fcn.pc gives what the arithmetic contract needs, examples/quickstart.c copied outside
# the repository builds with pkg-config's flags and maps like the installed fcn, and
# uninstall leaves nothing behind; DESTDIR stages the same files while the .pc files name
# PREFIX. Run from the repository root (by make test: $MAKE, $BUILD); PASS/FAIL/SKIP lines.
. tests/lib/lib.sh
CC=${CC:-cc}
MAKE=${MAKE:-make}
STB_INC=${STB_INC:-/usr/include/stb}
ROOT=$(pwd)
P=$T/prefix

mk() { $MAKE --no-print-directory -C "$ROOT" BUILD="$BUILD" "$@"; }

if ! mk install PREFIX="$P" >"$T/install.log" 2>&1; then
    fail install "make install PREFIX=$P failed: $(tail -n 3 "$T/install.log")"
    exit 1
fi
want="include/fcn.h include/fcn_import.h include/fcn_opencl.h bin/fcn lib/pkgconfig/fcn.pc lib/pkgconfig/fcn-opencl.pc"
for m in models/*; do want="$want share/fcn/${m#models/}"; done
missing=
for f in $want; do [ -f "$P/$f" ] || missing="$missing $f"; done
extra=$(cd "$P" && find . -type f | sed 's|^\./||' | while read -r f; do
    case " $want " in *" $f "*) ;; *) printf ' %s' "$f" ;; esac; done)
if [ -n "$missing$extra" ]; then fail install "missing:${missing:- none}; unexpected:${extra:- none}"
elif ! [ -x "$P/bin/fcn" ] || ! cmp -s "$P/include/fcn.h" fcn.h || ! cmp -s "$P/share/fcn/slide-7x7x3.fcn" models/slide-7x7x3.fcn; then
    fail install "bin/fcn not executable, or a header or model differs from the repository's"
else pass "install: headers, bin/fcn, $(ls models | wc -l) models in share/fcn, fcn.pc and fcn-opencl.pc"; fi

# ---- pkg-config ---------------------------------------------------------------------------
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
if ! command -v pkg-config >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then fail pkg-config "no pkg-config (required in CI)"; else skip pkg-config "no pkg-config (apt-get install pkg-config)"; fi
else
    flags=$(pkg-config --cflags --libs fcn 2>&1 | sed "s/ *$//")
    ok=1
    for w in "-I$P/include" -ffp-contract=off -lm -pthread; do
        case " $flags " in *" $w "*) ;; *) ok=0 ;; esac
    done
    if [ $ok = 1 ]; then pass "pkg-config fcn: $flags"; else fail "pkg-config fcn" "'$flags' lacks -I$P/include, -ffp-contract=off, -lm or -pthread"; fi
    clflags=$(pkg-config --cflags --libs fcn-opencl 2>&1 | sed "s/ *$//")
    case " $clflags " in
    *" -lOpenCL "*"-lm "* | *"-lm "*" -lOpenCL "*) pass "pkg-config fcn-opencl: $clflags" ;;
    *) fail "pkg-config fcn-opencl" "'$clflags' lacks -lOpenCL or fcn's flags" ;;
    esac

    # the quickstart, outside the repository: only the installed header and pkg-config's
    # flags (and stb's, which the quickstart uses to read and write images)
    mkdir "$T/outside"
    cp examples/quickstart.c "$T/outside/"
    stb=$(pkg-config --cflags stb 2>/dev/null | sed "s/ *$//") && [ -n "$stb" ] || stb="-I$STB_INC"
    # shellcheck disable=SC2046,SC2086
    if (cd "$T/outside" && "$CC" quickstart.c $(pkg-config --cflags --libs fcn) $stb -o quickstart) >"$T/qs.log" 2>&1; then
        pass "quickstart.c outside the repository: cc quickstart.c \$(pkg-config --cflags --libs fcn) $stb"
        "$PYTHON" -c "import sys; sys.path.insert(0, 'tests/lib'); from pyhelp import write_png
x, px = 3, bytearray()
for _ in range(23 * 17 * 3):
    x = (x * 1103515245 + 12345) & 0x7fffffff
    px.append((x >> 16) & 0xff)
write_png(sys.argv[1], 23, 17, 3, px)" "$T/in.png"
        if "$T/outside/quickstart" "$P/share/fcn/slide-7x7x3.fcn" "$T/in.png" "$T/qs.png" >"$T/qs.out" 2>&1 &&
            "$P/bin/fcn" map "$P/share/fcn/slide-7x7x3.fcn" "$T/in.png" -o "$T/fcn.png" -q >>"$T/qs.out" 2>&1 &&
            cmp -s "$T/qs.png" "$T/fcn.png"; then
            pass "installed quickstart and installed fcn: the same PNG from the installed model"
        else
            fail "installed quickstart run" "$(head -c 300 "$T/qs.out")"
        fi
    else
        fail "quickstart.c outside the repository" "$(head -n 5 "$T/qs.log")"
    fi
fi

# ---- uninstall ----------------------------------------------------------------------------
if ! mk uninstall PREFIX="$P" >"$T/uninstall.log" 2>&1; then
    fail uninstall "make uninstall failed: $(tail -n 3 "$T/uninstall.log")"
elif [ -n "$(find "$P" -mindepth 1)" ]; then
    fail uninstall "left behind: $(cd "$P" && find . -mindepth 1 | head -n 10 | tr '\n' ' ')"
else
    pass "uninstall: nothing left in the prefix, files or folders"
fi

# ---- DESTDIR: staged under it; the .pc files name PREFIX ----------------------------------
S=$T/stage
if mk install DESTDIR="$S" PREFIX=/opt/fcn >"$T/d.log" 2>&1 && [ -f "$S/opt/fcn/include/fcn.h" ] &&
    grep -qx 'prefix=/opt/fcn' "$S/opt/fcn/lib/pkgconfig/fcn.pc" && grep -qx 'includedir=/opt/fcn/include' "$S/opt/fcn/lib/pkgconfig/fcn.pc" &&
    mk uninstall DESTDIR="$S" PREFIX=/opt/fcn >>"$T/d.log" 2>&1 && [ -z "$(find "$S" -type f)" ]; then
    pass "install and uninstall with DESTDIR: staged under DESTDIR, fcn.pc names PREFIX, no file left"
else
    fail "DESTDIR" "$(tail -n 3 "$T/d.log"; find "$S" -type f | head -n 5)"
fi
exit 0
