/* Tests of fcn_opencl.h: the OpenCL path gives fcn_map's dense map bit for bit.
   Prints one line per case, "PASS: name", "FAIL: name: why" or "SKIP: name: why"
   (tests/run.sh counts them). Without an OpenCL platform it prints
   "SKIP: opencl: no OpenCL platform" (a FAIL when the environment variable CI is set).
   ISBI slices come from $FCN_DATA or ../shared/data/isbi2012 (never from the repo).

   Runs itself as a child with --no-platform-child and OCL_ICD_VENDORS pointing to an
   empty folder, to check the "no OpenCL platform" error. */
#define _POSIX_C_SOURCE 200809L
#define FCN_IMPLEMENTATION
#define FCN_OPENCL_IMPLEMENTATION
#include "fcn_opencl.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#include "stb_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;

static void pass(const char *name) { printf("PASS: %s\n", name); }

static void fail(const char *name, const char *fmt, ...)
{
    va_list ap;
    printf("FAIL: %s: ", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    failures++;
}

static void skip(const char *name, const char *why) { printf("SKIP: %s: %s\n", name, why); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#include "../lib/net95.h"
static int rnd(int n) { return (int)(rnd64() % (unsigned long long)n); }

static unsigned bits(float f)
{
    unsigned u;
    memcpy(&u, &f, 4);
    return u;
}

/* memcmp of two maps; on a mismatch, writes the first differing pixel and the bits. */
static int same_map(const float *a, const float *b, int rh, int rw, int k, char *why, size_t n)
{
    size_t i, total = (size_t)rh * (size_t)rw * (size_t)k;
    if (memcmp(a, b, total * sizeof(float)) == 0) return 1;
    for (i = 0; i < total; i++)
        if (bits(a[i]) != bits(b[i])) break;
    snprintf(why, n, "pixel (row %d, col %d) channel %d of %dx%dx%d: C dense %.9g (0x%08x), OpenCL %.9g (0x%08x)",
             (int)(i / (size_t)k / (size_t)rw), (int)(i / (size_t)k % (size_t)rw), (int)(i % (size_t)k), rh, rw, k,
             (double)a[i], bits(a[i]), (double)b[i], bits(b[i]));
    return 0;
}

/* Maps with the C dense path and with cl; 1 if equal (why says otherwise). */
static int compare(fcn_cl *cl, const fcn_net *net, const float *img, int h, int w, const fcn_options *opt,
                   char *why, size_t whyn)
{
    int oh, ow, k = fcn_net_outputs(net), ok;
    fcn_error err;
    float *a, *b;
    fcn_options o = *opt;
    if (fcn_map_size(net, h, w, &o, &oh, &ow, &err) != FCN_OK) {
        snprintf(why, whyn, "fcn_map_size: %s", err.message);
        return 0;
    }
    a = (float *)malloc((size_t)oh * (size_t)ow * (size_t)k * sizeof(float));
    b = (float *)malloc((size_t)oh * (size_t)ow * (size_t)k * sizeof(float));
    if (!a || !b) {
        free(a);
        free(b);
        snprintf(why, whyn, "out of memory");
        return 0;
    }
    memset(b, 0xA5, (size_t)oh * (size_t)ow * (size_t)k * sizeof(float));
    o.path = FCN_PATH_DENSE;
    if (fcn_map(net, img, h, w, &o, a, &err) != FCN_OK) {
        snprintf(why, whyn, "fcn_map: %s", err.message);
        ok = 0;
    } else if (fcn_cl_map(cl, net, img, h, w, &o, b, &err) != FCN_OK) {
        snprintf(why, whyn, "fcn_cl_map: %s", err.message);
        ok = 0;
    } else {
        ok = same_map(a, b, oh, ow, k, why, whyn);
    }
    free(a);
    free(b);
    return ok;
}


/* >>slide: the slide's worked example as a 3x3x3 patch classifier, zero border, stride 2 */
static void test_slide(fcn_cl *cl)
{
    static const float ch[3][5][5] = {
        {{1, 1, 2, 0, 0}, {1, 1, 2, 0, 0}, {1, 2, 0, 0, 1}, {2, 1, 0, 1, 2}, {0, 0, 2, 0, 0}},
        {{2, 0, 1, 2, 0}, {2, 0, 0, 0, 2}, {1, 1, 1, 2, 2}, {2, 1, 1, 0, 1}, {0, 1, 1, 2, 1}},
        {{0, 2, 1, 2, 2}, {1, 2, 2, 1, 2}, {2, 2, 0, 1, 0}, {1, 1, 0, 1, 2}, {0, 1, 1, 2, 2}}};
    /* (map, channel, row, col); W0 channel 2's bottom row is "-1 -1 1", the correction
       noted in slide-7x7x3.md (the slide's text reads "-1 1 1", which does not give its
       own output) */
    static const float wt[2 * 27] = {
        0, -1, -1, 0, -1, 1, -1, 1, -1, /* W0 c0 */
        0, 0, 1, -1, 1, -1, 0, 1, 0,    /* W0 c1 */
        1, 0, -1, 0, 1, -1, -1, -1, 1,  /* W0 c2 (corrected) */
        -1, -1, 0, 0, 1, -1, 1, -1, 1,  /* W1 c0 */
        0, -1, 0, 0, 1, -1, 0, 0, -1,   /* W1 c1 */
        -1, 0, 0, 1, 1, 0, 1, -1, -1};  /* W1 c2 */
    static const float expect[2][3][3] = {{{4, -5, 0}, {1, -4, 0}, {-4, -5, 1}},
                                          {{-1, 2, 3}, {-6, -2, -1}, {-5, 0, 0}}};
    const char *name = "slide: 5x5x3, two 3x3x3 filters, zero border, stride 2 (W0 channel 2 corrected)";
    fcn_layer conv;
    fcn_net *net = NULL;
    fcn_error err;
    fcn_options opt;
    float img[5 * 5 * 3], a[18], b[18], *w, *bias;
    int y, x, c, k, oh = 0, ow = 0;
    char why[512];
    memset(&conv, 0, sizeof conv);
    conv.type = FCN_LAYER_CONV;
    conv.maps = 2;
    conv.kh = conv.kw = 3;
    if (fcn_net_create(3, 3, 3, &conv, 1, &net, &err) != FCN_OK) {
        fail(name, "fcn_net_create: %s", err.message);
        return;
    }
    w = fcn_net_weights(net, 0, NULL);
    bias = fcn_net_bias(net, 0, NULL);
    memcpy(w, wt, sizeof wt);
    bias[0] = 1;
    bias[1] = 0;
    for (y = 0; y < 5; y++)
        for (x = 0; x < 5; x++)
            for (c = 0; c < 3; c++) img[(y * 5 + x) * 3 + c] = ch[c][y][x];
    memset(&opt, 0, sizeof opt);
    opt.border = FCN_BORDER_ZERO;
    opt.stride = 2;
    fcn_map_size(net, 5, 5, &opt, &oh, &ow, &err);
    if (oh != 3 || ow != 3) {
        fail(name, "map size %dx%d, expected 3x3", oh, ow);
    } else if (fcn_map(net, img, 5, 5, &opt, a, &err) != FCN_OK) {
        fail(name, "fcn_map: %s", err.message);
    } else if (fcn_cl_map(cl, net, img, 5, 5, &opt, b, &err) != FCN_OK) {
        fail(name, "fcn_cl_map: %s", err.message);
    } else if (!same_map(a, b, 3, 3, 2, why, sizeof why)) {
        fail(name, "%s", why);
    } else {
        for (y = 0; y < 3; y++)
            for (x = 0; x < 3; x++)
                for (k = 0; k < 2; k++)
                    if (b[(y * 3 + x) * 2 + k] != expect[k][y][x]) {
                        fail(name, "map %d at (%d, %d) is %g, the slide says %g", k, y, x,
                             (double)b[(y * 3 + x) * 2 + k], (double)expect[k][y][x]);
                        fcn_net_free(net);
                        return;
                    }
        pass(name);
    }
    fcn_net_free(net);
}

/* >>random networks the dense path accepts */
static fcn_net *random_net(char *desc, size_t dn)
{
    fcn_layer L[32];
    int n = 0, C = 1 + rnd(3), ph = 1 + rnd(14), pw = rnd(3) ? 1 + rnd(14) : ph, h = ph, w = pw, spatial = rnd(4), i;
    size_t len = 0;
    fcn_net *net = NULL;
    fcn_error err;
    memset(L, 0, sizeof L);
    for (i = 0; i < spatial && (h > 1 || w > 1 || rnd(2)); i++) {
        fcn_layer *d = &L[n++];
        int t = rnd(3);
        if (t == 0) {
            d->type = FCN_LAYER_CONV;
            d->maps = 1 + rnd(6);
            d->kh = 1 + rnd(h < 5 ? h : 5);
            d->kw = 1 + rnd(w < 5 ? w : 5);
            d->stride = 1 + rnd(3);
        } else {
            d->type = t == 1 ? FCN_LAYER_MAXPOOL : FCN_LAYER_AVGPOOL;
            d->kh = 1 + rnd(h < 3 ? h : 3);
            d->kw = 1 + rnd(w < 3 ? w : 3);
            d->stride = rnd(2) ? d->kh : 1 + rnd(d->kh + 1); /* overlapping or not */
        }
        /* ceil rounding is accepted where the windows divide the input evenly */
        if (d->type != FCN_LAYER_CONV && (h - d->kh) % d->stride == 0 && (w - d->kw) % d->stride == 0 && rnd(3) == 0)
            d->ceil_mode = 1;
        h = (h - d->kh) / d->stride + 1;
        w = (w - d->kw) / d->stride + 1;
        if (rnd(2)) {
            fcn_layer *a = &L[n++];
            int k = rnd(5);
            a->type = k == 0 ? FCN_LAYER_RELU : k == 1 ? FCN_LAYER_TANH : k == 2 ? FCN_LAYER_SIGMOID
                      : k == 3 ? FCN_LAYER_RELU : FCN_LAYER_DROPOUT;
            if (k == 3) a->slope = rndf(-0.5f, 0.5f);
        }
    }
    {
        fcn_layer *d = &L[n++];
        d->type = FCN_LAYER_FC;
        d->maps = 1 + rnd(4);
    }
    if (rnd(2)) {
        fcn_layer *a = &L[n++];
        int k = rnd(4);
        a->type = k == 0 ? FCN_LAYER_RELU : k == 1 ? FCN_LAYER_TANH : k == 2 ? FCN_LAYER_SIGMOID : FCN_LAYER_RELU;
        if (k == 3) a->slope = 0.25f;
    }
    if (rnd(2)) L[n++].type = FCN_LAYER_SOFTMAX;
    if (fcn_net_create(ph, pw, C, L, n, &net, &err) != FCN_OK) {
        snprintf(desc, dn, "fcn_net_create: %s", err.message);
        return NULL;
    }
    fill_weights(net, rndf(0.5f, 3.0f));
    {
        float mean[3];
        for (i = 0; i < C; i++) mean[i] = rndf(-0.5f, 0.5f);
        fcn_net_set_transform(net, rnd(2) ? 1.0f : rndf(0.2f, 4.0f), mean, NULL);
    }
    len += (size_t)snprintf(desc + len, dn - len, "input %dx%dx%d", ph, pw, C);
    for (i = 0; i < n && len < dn; i++) {
        fcn_layer d;
        memset(&d, 0, sizeof d);
        fcn_net_layer(net, i, &d, NULL, NULL);
        if (d.type == FCN_LAYER_CONV || d.type == FCN_LAYER_MAXPOOL || d.type == FCN_LAYER_AVGPOOL)
            len += (size_t)snprintf(desc + len, dn - len, ", %s %dx%d/%d", fcn_layer_name(d.type), d.kh, d.kw, d.stride);
        else if (d.type == FCN_LAYER_FC)
            len += (size_t)snprintf(desc + len, dn - len, ", fc %d", d.maps);
        else if (d.type == FCN_LAYER_RELU && d.slope != 0.0f)
            len += (size_t)snprintf(desc + len, dn - len, ", relu slope %g", (double)d.slope);
        else
            len += (size_t)snprintf(desc + len, dn - len, ", %s", fcn_layer_name(d.type));
    }
    return net;
}

static float *random_image(int h, int w, int c)
{
    float *img = (float *)malloc((size_t)h * (size_t)w * (size_t)c * sizeof(float));
    size_t i;
    if (!img) return NULL;
    for (i = 0; i < (size_t)h * (size_t)w * (size_t)c; i++) img[i] = rndf(-1.0f, 2.0f);
    return img;
}

/* n random networks, each mapped with random options by every fcn_cl in cls */
static void test_random(fcn_cl **cls, const char **names, int ncl, int nets, unsigned long long seed)
{
    static const char *borders[] = {"mirror", "zero", "replicate", "valid"};
    int t, j, bad[4] = {0, 0, 0, 0}, cases = 0;
    double secs[4] = {0, 0, 0, 0};
    char why[4][2048], name[160];
    rng_state = seed;
    for (t = 0; t < nets; t++) {
        char desc[600];
        fcn_net *net = random_net(desc, sizeof desc);
        fcn_shape in;
        fcn_options opt;
        int h, w, oh, ow, m;
        float *img;
        if (!net) {
            for (j = 0; j < ncl; j++)
                if (!bad[j]++) snprintf(why[j], sizeof why[j], "net %d: %s", t, desc);
            continue;
        }
        in = fcn_net_input(net);
        for (m = 0; m < 2; m++) {
            memset(&opt, 0, sizeof opt);
            opt.border = (fcn_border)rnd(4);
            opt.stride = 1 + rnd(3);
            h = (opt.border == FCN_BORDER_VALID ? in.h : 1) + rnd(m ? 40 : 12);
            w = (opt.border == FCN_BORDER_VALID ? in.w : 1) + rnd(m ? 40 : 12);
            if (fcn_map_size(net, h, w, &opt, &oh, &ow, NULL) != FCN_OK) continue;
            if (rnd(2)) {
                opt.rect_w = 1 + rnd(ow);
                opt.rect_h = 1 + rnd(oh);
                opt.rect_x = rnd(ow - opt.rect_w + 1);
                opt.rect_y = rnd(oh - opt.rect_h + 1);
            }
            img = random_image(h, w, in.c);
            if (img && t % 4 == 3) { /* a NaN and infinities: the same NaNs (0x7fc00000) as the C path */
                static const uint32_t odd[3] = {0xFFC00001u, 0x7F800000u, 0xFF800000u};
                size_t np = (size_t)h * (size_t)w * (size_t)in.c;
                for (j = 0; j < 3; j++) memcpy(&img[((size_t)t * 7919u + (size_t)j * 104729u) % np], &odd[j], 4);
            }
            cases++;
            for (j = 0; j < ncl; j++) {
                char w2[600];
                double t0 = now();
                int ok = compare(cls[j], net, img, h, w, &opt, w2, sizeof w2);
                secs[j] += now() - t0;
                if (!ok && !bad[j]++)
                    snprintf(why[j], sizeof why[j], "net %d (%s), image %dx%d, %s border, stride %d, rect %d,%d %dx%d: %s", t,
                             desc, h, w, borders[opt.border], opt.stride, opt.rect_x, opt.rect_y, opt.rect_w, opt.rect_h,
                             w2);
            }
            free(img);
        }
        fcn_net_free(net);
    }
    for (j = 0; j < ncl; j++) {
        snprintf(name, sizeof name, "random: %d networks, %d maps (borders, strides 1-3, rects), %s kernel", nets, cases,
                 names[j]);
        printf("  (%s kernel: %.2f s for the random maps, C and OpenCL)\n", names[j], secs[j]);
        if (bad[j]) fail(name, "%d of %d differ; first: %s", bad[j], cases, why[j]);
        else pass(name);
    }
}

/* Every border, output stride and layer type on one fixed net, so that no case depends
   on the random draw. */
static void test_fixed(fcn_cl *cl, const char *kname)
{
    fcn_layer L[12];
    fcn_net *net = NULL;
    fcn_error err;
    int b, s, n = 0, bad = 0, cases = 0;
    float *img;
    char why[1024] = "", w2[600], name[160];
    memset(L, 0, sizeof L);
    L[n].type = FCN_LAYER_CONV, L[n].maps = 5, L[n].kh = 3, L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_RELU, L[n].slope = 0.1f, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = 3, L[n].kw = 3, L[n].stride = 2, n++; /* overlapping */
    L[n].type = FCN_LAYER_CONV, L[n].maps = 6, L[n].kh = 2, L[n].kw = 2, L[n].stride = 1, n++;
    L[n].type = FCN_LAYER_TANH, n++;
    L[n].type = FCN_LAYER_AVGPOOL, L[n].kh = 2, L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_SIGMOID, n++;
    L[n].type = FCN_LAYER_DROPOUT, n++;
    L[n].type = FCN_LAYER_FC, L[n].maps = 4, n++;
    L[n].type = FCN_LAYER_SOFTMAX, n++;
    /* 13x12 -> conv 11x11 -> pool 5x5 -> conv 4x4 -> pool 2x2 -> fc */
    if (fcn_net_create(13, 12, 2, L, n, &net, &err) != FCN_OK) {
        fail("fixed net", "fcn_net_create: %s", err.message);
        return;
    }
    rng_state = 7;
    fill_weights(net, 2.0f);
    {
        float mean[2] = {0.25f, -0.125f};
        fcn_net_set_transform(net, 1.5f, mean, NULL);
    }
    img = random_image(37, 29, 2);
    for (b = 0; b < FCN_BORDER_COUNT; b++)
        for (s = 1; s <= 3; s++) {
            fcn_options opt;
            memset(&opt, 0, sizeof opt);
            opt.border = (fcn_border)b;
            opt.stride = s;
            cases++;
            if (!compare(cl, net, img, 37, 29, &opt, w2, sizeof w2) && !bad++)
                snprintf(why, sizeof why, "border %d, stride %d: %s", b, s, w2);
            opt.rect_x = 1, opt.rect_y = 2, opt.rect_w = 4, opt.rect_h = 3;
            cases++;
            if (!compare(cl, net, img, 37, 29, &opt, w2, sizeof w2) && !bad++)
                snprintf(why, sizeof why, "border %d, stride %d, rect 1,2 4x3: %s", b, s, w2);
        }
    snprintf(name, sizeof name, "fixed net: every border x strides 1-3 x whole/rect, every layer type, %s kernel", kname);
    if (bad) fail(name, "%d of %d differ; first: %s", bad, cases, why);
    else pass(name);
    free(img);
    fcn_net_free(net);
}

/* >>isbi */
static const char *isbi_dir(void)
{
    static char buf[1024];
    const char *d = getenv("FCN_DATA");
    struct stat st;
    if (d && d[0]) {
        snprintf(buf, sizeof buf, "%s/train-images/0.png", d);
        if (stat(buf, &st) == 0) return d;
        snprintf(buf, sizeof buf, "%s/isbi2012/train-images/0.png", d);
        if (stat(buf, &st) == 0) {
            snprintf(buf, sizeof buf, "%s/isbi2012", d);
            return buf;
        }
    }
    if (stat("../shared/data/isbi2012/train-images/0.png", &st) == 0) return "../shared/data/isbi2012";
    return NULL;
}

static float *isbi_slice(const char *dir, int n, int *h, int *w)
{
    char path[1200];
    int c;
    unsigned char *px;
    float *img;
    size_t i;
    snprintf(path, sizeof path, "%s/train-images/%d.png", dir, n);
    px = stbi_load(path, w, h, &c, 1);
    if (!px) return NULL;
    img = (float *)malloc((size_t)*h * (size_t)*w * sizeof(float));
    if (img)
        for (i = 0; i < (size_t)*h * (size_t)*w; i++) img[i] = (float)px[i] / 255.0f;
    stbi_image_free(px);
    return img;
}

static float *crop(const float *img, int w, int y0, int x0, int ch, int cw)
{
    float *c = (float *)malloc((size_t)ch * (size_t)cw * sizeof(float));
    int y;
    if (!c) return NULL;
    for (y = 0; y < ch; y++) memcpy(c + (size_t)y * (size_t)cw, img + (size_t)(y0 + y) * (size_t)w + x0, (size_t)cw * sizeof(float));
    return c;
}

/* The talk's 95x95 network. */

/* The 95x95 net runs with every kernel on a GPU; on other devices not with the tiled
   one, written for GPUs and slow on CPU drivers (its bits are checked on the other nets). */
static void test_isbi(fcn_cl **cls, const char **names, int ncl, int gpu, int ci)
{
    const char *dir = isbi_dir();
    int h, w, j;
    float *img;
    char why[1024];
    fcn_net *small = NULL, *big;
    if (!dir) {
        if (ci) fail("isbi", "ISBI data not found ($FCN_DATA or ../shared/data/isbi2012)");
        else skip("isbi", "ISBI data not found ($FCN_DATA or ../shared/data/isbi2012)");
        return;
    }
    img = isbi_slice(dir, 3, &h, &w);
    if (!img) {
        fail("isbi", "cannot read %s/train-images/3.png", dir);
        return;
    }
    {
        /* a small net on the whole slice */
        fcn_layer L[8];
        int n = 0;
        memset(L, 0, sizeof L);
        L[n].type = FCN_LAYER_CONV, L[n].maps = 8, L[n].kh = L[n].kw = 3, n++;
        L[n].type = FCN_LAYER_RELU, n++;
        L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
        L[n].type = FCN_LAYER_CONV, L[n].maps = 8, L[n].kh = L[n].kw = 3, n++;
        L[n].type = FCN_LAYER_TANH, n++;
        L[n].type = FCN_LAYER_FC, L[n].maps = 2, n++;
        L[n].type = FCN_LAYER_SOFTMAX, n++;
        if (fcn_net_create(10, 10, 1, L, n, &small, NULL) == FCN_OK) {
            float mean = 0.5f;
            rng_state = 10;
            fill_weights(small, 2.0f);
            fcn_net_set_transform(small, 2.0f, &mean, NULL);
        }
    }
    for (j = 0; j < ncl && small; j++) {
        fcn_options opt;
        char name[160];
        memset(&opt, 0, sizeof opt);
        snprintf(name, sizeof name, "isbi: slice 3 (%dx%d), small net (10x10 patch), mirror border, %s kernel", h, w,
                 names[j]);
        if (compare(cls[j], small, img, h, w, &opt, why, sizeof why)) pass(name);
        else fail(name, "%s", why);
    }
    big = net95();
    if (small && big) {
        /* the talk's 95x95 net on a 48x64 crop, whole map and stride 2 */
        float *c = crop(img, w, 200, 180, 48, 64);
        for (j = 0; j < ncl && c; j++) {
            fcn_options opt;
            char name[200];
            double t0 = now(), t1;
            int ok;
            if (!gpu && cls[j]->conv == FCN_CL_CONV_TILED) continue;
            memset(&opt, 0, sizeof opt);
            snprintf(name, sizeof name, "isbi: the talk's 95x95 net on a 48x64 crop of slice 3 (mirror stride 1, replicate stride 2), %s kernel",
                     names[j]);
            ok = compare(cls[j], big, c, 48, 64, &opt, why, sizeof why);
            if (ok) {
                opt.stride = 2;
                opt.border = FCN_BORDER_REPLICATE;
                ok = compare(cls[j], big, c, 48, 64, &opt, why, sizeof why);
            }
            t1 = now();
            if (ok) pass(name);
            else fail(name, "%s", why);
            printf("  (%s: %.2f s for C and OpenCL, two maps)\n", names[j], t1 - t0);
        }
        free(c);
    } else {
        fail("isbi", "cannot build the test networks");
    }
    fcn_net_free(small);
    fcn_net_free(big);
    free(img);
}

/* >>pieces: a forced small cap gives the same bits as one piece */
static void test_pieces(const char *dev)
{
    fcn_cl_options o;
    fcn_error err;
    fcn_cl *cl = NULL;
    fcn_layer L[6];
    fcn_net *net = NULL;
    float *img;
    int n = 0, i;
    char why[1024];
    static const size_t caps[3] = {64 * 1024, 8 * 1024, 1200};
    memset(L, 0, sizeof L);
    L[n].type = FCN_LAYER_CONV, L[n].maps = 6, L[n].kh = L[n].kw = 3, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_CONV, L[n].maps = 4, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_FC, L[n].maps = 3, n++;
    L[n].type = FCN_LAYER_SOFTMAX, n++;
    if (fcn_net_create(8, 8, 1, L, n, &net, &err) != FCN_OK) {
        fail("pieces", "fcn_net_create: %s", err.message);
        return;
    }
    rng_state = 77;
    fill_weights(net, 2.0f);
    img = random_image(150, 130, 1);
    for (i = 0; i < 3; i++) {
        char name[200];
        fcn_options opt;
        fcn__dlayer layers[8];
        fcn__plan plan;
        memset(&o, 0, sizeof o);
        o.device = dev;
        o.max_alloc = caps[i];
        snprintf(name, sizeof name, "pieces: max_alloc %lu bytes (%s) equals one piece", (unsigned long)caps[i],
                 i == 0 ? "row bands" : i == 1 ? "row bands of a few rows" : "tiles narrower than a row");
        if (fcn_cl_create(&o, &cl, &err) != FCN_OK) {
            fail(name, "fcn_cl_create: %s", err.message);
            continue;
        }
        memset(&opt, 0, sizeof opt);
        plan.l = layers;
        fcn__dense_plan(net, 1, 130, 1, &plan, NULL);
        if (i == 2 && plan.big * sizeof(float) <= caps[i]) {
            fail(name, "the cap does not force pieces narrower than a row (one row needs %lu bytes)",
                 (unsigned long)(plan.big * 4));
        } else if (!compare(cl, net, img, 150, 130, &opt, why, sizeof why)) {
            fail(name, "whole map: %s", why);
        } else {
            opt.stride = 3;
            opt.rect_x = 3, opt.rect_y = 4, opt.rect_w = 30, opt.rect_h = 40;
            if (!compare(cl, net, img, 150, 130, &opt, why, sizeof why)) fail(name, "stride 3, rect: %s", why);
            else pass(name);
        }
        fcn_cl_free(cl);
        cl = NULL;
    }
    /* the environment variable */
    setenv("FCN_OPENCL_MAX_ALLOC", "2k", 1);
    memset(&o, 0, sizeof o);
    o.device = dev;
    if (fcn_cl_create(&o, &cl, &err) != FCN_OK) {
        fail("pieces: FCN_OPENCL_MAX_ALLOC=2k", "fcn_cl_create: %s", err.message);
    } else {
        fcn_options opt;
        memset(&opt, 0, sizeof opt);
        if (cl->cap != 2048) fail("pieces: FCN_OPENCL_MAX_ALLOC=2k", "cap %lu, expected 2048", (unsigned long)cl->cap);
        else if (!compare(cl, net, img, 150, 130, &opt, why, sizeof why)) fail("pieces: FCN_OPENCL_MAX_ALLOC=2k", "%s", why);
        else pass("pieces: FCN_OPENCL_MAX_ALLOC=2k");
        fcn_cl_free(cl);
        cl = NULL;
    }
    setenv("FCN_OPENCL_MAX_ALLOC", "12 parsecs", 1);
    if (fcn_cl_create(&o, &cl, &err) == FCN_ERR_ARG && strstr(err.message, "FCN_OPENCL_MAX_ALLOC"))
        pass("pieces: a malformed FCN_OPENCL_MAX_ALLOC is an error");
    else
        fail("pieces: a malformed FCN_OPENCL_MAX_ALLOC is an error", "got %d: %s", (int)err.status, err.message);
    fcn_cl_free(cl);
    unsetenv("FCN_OPENCL_MAX_ALLOC");
    free(img);
    fcn_net_free(net);
}

/* >>errors */
static int cancel_at_2(void *user, long done, long total)
{
    (void)total;
    *(long *)user = done;
    return done >= 2;
}

static void test_errors(fcn_cl *cl, const char *dev)
{
    fcn_error err;
    fcn_cl_options o;
    fcn_cl *c2 = NULL;
    fcn_layer L[2];
    fcn_net *net = NULL;
    float img[16 * 16], out[16 * 16 * 2];
    char log[8192];
    fcn_options opt;
    int i;

    /* a network the dense path refuses */
    memset(L, 0, sizeof L);
    L[0].type = FCN_LAYER_CONV, L[0].maps = 2, L[0].kh = L[0].kw = 3, L[0].pad = 1;
    L[1].type = FCN_LAYER_FC, L[1].maps = 2;
    for (i = 0; i < 16 * 16; i++) img[i] = (float)i;
    if (fcn_net_create(3, 3, 1, L, 2, &net, &err) != FCN_OK) {
        fail("errors: unsupported network", "fcn_net_create: %s", err.message);
    } else {
        fcn_status st = fcn_cl_map(cl, net, img, 16, 16, NULL, out, &err);
        if (st == FCN_ERR_UNSUPPORTED && strstr(err.message, "pad")) pass("errors: a padded network is refused (dense check)");
        else fail("errors: a padded network is refused (dense check)", "got %d: %s", (int)st, err.message);
        fcn_net_free(net);
        net = NULL;
    }

    /* bad arguments */
    L[0].pad = 0;
    fcn_net_create(3, 3, 1, L, 2, &net, NULL);
    if (fcn_cl_map(NULL, net, img, 16, 16, NULL, out, &err) == FCN_ERR_ARG &&
        fcn_cl_map(cl, net, NULL, 16, 16, NULL, out, &err) == FCN_ERR_ARG &&
        fcn_cl_map(cl, NULL, img, 16, 16, NULL, out, &err) == FCN_ERR_ARG &&
        fcn_cl_map(cl, net, img, 0, 16, NULL, out, &err) == FCN_ERR_ARG)
        pass("errors: bad arguments");
    else
        fail("errors: bad arguments", "%s", err.message);

    /* cancellation from the progress callback, between pieces */
    {
        long seen = 0;
        fcn_cl_options co;
        memset(&co, 0, sizeof co);
        co.device = dev;
        co.max_alloc = 1024;
        memset(&opt, 0, sizeof opt);
        opt.progress = cancel_at_2;
        opt.progress_user = &seen;
        if (fcn_cl_create(&co, &c2, &err) != FCN_OK)
            fail("errors: cancel", "fcn_cl_create: %s", err.message);
        else if (fcn_cl_map(c2, net, img, 16, 16, &opt, out, &err) != FCN_ERR_CANCELLED || seen != 2)
            fail("errors: cancel", "status %d after %ld pieces: %s", (int)err.status, seen, err.message);
        else
            pass("errors: the progress callback cancels between pieces");
        fcn_cl_free(c2);
        c2 = NULL;
    }
    fcn_net_free(net);

    /* device choice */
    memset(&o, 0, sizeof o);
    o.device = "99";
    if (fcn_cl_create(&o, &c2, &err) == FCN_ERR_DEVICE && strstr(err.message, "no OpenCL device 99") && !c2)
        pass("errors: device index out of range");
    else
        fail("errors: device index out of range", "got %d: %s", (int)err.status, err.message);
    fcn_cl_free(c2);
    c2 = NULL;
    o.device = "no-such-device-xyz";
    if (fcn_cl_create(&o, &c2, &err) == FCN_ERR_DEVICE && strstr(err.message, "no-such-device-xyz"))
        pass("errors: no device of that name");
    else
        fail("errors: no device of that name", "got %d: %s", (int)err.status, err.message);
    fcn_cl_free(c2);
    c2 = NULL;
    o.device = NULL;
    setenv("FCN_OPENCL_DEVICE", "42", 1);
    if (fcn_cl_create(&o, &c2, &err) == FCN_ERR_DEVICE && strstr(err.message, "FCN_OPENCL_DEVICE"))
        pass("errors: FCN_OPENCL_DEVICE is read and checked");
    else
        fail("errors: FCN_OPENCL_DEVICE is read and checked", "got %d: %s", (int)err.status, err.message);
    fcn_cl_free(c2);
    c2 = NULL;
    unsetenv("FCN_OPENCL_DEVICE");

    /* a build failure hands back the log */
    memset(&o, 0, sizeof o);
    o.device = dev;
    o.build_options = "-DFCN_CL_TEST_BUILD_ERROR";
    o.build_log = log;
    o.build_log_size = sizeof log;
    log[0] = '\0';
    if (fcn_cl_create(&o, &c2, &err) == FCN_ERR_DEVICE && strstr(err.message, "clBuildProgram") &&
        strstr(err.message, "CL_BUILD_PROGRAM_FAILURE") && strstr(log, "build failure requested"))
        pass("errors: a kernel build failure returns the build log");
    else
        fail("errors: a kernel build failure returns the build log", "got %d: %s (log: %.200s)", (int)err.status,
             err.message, log);
    fcn_cl_free(c2);
    c2 = NULL;

    /* the contract check */
    {
        char why[160];
        cl_device_fp_config all = CL_FP_FMA | CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT | CL_FP_DENORM |
                                  CL_FP_ROUND_TO_NEAREST | CL_FP_INF_NAN;
        int ok = fcn__cl_contract(all, 102, 1, why, sizeof why) && why[0] == '\0';
        ok = ok && !fcn__cl_contract(all & ~(cl_device_fp_config)CL_FP_FMA, 102, 1, why, sizeof why) && strstr(why, "CL_FP_FMA");
        ok = ok && !fcn__cl_contract(all & ~(cl_device_fp_config)CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT, 300, 1, why, sizeof why) &&
             strstr(why, "correctly rounded");
        ok = ok && !fcn__cl_contract(all & ~(cl_device_fp_config)CL_FP_DENORM, 120, 1, why, sizeof why) && strstr(why, "denormals");
        ok = ok && !fcn__cl_contract(all, 101, 1, why, sizeof why) && strstr(why, "1.2");
        if (ok) pass("errors: devices without fma, correct divide or denormals are named as inexact");
        else fail("errors: devices without fma, correct divide or denormals are named as inexact", "why: %s", why);
    }
}

/* The caller's context and queue: used, retained, not released. */
static void test_caller_queue(const fcn_cl_device_info *info)
{
    const char *name = "context: the caller's context and queue are used and left alive";
    cl_platform_id plats[16];
    cl_uint np = 0, nd = 0, p, refs = 0;
    cl_device_id dev = NULL;
    cl_context ctx;
    cl_command_queue q;
    cl_int e;
    fcn_cl_options o;
    fcn_cl *cl = NULL;
    fcn_error err;
    fcn_net *net = NULL;
    fcn_layer L[2];
    float img[20 * 20];
    char why[1024];
    fcn_options opt;
    int i, k = 0;
    clGetPlatformIDs(16, plats, &np);
    for (p = 0; p < np && !dev; p++) {
        cl_device_id ids[16];
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, ids, &nd) != CL_SUCCESS) continue;
        for (i = 0; i < (int)nd && i < 16; i++, k++)
            if (k == info->index) dev = ids[i];
    }
    if (!dev) {
        fail(name, "device %d not found", info->index);
        return;
    }
    ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
    q = ctx ? clCreateCommandQueue(ctx, dev, 0, &e) : NULL;
    if (!q) {
        fail(name, "cannot create a context and queue: %s", fcn_cl_error_name(e));
        if (ctx) clReleaseContext(ctx);
        return;
    }
    memset(L, 0, sizeof L);
    L[0].type = FCN_LAYER_CONV, L[0].maps = 3, L[0].kh = L[0].kw = 3;
    L[1].type = FCN_LAYER_FC, L[1].maps = 2;
    fcn_net_create(5, 5, 1, L, 2, &net, NULL);
    rng_state = 5;
    fill_weights(net, 1.0f);
    for (i = 0; i < 400; i++) img[i] = rndf(0, 1);
    memset(&o, 0, sizeof o);
    memset(&opt, 0, sizeof opt);
    o.queue = q;
    if (fcn_cl_create(&o, &cl, &err) != FCN_OK) {
        fail(name, "fcn_cl_create(queue): %s", err.message);
    } else if (!compare(cl, net, img, 20, 20, &opt, why, sizeof why)) {
        fail(name, "queue: %s", why);
    } else {
        fcn_cl_free(cl);
        cl = NULL;
        memset(&o, 0, sizeof o);
        o.context = ctx;
        if (fcn_cl_create(&o, &cl, &err) != FCN_OK) fail(name, "fcn_cl_create(context): %s", err.message);
        else if (!compare(cl, net, img, 20, 20, &opt, why, sizeof why)) fail(name, "context: %s", why);
        else {
            fcn_cl_free(cl);
            cl = NULL;
            if (clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &refs, NULL) != CL_SUCCESS || refs != 1)
                fail(name, "the queue's reference count is %u after fcn_cl_free, expected 1", (unsigned)refs);
            else if (clGetContextInfo(ctx, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL) != CL_SUCCESS ||
                     refs < 1)
                fail(name, "the context was released");
            else
                pass(name);
        }
    }
    fcn_cl_free(cl);
    fcn_net_free(net);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
}

static void test_devices(const fcn_cl *cl)
{
    fcn_cl_device_info list[32];
    int n = 0, i, defaults = 0;
    fcn_error err;
    char text[8192], sel[16];
    fcn_cl_options o;
    fcn_cl *c2 = NULL;
    if (fcn_cl_devices(list, 32, &n, &err) != FCN_OK || n < 1) {
        fail("devices: listing", "%s", err.message);
        return;
    }
    for (i = 0; i < n && i < 32; i++) defaults += list[i].is_default;
    if (fcn_cl_devices_text(text, sizeof text, &err) != FCN_OK || !strstr(text, list[0].name) ||
        !strstr(text, "correctly rounded divide") || defaults != 1)
        fail("devices: listing", "%s / %s", err.message, text);
    else
        pass("devices: fcn_cl_devices and fcn_cl_devices_text list every device and one default");
    /* a small buffer is truncated, not overrun */
    memset(text, 'x', sizeof text);
    if (fcn_cl_devices_text(text, 40, &err) != FCN_OK || strlen(text) != 39 || text[40] != 'x')
        fail("devices: a short text buffer is truncated", "length %lu", (unsigned long)strlen(text));
    else
        pass("devices: a short text buffer is truncated");
    /* by index and by name */
    memset(&o, 0, sizeof o);
    snprintf(sel, sizeof sel, "%d", fcn_cl_device(cl)->index);
    o.device = sel;
    if (fcn_cl_create(&o, &c2, &err) != FCN_OK || strcmp(fcn_cl_device(c2)->name, fcn_cl_device(cl)->name) != 0)
        fail("devices: by index", "%s", err.message);
    else
        pass("devices: chosen by index");
    fcn_cl_free(c2);
    c2 = NULL;
    {
        char part[8];
        const char *nm = fcn_cl_device(cl)->name;
        size_t len = strlen(nm), at = len >= 6 ? len / 3 : 0;
        /* a lower-cased middle part of the name */
        for (i = 0; i < 6 && at + (size_t)i < len; i++) part[i] = (char)tolower((unsigned char)nm[at + (size_t)i]);
        part[i] = '\0';
        o.device = part;
        if (fcn_cl_create(&o, &c2, &err) != FCN_OK) fail("devices: by name", "'%s': %s", part, err.message);
        else pass("devices: chosen by a case-insensitive name substring");
        fcn_cl_free(c2);
    }
}

/* The embedded program: pieces under C99's limit (the text itself is checked by
   tests/opencl/test_opencl_embed.sh). */
static void test_source(void)
{
    int i, ok = 1;
    size_t total = 0;
    for (i = 0; i < FCN__CL_SOURCE_PIECES; i++) {
        size_t n = strlen(fcn__cl_source[i]);
        total += n;
        if (n > 4095) ok = 0;
    }
    if (ok && (int)(sizeof fcn__cl_source / sizeof fcn__cl_source[0]) == FCN__CL_SOURCE_PIECES && total > 1000)
        pass("source: the embedded program is in pieces under 4095 characters");
    else
        fail("source: the embedded program is in pieces under 4095 characters", "a piece is too long or the count is wrong");
}

/* >>no platform: in a child with OCL_ICD_VENDORS pointing to an empty folder */
static int child_no_platform(void)
{
    fcn_error err;
    fcn_cl *cl = NULL;
    int n = -1;
    char text[256];
    fcn_status a = fcn_cl_devices(NULL, 0, &n, &err);
    printf("devices: %d %s\n", (int)a, err.message);
    a = fcn_cl_devices_text(text, sizeof text, &err);
    printf("text: %d %s\n", (int)a, err.message);
    a = fcn_cl_create(NULL, &cl, &err);
    printf("create: %d %s\n", (int)a, err.message);
    return (a == FCN_ERR_DEVICE && cl == NULL && strstr(err.message, "no OpenCL platform")) ? 0 : 1;
}

static void test_no_platform(const char *argv0)
{
    const char *name = "errors: no OpenCL platform (OCL_ICD_VENDORS = an empty folder) is a clear error";
    char dir[] = "/tmp/fcn-no-icd-XXXXXX", cmd[2048], out[4096];
    FILE *p;
    size_t n = 0;
    int rc;
    if (!mkdtemp(dir)) {
        fail(name, "mkdtemp failed");
        return;
    }
    snprintf(cmd, sizeof cmd, "OCL_ICD_VENDORS='%s' '%s' --no-platform-child 2>&1", dir, argv0);
    p = popen(cmd, "r");
    if (!p) {
        fail(name, "popen failed");
        rmdir(dir);
        return;
    }
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    rc = pclose(p);
    rmdir(dir);
    if (rc == 0 && strstr(out, "devices: -8 no OpenCL platform") && strstr(out, "create: -8 no OpenCL platform"))
        pass(name);
    else
        fail(name, "exit %d, output: %s", rc, out);
}

/* PoCL keeps compiled kernels under $HOME/.cache; give it a temporary folder when HOME
   is unset or not writable. */
static char pocl_dir[64];
/* FCN_OPENCL_MAX_ALLOC's parser (no device needed): NaN was cast to size_t (undefined),
   and "1" gave a cap of 0 floats ("0 bytes allowed"). */
static void test_parse_bytes(void)
{
    static const struct {
        const char *s;
        size_t want;
    } cases[] = {{"2k", 2048}, {"1500000", 1500000}, {"256M", (size_t)256 << 20}, {"4", 4}, {"1e400", SIZE_MAX},
                 {"nan", 0}, {"NaN", 0}, {"inf", 0}, {"-inf", 0}, {"-1", 0}, {"0", 0}, {"1", 0}, {"3", 0},
                 {"0.5k", 512}, {"2x", 0}, {" 5", 0}, {"", 0}};
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = fcn__cl_parse_bytes(cases[i].s);
        if (got != cases[i].want) {
            fail("FCN_OPENCL_MAX_ALLOC values", "'%s' gives %lu, expected %lu", cases[i].s, (unsigned long)got,
                 (unsigned long)cases[i].want);
            return;
        }
    }
    pass("FCN_OPENCL_MAX_ALLOC values: sizes, k/M/G, and nan, inf, negative, below one float or junk refused");
}

static void pocl_cache(void)
{
    const char *home = getenv("HOME");
    if (getenv("POCL_CACHE_DIR")) return;
    if (home && home[0] && access(home, W_OK) == 0) return;
    strcpy(pocl_dir, "/tmp/fcn-pocl-XXXXXX");
    if (mkdtemp(pocl_dir)) setenv("POCL_CACHE_DIR", pocl_dir, 1);
    else pocl_dir[0] = '\0';
}

int main(int argc, char **argv)
{
    fcn_error err;
    fcn_cl *cl = NULL, *cls[3] = {NULL, NULL, NULL};
    fcn_cl_options o;
    const char *names[3] = {"simple", "tiled", "vector"};
    int j;
    int n = 0, ci = getenv("CI") && getenv("CI")[0];
    char dev[16];
    double t0, t1;
    fcn_status st;
    if (argc > 1 && strcmp(argv[1], "--no-platform-child") == 0) return child_no_platform();
    pocl_cache();
    test_parse_bytes();
    st = fcn_cl_devices(NULL, 0, &n, &err);
    if (st != FCN_OK) {
        /* nothing passes without a platform */
        if (strstr(err.message, "no OpenCL platform")) {
            if (ci) fail("opencl", "no OpenCL platform (CI is set): %s", err.message);
            else skip("opencl", "no OpenCL platform");
        } else {
            fail("opencl", "%s", err.message);
        }
        return failures ? 1 : 0;
    }
    test_no_platform(argv[0]);
    t0 = now();
    if (fcn_cl_create(NULL, &cl, &err) != FCN_OK) {
        fail("opencl: create on the default device", "%s", err.message);
        return 1;
    }
    t1 = now();
    printf("  device %d: %s (%s); clBuildProgram %.3f s, fcn_cl_create %.3f s\n", fcn_cl_device(cl)->index,
           fcn_cl_device(cl)->name, fcn_cl_device(cl)->platform_name, fcn_cl_build_seconds(cl), t1 - t0);
    pass("opencl: create on the default device");
    snprintf(dev, sizeof dev, "%d", fcn_cl_device(cl)->index);
    test_source();
    test_devices(cl);

    /* every convolution kernel, built once each */
    memset(&o, 0, sizeof o);
    o.device = dev;
    for (j = 0; j < 3; j++) {
        char name[64];
        o.conv_kernel = j + 1;
        snprintf(name, sizeof name, "opencl: create with the %s kernel", names[j]);
        if (fcn_cl_create(&o, &cls[j], &err) != FCN_OK) fail(name, "%s", err.message);
    }
    if (cls[0] && cls[1] && cls[2]) {
        test_slide(cl);
        t0 = now();
        for (j = 0; j < 3; j++) test_fixed(cls[j], names[j]);
        test_random(cls, names, 3, 150, 0x5EED0001ULL);
        printf("  (random and fixed nets: %.2f s)\n", now() - t0);
        t0 = now();
        test_isbi(cls, names, 3, fcn_cl_device(cl)->gpu, ci);
        printf("  (isbi: %.2f s)\n", now() - t0);
        t0 = now();
        test_pieces(dev);
        printf("  (pieces: %.2f s)\n", now() - t0);
        test_errors(cl, dev);
        test_caller_queue(fcn_cl_device(cl));
    }
    for (j = 0; j < 3; j++) fcn_cl_free(cls[j]);
    fcn_cl_free(cl);
    if (pocl_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", pocl_dir);
        if (system(cmd) != 0) printf("  (could not remove %s)\n", pocl_dir);
    }
    return failures ? 1 : 0;
}
