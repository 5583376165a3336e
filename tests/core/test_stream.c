/* test_stream.c - fcn_map_stream, the map of an image that need not be in memory.
   The callbacks read from an array and check what the library asks for: rows inside the
   image, finished rows handed out in order, each once, and how many image rows it holds
   at once (read ahead of the first row not yet handed out), which must not grow with the
   image. The rows must be fcn_map's bits, on both paths, for every border, stride,
   rectangle, thread count and memory budget (one column tile or several, in strips). A
   counting allocator checks that the library's memory does not grow with the height.
   Prints PASS/FAIL lines (tests/run.sh). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* and madvise(MADV_HUGEPAGE), for fcn.h's huge-page scratch */

#include "../lib/count_alloc.h"
#define FCN_IMPLEMENTATION
#include "fcn.h"

#include <math.h>

#define HARNESS_NAME "test_stream"
#include "../lib/harness.h"

/* ---- nets ---------------------------------------------------------------------------- */

typedef struct netdef {
    const char *name;
    int ph, pw, c, n;
    fcn_layer L[10];
} netdef;

#define CONV(m, h, w, s) {FCN_LAYER_CONV, m, h, w, s, 0, 0, 0.0f}
#define POOL(t, h, w, s) {t, 0, h, w, s, 0, 0, 0.0f}
#define FC(m) {FCN_LAYER_FC, m, 0, 0, 0, 0, 0, 0.0f}
#define ACT(t) {t, 0, 0, 0, 0, 0, 0, 0.0f}

/* Small nets that cover what the stream's bookkeeping depends on: patch sides odd, even
   and rectangular, strides inside the net, pools that overlap, several channels, and
   several outputs with a softmax. */
static const netdef nets[] = {
    {"conv3-max2-conv4-fc2 11x11", 11, 11, 1, 6,
     {CONV(4, 3, 3, 1), POOL(FCN_LAYER_MAXPOOL, 2, 2, 0), ACT(FCN_LAYER_RELU), CONV(3, 4, 4, 1), FC(2),
      ACT(FCN_LAYER_SOFTMAX)}},
    {"3-channel 8x6 conv3x2-avg2-conv3x2-fc3", 8, 6, 3, 5,
     {CONV(5, 3, 2, 1), POOL(FCN_LAYER_AVGPOOL, 2, 2, 2), CONV(4, 3, 2, 1), ACT(FCN_LAYER_TANH), FC(3)}},
    {"conv3/2-max3/1-fc2 9x9", 9, 9, 1, 3, {CONV(4, 3, 3, 2), POOL(FCN_LAYER_MAXPOOL, 3, 3, 1), FC(2)}},
    {"the small EM net 20x20", 20, 20, 1, 8,
     {CONV(8, 5, 5, 1), POOL(FCN_LAYER_MAXPOOL, 2, 2, 0), ACT(FCN_LAYER_RELU), CONV(8, 5, 5, 1),
      POOL(FCN_LAYER_MAXPOOL, 2, 2, 0), ACT(FCN_LAYER_RELU), FC(2), ACT(FCN_LAYER_SOFTMAX)}},
};
#define NNETS (int)(sizeof nets / sizeof nets[0])

static fcn_net *build(const netdef *d, uint64_t seed)
{
    fcn_net *net = NULL;
    fcn_error e;
    rng r;
    int i;
    r.s = seed;
    if (fcn_net_create(d->ph, d->pw, d->c, d->L, d->n, &net, &e) != FCN_OK) {
        printf("FAIL: %s: fcn_net_create: %s\n", d->name, e.message);
        exit(1);
    }
    for (i = 0; i < d->n; i++) {
        size_t nw = 0, nb = 0, k;
        float *w = fcn_net_weights(net, i, &nw), *b = fcn_net_bias(net, i, &nb);
        for (k = 0; w && k < nw; k++) w[k] = runif(&r) * 1.7f / sqrtf((float)(nw / nb));
        for (k = 0; b && k < nb; k++) b[k] = runif(&r) * 0.2f;
    }
    return net;
}

static float *random_image(rng *r, int h, int w, int c)
{
    size_t n = (size_t)h * (size_t)w * (size_t)c, i;
    float *img = (float *)xmalloc(n * sizeof(float));
    for (i = 0; i < n; i++) img[i] = runif(r);
    return img;
}

/* ---- the callbacks: an image in an array, a map compared as it arrives ---------------- */

typedef struct io {
    const float *img;
    int h, w, c;
    int top, stride, ry;  /* the border above, the output stride, the rectangle's first row */
    const float *want;    /* fcn_map's rows */
    size_t row;           /* floats per map row */
    int rh;
    int next;             /* the next row expected */
    int reads, writes, max_write;
    int held;             /* the most image rows read ahead of the next row to hand out */
    int bad_read, bad_order, differ; /* first problems seen: -1 none */
    int fail_read_at, fail_write_at; /* make the n-th call fail (0: never) */
    int calls_after_failure, failed;
} io;

static void io_init(io *s, const float *img, int h, int w, int c, const fcn_options *o, const fcn_net *net,
                    const float *want, int rh, int rw)
{
    fcn_shape in = fcn_net_input(net);
    memset(s, 0, sizeof *s);
    s->img = img;
    s->h = h, s->w = w, s->c = c;
    s->top = o->border == FCN_BORDER_VALID ? 0 : (in.h - 1) / 2;
    s->stride = o->stride ? o->stride : 1;
    s->ry = o->rect_h ? o->rect_y : 0;
    s->want = want;
    s->row = (size_t)rw * (size_t)fcn_net_outputs(net);
    s->rh = rh;
    s->bad_read = s->bad_order = s->differ = -1;
}

static int on_read(void *user, int y, int rows, int x, int cols, float *buf)
{
    io *s = (io *)user;
    int r, first;
    if (s->failed) s->calls_after_failure++;
    s->reads++;
    if (s->fail_read_at && s->reads == s->fail_read_at) {
        s->failed = 1;
        return -7;
    }
    if (y < 0 || rows < 1 || y + rows > s->h || x < 0 || cols < 1 || x + cols > s->w) {
        if (s->bad_read < 0) s->bad_read = s->reads;
        return 0;
    }
    for (r = 0; r < rows; r++)
        memcpy(buf + (size_t)r * (size_t)cols * (size_t)s->c,
               s->img + ((size_t)(y + r) * (size_t)s->w + (size_t)x) * (size_t)s->c,
               (size_t)cols * (size_t)s->c * sizeof(float));
    /* the first image row that the next row to hand out still reads */
    first = (s->ry + s->next) * s->stride - s->top;
    if (first < 0) first = 0;
    if (y + rows - first > s->held) s->held = y + rows - first;
    return 0;
}

static int on_write(void *user, int y, int rows, const float *map)
{
    io *s = (io *)user;
    if (s->failed) s->calls_after_failure++;
    s->writes++;
    if (s->fail_write_at && s->writes == s->fail_write_at) {
        s->failed = 1;
        return 3;
    }
    if (y != s->next || rows < 1 || y + rows > s->rh) {
        if (s->bad_order < 0) s->bad_order = y;
        return 0;
    }
    if (rows > s->max_write) s->max_write = rows;
    if (s->want && s->differ < 0 && memcmp(map, s->want + (size_t)y * s->row, (size_t)rows * s->row * sizeof(float))) {
        size_t i;
        for (i = 0; i < (size_t)rows * s->row; i++)
            if (fbits(map[i]) != fbits(s->want[(size_t)y * s->row + i])) break;
        s->differ = (int)((size_t)y + i / s->row);
    }
    s->next = y + rows;
    return 0;
}

/* ---- cases ----------------------------------------------------------------------------- */

static const char *path_name(fcn_path p) { return p == FCN_PATH_SLIDING ? "sliding" : "dense"; }

/* Maps img both ways and compares; checks the order and the rows held against 'bound'
   (0: no bound). Returns the io record through *out. */
static void compare(const fcn_net *net, const float *img, int h, int w, const fcn_options *o, int bound, io *out,
                    const char *what)
{
    fcn_error e;
    int rh = 0, rw = 0, K = fcn_net_outputs(net);
    float *want;
    fcn_status st;
    if (!check(fcn_map_size(net, h, w, o, &rh, &rw, &e) == FCN_OK, "%s: fcn_map_size: %s", what, e.message)) return;
    want = (float *)xmalloc((size_t)rh * (size_t)rw * (size_t)K * sizeof(float));
    if (check(fcn_map(net, img, h, w, o, want, &e) == FCN_OK, "%s: fcn_map: %s", what, e.message)) {
        io_init(out, img, h, w, fcn_net_input(net).c, o, net, want, rh, rw);
        st = fcn_map_stream(net, h, w, o, on_read, on_write, out, &e);
        check(st == FCN_OK, "%s: fcn_map_stream: %s", what, e.message);
        check(out->bad_read < 0, "%s: read call %d asked for pixels outside the %dx%d image", what, out->bad_read, h, w);
        check(out->bad_order < 0, "%s: rows handed out of order: got row %d, expected %d", what, out->bad_order,
              out->next);
        check(st != FCN_OK || out->next == rh, "%s: %d of %d rows handed out", what, out->next, rh);
        check(out->differ < 0, "%s: map row %d differs from fcn_map's", what, out->differ);
        check(!bound || out->held <= bound, "%s: held %d image rows at once, more than %d", what, out->held, bound);
    }
    free(want);
}

/* Every net, border, stride and path; rectangles; one and two threads; the default budget
   (one tile) and a small one (several tiles, in strips). */
static void test_equal(void)
{
    static const fcn_border borders[] = {FCN_BORDER_MIRROR, FCN_BORDER_ZERO, FCN_BORDER_REPLICATE, FCN_BORDER_VALID};
    rng r;
    int ni, bi, si, cases = 0, tiled = 0;
    r.s = 13;
    for (ni = 0; ni < NNETS; ni++) {
        fcn_net *net = build(&nets[ni], 100 + (uint64_t)ni);
        fcn_shape in = fcn_net_input(net);
        begin("stream equals fcn_map: %s", nets[ni].name);
        for (bi = 0; bi < 4; bi++)
            for (si = 1; si <= 3; si++) {
                fcn_options o;
                io s;
                char what[200];
                int h = rint_(&r, in.h, 60), w = rint_(&r, in.w, 50), tw = 0, p;
                float *img = random_image(&r, h, w, in.c);
                for (p = 0; p < 2; p++) {
                    memset(&o, 0, sizeof o);
                    o.border = borders[bi];
                    o.stride = si;
                    o.path = p ? FCN_PATH_SLIDING : FCN_PATH_DENSE;
                    o.threads = 1 + (bi + si + p) % 2;
                    if (p == 0 && (si + bi) % 2) o.max_memory = (size_t)rint_(&r, 4, 40) << 10; /* several tiles */
                    if ((bi + si) % 3 == 0) { /* a rectangle inside the map */
                        int mh = 1, mw = 1;
                        fcn_map_size(net, h, w, &o, &mh, &mw, NULL);
                        o.rect_x = rint_(&r, 0, mw - 1);
                        o.rect_y = rint_(&r, 0, mh - 1);
                        o.rect_w = rint_(&r, 1, mw - o.rect_x);
                        o.rect_h = rint_(&r, 1, mh - o.rect_y);
                    }
                    fcn_map_tile_width(net, h, w, &o, &tw, NULL);
                    snprintf(what, sizeof what, "%dx%d, %s border, stride %d, %s path, %d threads, rect %d,%d %dx%d, budget %lu (tiles %d wide)",
                             h, w, border_name(o.border), si, path_name(o.path), o.threads, o.rect_x, o.rect_y, o.rect_w,
                             o.rect_h, (unsigned long)o.max_memory, tw);
                    compare(net, img, h, w, &o, 0, &s, what);
                    if (o.rect_w && tw < o.rect_w) tiled++;
                    else if (!o.rect_w && o.max_memory) tiled++;
                    cases++;
                }
                free(img);
            }
        end();
        fcn_net_free(net);
    }
    begin("stream cases: several column tiles among them");
    check(tiled >= 4, "only %d of %d cases had a budget small enough for several tiles", tiled, cases);
    end();
}

/* NaN and infinite pixels: the stream's NaNs are fcn_map's one NaN (fcn.h, THE
   ARITHMETIC CONTRACT), on both paths, one tile wide and in strips. */
static void test_nan(void)
{
    const netdef *d = &nets[0];
    fcn_net *net = build(d, 21);
    rng r;
    int h = 70, w = 90, p, k;
    float *img;
    r.s = 23;
    img = random_image(&r, h, w, 1);
    for (k = 0; k < 12; k++) {
        uint32_t u = k % 3 == 0 ? 0xFFC00001u : k % 3 == 1 ? 0x7F800000u : 0x7FA00000u; /* -NaN, +inf, sNaN */
        memcpy(&img[rint_(&r, 0, h * w - 1)], &u, 4);
    }
    begin("NaN and infinite pixels: the stream's rows are fcn_map's bits");
    for (p = 0; p < 3; p++) {
        fcn_options o;
        io s;
        memset(&o, 0, sizeof o);
        o.path = p == 2 ? FCN_PATH_SLIDING : FCN_PATH_DENSE;
        if (p == 1) o.max_memory = (size_t)24 << 10; /* several tiles: strips */
        compare(net, img, h, w, &o, 0, &s, p == 0 ? "dense" : p == 1 ? "dense, strips" : "sliding");
    }
    end();
    free(img);
    fcn_net_free(net);
}

/* Rows held at once: a stream one tile wide reads at most a band ahead (16 output rows
   and one patch), however tall the image; the memory it allocates is the same for 300
   rows as for 3000. */
static void test_held(void)
{
    const netdef *d = &nets[3];
    fcn_net *net = build(d, 7);
    rng r;
    int hi, p;
    static const int heights[2] = {200, 2000};
    r.s = 5;
    for (p = 0; p < 2; p++) {
        size_t peak[2];
        int held = 0;
        char note[160];
        begin("rows held at once: %s path, %s, 200 and 2000 rows", path_name((fcn_path)p), d->name);
        for (hi = 0; hi < 2; hi++) {
            int h = heights[hi], w = p ? 24 : 64, bound;
            size_t base;
            float *img = random_image(&r, h, w, 1);
            fcn_options o;
            io s;
            char what[120];
            memset(&o, 0, sizeof o);
            o.path = (fcn_path)p;
            o.stride = 1 + 2 * p; /* the sliding path at stride 3: a ninth of the work */
            o.threads = 2;
            bound = 15 * o.stride + d->ph; /* a band of output rows and the patch below its last */
            snprintf(what, sizeof what, "%d rows, stride %d", h, o.stride);
            compare(net, img, h, w, &o, bound, &s, what);
            check(s.max_write <= 16, "%s: %d rows in one write, more than a band", what, s.max_write);
            if (s.held > held) held = s.held;
            /* the library's memory, without the comparison's own map */
            io_init(&s, img, h, w, 1, &o, net, NULL, 1 << 30, 1);
            base = mem_mark();
            check(fcn_map_stream(net, h, w, &o, on_read, on_write, &s, NULL) == FCN_OK, "%s: second stream failed", what);
            peak[hi] = mem_peak_now() - base;
            free(img);
        }
        check(peak[1] <= peak[0], "the library allocated %lu bytes at most for 2000 rows, %lu for 200",
              (unsigned long)peak[1], (unsigned long)peak[0]);
        snprintf(note, sizeof note, "%d image rows held at most; %lu bytes allocated at most, for either height", held,
                 (unsigned long)peak[0]);
        end_note(note);
    }
    fcn_net_free(net);
}

/* A rectangle wider than one tile: rows go out a strip at a time, each strip whole; the
   library's memory stays within twice the budget (the rings, then the strip of output)
   plus the window of image rows. */
static void test_strips(void)
{
    const netdef *d = &nets[3];
    fcn_net *net = build(d, 9);
    rng r;
    int h = 260, w = 700, tw = 0;
    float *img;
    fcn_options o;
    io s;
    size_t budget = (size_t)256 << 10, peak, window, base;
    r.s = 3;
    img = random_image(&r, h, w, 1);
    memset(&o, 0, sizeof o);
    o.max_memory = budget;
    o.threads = 2;
    begin("strips: a stream wider than one tile (%s, %dx%d, budget %lu)", d->name, h, w, (unsigned long)budget);
    check(fcn_map_tile_width(net, h, w, &o, &tw, NULL) == FCN_OK && tw < w / 2, "tile width %d: not several tiles", tw);
    compare(net, img, h, w, &o, 0, &s, "strips");
    /* the strip: as many rows as the budget holds; rows read ahead: that strip and a patch */
    {
        int strip = (int)(budget / ((size_t)w * 2 * sizeof(float))) / 16 * 16;
        check(s.max_write > 16 && s.max_write <= strip, "%d rows in one write; expected a strip of at most %d", s.max_write,
              strip);
        check(s.held <= strip + d->ph, "held %d image rows at once, more than a strip (%d) and a patch", s.held, strip);
    }
    io_init(&s, img, h, w, 1, &o, net, NULL, 0, 0);
    s.rh = 1 << 30;
    base = mem_mark();
    fcn_map_stream(net, h, w, &o, on_read, on_write, &s, NULL);
    peak = mem_peak_now() - base;
    window = (size_t)(16 + d->ph) * (size_t)(tw + d->pw) * sizeof(float) + ((size_t)256 << 10); /* and weights, threads */
    check(peak <= 2 * budget + window, "the library allocated %lu bytes, more than twice the budget (%lu) and %lu",
          (unsigned long)peak, (unsigned long)budget, (unsigned long)window);
    {
        char note[160];
        snprintf(note, sizeof note, "tiles %d wide, %d rows a write, %d rows held, %lu bytes allocated at most", tw,
                 s.max_write, s.held, (unsigned long)peak);
        end_note(note);
    }
    free(img);
    fcn_net_free(net);
}

static int cancel_at(void *user, long done, long total)
{
    (void)total;
    return done >= *(long *)user;
}

/* Callbacks that fail stop the map with FCN_ERR_IO and no further call; the progress
   callback cancels it; bad arguments are refused as fcn_map refuses them; the dense path
   refuses what it refuses in fcn_map. */
static void test_errors(void)
{
    fcn_net *net = build(&nets[0], 11);
    rng r;
    int h = 120, w = 50, rh = 0, rw = 0, p;
    float *img, *want;
    fcn_options o;
    fcn_error e;
    io s;
    r.s = 17;
    img = random_image(&r, h, w, 1);
    memset(&o, 0, sizeof o);
    fcn_map_size(net, h, w, &o, &rh, &rw, NULL);
    want = (float *)xmalloc((size_t)rh * (size_t)rw * 2 * sizeof(float));
    fcn_map(net, img, h, w, &o, want, NULL);
    for (p = 0; p < 2; p++) {
        begin("a failing callback stops the stream: %s path", path_name((fcn_path)p));
        o.path = (fcn_path)p;
        io_init(&s, img, h, w, 1, &o, net, want, rh, rw);
        s.fail_read_at = 3;
        check(fcn_map_stream(net, h, w, &o, on_read, on_write, &s, &e) == FCN_ERR_IO && strstr(e.message, "read callback") &&
                  strstr(e.message, "-7"),
              "read returning -7: status %d, '%s'", (int)e.status, e.message);
        check(s.calls_after_failure == 0, "%d callback calls after the read failed", s.calls_after_failure);
        io_init(&s, img, h, w, 1, &o, net, want, rh, rw);
        s.fail_write_at = 2;
        check(fcn_map_stream(net, h, w, &o, on_read, on_write, &s, &e) == FCN_ERR_IO && strstr(e.message, "write callback"),
              "write returning 3: status %d, '%s'", (int)e.status, e.message);
        check(s.calls_after_failure == 0, "%d callback calls after the write failed", s.calls_after_failure);
        end();
    }
    begin("stream arguments are checked as fcn_map's");
    memset(&o, 0, sizeof o);
    check(fcn_map_stream(net, h, w, &o, NULL, on_write, &s, &e) == FCN_ERR_ARG, "NULL read: %d", (int)e.status);
    check(fcn_map_stream(net, h, w, &o, on_read, NULL, &s, &e) == FCN_ERR_ARG, "NULL write: %d", (int)e.status);
    check(fcn_map_stream(NULL, h, w, &o, on_read, on_write, &s, &e) == FCN_ERR_ARG, "NULL net: %d", (int)e.status);
    check(fcn_map_stream(net, 0, w, &o, on_read, on_write, &s, &e) == FCN_ERR_ARG, "height 0: %d", (int)e.status);
    o.rect_x = rw, o.rect_w = 1, o.rect_h = 1;
    check(fcn_map_stream(net, h, w, &o, on_read, on_write, &s, &e) == FCN_ERR_ARG && strstr(e.message, "rectangle"),
          "rect outside: %d '%s'", (int)e.status, e.message);
    check(fcn_map_tile_width(net, h, w, &o, &p, &e) == FCN_ERR_ARG, "tile width, rect outside: %d", (int)e.status);
    end();
    begin("the progress callback cancels a stream");
    {
        long at = 40;
        memset(&o, 0, sizeof o);
        o.progress = cancel_at;
        o.progress_user = &at;
        io_init(&s, img, h, w, 1, &o, net, NULL, 1 << 30, 1);
        check(fcn_map_stream(net, h, w, &o, on_read, on_write, &s, &e) == FCN_ERR_CANCELLED, "status %d: %s",
              (int)e.status, e.message);
        check(s.next < h, "all %d rows handed out", s.next);
    }
    end();
    {
        /* padding inside the patch: the dense path refuses it, the sliding path streams it */
        fcn_layer L[2];
        fcn_net *pad = NULL;
        int ph = 0, pw = 0;
        float *pmap;
        memset(L, 0, sizeof L);
        L[0].type = FCN_LAYER_CONV, L[0].maps = 2, L[0].kh = L[0].kw = 3, L[0].pad = 1;
        L[1].type = FCN_LAYER_FC, L[1].maps = 2;
        begin("a net the dense path refuses: refused by the dense stream, streamed on the sliding path");
        if (fcn_net_create(5, 5, 1, L, 2, &pad, &e) == FCN_OK) {
            size_t nw, k;
            float *wt = fcn_net_weights(pad, 0, &nw);
            for (k = 0; k < nw; k++) wt[k] = runif(&r);
            memset(&o, 0, sizeof o);
            check(fcn_map_stream(pad, h, w, &o, on_read, on_write, &s, &e) == FCN_ERR_UNSUPPORTED,
                  "dense stream of a padded net: status %d", (int)e.status);
            o.path = FCN_PATH_SLIDING;
            fcn_map_size(pad, h, w, &o, &ph, &pw, NULL);
            pmap = (float *)xmalloc((size_t)ph * (size_t)pw * 2 * sizeof(float));
            fcn_map(pad, img, h, w, &o, pmap, NULL);
            io_init(&s, img, h, w, 1, &o, pad, pmap, ph, pw);
            check(fcn_map_stream(pad, h, w, &o, on_read, on_write, &s, &e) == FCN_OK && s.differ < 0 && s.next == ph,
                  "sliding stream of a padded net: status %d, row %d differs, %d rows", (int)e.status, s.differ, s.next);
            free(pmap);
        } else {
            check(0, "fcn_net_create: %s", e.message);
        }
        fcn_net_free(pad);
        end();
    }
    free(img);
    free(want);
    fcn_net_free(net);
}

int main(void)
{
    double t0 = now();
    test_equal();
    test_nan();
    test_held();
    test_strips();
    test_errors();
    printf("%d passed, %d failed, %d skipped (%.1f s)\n", n_pass, n_fail, n_skip, now() - t0);
    return n_fail ? 1 : 0;
}
