/* image_checks.h - what the fcn command-line tool (cli/fcn.c) checks in an image file
   before stb_image reads it. Debian's stb_image (2.27) trusts a file more than a tool
   that maps stacks of them unattended should: it does not check PNG CRCs (a corrupt PNG
   maps, to another map), decodes a truncated BMP or JPEG as if the missing pixels were
   there, and overflows a signed int on a PGM header declaring 99999999999 columns. So,
   before stb_image sees the bytes (stbi_info included):

     PNG      every chunk's length and CRC-32, IHDR first, and an IEND chunk;
     JPEG     the segments, the compressed data after each SOS, and an EOI marker;
     BMP      uncompressed (and BITFIELDS): the pixel rows the header declares;
     PGM/PPM  (P5, P6) the header's numbers (width and height 1..2^24, the largest
              sample 1..65535) and the pixel bytes they declare.

   A byte changed inside a JPEG's compressed data cannot be detected (JPEG has no
   checksum); the other formats stb_image reads (GIF, TGA, PSD, HDR, PIC) go to it
   unchecked. Included by cli/fcn.c after fcn.h's implementation (fcn__crc32). */

#define IMAGE_MAX_SIDE (1L << 24) /* stb_image's own limit on a side (STBI_MAX_DIMENSIONS) */

static int image_bad(char *msg, size_t msgn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgn, fmt, ap);
    va_end(ap);
    return 0;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static unsigned le16(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

/* A PNG chunk type, printable. */
static const char *chunk_name(const unsigned char *p, char name[5])
{
    int i;
    for (i = 0; i < 4; i++) name[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ? p[i] : '?');
    name[4] = '\0';
    return name;
}

static int check_png(const char *path, const unsigned char *d, size_t n, char *msg, size_t msgn)
{
    size_t pos = 8;
    char name[5];
    while (n - pos >= 12) {
        uint32_t len = be32(d + pos);
        chunk_name(d + pos + 4, name);
        if (len > n - pos - 12)
            return image_bad(msg, msgn, "%s: truncated PNG: chunk '%s' at byte %lu declares %lu bytes, the file has %lu after it",
                             path, name, (unsigned long)pos, (unsigned long)len, (unsigned long)(n - pos - 12));
        if (fcn__crc32(0, d + pos + 4, (size_t)len + 4) != be32(d + pos + 8 + len))
            return image_bad(msg, msgn, "%s: corrupt PNG: chunk '%s' at byte %lu fails its CRC-32 check", path, name,
                             (unsigned long)pos);
        if (pos == 8 && strcmp(name, "IHDR") != 0)
            return image_bad(msg, msgn, "%s: corrupt PNG: the first chunk is '%s', not IHDR", path, name);
        if (strcmp(name, "IEND") == 0) return 1; /* bytes after it are ignored, as every reader does */
        pos += 12 + (size_t)len;
    }
    return image_bad(msg, msgn, "%s: truncated PNG: no IEND chunk (the file ends at byte %lu)", path, (unsigned long)n);
}

/* The compressed data after an SOS header at pos: up to the next marker (not a byte
   stuffed after 0xFF, not a restart marker). Returns its position, or n. */
static size_t jpeg_scan_end(const unsigned char *d, size_t n, size_t pos)
{
    for (; pos + 1 < n; pos++)
        if (d[pos] == 0xFF && d[pos + 1] != 0x00 && d[pos + 1] != 0xFF && (d[pos + 1] < 0xD0 || d[pos + 1] > 0xD7)) return pos;
    return n;
}

static int check_jpeg(const char *path, const unsigned char *d, size_t n, char *msg, size_t msgn)
{
    size_t pos = 2, len;
    unsigned m;
    for (;;) {
        if (pos < n && d[pos] != 0xFF)
            return image_bad(msg, msgn, "%s: corrupt JPEG: no marker at byte %lu", path, (unsigned long)pos);
        while (pos < n && d[pos] == 0xFF) pos++; /* fill bytes */
        if (pos >= n) break;
        m = d[pos++];
        if (m == 0xD9) return 1; /* EOI */
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* no length */
        if (n - pos < 2) break;
        len = (size_t)d[pos] << 8 | d[pos + 1];
        if (len < 2) return image_bad(msg, msgn, "%s: corrupt JPEG: segment 0x%02X at byte %lu has length %lu", path, m,
                                      (unsigned long)(pos - 2), (unsigned long)len);
        if (len > n - pos) break;
        pos += len;
        if (m == 0xDA) pos = jpeg_scan_end(d, n, pos); /* SOS: the compressed data */
    }
    return image_bad(msg, msgn, "%s: truncated JPEG: the file ends at byte %lu without an EOI marker", path, (unsigned long)n);
}

static int check_bmp(const char *path, const unsigned char *d, size_t n, char *msg, size_t msgn)
{
    uint32_t off, hsz, comp = 0;
    long long w, h;
    unsigned bpp;
    unsigned long long row, need;
    if (n < 26) return image_bad(msg, msgn, "%s: truncated BMP: %lu bytes", path, (unsigned long)n);
    off = le32(d + 10), hsz = le32(d + 14);
    if (hsz == 12) { /* OS/2 */
        w = le16(d + 18), h = le16(d + 20), bpp = le16(d + 24);
    } else if (hsz >= 40 && n >= 34) {
        w = (int32_t)le32(d + 18), h = (int32_t)le32(d + 22), bpp = le16(d + 28), comp = le32(d + 30);
    } else {
        return 1; /* stb_image decides */
    }
    if ((comp != 0 && comp != 3) || w < 1 || w > IMAGE_MAX_SIDE || h == 0 || h > IMAGE_MAX_SIDE || h < -IMAGE_MAX_SIDE ||
        (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32))
        return 1; /* compressed, or a header stb_image refuses itself */
    row = ((unsigned long long)w * bpp + 31) / 32 * 4;
    need = (unsigned long long)off + row * (unsigned long long)(h < 0 ? -h : h);
    if (need > n)
        return image_bad(msg, msgn,
                         "%s: truncated BMP: the header declares %lldx%lld pixels ending at byte %llu, the file has %lu bytes",
                         path, w, h < 0 ? -h : h, need, (unsigned long)n);
    return 1;
}

/* The header of a binary PGM (P5) or PPM (P6), checked in full: stb_image reads its
   numbers into an int without a bound. */
static int check_pnm(const char *path, const unsigned char *d, size_t n, char *msg, size_t msgn)
{
    static const char *const what[3] = {"width", "height", "largest sample value"};
    static const long hi[3] = {IMAGE_MAX_SIDE, IMAGE_MAX_SIDE, 65535};
    size_t pos = 2;
    unsigned long long need, have;
    long v[3];
    int i, c = d[1] == '5' ? 1 : 3;
    for (i = 0; i < 3; i++) {
        size_t start;
        for (;;) { /* whitespace, comments */
            while (pos < n && (d[pos] == ' ' || (d[pos] >= '\t' && d[pos] <= '\r'))) /* space, \t \n \v \f \r */
                pos++;
            if (pos >= n || d[pos] != '#') break;
            while (pos < n && d[pos] != '\n' && d[pos] != '\r') pos++;
        }
        if (pos >= n || d[pos] < '0' || d[pos] > '9')
            return image_bad(msg, msgn, "%s: corrupt PGM/PPM header: no %s", path, what[i]);
        for (start = pos, v[i] = 0; pos < n && d[pos] >= '0' && d[pos] <= '9'; pos++)
            if (v[i] <= hi[i]) v[i] = v[i] * 10 + (d[pos] - '0'); /* stops growing past the bound */
        if (v[i] < 1 || v[i] > hi[i])
            return image_bad(msg, msgn, "%s: PGM/PPM header: %s %.*s%s is out of range 1..%ld", path, what[i],
                             (int)(pos - start > 20 ? 20 : pos - start), (const char *)d + start, pos - start > 20 ? "..." : "",
                             hi[i]);
    }
    if (pos >= n) return image_bad(msg, msgn, "%s: truncated PGM/PPM: no pixel data", path);
    pos++; /* the one whitespace character before the pixels */
    need = (unsigned long long)v[0] * (unsigned long long)v[1] * (unsigned long long)c * (v[2] > 255 ? 2u : 1u); /* < 2^51 */
    have = n - pos;
    if (have < need)
        return image_bad(msg, msgn, "%s: truncated PGM/PPM: the header announces %llu bytes of pixels, the file has %llu",
                         path, need, have);
    return 1;
}

/* 1 if the file may go to stb_image, else 0 with a message naming the file and why. */
static int check_image_file(const char *path, const unsigned char *d, size_t n, char *msg, size_t msgn)
{
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return check_png(path, d, n, msg, msgn);
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return check_jpeg(path, d, n, msg, msgn);
    if (n >= 2 && d[0] == 'B' && d[1] == 'M') return check_bmp(path, d, n, msg, msgn);
    if (n >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6')) return check_pnm(path, d, n, msg, msgn);
    return 1;
}
