"""What the shell tests' Python helpers share (standard library only): a PNG writer and
a model-file writer. The helpers run from the repository root and import it with
sys.path.insert(0, 'tests/lib')."""
import struct
import zlib


def write_png(path, w, h, c, pixels):
    """An 8-bit PNG (c = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) of h rows of w * c bytes."""
    color = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    n = w * c
    raw = b''.join(b'\x00' + bytes(pixels[i * n:(i + 1) * n]) for i in range(h))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, color, 0, 0, 0))
                + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))


def write_model(path, header, weights):
    """A model file: header lines ('\\n' in the text stands for a newline), then the
    weights (little-endian float32 bytes) with their count and CRC-32."""
    head = (header.replace('\\n', '\n').rstrip('\n') + '\n').encode()
    crc = zlib.crc32(weights, zlib.crc32(head)) & 0xffffffff
    with open(path, 'wb') as f:
        f.write(head + b'weights %d crc32 %08x\n' % (len(weights), crc) + weights)
