#!/bin/sh
# Outputs to a full disk: each must exit 1 with a message naming the file and the
# system's reason, leave the old file byte for byte as it was, and leave no temporary
# file beside it.
#   /dev/full: fcn map -o and --npy (alone, and --npy to a good file with -o to
#   /dev/full), fcn convert, fcn info's stdout, the quickstart;
#   a 256 kB tmpfs that this test mounts (root only; SKIP otherwise), filled to 8 kB
#   short of full after the old files are in place: fcn map -o and --npy, fcn convert,
#   the quickstart.
. tests/lib/lib.sh
QUICK=$BUILD/quickstart
M=$T/mnt
trap 'umount "$M" 2>/dev/null; rm -rf "$T"' EXIT
NOSPACE="No space left on device"

for p in "$FCN" "$QUICK"; do
    [ -x "$p" ] || { fail disk-full "$p not found (run make)"; exit 1; }
done
"$PYTHON" - "$T" <<'EOF' || { fail disk-full "cannot write the test images with $PYTHON (numpy)"; exit 1; }
import sys
import numpy as np
sys.path.insert(0, 'tests/lib')
from pyhelp import write_png
rng = np.random.default_rng(11)
np.save(sys.argv[1] + '/big.npy', (rng.random((256, 256, 3)) * 255).astype(np.float32))
write_png(sys.argv[1] + '/big.png', 256, 256, 3, rng.integers(0, 256, 256 * 256 * 3).tolist())
write_png(sys.argv[1] + '/small.png', 9, 7, 3, rng.integers(0, 256, 9 * 7 * 3).tolist())
EOF
SLIDE=models/slide-7x7x3.fcn

# full NAME DIR FILE... -- CMD...: CMD exits 1 naming the reason; each FILE is as saved in
# $T/saved/, and DIR holds the same names as before.
full() {
    name=$1 dir=$2
    shift 2
    files=""
    while [ "$1" != -- ]; do files="$files $1"; shift; done
    shift
    ls -a "$dir" >"$T/names.before"
    if ! expect "$name" 1 "$NOSPACE" "$@"; then return; fi
    for f in $files; do
        if ! cmp -s "$f" "$T/saved/$(basename "$f")"; then
            fail "$name: the old file" "$f changed"
            return
        fi
    done
    ls -a "$dir" >"$T/names.after"
    if ! cmp -s "$T/names.before" "$T/names.after"; then
        fail "$name: no temporary left" "$(diff "$T/names.before" "$T/names.after" | tr '\n' ' ')"
        return
    fi
    pass "$name: the old files whole, nothing left beside them"
}

# ---- /dev/full ------------------------------------------------------------------------
mkdir -p "$T/saved" "$T/keep"
"$FCN" map "$SLIDE" "$T/small.png" --npy "$T/keep/old.npy" -q
cp "$T/keep/old.npy" "$T/saved/"
expect "dev-full: fcn map -o /dev/full" 1 "/dev/full: .*$NOSPACE" "$FCN" map "$SLIDE" "$T/small.png" -o /dev/full -q
expect "dev-full: fcn map --npy /dev/full" 1 "/dev/full: .*$NOSPACE" "$FCN" map "$SLIDE" "$T/small.png" --npy /dev/full -q
full "dev-full: fcn map --npy GOOD -o /dev/full" "$T/keep" "$T/keep/old.npy" -- \
    "$FCN" map "$SLIDE" "$T/big.npy" --npy "$T/keep/old.npy" -o /dev/full -q
expect "dev-full: fcn convert -o /dev/full" 1 "/dev/full: .*$NOSPACE" "$FCN" convert "$SLIDE" -o /dev/full
expect "dev-full: fcn info >/dev/full" 1 "standard output: $NOSPACE" sh -c "\"$FCN\" info $SLIDE >/dev/full"
expect "dev-full: quickstart /dev/full" 1 "/dev/full: .*$NOSPACE" "$QUICK" "$SLIDE" "$T/small.png" /dev/full

# ---- a small tmpfs, nearly full -------------------------------------------------------
if [ "$(id -u)" != 0 ]; then
    skip disk-full-tmpfs "not root: cannot mount a tmpfs"
    exit 0
fi
mkdir -p "$M"
if ! mount -t tmpfs -o size=256k fcn-disk-full "$M" 2>"$T/err"; then
    skip disk-full-tmpfs "mount -t tmpfs failed: $(cat "$T/err")"
    exit 0
fi
"$FCN" map "$SLIDE" "$T/small.png" -o "$M/old.png" --npy "$M/old.npy" -q &&
    cp models/slide-7x7x3.fcn "$M/old.fcn" && cp "$M/old.png" "$M/old.npy" "$M/old.fcn" "$T/saved/" ||
    { fail disk-full-tmpfs "cannot write the old files"; exit 1; }
dd if=/dev/zero of="$M/fill" bs=4096 2>/dev/null # until the disk is full
truncate -s -8K "$M/fill"                         # 8 kB free: a part of each new file fits
full "tmpfs: fcn map -o OLD.png" "$M" "$M/old.png" -- "$FCN" map "$SLIDE" "$T/big.npy" -o "$M/old.png" -q
full "tmpfs: fcn map --npy OLD.npy" "$M" "$M/old.npy" -- "$FCN" map "$SLIDE" "$T/big.npy" --npy "$M/old.npy" -q
full "tmpfs: fcn map -o OLD.png --npy OLD.npy" "$M" "$M/old.png" "$M/old.npy" -- \
    "$FCN" map "$SLIDE" "$T/big.npy" -o "$M/old.png" --npy "$M/old.npy" -q
full "tmpfs: fcn convert -o OLD.fcn" "$M" "$M/old.fcn" -- "$FCN" convert models/isbi-n4.fcn -o "$M/old.fcn"
full "tmpfs: quickstart OLD.png" "$M" "$M/old.png" -- "$QUICK" "$SLIDE" "$T/big.png" "$M/old.png"
exit 0
