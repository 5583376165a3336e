/* Tests of fcn_opencl.h: the OpenCL path gives fcn_map's dense map bit for bit.
   Prints one line per case, "PASS: name", "FAIL: name: why" or "SKIP: name: why"
   (tests/run.sh counts them). Without an OpenCL platform it prints
   "SKIP: opencl: no OpenCL platform" (a FAIL when the environment variable CI is set).
   ISBI slices come from $FCN_DATA or ../shared/data/isbi2012 (never from the repo).
   The device is the default one, or $FCN_OPENCL_DEVICE's (make device-check runs it
   on each GPU). --quick (device-check's, for CPU drivers): 20 random networks instead
   of 150, and the talk's nets not on the simple kernel (the slowest on a CPU).

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

/* the fcn_cl objects compared at once: simple, vector, and every shape of the tiled kernel */
#define MAX_CL (2 + FCN_CL_MAX_TILES)

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

#include "../lib/nets.h"
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
static void test_slide(fcn_cl *cl, const char *kname)
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
    char name[200];
    fcn_layer conv;
    fcn_net *net = NULL;
    fcn_error err;
    fcn_options opt;
    float img[5 * 5 * 3], a[18], b[18], *w, *bias;
    int y, x, c, k, oh = 0, ow = 0;
    char why[512];
    snprintf(name, sizeof name, "slide: 5x5x3, two 3x3x3 filters, zero border, stride 2 (W0 channel 2 corrected), %s kernel",
             kname);
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

/* conv k1 x k1 (m1 maps), relu, maxpool 2, conv k2 x k2 (m2 maps), tanh, fc (outputs),
   softmax, on a patch x patch x cin input; weights from seed. */
static fcn_net *two_conv_net(int patch, int cin, int m1, int k1, int m2, int k2, int outputs, unsigned long long seed)
{
    fcn_layer L[7];
    fcn_net *net = NULL;
    int n = 0;
    memset(L, 0, sizeof L);
    L[n].type = FCN_LAYER_CONV, L[n].maps = m1, L[n].kh = L[n].kw = k1, n++;
    L[n].type = FCN_LAYER_RELU, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_CONV, L[n].maps = m2, L[n].kh = L[n].kw = k2, n++;
    L[n].type = FCN_LAYER_TANH, n++;
    L[n].type = FCN_LAYER_FC, L[n].maps = outputs, n++;
    L[n].type = FCN_LAYER_SOFTMAX, n++;
    if (fcn_net_create(patch, patch, cin, L, n, &net, NULL) != FCN_OK) return NULL;
    rng_state = seed;
    fill_weights(net, 2.0f);
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
    int t, j, bad[MAX_CL], cases = 0;
    double secs[MAX_CL];
    char why[MAX_CL][2048], name[300];
    for (j = 0; j < ncl; j++) bad[j] = 0, secs[j] = 0.0;
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
static void test_isbi(fcn_cl **cls, const char **names, int ncl, int gpu, int ci, int quick)
{
    const char *dir = isbi_dir();
    int h, w, j;
    float *img;
    char why[1024];
    fcn_net *small = NULL, *big, *w49;
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
    /* a small net on the whole slice */
    if ((small = two_conv_net(10, 1, 8, 3, 8, 3, 2, 10)) != NULL) {
        float mean = 0.5f;
        fcn_net_set_transform(small, 2.0f, &mean, NULL);
    }
    for (j = 0; j < ncl && small; j++) {
        /* the tiled kernel off GPUs on a 128x160 crop (PoCL runs it slowly; the bits are
           what is checked) */
        int crop_it = !gpu && cls[j]->conv == FCN_CL_CONV_TILED, ch = crop_it ? 128 : h, cw = crop_it ? 160 : w;
        float *c = crop_it ? crop(img, w, 300, 200, ch, cw) : img;
        fcn_options opt;
        char name[300];
        memset(&opt, 0, sizeof opt);
        snprintf(name, sizeof name, "isbi: slice 3 (%dx%d%s), small net (10x10 patch), mirror border, %s kernel", ch, cw,
                 crop_it ? " crop" : "", names[j]);
        if (c && compare(cls[j], small, c, ch, cw, &opt, why, sizeof why)) pass(name);
        else fail(name, "%s", c ? why : "out of memory");
        if (c != img) free(c);
    }
    big = net95();
    w49 = net49();
    if (small && big && w49) {
        /* the talk's 95x95 net on a 48x64 crop, whole map and stride 2; its 49x49 net */
        float *c = crop(img, w, 200, 180, 48, 64);
        for (j = 0; j < ncl && c; j++) {
            fcn_options opt;
            char name[300];
            double t0 = now(), t1;
            int ok;
            if (!gpu && cls[j]->conv == FCN_CL_CONV_TILED) continue;
            if (quick && cls[j]->conv == FCN_CL_CONV_SIMPLE) continue;
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
            memset(&opt, 0, sizeof opt);
            snprintf(name, sizeof name, "isbi: the talk's 49x49 net on the crop (mirror stride 1), %s kernel", names[j]);
            if (compare(cls[j], w49, c, 48, 64, &opt, why, sizeof why)) pass(name);
            else fail(name, "%s", why);
        }
        free(c);
    } else {
        fail("isbi", "cannot build the test networks");
    }
    fcn_net_free(small);
    fcn_net_free(big);
    fcn_net_free(w49);
    free(img);
}

/* >>pieces: a forced small cap gives the same bits as one piece */
static fcn_net *pieces_net(fcn_error *err)
{
    fcn_layer L[6];
    fcn_net *net = NULL;
    int n = 0;
    memset(L, 0, sizeof L);
    L[n].type = FCN_LAYER_CONV, L[n].maps = 6, L[n].kh = L[n].kw = 3, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_CONV, L[n].maps = 4, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_FC, L[n].maps = 3, n++;
    L[n].type = FCN_LAYER_SOFTMAX, n++;
    if (fcn_net_create(8, 8, 1, L, n, &net, err) != FCN_OK) return NULL;
    rng_state = 77;
    fill_weights(net, 2.0f);
    return net;
}

/* Every kernel and shape in pieces: bands of a few rows, then tiles of about a third of
   a row (the cap set on each fcn_cl as options.max_alloc would set it), whole map and a
   strided rect. */
static void test_pieces_kernels(fcn_cl **cls, const char **names, int ncl)
{
    enum { H = 24, W = 70 };
    fcn_error err;
    fcn_net *net = pieces_net(&err);
    float *img = random_image(H, W, 1);
    fcn__dlayer layers[8];
    fcn__plan plan;
    size_t caps[2];
    int i, j;
    char why[1024], name[300];
    plan.l = layers;
    if (!net || !img || fcn__dense_plan(net, 4, W, 1, &plan, &err) != FCN_OK) {
        fail("pieces: every kernel", "cannot make the network or image");
        fcn_net_free(net);
        free(img);
        return;
    }
    caps[0] = plan.big * sizeof(float);
    fcn__dense_plan(net, 1, W / 3, 1, &plan, NULL);
    caps[1] = plan.big * sizeof(float);
    for (j = 0; j < ncl; j++) {
        size_t keep = cls[j]->cap;
        int bad = 0;
        for (i = 0; i < 2 && !bad; i++) {
            fcn_options opt;
            memset(&opt, 0, sizeof opt);
            cls[j]->cap = caps[i];
            if (!compare(cls[j], net, img, H, W, &opt, why, sizeof why)) bad = 1;
            opt.stride = 3;
            opt.rect_x = 3, opt.rect_y = 1, opt.rect_w = 19, opt.rect_h = 6;
            if (!bad && !compare(cls[j], net, img, H, W, &opt, why, sizeof why)) bad = 1;
        }
        cls[j]->cap = keep;
        snprintf(name, sizeof name, "pieces: bands of 4 rows and tiles of a third of a row equal one piece, %s kernel",
                 names[j]);
        if (bad) fail(name, "cap %lu bytes: %s", (unsigned long)caps[i - 1], why);
        else pass(name);
    }
    fcn_net_free(net);
    free(img);
}

static void test_pieces(const char *dev)
{
    fcn_cl_options o;
    fcn_error err;
    fcn_cl *cl = NULL;
    fcn_net *net = pieces_net(&err);
    float *img;
    int i;
    char why[1024];
    static const size_t caps[3] = {64 * 1024, 8 * 1024, 1200};
    if (!net) {
        fail("pieces", "fcn_net_create: %s", err.message);
        return;
    }
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
    char log[8192], keep[64];
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
    {
        const char *was = getenv("FCN_OPENCL_DEVICE");
        snprintf(keep, sizeof keep, "%s", was ? was : "");
    }
    setenv("FCN_OPENCL_DEVICE", "42", 1);
    if (fcn_cl_create(&o, &c2, &err) == FCN_ERR_DEVICE && strstr(err.message, "FCN_OPENCL_DEVICE"))
        pass("errors: FCN_OPENCL_DEVICE is read and checked");
    else
        fail("errors: FCN_OPENCL_DEVICE is read and checked", "got %d: %s", (int)err.status, err.message);
    fcn_cl_free(c2);
    c2 = NULL;
    if (keep[0]) setenv("FCN_OPENCL_DEVICE", keep, 1); /* make device-check's choice */
    else unsetenv("FCN_OPENCL_DEVICE");

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

/* A temporary folder, removed at the end (rm -rf). */
static char temp_dirs[4][64];
static const char *temp_dir(void)
{
    int i;
    for (i = 0; i < 4 && temp_dirs[i][0]; i++) continue;
    if (i == 4) return NULL;
    strcpy(temp_dirs[i], "/tmp/fcn-cltest-XXXXXX");
    if (!mkdtemp(temp_dirs[i])) temp_dirs[i][0] = '\0';
    return temp_dirs[i][0] ? temp_dirs[i] : NULL;
}

static void remove_temp_dirs(void)
{
    int i;
    for (i = 0; i < 4; i++)
        if (temp_dirs[i][0]) {
            char cmd[128];
            snprintf(cmd, sizeof cmd, "rm -rf '%.64s'", temp_dirs[i]);
            if (system(cmd) != 0) printf("  (could not remove %s)\n", temp_dirs[i]);
        }
}

/* >>wide: layers wider than one slice of channels and one group of maps, as in the talk's
   nets: 20 and 40 input channels (the tiled kernel stages 3 to 8 a slice), 20, 40 and
   37 maps (several map groups, the last one partial), a 5x5 kernel at dilation 2. */
static void test_wide(fcn_cl **cls, const char **names, int ncl)
{
    fcn_net *net = two_conv_net(14, 3, 20, 3, 40, 5, 37, 20);
    float *img;
    char why[600], name[300];
    int j;
    fcn_options opt;
    if (!net) {
        fail("wide layers", "fcn_net_create failed");
        return;
    }
    img = random_image(45, 38, 3);
    memset(&opt, 0, sizeof opt);
    for (j = 0; j < ncl; j++) {
        snprintf(name, sizeof name, "wide layers: 20 and 40 channels, 20, 40 and 37 maps, 5x5 at dilation 2, %s kernel",
                 names[j]);
        if (compare(cls[j], net, img, 45, 38, &opt, why, sizeof why)) pass(name);
        else fail(name, "%s", why);
    }
    free(img);
    fcn_net_free(net);
}

/* >>tiles: the tiled kernel's shapes are listed, named and distinct */
static void test_tiles(void)
{
    const char *name = "tiles: fcn_cl_tile_count shapes (at most FCN_CL_MAX_TILES), each named once, none past the count";
    int i, j, n = fcn_cl_tile_count(), ok = n >= 2 && n <= FCN_CL_MAX_TILES && !fcn_cl_tile_name(0) &&
                                             !fcn_cl_tile_name(n + 1) && FCN__CL_TILE_DEFAULT <= n;
    for (i = 1; i <= n && ok; i++)
        for (j = 1; j < i && ok; j++) ok = fcn_cl_tile_name(i) && strcmp(fcn_cl_tile_name(i), fcn_cl_tile_name(j)) != 0;
    if (ok) pass(name);
    else fail(name, "%d shapes; shape 1: %s", n, fcn_cl_tile_name(1) ? fcn_cl_tile_name(1) : "(none)");
}

/* >>adapt: on a GPU the tiled kernel's work-groups shrink to small layers (fewer points
   or maps than one block); other devices keep one shape (PoCL compiles each work-group
   size anew), so the test turns it on there for a few maps of the fixed net's layers
   (2 to 6 maps, grids of 1 to 33 points: shrunk in every dimension). */
static void test_adapt(fcn_cl *cl, int gpu)
{
    const char *name = "adapt: tiled kernel, work-groups fitted to small layers (fixed net, mirror and valid, strides 1 and 3)";
    fcn_layer L[6];
    fcn_net *net = NULL;
    float *img;
    char why[600];
    int b, s, bad = 0;
    if (gpu) return; /* every shape already ran so */
    memset(L, 0, sizeof L);
    L[0].type = FCN_LAYER_CONV, L[0].maps = 5, L[0].kh = 3, L[0].kw = 2;
    L[1].type = FCN_LAYER_MAXPOOL, L[1].kh = L[1].kw = 3, L[1].stride = 2;
    L[2].type = FCN_LAYER_CONV, L[2].maps = 6, L[2].kh = L[2].kw = 2;
    L[3].type = FCN_LAYER_AVGPOOL, L[3].kh = L[3].kw = 2;
    L[4].type = FCN_LAYER_FC, L[4].maps = 2;
    if (fcn_net_create(13, 12, 2, L, 5, &net, NULL) != FCN_OK) {
        fail(name, "fcn_net_create failed");
        return;
    }
    rng_state = 8;
    fill_weights(net, 2.0f);
    img = random_image(37, 29, 2);
    cl->adapt = 1;
    for (b = 0; b < 2 && !bad; b++)
        for (s = 1; s <= 3 && !bad; s += 2) {
            fcn_options opt;
            memset(&opt, 0, sizeof opt);
            opt.border = b ? FCN_BORDER_VALID : FCN_BORDER_MIRROR;
            opt.stride = s;
            if (!compare(cl, net, img, 37, 29, &opt, why, sizeof why)) bad = 1;
        }
    cl->adapt = 0;
    if (bad) fail(name, "border %s, stride %d: %s", b ? "valid" : "mirror", s, why);
    else pass(name);
    free(img);
    fcn_net_free(net);
}

/* >>tune: the tuning cache. Each case makes an fcn_cl of the tiled kernel in its own
   folder and checks where its shape came from. */
static fcn_cl *tune_create(const char *dev, const char *dir, int tune, fcn_error *err)
{
    fcn_cl_options o;
    fcn_cl *cl = NULL;
    memset(&o, 0, sizeof o);
    o.device = dev;
    o.conv_kernel = FCN_CL_CONV_TILED;
    o.tune_dir = dir;
    o.tune = tune;
    if (fcn_cl_create(&o, &cl, err) != FCN_OK) return NULL;
    return cl;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(text, 1, strlen(text), f) == strlen(text);
    if (f && fclose(f) != 0) ok = 0;
    return ok;
}

static int read_text(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t got;
    if (!f) return 0;
    got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
    return 1;
}

/* Checks one create: its shape came from 'from' (and is 'tile' if tile > 0), its note
   holds 'note' (if not NULL); the map on a small net equals the C path's. */
static void tune_case(const char *name, fcn_cl *cl, fcn_error *err, int from, int tile, const char *note)
{
    static const char *froms[] = {"unused", "set", "default", "cached", "timed"};
    char why[600];
    const fcn_cl_tuning *t = cl ? fcn_cl_tuned(cl) : NULL;
    fcn_net *net = pieces_net(NULL);
    float *img = random_image(37, 41, 1);
    fcn_options opt;
    memset(&opt, 0, sizeof opt);
    if (!cl) fail(name, "fcn_cl_create: %s", err->message);
    else if (t->from != from) fail(name, "the shape came from '%s', expected '%s' (note: %s)", froms[t->from], froms[from], t->note);
    else if (tile > 0 && t->tile != tile) fail(name, "shape %d, expected %d", t->tile, tile);
    else if (t->tile != cl->tile) fail(name, "the tuning says shape %d, the kernel runs %d", t->tile, cl->tile);
    else if (note && !strstr(t->note, note)) fail(name, "the note '%s' does not say '%s'", t->note, note);
    else if (!compare(cl, net, img, 37, 41, &opt, why, sizeof why)) fail(name, "%s", why);
    else pass(name);
    fcn_net_free(net);
    free(img);
    fcn_cl_free(cl);
}

static void test_tune(const char *dev)
{
    const char *dir = temp_dir(), *saved = getenv("FCN_OPENCL_CACHE");
    char path[600], key[1024], text[4096], before[4096], after[4096], sub[600], keep_env[600];
    fcn_error err;
    fcn_cl *cl;
    const fcn_cl_tuning *t;
    int i, tile = 0, other, n = fcn_cl_tile_count();
    double best = 0;
    if (!dir) {
        fail("tune", "no temporary folder");
        return;
    }
    snprintf(keep_env, sizeof keep_env, "%s", saved ? saved : "");

    /* 1. no cache file: every candidate timed, the fastest taken and written down */
    cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
    if (!cl) {
        fail("tune: timed", "fcn_cl_create: %s", err.message);
        return;
    }
    t = fcn_cl_tuned(cl);
    for (i = 0; i < n; i++)
        if (t->gflops[i] > best) best = t->gflops[i], tile = i + 1;
    snprintf(path, sizeof path, "%s", t->cache);
    {
        fcn_cl_options o;
        memset(&o, 0, sizeof o);
        key[0] = '\0';
        fcn__cl_tune_key(cl, &o, key, sizeof key, &err);
    }
    if (t->from != FCN_CL_TILE_TIMED || t->tile != tile || t->seconds <= 0 || !path[0] ||
        strncmp(path, dir, strlen(dir)) != 0 || !read_text(path, text, sizeof text) ||
        !strstr(text, fcn_cl_device(cl)->name) || !strstr(text, fcn_cl_tile_name(tile)))
        fail("tune: without a cache file the candidates are timed, the fastest used and written down",
             "from %d, shape %d (fastest %d), %.2f s, cache '%s', note '%s'", t->from, t->tile, tile, t->seconds, path, t->note);
    else
        printf("PASS: tune: without a cache file the candidates are timed, the fastest used and written down "
               "(shape %d, %.0f GFLOP/s on the tuning layer; timing took %.2f s)\n", tile, best, t->seconds);
    for (i = 0; i < n; i++)
        if (t->gflops[i] <= 0) fail("tune: every candidate runs", "shape %d: %g GFLOP/s", i + 1, t->gflops[i]);
    fcn_cl_free(cl);

    /* 2. the file is read back: no timing, the same shape */
    cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
    tune_case("tune: the cache file is read back (no timing)", cl, &err, FCN_CL_TILE_CACHED, tile, NULL);

    /* 3. a valid file decides the shape: one naming another candidate is obeyed */
    other = tile == 1 ? 2 : 1;
    {
        double g[FCN_CL_MAX_TILES];
        memset(g, 0, sizeof g);
        fcn__cl_tune_text(key, other, g, text, sizeof text);
    }
    write_text(path, text);
    cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
    tune_case("tune: the shape a valid cache file names is the one used", cl, &err, FCN_CL_TILE_CACHED, other, NULL);

    /* 4. corrupt, 5. stale, 6. unknown shape, 7. not a tuning file: ignored, timed again */
    read_text(path, before, sizeof before);
    snprintf(text, sizeof text, "%s", before);
    {
        char *m = strstr(text, "mflops ");
        if (m) m[7] = m[7] == '1' ? '2' : '1';
    }
    write_text(path, text);
    cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
    tune_case("tune: a corrupt cache file (a digit changed) is ignored and the shapes timed", cl, &err,
              FCN_CL_TILE_TIMED, 0, "corrupt");
    if (!read_text(path, after, sizeof after) || strcmp(after, text) == 0 || !strstr(after, "check "))
        fail("tune: a corrupt cache file is rewritten", "after: %.200s", after);
    else
        pass("tune: a corrupt cache file is rewritten");
    {
        char stale[1024], *d = NULL;
        double g[FCN_CL_MAX_TILES];
        memset(g, 0, sizeof g);
        snprintf(stale, sizeof stale, "%s", key);
        d = strstr(stale, "\nprogram ");
        if (d) d[9] = d[9] == '0' ? '1' : '0'; /* another program: another version of the kernels */
        fcn__cl_tune_text(stale, other, g, text, sizeof text);
        write_text(path, text);
        cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
        tune_case("tune: a stale cache file (another program) is ignored", cl, &err, FCN_CL_TILE_TIMED, 0, "stale");
        snprintf(stale, sizeof stale, "%s", key);
        d = strstr(stale, "\ndriver ");
        if (d) memmove(d + 8, d + 9, strlen(d + 9) + 1); /* the driver's version one character short */
        fcn__cl_tune_text(stale, other, g, text, sizeof text);
        write_text(path, text);
        cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
        tune_case("tune: a stale cache file (another driver) is ignored", cl, &err, FCN_CL_TILE_TIMED, 0, "stale");
    }
    {
        /* a whole file naming shape n + 1: the checksum holds, the shape does not */
        size_t m;
        snprintf(text, sizeof text, "fcn-opencl-tune 1\n%stile %d %s\nmflops 1", key, n + 1, fcn_cl_tile_name(1));
        m = strlen(text);
        snprintf(text + m, sizeof text - m, "\ncheck %016llx\n", fcn__cl_fnv(FCN__CL_FNV0, text, m));
        write_text(path, text);
        cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
        tune_case("tune: a cache file naming a shape that does not exist is ignored", cl, &err, FCN_CL_TILE_TIMED, 0,
                  "names no shape");
    }
    write_text(path, "");
    cl = tune_create(dev, dir, FCN_CL_TUNE_AUTO, &err);
    tune_case("tune: an empty cache file is ignored", cl, &err, FCN_CL_TILE_TIMED, 0, "not a tuning file");

    /* off, nocache and again: what each reads and writes */
    {
        double g[FCN_CL_MAX_TILES];
        memset(g, 0, sizeof g);
        fcn__cl_tune_text(key, other, g, before, sizeof before);
    }
    write_text(path, before);
    cl = tune_create(dev, dir, FCN_CL_TUNE_OFF, &err);
    tune_case("tune: off uses the default shape and ignores the cache file", cl, &err, FCN_CL_TILE_DEFAULT,
              FCN__CL_TILE_DEFAULT, NULL);
    setenv("FCN_OPENCL_TUNE", "off", 1);
    cl = tune_create(dev, dir, 0, &err);
    tune_case("tune: FCN_OPENCL_TUNE=off", cl, &err, FCN_CL_TILE_DEFAULT, FCN__CL_TILE_DEFAULT, NULL);
    setenv("FCN_OPENCL_TUNE", "nocache", 1);
    cl = tune_create(dev, dir, 0, &err);
    tune_case("tune: FCN_OPENCL_TUNE=nocache times the shapes and neither reads nor writes the file", cl, &err,
              FCN_CL_TILE_TIMED, 0, NULL);
    if (!read_text(path, after, sizeof after) || strcmp(after, before) != 0)
        fail("tune: nocache leaves the cache file as it was", "it changed");
    else
        pass("tune: nocache leaves the cache file as it was");
    setenv("FCN_OPENCL_TUNE", "again", 1);
    cl = tune_create(dev, dir, 0, &err);
    tune_case("tune: FCN_OPENCL_TUNE=again times the shapes despite a valid file", cl, &err, FCN_CL_TILE_TIMED, 0, NULL);
    if (!read_text(path, after, sizeof after) || strcmp(after, before) == 0)
        fail("tune: again rewrites the cache file", "it did not change");
    else
        pass("tune: again rewrites the cache file");
    setenv("FCN_OPENCL_TUNE", "sometimes", 1);
    cl = tune_create(dev, dir, 0, &err);
    if (!cl && err.status == FCN_ERR_ARG && strstr(err.message, "FCN_OPENCL_TUNE")) pass("tune: a bad FCN_OPENCL_TUNE is an error");
    else fail("tune: a bad FCN_OPENCL_TUNE is an error", "%s", cl ? "accepted" : err.message);
    fcn_cl_free(cl);
    unsetenv("FCN_OPENCL_TUNE");

    /* a folder that cannot be made: timed, nothing written, the map still right */
    snprintf(sub, sizeof sub, "%s/plain-file/sub", dir);
    snprintf(text, sizeof text, "%s/plain-file", dir);
    write_text(text, "a file where the cache folder's parent should be\n");
    cl = tune_create(dev, sub, FCN_CL_TUNE_AUTO, &err);
    if (cl && fcn_cl_tuned(cl)->cache[0]) fail("tune: an unusable cache folder", "cache '%s'", fcn_cl_tuned(cl)->cache);
    tune_case("tune: an unusable cache folder: timed, nothing written, maps still right", cl, &err, FCN_CL_TILE_TIMED, 0,
              "not a folder");

    /* where the file is by default: FCN_OPENCL_CACHE, then $XDG_CACHE_HOME/fcn, then $HOME/.cache/fcn */
    {
        const char *vars[3] = {"FCN_OPENCL_CACHE", "XDG_CACHE_HOME", "HOME"};
        const char *tails[3] = {"/env", "/xdg/fcn", "/home/.cache/fcn"};
        char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL, *xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
        double g[FCN_CL_MAX_TILES];
        memset(g, 0, sizeof g);
        fcn__cl_tune_text(key, other, g, text, sizeof text);
        for (i = 0; i < 3; i++) {
            char val[600], want[700], name[200], *slash;
            unsetenv("FCN_OPENCL_CACHE");
            unsetenv("XDG_CACHE_HOME");
            snprintf(val, sizeof val, "%s/%s", dir, i == 0 ? "env" : i == 1 ? "xdg" : "home");
            setenv(vars[i], val, 1);
            slash = strrchr(path, '/');
            snprintf(want, sizeof want, "%s%s%s", dir, tails[i], slash ? slash : "/?");
            snprintf(name, sizeof name, "tune: the cache file is found through %s (%s...)", vars[i], tails[i]);
            /* a file already there names 'other' */
            snprintf(sub, sizeof sub, "%s%s", dir, tails[i]);
            {
                char cmd[1400];
                snprintf(cmd, sizeof cmd, "mkdir -p '%s'", sub);
                if (system(cmd) != 0) printf("  (mkdir -p %s failed)\n", sub);
            }
            write_text(want, text);
            cl = tune_create(dev, NULL, FCN_CL_TUNE_AUTO, &err);
            if (cl && strcmp(fcn_cl_tuned(cl)->cache, want) != 0)
                fail(name, "cache '%s', expected '%s'", fcn_cl_tuned(cl)->cache, want);
            else
                tune_case(name, cl, &err, FCN_CL_TILE_CACHED, other, NULL);
        }
        unsetenv("XDG_CACHE_HOME");
        if (xdg) setenv("XDG_CACHE_HOME", xdg, 1);
        if (home) setenv("HOME", home, 1);
        else unsetenv("HOME");
        free(home);
        free(xdg);
    }
    if (keep_env[0]) setenv("FCN_OPENCL_CACHE", keep_env, 1);
    else unsetenv("FCN_OPENCL_CACHE");

    /* a shape given, by option or environment; bad ones refused */
    {
        fcn_cl_options o;
        memset(&o, 0, sizeof o);
        o.device = dev;
        o.conv_kernel = FCN_CL_CONV_TILED;
        setenv("FCN_OPENCL_TILE", "2", 1);
        cl = NULL;
        fcn_cl_create(&o, &cl, &err);
        tune_case("tune: FCN_OPENCL_TILE=2 sets the shape", cl, &err, FCN_CL_TILE_SET, 2, NULL);
        for (i = 0; i < 3; i++) {
            const char *bad[3] = {"0", "99", "2x"};
            setenv("FCN_OPENCL_TILE", bad[i], 1);
            cl = NULL;
            if (fcn_cl_create(&o, &cl, &err) == FCN_ERR_ARG && !cl && strstr(err.message, "FCN_OPENCL_TILE")) continue;
            fail("tune: a bad FCN_OPENCL_TILE is an error", "'%s': %s", bad[i], cl ? "accepted" : err.message);
            fcn_cl_free(cl);
            break;
        }
        if (i == 3) pass("tune: a bad FCN_OPENCL_TILE is an error (0, 99, 2x)");
        unsetenv("FCN_OPENCL_TILE");
        o.tile = n + 1;
        cl = NULL;
        if (fcn_cl_create(&o, &cl, &err) == FCN_ERR_ARG && !cl && strstr(err.message, "options.tile")) pass("tune: a bad options.tile is an error");
        else fail("tune: a bad options.tile is an error", "%s", cl ? "accepted" : err.message);
        fcn_cl_free(cl);
        o.tile = 0;
        o.tune = 7;
        cl = NULL;
        if (fcn_cl_create(&o, &cl, &err) == FCN_ERR_ARG && !cl && strstr(err.message, "options.tune")) pass("tune: a bad options.tune is an error");
        else fail("tune: a bad options.tune is an error", "%s", cl ? "accepted" : err.message);
        fcn_cl_free(cl);
        o.tune = 0;
        o.conv_kernel = FCN_CL_CONV_SIMPLE;
        cl = NULL;
        if (fcn_cl_create(&o, &cl, &err) == FCN_OK && fcn_cl_tuned(cl)->from == FCN_CL_TILE_UNUSED && fcn_cl_tuned(cl)->tile == 0)
            pass("tune: another convolution kernel does not tune");
        else
            fail("tune: another convolution kernel does not tune", "%s", cl ? "tuned" : err.message);
        fcn_cl_free(cl);
    }
}

int main(int argc, char **argv)
{
    fcn_error err;
    fcn_cl *cl = NULL, *cls[MAX_CL];
    fcn_cl_options o;
    char names[MAX_CL][120];
    const char *np[MAX_CL];
    int j, ncl = 2 + fcn_cl_tile_count(), ok = 1;
    int n = 0, ci = getenv("CI") && getenv("CI")[0], gpu, quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    char dev[16];
    double t0, t1;
    fcn_status st;
    if (argc > 1 && strcmp(argv[1], "--no-platform-child") == 0) return child_no_platform();
    /* whole lines: a driver's message on stderr (PoCL's "1 error generated.") must not
       split a PASS line when stdout is a file */
    setvbuf(stdout, NULL, _IOLBF, 0);
    pocl_cache();
    /* tuning writes its cache file here, not under $HOME, unless the caller says where */
    if (!getenv("FCN_OPENCL_CACHE") && temp_dir()) setenv("FCN_OPENCL_CACHE", temp_dirs[0], 1);
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
        remove_temp_dirs();
        return failures ? 1 : 0;
    }
    test_no_platform(argv[0]);
    t0 = now();
    if (fcn_cl_create(NULL, &cl, &err) != FCN_OK) {
        fail("opencl: create on the default device", "%s", err.message);
        remove_temp_dirs();
        return 1;
    }
    t1 = now();
    gpu = fcn_cl_device(cl)->gpu;
    printf("  device %d: %s (%s, driver %s); clBuildProgram %.3f s, fcn_cl_create %.3f s (%s kernel%s)\n",
           fcn_cl_device(cl)->index, fcn_cl_device(cl)->name, fcn_cl_device(cl)->platform_name, fcn_cl_device(cl)->driver,
           fcn_cl_build_seconds(cl), t1 - t0, fcn__cl_conv_names[cl->conv],
           fcn_cl_tuned(cl)->from == FCN_CL_TILE_TIMED ? ", shapes timed" : "");
    pass("opencl: create on the default device");
    snprintf(dev, sizeof dev, "%d", fcn_cl_device(cl)->index);
    test_source();
    test_devices(cl);
    test_tiles();

    /* every convolution kernel and every shape of the tiled one, built once each */
    memset(&o, 0, sizeof o);
    o.device = dev;
    for (j = 0; j < ncl; j++) {
        char name[200];
        o.conv_kernel = j == 0 ? FCN_CL_CONV_SIMPLE : j == 1 ? FCN_CL_CONV_VECTOR : FCN_CL_CONV_TILED;
        o.tile = j < 2 ? 0 : j - 1;
        if (j < 2) snprintf(names[j], sizeof names[j], "%s", j ? "vector" : "simple");
        else snprintf(names[j], sizeof names[j], "tiled %d (%s)", j - 1, fcn_cl_tile_name(j - 1));
        np[j] = names[j];
        snprintf(name, sizeof name, "opencl: create with the %.120s kernel", names[j]);
        t0 = now();
        cls[j] = NULL;
        if (fcn_cl_create(&o, &cls[j], &err) != FCN_OK) {
            fail(name, "%s", err.message);
            ok = 0;
        } else if (j >= 2 && (fcn_cl_tuned(cls[j])->tile != j - 1 || fcn_cl_tuned(cls[j])->from != FCN_CL_TILE_SET)) {
            fail(name, "the tuning says shape %d (from %d), asked for %d", fcn_cl_tuned(cls[j])->tile,
                 fcn_cl_tuned(cls[j])->from, j - 1);
            ok = 0;
        }
        if (j >= 2) printf("  (%s: built in %.2f s)\n", names[j], now() - t0);
    }
    if (ok) {
        t0 = now();
        for (j = 0; j < ncl; j++) test_slide(cls[j], np[j]);
        for (j = 0; j < ncl; j++) test_fixed(cls[j], np[j]);
        test_random(cls, np, ncl, quick ? 20 : 150, 0x5EED0001ULL);
        test_wide(cls, np, ncl);
        printf("  (slide, random, fixed and wide nets: %.2f s)\n", now() - t0);
        t0 = now();
        test_adapt(cls[2 + (FCN__CL_TILE_DEFAULT - 1)], gpu);
        printf("  (work-groups fitted to small layers: %.2f s)\n", now() - t0);
        t0 = now();
        test_isbi(cls, np, ncl, gpu, ci, quick);
        printf("  (isbi: %.2f s)\n", now() - t0);
        t0 = now();
        test_pieces(dev);
        test_pieces_kernels(cls, np, ncl);
        printf("  (pieces: %.2f s)\n", now() - t0);
        t0 = now();
        test_tune(dev);
        printf("  (tuning: %.2f s)\n", now() - t0);
        test_errors(cl, dev);
        test_caller_queue(fcn_cl_device(cl));
    }
    for (j = 0; j < ncl; j++) fcn_cl_free(cls[j]);
    fcn_cl_free(cl);
    remove_temp_dirs();
    if (pocl_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", pocl_dir);
        if (system(cmd) != 0) printf("  (could not remove %s)\n", pocl_dir);
    }
    return failures ? 1 : 0;
}
