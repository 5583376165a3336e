/* test_core.c - the core tests of fcn.h: the slide's worked example, dense == sliding
   (bit for bit) on random networks, the input transform and borders, the library's exp,
   tanh and sigmoid, refusals, bad arguments, malformed model files, save/load round trips.

   Prints one line per case ("PASS: name", "FAIL: name: why", "SKIP: name: why") and
   exits non-zero if a case failed.

   Options:
     --quick        fewer random cases (the -O0 and sanitizer builds of tests/core/matrix.sh)
     --dump FILE    write the maps of a fixed set of cases (a few random nets, the slide,
                    samples of fcn_expf/tanh/sigmoid) to FILE, for cross-build comparison
     --export DIR   write a dozen random nets (.fcn), their input images and dense maps
                    (.npy) and options (.json) to DIR, for tests/core/numpy_ref.py
     --seed N       seed of the random cases (default fixed) */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* and madvise(MADV_HUGEPAGE), for fcn.h's huge-page scratch */
/* fcn.h allocates through a counter, so that a test can check the dense path's peak. */
#include "../lib/count_alloc.h"
#define FCN_IMPLEMENTATION
#include "fcn.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_NAME "test_core"
#include "../lib/harness.h"

/* ------------------------------------------------------------------ helpers */

static int chance(rng *r, int percent) { return rint_(r, 0, 99) < percent; }

static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int64_t ulp_dist(float a, float b)
{
    uint32_t ua = fbits(a), ub = fbits(b);
    int64_t oa = (ua & 0x80000000u) ? -(int64_t)(ua & 0x7FFFFFFFu) : (int64_t)ua;
    int64_t ob = (ub & 0x80000000u) ? -(int64_t)(ub & 0x7FFFFFFFu) : (int64_t)ub;
    return oa > ob ? oa - ob : ob - oa;
}

static char tmpdir_[512];

static void tmp_path(char *out, size_t n, const char *what)
{
    static int seq = 0;
    snprintf(out, n, "%s/fcn-test-core-%ld-%d-%s", tmpdir_, (long)getpid(), seq++, what);
}

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long len;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = (unsigned char *)xmalloc((size_t)len + 1);
    *size = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    ok = fwrite(data, 1, n, f) == n;
    return (fclose(f) == 0) && ok;
}

/* ------------------------------------------------------------------ maps */

/* Maps with the given options into a fresh buffer; *out is NULL on failure. */
static fcn_status map_new(const fcn_net *net, const float *img, int h, int w, const fcn_options *o, float **out,
                          int *oh, int *ow, fcn_error *err)
{
    fcn_status st = fcn_map_size(net, h, w, o, oh, ow, err);
    *out = NULL;
    if (st != FCN_OK) return st;
    *out = (float *)xmalloc((size_t)*oh * (size_t)*ow * (size_t)fcn_net_outputs(net) * sizeof(float));
    st = fcn_map(net, img, h, w, o, *out, err);
    if (st != FCN_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

/* Bitwise comparison of two h x w x k maps; reports the first differing value. */
static int same_map(const float *a, const float *b, int h, int w, int k, const char *na, const char *nb,
                    const char *ctx)
{
    size_t n = (size_t)h * (size_t)w * (size_t)k, i, first = 0, count = 0;
    if (memcmp(a, b, n * sizeof(float)) == 0) return 1;
    for (i = 0; i < n; i++)
        if (fbits(a[i]) != fbits(b[i])) {
            if (count++ == 0) first = i;
        }
    {
        int ch = (int)(first % (size_t)k), px = (int)((first / (size_t)k) % (size_t)w),
            py = (int)(first / (size_t)k / (size_t)w);
        uint32_t ua = fbits(a[first]), ub = fbits(b[first]);
        check(0,
              "%s: %s and %s differ in %lu of %lu values; first at pixel (x=%d, y=%d) channel %d: "
              "%s %a (0x%08lx), %s %a (0x%08lx), xor 0x%08lx",
              ctx, na, nb, (unsigned long)count, (unsigned long)n, px, py, ch, na, (double)a[first],
              (unsigned long)ua, nb, (double)b[first], (unsigned long)ub, (unsigned long)(ua ^ ub));
    }
    return 0;
}

/* Copies rect (x, y, w, h) of a W-wide map of k channels. */
static float *crop(const float *m, int mw, int k, int x, int y, int w, int h)
{
    float *c = (float *)xmalloc((size_t)w * (size_t)h * (size_t)k * sizeof(float));
    int r;
    for (r = 0; r < h; r++)
        memcpy(c + (size_t)r * (size_t)w * (size_t)k, m + ((size_t)(y + r) * (size_t)mw + (size_t)x) * (size_t)k,
               (size_t)w * (size_t)k * sizeof(float));
    return c;
}

/* ------------------------------------------------------------------ random networks */

#define MAX_L 40

typedef struct spec {
    int ph, pw, c, n;
    fcn_layer L[MAX_L];
    int quant; /* integer weights and image values: many ties and exact zeros */
    float scale, mean[3];
} spec;

/* Coverage of the random cases (checked by the "random-coverage" case). */
enum {
    COV_C1, COV_C2, COV_C3, COV_K_ODD, COV_K_EVEN, COV_K_RECT, COV_CS1, COV_CS2, COV_CS3, COV_POOL_OVERLAP,
    COV_POOL_DISJOINT, COV_MAX, COV_AVG, COV_FC2, COV_RELU, COV_RELU_SLOPE, COV_TANH, COV_SIGMOID,
    COV_DROPOUT, COV_SOFTMAX, COV_UNUSED, COV_CEIL_EVEN, COV_T1, COV_T2, COV_T3, COV_T7, COV_RECT,
    COV_QUANT, COV_WIDE, COV_PORTABLE, COV_AUTO, COV_TILED, COV_MANY_MAPS, COV_N
};
static const char *cov_names[COV_N] = {
    "1 channel", "2 channels", "3 channels", "odd kernel", "even kernel", "rectangular kernel",
    "conv stride 1", "conv stride 2", "conv stride 3", "overlapping pool", "non-overlapping pool",
    "maxpool", "avgpool", "2+ fc layers", "relu", "relu with slope", "tanh", "sigmoid", "dropout",
    "softmax last", "stride leaving rows unused", "ceil pool dividing evenly", "1 thread", "2 threads",
    "3 threads", "7 threads", "sub-rectangle", "integer weights (ties)", "wide image", "portable kernels",
    "SIMD kernels (auto or named)", "small max_memory (column tiles)", "conv or fc with 6+ maps"};
static long cov[COV_N];
static long cov_kernel[FCN_KERNEL_COUNT]; /* the kernel choices of the random cases */
static long cov_bs[4][4]; /* border x output stride */

static fcn_layer mk(fcn_layer_type t)
{
    fcn_layer l;
    memset(&l, 0, sizeof l);
    l.type = t;
    return l;
}

static void add_layer(spec *s, fcn_layer l)
{
    if (s->n < MAX_L) s->L[s->n++] = l;
}

static void add_act(rng *r, spec *s)
{
    static const float slopes[] = {0.1f, 0.01f, -0.5f, 0.25f, 1.5f};
    fcn_layer l;
    switch (rint_(r, 0, 6)) {
    case 0: break;
    case 1: add_layer(s, mk(FCN_LAYER_RELU)); break;
    case 2:
        l = mk(FCN_LAYER_RELU);
        l.slope = slopes[rint_(r, 0, 4)];
        add_layer(s, l);
        break;
    case 3: add_layer(s, mk(FCN_LAYER_TANH)); break;
    case 4: add_layer(s, mk(FCN_LAYER_SIGMOID)); break;
    case 5: add_layer(s, mk(FCN_LAYER_DROPOUT)); break;
    default:
        add_layer(s, mk(FCN_LAYER_RELU));
        add_layer(s, mk(FCN_LAYER_DROPOUT));
        break;
    }
}

static int imin(int a, int b) { return a < b ? a : b; }

/* A random patch classifier the dense path accepts (no pad, ceil pools divide evenly).
   Patch sides 1..max_patch. */
static void gen_spec(rng *r, spec *s, int min_patch, int max_patch)
{
    int h, w, i, nsp, fin;
    memset(s, 0, sizeof *s);
    s->c = rint_(r, 1, 3);
    s->ph = rint_(r, min_patch, max_patch);
    s->pw = chance(r, 35) ? rint_(r, min_patch, max_patch) : s->ph;
    s->quant = chance(r, 20);
    h = s->ph;
    w = s->pw;
    nsp = rint_(r, 0, max_patch > 20 ? 5 : 4);
    for (i = 0; i < nsp && s->n < MAX_L - 12; i++) {
        int t = rint_(r, 0, 4), st;
        fcn_layer l;
        if (t <= 2) {
            l = mk(FCN_LAYER_CONV);
            l.maps = chance(r, 25) ? rint_(r, 5, 13) : rint_(r, 1, 4);
            l.kh = rint_(r, 1, imin(h, 5));
            l.kw = chance(r, 30) ? rint_(r, 1, imin(w, 5)) : imin(l.kh, w);
            l.stride = rint_(r, 0, 3); /* 0: the default, 1 */
            st = l.stride ? l.stride : 1;
        } else {
            int shape = rint_(r, 0, 3);
            l = mk(t == 3 ? FCN_LAYER_MAXPOOL : FCN_LAYER_AVGPOOL);
            if (shape <= 1) {
                l.kh = l.kw = 2; /* stride default: non-overlapping */
            } else if (shape == 2) {
                l.kh = l.kw = 3;
                l.stride = 2; /* overlapping */
            } else {
                l.kh = rint_(r, 1, 3);
                l.kw = rint_(r, 1, 3);
                l.stride = rint_(r, 0, 3);
            }
            if (l.kh > h || l.kw > w) continue;
            st = l.stride ? l.stride : l.kh;
            if ((h - l.kh) % st == 0 && (w - l.kw) % st == 0 && chance(r, 40)) l.ceil_mode = 1;
        }
        add_layer(s, l);
        h = (h - l.kh) / st + 1;
        w = (w - l.kw) / st + 1;
        if (chance(r, 70)) add_act(r, s);
    }
    fin = rint_(r, 0, 3);
    if (fin == 1 && (h > 1 || w > 1)) {
        fcn_layer l = mk(FCN_LAYER_CONV);
        l.maps = rint_(r, 1, 6);
        l.kh = h;
        l.kw = w;
        l.stride = rint_(r, 0, 2);
        add_layer(s, l);
        h = w = 1;
        if (chance(r, 50)) {
            add_act(r, s);
            add_layer(s, (l = mk(FCN_LAYER_FC), l.maps = rint_(r, 1, 5), l));
        }
    } else if (fin == 2 && (h > 1 || w > 1)) {
        fcn_layer l = mk(chance(r, 50) ? FCN_LAYER_AVGPOOL : FCN_LAYER_MAXPOOL);
        l.kh = h;
        l.kw = w;
        add_layer(s, l);
        h = w = 1;
        if (chance(r, 60)) add_layer(s, (l = mk(FCN_LAYER_FC), l.maps = rint_(r, 1, 5), l));
    } else {
        int nfc = rint_(r, (h > 1 || w > 1) ? 1 : 0, 3);
        for (i = 0; i < nfc; i++) {
            fcn_layer l = mk(FCN_LAYER_FC);
            l.maps = chance(r, 20) ? rint_(r, 7, 14) : rint_(r, 1, 6);
            if (i) add_act(r, s);
            add_layer(s, l);
        }
    }
    if (chance(r, 45)) add_layer(s, mk(FCN_LAYER_SOFTMAX));
    else if (chance(r, 50)) add_act(r, s);
    /* a net with no layer at all is not a net */
    if (s->n == 0) {
        fcn_layer l = mk(FCN_LAYER_FC);
        l.maps = 2;
        add_layer(s, l);
    }
    {
        static const float scales[] = {1.0f, 1.0f / 255.0f, 0.5f, 2.0f, -1.5f};
        s->scale = scales[rint_(r, 0, 4)];
        for (i = 0; i < 3; i++) s->mean[i] = chance(r, 50) ? 0.0f : runif(r) * (s->scale < 0.1f ? 128.0f : 0.5f);
    }
}

/* Creates the net of spec s with random weights; NULL (and a FAIL check) on error. */
static fcn_net *build(rng *r, const spec *s)
{
    fcn_net *net = NULL;
    fcn_error e;
    int i;
    if (fcn_net_create(s->ph, s->pw, s->c, s->L, s->n, &net, &e) != FCN_OK) {
        check(0, "fcn_net_create: %s", e.message);
        return NULL;
    }
    for (i = 0; i < s->n; i++) {
        size_t nw, nb, k;
        float *w = fcn_net_weights(net, i, &nw), *b = fcn_net_bias(net, i, &nb);
        if (!w) continue;
        {
            size_t fan = nw / nb;
            float a = 1.7f / sqrtf((float)fan);
            for (k = 0; k < nw; k++) w[k] = s->quant ? (float)rint_(r, -2, 2) : runif(r) * a;
            for (k = 0; k < nb; k++) b[k] = s->quant ? (float)rint_(r, -1, 1) : runif(r) * 0.2f;
        }
    }
    if (fcn_net_set_transform(net, s->quant ? 1.0f : s->scale, s->quant ? NULL : s->mean, &e) != FCN_OK) {
        check(0, "fcn_net_set_transform: %s", e.message);
        fcn_net_free(net);
        return NULL;
    }
    return net;
}

static float *random_image(rng *r, const spec *s, int h, int w)
{
    size_t n = (size_t)h * (size_t)w * (size_t)s->c, i;
    float *img = (float *)xmalloc(n * sizeof(float));
    int kind = s->quant ? 0 : (s->scale < 0.1f ? 1 : 2);
    for (i = 0; i < n; i++)
        img[i] = kind == 0 ? (float)rint_(r, 0, 3) : kind == 1 ? (float)rint_(r, 0, 255) : runif(r);
    return img;
}

static void describe(const fcn_net *net, char *out, size_t n)
{
    fcn_shape in = fcn_net_input(net);
    int i;
    size_t len;
    snprintf(out, n, "in %dx%dx%d", in.h, in.w, in.c);
    for (i = 0; i < fcn_net_layer_count(net); i++) {
        fcn_layer l;
        fcn_shape a, b;
        memset(&l, 0, sizeof l);
        len = strlen(out);
        if (len + 48 >= n) break;
        fcn_net_layer(net, i, &l, &a, &b);
        switch (l.type) {
        case FCN_LAYER_CONV:
            snprintf(out + len, n - len, " | conv %d %dx%d/%d", l.maps, l.kh, l.kw, l.stride);
            break;
        case FCN_LAYER_MAXPOOL:
        case FCN_LAYER_AVGPOOL:
            snprintf(out + len, n - len, " | %s %dx%d/%d%s", fcn_layer_name(l.type), l.kh, l.kw, l.stride,
                     l.ceil_mode ? " ceil" : "");
            break;
        case FCN_LAYER_FC: snprintf(out + len, n - len, " | fc %d", l.maps); break;
        case FCN_LAYER_RELU:
            if (l.slope != 0.0f) snprintf(out + len, n - len, " | relu %g", (double)l.slope);
            else snprintf(out + len, n - len, " | relu");
            break;
        default: snprintf(out + len, n - len, " | %s", fcn_layer_name(l.type)); break;
        }
    }
}

/* Per-patch arithmetic (multiply-adds and pool elements) of the sliding path. */
static double patch_cost(const fcn_net *net)
{
    double c = 0.0;
    int i;
    for (i = 0; i < fcn_net_layer_count(net); i++) {
        fcn_layer l;
        fcn_shape a = {0, 0, 0}, b = {0, 0, 0};
        memset(&l, 0, sizeof l);
        fcn_net_layer(net, i, &l, &a, &b);
        if (l.type == FCN_LAYER_CONV || l.type == FCN_LAYER_FC)
            c += (double)b.c * b.h * b.w * a.c * l.kh * l.kw;
        else if (l.type == FCN_LAYER_MAXPOOL || l.type == FCN_LAYER_AVGPOOL)
            c += (double)b.c * b.h * b.w * l.kh * l.kw;
        else
            c += (double)b.c * b.h * b.w;
    }
    return c + 1.0;
}

static void note_coverage(const fcn_net *net, int quant)
{
    fcn_shape in = fcn_net_input(net);
    int i, nfc = 0;
    cov[COV_C1 + in.c - 1]++;
    if (quant) cov[COV_QUANT]++;
    for (i = 0; i < fcn_net_layer_count(net); i++) {
        fcn_layer l;
        fcn_shape a = {0, 0, 0}, b = {0, 0, 0};
        memset(&l, 0, sizeof l);
        fcn_net_layer(net, i, &l, &a, &b);
        if (l.type == FCN_LAYER_CONV) {
            if (l.kh % 2) cov[COV_K_ODD]++;
            else cov[COV_K_EVEN]++;
            if (l.kh != l.kw) cov[COV_K_RECT]++;
            if (l.stride >= 1 && l.stride <= 3) cov[COV_CS1 + l.stride - 1]++;
        }
        if (l.type == FCN_LAYER_MAXPOOL || l.type == FCN_LAYER_AVGPOOL) {
            cov[l.type == FCN_LAYER_MAXPOOL ? COV_MAX : COV_AVG]++;
            if (l.stride < l.kh || l.stride < l.kw) cov[COV_POOL_OVERLAP]++;
            else cov[COV_POOL_DISJOINT]++;
            if (l.ceil_mode) cov[COV_CEIL_EVEN]++;
        }
        if ((l.type == FCN_LAYER_CONV || l.type == FCN_LAYER_MAXPOOL || l.type == FCN_LAYER_AVGPOOL) &&
            ((a.h - l.kh) % l.stride || (a.w - l.kw) % l.stride))
            cov[COV_UNUSED]++;
        if (l.type == FCN_LAYER_FC) nfc++;
        if ((l.type == FCN_LAYER_FC || l.type == FCN_LAYER_CONV) && l.maps >= 6) cov[COV_MANY_MAPS]++;
        if (l.type == FCN_LAYER_RELU) cov[l.slope != 0.0f ? COV_RELU_SLOPE : COV_RELU]++;
        if (l.type == FCN_LAYER_TANH) cov[COV_TANH]++;
        if (l.type == FCN_LAYER_SIGMOID) cov[COV_SIGMOID]++;
        if (l.type == FCN_LAYER_DROPOUT) cov[COV_DROPOUT]++;
        if (l.type == FCN_LAYER_SOFTMAX) cov[COV_SOFTMAX]++;
    }
    if (nfc >= 2) cov[COV_FC2]++;
}

static int pick_threads(rng *r)
{
    static const int t[] = {1, 2, 3, 7};
    int k = rint_(r, 0, 3);
    cov[COV_T1 + k]++;
    return t[k];
}

/* One random net, small images: every border; per border one output stride; whole maps
   dense vs sliding, thread invariance, a sub-rectangle of both paths vs the whole dense
   map. budget: sliding multiply-adds per map. */
static void random_small(rng *r, int idx, double budget)
{
    spec s;
    fcn_net *net;
    char desc[1024];
    int b;
    gen_spec(r, &s, 1, chance(r, 25) ? 20 : 12);
    begin("random-net-%03d", idx);
    net = build(r, &s);
    if (!net) {
        end();
        return;
    }
    describe(net, desc, sizeof desc);
    note_coverage(net, s.quant);
    for (b = 0; b < 4; b++) {
        fcn_options o;
        fcn_error e;
        float *img, *dense = NULL, *dense2 = NULL, *slide = NULL;
        int stride = 1 + (int)((idx + b + rint_(r, 0, 1)) % 3), h, w, oh = 0, ow = 0, oh2 = 0, ow2 = 0, K = fcn_net_outputs(net);
        /* output pixels the budget allows; a wide image now and then (several vector
           blocks of the dense kernels per row), else up to 40 x 40 */
        double px = budget / patch_cost(net);
        int wide = chance(r, 20), minh = b == 3 ? s.ph : 1, minw = b == 3 ? s.pw : 1;
        int wmax = wide ? 150 : 40, hmax;
        char ctx[1400];
        w = rint_(r, minw, minw + wmax - 1);
        hmax = (int)(px / ((w + stride - 1) / stride)) * stride;
        if (hmax > 40) hmax = 40;
        if (hmax < 1) hmax = 1;
        h = rint_(r, minh, minh + hmax - 1);
        if (wide) cov[COV_WIDE]++;
        img = random_image(r, &s, h, w);
        memset(&o, 0, sizeof o);
        o.border = (fcn_border)b;
        o.stride = stride == 1 && chance(r, 50) ? 0 : stride;
        cov_bs[b][stride]++;
        snprintf(ctx, sizeof ctx, "net [%s], image %dx%d, border %s, stride %d", desc, h, w, border_name(o.border),
                 stride);
        o.path = FCN_PATH_DENSE;
        o.threads = pick_threads(r);
        if (!check(map_new(net, img, h, w, &o, &dense, &oh, &ow, &e) == FCN_OK, "%s: dense: %s", ctx, e.message))
            goto next;
        o.path = FCN_PATH_SLIDING;
        o.threads = pick_threads(r);
        if (!check(map_new(net, img, h, w, &o, &slide, &oh2, &ow2, &e) == FCN_OK, "%s: sliding: %s", ctx,
                   e.message))
            goto next;
        check(oh == oh2 && ow == ow2, "%s: map sizes differ", ctx);
        if (!same_map(dense, slide, oh, ow, K, "dense", "sliding", ctx)) goto next;
        /* neither the thread count, the kernels (SIMD or portable) nor the memory budget
           (column tiles) changes bits */
        {
            static const size_t budgets[] = {0, 1, 3000, 40000, 400000};
            char ctx2[1600];
            int k = rint_(r, 0, 4);
            o.path = FCN_PATH_DENSE;
            o.threads = 1 + (o.threads % 7);
            /* half the time the portable kernels, else any family this CPU runs */
            o.kernel = chance(r, 50) ? FCN_KERNEL_PORTABLE : (fcn_kernel)rint_(r, 0, FCN_KERNEL_COUNT - 1);
            if (!fcn_kernel_available(o.kernel)) o.kernel = FCN_KERNEL_AUTO;
            o.max_memory = budgets[k];
            cov[o.kernel == FCN_KERNEL_PORTABLE ? COV_PORTABLE : COV_AUTO]++;
            cov_kernel[o.kernel]++;
            if (k) cov[COV_TILED]++;
            snprintf(ctx2, sizeof ctx2, "%s, %d threads, %s kernels, max_memory %lu", ctx, o.threads,
                     fcn_kernel_name(o.kernel), (unsigned long)o.max_memory);
            if (check(map_new(net, img, h, w, &o, &dense2, &oh2, &ow2, &e) == FCN_OK, "%s: dense: %s", ctx2, e.message))
                same_map(dense, dense2, oh, ow, K, "dense", "dense (other threads, kernels, memory)", ctx2);
            free(dense2);
            dense2 = NULL;
            o.kernel = FCN_KERNEL_AUTO;
            o.max_memory = 0;
        }
        /* a sub-rectangle equals that crop of the whole map, in both paths */
        {
            int rw = rint_(r, 1, ow), rh = rint_(r, 1, oh), rx = rint_(r, 0, ow - rw), ry = rint_(r, 0, oh - rh), p;
            float *c = crop(dense, ow, K, rx, ry, rw, rh);
            cov[COV_RECT]++;
            o.rect_x = rx;
            o.rect_y = ry;
            o.rect_w = rw;
            o.rect_h = rh;
            for (p = 0; p < 2; p++) {
                char ctx2[1600];
                o.path = (fcn_path)p;
                o.threads = pick_threads(r);
                snprintf(ctx2, sizeof ctx2, "%s, rect %d,%d %dx%d, %s", ctx, rx, ry, rw, rh, p ? "sliding" : "dense");
                if (check(map_new(net, img, h, w, &o, &dense2, &oh2, &ow2, &e) == FCN_OK, "%s: %s", ctx2, e.message)) {
                    check(oh2 == rh && ow2 == rw, "%s: fcn_map_size gives %dx%d", ctx2, ow2, oh2);
                    same_map(dense2, c, rh, rw, K, "rect", "crop of the whole dense map", ctx2);
                }
                free(dense2);
                dense2 = NULL;
            }
            free(c);
        }
    next:
        free(img);
        free(dense);
        free(slide);
    }
    fcn_net_free(net);
    end();
}

/* One random net with a large patch on a large image: the whole dense map, then sampled
   pixels (1x1 rects, corners and edges included) by both paths. */
static void random_large(rng *r, int idx, int H, int W, int samples)
{
    spec s;
    fcn_net *net;
    fcn_options o;
    fcn_error e;
    char desc[1024], ctx[1400];
    float *img, *dense = NULL;
    int oh, ow, K, i;
    do gen_spec(r, &s, 24, 40);
    while (s.n < 3);
    begin("random-large-%02d", idx);
    net = build(r, &s);
    if (!net) {
        end();
        return;
    }
    describe(net, desc, sizeof desc);
    note_coverage(net, s.quant);
    K = fcn_net_outputs(net);
    img = random_image(r, &s, H, W);
    memset(&o, 0, sizeof o);
    o.border = (fcn_border)(idx % 4);
    o.stride = 1 + rint_(r, 0, 2);
    o.threads = 2;
    snprintf(ctx, sizeof ctx, "net [%s], image %dx%d, border %s, stride %d", desc, H, W, border_name(o.border),
             o.stride);
    if (check(map_new(net, img, H, W, &o, &dense, &oh, &ow, &e) == FCN_OK, "%s: dense: %s", ctx, e.message)) {
        for (i = 0; i < samples; i++) {
            int x, y, p;
            float v[64];
            switch (i) {
            case 0: x = 0, y = 0; break;
            case 1: x = ow - 1, y = 0; break;
            case 2: x = 0, y = oh - 1; break;
            case 3: x = ow - 1, y = oh - 1; break;
            case 4: x = rint_(r, 0, ow - 1), y = 0; break;
            case 5: x = 0, y = rint_(r, 0, oh - 1); break;
            default: x = rint_(r, 0, ow - 1), y = rint_(r, 0, oh - 1); break;
            }
            o.rect_x = x;
            o.rect_y = y;
            o.rect_w = o.rect_h = 1;
            for (p = 0; p < 2; p++) {
                char ctx2[1600];
                o.path = (fcn_path)p;
                o.threads = 1;
                snprintf(ctx2, sizeof ctx2, "%s, pixel (x=%d, y=%d) by %s", ctx, x, y, p ? "sliding" : "dense 1x1 rect");
                if (check(fcn_map(net, img, H, W, &o, v, &e) == FCN_OK, "%s: %s", ctx2, e.message))
                    same_map(v, dense + ((size_t)y * (size_t)ow + (size_t)x) * (size_t)K, 1, 1, K,
                             p ? "sliding" : "dense rect", "whole dense map", ctx2);
            }
        }
    }
    free(dense);
    free(img);
    fcn_net_free(net);
    end();
}

static void random_coverage(void)
{
    int i, b, s;
    begin("random-coverage");
    for (i = 0; i < COV_N; i++) check(cov[i] > 0, "the random cases never had: %s", cov_names[i]);
    for (b = 0; b < 4; b++)
        for (s = 1; s <= 3; s++)
            check(cov_bs[b][s] > 0, "the random cases never had border %s with output stride %d", border_name((fcn_border)b), s);
    for (i = FCN_KERNEL_PORTABLE; i < FCN_KERNEL_COUNT; i++)
        check(cov_kernel[i] > 0 || !fcn_kernel_available((fcn_kernel)i), "the random cases never ran the %s kernels",
              fcn_kernel_name((fcn_kernel)i));
    end();
}

/* ------------------------------------------------------------------ the slide */

/* The slide's worked example (../shared/data/slide-7x7x3.md): a 5x5x3 input, zero
   border 1 (a 3x3 patch gives the border (3-1)/2 = 1 above and left, 3/2 = 1 below and
   right), two 3x3x3 filters with biases, stride 2: a 3x3x2 output. W0's channel 2 bottom
   row is "-1 -1 1": the slide's text reads "-1 1 1", which does not give the slide's
   output (map 0 would be [[6,-1,4],[3,-4,4],[-4,-5,1]]). */
static const float slide_in[3][5][5] = {
    {{1, 1, 2, 0, 0}, {1, 1, 2, 0, 0}, {1, 2, 0, 0, 1}, {2, 1, 0, 1, 2}, {0, 0, 2, 0, 0}},
    {{2, 0, 1, 2, 0}, {2, 0, 0, 0, 2}, {1, 1, 1, 2, 2}, {2, 1, 1, 0, 1}, {0, 1, 1, 2, 1}},
    {{0, 2, 1, 2, 2}, {1, 2, 2, 1, 2}, {2, 2, 0, 1, 0}, {1, 1, 0, 1, 2}, {0, 1, 1, 2, 2}}};
static const float slide_w[2][3][3][3] = {
    {{{0, -1, -1}, {0, -1, 1}, {-1, 1, -1}}, {{0, 0, 1}, {-1, 1, -1}, {0, 1, 0}}, {{1, 0, -1}, {0, 1, -1}, {-1, -1, 1}}},
    {{{-1, -1, 0}, {0, 1, -1}, {1, -1, 1}}, {{0, -1, 0}, {0, 1, -1}, {0, 0, -1}}, {{-1, 0, 0}, {1, 1, 0}, {1, -1, -1}}}};
static const float slide_b[2] = {1, 0};
static const float slide_out[2][3][3] = {{{4, -5, 0}, {1, -4, 0}, {-4, -5, 1}}, {{-1, 2, 3}, {-6, -2, -1}, {-5, 0, 0}}};
static const float slide_out_uncorrected0[3][3] = {{6, -1, 4}, {3, -4, 4}, {-4, -5, 1}};

static fcn_net *slide_net(int corrected)
{
    fcn_layer l = mk(FCN_LAYER_CONV);
    fcn_net *net = NULL;
    fcn_error e;
    float *w, *b;
    l.maps = 2;
    l.kh = l.kw = 3;
    if (fcn_net_create(3, 3, 3, &l, 1, &net, &e) != FCN_OK) {
        check(0, "fcn_net_create: %s", e.message);
        return NULL;
    }
    w = fcn_net_weights(net, 0, NULL);
    b = fcn_net_bias(net, 0, NULL);
    memcpy(w, slide_w, sizeof slide_w); /* (map, channel, row, column): the file's order */
    memcpy(b, slide_b, sizeof slide_b);
    if (!corrected) w[(0 * 3 + 2) * 9 + 2 * 3 + 1] = 1.0f; /* W0, channel 2, bottom row, middle */
    return net;
}

static void slide_image(float *img)
{
    int y, x, c;
    for (y = 0; y < 5; y++)
        for (x = 0; x < 5; x++)
            for (c = 0; c < 3; c++) img[(y * 5 + x) * 3 + c] = slide_in[c][y][x];
}

static void test_slide(void)
{
    float img[75], out[18];
    int p, y, x, k;
    begin("slide-7x7x3 (W0 channel 2 bottom row corrected to \"-1 -1 1\"; the slide's text reads \"-1 1 1\")");
    slide_image(img);
    for (p = 0; p < 2; p++) {
        fcn_net *net = slide_net(1);
        fcn_options o;
        fcn_error e;
        int oh = 0, ow = 0;
        if (!net) break;
        memset(&o, 0, sizeof o);
        o.path = (fcn_path)p;
        o.border = FCN_BORDER_ZERO;
        o.stride = 2;
        check(fcn_map_size(net, 5, 5, &o, &oh, &ow, &e) == FCN_OK && oh == 3 && ow == 3, "map size %dx%d, expected 3x3",
              ow, oh);
        if (check(fcn_map(net, img, 5, 5, &o, out, &e) == FCN_OK, "%s: %s", p ? "sliding" : "dense", e.message))
            for (k = 0; k < 2; k++)
                for (y = 0; y < 3; y++)
                    for (x = 0; x < 3; x++)
                        check(out[(y * 3 + x) * 2 + k] == slide_out[k][y][x],
                              "%s: map %d at row %d col %d is %g, the slide says %g", p ? "sliding" : "dense", k, y, x,
                              (double)out[(y * 3 + x) * 2 + k], (double)slide_out[k][y][x]);
        fcn_net_free(net);
    }
    end();
    begin("slide-7x7x3-uncorrected (with the slide text's \"-1 1 1\", map 0 is [[6,-1,4],[3,-4,4],[-4,-5,1]], not the slide's)");
    for (p = 0; p < 2; p++) {
        fcn_net *net = slide_net(0);
        fcn_options o;
        fcn_error e;
        int differs = 0;
        if (!net) break;
        memset(&o, 0, sizeof o);
        o.path = (fcn_path)p;
        o.border = FCN_BORDER_ZERO;
        o.stride = 2;
        if (check(fcn_map(net, img, 5, 5, &o, out, &e) == FCN_OK, "%s: %s", p ? "sliding" : "dense", e.message)) {
            for (y = 0; y < 3; y++)
                for (x = 0; x < 3; x++) {
                    check(out[(y * 3 + x) * 2] == slide_out_uncorrected0[y][x], "%s: map 0 at row %d col %d is %g, expected %g",
                          p ? "sliding" : "dense", y, x, (double)out[(y * 3 + x) * 2], (double)slide_out_uncorrected0[y][x]);
                    check(out[(y * 3 + x) * 2 + 1] == slide_out[1][y][x], "%s: map 1 changed", p ? "sliding" : "dense");
                    if (out[(y * 3 + x) * 2] != slide_out[0][y][x]) differs = 1;
                }
            check(differs, "the uncorrected weight gives the slide's output: the known-answer test could not fail");
        }
        fcn_net_free(net);
    }
    end();
}

/* ------------------------------------------------------------------ transform and borders */

/* An independent border: fold the coordinate back until it is inside (numpy 'reflect'). */
static int ref_index(int i, int n, fcn_border b)
{
    if (i >= 0 && i < n) return i;
    if (b == FCN_BORDER_ZERO) return -1;
    if (b == FCN_BORDER_REPLICATE || n == 1) return i < 0 ? 0 : n - 1;
    while (i < 0 || i >= n) {
        if (i < 0) i = -i;
        if (i >= n) i = 2 * (n - 1) - i;
    }
    return i;
}

/* A net whose output k is the transformed input of channel k at patch position (py[k],
   px[k]): checks the border geometry ((Ph-1)/2 before, Ph/2 after), every border mode and
   the transform (x - mean[c]) * scale, zero border = raw 0 before the transform. */
static void test_transform(void)
{
    static const int sizes[][2] = {{4, 5}, {3, 3}, {6, 2}, {1, 7}, {7, 1}};
    int si, b, st;
    rng r = {12345};
    for (si = 0; si < 5; si++) {
        int ph = sizes[si][0], pw = sizes[si][1];
        begin("transform-and-borders (patch %dx%d, 3 channels, every border, strides 1-3, both paths)", ph, pw);
        {
            fcn_layer l = mk(FCN_LAYER_CONV);
            fcn_net *net = NULL;
            fcn_error e;
            float mean[3] = {10.5f, -3.25f, 100.0f}, scale = 0.375f, *w;
            int py[3], px[3], k;
            l.maps = 3;
            l.kh = ph;
            l.kw = pw;
            if (!check(fcn_net_create(ph, pw, 3, &l, 1, &net, &e) == FCN_OK, "create: %s", e.message)) {
                end();
                continue;
            }
            check(fcn_net_set_transform(net, scale, mean, &e) == FCN_OK, "set_transform: %s", e.message);
            check(fcn_net_scale(net) == scale && fcn_net_mean(net)[2] == mean[2], "transform not kept");
            w = fcn_net_weights(net, 0, NULL);
            py[0] = 0, px[0] = 0;                      /* top-left corner of the patch */
            py[1] = ph - 1, px[1] = pw - 1;            /* bottom-right */
            py[2] = (ph - 1) / 2, px[2] = (pw - 1) / 2; /* the centre: the pixel itself at stride 1 */
            for (k = 0; k < 3; k++) w[((size_t)(k * 3 + k) * (size_t)ph + (size_t)py[k]) * (size_t)pw + (size_t)px[k]] = 1.0f;
            for (b = 0; b < 4; b++)
                for (st = 1; st <= 3; st++) {
                    int h = rint_(&r, b == 3 ? ph : 1, (b == 3 ? ph : 1) + 9), wd = rint_(&r, b == 3 ? pw : 1, (b == 3 ? pw : 1) + 9);
                    float *img = (float *)xmalloc((size_t)h * (size_t)wd * 3 * sizeof(float)), *m[2] = {NULL, NULL};
                    int p, oh = 0, ow = 0, y, x, i;
                    fcn_options o;
                    for (i = 0; i < h * wd * 3; i++) img[i] = (float)rint_(&r, 1, 255);
                    memset(&o, 0, sizeof o);
                    o.border = (fcn_border)b;
                    o.stride = st;
                    for (p = 0; p < 2; p++) {
                        o.path = (fcn_path)p;
                        if (!check(map_new(net, img, h, wd, &o, &m[p], &oh, &ow, &e) == FCN_OK, "%s %s: %s",
                                   border_name(o.border), p ? "sliding" : "dense", e.message))
                            continue;
                        {
                            int eh = b == 3 ? (h - ph) / st + 1 : (h - 1) / st + 1, ew = b == 3 ? (wd - pw) / st + 1 : (wd - 1) / st + 1;
                            check(oh == eh && ow == ew, "border %s stride %d image %dx%d: map %dx%d, expected %dx%d",
                                  border_name(o.border), st, h, wd, oh, ow, eh, ew);
                        }
                        for (y = 0; y < oh; y++)
                            for (x = 0; x < ow; x++)
                                for (k = 0; k < 3; k++) {
                                    int top = b == 3 ? 0 : (ph - 1) / 2, left = b == 3 ? 0 : (pw - 1) / 2;
                                    int iy = ref_index(y * st + py[k] - top, h, o.border);
                                    int ix = ref_index(x * st + px[k] - left, wd, o.border);
                                    float raw = (iy < 0 || ix < 0) ? 0.0f : img[((size_t)iy * (size_t)wd + (size_t)ix) * 3 + (size_t)k];
                                    float want = fmaf(1.0f, (raw - mean[k]) * scale, 0.0f);
                                    float got = m[p][((size_t)y * (size_t)ow + (size_t)x) * 3 + (size_t)k];
                                    check(fbits(got) == fbits(want),
                                          "border %s stride %d image %dx%d %s: pixel (x=%d, y=%d) channel %d is %a, expected %a "
                                          "(raw %g at image row %d col %d)",
                                          border_name(o.border), st, h, wd, p ? "sliding" : "dense", x, y, k, (double)got,
                                          (double)want, (double)raw, iy, ix);
                                }
                    }
                    if (m[0] && m[1]) same_map(m[0], m[1], oh, ow, 3, "dense", "sliding", border_name(o.border));
                    free(m[0]);
                    free(m[1]);
                    free(img);
                }
            fcn_net_free(net);
        }
        end();
    }
}

/* Max pools keep the first of equal values: on an image of -0 and +0 (equal, different
   bits) a net of max pools (and a 1x1 conv with weight 1, bias -0, which keeps the sign
   of a zero) gives the bits of its patch's top-left pixel. */
static void test_max_ties(void)
{
    rng r = {4711};
    int which;
    for (which = 0; which < 3; which++) {
        fcn_layer L[2];
        fcn_net *net = NULL;
        fcn_error e;
        int ph, b, st;
        if (which == 0) {
            ph = 3;
            L[0] = mk(FCN_LAYER_MAXPOOL), L[0].kh = L[0].kw = 2, L[0].stride = 1;
            L[1] = mk(FCN_LAYER_MAXPOOL), L[1].kh = L[1].kw = 2, L[1].stride = 1;
        } else if (which == 1) {
            ph = 3;
            L[0] = mk(FCN_LAYER_CONV), L[0].maps = 1, L[0].kh = L[0].kw = 1, L[0].stride = 2;
            L[1] = mk(FCN_LAYER_MAXPOOL), L[1].kh = L[1].kw = 2;
        } else {
            ph = 5;
            L[0] = mk(FCN_LAYER_MAXPOOL), L[0].kh = L[0].kw = 3, L[0].stride = 2;
            L[1] = mk(FCN_LAYER_MAXPOOL), L[1].kh = L[1].kw = 2;
        }
        begin("maxpool keeps the first of equal values (-0 and +0), net %d, every border, strides 1-3, both paths", which);
        if (!check(fcn_net_create(ph, ph, 1, L, 2, &net, &e) == FCN_OK, "create: %s", e.message)) {
            end();
            continue;
        }
        if (which == 1) {
            fcn_net_weights(net, 0, NULL)[0] = 1.0f;
            fcn_net_bias(net, 0, NULL)[0] = -0.0f;
        }
        for (b = 0; b < 4; b++)
            for (st = 1; st <= 3; st++) {
                int h = rint_(&r, ph, ph + 12), w = rint_(&r, ph, ph + 12), p, i, oh = 0, ow = 0, y, x;
                float *img = (float *)xmalloc((size_t)h * (size_t)w * sizeof(float)), *m = NULL;
                fcn_options o;
                for (i = 0; i < h * w; i++) img[i] = chance(&r, 50) ? -0.0f : 0.0f;
                memset(&o, 0, sizeof o);
                o.border = (fcn_border)b;
                o.stride = st;
                for (p = 0; p < 2; p++) {
                    o.path = (fcn_path)p;
                    if (!check(map_new(net, img, h, w, &o, &m, &oh, &ow, &e) == FCN_OK, "%s: %s", p ? "sliding" : "dense",
                               e.message))
                        continue;
                    for (y = 0; y < oh; y++)
                        for (x = 0; x < ow; x++) {
                            int top = b == 3 ? 0 : (ph - 1) / 2;
                            int iy = ref_index(y * st - top, h, o.border), ix = ref_index(x * st - top, w, o.border);
                            float want = (iy < 0 || ix < 0) ? 0.0f : img[(size_t)iy * (size_t)w + (size_t)ix];
                            check(fbits(m[(size_t)y * (size_t)ow + (size_t)x]) == fbits(want),
                                  "border %s stride %d %s: pixel (x=%d, y=%d) is %a, the patch's first pixel %a",
                                  border_name(o.border), st, p ? "sliding" : "dense", x, y, (double)m[(size_t)y * (size_t)ow + (size_t)x],
                                  (double)want);
                        }
                    free(m);
                    m = NULL;
                }
                free(img);
            }
        fcn_net_free(net);
        end();
    }
}

/* ------------------------------------------------------------------ exp, tanh, sigmoid */

static void test_arith(int quick)
{
    long n = quick ? 200000 : 2000000, i;
    int64_t worst = 0;
    float worst_x = 0;
    /* fcn_expf: within 2 ulp of exp in double rounded to float, over [-87, 88.7] */
    begin("fcn_expf within 2 ulp of (float)exp((double)x) on %ld points of [-87, 88.7], monotone", n);
    {
        float prev = 0.0f;
        for (i = 0; i <= n; i++) {
            float x = (float)(-87.0 + (88.7 - -87.0) * (double)i / (double)n), y = fcn_expf(x);
            float ref = (float)exp((double)x);
            int64_t d = ulp_dist(y, ref);
            if (d > worst) worst = d, worst_x = x;
            check(d <= 2, "fcn_expf(%a) = %a, exp gives %a: %ld ulp", (double)x, (double)y, (double)ref, (long)d);
            check(y >= prev, "fcn_expf decreases at %a: %a after %a", (double)x, (double)y, (double)prev);
            prev = y;
        }
        /* every float around each point where the reduction's n changes, where a polynomial
           approximation is most likely to be non-monotone or least accurate */
        for (i = -126; i <= 127; i++) {
            float c = (float)(((double)i - 0.5) * 0.69314718055994530942), x = c, y, pv;
            int j;
            if (c < -87.0f || c > 88.7f) continue;
            for (j = 0; j < 40; j++) x = nextafterf(x, -INFINITY);
            pv = fcn_expf(x);
            for (j = 0; j < 80; j++) {
                int64_t d;
                x = nextafterf(x, INFINITY);
                y = fcn_expf(x);
                d = ulp_dist(y, (float)exp((double)x));
                if (d > worst) worst = d, worst_x = x;
                check(d <= 2, "fcn_expf(%a) = %a, exp gives %a: %ld ulp", (double)x, (double)y, (double)exp((double)x), (long)d);
                check(y >= pv, "fcn_expf decreases at %a (reduction boundary): %a after %a", (double)x, (double)y, (double)pv);
                pv = y;
            }
        }
        printf("# fcn_expf: worst %ld ulp at x = %a\n", (long)worst, (double)worst_x);
    }
    end();
    begin("fcn_expf special cases (NaN, +-inf, +-0, overflow to inf, underflow to 0)");
    {
        float nan_ = bitsf(0x7FC00000u), inf = bitsf(0x7F800000u);
        check(fcn_expf(nan_) != fcn_expf(nan_), "fcn_expf(NaN) = %a, not NaN", (double)fcn_expf(nan_));
        check(fcn_expf(inf) == inf, "fcn_expf(inf) = %a", (double)fcn_expf(inf));
        check(fbits(fcn_expf(-inf)) == 0, "fcn_expf(-inf) = %a, not +0", (double)fcn_expf(-inf));
        check(fcn_expf(0.0f) == 1.0f && fcn_expf(-0.0f) == 1.0f, "fcn_expf(+-0) != 1");
        check(fcn_expf(89.0f) == inf && fcn_expf(1000.0f) == inf, "fcn_expf(89) = %a", (double)fcn_expf(89.0f));
        check(fbits(fcn_expf(-88.0f)) == 0 && fbits(fcn_expf(-1000.0f)) == 0, "fcn_expf(-88) = %a", (double)fcn_expf(-88.0f));
        check(fcn_expf(1.0f) == (float)exp(1.0), "fcn_expf(1) = %a", (double)fcn_expf(1.0f));
    }
    end();

    /* tanh: within 3 ulp of tanh in double, odd, monotone */
    worst = 0;
    begin("fcn_tanhf within 3 ulp of (float)tanh((double)x) on %ld points of [-20, 20] and near 0, odd, monotone", n);
    {
        float prev = -1.0f;
        for (i = 0; i <= n; i++) {
            float x = (float)(-20.0 + 40.0 * (double)i / (double)n), y = fcn_tanhf(x), ref = (float)tanh((double)x);
            int64_t d = ulp_dist(y, ref);
            if (d > worst) worst = d, worst_x = x;
            check(d <= 3, "fcn_tanhf(%a) = %a, tanh gives %a: %ld ulp", (double)x, (double)y, (double)ref, (long)d);
            check(y >= prev, "fcn_tanhf decreases at %a", (double)x);
            check(fbits(fcn_tanhf(-x)) == (fbits(y) ^ 0x80000000u), "fcn_tanhf(-%a) != -fcn_tanhf(%a)", (double)x, (double)x);
            prev = y;
        }
        { /* every float around the switch at 0.625 */
            float x = 0.625f, pv;
            int j;
            for (j = 0; j < 2000; j++) x = nextafterf(x, 0.0f);
            pv = fcn_tanhf(x);
            for (j = 0; j < 4000; j++) {
                float y;
                int64_t d;
                x = nextafterf(x, 1.0f);
                y = fcn_tanhf(x);
                d = ulp_dist(y, (float)tanh((double)x));
                if (d > worst) worst = d, worst_x = x;
                check(d <= 3, "fcn_tanhf(%a) = %a: %ld ulp", (double)x, (double)y, (long)d);
                check(y >= pv, "fcn_tanhf decreases at %a (the 0.625 switch): %a after %a", (double)x, (double)y, (double)pv);
                pv = y;
            }
        }
        for (i = -149; i < 0; i++) { /* tiny values: tanh(x) = x */
            float x = ldexpf(1.0f, (int)i) * 1.5f;
            check(ulp_dist(fcn_tanhf(x), (float)tanh((double)x)) <= 3, "fcn_tanhf(%a) = %a", (double)x, (double)fcn_tanhf(x));
        }
        check(fcn_tanhf(bitsf(0x7F800000u)) == 1.0f && fcn_tanhf(bitsf(0xFF800000u)) == -1.0f, "tanh(+-inf) != +-1");
        check(fcn_tanhf(bitsf(0x7FC00000u)) != fcn_tanhf(bitsf(0x7FC00000u)), "tanh(NaN) is not NaN");
        check(fbits(fcn_tanhf(0.0f)) == 0 && fbits(fcn_tanhf(-0.0f)) == 0x80000000u, "tanh(+-0) != +-0");
        check(fcn_tanhf(100.0f) == 1.0f, "tanh(100) != 1");
        printf("# fcn_tanhf: worst %ld ulp at x = %a\n", (long)worst, (double)worst_x);
    }
    end();

    /* sigmoid: within 3 ulp of 1/(1+exp(-x)) in double where the result is a normal
       float, within FLT_MIN (absolute) below; monotone */
    worst = 0;
    begin("fcn_sigmoidf within 3 ulp of 1/(1+exp(-x)) in double on %ld points of [-87, 88.7], monotone; "
          "|error| < FLT_MIN on [-104, -87]", n);
    {
        float prev = 0.0f;
        for (i = 0; i <= n; i++) {
            float x = (float)(-87.0 + (88.7 - -87.0) * (double)i / (double)n), y = fcn_sigmoidf(x);
            float ref = (float)(1.0 / (1.0 + exp(-(double)x)));
            int64_t d = ulp_dist(y, ref);
            if (d > worst) worst = d, worst_x = x;
            check(d <= 3, "fcn_sigmoidf(%a) = %a, reference %a: %ld ulp", (double)x, (double)y, (double)ref, (long)d);
            check(y >= prev, "fcn_sigmoidf decreases at %a", (double)x);
            prev = y;
        }
        for (i = 0; i <= 1000; i++) {
            float x = (float)(-104.0 + 17.0 * (double)i / 1000.0), y = fcn_sigmoidf(x);
            double ref = 1.0 / (1.0 + exp(-(double)x));
            check(y >= 0.0f && fabs((double)y - ref) < (double)FLT_MIN, "fcn_sigmoidf(%a) = %a, reference %a", (double)x,
                  (double)y, ref);
        }
        check(fcn_sigmoidf(0.0f) == 0.5f, "sigmoid(0) != 0.5");
        check(fcn_sigmoidf(bitsf(0x7F800000u)) == 1.0f && fbits(fcn_sigmoidf(bitsf(0xFF800000u))) == 0, "sigmoid(+-inf)");
        check(fcn_sigmoidf(bitsf(0x7FC00000u)) != fcn_sigmoidf(bitsf(0x7FC00000u)), "sigmoid(NaN) is not NaN");
        printf("# fcn_sigmoidf: worst %ld ulp at x = %a\n", (long)worst, (double)worst_x);
    }
    end();
}

/* ------------------------------------------------------------------ refusals */

static int contains(const char *s, const char *sub) { return s && sub && strstr(s, sub) != NULL; }

/* A net of 'n' layers on a ph x pw x 1 patch; weights random. */
static fcn_net *make_net(rng *r, int ph, int pw, const fcn_layer *L, int n, fcn_error *e)
{
    fcn_net *net = NULL;
    int i;
    if (fcn_net_create(ph, pw, 1, L, n, &net, e) != FCN_OK) return NULL;
    for (i = 0; i < n; i++) {
        size_t nw, nb, k;
        float *w = fcn_net_weights(net, i, &nw), *b = fcn_net_bias(net, i, &nb);
        for (k = 0; w && k < nw; k++) w[k] = runif(r);
        for (k = 0; b && k < nb; k++) b[k] = runif(r) * 0.1f;
    }
    return net;
}

/* ------------------------------------------------------------------ kernel families */

/* The kernel families this build should have on this CPU, from an oracle of its own:
   the CPU's flags in /proc/cpuinfo (Linux x86-64), the target (AArch64 has NEON), the
   build's FCN_NO_SIMD. -1: cannot tell here (not Linux, or a compiler without the
   run-time dispatch), so only consistency is checked. */
static int expect_kernel(fcn_kernel k)
{
    if (k == FCN_KERNEL_AUTO || k == FCN_KERNEL_PORTABLE) return 1;
#if defined(FCN_NO_SIMD)
    return 0;
#elif defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__TINYC__)
    {
        static char flags[8192];
        static int have = -1;
        if (have < 0) {
            FILE *f = fopen("/proc/cpuinfo", "r");
            char line[8192];
            have = 0;
            while (f && fgets(line, sizeof line, f))
                if (strncmp(line, "flags", 5) == 0) {
                    snprintf(flags, sizeof flags, "%s ", strchr(line, ':') ? strchr(line, ':') + 1 : "");
                    flags[strcspn(flags, "\n")] = ' ';
                    have = 1;
                    break;
                }
            if (f) fclose(f);
        }
        if (!have) return -1;
        if (k == FCN_KERNEL_AVX2) return strstr(flags, " avx2 ") && strstr(flags, " fma ");
        if (k == FCN_KERNEL_AVX512) return strstr(flags, " avx512f ") != NULL;
        return 0;
    }
#elif defined(__aarch64__) && defined(__ARM_NEON)
    return k == FCN_KERNEL_NEON;
#else
    return k == FCN_KERNEL_NEON ? 0 : -1;
#endif
}

/* Which families run here, what AUTO picks, and a refusal naming the missing ones. */
static void test_kernel_choice(void)
{
    static const char *names[FCN_KERNEL_COUNT] = {"auto", "portable", "avx2+fma", "avx512f", "neon"};
    fcn_layer L[2];
    fcn_net *net;
    fcn_error e;
    rng r = {7};
    float img[12 * 12], out[12 * 12 * 2];
    int k, i;
    char list[256] = "";
    L[0] = mk(FCN_LAYER_CONV);
    L[0].maps = 3, L[0].kh = L[0].kw = 3;
    L[1] = mk(FCN_LAYER_FC);
    L[1].maps = 2;
    net = make_net(&r, 5, 5, L, 2, &e);
    for (i = 0; i < 12 * 12; i++) img[i] = runif(&r);

    begin("kernels: the families this build runs on this CPU");
    check(net != NULL, "net: %s", e.message);
    for (k = 0; k < FCN_KERNEL_COUNT; k++) {
        int want = expect_kernel((fcn_kernel)k), got = fcn_kernel_available((fcn_kernel)k);
        if (got && k > FCN_KERNEL_PORTABLE) snprintf(list + strlen(list), sizeof list - strlen(list), " %s", names[k]);
        check(want < 0 || got == want, "fcn_kernel_available(%s) = %d, but this CPU and build say %d", names[k], got,
              want);
        if (k != FCN_KERNEL_AUTO)
            check(strcmp(fcn_kernel_name((fcn_kernel)k), names[k]) == 0, "fcn_kernel_name(%d) = '%s', expected '%s'", k,
                  fcn_kernel_name((fcn_kernel)k), names[k]);
        if (!got && net) { /* asking for a family this build or CPU lacks: refused, by name */
            fcn_options o;
            memset(&o, 0, sizeof o);
            o.kernel = (fcn_kernel)k;
            check(fcn_map(net, img, 12, 12, &o, out, &e) == FCN_ERR_UNSUPPORTED && contains(e.message, names[k]),
                  "kernels %s: status %d, message '%s'; expected unsupported, naming them", names[k], (int)e.status,
                  e.message);
        }
    }
    check(!fcn_kernel_available(FCN_KERNEL_COUNT) && !fcn_kernel_available((fcn_kernel)-1),
          "kernel choices out of range reported available");
    /* AUTO: the widest family there is, and fcn_simd_name names it ("none": portable) */
    {
        const char *want = fcn_kernel_available(FCN_KERNEL_AVX512) ? "avx512f"
                           : fcn_kernel_available(FCN_KERNEL_AVX2) ? "avx2+fma"
                           : fcn_kernel_available(FCN_KERNEL_NEON) ? "neon"
                                                                   : "portable";
        check(strcmp(fcn_kernel_name(FCN_KERNEL_AUTO), want) == 0, "AUTO runs '%s', expected '%s'",
              fcn_kernel_name(FCN_KERNEL_AUTO), want);
        check(strcmp(fcn_simd_name(), strcmp(want, "portable") ? want : "none") == 0, "fcn_simd_name() = '%s' for '%s'",
              fcn_simd_name(), want);
    }
    end_note(list[0] ? list + 1 : "portable only");
    fcn_net_free(net);
}

/* Every family this CPU runs gives the sliding window's bits, on nets shaped to reach
   every part of the kernels: blocks, pairs and single maps (1 to 13 maps), 1 to 4
   vectors per block and a ragged last one (widths 1 to 130), channels in several chunks
   (many channels, wide kernels), a relu fused into the store of a convolution or of the
   2x2 max pool (slopes 0, positive, negative), a relu with a dropout, tanh after a
   convolution (not fused), dilations after pools. */
static void test_kernel_bits(int quick)
{
    static const int maps[] = {1, 2, 3, 5, 6, 7, 8, 13};
    static const int widths[] = {1, 7, 9, 17, 33, 70, 130};
    static const float slopes[] = {0.0f, 0.25f, -0.5f};
    rng r = {2026};
    int t, n_cases = quick ? 4 : 10, k;
    for (t = 0; t < n_cases; t++) {
        fcn_layer L[12];
        fcn_net *net;
        fcn_error e;
        fcn_options o;
        float *img, *slide = NULL, *dense = NULL;
        int n = 0, m1 = maps[rint_(&r, 0, 7)], m2 = maps[rint_(&r, 0, 7)], wide = t % 2 ? 24 + 8 * (t % 3) : 3;
        int w = widths[rint_(&r, 0, 6)], h = rint_(&r, 1, 6), oh, ow, oh2, ow2, K;
        char what[200];
        /* conv (wide: many channels) -> act -> maxpool 2 -> conv 3x3 (m2) -> act -> fc */
        L[n] = mk(FCN_LAYER_CONV), L[n].maps = wide, L[n].kh = L[n].kw = 2, n++;
        L[n] = mk(FCN_LAYER_RELU), L[n].slope = slopes[t % 3], n++;
        L[n] = mk(FCN_LAYER_MAXPOOL), L[n].kh = L[n].kw = 2, L[n].stride = 2, n++;
        if (t % 2 == 0) { /* the relu after the pool: fused into the pool's store */
            L[n - 2] = L[n - 1];
            L[n - 1] = mk(FCN_LAYER_RELU), L[n - 1].slope = slopes[t % 3];
        }
        L[n] = mk(FCN_LAYER_CONV), L[n].maps = m1, L[n].kh = L[n].kw = t % 4 ? 5 : 3, n++;
        if (t % 3 == 1) L[n] = mk(FCN_LAYER_DROPOUT), n++;
        L[n] = mk(t % 4 == 3 ? FCN_LAYER_TANH : FCN_LAYER_RELU), L[n].slope = slopes[(t + 1) % 3], n++;
        L[n] = mk(FCN_LAYER_FC), L[n].maps = m2, n++;
        L[n] = mk(FCN_LAYER_RELU), n++;
        L[n] = mk(FCN_LAYER_FC), L[n].maps = 2 + t % 3, n++;
        net = make_net(&r, t % 4 ? 14 : 10, t % 4 ? 14 : 10, L, n, &e);
        snprintf(what, sizeof what, "conv %d 2x2 %srelu(%g)%s conv %d %dx%d %s fc %d fc %d, image %dx%d", wide,
                 t % 2 ? "" : "pool 2 ", (double)slopes[t % 3], t % 2 ? " pool 2" : "", m1, L[3].kh, L[3].kw,
                 t % 4 == 3 ? "tanh" : "relu", m2, 2 + t % 3, h, w);
        begin("kernels: every family gives the sliding window's bits: %s", what);
        if (!check(net != NULL, "net: %s", e.message)) {
            end();
            continue;
        }
        K = fcn_net_outputs(net);
        img = (float *)xmalloc((size_t)h * (size_t)w * sizeof(float));
        for (k = 0; k < h * w; k++) img[k] = runif(&r) * 2.0f;
        memset(&o, 0, sizeof o);
        o.path = FCN_PATH_SLIDING;
        if (check(map_new(net, img, h, w, &o, &slide, &oh, &ow, &e) == FCN_OK, "sliding: %s", e.message)) {
            o.path = FCN_PATH_DENSE;
            for (k = FCN_KERNEL_PORTABLE; k < FCN_KERNEL_COUNT; k++) {
                char ctx[64];
                if (!fcn_kernel_available((fcn_kernel)k)) continue;
                o.kernel = (fcn_kernel)k;
                o.threads = 1 + k % 2;
                snprintf(ctx, sizeof ctx, "kernels %s", fcn_kernel_name((fcn_kernel)k));
                if (check(map_new(net, img, h, w, &o, &dense, &oh2, &ow2, &e) == FCN_OK, "%s: %s", ctx, e.message))
                    same_map(dense, slide, oh, ow, K, ctx, "sliding", "map");
                free(dense);
                dense = NULL;
            }
        }
        free(slide);
        free(img);
        fcn_net_free(net);
        end();
    }
}

/* A scratch of 8 MB or more is one 2 MB-aligned block with huge-page advice on Linux
   (fcn__scratch): the map must still be the sliding window's (sampled rows) and the one
   computed in narrow column tiles with small scratch blocks. */
static void test_big_scratch(void)
{
    rng r = {99};
    fcn_layer L[5];
    fcn_net *net;
    fcn_error e;
    fcn_options o;
    int h = 64, w = 1500, oh, ow, oh2, ow2, i;
    float *img = (float *)xmalloc((size_t)h * (size_t)w * sizeof(float)), *big = NULL, *tiled = NULL, *rows = NULL, *c;
    L[0] = mk(FCN_LAYER_CONV), L[0].maps = 96, L[0].kh = L[0].kw = 3;
    L[1] = mk(FCN_LAYER_RELU);
    L[2] = mk(FCN_LAYER_MAXPOOL), L[2].kh = L[2].kw = 2, L[2].stride = 2;
    L[3] = mk(FCN_LAYER_FC), L[3].maps = 2;
    L[4] = mk(FCN_LAYER_SOFTMAX);
    begin("a dense scratch over 8 MB (huge-page block): within max_memory (1, 11, 24 MB), equal to narrow column tiles and to the sliding window");
    if (!check((net = make_net(&r, 6, 6, L, 5, &e)) != NULL, "create: %s", e.message)) {
        end();
        return;
    }
    for (i = 0; i < h * w; i++) img[i] = runif(&r);
    memset(&o, 0, sizeof o);
    o.threads = 2;
    if (check(map_new(net, img, h, w, &o, &big, &oh, &ow, &e) == FCN_OK, "dense: %s", e.message)) {
        size_t budgets[3], k, base, fixed = 2 * sizeof(float) * (96 * 9 + 96 + 2 * 96 * 4) + 65536;
        float *m = (float *)xmalloc((size_t)oh * (size_t)ow * 2 * sizeof(float));
        budgets[0] = (size_t)1 << 20, budgets[1] = (size_t)11 << 20, budgets[2] = (size_t)24 << 20;
        /* the budget bounds the scratch: beyond it only the packed weights and ~64 KB */
        for (k = 0; k < 3; k++) {
            o.max_memory = budgets[k];
            base = mem_mark();
            if (check(fcn_map(net, img, h, w, &o, m, &e) == FCN_OK, "dense, %lu bytes: %s",
                      (unsigned long)budgets[k], e.message))
                check(mem_peak_now() - base <= budgets[k] + fixed,
                      "max_memory %lu: the dense path held %lu bytes at its peak", (unsigned long)budgets[k],
                      (unsigned long)(mem_peak_now() - base));
        }
        free(m);
        o.max_memory = (size_t)1 << 20;
        if (check(map_new(net, img, h, w, &o, &tiled, &oh2, &ow2, &e) == FCN_OK, "dense, 1 MB: %s", e.message))
            same_map(big, tiled, oh, ow, 2, "dense", "dense in 1 MB column tiles", "big scratch");
        o.max_memory = 0;
        o.path = FCN_PATH_SLIDING;
        o.rect_y = 30, o.rect_h = 2, o.rect_x = 0, o.rect_w = ow;
        c = crop(big, ow, 2, 0, 30, ow, 2);
        if (check(map_new(net, img, h, w, &o, &rows, &oh2, &ow2, &e) == FCN_OK, "sliding: %s", e.message))
            same_map(c, rows, 2, ow, 2, "dense", "sliding", "big scratch, rows 30-31");
        free(c);
    }
    free(big);
    free(tiled);
    free(rows);
    free(img);
    fcn_net_free(net);
    end();
}

static void test_refusals(void)
{
    rng r = {777};
    struct {
        const char *name;
        int ph, pw, n, bad_layer; /* bad_layer 0: the dense path accepts it */
        fcn_layer L[4];
    } cases[6];
    int i, n = 0;
    memset(cases, 0, sizeof cases);
    /* conv with pad */
    cases[n].name = "conv with pad";
    cases[n].ph = cases[n].pw = 5;
    cases[n].L[0] = mk(FCN_LAYER_CONV), cases[n].L[0].maps = 2, cases[n].L[0].kh = cases[n].L[0].kw = 3, cases[n].L[0].pad = 1;
    cases[n].L[1] = mk(FCN_LAYER_RELU);
    cases[n].L[2] = mk(FCN_LAYER_FC), cases[n].L[2].maps = 2;
    cases[n].n = 3, cases[n].bad_layer = 1, n++;
    /* pool with pad (layer 3) */
    cases[n].name = "pool with pad";
    cases[n].ph = cases[n].pw = 6;
    cases[n].L[0] = mk(FCN_LAYER_CONV), cases[n].L[0].maps = 2, cases[n].L[0].kh = cases[n].L[0].kw = 2;
    cases[n].L[1] = mk(FCN_LAYER_TANH);
    cases[n].L[2] = mk(FCN_LAYER_MAXPOOL), cases[n].L[2].kh = cases[n].L[2].kw = 2, cases[n].L[2].pad = 1;
    cases[n].L[3] = mk(FCN_LAYER_FC), cases[n].L[3].maps = 3;
    cases[n].n = 4, cases[n].bad_layer = 3, n++;
    /* ceil pool whose last window is clipped: 6 -> 3x3 stride 2 ceil: windows at 0, 2, 4 (4..6 clipped) */
    cases[n].name = "ceil pool with a clipped last window";
    cases[n].ph = cases[n].pw = 8;
    cases[n].L[0] = mk(FCN_LAYER_CONV), cases[n].L[0].maps = 2, cases[n].L[0].kh = cases[n].L[0].kw = 3;
    cases[n].L[1] = mk(FCN_LAYER_AVGPOOL), cases[n].L[1].kh = cases[n].L[1].kw = 3, cases[n].L[1].stride = 2,
    cases[n].L[1].ceil_mode = 1;
    cases[n].L[2] = mk(FCN_LAYER_FC), cases[n].L[2].maps = 2;
    cases[n].n = 3, cases[n].bad_layer = 2, n++;
    /* the same with maxpool */
    cases[n] = cases[n - 1];
    cases[n].name = "ceil maxpool with a clipped last window";
    cases[n].L[1].type = FCN_LAYER_MAXPOOL, n++;
    /* ceil pool that divides evenly: 7 -> 3x3 stride 2: windows at 0, 2, 4 exactly */
    cases[n].name = "ceil pool that divides evenly";
    cases[n].ph = cases[n].pw = 9;
    cases[n].L[0] = mk(FCN_LAYER_CONV), cases[n].L[0].maps = 2, cases[n].L[0].kh = cases[n].L[0].kw = 3;
    cases[n].L[1] = mk(FCN_LAYER_MAXPOOL), cases[n].L[1].kh = cases[n].L[1].kw = 3, cases[n].L[1].stride = 2,
    cases[n].L[1].ceil_mode = 1;
    cases[n].L[2] = mk(FCN_LAYER_FC), cases[n].L[2].maps = 2;
    cases[n].n = 3, cases[n].bad_layer = 0, n++;
    /* ceil avgpool that divides evenly, 2x2 stride 2 on 4 */
    cases[n].name = "ceil avgpool 2x2 that divides evenly";
    cases[n].ph = cases[n].pw = 5;
    cases[n].L[0] = mk(FCN_LAYER_CONV), cases[n].L[0].maps = 1, cases[n].L[0].kh = cases[n].L[0].kw = 2;
    cases[n].L[1] = mk(FCN_LAYER_AVGPOOL), cases[n].L[1].kh = cases[n].L[1].kw = 2, cases[n].L[1].ceil_mode = 1;
    cases[n].L[2] = mk(FCN_LAYER_FC), cases[n].L[2].maps = 2;
    cases[n].L[3] = mk(FCN_LAYER_SOFTMAX);
    cases[n].n = 4, cases[n].bad_layer = 0, n++;

    for (i = 0; i < n; i++) {
        fcn_error e;
        fcn_net *net;
        begin("refusal: %s", cases[i].name);
        net = make_net(&r, cases[i].ph, cases[i].pw, cases[i].L, cases[i].n, &e);
        if (!check(net != NULL, "create: %s", e.message)) {
            end();
            continue;
        }
        {
            int h = 23, w = 17, b, oh = 0, ow = 0, K = fcn_net_outputs(net), t;
            float *img = (float *)xmalloc((size_t)h * (size_t)w * sizeof(float)), *m = NULL, *s = NULL;
            fcn_options o;
            char want[32];
            for (t = 0; t < h * w; t++) img[t] = runif(&r);
            snprintf(want, sizeof want, "layer %d", cases[i].bad_layer);
            memset(&o, 0, sizeof o);
            for (b = 0; b < 4; b++) {
                o.border = (fcn_border)b;
                o.stride = 1 + b % 3;
                o.path = FCN_PATH_SLIDING;
                if (check(map_new(net, img, h, w, &o, &s, &oh, &ow, &e) == FCN_OK, "sliding refused it: %s", e.message))
                    for (t = 0; t < oh * ow * K; t++)
                        if (!check(s[t] == s[t] && fabsf(s[t]) < 1e30f, "sliding map value %d is %g", t, (double)s[t]))
                            break;
                o.path = FCN_PATH_DENSE;
                if (cases[i].bad_layer) {
                    float dummy[64];
                    fcn_status st = fcn_map(net, img, h, w, &o, dummy, &e);
                    check(st == FCN_ERR_UNSUPPORTED, "dense: status %d (%s), expected FCN_ERR_UNSUPPORTED", (int)st,
                          fcn_status_string(st));
                    check(contains(e.message, want), "dense: message '%s' does not name '%s'", e.message, want);
                    check(e.status == FCN_ERR_UNSUPPORTED, "err.status is %d", (int)e.status);
                    st = fcn_net_dense_check(net, &e);
                    check(st == FCN_ERR_UNSUPPORTED && contains(e.message, want), "fcn_net_dense_check: %d '%s'", (int)st,
                          e.message);
                    check(contains(e.message, cases[i].L[cases[i].bad_layer - 1].pad ? "pad" : "ceil"),
                          "message '%s' does not give the reason", e.message);
                } else {
                    check(fcn_net_dense_check(net, &e) == FCN_OK, "fcn_net_dense_check refuses it: %s", e.message);
                    if (check(map_new(net, img, h, w, &o, &m, &oh, &ow, &e) == FCN_OK, "dense refused it: %s", e.message) &&
                        s)
                        same_map(m, s, oh, ow, K, "dense", "sliding", border_name(o.border));
                }
                free(m);
                free(s);
                m = s = NULL;
            }
            free(img);
        }
        fcn_net_free(net);
        end();
    }

    /* A ceil pool with a stride larger than its kernel: the last window must not fall
       outside the input (an empty window: max 0, average 0/0 = NaN). */
    begin("ceil pool with stride > kernel has no empty window (no NaN on the sliding path)");
    {
        fcn_layer L[3];
        fcn_net *net;
        fcn_error e;
        int pt;
        for (pt = 0; pt < 2; pt++) {
            fcn_shape in = {0, 0, 0}, out = {0, 0, 0};
            fcn_layer got;
            L[0] = mk(FCN_LAYER_CONV), L[0].maps = 2, L[0].kh = L[0].kw = 3;
            L[1] = mk(pt ? FCN_LAYER_MAXPOOL : FCN_LAYER_AVGPOOL), L[1].kh = L[1].kw = 2, L[1].stride = 3,
            L[1].ceil_mode = 1; /* 6 -> windows at 0, 3 (and 6: outside) */
            L[2] = mk(FCN_LAYER_FC), L[2].maps = 2;
            net = make_net(&r, 8, 8, L, 3, &e);
            if (!check(net != NULL, "create: %s", e.message)) continue;
            fcn_net_layer(net, 1, &got, &in, &out);
            check(out.h == 2 && out.w == 2, "%s 2x2 stride 3 ceil on a %dx%d input gives %dx%d, expected 2x2 (a third "
                  "window would start at 6, outside the input)", fcn_layer_name(L[1].type), in.h, in.w, out.h, out.w);
            {
                float img[100], v[2];
                fcn_options o;
                int t;
                for (t = 0; t < 100; t++) img[t] = runif(&r);
                memset(&o, 0, sizeof o);
                o.path = FCN_PATH_SLIDING;
                o.rect_w = o.rect_h = 1;
                if (check(fcn_map(net, img, 10, 10, &o, v, &e) == FCN_OK, "sliding: %s", e.message))
                    check(v[0] == v[0] && v[1] == v[1], "%s: sliding output is NaN", fcn_layer_name(L[1].type));
                { /* no window is clipped now: the dense path runs it, with the same bits */
                    float *a = NULL, *b = NULL;
                    int oh = 0, ow = 0;
                    memset(&o, 0, sizeof o);
                    o.path = FCN_PATH_DENSE;
                    if (check(map_new(net, img, 10, 10, &o, &a, &oh, &ow, &e) == FCN_OK, "dense: %s", e.message)) {
                        o.path = FCN_PATH_SLIDING;
                        if (check(map_new(net, img, 10, 10, &o, &b, &oh, &ow, &e) == FCN_OK, "sliding: %s", e.message))
                            same_map(a, b, oh, ow, 2, "dense", "sliding", fcn_layer_name(L[1].type));
                    }
                    free(a);
                    free(b);
                }
            }
            fcn_net_free(net);
        }
    }
    end();
}

/* ------------------------------------------------------------------ bad arguments */

static void expect_err(const char *what, fcn_status got, fcn_status want, const fcn_error *e)
{
    check(got == want, "%s: status %d (%s), expected %d (%s)", what, (int)got, fcn_status_string(got), (int)want,
          fcn_status_string(want));
    check(e->message[0] != '\0', "%s: empty message", what);
    check(e->status == got, "%s: err.status %d != returned %d", what, (int)e->status, (int)got);
}

static void test_bad_args(void)
{
    rng r = {4242};
    fcn_layer L[3];
    fcn_net *net, *tmp = (fcn_net *)1;
    fcn_error e;
    fcn_options o;
    float img[40 * 40], out[40 * 40 * 2];
    int oh, ow, i;
    L[0] = mk(FCN_LAYER_CONV), L[0].maps = 2, L[0].kh = L[0].kw = 3;
    L[1] = mk(FCN_LAYER_MAXPOOL), L[1].kh = L[1].kw = 2;
    L[2] = mk(FCN_LAYER_FC), L[2].maps = 2;
    net = make_net(&r, 8, 6, L, 3, &e);
    for (i = 0; i < 40 * 40; i++) img[i] = runif(&r);
    begin("bad arguments: fcn_map and fcn_map_size");
    if (!check(net != NULL, "create: %s", e.message)) {
        end();
        return;
    }
    memset(&o, 0, sizeof o);
#define RESET() (memset(&e, 0, sizeof e), memset(&o, 0, sizeof o))
    RESET();
    expect_err("fcn_map net NULL", fcn_map(NULL, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    expect_err("fcn_map image NULL", fcn_map(net, NULL, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    expect_err("fcn_map out NULL", fcn_map(net, img, 10, 10, &o, NULL, &e), FCN_ERR_ARG, &e);
    RESET();
    check(fcn_map(NULL, img, 10, 10, &o, out, NULL) == FCN_ERR_ARG, "fcn_map with err NULL");
    RESET();
    expect_err("fcn_map_size net NULL", fcn_map_size(NULL, 10, 10, &o, &oh, &ow, &e), FCN_ERR_ARG, &e);
    RESET();
    expect_err("image height 0", fcn_map(net, img, 0, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    expect_err("image width -3", fcn_map(net, img, 10, -3, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    expect_err("image height above the limit", fcn_map_size(net, (1 << 20) + 1, 10, &o, &oh, &ow, &e), FCN_ERR_ARG, &e);
    RESET();
    expect_err("image width INT_MAX", fcn_map_size(net, 10, INT_MAX, &o, &oh, &ow, &e), FCN_ERR_ARG, &e);
    RESET();
    o.border = FCN_BORDER_VALID;
    expect_err("image smaller than the patch, border valid", fcn_map(net, img, 7, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.border = FCN_BORDER_VALID;
    expect_err("image narrower than the patch, border valid", fcn_map_size(net, 10, 5, &o, &oh, &ow, &e), FCN_ERR_ARG, &e);
    RESET();
    o.border = FCN_BORDER_VALID;
    check(fcn_map_size(net, 8, 6, &o, &oh, &ow, &e) == FCN_OK && oh == 1 && ow == 1, "image = patch, valid: not 1x1");
    RESET();
    o.rect_x = -1, o.rect_w = o.rect_h = 1;
    expect_err("rect x -1", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.rect_x = 9, o.rect_w = 2, o.rect_h = 1;
    expect_err("rect past the right edge", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.rect_y = 10, o.rect_w = 1, o.rect_h = 1;
    expect_err("rect below the map", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.rect_w = 0, o.rect_h = 3;
    expect_err("rect width 0, height 3", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.rect_w = -2, o.rect_h = -2;
    expect_err("rect of negative size", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.stride = 2, o.rect_w = 6, o.rect_h = 1; /* map is 5 wide at stride 2 */
    expect_err("rect inside the stride-1 map, outside the stride-2 map", fcn_map(net, img, 10, 10, &o, out, &e),
               FCN_ERR_ARG, &e);
    RESET();
    o.rect_x = INT_MAX, o.rect_w = INT_MAX, o.rect_h = 1;
    expect_err("rect INT_MAX", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.stride = -1;
    expect_err("stride -1", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.stride = INT_MIN;
    expect_err("stride INT_MIN", fcn_map_size(net, 10, 10, &o, &oh, &ow, &e), FCN_ERR_ARG, &e);
    RESET();
    o.stride = 5000;
    expect_err("stride above the limit", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.threads = -1;
    expect_err("threads -1", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.border = FCN_BORDER_COUNT;
    expect_err("border enum past the end", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.border = (fcn_border)-1;
    expect_err("border enum -1", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.path = FCN_PATH_COUNT;
    expect_err("path enum past the end", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.path = (fcn_path)-7;
    expect_err("path enum -7", fcn_map_size(net, 10, 10, &o, &oh, &ow, &e), FCN_ERR_ARG, &e);
    RESET();
    o.kernel = FCN_KERNEL_COUNT;
    expect_err("kernel enum past the end", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    RESET();
    o.kernel = (fcn_kernel)-1;
    o.path = FCN_PATH_SLIDING;
    expect_err("kernel enum -1 (sliding path)", fcn_map(net, img, 10, 10, &o, out, &e), FCN_ERR_ARG, &e);
    check(fcn_simd_name() && fcn_simd_name()[0], "fcn_simd_name empty");
    RESET();
    expect_err("fcn_map_flops net NULL", fcn_map_flops(NULL, 10, 10, &o, NULL, NULL, NULL, NULL, &e), FCN_ERR_ARG, &e);
    /* stride 0 means 1; threads 0 means all CPUs; opt NULL means defaults */
    {
        float a[10 * 10 * 2], b[10 * 10 * 2];
        RESET();
        o.stride = 1;
        o.threads = 1;
        check(fcn_map(net, img, 10, 10, &o, a, &e) == FCN_OK, "stride 1: %s", e.message);
        o.stride = 0;
        o.threads = 0;
        check(fcn_map(net, img, 10, 10, &o, b, &e) == FCN_OK, "stride 0: %s", e.message);
        same_map(a, b, 10, 10, 2, "stride 1", "stride 0 (means 1), threads 0", "defaults");
        check(fcn_map(net, img, 10, 10, NULL, b, &e) == FCN_OK, "opt NULL: %s", e.message);
        same_map(a, b, 10, 10, 2, "stride 1", "options NULL", "defaults");
    }
    end();

    begin("bad arguments: fcn_net_create, set_transform, accessors");
    {
        fcn_layer B[2];
        fcn_status st;
        fcn_layer big[1030];
        RESET();
        expect_err("create out NULL", fcn_net_create(8, 6, 1, L, 3, NULL, &e), FCN_ERR_ARG, &e);
        RESET();
        st = fcn_net_create(8, 6, 1, NULL, 3, &tmp, &e);
        expect_err("create layers NULL", st, FCN_ERR_ARG, &e);
        check(tmp == NULL, "create failed but *out is not NULL");
#define CREATE_BAD(what, h, w, c, layers, n)                                                                       \
    do {                                                                                                           \
        RESET();                                                                                                   \
        tmp = (fcn_net *)1;                                                                                        \
        st = fcn_net_create(h, w, c, layers, n, &tmp, &e);                                                         \
        check(st == FCN_ERR_FORMAT || st == FCN_ERR_ARG || st == FCN_ERR_OVERFLOW, "%s: status %d (%s)", what,     \
              (int)st, fcn_status_string(st));                                                                     \
        check(e.message[0] != '\0', "%s: empty message", what);                                                    \
        check(tmp == NULL, "%s: *out not NULL after failure", what);                                               \
    } while (0)
        CREATE_BAD("patch height 0", 0, 6, 1, L, 3);
        CREATE_BAD("patch width above the limit", 8, 16385, 1, L, 3);
        CREATE_BAD("channels 0", 8, 6, 0, L, 3);
        CREATE_BAD("channels above the limit", 8, 6, 65537, L, 3);
        CREATE_BAD("0 layers", 8, 6, 1, L, 0);
        CREATE_BAD("-1 layers", 8, 6, 1, L, -1);
        memset(big, 0, sizeof big);
        for (i = 0; i < 1030; i++) big[i].type = FCN_LAYER_RELU;
        big[0].type = FCN_LAYER_FC, big[0].maps = 1;
        CREATE_BAD("1030 layers", 8, 6, 1, big, 1030);
        B[0] = L[0], B[0].maps = 0, B[1] = L[2];
        CREATE_BAD("conv maps 0", 8, 6, 1, B, 2);
        B[0] = L[0], B[0].maps = 65537;
        CREATE_BAD("conv maps above the limit", 8, 6, 1, B, 2);
        B[0] = L[0], B[0].kh = 0;
        CREATE_BAD("kernel height 0", 8, 6, 1, B, 2);
        B[0] = L[0], B[0].kw = 7;
        CREATE_BAD("kernel wider than its input", 8, 6, 1, B, 2);
        B[0] = L[0], B[0].stride = -2;
        CREATE_BAD("conv stride -2", 8, 6, 1, B, 2);
        B[0] = L[0], B[0].stride = 4097;
        CREATE_BAD("conv stride above the limit", 8, 6, 1, B, 2);
        B[0] = L[0], B[0].pad = -1;
        CREATE_BAD("conv pad -1", 8, 6, 1, B, 2);
        B[0] = L[1], B[0].pad = 2;
        CREATE_BAD("pool pad not smaller than its kernel", 8, 6, 1, B, 2);
        B[0] = mk(FCN_LAYER_RELU), B[0].slope = bitsf(0x7FC00000u);
        CREATE_BAD("relu slope NaN", 8, 6, 1, B, 2);
        B[0] = mk(FCN_LAYER_RELU), B[0].slope = bitsf(0x7F800000u);
        CREATE_BAD("relu slope inf", 8, 6, 1, B, 2);
        B[0] = mk((fcn_layer_type)99);
        CREATE_BAD("layer type 99", 8, 6, 1, B, 2);
        B[0] = mk((fcn_layer_type)0);
        CREATE_BAD("layer type 0", 8, 6, 1, B, 2);
        B[0] = mk(FCN_LAYER_SOFTMAX);
        CREATE_BAD("softmax not last", 8, 6, 1, B, 2);
        B[0] = L[0];
        CREATE_BAD("output not 1x1", 8, 6, 1, B, 1);
        B[0] = L[2], B[0].maps = 0;
        CREATE_BAD("fc 0 outputs", 8, 6, 1, B, 1);
        B[0] = L[2], B[0].maps = 1 << 16;
        B[1] = L[2], B[1].maps = 1 << 16;
        { /* 16384 x 16384 x 65536 inputs to an fc of 65536: 2^60 weights, 2^62 bytes */
            RESET();
            tmp = (fcn_net *)1;
            st = fcn_net_create(16384, 16384, 65536, B, 1, &tmp, &e);
            check(st == FCN_ERR_OVERFLOW || st == FCN_ERR_NOMEM, "2^60 weights: status %d (%s)", (int)st,
                  fcn_status_string(st));
            check(tmp == NULL && e.message[0], "2^60 weights: no message or *out set");
        }
        RESET();
        expect_err("set_transform net NULL", fcn_net_set_transform(NULL, 1.0f, NULL, &e), FCN_ERR_ARG, &e);
        RESET();
        expect_err("set_transform scale NaN", fcn_net_set_transform(net, bitsf(0x7FC00000u), NULL, &e), FCN_ERR_ARG, &e);
        RESET();
        expect_err("set_transform scale -inf", fcn_net_set_transform(net, bitsf(0xFF800000u), NULL, &e), FCN_ERR_ARG, &e);
        check(fcn_net_scale(net) == 1.0f, "a refused set_transform changed the scale");
        check(fcn_net_layer(net, 3, NULL, NULL, NULL) == FCN_ERR_ARG && fcn_net_layer(net, -1, NULL, NULL, NULL) == FCN_ERR_ARG &&
                  fcn_net_layer(NULL, 0, NULL, NULL, NULL) == FCN_ERR_ARG,
              "fcn_net_layer accepts a bad index");
        {
            size_t c = 99;
            check(fcn_net_weights(net, 1, &c) == NULL && c == 0, "weights of a pool layer");
            check(fcn_net_weights(net, 3, &c) == NULL && fcn_net_bias(net, -1, &c) == NULL && fcn_net_weights(NULL, 0, &c) == NULL,
                  "weights of a bad index");
            check(fcn_net_weights(net, 0, &c) != NULL && c == 2 * 9, "conv weights count %lu", (unsigned long)c);
            check(fcn_net_bias(net, 2, &c) != NULL && c == 2, "fc bias count %lu", (unsigned long)c);
            check(fcn_net_weights(net, 2, &c) != NULL && c == 2 * 2 * 3 * 2, "fc weights count %lu", (unsigned long)c);
        }
        check(strcmp(fcn_layer_name((fcn_layer_type)99), "?") == 0 && strcmp(fcn_layer_name(FCN_LAYER_AVGPOOL), "avgpool") == 0,
              "fcn_layer_name");
        for (i = -1; i <= FCN_STATUS_COUNT; i++)
            check(fcn_status_string((fcn_status)-i)[0] != '\0', "fcn_status_string(%d) empty", -i);
        RESET();
        expect_err("dense_check NULL", fcn_net_dense_check(NULL, &e), FCN_ERR_ARG, &e);
        fcn_net_free(NULL);
    }
    end();

    begin("bad arguments: the accessors of a NULL net give a zero shape, 0 or NULL");
    {
        fcn_shape s0 = fcn_net_input(NULL);
        check(s0.c == 0 && s0.h == 0 && s0.w == 0, "fcn_net_input(NULL) is %dx%dx%d", s0.h, s0.w, s0.c);
        check(fcn_net_outputs(NULL) == 0 && fcn_net_layer_count(NULL) == 0, "fcn_net_outputs or fcn_net_layer_count");
        check(fcn_net_scale(NULL) == 0.0f && fcn_net_mean(NULL) == NULL, "fcn_net_scale or fcn_net_mean");
    }
    end();

    begin("bad arguments: load and save");
    {
        char path[600];
        RESET();
        tmp = (fcn_net *)1;
        expect_err("load path NULL", fcn_net_load(NULL, &tmp, &e), FCN_ERR_ARG, &e);
        RESET();
        expect_err("load out NULL", fcn_net_load("x.fcn", NULL, &e), FCN_ERR_ARG, &e);
        RESET();
        expect_err("load_memory data NULL", fcn_net_load_memory(NULL, 100, "mem.fcn", &tmp, &e), FCN_ERR_ARG, &e);
        check(tmp == NULL, "load_memory failed but *out is not NULL");
        RESET();
        expect_err("load_memory out NULL", fcn_net_load_memory("fcn-model 1\n", 12, "mem.fcn", NULL, &e), FCN_ERR_ARG, &e);
        RESET();
        expect_err("load_memory NULL, 0 bytes", fcn_net_load_memory(NULL, 0, "mem.fcn", &tmp, &e), FCN_ERR_FORMAT, &e);
        RESET();
        expect_err("save net NULL", fcn_net_save(NULL, "x.fcn", &e), FCN_ERR_ARG, &e);
        RESET();
        expect_err("save path NULL", fcn_net_save(net, NULL, &e), FCN_ERR_ARG, &e);
        RESET();
        snprintf(path, sizeof path, "%s/no-such-dir-%ld/x.fcn", tmpdir_, (long)getpid());
        expect_err("save into a missing directory", fcn_net_save(net, path, &e), FCN_ERR_IO, &e);
        check(contains(e.message, path), "save error '%s' does not name the file", e.message);
        RESET();
        tmp = (fcn_net *)1;
        expect_err("load a missing file", fcn_net_load(path, &tmp, &e), FCN_ERR_IO, &e);
        check(contains(e.message, path), "load error '%s' does not name the file", e.message);
        check(tmp == NULL, "load failed but *out is not NULL");
        RESET();
        tmp = (fcn_net *)1;
        {
            fcn_status st = fcn_net_load(tmpdir_, &tmp, &e);
            check(st == FCN_ERR_IO || st == FCN_ERR_FORMAT, "load a directory: status %d (%s)", (int)st, fcn_status_string(st));
            check(contains(e.message, tmpdir_), "load a directory: message '%s' does not name it", e.message);
            check(tmp == NULL, "load of a directory set *out");
        }
    }
    end();
#undef RESET
#undef CREATE_BAD
    fcn_net_free(net);
}

/* ------------------------------------------------------------------ progress, cancel */

typedef struct prog_state {
    long calls, last_done, last_total, stop_at;
    int bad;
} prog_state;

static int prog_cb(void *user, long done, long total)
{
    prog_state *p = (prog_state *)user;
    p->calls++;
    if (done < p->last_done || done > total || total <= 0) p->bad = 1;
    p->last_done = done;
    p->last_total = total;
    return p->stop_at && p->calls >= p->stop_at;
}

static void test_progress(void)
{
    rng r = {99};
    fcn_layer L[4];
    fcn_net *net;
    fcn_error e;
    int p;
    float img[30 * 30], out[30 * 30 * 3];
    L[0] = mk(FCN_LAYER_CONV), L[0].maps = 3, L[0].kh = L[0].kw = 3;
    L[1] = mk(FCN_LAYER_RELU);
    L[2] = mk(FCN_LAYER_FC), L[2].maps = 3;
    L[3] = mk(FCN_LAYER_SOFTMAX);
    net = make_net(&r, 5, 5, L, 4, &e);
    for (p = 0; p < 30 * 30; p++) img[p] = runif(&r);
    begin("progress callback reaches its total; returning non-zero cancels (both paths)");
    if (check(net != NULL, "create: %s", e.message))
        for (p = 0; p < 2; p++) {
            fcn_options o;
            prog_state ps;
            fcn_status st;
            memset(&o, 0, sizeof o);
            memset(&ps, 0, sizeof ps);
            o.path = (fcn_path)p;
            o.threads = 3;
            o.progress = prog_cb;
            o.progress_user = &ps;
            st = fcn_map(net, img, 30, 30, &o, out, &e);
            check(st == FCN_OK, "%s: %s", p ? "sliding" : "dense", e.message);
            check(!ps.bad && ps.calls > 0 && ps.last_done == ps.last_total, "%s: progress %ld/%ld after %ld calls%s",
                  p ? "sliding" : "dense", ps.last_done, ps.last_total, ps.calls, ps.bad ? " (went backwards or past the total)" : "");
            memset(&ps, 0, sizeof ps);
            ps.stop_at = 2;
            st = fcn_map(net, img, 30, 30, &o, out, &e);
            check(st == FCN_ERR_CANCELLED && e.message[0], "%s: cancel gives status %d", p ? "sliding" : "dense", (int)st);
        }
    fcn_net_free(net);
    end();
}

/* ------------------------------------------------------------------ model files */

/* zlib's CRC-32, bit by bit (independent of the library's table) */
static uint32_t crc32_bits(uint32_t crc, const unsigned char *p, size_t n)
{
    size_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* A model file: header text + "weights" line with the right count and CRC + nw floats
   (0.25 each unless nw < 0: then 'extra' bytes follow, or are cut). */
typedef struct buf {
    unsigned char *p;
    size_t n;
} buf;

static buf model_bytes(const char *header, size_t nw)
{
    buf b;
    size_t hl = strlen(header), i;
    char wl[80];
    unsigned char *wb = (unsigned char *)xmalloc(nw * 4);
    uint32_t crc;
    for (i = 0; i < nw; i++) {
        float f = 0.25f;
        uint32_t u = fbits(f);
        wb[4 * i] = (unsigned char)u, wb[4 * i + 1] = (unsigned char)(u >> 8), wb[4 * i + 2] = (unsigned char)(u >> 16),
                 wb[4 * i + 3] = (unsigned char)(u >> 24);
    }
    crc = crc32_bits(crc32_bits(0, (const unsigned char *)header, hl), wb, nw * 4);
    snprintf(wl, sizeof wl, "weights %lu crc32 %08lx\n", (unsigned long)(nw * 4), (unsigned long)crc);
    b.n = hl + strlen(wl) + nw * 4;
    b.p = (unsigned char *)xmalloc(b.n);
    memcpy(b.p, header, hl);
    memcpy(b.p + hl, wl, strlen(wl));
    memcpy(b.p + hl + strlen(wl), wb, nw * 4);
    free(wb);
    return b;
}

/* Loads bytes that must be refused: status in {want, want2}, a message that names
   'name' and contains each of the '|'-separated strings in 'subs', *out NULL. */
static void expect_bad_model(const char *what, const void *data, size_t n, fcn_status want, fcn_status want2,
                             const char *subs)
{
    static int seq = 0;
    char name[128];
    fcn_net *net = (fcn_net *)1;
    fcn_error e;
    fcn_status st;
    snprintf(name, sizeof name, "bad-model-%d.fcn", ++seq); /* not 'what': it must not help the checks */
    memset(&e, 0, sizeof e);
    st = fcn_net_load_memory(data, n, name, &net, &e);
    check(st == want || st == want2, "%s: status %d (%s), expected %s; message '%s'", what, (int)st, fcn_status_string(st),
          fcn_status_string(want), e.message);
    check(net == NULL, "%s: *out not NULL after failure", what);
    if (st == FCN_OK) fcn_net_free(net);
    check(e.status == st, "%s: err.status %d", what, (int)e.status);
    check(contains(e.message, name), "%s: message '%s' does not name the file '%s'", what, e.message, name);
    if (subs) {
        char tmp[256], *t, *save;
        snprintf(tmp, sizeof tmp, "%s", subs);
        for (t = tmp; (save = strchr(t, '|')) || *t; t = save + 1) {
            if (save) *save = '\0';
            check(contains(e.message, t), "%s: message '%s' does not contain '%s'", what, e.message, t);
            if (!save) break;
        }
    }
}

static void bad_header(const char *what, const char *header, size_t nw, fcn_status want, const char *subs)
{
    buf b = model_bytes(header, nw);
    begin("malformed model: %s", what);
    expect_bad_model(what, b.p, b.n, want, want, subs);
    end();
    free(b.p);
}

static void test_malformed(int quick)
{
    const char *H = "fcn-model 1\ninput 5 5 1\n"; /* + "fc 2\n": 25*2 + 2 = 52 weights */
    char hdr[4096];
    buf b;
    (void)quick;
    begin("model with the mean on three lines loads");
    {
        fcn_net *net = NULL;
        fcn_error e;
        b = model_bytes("fcn-model 1\ninput 5 5 3\nmean 1\nmean 2.5\nscale 2\nmean -3\nfc 2\n", 152);
        if (check(fcn_net_load_memory(b.p, b.n, "mean3.fcn", &net, &e) == FCN_OK, "%s", e.message))
            check(fcn_net_mean(net)[0] == 1.0f && fcn_net_mean(net)[1] == 2.5f && fcn_net_mean(net)[2] == -3.0f &&
                      fcn_net_scale(net) == 2.0f, "mean or scale wrong");
        fcn_net_free(net);
        free(b.p);
    }
    end();
    /* a valid base first, so the cases below fail for their own reason */
    begin("malformed model: the base model used below loads");
    {
        fcn_net *net = NULL;
        fcn_error e;
        snprintf(hdr, sizeof hdr, "%sconv 2 3 3\nrelu\nfc 2\n", H);
        b = model_bytes(hdr, 2 * 9 + 2 + 2 * 18 + 2);
        check(fcn_net_load_memory(b.p, b.n, "base.fcn", &net, &e) == FCN_OK, "%s", e.message);
        fcn_net_free(net);
        free(b.p);
    }
    end();
    bad_header("bad magic", "fcm-model 1\ninput 5 5 1\nfc 2\n", 52, FCN_ERR_FORMAT, "fcn-model");
    bad_header("magic without version", "fcn-model\ninput 5 5 1\nfc 2\n", 52, FCN_ERR_FORMAT, NULL);
    bad_header("wrong version", "fcn-model 2\ninput 5 5 1\nfc 2\n", 52, FCN_ERR_FORMAT, "version 2");
    bad_header("version not a number", "fcn-model one\ninput 5 5 1\nfc 2\n", 52, FCN_ERR_FORMAT, "line 1");
    bad_header("unknown layer", "fcn-model 1\ninput 5 5 1\nconv2d 2 3 3\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3|conv2d");
    bad_header("unknown option", "fcn-model 1\ninput 5 5 1\nconv 2 3 3 strides 2\nfc 2\n", 40, FCN_ERR_FORMAT,
               "line 3|strides");
    bad_header("option without value", "fcn-model 1\ninput 5 5 1\nconv 2 3 3 stride\nfc 2\n", 40, FCN_ERR_FORMAT,
               "line 3|stride");
    bad_header("ceil on a conv", "fcn-model 1\ninput 5 5 1\nconv 2 3 3 ceil\nfc 2\n", 40, FCN_ERR_FORMAT, "line 3|ceil");
    bad_header("pad on an fc", "fcn-model 1\ninput 5 5 1\nfc 2 pad 1\n", 52, FCN_ERR_FORMAT, "line 3|pad");
    bad_header("option on tanh", "fcn-model 1\ninput 5 5 1\nfc 2\ntanh slope 2\n", 52, FCN_ERR_FORMAT, "line 4|slope");
    bad_header("missing input line", "fcn-model 1\nconv 2 3 3\nfc 2\n", 40, FCN_ERR_FORMAT, "line 2|input");
    bad_header("no input line, weights only", "fcn-model 1\n", 0, FCN_ERR_FORMAT, "line 2|input");
    bad_header("input twice", "fcn-model 1\ninput 5 5 1\ninput 5 5 1\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3");
    bad_header("input after a layer", "fcn-model 1\ninput 5 5 1\nfc 2\ninput 1 1 2\n", 52, FCN_ERR_FORMAT, "line 4");
    bad_header("input with 2 fields", "fcn-model 1\ninput 5 5\nfc 2\n", 52, FCN_ERR_FORMAT, "line 2|channels");
    bad_header("input with 4 fields", "fcn-model 1\ninput 5 5 1 1\nfc 2\n", 52, FCN_ERR_FORMAT, "line 2");
    bad_header("non-numeric input width", "fcn-model 1\ninput 5 five 1\nfc 2\n", 52, FCN_ERR_FORMAT, "line 2|width");
    bad_header("non-numeric maps", "fcn-model 1\ninput 5 5 1\nconv two 3 3\nfc 2\n", 40, FCN_ERR_FORMAT, "line 3|maps");
    bad_header("number with a suffix", "fcn-model 1\ninput 5 5 1\nconv 2 3x 3\nfc 2\n", 40, FCN_ERR_FORMAT, "line 3|kh");
    bad_header("hex number", "fcn-model 1\ninput 5 5 1\nfc 0x2\n", 52, FCN_ERR_FORMAT, "line 3|outputs");
    bad_header("non-numeric stride", "fcn-model 1\ninput 5 5 1\nconv 2 3 3 stride two\nfc 2\n", 40, FCN_ERR_FORMAT,
               "line 3|stride");
    bad_header("non-numeric scale", "fcn-model 1\ninput 5 5 1\nscale abc\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3|scale");
    bad_header("scale NaN", "fcn-model 1\ninput 5 5 1\nscale nan\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3");
    bad_header("scale inf", "fcn-model 1\ninput 5 5 1\nscale inf\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3");
    bad_header("scale 1e999", "fcn-model 1\ninput 5 5 1\nscale 1e999\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3");
    bad_header("scale 1e39 (beyond float)", "fcn-model 1\ninput 5 5 1\nscale 1e39\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3");
    bad_header("scale after a layer", "fcn-model 1\ninput 5 5 1\nfc 2\nscale 2\n", 52, FCN_ERR_FORMAT, "line 4");
    bad_header("mean with too few values", "fcn-model 1\ninput 5 5 3\nmean 1 2\nfc 2\n", 152, FCN_ERR_FORMAT,
               "line 4|mean");
    bad_header("mean lines with too many values", "fcn-model 1\ninput 5 5 3\nmean 1 2\nmean 3 4\nfc 2\n", 152,
               FCN_ERR_FORMAT, "line 4|mean");
    bad_header("mean without values", "fcn-model 1\ninput 5 5 1\nmean\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3|mean");
    bad_header("mean with too many values", "fcn-model 1\ninput 5 5 1\nmean 1 2\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3");
    bad_header("mean non-numeric", "fcn-model 1\ninput 5 5 1\nmean x\nfc 2\n", 52, FCN_ERR_FORMAT, "line 3|mean");
    bad_header("relu slope non-numeric", "fcn-model 1\ninput 5 5 1\nfc 2\nrelu slope -x\n", 52, FCN_ERR_FORMAT,
               "line 4|slope");
    bad_header("conv maps 0", "fcn-model 1\ninput 5 5 1\nconv 0 3 3\nfc 2\n", 2, FCN_ERR_FORMAT, "line 3|maps");
    bad_header("conv kernel -3", "fcn-model 1\ninput 5 5 1\nconv 2 -3 3\nfc 2\n", 40, FCN_ERR_FORMAT, "line 3|kh");
    bad_header("input height 0", "fcn-model 1\ninput 0 5 1\nfc 2\n", 2, FCN_ERR_FORMAT, "line 2|height");
    bad_header("input channels -1", "fcn-model 1\ninput 5 5 -1\nfc 2\n", 2, FCN_ERR_FORMAT, "line 2|channels");
    bad_header("fc 0", "fcn-model 1\ninput 5 5 1\nfc 0\n", 0, FCN_ERR_FORMAT, "line 3|outputs");
    bad_header("pool stride 0", "fcn-model 1\ninput 4 4 1\nmaxpool 2 2 stride 0\nfc 2\n", 10, FCN_ERR_FORMAT,
               "line 3|stride");
    bad_header("pool stride -2", "fcn-model 1\ninput 4 4 1\nmaxpool 2 2 stride -2\nfc 2\n", 10, FCN_ERR_FORMAT,
               "line 3|stride");
    bad_header("conv pad -1", "fcn-model 1\ninput 5 5 1\nconv 2 3 3 pad -1\nfc 2\n", 40, FCN_ERR_FORMAT, "line 3|pad");
    bad_header("input height 2^31 (int overflow)", "fcn-model 1\ninput 2147483648 5 1\nfc 2\n", 2, FCN_ERR_FORMAT,
               "line 2|height");
    bad_header("input height 99999999999999999999", "fcn-model 1\ninput 99999999999999999999 5 1\nfc 2\n", 2,
               FCN_ERR_FORMAT, "line 2");
    bad_header("input above the limits", "fcn-model 1\ninput 16385 5 1\nfc 2\n", 2, FCN_ERR_FORMAT, "line 2");
    bad_header("conv maps above the limit", "fcn-model 1\ninput 5 5 1\nconv 65537 1 1\nfc 2\n", 2, FCN_ERR_FORMAT,
               "line 3|maps");
    bad_header("stride above the limit", "fcn-model 1\ninput 5 5 1\nconv 2 1 1 stride 5000\nfc 2\n", 2, FCN_ERR_FORMAT,
               "line 3|stride");
    {
        /* absurd but in-range sizes: 16384x16384x65536 into fc 65536 is 2^60 weights
           (2^62 bytes); 16384x16384 into fc 16 is 2^32 weights (16 GiB). The file has
           none: refused without trying to allocate them. */
        static const char *const absurd[][2] = {
            {"absurd sizes: 2^60 weights", "fcn-model 1\ninput 16384 16384 65536\nfc 65536\n"},
            {"absurd sizes: 2^32 weights", "fcn-model 1\ninput 16384 16384 1\nfc 16\n"},
            {"absurd sizes: conv 65536 maps of 16384x16384x65536", "fcn-model 1\ninput 16384 16384 65536\nconv 65536 16384 16384\n"},
            {"absurd sizes: 2^59 weights in 2 layers",
             "fcn-model 1\ninput 16384 16384 65536\nconv 65536 8192 8192\nconv 65536 8193 8193\n"}};
        int i;
        for (i = 0; i < 4; i++) {
            double t0 = now();
            b = model_bytes(absurd[i][1], 2);
            begin("malformed model: %s", absurd[i][0]);
            expect_bad_model("absurd", b.p, b.n, FCN_ERR_FORMAT, FCN_ERR_OVERFLOW, NULL);
            check(now() - t0 < 2.0, "took %.1f s", now() - t0);
            end();
            free(b.p);
        }
    }
    bad_header("kernel larger than its input", "fcn-model 1\ninput 5 5 1\nconv 2 3 3\nconv 2 4 4\nfc 2\n", 100,
               FCN_ERR_FORMAT, "line 4|layer 2|does not fit");
    bad_header("pool larger than its input", "fcn-model 1\ninput 5 5 1\nconv 2 3 3\nmaxpool 4 4\nfc 2\n", 30,
               FCN_ERR_FORMAT, "line 4|layer 2");
    bad_header("pool pad not smaller than its kernel", "fcn-model 1\ninput 5 5 1\nmaxpool 2 2 pad 2\nfc 2\n", 30,
               FCN_ERR_FORMAT, "line 3|pad");
    bad_header("not ending at 1x1", "fcn-model 1\ninput 5 5 1\nconv 2 3 3\nrelu\n", 20, FCN_ERR_FORMAT, "1x1");
    bad_header("softmax not last", "fcn-model 1\ninput 5 5 1\nfc 4\nsoftmax\nfc 2\n", 25 * 4 + 4 + 4 * 2 + 2,
               FCN_ERR_FORMAT, "line 4|softmax");
    bad_header("too few weights", "fcn-model 1\ninput 5 5 1\nfc 2\n", 51, FCN_ERR_FORMAT, "208|204");
    bad_header("too many weights", "fcn-model 1\ninput 5 5 1\nfc 2\n", 53, FCN_ERR_FORMAT, NULL);
    bad_header("no layers", "fcn-model 1\ninput 1 1 1\n", 0, FCN_ERR_FORMAT, NULL);
    {
        /* headers without a weights line, a line over 1024 characters, 10000 layers, too
           many tokens on a line */
        static const char *const nw[] = {"fcn-model 1\ninput 5 5 1\nfc 2\n", "fcn-model 1\ninput 5 5 1\nfc 2",
                                         "fcn-model 1\ninput 5 5 1\nfc 2\nweights 208"};
        char *big = (char *)xmalloc(200000);
        size_t len;
        int i;
        begin("malformed model: header without a weights line");
        for (i = 0; i < 3; i++) expect_bad_model("no-weights", nw[i], strlen(nw[i]), FCN_ERR_FORMAT, FCN_ERR_FORMAT, NULL);
        end();
        strcpy(big, "fcn-model 1\ninput 5 5 1\n# ");
        len = strlen(big);
        memset(big + len, 'a', 1100);
        strcpy(big + len + 1100, "\nfc 2\n");
        bad_header("a comment line of 1102 characters", big, 52, FCN_ERR_FORMAT, "line 3|too long");
        strcpy(big, "fcn-model 1\ninput 5 5 1\nfc 2");
        len = strlen(big);
        memset(big + len, ' ', 1100);
        strcpy(big + len + 1100, "\n");
        bad_header("a layer line of 1104 characters (trailing blanks)", big, 52, FCN_ERR_FORMAT, "line 3|too long");
        strcpy(big, "fcn-model 1\ninput 5 5 1\nfc 2\n");
        len = strlen(big);
        memset(big + len, 'x', 1023);
        strcpy(big + len + 1023, "\n");
        bad_header("a line of exactly 1023 characters (refused as an unknown layer, not as too long)", big, 52,
                   FCN_ERR_FORMAT, "line 4|unknown layer");
        strcpy(big, "fcn-model 1\ninput 5 5 1\nfc 2\n");
        len = strlen(big);
        for (i = 0; i < 10000; i++) memcpy(big + len + 5 * (size_t)i, "relu\n", 6);
        bad_header("10000 layers", big, 52, FCN_ERR_FORMAT, "too many layers");
        strcpy(big, "fcn-model 1\ninput 5 5 1\nfc 2\n");
        for (i = 0; i < 1022; i++) strcat(big, "dropout\n");
        strcat(big, "dropout\n"); /* 1024 layers: the limit */
        b = model_bytes(big, 52);
        begin("model with 1024 layers (the limit) loads");
        {
            fcn_net *net = NULL;
            fcn_error e;
            check(fcn_net_load_memory(b.p, b.n, "limit.fcn", &net, &e) == FCN_OK, "%s", e.message);
            check(net && fcn_net_layer_count(net) == 1024, "layer count");
            fcn_net_free(net);
        }
        end();
        free(b.p);
        strcpy(big, "fcn-model 1\ninput 5 5 1\nfc 2\n");
        for (i = 0; i < 1024; i++) strcat(big, "dropout\n");
        bad_header("1025 layers", big, 52, FCN_ERR_FORMAT, "too many layers");
        strcpy(big, "fcn-model 1\ninput 5 5 1\nfc 2\nrelu");
        for (i = 0; i < 70; i++) strcat(big, " slope 1");
        strcat(big, "\n");
        bad_header("a line of 141 tokens", big, 52, FCN_ERR_FORMAT, "line 4");
        free(big);
    }
    {
        const char *h = "fcn-model 1\ninput 5 5 1\nfc 2\n";
        static const char *const wl[] = {"weights 208 crc 12345678\n", "weights 208 crc32 1234567\n",
                                         "weights 208 crc32 123456789\n", "weights -208 crc32 12345678\n",
                                         "weights 208 crc32 1234567g\n", "weights 208 crc32\n",
                                         "weights 99999999999999999999999 crc32 12345678\n",
                                         "weights 208 crc32 12345678 extra\n", "weights 0x10 crc32 12345678\n"};
        int i;
        begin("malformed model: bad weights lines");
        for (i = 0; i < 9; i++) {
            unsigned char data[512];
            size_t n = strlen(h) + strlen(wl[i]);
            memcpy(data, h, strlen(h));
            memcpy(data + strlen(h), wl[i], strlen(wl[i]));
            memset(data + n, 0, 208);
            expect_bad_model("weights-line", data, n + 208, FCN_ERR_FORMAT, FCN_ERR_FORMAT, "line 4");
        }
        end();
    }
    begin("malformed model: empty and tiny files");
    expect_bad_model("empty", "", 0, FCN_ERR_FORMAT, FCN_ERR_FORMAT, NULL);
    expect_bad_model("tiny", "fcn", 3, FCN_ERR_FORMAT, FCN_ERR_FORMAT, NULL);
    expect_bad_model("magic-only", "fcn-model 1\n", 12, FCN_ERR_FORMAT, FCN_ERR_FORMAT, NULL);
    expect_bad_model("binary", "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d", 14, FCN_ERR_FORMAT,
                     FCN_ERR_FORMAT, NULL);
    end();

    /* a small model made by fcn_net_save: every truncation, every byte flipped, trailing
       garbage; then one malformed file through fcn_net_load */
    {
        rng r = {31337};
        fcn_layer L[5];
        fcn_net *net;
        fcn_error e;
        char path[600];
        unsigned char *data, *copy;
        size_t n, i;
        L[0] = mk(FCN_LAYER_CONV), L[0].maps = 2, L[0].kh = 2, L[0].kw = 3, L[0].stride = 2;
        L[1] = mk(FCN_LAYER_RELU), L[1].slope = 0.125f;
        L[2] = mk(FCN_LAYER_AVGPOOL), L[2].kh = L[2].kw = 2, L[2].ceil_mode = 1;
        L[3] = mk(FCN_LAYER_FC), L[3].maps = 2;
        L[4] = mk(FCN_LAYER_SOFTMAX);
        net = make_net(&r, 5, 7, L, 5, &e);
        tmp_path(path, sizeof path, "small.fcn");
        begin("malformed model: every truncation of a small saved model");
        if (!check(net && fcn_net_save(net, path, &e) == FCN_OK, "save: %s", e.message) ||
            !check((data = read_file(path, &n)) != NULL, "cannot read back %s", path)) {
            end();
            fcn_net_free(net);
            return;
        }
        for (i = 0; i < n; i++) {
            char what[64];
            snprintf(what, sizeof what, "cut-at-%lu-of-%lu", (unsigned long)i, (unsigned long)n);
            copy = (unsigned char *)xmalloc(i); /* exact size: ASan sees any read past it */
            memcpy(copy, data, i);
            expect_bad_model(what, i ? copy : NULL, i, FCN_ERR_FORMAT, FCN_ERR_FORMAT, NULL);
            free(copy);
        }
        {
            fcn_net *back = NULL;
            check(fcn_net_load_memory(data, n, "whole.fcn", &back, &e) == FCN_OK, "the whole file: %s", e.message);
            fcn_net_free(back);
        }
        end();
        {
            static const unsigned char pat[] = {0x01, 0x80, 0xFF};
            int k;
            for (k = 0; k < 3; k++) {
                begin("malformed model: every byte of a small saved model flipped (xor 0x%02x, %lu bytes)", pat[k],
                      (unsigned long)n);
                copy = (unsigned char *)xmalloc(n);
                for (i = 0; i < n; i++) {
                    char what[64];
                    memcpy(copy, data, n);
                    copy[i] ^= pat[k];
                    snprintf(what, sizeof what, "flip-%02x-at-%lu", pat[k], (unsigned long)i);
                    expect_bad_model(what, copy, n, FCN_ERR_FORMAT, FCN_ERR_FORMAT, NULL);
                }
                free(copy);
                end();
            }
        }
        begin("malformed model: trailing garbage after the weights");
        {
            static const char *const tails[] = {"x", "\n", "\0", "fcn-model 1\n"};
            int k;
            for (k = 0; k < 4; k++) {
                size_t tl = k == 2 ? 1 : strlen(tails[k]);
                copy = (unsigned char *)xmalloc(n + tl);
                memcpy(copy, data, n);
                memcpy(copy + n, tails[k], tl);
                expect_bad_model("trailing", copy, n + tl, FCN_ERR_FORMAT, FCN_ERR_FORMAT, NULL);
                free(copy);
            }
        }
        end();
        begin("malformed model: fcn_net_load of a corrupt file names the file");
        {
            fcn_net *back = (fcn_net *)1;
            fcn_status st;
            copy = (unsigned char *)xmalloc(n);
            memcpy(copy, data, n);
            copy[n - 3] ^= 0x10; /* a weight byte: the checksum */
            check(write_file(path, copy, n), "cannot write %s", path);
            st = fcn_net_load(path, &back, &e);
            check(st == FCN_ERR_FORMAT, "status %d (%s)", (int)st, fcn_status_string(st));
            check(back == NULL, "*out set");
            check(contains(e.message, path) && contains(e.message, "checksum"), "message '%s' does not name %s and the checksum",
                  e.message, path);
            check(write_file(path, copy, n - 5), "cannot write %s", path);
            st = fcn_net_load(path, &back, &e);
            check(st == FCN_ERR_FORMAT && contains(e.message, path) && contains(e.message, "truncated"),
                  "truncated file: status %d '%s'", (int)st, e.message);
            free(copy);
        }
        end();
        remove(path);
        free(data);
        fcn_net_free(net);
    }
}

/* ------------------------------------------------------------------ save / load */

/* Saves net twice and the reloaded net once: byte-identical files; the reloaded net gives
   the same maps (dense and sliding), shapes and parameters. */
static void round_trip(rng *r, fcn_net *net, const char *what, int maps)
{
    char p1[600], p2[600], p3[600];
    fcn_error e;
    fcn_net *back = NULL;
    unsigned char *d1 = NULL, *d2 = NULL, *d3 = NULL;
    size_t n1 = 0, n2 = 0, n3 = 0;
    tmp_path(p1, sizeof p1, "rt1.fcn");
    tmp_path(p2, sizeof p2, "rt2.fcn");
    tmp_path(p3, sizeof p3, "rt3.fcn");
    if (!check(fcn_net_save(net, p1, &e) == FCN_OK, "%s: save: %s", what, e.message)) return;
    check(fcn_net_save(net, p2, &e) == FCN_OK, "%s: save: %s", what, e.message);
    if (!check(fcn_net_load(p1, &back, &e) == FCN_OK, "%s: load of the saved file: %s", what, e.message)) goto out;
    check(fcn_net_save(back, p3, &e) == FCN_OK, "%s: save: %s", what, e.message);
    d1 = read_file(p1, &n1);
    d2 = read_file(p2, &n2);
    d3 = read_file(p3, &n3);
    check(d1 && d2 && n1 == n2 && memcmp(d1, d2, n1) == 0, "%s: saving twice gives different files", what);
    check(d1 && d3 && n1 == n3 && memcmp(d1, d3, n1) == 0, "%s: the reloaded net saves to a different file", what);
    {
        int i, L = fcn_net_layer_count(net);
        fcn_shape in = fcn_net_input(net);
        fcn_shape in2 = fcn_net_input(back);
        check(L == fcn_net_layer_count(back) && in.c == in2.c && in.h == in2.h && in.w == in2.w,
              "%s: layer count or input shape changed", what);
        check(fbits(fcn_net_scale(net)) == fbits(fcn_net_scale(back)), "%s: scale %a became %a", what,
              (double)fcn_net_scale(net), (double)fcn_net_scale(back));
        for (i = 0; i < in.c; i++)
            check(fbits(fcn_net_mean(net)[i]) == fbits(fcn_net_mean(back)[i]), "%s: mean[%d] %a became %a", what, i,
                  (double)fcn_net_mean(net)[i], (double)fcn_net_mean(back)[i]);
        for (i = 0; i < L && i < fcn_net_layer_count(back); i++) {
            fcn_layer a, b;
            fcn_shape ai, ao, bi, bo;
            memset(&a, 0, sizeof a), memset(&b, 0, sizeof b), memset(&ao, 0, sizeof ao), memset(&bo, 0, sizeof bo);
            size_t na, nb;
            float *wa, *wb;
            fcn_net_layer(net, i, &a, &ai, &ao);
            fcn_net_layer(back, i, &b, &bi, &bo);
            check(a.type == b.type && a.maps == b.maps && a.kh == b.kh && a.kw == b.kw && a.stride == b.stride &&
                      a.pad == b.pad && a.ceil_mode == b.ceil_mode && fbits(a.slope) == fbits(b.slope),
                  "%s: layer %d (%s) changed (slope %a -> %a)", what, i + 1, fcn_layer_name(a.type), (double)a.slope,
                  (double)b.slope);
            check(memcmp(&ao, &bo, sizeof ao) == 0, "%s: layer %d output shape changed", what, i + 1);
            wa = fcn_net_weights(net, i, &na);
            wb = fcn_net_weights(back, i, &nb);
            check(na == nb && (!wa || memcmp(wa, wb, na * 4) == 0), "%s: layer %d weights changed", what, i + 1);
            wa = fcn_net_bias(net, i, &na);
            wb = fcn_net_bias(back, i, &nb);
            check(na == nb && (!wa || memcmp(wa, wb, na * 4) == 0), "%s: layer %d biases changed", what, i + 1);
        }
        if (maps) {
            int h = 9 + rint_(r, 0, 8), w = 9 + rint_(r, 0, 8), p, oh = 0, ow = 0;
            float *img = (float *)xmalloc((size_t)h * (size_t)w * (size_t)in.c * sizeof(float)), *ma = NULL, *mb = NULL;
            for (i = 0; i < h * w * in.c; i++) img[i] = (float)rint_(r, -3, 3) * 0.5f;
            for (p = 0; p < 2; p++) {
                fcn_options o;
                memset(&o, 0, sizeof o);
                o.path = (fcn_path)p;
                o.border = FCN_BORDER_REPLICATE;
                if (p == 0 && fcn_net_dense_check(net, NULL) != FCN_OK) continue;
                if (check(map_new(net, img, h, w, &o, &ma, &oh, &ow, &e) == FCN_OK, "%s: map: %s", what, e.message) &&
                    check(map_new(back, img, h, w, &o, &mb, &oh, &ow, &e) == FCN_OK, "%s: map: %s", what, e.message))
                    same_map(ma, mb, oh, ow, fcn_net_outputs(net), "original", "reloaded", what);
                free(ma);
                free(mb);
                ma = mb = NULL;
            }
            free(img);
        }
    }
out:
    fcn_net_free(back);
    free(d1);
    free(d2);
    free(d3);
    remove(p1);
    remove(p2);
    remove(p3);
}

static void test_round_trip(int quick)
{
    rng r = {2718};
    int i, n = quick ? 6 : 25;
    begin("save/load round trip of %d random nets: identical parameters, files and maps", n);
    for (i = 0; i < n; i++) {
        spec s;
        fcn_net *net;
        char what[32];
        gen_spec(&r, &s, 1, 10);
        net = build(&r, &s);
        snprintf(what, sizeof what, "random net %d", i);
        if (net) round_trip(&r, net, what, 1);
        fcn_net_free(net);
    }
    end();

    /* nets the sliding path alone runs: pad, clipped ceil pools */
    begin("save/load round trip of nets with pad and clipped ceil pools");
    {
        fcn_layer L[5];
        fcn_error e;
        fcn_net *net;
        L[0] = mk(FCN_LAYER_CONV), L[0].maps = 3, L[0].kh = 3, L[0].kw = 2, L[0].pad = 1, L[0].stride = 2;
        L[1] = mk(FCN_LAYER_MAXPOOL), L[1].kh = L[1].kw = 3, L[1].stride = 2, L[1].pad = 1, L[1].ceil_mode = 1;
        L[2] = mk(FCN_LAYER_AVGPOOL), L[2].kh = 2, L[2].kw = 2, L[2].pad = 1, L[2].ceil_mode = 1;
        L[3] = mk(FCN_LAYER_FC), L[3].maps = 4;
        L[4] = mk(FCN_LAYER_SIGMOID);
        net = make_net(&r, 11, 9, L, 5, &e);
        if (check(net != NULL, "create: %s", e.message)) round_trip(&r, net, "pad net", 1);
        fcn_net_free(net);
    }
    end();

    /* floats at the edges of the range: each must come back with the same bits */
    begin("save/load round trip of extreme header floats (slope -0, +-FLT_MAX, subnormal, -0 mean)");
    {
        static const uint32_t vals[] = {0x80000000u, 0x7F7FFFFFu, 0xFF7FFFFFu, 0x00000001u, 0x807FFFFFu,
                                        0x00800000u, 0x3EAAAAABu, 0x4B7FFFFFu, 0xC2F6E979u, 0x33D6BF95u};
        int k;
        for (k = 0; k < (int)(sizeof vals / sizeof vals[0]); k++) {
            fcn_layer L[3];
            fcn_error e;
            fcn_net *net;
            float v = bitsf(vals[k]), mean[2];
            char what[64];
            L[0] = mk(FCN_LAYER_FC), L[0].maps = 3;
            L[1] = mk(FCN_LAYER_RELU), L[1].slope = v;
            L[2] = mk(FCN_LAYER_FC), L[2].maps = 2;
            if (!check(fcn_net_create(2, 2, 2, L, 3, &net, &e) == FCN_OK, "create: %s", e.message)) continue;
            {   /* a -0 bias after the relu: the sign of its zeros reaches the map */
                size_t nw, j;
                float *w = fcn_net_weights(net, 2, &nw), *b = fcn_net_bias(net, 2, NULL);
                for (j = 0; j < nw; j++) w[j] = 1.0f;
                b[0] = b[1] = -0.0f;
            }
            mean[0] = v;
            mean[1] = -v;
            fcn_net_set_transform(net, fabsf(v) <= 1.0f && v != 0.0f ? v : 0.5f, mean, &e);
            {
                size_t nw, j;
                float *w = fcn_net_weights(net, 0, &nw);
                for (j = 0; j < nw; j++) w[j] = -1.0f; /* negative pre-activations */
            }
            snprintf(what, sizeof what, "value %a (0x%08lx)", (double)v, (unsigned long)vals[k]);
            round_trip(&r, net, what, fabsf(v) < 1e30f);
            fcn_net_free(net);
        }
    }
    end();

    /* many input channels: the mean line of a 100-channel net */
    begin("save/load round trip of a 100-channel net with a non-zero mean");
    {
        fcn_layer L[2];
        fcn_error e;
        fcn_net *net;
        float mean[100];
        int k;
        L[0] = mk(FCN_LAYER_CONV), L[0].maps = 2, L[0].kh = L[0].kw = 1;
        L[1] = mk(FCN_LAYER_FC), L[1].maps = 2;
        for (k = 0; k < 100; k++) mean[k] = -1.0f / (float)(k + 3);
        if (check(fcn_net_create(3, 3, 100, L, 2, &net, &e) == FCN_OK, "create: %s", e.message)) {
            fcn_net_set_transform(net, 1.0f / 3.0f, mean, &e);
            round_trip(&r, net, "100 channels", 1);
            fcn_net_free(net);
        }
    }
    end();
}

/* ------------------------------------------------------------------ dump and export */

/* The fixed cases whose maps are dumped: the same on every build. */
static int write_dump(const char *path)
{
    FILE *f = fopen(path, "wb");
    rng r = {0xD0D0u};
    int i;
    if (!f) {
        printf("FAIL: dump: cannot create %s\n", path);
        n_fail++;
        return 0;
    }
    begin("dump: maps of the slide and 8 random nets written to %s", path);
    {
        fcn_net *net = slide_net(1);
        float img[75], out[18];
        fcn_options o;
        fcn_error e;
        slide_image(img);
        memset(&o, 0, sizeof o);
        o.border = FCN_BORDER_ZERO;
        o.stride = 2;
        if (net && check(fcn_map(net, img, 5, 5, &o, out, &e) == FCN_OK, "slide: %s", e.message)) {
            fprintf(f, "slide 3 3 2\n");
            fwrite(out, sizeof(float), 18, f);
        }
        fcn_net_free(net);
    }
    for (i = 0; i < 8; i++) {
        spec s;
        fcn_net *net;
        gen_spec(&r, &s, 1, 14);
        net = build(&r, &s);
        if (net) {
            int h = 15 + rint_(&r, 0, 10), w = 20 + rint_(&r, 0, 80), p, oh = 0, ow = 0;
            float *img = random_image(&r, &s, h, w), *m = NULL;
            fcn_options o;
            fcn_error e;
            memset(&o, 0, sizeof o);
            o.border = (fcn_border)(i % 3);
            o.stride = 1 + i % 2;
            for (p = 0; p < 2; p++) {
                o.path = (fcn_path)p;
                if (check(map_new(net, img, h, w, &o, &m, &oh, &ow, &e) == FCN_OK, "net %d: %s", i, e.message)) {
                    fprintf(f, "net %d path %d %d %d %d\n", i, p, oh, ow, fcn_net_outputs(net));
                    fwrite(m, sizeof(float), (size_t)oh * (size_t)ow * (size_t)fcn_net_outputs(net), f);
                }
                free(m);
                m = NULL;
            }
            free(img);
            fcn_net_free(net);
        }
    }
    { /* the library's arithmetic on a grid */
        float v[3];
        fprintf(f, "arith\n");
        for (i = 0; i <= 4000; i++) {
            float x = (float)(-100.0 + 200.0 * i / 4000.0) + 0.001f * (float)i;
            v[0] = fcn_expf(x);
            v[1] = fcn_tanhf(x * 0.1f);
            v[2] = fcn_sigmoidf(x * 0.25f);
            fwrite(v, sizeof(float), 3, f);
        }
    }
    check(fclose(f) == 0, "write error on %s", path);
    end();
    return 1;
}

static int write_npy(const char *path, const float *data, int d0, int d1, int d2)
{
    char dict[160];
    unsigned char head[10];
    size_t len, pad, total, n = (size_t)d0 * (size_t)d1 * (size_t)d2, i;
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return 0;
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }", d0, d1, d2);
    len = strlen(dict);
    total = 10 + len + 1;
    pad = (64 - total % 64) % 64;
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    head[8] = (unsigned char)((len + pad + 1) & 0xFF);
    head[9] = (unsigned char)((len + pad + 1) >> 8);
    fwrite(head, 1, 10, f);
    fwrite(dict, 1, len, f);
    for (i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    for (i = 0; i < n; i++) {
        uint32_t u = fbits(data[i]);
        unsigned char b[4];
        b[0] = (unsigned char)u, b[1] = (unsigned char)(u >> 8), b[2] = (unsigned char)(u >> 16), b[3] = (unsigned char)(u >> 24);
        fwrite(b, 1, 4, f);
    }
    ok = !ferror(f);
    return (fclose(f) == 0) && ok;
}

/* A dozen nets for tests/core/numpy_ref.py, each chosen to cover one thing, random weights. */
static int export_nets(const char *dir)
{
    rng r = {0xE4E4u};
    int i, made = 0;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        printf("FAIL: export: cannot create %s: %s\n", dir, strerror(errno));
        n_fail++;
        return 0;
    }
    begin("export: 12 nets, images and dense maps written to %s", dir);
    for (i = 0; i < 12; i++) {
        spec s;
        fcn_net *net;
        fcn_layer l;
        memset(&s, 0, sizeof s);
        s.c = 1 + i % 3;
        s.scale = 1.0f;
        switch (i) {
        case 0: /* conv stride 2, relu, max pool 2, fc, softmax */
            s.ph = s.pw = 12;
            l = mk(FCN_LAYER_CONV), l.maps = 4, l.kh = l.kw = 4, l.stride = 2, add_layer(&s, l); /* 5 */
            add_layer(&s, mk(FCN_LAYER_RELU));
            l = mk(FCN_LAYER_MAXPOOL), l.kh = l.kw = 2, add_layer(&s, l); /* 2 */
            l = mk(FCN_LAYER_FC), l.maps = 3, add_layer(&s, l);
            add_layer(&s, mk(FCN_LAYER_SOFTMAX));
            break;
        case 1: /* overlapping max pool 3x3/2, tanh, transform */
            s.ph = s.pw = 13;
            s.scale = 1.0f / 255.0f, s.mean[0] = 127.5f, s.mean[1] = 100.0f;
            l = mk(FCN_LAYER_CONV), l.maps = 3, l.kh = l.kw = 3, add_layer(&s, l); /* 11 */
            add_layer(&s, mk(FCN_LAYER_TANH));
            l = mk(FCN_LAYER_MAXPOOL), l.kh = l.kw = 3, l.stride = 2, add_layer(&s, l); /* 5 */
            l = mk(FCN_LAYER_FC), l.maps = 2, add_layer(&s, l);
            break;
        case 2: /* avg pool, sigmoid, conv stride 3, rectangular */
            s.ph = 11, s.pw = 9;
            l = mk(FCN_LAYER_CONV), l.maps = 2, l.kh = 2, l.kw = 3, l.stride = 3, add_layer(&s, l); /* 4x3 */
            add_layer(&s, mk(FCN_LAYER_SIGMOID));
            l = mk(FCN_LAYER_AVGPOOL), l.kh = l.kw = 2, l.stride = 1, add_layer(&s, l); /* 3x2 */
            l = mk(FCN_LAYER_FC), l.maps = 4, add_layer(&s, l);
            add_layer(&s, mk(FCN_LAYER_SOFTMAX));
            break;
        case 3: /* relu with slope, two fc, dropout, overlapping avg pool */
            s.ph = s.pw = 10;
            s.scale = 0.5f, s.mean[0] = 0.25f;
            l = mk(FCN_LAYER_CONV), l.maps = 3, l.kh = l.kw = 3, add_layer(&s, l); /* 8 */
            l = mk(FCN_LAYER_RELU), l.slope = 0.1f, add_layer(&s, l);
            l = mk(FCN_LAYER_AVGPOOL), l.kh = l.kw = 3, l.stride = 2, add_layer(&s, l); /* 3 */
            l = mk(FCN_LAYER_FC), l.maps = 5, add_layer(&s, l);
            add_layer(&s, mk(FCN_LAYER_DROPOUT));
            l = mk(FCN_LAYER_RELU), l.slope = -0.5f, add_layer(&s, l);
            l = mk(FCN_LAYER_FC), l.maps = 2, add_layer(&s, l);
            break;
        case 4: /* two convs, pool, ceil pool dividing evenly, tanh + sigmoid */
            s.ph = s.pw = 14;
            l = mk(FCN_LAYER_CONV), l.maps = 3, l.kh = l.kw = 3, add_layer(&s, l); /* 12 */
            add_layer(&s, mk(FCN_LAYER_TANH));
            l = mk(FCN_LAYER_MAXPOOL), l.kh = l.kw = 2, add_layer(&s, l); /* 6 */
            l = mk(FCN_LAYER_CONV), l.maps = 4, l.kh = l.kw = 3, add_layer(&s, l); /* 4 */
            add_layer(&s, mk(FCN_LAYER_SIGMOID));
            l = mk(FCN_LAYER_AVGPOOL), l.kh = l.kw = 2, l.ceil_mode = 1, add_layer(&s, l); /* 2 */
            l = mk(FCN_LAYER_FC), l.maps = 3, add_layer(&s, l);
            add_layer(&s, mk(FCN_LAYER_SOFTMAX));
            break;
        case 5: /* even patch, conv stride 2 leaving a row unused */
            s.ph = s.pw = 8;
            l = mk(FCN_LAYER_CONV), l.maps = 2, l.kh = l.kw = 3, l.stride = 2, add_layer(&s, l); /* 3, row 7 unused */
            add_layer(&s, mk(FCN_LAYER_RELU));
            l = mk(FCN_LAYER_FC), l.maps = 2, add_layer(&s, l);
            break;
        case 6: /* final conv covering its input instead of fc */
            s.ph = 9, s.pw = 12;
            l = mk(FCN_LAYER_CONV), l.maps = 2, l.kh = 3, l.kw = 4, l.stride = 2, add_layer(&s, l); /* 4x5 */
            add_layer(&s, mk(FCN_LAYER_TANH));
            l = mk(FCN_LAYER_CONV), l.maps = 3, l.kh = 4, l.kw = 5, add_layer(&s, l);
            add_layer(&s, mk(FCN_LAYER_SOFTMAX));
            break;
        case 7: /* global average pool */
            s.ph = s.pw = 7;
            l = mk(FCN_LAYER_CONV), l.maps = 3, l.kh = l.kw = 2, add_layer(&s, l); /* 6 */
            add_layer(&s, mk(FCN_LAYER_SIGMOID));
            l = mk(FCN_LAYER_AVGPOOL), l.kh = l.kw = 6, add_layer(&s, l);
            break;
        case 8: /* a 1x1 patch: per-pixel fc */
            s.ph = s.pw = 1;
            s.scale = 2.0f, s.mean[0] = 0.5f, s.mean[1] = -0.5f, s.mean[2] = 1.0f;
            l = mk(FCN_LAYER_FC), l.maps = 4, add_layer(&s, l);
            add_layer(&s, mk(FCN_LAYER_TANH));
            l = mk(FCN_LAYER_FC), l.maps = 2, add_layer(&s, l);
            add_layer(&s, mk(FCN_LAYER_SOFTMAX));
            break;
        default: /* random nets */
            gen_spec(&r, &s, 4, 12);
            break;
        }
        net = build(&r, &s);
        if (!net) continue;
        {
            static const fcn_border borders[12] = {FCN_BORDER_MIRROR, FCN_BORDER_ZERO,      FCN_BORDER_REPLICATE,
                                                   FCN_BORDER_VALID,  FCN_BORDER_MIRROR,    FCN_BORDER_ZERO,
                                                   FCN_BORDER_REPLICATE, FCN_BORDER_MIRROR, FCN_BORDER_VALID,
                                                   FCN_BORDER_MIRROR, FCN_BORDER_ZERO,      FCN_BORDER_REPLICATE};
            char path[1200];
            int h = 20 + rint_(&r, 0, 10), w = 18 + rint_(&r, 0, 10), oh = 0, ow = 0;
            float *img = random_image(&r, &s, h, w), *m = NULL;
            fcn_options o;
            fcn_error e;
            FILE *f;
            memset(&o, 0, sizeof o);
            o.border = borders[i];
            o.stride = 1 + (i % 4 == 1) + 2 * (i % 5 == 2);
            if (check(map_new(net, img, h, w, &o, &m, &oh, &ow, &e) == FCN_OK, "net %d: %s", i, e.message)) {
                snprintf(path, sizeof path, "%s/net%02d.fcn", dir, i);
                check(fcn_net_save(net, path, &e) == FCN_OK, "%s", e.message);
                snprintf(path, sizeof path, "%s/net%02d.image.npy", dir, i);
                check(write_npy(path, img, h, w, s.c), "cannot write %s", path);
                snprintf(path, sizeof path, "%s/net%02d.map.npy", dir, i);
                check(write_npy(path, m, oh, ow, fcn_net_outputs(net)), "cannot write %s", path);
                snprintf(path, sizeof path, "%s/net%02d.json", dir, i);
                f = fopen(path, "w");
                if (check(f != NULL, "cannot write %s", path)) {
                    char desc[1024];
                    describe(net, desc, sizeof desc);
                    fprintf(f, "{\"border\": \"%s\", \"stride\": %d, \"net\": \"%s\"}\n", border_name(o.border), o.stride, desc);
                    fclose(f);
                }
                made++;
            }
            free(m);
            free(img);
        }
        fcn_net_free(net);
    }
    end();
    return made;
}

/* ------------------------------------------------------------------ main */

/* ------------------------------------------------------------------ atomic writes */

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int same_file(const char *path, const unsigned char *want, size_t n)
{
    unsigned char have[4096];
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(have, 1, sizeof have, f) : 0;
    if (f) fclose(f);
    return f && got == n && memcmp(have, want, n) == 0;
}

/* The names in dir other than . and .. */
static int dir_count(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d) return -1;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

/* fcn_file and fcn_net_save: the target holds its old bytes or all the new ones, never
   a part, and no temporary is left behind; failures name the file and the reason. */
static void test_atomic(void)
{
    char dir[600], path[700];
    const char first[] = "the first version", second[] = "the second, longer version of the file";
    fcn_net *net = slide_net(1);
    fcn_file *f = NULL;
    fcn_error e;
    fcn_status st;
    snprintf(dir, sizeof dir, "%s/fcn-atomic-XXXXXX", tmpdir_);
    if (!net || !mkdtemp(dir)) {
        begin("atomic: a private folder");
        check(0, "mkdtemp %s: %s", dir, strerror(errno));
        end();
        fcn_net_free(net);
        return;
    }
    snprintf(path, sizeof path, "%s/out.bin", dir);

    begin("atomic: commit puts the whole file in place");
    st = fcn_file_create(path, &f, &e);
    if (check(st == FCN_OK, "create: %s", e.message)) {
        check(file_size(path) == -1, "the target exists before the commit");
        check(fcn_file_write(f, first, sizeof first, &e) == FCN_OK, "write: %s", e.message);
        check(fcn_file_commit(f, &e) == FCN_OK, "commit: %s", e.message);
    }
    check(same_file(path, (const unsigned char *)first, sizeof first), "the file does not hold what was written");
    check(dir_count(dir) == 1, "%d names in the folder, expected 1", dir_count(dir));
    end();

    begin("atomic: abort leaves the old file and no temporary");
    st = fcn_file_create(path, &f, &e);
    if (check(st == FCN_OK, "create: %s", e.message)) {
        check(fcn_file_write(f, second, sizeof second, &e) == FCN_OK, "write: %s", e.message);
        check(dir_count(dir) == 2, "%d names while writing, expected the target and a temporary", dir_count(dir));
        fcn_file_abort(f);
    }
    check(same_file(path, (const unsigned char *)first, sizeof first), "the old file changed");
    check(dir_count(dir) == 1, "%d names in the folder after abort, expected 1", dir_count(dir));
    fcn_file_abort(NULL);
    end();

    begin("atomic: a write past the file size limit leaves the old file (fcn_net_save)");
    {
        struct rlimit old, small;
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of the signal */
        getrlimit(RLIMIT_FSIZE, &old);
        small = old;
        small.rlim_cur = 40;
        if (check(setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit: %s", strerror(errno))) {
            st = fcn_net_save(net, path, &e);
            setrlimit(RLIMIT_FSIZE, &old);
            check(st == FCN_ERR_IO, "save past the limit: status %d (%s)", (int)st, fcn_status_string(st));
            check(contains(e.message, path) && contains(e.message, strerror(EFBIG)),
                  "message '%s' does not name the file and '%s'", e.message, strerror(EFBIG));
        }
        signal(SIGXFSZ, old_handler);
    }
    check(same_file(path, (const unsigned char *)first, sizeof first), "the old file changed");
    check(dir_count(dir) == 1, "%d names in the folder, expected 1", dir_count(dir));
    end();

    begin("atomic: a failed write is kept: later writes fail, the commit fails with it");
    {
        struct rlimit old, small;
        void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
        fcn_status w1 = FCN_OK, w2 = FCN_OK;
        getrlimit(RLIMIT_FSIZE, &old);
        small = old;
        small.rlim_cur = 20;
        st = fcn_file_create(path, &f, &e);
        if (check(st == FCN_OK, "create: %s", e.message) &&
            check(setrlimit(RLIMIT_FSIZE, &small) == 0, "setrlimit: %s", strerror(errno))) {
            w1 = fcn_file_write(f, second, sizeof second, NULL); /* unchecked, like a callback's */
            setrlimit(RLIMIT_FSIZE, &old);
            w2 = fcn_file_write(f, "!", 1, NULL); /* would fit now: still refused */
            st = fcn_file_commit(f, &e);
            check(w1 == FCN_ERR_IO && w2 == FCN_ERR_IO, "writes after the failure: %d, %d", (int)w1, (int)w2);
            check(st == FCN_ERR_IO && contains(e.message, path) && contains(e.message, strerror(EFBIG)),
                  "commit: status %d, message '%s' does not name the file and '%s'", (int)st, e.message, strerror(EFBIG));
        } else if (f) {
            fcn_file_abort(f);
        }
        signal(SIGXFSZ, old_handler);
    }
    check(same_file(path, (const unsigned char *)first, sizeof first), "the old file changed");
    check(dir_count(dir) == 1, "%d names in the folder, expected 1", dir_count(dir));
    end();

    begin("atomic: the new file keeps the old one's permissions");
    {
        struct stat sb;
        chmod(path, 0604);
        st = fcn_file_create(path, &f, &e);
        if (check(st == FCN_OK, "create: %s", e.message)) {
            check(fcn_file_write(f, first, sizeof first, &e) == FCN_OK, "write: %s", e.message);
            check(fcn_file_commit(f, &e) == FCN_OK, "commit: %s", e.message);
        }
        check(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0604, "mode %o after the commit, expected 604",
              (unsigned)(sb.st_mode & 0777));
    }
    end();

    begin("atomic: a full device (/dev/full) is an i/o error naming the reason");
    if (file_size("/dev/full") < 0) {
        printf("SKIP: atomic: /dev/full: not on this system\n");
        n_skip++;
    } else {
        st = fcn_net_save(net, "/dev/full", &e);
        check(st == FCN_ERR_IO, "save to /dev/full: status %d (%s)", (int)st, fcn_status_string(st));
        check(contains(e.message, "/dev/full") && contains(e.message, strerror(ENOSPC)),
              "message '%s' does not name /dev/full and '%s'", e.message, strerror(ENOSPC));
        end();
    }

    remove(path);
    rmdir(dir);
    fcn_net_free(net);
}

int main(int argc, char **argv)
{
    int quick = 0, i;
    const char *dump = NULL, *export_dir = NULL, *t = getenv("TMPDIR");
    uint64_t seed = 20260101u;
    double t0 = now();
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump = argv[++i];
        else if (strcmp(argv[i], "--export") == 0 && i + 1 < argc) export_dir = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) seed = strtoull(argv[++i], NULL, 0);
        else {
            fprintf(stderr, "usage: %s [--quick] [--dump FILE] [--export DIR] [--seed N]\n", argv[0]);
            return 2;
        }
    }
    snprintf(tmpdir_, sizeof tmpdir_, "%s", t && *t ? t : "/tmp");
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (export_dir) {
        export_nets(export_dir);
        return n_fail ? 1 : 0;
    }
    printf("# test_core: %s, seed %llu, dense kernels: %s\n", quick ? "quick" : "full", (unsigned long long)seed,
           fcn_simd_name());

    test_slide();
    test_transform();
    test_max_ties();
    test_big_scratch();
    test_kernel_choice();
    test_kernel_bits(quick);
    test_arith(quick);
    test_refusals();
    test_bad_args();
    test_progress();
    test_malformed(quick);
    test_round_trip(quick);
    test_atomic();
    {
        rng r;
        int n_small = quick ? 40 : 300, n_large = quick ? 2 : 10;
        r.s = seed;
        for (i = 0; i < n_small; i++) random_small(&r, i, quick ? 4e6 : 2e7);
        for (i = 0; i < n_large; i++) random_large(&r, i, quick ? 120 : 300, quick ? 100 : 200, quick ? 10 : 24);
        random_coverage();
    }
    if (dump) write_dump(dump);
    printf("# test_core: %d passed, %d failed, %d skipped in %.1f s\n", n_pass, n_fail, n_skip, now() - t0);
    return n_fail ? 1 : 0;
}
