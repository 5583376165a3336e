"""make bench-volume's inputs: a SIDE x SIDE mosaic of real ISBI 2012 EM slices (the 30
test slices, 512 x 512, each flipped so that neighbours meet without a seam), as 16-bit
samples (x 257), one page of a tiled TIFF (512 x 512 tiles) written tile by tile, never
whole in memory. Also the small EM net of the tests (tests/volume/volume_helper.py).

    volume_data.py mosaic OUT.tif SIDE [PAGES]     the ISBI data: $FCN_DATA or ../shared/data/isbi2012
    volume_data.py model OUT.fcn
    volume_data.py run CMD...      runs CMD; prints "WALL USER SYS MAXRSS_KB" (getrusage)
"""
import os
import sys

import numpy as np

sys.path.insert(0, 'tests/volume')
sys.path.insert(0, 'tests/lib')


def slices():
    import cv2
    d = os.environ.get('FCN_DATA') or '../shared/data/isbi2012'
    s = [cv2.imread(os.path.join(d, 'test-images', '%d.png' % i), cv2.IMREAD_GRAYSCALE) for i in range(30)]
    if any(x is None for x in s):
        sys.exit('volume_data.py: the ISBI 2012 test slices are not in %s (set FCN_DATA)' % d)
    return s


def mosaic(out, side, pages=1):
    import tifffile
    side, pages, t = int(side), int(pages), 512
    s = slices()
    n = side // t

    def tiles():
        for p in range(pages):
            for ty in range(n):
                for tx in range(n):
                    a = s[(p * 7 + ty * n + tx) % 30]
                    if ty % 2:
                        a = a[::-1]
                    if tx % 2:
                        a = a[:, ::-1]
                    yield a.astype(np.uint16) * 257
    tifffile.imwrite(out, tiles(), shape=(pages, n * t, n * t), dtype=np.uint16, tile=(t, t),
                     photometric='minisblack', bigtiff=pages * side * side * 2 > 2 ** 31, metadata=None)


def run(cmd):
    import resource
    import subprocess
    import time
    t = time.time()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
    wall = time.time() - t
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    print('%.3f %.3f %.3f %d' % (wall, r.ru_utime, r.ru_stime, r.ru_maxrss))
    return rc


if __name__ == '__main__':
    if sys.argv[1] == 'mosaic':
        mosaic(*sys.argv[2:])
    elif sys.argv[1] == 'run':
        sys.exit(run(sys.argv[2:]))
    else:
        from volume_helper import model
        model(sys.argv[2])
