/* tiff.c - TIFF and BigTIFF pages for fcn map, read with libtiff a rectangle at a time:
   grey pages of 8- or 16-bit unsigned or 32-bit float samples, stripped or tiled, any
   compression this libtiff decodes (uncompressed, LZW, Deflate among them). A stripped
   page is read a scanline at a time (libtiff decodes a strip incrementally); a tiled page
   through a cache of the tiles the current request covers, so that the rows the next
   request asks for decode no tile twice, and memory holds only a row of tiles. */
#include "cli.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

typedef struct tiff_pg {
    int h, w;
    int bits;        /* 8, 16 (unsigned) or 32 (float) */
    int tiled;
    uint32_t tw, th; /* a tile's width and height */
} tiff_pg;

typedef struct tiff_tile {
    uint32_t index;
    unsigned char *data;
    int used; /* by the current request */
} tiff_tile;

struct tiff_in {
    TIFF *tif;
    const char *path;
    int n, cur;          /* pages; the current directory */
    tiff_pg *pg;
    tiff_tile *tiles;    /* the cache */
    int ntiles, captiles;
    unsigned char *line; /* one scanline */
};

/* libtiff reports errors through a handler: the last message, for ours. The tool reads
   on one thread. */
static char tiff_why[512];

static void tiff_on_error(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    vsnprintf(tiff_why, sizeof tiff_why, fmt, ap);
}

static const char *tiff_reason(void) { return tiff_why[0] ? tiff_why : "no reason given"; }

int tiff_is(const unsigned char *h, size_t n)
{
    return n >= 4 && ((h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0) ||
                      (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43)));
}

/* What is wrong with the sample format, or NULL if fcn reads it. */
static const char *tiff_format_problem(int spp, int bits, int fmt, int photo, char *buf, size_t n)
{
    static const char *const kinds[] = {"?", "unsigned integer", "signed integer", "floating-point", "untyped",
                                        "complex integer", "complex floating-point"};
    if (spp != 1) {
        snprintf(buf, n, "%d samples per pixel (%s): only grey pages (1 sample) are read", spp,
                 spp == 2 ? "grey + alpha" : spp == 3 ? "RGB" : spp == 4 ? "RGBA or CMYK" : "several channels");
        return buf;
    }
    if (photo == PHOTOMETRIC_PALETTE) return "palette colour (indexed) samples: only grey pages are read";
    if ((fmt == SAMPLEFORMAT_UINT && (bits == 8 || bits == 16)) || (fmt == SAMPLEFORMAT_IEEEFP && bits == 32)) return NULL;
    snprintf(buf, n, "%d-bit %s samples are not supported (8- and 16-bit unsigned integer, 32-bit float are)", bits,
             fmt >= 1 && fmt <= 6 ? kinds[fmt] : "unknown-format");
    return buf;
}

/* Reads page i's tags into t->pg[i] and checks them. */
static int tiff_page_check(tiff_in *t, int i, char *msg, size_t msgn)
{
    TIFF *tif = t->tif;
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bits = 1, fmt = SAMPLEFORMAT_UINT, photo = PHOTOMETRIC_MINISBLACK, comp = COMPRESSION_NONE;
    char why[200];
    const char *problem;
    tiff_pg *p = &t->pg[i];
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w) || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h)) {
        snprintf(msg, msgn, "%s: page %d: no image width or length", t->path, i);
        return 0;
    }
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &comp);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
    if ((problem = tiff_format_problem(spp, bits, fmt, photo, why, sizeof why)) != NULL) {
        snprintf(msg, msgn, "%s: page %d: %s", t->path, i, problem);
        return 0;
    }
    if (!TIFFIsCODECConfigured(comp)) {
        const TIFFCodec *c = TIFFFindCODEC(comp);
        snprintf(msg, msgn, "%s: page %d: compression %s (%d) is not supported by this libtiff", t->path, i,
                 c ? c->name : "unknown", (int)comp);
        return 0;
    }
    if (w < 1 || h < 1 || w > (1u << 20) || h > (1u << 20)) {
        snprintf(msg, msgn, "%s: page %d: %lux%lu pixels: each side must be 1..%d", t->path, i, (unsigned long)w,
                 (unsigned long)h, 1 << 20);
        return 0;
    }
    p->w = (int)w;
    p->h = (int)h;
    p->bits = bits;
    p->tiled = TIFFIsTiled(tif);
    if (p->tiled && (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &p->tw) || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &p->th) ||
                     p->tw < 1 || p->th < 1)) {
        snprintf(msg, msgn, "%s: page %d: a tiled page without a tile size", t->path, i);
        return 0;
    }
    return 1;
}

int tiff_open(const char *path, tiff_in **out, char *msg, size_t msgn)
{
    tiff_in *t = (tiff_in *)calloc(1, sizeof *t);
    int i;
    *out = NULL;
    TIFFSetErrorHandler(tiff_on_error);
    TIFFSetWarningHandler(NULL); /* unknown tags and the like: not ours to report */
    tiff_why[0] = '\0';
    if (!t) {
        snprintf(msg, msgn, "%s: out of memory", path);
        return 0;
    }
    t->path = path;
    /* "m": read, not memory-map: mapped pages of a large file would count as our memory */
    if (!(t->tif = TIFFOpen(path, "rm"))) {
        snprintf(msg, msgn, "%s: cannot read it as TIFF: %s", path, tiff_reason());
        free(t);
        return 0;
    }
    /* the pages in order, each directory read after the last (TIFFSetDirectory(i) would
       walk the chain from the first every time: quadratic in a stack of thousands) */
    for (i = 0;; i++) {
        if (i % 64 == 0) {
            tiff_pg *pg = (tiff_pg *)realloc(t->pg, (size_t)(i + 64) * sizeof *pg);
            if (!pg) {
                snprintf(msg, msgn, "%s: out of memory", path);
                tiff_close(t);
                return 0;
            }
            t->pg = pg;
        }
        t->n = i + 1;
        if (!tiff_page_check(t, i, msg, msgn)) {
            tiff_close(t);
            return 0;
        }
        tiff_why[0] = '\0';
        if (!TIFFReadDirectory(t->tif)) break;
    }
    if (tiff_why[0]) {
        snprintf(msg, msgn, "%s: page %d: cannot read its directory: %s", path, t->n, tiff_reason());
        tiff_close(t);
        return 0;
    }
    t->cur = t->n - 1;
    *out = t;
    return 1;
}

int tiff_pages(const tiff_in *t) { return t->n; }

void tiff_page_size(const tiff_in *t, int page, int *h, int *w)
{
    *h = t->pg[page].h;
    *w = t->pg[page].w;
}

static void tiff_drop_tiles(tiff_in *t, int all)
{
    int i, n = 0;
    for (i = 0; i < t->ntiles; i++) {
        if (all || !t->tiles[i].used) free(t->tiles[i].data);
        else t->tiles[n++] = t->tiles[i];
    }
    t->ntiles = n;
}

void tiff_close(tiff_in *t)
{
    if (!t) return;
    tiff_drop_tiles(t, 1);
    free(t->tiles);
    free(t->line);
    free(t->pg);
    if (t->tif) TIFFClose(t->tif);
    free(t);
}

/* n samples of 'bits' from src as floats; 0 and the first bad one's index in *bad if a
   float sample is NaN or infinite. */
static int tiff_floats(const unsigned char *src, int bits, size_t n, float *dst, size_t *bad)
{
    size_t i;
    if (bits == 8) {
        for (i = 0; i < n; i++) dst[i] = (float)src[i];
    } else if (bits == 16) {
        for (i = 0; i < n; i++) {
            uint16_t v;
            memcpy(&v, src + 2 * i, 2); /* native order: libtiff swaps */
            dst[i] = (float)v;
        }
    } else {
        memcpy(dst, src, n * sizeof(float));
        for (i = 0; i < n; i++)
            if (!isfinite(dst[i])) {
                *bad = i;
                return 0;
            }
    }
    return 1;
}

/* A decoded tile of the current page, from the cache or read now; NULL on failure. */
static const unsigned char *tiff_tile_get(tiff_in *t, uint32_t index, size_t size, char *msg, size_t msgn)
{
    tiff_tile *e;
    int i;
    for (i = 0; i < t->ntiles; i++)
        if (t->tiles[i].index == index) {
            t->tiles[i].used = 1;
            return t->tiles[i].data;
        }
    if (t->ntiles == t->captiles) {
        int cap = t->captiles ? 2 * t->captiles : 16;
        tiff_tile *nt = (tiff_tile *)realloc(t->tiles, (size_t)cap * sizeof *nt);
        if (!nt) {
            snprintf(msg, msgn, "%s: out of memory for tiles", t->path);
            return NULL;
        }
        t->tiles = nt;
        t->captiles = cap;
    }
    e = &t->tiles[t->ntiles];
    if (!(e->data = (unsigned char *)malloc(size))) {
        snprintf(msg, msgn, "%s: out of memory for a tile", t->path);
        return NULL;
    }
    tiff_why[0] = '\0';
    if (TIFFReadEncodedTile(t->tif, index, e->data, (tmsize_t)size) < 0) {
        snprintf(msg, msgn, "%s: page %d: cannot read tile %lu: %s", t->path, t->cur, (unsigned long)index, tiff_reason());
        free(e->data);
        return NULL;
    }
    e->index = index;
    e->used = 1;
    t->ntiles++;
    return e->data;
}

static int tiff_read_tiled(tiff_in *t, const tiff_pg *p, int y, int rows, int x, int cols, float *buf, char *msg,
                           size_t msgn)
{
    size_t bps = (size_t)p->bits / 8, tsize = (size_t)TIFFTileSize(t->tif), bad;
    uint32_t ty, tx;
    int i;
    for (i = 0; i < t->ntiles; i++) t->tiles[i].used = 0;
    for (ty = (uint32_t)y / p->th * p->th; ty < (uint32_t)(y + rows); ty += p->th)
        for (tx = (uint32_t)x / p->tw * p->tw; tx < (uint32_t)(x + cols); tx += p->tw) {
            const unsigned char *d = tiff_tile_get(t, TIFFComputeTile(t->tif, tx, ty, 0, 0), tsize, msg, msgn);
            int r0 = (int)ty > y ? (int)ty : y, r1 = (int)(ty + p->th) < y + rows ? (int)(ty + p->th) : y + rows;
            int c0 = (int)tx > x ? (int)tx : x, c1 = (int)(tx + p->tw) < x + cols ? (int)(tx + p->tw) : x + cols, r;
            if (!d) return 0;
            for (r = r0; r < r1; r++) {
                const unsigned char *src = d + ((size_t)(r - (int)ty) * p->tw + (size_t)(c0 - (int)tx)) * bps;
                if (!tiff_floats(src, p->bits, (size_t)(c1 - c0), buf + (size_t)(r - y) * (size_t)cols + (size_t)(c0 - x), &bad)) {
                    snprintf(msg, msgn, "%s: page %d: the sample at row %d, column %lu is not a finite number", t->path,
                             t->cur, r, (unsigned long)((size_t)c0 + bad));
                    return 0;
                }
            }
        }
    tiff_drop_tiles(t, 0); /* keep what this request used: the next one starts in it */
    return 1;
}

static int tiff_read_stripped(tiff_in *t, const tiff_pg *p, int y, int rows, int x, int cols, float *buf, char *msg,
                              size_t msgn)
{
    size_t bps = (size_t)p->bits / 8, bad;
    int r;
    if (!t->line && !(t->line = (unsigned char *)malloc((size_t)TIFFScanlineSize(t->tif) + 16))) {
        snprintf(msg, msgn, "%s: out of memory", t->path);
        return 0;
    }
    for (r = y; r < y + rows; r++) {
        tiff_why[0] = '\0';
        if (TIFFReadScanline(t->tif, t->line, (uint32_t)r, 0) < 0) {
            snprintf(msg, msgn, "%s: page %d: cannot read row %d: %s", t->path, t->cur, r, tiff_reason());
            return 0;
        }
        if (!tiff_floats(t->line + (size_t)x * bps, p->bits, (size_t)cols, buf + (size_t)(r - y) * (size_t)cols, &bad)) {
            snprintf(msg, msgn, "%s: page %d: the sample at row %d, column %lu is not a finite number", t->path, t->cur,
                     r, (unsigned long)((size_t)x + bad));
            return 0;
        }
    }
    return 1;
}

int tiff_read(tiff_in *t, int page, int y, int rows, int x, int cols, float *buf, char *msg, size_t msgn)
{
    const tiff_pg *p = &t->pg[page];
    if (page != t->cur) {
        tiff_drop_tiles(t, 1);
        free(t->line);
        t->line = NULL;
        tiff_why[0] = '\0';
        if (!(page == t->cur + 1 ? TIFFReadDirectory(t->tif) : TIFFSetDirectory(t->tif, (tdir_t)page))) {
            snprintf(msg, msgn, "%s: page %d: cannot read its directory: %s", t->path, page, tiff_reason());
            return 0;
        }
        t->cur = page;
    }
    return p->tiled ? tiff_read_tiled(t, p, y, rows, x, cols, buf, msg, msgn)
                    : tiff_read_stripped(t, p, y, rows, x, cols, buf, msg, msgn);
}
