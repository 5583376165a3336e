#!/usr/bin/python3
"""Malformed images against the fcn tool: writes a corpus into OUTDIR (made here, at test
time, from a few good images) and runs `FCN map models/slide-7x7x3.fcn IMAGE` on each,
checking the exit status and the message each must give:

    corrupt or truncated PNG, JPEG, BMP, PGM/PPM   exit 1, the cause named
    a header declaring more pixels than --max-pixels   exit 1 before decoding, fast
    NaN/Inf in a float .npy                        exit 0 with a warning; 1 with --strict
    a JPEG with a byte changed in its compressed data (JPEG has no checksum)
                                                   exit 0 or 1, never a crash
    the good originals                             exit 0

A sanitizer report (tests/robust/sanitize.sh runs this with the ASan+UBSan build) fails
the case whatever the status. Prints PASS/FAIL lines (tests/run.sh counts them).

    /usr/bin/python3 tests/robust/bad_images.py FCN OUTDIR
"""
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib

import numpy as np

FCN, OUT = sys.argv[1], sys.argv[2]
MODEL = 'models/slide-7x7x3.fcn'
failures = 0


def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)


def png(w, h, pixels, extra_first=b''):
    """An 8-bit grey PNG; extra_first: chunks before IHDR."""
    raw = b''.join(b'\x00' + bytes(pixels[i * w:(i + 1) * w]) for i in range(h))
    return (b'\x89PNG\r\n\x1a\n' + extra_first + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def bmp(w, h, pixels):
    """A 24-bit bottom-up BMP of grey pixels."""
    row = (w * 3 + 3) // 4 * 4
    data = b''.join(bytes(b for x in range(w) for b in (pixels[y * w + x],) * 3) + b'\0' * (row - 3 * w)
                    for y in reversed(range(h)))
    head = struct.pack('<2sIHHI', b'BM', 54 + len(data), 0, 0, 54)
    info = struct.pack('<IiiHHIIiiII', 40, w, h, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    return head + info + data


def pgm(w, h, pixels, header=None):
    return (header if header is not None else b'P5\n%d %d\n255\n' % (w, h)) + bytes(pixels)


def npy(a):
    path = os.path.join(OUT, 'tmp.npy')
    np.save(path, a)
    with open(path, 'rb') as f:
        d = f.read()
    os.remove(path)
    return d


def case(name, data, want_rc, pattern, args=(), seconds=None):
    """Writes data to OUT/name, maps it, checks the status (an int or a set) and stderr."""
    global failures
    path = os.path.join(OUT, name)
    with open(path, 'wb') as f:
        f.write(data)
    t = time.time()
    r = subprocess.run([FCN, 'map', MODEL, path, '--npy', os.path.join(OUT, 'out.npy'), '-q'] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t = time.time() - t
    err = r.stderr.decode(errors='replace')
    first = err.strip().splitlines()[0] if err.strip() else ''
    wants = want_rc if isinstance(want_rc, set) else {want_rc}
    why = None
    if re.search(r'Sanitizer|runtime error:', err):
        why = 'a sanitizer report: ' + ' '.join(l for l in err.splitlines() if re.search(r'ERROR|runtime error|SUMMARY', l))[:400]
    elif r.returncode not in wants:
        why = 'exit status %d, expected %s; stderr: %s' % (r.returncode, ' or '.join(map(str, sorted(wants))), err[:300])
    elif pattern and not re.search(pattern, err, re.I):
        why = 'stderr does not match /%s/: %s' % (pattern, err[:300])
    elif seconds is not None and t > seconds:
        why = 'took %.1f s (refused only after decoding?)' % t
    if why:
        print('FAIL: bad-image %s: %s' % (name, why.replace('\n', ' ')))
        failures += 1
    else:
        print('PASS: bad-image %s: exit %d%s' % (name, r.returncode, ': ' + first[:160] if first else ''))


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    rng = random.Random(20240611)
    w, h = 40, 30
    pix = [rng.randrange(256) for _ in range(w * h)]

    # ---- PNG
    good = png(w, h, pix)
    case('good.png', good, 0, '')
    ihdr_end = 8 + 12 + 13
    for k in range(20):  # one byte changed anywhere after the signature: a CRC (or length) catches it
        d = bytearray(good)
        at = rng.randrange(8, len(d))
        d[at] ^= 1 << rng.randrange(8)
        case('png-flip-%02d-at-%d.png' % (k, at), bytes(d), 1, r'corrupt PNG|truncated PNG')
    for name, at in (('ihdr-width', 19), ('ihdr-crc', ihdr_end - 1), ('iend-crc', len(good) - 1)):
        d = bytearray(good)
        d[at] ^= 0x10
        case('png-flip-%s.png' % name, bytes(d), 1, r'corrupt PNG: chunk .I(HDR|END).* fails its CRC-32 check')
    case('png-truncated-half.png', good[:len(good) // 2], 1, r'truncated PNG')
    case('png-no-iend.png', good[:-12], 1, r'truncated PNG: no IEND')
    case('png-signature-only.png', good[:8], 1, r'truncated PNG')
    big_len = bytearray(good)
    big_len[ihdr_end:ihdr_end + 4] = struct.pack('>I', 0xFFFFFFF0)
    case('png-chunk-length-huge.png', bytes(big_len), 1, r'truncated PNG')
    case('png-text-before-ihdr.png', png(w, h, pix, chunk(b'tEXt', b'a\0b')), 1, r'first chunk is .tEXt.')
    huge = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 32000, 32000, 8, 0, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(b'\0' * (1 << 20))) + chunk(b'IEND', b''))
    case('png-declares-32000x32000.png', huge, 1, r'32000x32000 = 1024000000 pixels, more than --max-pixels 1000000000',
         ['--max-pixels', '1000000000'], seconds=5)
    case('good.png-over-max-pixels', good, 1, r'40x30 = 1200 pixels, more than --max-pixels 1199', ['--max-pixels', '1199'])

    # ---- JPEG (written by OpenCV, baseline and progressive)
    try:
        import cv2
    except ImportError:
        cv2 = None
    if cv2 is None:
        print('SKIP: bad-image jpeg: no python3-opencv to write JPEGs')
    else:
        img = np.array(pix, np.uint8).reshape(h, w)
        jpg = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
        prog = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
        case('good.jpg', jpg, 0, '')
        case('good-progressive.jpg', prog, 0, '')
        case('jpeg-truncated-half.jpg', jpg[:len(jpg) // 2], 1, r'truncated JPEG')
        case('jpeg-no-eoi.jpg', jpg[:-2], 1, r'truncated JPEG')
        case('jpeg-progressive-truncated.jpg', prog[:len(prog) * 3 // 4], 1, r'truncated JPEG')
        case('jpeg-headers-only.jpg', jpg[:jpg.index(b'\xff\xda') + 2], 1, r'truncated JPEG')
        sof = jpg.index(b'\xff\xc0')
        big = bytearray(jpg)
        big[sof + 5:sof + 9] = struct.pack('>HH', 40000, 40000)
        case('jpeg-declares-40000x40000.jpg', bytes(big), 1, r'40000x40000 = 1600000000 pixels.*--max-pixels', seconds=5)
        sos = jpg.index(b'\xff\xda')
        scan = sos + 2 + struct.unpack('>H', jpg[sos + 2:sos + 4])[0]
        for k in range(10):  # JPEG has no checksum: any status, never a crash
            d = bytearray(jpg)
            at = rng.randrange(scan, len(d) - 2)
            d[at] ^= 1 << rng.randrange(8)
            case('jpeg-scan-flip-%02d-at-%d.jpg' % (k, at), bytes(d), {0, 1}, '')

    # ---- BMP
    good_bmp = bmp(w, h, pix)
    case('good.bmp', good_bmp, 0, '')
    case('bmp-truncated-200.bmp', good_bmp[:200], 1, r'truncated BMP')
    case('bmp-one-row-short.bmp', good_bmp[:-((w * 3 + 3) // 4 * 4)], 1, r'truncated BMP')
    huge_bmp = bytearray(good_bmp)
    huge_bmp[18:26] = struct.pack('<ii', 40000, 40000)
    case('bmp-declares-40000x40000.bmp', bytes(huge_bmp), 1, r'truncated BMP', seconds=5)

    # ---- PGM / PPM
    case('good.pgm', pgm(w, h, pix), 0, '')
    case('good16.pgm', pgm(w, h, [v for p in pix for v in (p, 0)], b'P5 %d %d 65535\n' % (w, h)), 0, '')
    case('good.ppm', pgm(w, h, [v for p in pix for v in (p, p, p)], b'P6\n# a comment\n%d %d\n255\n' % (w, h)), 0, '')
    case('pgm-truncated.pgm', pgm(w, h, pix)[:-1], 1, r'truncated PGM/PPM')
    case('pgm-99999999999-columns.pgm', pgm(w, h, pix, b'P5\n99999999999 99999999999\n255\n'), 1,
         r'width 99999999999 is out of range')
    case('pgm-maxval-0.pgm', pgm(w, h, pix, b'P5\n%d %d\n0\n' % (w, h)), 1, r'largest sample value 0 is out of range')
    case('pgm-maxval-70000.pgm', pgm(w, h, pix, b'P5\n%d %d\n70000\n' % (w, h)), 1, r'out of range 1\.\.65535')
    case('pgm-no-height.pgm', b'P5\n40 \n', 1, r'no height')
    case('pgm-header-only.pgm', b'P5\n40 30\n255', 1, r'no pixel data')

    # ---- .npy, other files
    f = np.array(pix, np.float32).reshape(h, w)
    f[3, 4], f[10, 20] = np.nan, np.inf
    case('nan-inf.npy', npy(f), 0, r'warning: .*2 of its pixels hold NaN or infinite values')
    case('nan-inf.npy-strict', npy(f), 1, r'error: .*2 of its pixels hold NaN or infinite values', ['--strict'])
    case('npy-over-max-pixels.npy', npy(np.zeros((h, w), np.float32)), 1, r'--max-pixels 100', ['--max-pixels', '100'])
    case('empty.png', b'', 1, r'empty file')
    case('garbage.png', b'not an image at all\n', 1, r'cannot decode')
    case('gif-truncated.gif', b'GIF89a\x28\x00\x1e\x00\x80\x00\x00', {1}, r'cannot decode')
    shutil.rmtree(OUT, ignore_errors=True)
    return 1 if failures else 0


sys.exit(main())
