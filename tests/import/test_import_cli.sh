#!/bin/sh
# fcn map / info / convert with imported models (issue 6): the membrane network as
# models/isbi-n4.fcn, .onnx and .prototxt + .caffemodel gives byte-identical maps (dense
# and sliding) on a crop of an ISBI slice; convert writes the same network; a classifier
# on an image of exactly its input size with --border valid gives its 1x1xK output; a
# net with padding inside the patch runs on the sliding path and the dense path refuses
# it. Without the shipped models it uses a stand-in with the same architecture (random
# weights) written by tools/fcn_format.py, tools/fcn_to_onnx.py and tools/fcn_to_caffe.py.
. tests/lib/lib.sh
skip() { if [ "${CI:-}" = true ]; then fail "$1" "$2 (required in CI)"; else echo "SKIP: $1: $2"; fi; }

DATA=${FCN_DATA:-../shared/data/isbi2012}
[ -d "$DATA" ] || DATA=/work/shared/data/isbi2012
IMG=$DATA/test-images/0.png
if [ ! -f "$IMG" ]; then skip import-cli "no ISBI data (set FCN_DATA)"; exit 0; fi

M=models/isbi-n4
if [ -f $M.fcn ] && [ -f $M.onnx ] && [ -f $M.prototxt ] && [ -f $M.caffemodel ]; then
    what="shipped models/isbi-n4"
else
    M=$T/n4
    if ! "$PYTHON" -c 'import sys; sys.path.insert(0, "tools"); import fcn_format as F; F.write_fcn(F.random_n4(), sys.argv[1])' $M.fcn 2>"$T/err" ||
       ! "$PYTHON" tools/fcn_to_onnx.py $M.fcn $M.onnx >/dev/null 2>>"$T/err" ||
       ! "$PYTHON" tools/fcn_to_caffe.py $M.fcn $M.prototxt $M.caffemodel >/dev/null 2>>"$T/err"; then
        skip import-cli "cannot write the stand-in models (python3-onnx, python3-protobuf): $(tail -1 "$T/err")"
        exit 0
    fi
    what="stand-in n4 (models/isbi-n4.* not all present)"
fi
echo "models: $what"

# the three formats, dense and sliding, on a crop (rect) of a real slice
RECT=200,150,40,32
ok=1
for path in dense sliding; do
    r=$RECT
    [ $path = sliding ] && r=200,150,2,2
    for f in fcn onnx caffe; do
        case $f in caffe) m="$M.prototxt $M.caffemodel" ;; *) m=$M.$f ;; esac
        # shellcheck disable=SC2086
        if ! "$FCN" map $m "$IMG" --npy "$T/$f-$path.npy" --rect $r --path $path -q 2>"$T/err"; then
            fail "import-cli map $f $path" "$(cat "$T/err")"
            ok=0
        fi
    done
    if [ $ok = 1 ] && cmp -s "$T/fcn-$path.npy" "$T/onnx-$path.npy" && cmp -s "$T/fcn-$path.npy" "$T/caffe-$path.npy"; then
        pass "import-cli: .fcn, .onnx, .prototxt+.caffemodel give byte-identical $path maps"
    else
        fail "import-cli: byte-identical $path maps" "the maps differ"
    fi
done
r=200,150,2,2
if "$FCN" map $M.onnx "$IMG" --npy "$T/d.npy" --rect $r -q &&
   "$FCN" map $M.onnx "$IMG" --npy "$T/s.npy" --rect $r --path sliding -q && cmp -s "$T/d.npy" "$T/s.npy"; then
    pass "import-cli: imported net, dense == sliding"
else
    fail "import-cli: imported net, dense == sliding" "differ"
fi

# convert: the same network in fcn's format
if "$FCN" convert $M.prototxt $M.caffemodel -o "$T/c.fcn" 2>"$T/err" && "$FCN" convert $M.onnx -o "$T/o.fcn" 2>>"$T/err" &&
   "$FCN" map "$T/c.fcn" "$IMG" --npy "$T/c.npy" --rect $RECT -q && "$FCN" map "$T/o.fcn" "$IMG" --npy "$T/o.npy" --rect $RECT -q &&
   cmp -s "$T/c.npy" "$T/fcn-dense.npy" && cmp -s "$T/o.npy" "$T/fcn-dense.npy"; then
    pass "import-cli: convert (caffe, onnx) -> .fcn, same maps"
else
    fail "import-cli: convert" "$(cat "$T/err")"
fi
if "$FCN" info $M.prototxt $M.caffemodel >"$T/info" 2>&1 && grep -q 'dense path: accepted' "$T/info" &&
   "$FCN" info $M.onnx >"$T/info2" 2>&1 && grep -q 'input patch: 95x95' "$T/info2"; then
    pass "import-cli: info NET.prototxt WEIGHTS.caffemodel, info MODEL.onnx"
else
    fail "import-cli: info" "$(head -5 "$T/info" "$T/info2")"
fi

# exactly the input size, --border valid: 1x1xK
if "$PYTHON" -c 'import numpy' 2>/dev/null; then
    "$PYTHON" -c "
import numpy as np, sys
x = np.arange(95 * 95, dtype=np.float32).reshape(95, 95) % 251
np.save(sys.argv[1], x)" "$T/p.npy"
    if "$FCN" map $M.onnx "$T/p.npy" --border valid --npy "$T/v.npy" -q 2>"$T/err" &&
       "$PYTHON" -c "import numpy as np, sys; a = np.load(sys.argv[1]); sys.exit(0 if a.shape == (1, 1, 2) else 1)" "$T/v.npy"; then
        pass "import-cli: a 95x95 image with --border valid gives 1x1x2"
    else
        fail "import-cli: --border valid on the patch size" "$(cat "$T/err")"
    fi
fi

# padding inside the patch: sliding runs it, dense refuses it
P=tests/data/import/onnx_all.onnx
"$PYTHON" -c "import numpy as np, sys; np.save(sys.argv[1], (np.arange(12*10*2, dtype=np.float32).reshape(12, 10, 2) * 7) % 255)" "$T/q.npy" 2>/dev/null
if "$FCN" map $P "$T/q.npy" --npy "$T/q1.npy" --path sliding -q 2>"$T/err" &&
   ! "$FCN" map $P "$T/q.npy" --npy "$T/q2.npy" --path dense -q 2>"$T/err2" && grep -q 'pad 1 inside the patch' "$T/err2"; then
    pass "import-cli: padded imported net: sliding runs, dense refuses"
else
    fail "import-cli: padded imported net" "$(cat "$T/err" "$T/err2")"
fi
# a lone prototxt is refused with a clear message
if ! "$FCN" info $M.prototxt >/dev/null 2>"$T/err" && grep -q 'needs both NET.prototxt and WEIGHTS.caffemodel' "$T/err"; then
    pass "import-cli: a prototxt alone is refused"
else
    fail "import-cli: a prototxt alone" "$(cat "$T/err")"
fi
