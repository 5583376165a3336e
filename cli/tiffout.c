/* tiffout.c - the multi-page TIFF output of fcn map: one grey page per input page,
   uint8 or float32, uncompressed, in strips of about 64 kB, little-endian; BigTIFF when
   the file would pass 4 GB. Every page has the same size, so the whole layout is known
   before the first byte: each page is its directory (IFD), its strip offsets and byte
   counts, then its rows. The file is written front to back, band by band as the map's
   rows come, through fcn.h's atomic writer (a temporary renamed into place at the end),
   so it needs no seek and never exists half written under its name. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIFF_TAGS 11

struct tiff_out {
    fcn_file *f;
    int pages, h, w, f32, big;
    int page, row;                 /* the next row to write */
    uint64_t rps, strips;          /* rows per strip, strips per page */
    uint64_t head, ifd, arrays, page_bytes; /* sizes: file header, IFD, its arrays, a whole page */
    uint64_t row_bytes;
};

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xFF);
    p[1] = (unsigned char)((v >> 8) & 0xFF);
}

static void put64(unsigned char *p, uint64_t v, int n) /* the low n bytes, little-endian */
{
    int i;
    for (i = 0; i < n; i++) p[i] = (unsigned char)((v >> (8 * i)) & 0xFF);
}

/* The sizes of the layout, classic or BigTIFF. */
static void tiff_layout(tiff_out *t)
{
    uint64_t word = t->big ? 8 : 4, entry = t->big ? 20 : 12;
    t->row_bytes = (uint64_t)t->w * (t->f32 ? 4u : 1u);
    t->rps = t->row_bytes >= 65536 ? 1 : 65536 / t->row_bytes;
    if (t->rps > (uint64_t)t->h) t->rps = (uint64_t)t->h;
    t->strips = ((uint64_t)t->h + t->rps - 1) / t->rps;
    t->head = t->big ? 16 : 8;
    t->ifd = (t->big ? 8 : 2) + TIFF_TAGS * entry + word;
    t->arrays = t->strips > 1 ? 2 * t->strips * word : 0; /* one strip: its offset and count fit in the entries */
    t->page_bytes = t->ifd + t->arrays + (uint64_t)t->h * t->row_bytes;
    t->page_bytes += t->page_bytes & 1; /* the next IFD on a word boundary */
}

int tiff_out_create(const char *path, int pages, int h, int w, int f32, int big, tiff_out **out, char *msg,
                    size_t msgn)
{
    tiff_out *t = (tiff_out *)calloc(1, sizeof *t);
    fcn_error err;
    unsigned char hdr[16];
    *out = NULL;
    if (!t) {
        snprintf(msg, msgn, "out of memory");
        return 0;
    }
    t->pages = pages, t->h = h, t->w = w, t->f32 = f32;
    tiff_layout(t);
    if (big || t->head + (uint64_t)pages * t->page_bytes > 0xFFFFFFFFu) { /* past 4 GB: BigTIFF */
        t->big = 1;
        tiff_layout(t);
    }
    memcpy(hdr, "II", 2);
    if (t->big) {
        put16(hdr + 2, 43);
        put16(hdr + 4, 8);
        put16(hdr + 6, 0);
        put64(hdr + 8, t->head, 8);
    } else {
        put16(hdr + 2, 42);
        put64(hdr + 4, t->head, 4);
    }
    if (fcn_file_create(path, &t->f, &err) != FCN_OK || fcn_file_write(t->f, hdr, (size_t)t->head, &err) != FCN_OK) {
        snprintf(msg, msgn, "%s", err.message);
        tiff_out_abort(t);
        return 0;
    }
    *out = t;
    return 1;
}

/* Page p's directory and arrays, written before its rows. */
static int tiff_page_head(tiff_out *t, char *msg, size_t msgn)
{
    static const unsigned tags[TIFF_TAGS] = {256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 339};
    uint64_t at = t->head + (uint64_t)t->page * t->page_bytes, data = at + t->ifd + t->arrays, s;
    uint64_t word = t->big ? 8 : 4, entry = t->big ? 20 : 12, last = (uint64_t)t->h - (t->strips - 1) * t->rps;
    uint64_t size = t->ifd + t->arrays;
    unsigned char *b = (unsigned char *)calloc(1, (size_t)size), *e;
    fcn_error err;
    int i, ok;
    if (!b) {
        snprintf(msg, msgn, "out of memory");
        return 0;
    }
    put64(b, TIFF_TAGS, t->big ? 8 : 2);
    for (i = 0; i < TIFF_TAGS; i++) {
        /* type: SHORT 3, LONG 4, LONG8 16; the value, or where the array is */
        uint64_t count = 1, value = 0;
        unsigned type = 3;
        e = b + (t->big ? 8 : 2) + (uint64_t)i * entry;
        switch (tags[i]) {
        case 256: type = 4, value = (uint64_t)t->w; break;
        case 257: type = 4, value = (uint64_t)t->h; break;
        case 258: value = t->f32 ? 32 : 8; break;
        case 259: value = 1; break; /* no compression */
        case 262: value = 1; break; /* min is black */
        case 273: /* strip offsets */
            type = t->big ? 16 : 4, count = t->strips;
            value = t->strips > 1 ? at + t->ifd : data;
            break;
        case 277: value = 1; break;
        case 278: type = 4, value = t->rps; break;
        case 279: /* strip byte counts */
            type = t->big ? 16 : 4, count = t->strips;
            value = t->strips > 1 ? at + t->ifd + t->strips * word : (uint64_t)t->h * t->row_bytes;
            break;
        case 284: value = 1; break; /* contiguous */
        default: value = t->f32 ? 3 : 1; break; /* 339: float or unsigned */
        }
        put16(e, tags[i]);
        put16(e + 2, type);
        put64(e + 4, count, t->big ? 8 : 4);
        put64(e + (t->big ? 12 : 8), value, type == 3 ? 2 : (int)word);
    }
    /* the next page's directory, or 0 after the last */
    put64(b + (t->big ? 8 : 2) + TIFF_TAGS * entry, t->page + 1 < t->pages ? at + t->page_bytes : 0, (int)word);
    for (s = 0; t->strips > 1 && s < t->strips; s++) {
        put64(b + t->ifd + s * word, data + s * t->rps * t->row_bytes, (int)word);
        put64(b + t->ifd + (t->strips + s) * word, (s + 1 < t->strips ? t->rps : last) * t->row_bytes, (int)word);
    }
    ok = fcn_file_write(t->f, b, (size_t)size, &err) == FCN_OK;
    if (!ok) snprintf(msg, msgn, "%s", err.message);
    free(b);
    return ok;
}

int tiff_out_rows(tiff_out *t, const void *rows, int n, char *msg, size_t msgn)
{
    fcn_error err;
    static const unsigned char pad = 0;
    if (t->page >= t->pages || n > t->h - t->row) {
        snprintf(msg, msgn, "internal error: more rows than the TIFF's pages hold");
        return 0;
    }
    if (t->row == 0 && !tiff_page_head(t, msg, msgn)) return 0;
    if (fcn_file_write(t->f, rows, (size_t)n * (size_t)t->row_bytes, &err) != FCN_OK) {
        snprintf(msg, msgn, "%s", err.message);
        return 0;
    }
    t->row += n;
    if (t->row == t->h) { /* the page is done: pad to the next directory's word boundary */
        if ((t->ifd + t->arrays + (uint64_t)t->h * t->row_bytes) & 1 && fcn_file_write(t->f, &pad, 1, &err) != FCN_OK) {
            snprintf(msg, msgn, "%s", err.message);
            return 0;
        }
        t->page++;
        t->row = 0;
    }
    return 1;
}

int tiff_out_finish(tiff_out *t, char *msg, size_t msgn)
{
    fcn_error err;
    fcn_file *f = t->f;
    if (t->page != t->pages) {
        snprintf(msg, msgn, "internal error: %d of %d TIFF pages written", t->page, t->pages);
        return 0;
    }
    t->f = NULL;
    free(t);
    if (fcn_file_commit(f, &err) != FCN_OK) {
        snprintf(msg, msgn, "%s", err.message);
        return 0;
    }
    return 1;
}

void tiff_out_abort(tiff_out *t)
{
    if (!t) return;
    fcn_file_abort(t->f);
    free(t);
}
