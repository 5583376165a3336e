#!/bin/sh
# The build flags THE ARITHMETIC CONTRACT refuses (fcn.h, rule 5) and those it accepts,
# each a compile of fcn.h's implementation (-fsyntax-only):
#   refused: -ffast-math, -funsafe-math-optimizations, -fassociative-math,
#            -freciprocal-math, -fno-signed-zeros (each with the #error naming it);
#            on 32-bit x86 with the x87 (FLT_EVAL_METHOD 2): GCC's GNU mode -std=gnu99,
#            -std=c99 -fexcess-precision=fast, clang (with the #error naming -mfpmath=sse);
#   accepted: -ffinite-math-only; i686 -std=c99 (x87: GCC rounds every assignment),
#            -std=gnu99 -msse2 -mfpmath=sse, -std=gnu99 -fexcess-precision=standard
#            -DFCN_EXCESS_PRECISION_STANDARD; s390x -std=c99 (FLT_EVAL_METHOD 1) and
#            -std=gnu99 (0).
# That the accepted x87 and s390x builds give the same bits is tests/port/test_port.sh's.
# Cross compilers missing: those lines are skipped (a FAIL in CI). Run from the
# repository root; PASS/FAIL/SKIP lines. Env: CC, CLANG.
. tests/lib/lib.sh
CC=${CC:-cc}
CLANG=${CLANG:-clang}
printf '#define FCN_IMPLEMENTATION\n#include "fcn.h"\nint main(void) { return 0; }\n' >"$T/t.c"

# flags NAME WANT COMPILER FLAGS...: WANT is "ok", or a fixed string the #error must say
flags() {
    name=$1 want=$2 comp=$3
    shift 3
    if ! command -v "$comp" >/dev/null 2>&1; then
        required "flags: $name" "no $comp"
        return
    fi
    "$comp" "$@" -I. -fsyntax-only "$T/t.c" >"$T/log" 2>&1
    rc=$?
    if [ "$want" = ok ]; then
        if [ $rc -eq 0 ]; then pass "flags: $name: accepted"
        else fail "flags: $name" "refused: $(grep -m 1 error "$T/log")"; fi
    elif [ $rc -ne 0 ] && grep -qF -- "$want" "$T/log"; then
        pass "flags: $name: refused, the #error says why and what to do"
    else
        fail "flags: $name" "status $rc, no error saying '$want': $(grep -m 1 error "$T/log")"
    fi
}

x87="FLT_EVAL_METHOD != 0) without rounding every assignment to float, so its maps would differ from other machines: on 32-bit x86 build with -msse2 -mfpmath=sse"
flags "$CC -ffast-math" "-ffast-math" "$CC" -std=c99 -ffast-math
flags "$CC -funsafe-math-optimizations" "-fassociative-math (or -funsafe-math-optimizations)" "$CC" -std=c99 -funsafe-math-optimizations
flags "$CC -fassociative-math -fno-signed-zeros -fno-trapping-math" "-fassociative-math" "$CC" -std=c99 -fassociative-math -fno-signed-zeros -fno-trapping-math
flags "$CC -freciprocal-math" "-freciprocal-math" "$CC" -std=c99 -freciprocal-math
flags "$CC -fno-signed-zeros" "-fno-signed-zeros" "$CC" -std=c99 -fno-signed-zeros
flags "$CC -ffinite-math-only" ok "$CC" -std=c99 -ffinite-math-only
flags "i686 -std=gnu99 (x87)" "$x87" i686-linux-gnu-gcc -std=gnu99
flags "i686 -std=c99 -fexcess-precision=fast (x87)" "$x87" i686-linux-gnu-gcc -std=c99 -fexcess-precision=fast
flags "i686 -std=c99 (x87)" ok i686-linux-gnu-gcc -std=c99
flags "i686 -std=gnu99 -msse2 -mfpmath=sse" ok i686-linux-gnu-gcc -std=gnu99 -msse2 -mfpmath=sse
flags "i686 -std=gnu99 -fexcess-precision=standard -DFCN_EXCESS_PRECISION_STANDARD (x87)" ok i686-linux-gnu-gcc -std=gnu99 -fexcess-precision=standard -DFCN_EXCESS_PRECISION_STANDARD
flags "s390x -std=c99 (FLT_EVAL_METHOD 1)" ok s390x-linux-gnu-gcc -std=c99
flags "s390x -std=gnu99" ok s390x-linux-gnu-gcc -std=gnu99
# clang for 32-bit x86 needs the i686 C library's headers (libc6-dev-i386-cross)
if [ -d /usr/i686-linux-gnu/include ]; then
    flags "$CLANG --target=i686-linux-gnu -mno-sse -std=c99 (x87)" "$x87" "$CLANG" --target=i686-linux-gnu -mno-sse -std=c99
else
    required "flags: clang i686 (x87)" "no /usr/i686-linux-gnu/include (apt-get install libc6-dev-i386-cross)"
fi
