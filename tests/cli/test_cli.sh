#!/bin/sh
# Tests the command-line tool $BUILD/fcn (cli/fcn.c). Run from the repository root;
# prints "PASS: name", "FAIL: name: why" or "SKIP: name: why" per case (tests/run.sh).
# Needs $PYTHON with numpy (default /usr/bin/python3) to write test models and images and
# to read .npy and PNG results; without it those cases are skipped.
. tests/lib/lib.sh
SLIDE=models/slide-7x7x3.fcn
SLIDE_X=tests/data/slide-x.npy

if [ ! -x "$FCN" ]; then
    fail cli-build "$FCN not found (run make)"
    exit 1
fi
np=0
if "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then np=1; fi

# py ARGS...: runs the helper below.
py() { "$PYTHON" "$T/helper.py" "$@"; }

cat >"$T/helper.py" <<'EOF'
import struct, sys, zlib

sys.path.insert(0, 'tests/lib')
from pyhelp import write_model, write_png

def png(path, w, h, c, seed):
    """An 8-bit PNG (c = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) of pseudo-random pixels."""
    x, pixels = seed, bytearray()
    for _ in range(h * w * c):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        pixels.append((x >> 16) & 0xff)
    write_png(path, w, h, c, pixels)

def model(path, header, nfloats, seed):
    """A model file: header lines, nfloats pseudo-random weights."""
    import numpy as np
    write_model(path, header, (np.random.default_rng(int(seed)).standard_normal(int(nfloats)) * 0.1).astype('<f4').tobytes())

def main(a):
    cmd = a[0]
    if cmd == 'png':
        png(a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]))
        return 0
    if cmd == 'pngsize':  # prints "W H COLORTYPE"
        d = open(a[1], 'rb').read(33)
        assert d[:8] == b'\x89PNG\r\n\x1a\n' and d[12:16] == b'IHDR'
        w, h, depth, color = struct.unpack('>IIBB', d[16:26])
        print(w, h, color)
        return 0
    if cmd == 'model':
        model(a[1], a[2], a[3], a[4])
        return 0
    if cmd == 'flip':  # flips the byte at offset a[2] (negative: from the end)
        d = bytearray(open(a[1], 'rb').read())
        d[int(a[2])] ^= 0x5a
        open(a[1], 'wb').write(bytes(d))
        return 0
    import numpy as np
    if cmd == 'randnpy':  # OUT H W C SEED: float32 0..255
        rng = np.random.default_rng(int(a[5]))
        shape = (int(a[2]), int(a[3])) + ((int(a[4]),) if a[4] != '0' else ())
        np.save(a[1], (rng.random(shape) * 255).astype(np.float32))
        return 0
    if cmd == 'slide':  # the slide's output, values from shared data slide-7x7x3.md
        m = np.load(a[1])
        want = np.stack([np.array([[4, -5, 0], [1, -4, 0], [-4, -5, 1]]),
                         np.array([[-1, 2, 3], [-6, -2, -1], [-5, 0, 0]])], axis=-1).astype(np.float32)
        if m.dtype != np.float32 or m.shape != (3, 3, 2):
            print('got dtype %s shape %s, expected float32 (3, 3, 2)' % (m.dtype, m.shape))
            return 1
        if not np.array_equal(m, want):
            print('got map0 %s map1 %s' % (m[:, :, 0].tolist(), m[:, :, 1].tolist()))
            return 1
        return 0
    if cmd == 'crop':  # FULL RECT X Y W H: RECT == FULL[Y:Y+H, X:X+W] bit for bit
        f, r = np.load(a[1]), np.load(a[2])
        x, y, w, h = map(int, a[3:7])
        want = f[y:y + h, x:x + w]
        if r.shape != want.shape or r.tobytes() != want.tobytes():
            print('rect %s differs from the crop %s of the full map' % (r.shape, want.shape))
            return 1
        return 0
    if cmd == 'shape':  # NPY: prints the shape as HxWxK
        print('x'.join(str(s) for s in np.load(a[1]).shape))
        return 0
    if cmd == 'tou8':  # IN OUT: a float npy as uint8
        np.save(a[2], np.load(a[1]).astype(np.uint8))
        return 0
    if cmd == 'f8':  # OUT: a float64 array (a dtype fcn refuses)
        np.save(a[1], np.zeros((4, 4), np.float64))
        return 0
    if cmd == 'pngnpy':  # a PNG written by png() above, as float32 npy (H, W, C)
        import zlib as z
        d = open(a[1], 'rb').read()
        w, h, depth, color = struct.unpack('>IIBB', d[16:26])
        c = {0: 1, 4: 2, 2: 3, 6: 4}[color]
        i, idat = 8, b''
        while i < len(d):
            n = struct.unpack('>I', d[i:i + 4])[0]
            if d[i + 4:i + 8] == b'IDAT':
                idat += d[i + 8:i + 8 + n]
            i += 12 + n
        raw = np.frombuffer(z.decompress(idat), np.uint8).reshape(h, w * c + 1)[:, 1:]
        img = raw.reshape(h, w, c).astype(np.float32)
        if a[3] == 'grey3':  # grey replicated to RGB
            img = np.repeat(img[:, :, :1], 3, axis=2)
        elif a[3] == 'luma':  # fcn's documented RGB -> grey, in float32, fixed order
            f32 = np.float32
            img = ((f32(0.299) * img[:, :, 0] + f32(0.587) * img[:, :, 1]) + f32(0.114) * img[:, :, 2])
        np.save(a[2], img.astype(np.float32))
        return 0
    raise SystemExit('unknown helper command ' + cmd)

sys.exit(main(sys.argv[1:]))
EOF

# ---- help, version, usage errors --------------------------------------------------------
expect help 0 "" "$FCN" --help && {
    grep -q 'exit status' "$T/out" || fail help-exit-codes "--help does not document the exit status"
}
expect help-command 0 "" "$FCN" help
version=$(sed -n 's/^#define FCN_VERSION_STRING "\(.*\)"/\1/p' fcn.h)
if "$FCN" --version >"$T/out" 2>&1 && grep -qF "$version" "$T/out"; then
    pass version
else
    fail version "expected FCN_VERSION_STRING $version, got: $(cat "$T/out")"
fi
expect usage-no-command 2 "no command" "$FCN"
expect usage-unknown-command 2 "unknown command" "$FCN" frobnicate
expect usage-map-no-output 2 "no output" "$FCN" map "$SLIDE" "$SLIDE_X"
expect usage-map-no-image 2 "needs MODEL and IMAGE" "$FCN" map "$SLIDE" -o "$T/x.png"
expect usage-bad-path 2 "--path" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --path fast
expect usage-bad-border 2 "--border" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --border wrap
expect usage-bad-stride 2 "--stride" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --stride 0
expect usage-bad-threads 2 "--threads" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --threads -1
expect usage-bad-rect 2 "--rect" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --rect 1,2,3
expect usage-bad-max-pixels 2 "--max-pixels" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --max-pixels -1
expect usage-strict-value 2 "takes no value" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --strict=yes
expect usage-missing-value 2 "needs a value" "$FCN" map "$SLIDE" "$SLIDE_X" --npy
expect usage-unknown-option 2 "unknown option" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --fast
expect usage-extra-argument 2 "unexpected argument" "$FCN" map "$SLIDE" "$SLIDE_X" extra --npy "$T/x.npy"
expect usage-info-no-model 2 "needs MODEL" "$FCN" info
expect usage-info-bad-size 2 "--size" "$FCN" info "$SLIDE" --size 0x5

# ---- the slide's worked example ---------------------------------------------------------
# One conv layer, 5x5x3 zero-padded by 1, two 3x3x3 filters, stride 2 -> 3x3x2; values
# from shared data slide-7x7x3.md. The model uses W0 channel 2's corrected bottom row
# "-1 -1 1" (the slide's text reads "-1 1 1", which does not give the slide's map 0).
for p in sliding dense; do
    if expect "slide-$p-runs" 0 "" "$FCN" map "$SLIDE" "$SLIDE_X" --border zero --stride 2 --path $p \
        --npy "$T/slide-$p.npy" --quiet; then
        if [ $np = 0 ]; then
            skip "slide-$p-values" "no numpy in $PYTHON"
        elif why=$(py slide "$T/slide-$p.npy"); then
            pass "slide-$p-values"
        else
            fail "slide-$p-values" "$why"
        fi
    fi
done
if cmp -s "$T/slide-sliding.npy" "$T/slide-dense.npy"; then
    pass slide-paths-identical-npy
else
    fail slide-paths-identical-npy "the sliding and dense .npy files differ"
fi
if [ $np = 1 ]; then
    py tou8 "$SLIDE_X" "$T/slide-u8.npy"
    "$FCN" map "$SLIDE" "$T/slide-u8.npy" --border zero --stride 2 --npy "$T/slide-u8-out.npy" -q 2>"$T/err"
    if cmp -s "$T/slide-u8-out.npy" "$T/slide-dense.npy"; then pass npy-uint8-input
    else fail npy-uint8-input "a '|u1' copy of the input gives another map: $(cat "$T/err")"; fi
fi

# ---- the dense path's kernels: --version names them, --kernel picks one -----------------
# Every family --version lists gives the default's bytes and is named in the summary
# line; one it does not list is refused (exit 1, naming it).
expect usage-bad-kernel 2 "--kernel" "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --kernel sse
"$FCN" --version >"$T/out" 2>&1
listed=$(sed -n 's/^kernels: [^ ]* (on this CPU; --kernel:\(.*\))$/\1/p' "$T/out")
if [ -n "$listed" ] && echo " $listed " | grep -q ' portable '; then
    pass version-kernels
else
    fail version-kernels "expected a line 'kernels: NAME (on this CPU; --kernel: portable ...)', got: $(cat "$T/out")"
fi
for k in portable avx2 avx512 neon; do
    case " $listed " in
    *" $k "*)
        "$FCN" map "$SLIDE" "$SLIDE_X" --border zero --stride 2 --kernel $k --npy "$T/k.npy" >"$T/out" 2>&1
        if cmp -s "$T/k.npy" "$T/slide-dense.npy" && grep -q "dense path ($k" "$T/out"; then
            pass "kernel-$k"
        else
            fail "kernel-$k" "--kernel $k: another map, or a summary line without the kernels: $(cat "$T/out")"
        fi ;;
    *) expect "kernel-$k-refused" 1 "kernels .*: not in this build or not supported by this CPU" \
        "$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/x.npy" --kernel $k ;;
    esac
done

# ---- summary line, --quiet --------------------------------------------------------------
"$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/s.npy" >"$T/out" 2>"$T/err"
if grep -q 'GFLOP/s' "$T/out" && grep -q '5x5x3' "$T/out" && [ "$(wc -l <"$T/out")" -eq 1 ]; then
    pass summary-line
else
    fail summary-line "expected one line with the sizes and GFLOP/s, got: $(cat "$T/out" "$T/err")"
fi
"$FCN" map "$SLIDE" "$SLIDE_X" --npy "$T/s.npy" --quiet >"$T/out" 2>"$T/err"
if [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; then pass quiet; else fail quiet "output with --quiet: $(cat "$T/out" "$T/err")"; fi

if [ $np = 0 ]; then
    skip cli-python-cases "no numpy in $PYTHON: model, image and rect cases not run"
    exit 0
fi

# ---- runtime errors: exit 1 with the cause ----------------------------------------------
expect missing-model 1 "nonexistent\.fcn: cannot open" "$FCN" map "$T/nonexistent.fcn" "$SLIDE_X" --npy "$T/x.npy"
cp "$SLIDE" "$T/corrupt.fcn"
py flip "$T/corrupt.fcn" -3
expect corrupt-model 1 "corrupt\.fcn: checksum" "$FCN" map "$T/corrupt.fcn" "$SLIDE_X" --npy "$T/x.npy"
expect corrupt-model-info 1 "checksum" "$FCN" info "$T/corrupt.fcn"
expect missing-image 1 "nothere\.png: cannot open" "$FCN" map "$SLIDE" "$T/nothere.png" --npy "$T/x.npy"

py png "$T/rgb.png" 40 30 3 7
head -c 120 "$T/rgb.png" >"$T/truncated.png"
expect truncated-png 1 "truncated\.png: truncated PNG" "$FCN" map "$SLIDE" "$T/truncated.png" -o "$T/x.png"
printf 'P5\n40 30\n255\n' >"$T/truncated.pgm"
head -c 500 /dev/zero >>"$T/truncated.pgm"
expect truncated-pgm 1 "truncated\.pgm: truncated" "$FCN" map "$SLIDE" "$T/truncated.pgm" -o "$T/x.png"
echo "not an image" >"$T/garbage.png"
expect garbage-image 1 "garbage\.png: cannot decode" "$FCN" map "$SLIDE" "$T/garbage.png" -o "$T/x.png"
head -c 60 "$SLIDE_X" >"$T/truncated.npy"
expect truncated-npy 1 "truncated\.npy" "$FCN" map "$SLIDE" "$T/truncated.npy" -o "$T/x.png"
py f8 "$T/f8.npy"
expect npy-float64-refused 1 "dtype" "$FCN" map "$SLIDE" "$T/f8.npy" -o "$T/x.png"

# a 2-channel model and an RGB image
py model "$T/two.fcn" 'fcn-model 1\ninput 3 3 2\nconv 2 3 3' 38 1
expect channels-2-vs-rgb 1 "3 channels.*wants 2" "$FCN" map "$T/two.fcn" "$T/rgb.png" -o "$T/x.png"
expect class-out-of-range 1 "--class 2" "$FCN" map "$SLIDE" "$T/rgb.png" -o "$T/x.png" --class 2

# a network with padding inside the patch: the dense path refuses it, sliding runs it
py model "$T/padded.fcn" 'fcn-model 1\n# conv with padding: sliding path only\ninput 3 3 1\nconv 2 3 3 pad 1\nrelu\nfc 2\nsoftmax' 58 2
py randnpy "$T/grey.npy" 11 9 0 3
expect padded-dense-refused 1 "pad 1.*sliding path" "$FCN" map "$T/padded.fcn" "$T/grey.npy" --npy "$T/x.npy" --path dense
if expect padded-sliding-runs 0 "" "$FCN" map "$T/padded.fcn" "$T/grey.npy" --npy "$T/padded.npy" --path sliding -q; then
    s=$(py shape "$T/padded.npy")
    if [ "$s" = 11x9x2 ]; then pass padded-sliding-shape; else fail padded-sliding-shape "shape $s, expected 11x9x2"; fi
fi
if expect padded-info 0 "" "$FCN" info "$T/padded.fcn"; then
    if grep -q 'dense path: refused.*pad 1' "$T/out" && grep -q 'total' "$T/out"; then pass padded-info-says-refused
    else fail padded-info-says-refused "$(cat "$T/out")"; fi
fi

# ---- fcn info: the speedup table --------------------------------------------------------
py model "$T/net.fcn" 'fcn-model 1\ninput 6 6 2\nscale 0.00392156886\nmean 10 20\nconv 3 3 3\nrelu\nmaxpool 2 2\nfc 2\nsoftmax' 83 4
if expect info 0 "" "$FCN" info "$T/net.fcn" --size 64x48; then
    ok=1
    for want in 'input patch: 6x6' 'receptive field: 6x6' 'outputs: K = 2' 'dense path: accepted' \
        'theoretical speedup, 64x48' 'sliding FLOPs' 'maxpool' 'total .*x$'; do
        grep -q -- "$want" "$T/out" || { ok=0; fail info-table "no line matching '$want' in: $(cat "$T/out")"; break; }
    done
    [ $ok = 1 ] && pass info-table
fi
expect info-slide 0 "" "$FCN" info "$SLIDE"

# ---- both paths give the same bits: borders, strides, a net with pools ------------------
py randnpy "$T/img2.npy" 23 19 2 5
for args in "--border mirror" "--border zero --stride 3" "--border replicate --stride 2" "--border valid"; do
    tag=$(echo "$args" | tr -d ' -')
    # $args is split into options on purpose
    # shellcheck disable=SC2086
    "$FCN" map "$T/net.fcn" "$T/img2.npy" $args --path sliding --npy "$T/a.npy" -q 2>"$T/err" &&
        "$FCN" map "$T/net.fcn" "$T/img2.npy" $args --path dense --npy "$T/b.npy" -q --threads 3 2>>"$T/err"
    if [ $? -eq 0 ] && cmp -s "$T/a.npy" "$T/b.npy"; then pass "paths-identical-$tag"
    else fail "paths-identical-$tag" "sliding and dense differ or failed: $(cat "$T/err")"; fi
done

# ---- --rect is the crop of the whole map ------------------------------------------------
py randnpy "$T/img3.npy" 21 17 3 6
for p in dense sliding; do
    for st in 1 2; do
        "$FCN" map "$SLIDE" "$T/img3.npy" --path $p --stride $st --npy "$T/full.npy" -q 2>"$T/err" &&
            "$FCN" map "$SLIDE" "$T/img3.npy" --path $p --stride $st --rect 2,1,5,4 --npy "$T/rect.npy" -q 2>>"$T/err"
        if [ $? -ne 0 ]; then fail "rect-$p-stride$st" "$(cat "$T/err")"
        elif why=$(py crop "$T/full.npy" "$T/rect.npy" 2 1 5 4); then pass "rect-$p-stride$st"
        else fail "rect-$p-stride$st" "$why"; fi
    done
done
expect rect-outside-map 1 "not inside" "$FCN" map "$SLIDE" "$T/img3.npy" --rect 15,0,5,5 --npy "$T/x.npy"

# ---- PNG output ---------------------------------------------------------------------------
if expect png-output 0 "" "$FCN" map "$T/net.fcn" "$T/img2.npy" -o "$T/map.png" --class 1 -q; then
    s=$(py pngsize "$T/map.png")
    if [ "$s" = "19 23 0" ]; then pass png-size; else fail png-size "PNG is '$s' (W H colortype), expected 19 23 0 (grey)"; fi
fi
if expect png-stride-rect 0 "" "$FCN" map "$T/net.fcn" "$T/img2.npy" -o "$T/map2.png" --stride 2 --rect 1,2,6,7 -q; then
    s=$(py pngsize "$T/map2.png")
    if [ "$s" = "6 7 0" ]; then pass png-size-rect; else fail png-size-rect "PNG is '$s', expected 6 7 0"; fi
fi
expect png-unwritable 1 "x\.png: cannot create a file in its folder" "$FCN" map "$SLIDE" "$SLIDE_X" -o "$T/no/such/dir/x.png"

# ---- image decoding and channel conversion ------------------------------------------------
# RGB PNG to a 3-channel model = the same pixels as a float .npy
py pngnpy "$T/rgb.png" "$T/rgb.npy" same
"$FCN" map "$SLIDE" "$T/rgb.png" --npy "$T/m1.npy" -q 2>"$T/err" && "$FCN" map "$SLIDE" "$T/rgb.npy" --npy "$T/m2.npy" -q 2>>"$T/err"
if [ $? -eq 0 ] && cmp -s "$T/m1.npy" "$T/m2.npy"; then pass png-rgb-input; else fail png-rgb-input "$(cat "$T/err")"; fi
# grey PNG to a 3-channel model: replicated
py png "$T/grey.png" 13 10 1 8
py pngnpy "$T/grey.png" "$T/grey3.npy" grey3
"$FCN" map "$SLIDE" "$T/grey.png" --npy "$T/m1.npy" -q 2>"$T/err" && "$FCN" map "$SLIDE" "$T/grey3.npy" --npy "$T/m2.npy" -q 2>>"$T/err"
if [ $? -eq 0 ] && cmp -s "$T/m1.npy" "$T/m2.npy"; then pass grey-to-rgb; else fail grey-to-rgb "$(cat "$T/err")"; fi
# RGBA PNG to a 1-channel model: alpha dropped, then 0.299 R + 0.587 G + 0.114 B
py png "$T/rgba.png" 12 9 4 9
py pngnpy "$T/rgba.png" "$T/luma.npy" luma
py model "$T/one.fcn" 'fcn-model 1\ninput 3 3 1\nconv 1 3 3' 10 10
"$FCN" map "$T/one.fcn" "$T/rgba.png" --npy "$T/m1.npy" -q 2>"$T/err" && "$FCN" map "$T/one.fcn" "$T/luma.npy" --npy "$T/m2.npy" -q 2>>"$T/err"
if [ $? -eq 0 ] && cmp -s "$T/m1.npy" "$T/m2.npy"; then pass rgba-to-grey; else fail rgba-to-grey "$(cat "$T/err")"; fi
exit 0
