/* volume.c - fcn map on EM volumes: every page of a stack (stack.c) to an OME-Zarr array
   (zarr.c) or a multi-page TIFF (tiffout.c), in bounded memory.

   The job is pages x blocks: each page's map is cut into blocks, rectangles of at most
   about 2048 x 2048 map pixels (for Zarr, whole chunks; for TIFF no wider than the
   column tile fcn.h maps within its memory budget, fcn_map_tile_width), and each block
   is mapped by fcn_map_stream, which reads the block's input, halo included, from the
   stack and hands its rows out in order. A block is exact (a sub-rectangle of the map), so any set of
   blocks, computed anywhere, gives the one-process map's bits. What is held: fcn.h's
   scratch (options.max_memory), a band of input rows, the rows of a block wider than
   one column tile until all its tiles have them (fcn.h's strip, at most max_memory),
   and the output of one band of the block: for Zarr one row of chunks of the block
   (chunks are written as soon as their rows are done), for TIFF a band of block rows
   across the page (the TIFF is written in row order). Nothing grows with the page.

   --shard I/N: the blocks, in order (page group, block row, block column), are cut into
   N runs of consecutive blocks; shard I computes run I. The cut depends only on the
   stack, the model's output size and the chunks, never on the machine, so every shard
   agrees on it; each chunk belongs to one block, so shards never write the same chunk.
   --resume: a block whose chunks all exist is skipped; of a block that is computed, only
   the missing chunks are written (a chunk is complete under its final name: zarr.c). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK 2048 /* a block's side, in map pixels (a multiple of the chunk's) */

static const char *const vborder_names[] = {"mirror", "zero", "replicate", "valid"};

/* "A,B,C" of positive ints (n of them), or "I/N" */
static int parse_ints(const char *s, char sep, int n, int *v, int lo)
{
    char buf[96], *p = buf, *q;
    int i;
    if (strlen(s) >= sizeof buf) return 0;
    strcpy(buf, s);
    for (i = 0; i < n; i++) {
        q = strchr(p, sep);
        if ((i < n - 1) != (q != NULL)) return 0;
        if (q) *q = '\0';
        if (!parse_int(p, lo, 1 << 30, &v[i])) return 0;
        p = q ? q + 1 : p;
    }
    return 1;
}

int volume_option(volume_opts *v, const char *opt, const char *value)
{
    double d;
    if (strcmp(opt, "--resume") == 0 || strcmp(opt, "--bigtiff") == 0) {
        *(opt[2] == 'r' ? &v->resume : &v->bigtiff) = 1;
        return 1;
    }
    if (!volume_option_has_value(opt)) return 0;
    if (strcmp(opt, "--dtype") == 0) {
        v->u8 = strcmp(value, "u8") == 0;
        v->f32 = strcmp(value, "f32") == 0;
        if (!v->u8 && !v->f32) return usage_error("--dtype: '%s', expected u8 or f32", value), -1;
    } else if (strcmp(opt, "--chunk") == 0) {
        if (!parse_ints(value, ',', 3, v->chunk, 1) || v->chunk[1] > 1 << 20 || v->chunk[2] > 1 << 20 ||
            (double)v->chunk[0] * v->chunk[1] * v->chunk[2] > (double)(1 << 28))
            return usage_error("--chunk: '%s', expected Z,Y,X, each >= 1, at most 2^28 values a chunk", value), -1;
    } else if (strcmp(opt, "--compress") == 0) {
        v->zlib = strcmp(value, "zlib") == 0;
        v->none = strcmp(value, "none") == 0;
        if (!v->zlib && !v->none) return usage_error("--compress: '%s', expected zlib or none", value), -1;
    } else if (strcmp(opt, "--shard") == 0) {
        int in[2];
        if (!parse_ints(value, '/', 2, in, 0) || in[1] < 1 || in[0] >= in[1])
            return usage_error("--shard: '%s', expected I/N with N >= 1 and 0 <= I < N", value), -1;
        v->shard = in[0];
        v->shards = in[1];
    } else {
        if (!parse_double(value, &d) || d == 0.0 || d > 1e30 || d < -1e30)
            return usage_error("--in-scale: '%s', expected a finite non-zero number", value), -1;
        v->in_scale = (float)d;
        v->in_scale_given = 1;
    }
    return 1;
}

int volume_output(const char *out)
{
    size_t n = out ? strlen(out) : 0;
    while (n > 1 && out[n - 1] == '/') n--; /* OUT.zarr/ */
    return out && ((n >= 5 && strncmp(out + n - 5, ".zarr", 5) == 0) || ends_with(out, ".tif") || ends_with(out, ".tiff"));
}

/* ---- the job ------------------------------------------------------------------------- */

typedef struct vjob {
    const fcn_net *net;
    const char *input, *out;
    fcn_options o;           /* the caller's, with each block's rectangle */
    stack *in;
    int Z, H, W;             /* pages, and their size */
    int mh, mw, K;           /* a page's map */
    int zarr_out, f32, cls;  /* Zarr (every class) or TIFF (class cls); float32 or uint8 */
    int resume;
    zarr za;
    zarr_writer *zw;         /* the chunks' writer threads */
    tiff_out *tif;
    int bz, bh, bw;          /* a block: pages, rows, columns */
    long nbz, nby, nbx;      /* blocks per page group, row, column */
    /* the block being mapped */
    int page, z0, z1, r0, r1, c0, c1;
    /* the output held: bz pages x 'band' rows x width columns x planes, elements of 1 or 4 bytes;
       Zarr: one row of chunks of the block (planes K); TIFF: a band of block rows across the page */
    unsigned char *buf;
    int band, width, planes;
    size_t esize;
    long written, skipped;   /* chunks */
    /* progress over the whole job, in map pixels */
    int shown;
    long block, blocks;      /* this shard's: the one being mapped (from 1), how many */
    double start, last, done, total, block_px;
    char msg[1024];
} vjob;

/* The CRC-32 of what the model computes (layers, weights, transform): shards of
   different models must not share an array. */
static unsigned long model_crc(const fcn_net *net)
{
    uLong c = crc32(0L, Z_NULL, 0);
    fcn_shape in = fcn_net_input(net);
    float sc = fcn_net_scale(net);
    int i, v[8];
    c = crc32(c, (const Bytef *)&in, sizeof in);
    c = crc32(c, (const Bytef *)&sc, sizeof sc);
    c = crc32(c, (const Bytef *)fcn_net_mean(net), (uInt)((size_t)in.c * sizeof(float)));
    for (i = 0; i < fcn_net_layer_count(net); i++) {
        fcn_layer d;
        size_t nw = 0, nb = 0;
        const float *w = fcn_net_weights((fcn_net *)net, i, &nw), *b = fcn_net_bias((fcn_net *)net, i, &nb);
        fcn_net_layer(net, i, &d, NULL, NULL);
        v[0] = (int)d.type, v[1] = d.maps, v[2] = d.kh, v[3] = d.kw, v[4] = d.stride, v[5] = d.pad, v[6] = d.ceil_mode;
        memcpy(&v[7], &d.slope, sizeof(float));
        c = crc32(c, (const Bytef *)v, sizeof v);
        if (w) c = crc32(c, (const Bytef *)w, (uInt)(nw * sizeof(float)));
        if (b) c = crc32(c, (const Bytef *)b, (uInt)(nb * sizeof(float)));
    }
    return (unsigned long)c;
}

static void put_f32le(unsigned char *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    p[0] = (unsigned char)(u & 0xFF);
    p[1] = (unsigned char)((u >> 8) & 0xFF);
    p[2] = (unsigned char)((u >> 16) & 0xFF);
    p[3] = (unsigned char)(u >> 24);
}

static void put_value(const vjob *v, unsigned char *p, float x)
{
    if (v->f32) put_f32le(p, x);
    else *p = to_byte(x);
}

/* Writes the chunks of chunk row yc of the block (those missing, with --resume). */
static int flush_chunks(vjob *v, int yc)
{
    const zarr *z = &v->za;
    int k, xc, zl, y, x, rows = (yc + 1) * z->cy <= v->mh ? z->cy : v->mh - yc * z->cy;
    int zc = v->z0 / z->cz;
    size_t crow = (size_t)z->cx * v->esize;
    for (k = 0; k < v->K; k++)
        for (xc = v->c0 / z->cx; xc * z->cx < v->c1; xc++) {
            int cols = (xc + 1) * z->cx <= v->mw ? z->cx : v->mw - xc * z->cx;
            if (v->resume && zarr_has_chunk(z, k, zc, yc, xc)) {
                v->skipped++;
                continue;
            }
            unsigned char *chunk = zarr_writer_buffer(v->zw);
            if (!chunk) {
                snprintf(v->msg, sizeof v->msg, "out of memory for a chunk");
                return 0;
            }
            /* outside the array (the last chunks' edges): zeros, the fill value */
            memset(chunk, 0, (size_t)z->cz * (size_t)z->cy * crow);
            for (zl = 0; zl < v->z1 - v->z0; zl++)
                for (y = 0; y < rows; y++) {
                    const unsigned char *src = v->buf + ((((size_t)zl * (size_t)v->planes + (size_t)k) * (size_t)v->band + (size_t)y) * (size_t)v->width + (size_t)(xc * z->cx - v->c0)) * v->esize;
                    unsigned char *dst = chunk + ((size_t)zl * (size_t)z->cy + (size_t)y) * crow;
                    for (x = 0; x < cols; x++) memcpy(dst + (size_t)x * v->esize, src + (size_t)x * v->esize, v->esize);
                }
            if (!zarr_writer_put(v->zw, k, zc, yc, xc, chunk, v->msg, sizeof v->msg)) return 0;
            v->written++;
        }
    return 1;
}

/* fcn_map_stream's callbacks: the page's rows from the stack; the map's rows into the
   band held, and out when a row of chunks is done (Zarr). */
static int v_read(void *user, int y, int rows, int x, int cols, float *buf)
{
    vjob *v = (vjob *)user;
    return stack_read(v->in, v->page, y, rows, x, cols, buf, v->msg, sizeof v->msg) ? 0 : 1;
}

static int v_write(void *user, int y, int rows, const float *map)
{
    vjob *v = (vjob *)user;
    int i, x, k, cols = v->c1 - v->c0, zl = v->page - v->z0;
    int base = v->zarr_out ? v->c0 : 0; /* the buffer's first column */
    for (i = 0; i < rows; i++) {
        int row = v->r0 + y + i; /* in the page's map */
        int br = v->zarr_out ? row % v->za.cy : row - v->r0; /* in the band */
        const float *m = map + (size_t)i * (size_t)cols * (size_t)v->K;
        for (k = 0; k < v->planes; k++) {
            int kk = v->zarr_out ? k : v->cls;
            unsigned char *dst = v->buf + ((((size_t)zl * (size_t)v->planes + (size_t)k) * (size_t)v->band + (size_t)br) * (size_t)v->width + (size_t)(v->c0 - base)) * v->esize;
            for (x = 0; x < cols; x++) put_value(v, dst + (size_t)x * v->esize, m[(size_t)x * (size_t)v->K + (size_t)kk]);
        }
        /* a row of chunks is done when its last row is, on the block's last page */
        if (v->zarr_out && v->page == v->z1 - 1 && ((row + 1) % v->za.cy == 0 || row + 1 == v->r1) &&
            !flush_chunks(v, row / v->za.cy))
            return 1;
    }
    return 0;
}

/* The bar on stderr, over the whole job: pages, blocks, megapixels, the time left. */
static int v_progress(void *user, long done, long total)
{
    vjob *v = (vjob *)user;
    double d = v->done + (total > 0 ? (double)done / (double)total : 1.0) * v->block_px, now = now_s();
    double el = now - v->start, f = v->total > 0 ? d / v->total : 1.0;
    char bar[21], left[32];
    int i;
    if (f < 1.0 && now - v->last < 0.2) return 0;
    v->last = now;
    for (i = 0; i < 20; i++) bar[i] = i < (int)(f * 20.0) ? '#' : '.';
    bar[20] = '\0';
    hms(left, sizeof left, d > 0.0 ? el * (v->total - d) / d : 1e9);
    fprintf(stderr, "\r[%s] %3d%%  page %d/%d block %ld/%ld  %.1f/%.1f Mpx  %.3g Mpx/s  %s left ", bar, (int)(100.0 * f),
            v->page + 1, v->Z, v->block, v->blocks, d * 1e-6, v->total * 1e-6, el > 0.0 ? d / el * 1e-6 : 0.0, left);
    fflush(stderr);
    v->shown = 1;
    return 0;
}

/* Whether every chunk of the block is on disk (--resume). */
static int block_complete(const vjob *v)
{
    const zarr *z = &v->za;
    int k, yc, xc, zc = v->z0 / z->cz;
    for (k = 0; k < v->K; k++)
        for (yc = v->r0 / z->cy; yc * z->cy < v->r1; yc++)
            for (xc = v->c0 / z->cx; xc * z->cx < v->c1; xc++)
                if (!zarr_has_chunk(z, k, zc, yc, xc)) return 0;
    return 1;
}

/* Block b's pages and rectangle. */
static void block_at(vjob *v, long b)
{
    long per = v->nby * v->nbx, zg = b / per, by = b % per / v->nbx, bx = b % v->nbx;
    v->z0 = (int)zg * v->bz;
    v->z1 = v->z0 + v->bz < v->Z ? v->z0 + v->bz : v->Z;
    v->r0 = (int)by * v->bh;
    v->r1 = v->r0 + v->bh < v->mh ? v->r0 + v->bh : v->mh;
    v->c0 = (int)bx * v->bw;
    v->c1 = v->c0 + v->bw < v->mw ? v->c0 + v->bw : v->mw;
}

/* Maps block b (each of its pages), writing what it completes. */
static int run_block(vjob *v, long b)
{
    fcn_error err;
    block_at(v, b);
    v->block_px = (double)(v->r1 - v->r0) * (double)(v->c1 - v->c0);
    if (v->zarr_out && v->resume && block_complete(v)) {
        v->done += v->block_px * (v->z1 - v->z0);
        return 1;
    }
    v->o.rect_x = v->c0;
    v->o.rect_y = v->r0;
    v->o.rect_w = v->c1 - v->c0;
    v->o.rect_h = v->r1 - v->r0;
    for (v->page = v->z0; v->page < v->z1; v->page++) {
        v->msg[0] = '\0';
        if (fcn_map_stream(v->net, v->H, v->W, &v->o, v_read, v_write, v, &err) != FCN_OK) {
            char name[1200];
            if (!v->msg[0]) snprintf(v->msg, sizeof v->msg, "%s: %s", stack_page_name(v->in, v->page, name, sizeof name), err.message);
            return 0;
        }
        v->done += v->block_px;
    }
    /* TIFF: the band of block rows across the page is done after its last block */
    if (!v->zarr_out && v->c1 == v->mw) {
        int r;
        for (r = 0; r < v->r1 - v->r0; r++)
            if (!tiff_out_rows(v->tif, v->buf + (size_t)r * (size_t)v->width * v->esize, 1, v->msg, sizeof v->msg)) return 0;
    }
    return 1;
}

/* Block sizes and the buffers. */
static int plan_blocks(vjob *v, const volume_opts *vo)
{
    fcn_options q = v->o;
    fcn_error err;
    int tw = 0, side = BLOCK;
    size_t n;
    q.rect_x = q.rect_y = 0;
    q.rect_w = v->mw < side ? v->mw : side;
    q.rect_h = v->mh < side ? v->mh : side;
    if (!v->zarr_out && fcn_map_tile_width(v->net, v->H, v->W, &q, &tw, &err) != FCN_OK) {
        snprintf(v->msg, sizeof v->msg, "%s", err.message);
        return 0;
    }
    if (v->zarr_out) {
        /* the shards' cut: from the map's size and the chunks alone, the same for every
           build and machine (not from the tile width, which depends on the memory
           budget and the platform); a block wider than a tile is mapped by fcn.h in
           tiles, its rows held until every tile has them (fcn_map_stream's strip) */
        const zarr *z = &v->za;
        v->bz = z->cz;
        v->bw = side / z->cx > 1 ? side / z->cx * z->cx : z->cx;
        v->bh = z->cz > 1 ? z->cy : (side / z->cy > 1 ? side / z->cy * z->cy : z->cy);
        v->band = z->cy;
        v->width = v->bw;
        v->planes = v->K;
        (void)vo;
    } else {
        size_t row = (size_t)v->mw * v->esize;
        v->bz = 1;
        v->bw = tw;
        v->bh = (int)(((size_t)32 << 20) / row / 16 * 16); /* a band of 32 MB across the page */
        if (v->bh < 16) v->bh = 16;
        if (v->bh > side) v->bh = side;
        v->band = v->bh;
        v->width = v->mw;
        v->planes = 1;
    }
    v->nbz = (v->Z + v->bz - 1) / v->bz;
    v->nby = (v->mh + v->bh - 1) / v->bh;
    v->nbx = (v->mw + v->bw - 1) / v->bw;
    if (!mul_ok((size_t)v->bz * (size_t)v->planes * (size_t)v->band, (size_t)v->width * v->esize, &n) ||
        !(v->buf = (unsigned char *)malloc(n))) {
        snprintf(v->msg, sizeof v->msg, "out of memory for the output's band");
        return 0;
    }
    return 1;
}

/* The checks of the command line that only volumes have. */
static int volume_usage(const char *out, const fcn_options *o, int zarr_out, int cls_given, const volume_opts *vo)
{
    const char *what = NULL;
    if (o->rect_w || o->rect_h) what = "--rect (map rectangles of one image; a stack's work is cut with --shard)";
    else if (!zarr_out && (vo->shards || vo->resume)) what = "--shard and --resume (they need -o OUT.zarr)";
    else if (!zarr_out && (vo->chunk[0] || vo->zlib || vo->none)) what = "--chunk and --compress (they are Zarr's)";
    else if (zarr_out && cls_given) what = "--class (OUT.zarr holds every class)";
    else if (zarr_out && vo->bigtiff) what = "--bigtiff (it is TIFF's)";
    if (what) return usage_error("map -o %s: %s is not for this output", out, what);
    return 0;
}

int map_volume(const fcn_net *net, const char *model, const char *input, const char *out, const fcn_options *opt,
               int cls, int cls_given, const volume_opts *vo, int quiet)
{
    vjob *v;
    char attrs[600];
    long b, b0, b1, nb;
    int rc = 1;
    double t0, dt;
    if (!(v = (vjob *)calloc(1, sizeof *v))) return runtime_error("out of memory");
    v->zarr_out = !ends_with(out, ".tif") && !ends_with(out, ".tiff");
    if ((rc = volume_usage(out, opt, v->zarr_out, cls_given, vo)) != 0) {
        free(v);
        return rc;
    }
    rc = 1;
    v->net = net;
    v->input = input;
    v->out = out;
    v->o = *opt;
    v->K = fcn_net_outputs(net);
    v->cls = cls;
    v->resume = vo->resume;
    v->f32 = v->zarr_out ? !vo->u8 : vo->f32;
    v->esize = v->f32 ? 4 : 1;
    if (!v->zarr_out && cls >= v->K) {
        runtime_error("--class %d: %s has %d output%s (classes 0..%d)", cls, model, v->K, v->K == 1 ? "" : "s", v->K - 1);
        goto done;
    }
    if (!stack_open(input, fcn_net_input(net).c, vo->in_scale, vo->max_pixels, &v->in, v->msg, sizeof v->msg)) goto fail;
    v->Z = stack_pages(v->in);
    stack_size(v->in, &v->H, &v->W);
    {
        fcn_error err;
        if (fcn_map_size(net, v->H, v->W, &v->o, &v->mh, &v->mw, &err) != FCN_OK) {
            snprintf(v->msg, sizeof v->msg, "%s, %s: %s", input, model, err.message);
            goto fail;
        }
    }
    if (v->zarr_out) {
        zarr *z = &v->za;
        fcn_shape in = fcn_net_input(net);
        int s = v->o.stride ? v->o.stride : 1, valid = v->o.border == FCN_BORDER_VALID;
        z->path = out;
        z->k = v->K, z->z = v->Z, z->h = v->mh, z->w = v->mw;
        z->cz = vo->chunk[0] ? vo->chunk[0] : 1;
        z->cy = vo->chunk[0] ? vo->chunk[1] : 512;
        z->cx = vo->chunk[0] ? vo->chunk[2] : 512;
        z->u8 = !v->f32;
        z->zlib = !vo->none;
        /* map pixel (i, j) is the patch whose top-left is image pixel (i s - top, j s - left): its centre */
        z->scale[0] = z->scale[1] = (double)s;
        z->shift[0] = (in.h - 1) / 2.0 - (valid ? 0 : (in.h - 1) / 2);
        z->shift[1] = (in.w - 1) / 2.0 - (valid ? 0 : (in.w - 1) / 2);
        snprintf(attrs, sizeof attrs,
                 "{\"border\": \"%s\", \"classes\": %d, \"in_scale\": %.9g, \"input\": [%d, %d, %d], "
                 "\"model_crc32\": \"%08lx\", \"stride\": %d, \"version\": \"%s\"}",
                 vborder_names[v->o.border], v->K, (double)vo->in_scale, v->Z, v->H, v->W, model_crc(net), s,
                 FCN_VERSION_STRING);
        z->attrs = attrs;
    }
    if (!plan_blocks(v, vo)) goto fail;
    nb = v->nbz * v->nby * v->nbx;
    b0 = vo->shards ? (long)((long long)nb * vo->shard / vo->shards) : 0;
    b1 = vo->shards ? (long)((long long)nb * (vo->shard + 1) / vo->shards) : nb;
    /* the first shard to arrive creates the array's metadata, the others find it the same */
    if (v->zarr_out && (!zarr_open(&v->za, v->msg, sizeof v->msg) || !zarr_writer_start(&v->za, &v->zw, v->msg, sizeof v->msg)))
        goto fail;
    if (!v->zarr_out && !tiff_out_create(out, v->Z, v->mh, v->mw, v->f32, vo->bigtiff, &v->tif, v->msg, sizeof v->msg)) goto fail;
    for (b = b0; b < b1; b++) {
        block_at(v, b);
        v->total += (double)(v->z1 - v->z0) * (v->r1 - v->r0) * (double)(v->c1 - v->c0);
    }
    if (!quiet && isatty(fileno(stderr))) {
        v->start = v->last = now_s();
        v->o.progress = v_progress;
        v->o.progress_user = v;
    }
    t0 = now_s();
    v->blocks = b1 - b0;
    for (b = b0; b < b1; b++) {
        v->block = b - b0 + 1;
        if (!run_block(v, b)) goto fail;
    }
    if (v->zw) {
        zarr_writer *w = v->zw;
        v->zw = NULL;
        if (!zarr_writer_finish(w, v->msg, sizeof v->msg)) goto fail; /* every chunk on disk */
    }
    if (v->tif) {
        tiff_out *t = v->tif;
        v->tif = NULL; /* finish frees it, whatever happens */
        if (!tiff_out_finish(t, v->msg, sizeof v->msg)) goto fail;
    }
    dt = now_s() - t0;
    if (v->shown) fputc('\n', stderr);
    if (!quiet) {
        printf("%s: %d page%s %dx%d -> %s, map (%d, %d, %d, %d) %s", input, v->Z, v->Z == 1 ? "" : "s", v->H, v->W, out,
               v->zarr_out ? v->K : 1, v->Z, v->mh, v->mw, v->f32 ? "float32" : "uint8");
        if (v->zarr_out) printf(", chunks %dx%dx%d %s", v->za.cz, v->za.cy, v->za.cx, v->za.zlib ? "zlib" : "uncompressed");
        if (vo->shards) printf(", shard %d/%d", vo->shard, vo->shards);
        if (b1 > b0) printf(": blocks %ld..%ld of %ld", b0, b1 - 1, nb);
        else printf(": none of the %ld blocks", nb);
        if (v->zarr_out) printf(", %ld chunks written, %ld complete already", v->written, v->skipped);
        printf("; %.3f s, %.3g Mpx/s\n", dt, v->total / (dt > 1e-9 ? dt : 1e-9) * 1e-6);
    }
    rc = 0;
    goto done;
fail:
    if (v->shown) fputc('\n', stderr);
    runtime_error("%s", v->msg);
done:
    zarr_writer_finish(v->zw, v->msg, sizeof v->msg);
    tiff_out_abort(v->tif);
    stack_close(v->in);
    free(v->buf);
    free(v);
    return rc;
}
