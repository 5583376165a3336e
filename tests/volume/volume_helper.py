"""What tests/volume/*.sh need from Python: stacks written by tifffile, a small model, and
checks of fcn's outputs read back by the libraries people read them with (zarr, tifffile,
OpenCV for PNG). Run from the repository root: volume_helper.py COMMAND ARGS...; prints
nothing and exits 0 when a check holds, else prints why and exits 1."""
import os
import sys
import zlib

import numpy as np

sys.path.insert(0, 'tests/lib')
from pyhelp import write_model  # noqa: E402

# the small EM net of the tests and of make bench-volume: 20x20 patch, 2 classes
SMALL = ('fcn-model 1\ninput 20 20 1\nscale 0.00392156863\nmean 128\n'
         'conv 8 5 5\nmaxpool 2 2\nrelu\nconv 8 5 5\nmaxpool 2 2\nrelu\nfc 2\nsoftmax\n')
SMALL_WEIGHTS = 8 * 25 + 8 + 8 * 8 * 25 + 8 + 2 * 8 * 2 * 2 + 2


def model(out, seed=1):
    rng = np.random.default_rng(int(seed))
    write_model(out, SMALL, (rng.standard_normal(SMALL_WEIGHTS) * 0.2).astype('<f4').tobytes())


def pages(kind, n, h, w, seed):
    """n pages of random samples of a kind: u8, u16, f32 (0..255), i16, rgb, nan."""
    rng = np.random.default_rng(int(seed))
    if kind == 'u8':
        return (rng.random((n, h, w)) * 256).astype(np.uint8)
    if kind == 'u16':
        return (rng.random((n, h, w)) * 65536).astype(np.uint16)
    if kind == 'i16':
        return (rng.random((n, h, w)) * 30000).astype(np.int16)
    if kind == 'rgb':
        return (rng.random((n, h, w, 3)) * 256).astype(np.uint8)
    a = (rng.random((n, h, w)) * 255).astype(np.float32)
    if kind == 'nan':
        a[n - 1, h // 2, w // 3] = np.nan
    return a


def stack(out, kind, n, h, w, seed, *opts):
    """A stack by tifffile; opts: tile=TH,TW strips=ROWS deflate bigtiff. Each page is
    also written as OUT.pI.npy (float32), the single-slice input of the references."""
    import tifffile
    a = pages(kind, int(n), int(h), int(w), seed)
    kw = {'photometric': 'rgb' if kind == 'rgb' else 'minisblack', 'metadata': None}
    for o in opts:
        if o.startswith('tile='):
            kw['tile'] = tuple(int(v) for v in o[5:].split(','))
        elif o.startswith('strips='):
            kw['rowsperstrip'] = int(o[7:])
        elif o == 'deflate':
            kw['compression'] = 'zlib'
        elif o == 'bigtiff':
            kw['bigtiff'] = True
    tifffile.imwrite(out, a, **kw)
    if kind in ('u8', 'u16', 'f32'):
        for i in range(a.shape[0]):
            np.save('%s.p%d.npy' % (out, i), a[i].astype(np.float32))


def imagej(out, data, n):
    """The first n ISBI 2012 training slices (PNG, in folder data) as one ImageJ-format
    stack, the way the challenge's train-volume.tif comes."""
    import cv2
    import tifffile
    a = np.stack([cv2.imread(os.path.join(data, 'train-images', '%d.png' % i), cv2.IMREAD_GRAYSCALE)
                  for i in range(int(n))])
    tifffile.imwrite(out, a, imagej=True)


def to_byte(m):
    """fcn's PNG conversion: round(v * 255) in float32, clamped, NaN 0."""
    m = m.astype(np.float32)
    b = np.floor(m * np.float32(255) + np.float32(0.5))
    return np.where(m > 0, np.where(m >= 1, 255, b), 0).astype(np.uint8)


def first_diff(a, b):
    d = np.argwhere(a.view(np.uint8 if a.dtype == np.uint8 else np.uint32) !=
                    b.view(np.uint8 if b.dtype == np.uint8 else np.uint32))
    i = tuple(d[0])
    return 'first difference at %s: %r vs %r' % (i, a[i], b[i])


def check_zarr(path, dtype, chunks, compressor, *refs):
    """OUT.zarr is an OME-Zarr 0.4 image whose array 0 (c, z, y, x) holds, page by page,
    the maps refs (fcn map --npy outputs, (H, W, K) float32) bit for bit, as dtype."""
    import zarr
    g = zarr.open_group(path, mode='r')
    ms = g.attrs['multiscales'][0]
    if ms['version'] != '0.4' or [x['name'] for x in ms['axes']] != ['c', 'z', 'y', 'x'] \
            or ms['datasets'][0]['path'] != '0':
        print('%s: not an OME-Zarr 0.4 image of axes c, z, y, x: %r' % (path, ms))
        return 1
    a = g['0']
    want = np.stack([np.moveaxis(np.load(r), -1, 0) for r in refs], axis=1)
    if dtype == 'u8':
        want = to_byte(want)
    cz, cy, cx = (int(v) for v in chunks.split(','))
    comp = a.compressor.codec_id if a.compressor is not None else 'none'
    if a.dtype != want.dtype or a.shape != want.shape or a.chunks != (1, cz, cy, cx) or comp != compressor:
        print('%s: %s %s chunks %s compressor %s; expected %s %s chunks %s compressor %s' % (
            path, a.dtype, a.shape, a.chunks, comp, want.dtype, want.shape, (1, cz, cy, cx), compressor))
        return 1
    got = a[:]
    if got.tobytes() != want.tobytes():
        print('%s differs from the single-slice maps: %s' % (path, first_diff(got, want)))
        return 1
    return 0


def check_tiff(path, cls, dtype, bigtiff, *refs):
    """OUT.tif has one page per ref, class cls of each map, as dtype."""
    import tifffile
    with tifffile.TiffFile(path) as t:
        if t.is_bigtiff != (bigtiff == 'big') or len(t.pages) != len(refs):
            print('%s: bigtiff %s, %d pages; expected %s, %d' % (path, t.is_bigtiff, len(t.pages), bigtiff, len(refs)))
            return 1
        got = t.asarray()
    want = np.stack([np.load(r)[:, :, int(cls)] for r in refs])
    if dtype == 'u8':
        want = to_byte(want)
    got = got.reshape(want.shape) if got.size == want.size else got
    if got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
        print('%s: %s %s, expected %s %s; %s' % (path, got.dtype, got.shape, want.dtype, want.shape,
                                                 first_diff(got, want) if got.shape == want.shape else ''))
        return 1
    return 0


def check_png(png, ref, cls):
    """fcn's PNG of a map equals the u8 conversion the Zarr and TIFF outputs use."""
    import cv2
    got = cv2.imread(png, cv2.IMREAD_UNCHANGED)
    want = to_byte(np.load(ref)[:, :, int(cls)])
    if got is None or got.tobytes() != want.tobytes():
        print('%s is not the u8 conversion of %s class %s' % (png, ref, cls))
        return 1
    return 0


def png16(out, h, w, seed):
    """A 16-bit grey PNG (OpenCV writes it) and its samples as OUT.npy (float32)."""
    import cv2
    a = pages('u16', 1, int(h), int(w), seed)[0]
    cv2.imwrite(out, a)
    np.save(out + '.npy', a.astype(np.float32))


def scaled(src, factor, out):
    """src (.npy) times factor in float32, one multiply a sample (what --in-scale does)."""
    np.save(out, np.load(src).astype(np.float32) * np.float32(float(factor)))


def chunks_whole(path, temporaries='no'):
    """Every chunk file of OUT.zarr/0 is a whole chunk (zlib or raw); no temporary is left
    unless temporaries == 'temporaries-allowed' (a killed writer's). Prints the count."""
    import json
    meta = json.load(open(os.path.join(path, '0', '.zarray')))
    size = int(np.prod(meta['chunks'])) * np.dtype(meta['dtype']).itemsize
    n = 0
    for root, _, files in os.walk(os.path.join(path, '0')):
        for f in files:
            p = os.path.join(root, f)
            if f.startswith('.') and f != '.zarray':
                if temporaries == 'temporaries-allowed' and f.endswith('.tmp'):
                    continue
                print('%s: a temporary or stray file left' % p)
                return 1
            if f == '.zarray':
                continue
            d = open(p, 'rb').read()
            if meta['compressor'] is not None:
                try:
                    d = zlib.decompress(d)
                except zlib.error as e:
                    print('%s: not a whole zlib chunk: %s' % (p, e))
                    return 1
            if len(d) != size:
                print('%s: %d bytes, a chunk has %d' % (p, len(d), size))
                return 1
            n += 1
    print(n)
    return 0


def main(a):
    cmd = a[0]
    if cmd == 'model':
        return model(*a[1:]) or 0
    if cmd == 'stack':
        return stack(*a[1:]) or 0
    if cmd == 'imagej':
        return imagej(*a[1:]) or 0
    if cmd == 'png16':
        return png16(*a[1:]) or 0
    if cmd == 'scaled':
        return scaled(*a[1:]) or 0
    if cmd == 'zarr':
        return check_zarr(*a[1:])
    if cmd == 'tiff':
        return check_tiff(*a[1:])
    if cmd == 'png':
        return check_png(*a[1:])
    if cmd == 'chunks-whole':
        return chunks_whole(*a[1:])
    print('unknown command %s' % cmd)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
