/* test_isbi.c - dense == sliding, bit for bit, on real electron-microscopy images: the
   ISBI 2012 slices (512 x 512, 8-bit grey PNGs) read from $FCN_DATA, else from
   ../shared/data/isbi2012 relative to the working directory (the repository root under
   make test). The images are never copied into the repository.

   Nets (random weights, grey input, scale 1/255):
   - the talk's 95 x 95 architecture ("n4"): conv 4x4 48, maxpool 2, conv 5x5 48,
     maxpool 2, conv 4x4 48, maxpool 2, conv 4x4 48, maxpool 2, fc 200, fc 2, softmax,
     relu after each conv and the fc 200, He-initialised (the map must not be constant
     or saturated). The whole 512 x 512 dense map at output stride 1 is computed once and
     compared with the sliding path on rectangles and sampled pixels; the other border
     modes and output strides on sampled pixels (sliding vs a 1 x 1 dense rectangle).
     The sliding path costs about 0.25 GFLOP per pixel on this net: the number of
     sliding pixels below is what keeps the program near 30 s on 2 cores at -O3.
   - the same architecture with tanh, on a few pixels;
   - a few small random nets: whole dense maps for every border mode, compared with the
     sliding path on a rectangle and sampled pixels.

   Without the data: "SKIP: isbi: ISBI data not found (looked in ...)", a FAIL when the
   environment variable CI is set (CI=true). Prints PASS/FAIL/SKIP lines like test_core.
   --quick: the same cases with one sliding pixel where there are many, and two random
   nets (the sanitizer build of tests/robust/sanitize.sh, where a sliding pixel of n4
   takes seconds). */
#define _POSIX_C_SOURCE 200809L
#define FCN_IMPLEMENTATION
#include "fcn.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_FAILURE_USERMSG
#include "stb_image.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HARNESS_NAME "isbi"
#include "../lib/harness.h"

/* Bitwise comparison of two h x w x k maps; reports the first differing value. */
static int same_map(const float *a, const float *b, int h, int w, int k, const char *ctx)
{
    size_t n = (size_t)h * (size_t)w * (size_t)k, i, first = 0, count = 0;
    if (memcmp(a, b, n * sizeof(float)) == 0) return 1;
    for (i = 0; i < n; i++)
        if (fbits(a[i]) != fbits(b[i]) && count++ == 0) first = i;
    check(0,
          "%s: differ in %lu of %lu values; first at pixel (x=%d, y=%d) channel %d: %a (0x%08lx) vs %a (0x%08lx), "
          "xor 0x%08lx",
          ctx, (unsigned long)count, (unsigned long)n, (int)((first / (size_t)k) % (size_t)w),
          (int)(first / (size_t)k / (size_t)w), (int)(first % (size_t)k), (double)a[first], (unsigned long)fbits(a[first]),
          (double)b[first], (unsigned long)fbits(b[first]), (unsigned long)(fbits(a[first]) ^ fbits(b[first])));
    return 0;
}

/* ------------------------------------------------------------------ data */

static float *load_png(const char *dir, const char *rel, int *h, int *w, char *why, size_t nwhy)
{
    char path[1024];
    int x, y, n;
    unsigned char *px;
    float *img;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    px = stbi_load(path, &x, &y, &n, 1);
    if (!px) {
        snprintf(why, nwhy, "%s: %s", path, stbi_failure_reason());
        return NULL;
    }
    img = (float *)xmalloc((size_t)x * (size_t)y * sizeof(float));
    for (n = 0; n < x * y; n++) img[n] = (float)px[n];
    stbi_image_free(px);
    *h = y;
    *w = x;
    return img;
}

/* ------------------------------------------------------------------ nets */

/* Weights uniform in +-sqrt(6 / fan_in) (He), biases small: activations neither die nor
   saturate through the layers. */
static void he_init(rng *r, fcn_net *net)
{
    int i;
    for (i = 0; i < fcn_net_layer_count(net); i++) {
        size_t nw, nb, k;
        float *w = fcn_net_weights(net, i, &nw), *b = fcn_net_bias(net, i, &nb);
        float a;
        if (!w) continue;
        a = sqrtf(6.0f / (float)(nw / nb));
        for (k = 0; k < nw; k++) w[k] = runif(r) * a;
        for (k = 0; k < nb; k++) b[k] = runif(r) * 0.05f;
    }
}

static fcn_net *n4_net(rng *r, fcn_layer_type act)
{
    fcn_layer L[16];
    fcn_net *net = NULL;
    fcn_error e;
    float mean = 0.5f;
    int n = 0;
    L[n++] = mk_layer(FCN_LAYER_CONV, 48, 4, 1); /* 95 -> 92 */
    L[n++] = mk_layer(act, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_MAXPOOL, 0, 2, 0); /* 46 */
    L[n++] = mk_layer(FCN_LAYER_CONV, 48, 5, 1);   /* 42 */
    L[n++] = mk_layer(act, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_MAXPOOL, 0, 2, 0); /* 21 */
    L[n++] = mk_layer(FCN_LAYER_CONV, 48, 4, 1);   /* 18 */
    L[n++] = mk_layer(act, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_MAXPOOL, 0, 2, 0); /* 9 */
    L[n++] = mk_layer(FCN_LAYER_CONV, 48, 4, 1);   /* 6 */
    L[n++] = mk_layer(act, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_MAXPOOL, 0, 2, 0); /* 3 */
    L[n++] = mk_layer(FCN_LAYER_FC, 200, 0, 0);
    L[n++] = mk_layer(act, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_FC, 2, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_SOFTMAX, 0, 0, 0);
    if (!check(fcn_net_create(95, 95, 1, L, n, &net, &e) == FCN_OK, "create: %s", e.message)) return NULL;
    he_init(r, net);
    fcn_net_set_transform(net, 1.0f / 255.0f, &mean, NULL); /* x' = (x - 0.5) / 255 */
    return net;
}

/* A small random net on a grey patch of 15..41 pixels. */
static fcn_net *random_net(rng *r, char *desc, size_t ndesc)
{
    fcn_layer L[16];
    fcn_net *net = NULL;
    fcn_error e;
    int n = 0, p = rint_(r, 15, 41), h = p, k, i, nconv = rint_(r, 1, 3);
    size_t len;
    snprintf(desc, ndesc, "patch %d", p);
    for (i = 0; i < nconv && h >= 4; i++) {
        int st = rint_(r, 1, 2);
        k = rint_(r, 2, h < 7 ? h : 7);
        L[n++] = mk_layer(FCN_LAYER_CONV, rint_(r, 2, 12), k, st);
        h = (h - k) / st + 1;
        L[n++] = mk_layer(rint_(r, 0, 1) ? FCN_LAYER_RELU : FCN_LAYER_TANH, 0, 0, 0);
        if (h >= 3 && rint_(r, 0, 1)) {
            int pk = rint_(r, 2, 3), ps = pk == 3 ? 2 : pk; /* 3x3/2 overlapping, 2x2/2 not */
            L[n++] = mk_layer(rint_(r, 0, 1) ? FCN_LAYER_MAXPOOL : FCN_LAYER_AVGPOOL, 0, pk, ps);
            h = (h - pk) / ps + 1;
        }
    }
    L[n++] = mk_layer(FCN_LAYER_FC, rint_(r, 4, 32), 0, 0);
    L[n++] = mk_layer(FCN_LAYER_SIGMOID, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_FC, 2, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_SOFTMAX, 0, 0, 0);
    if (!check(fcn_net_create(p, p, 1, L, n, &net, &e) == FCN_OK, "create (%s): %s", desc, e.message)) return NULL;
    {   /* keep the whole-slice dense map cheap: at most 3 GFLOP at stride 1 */
        double fl = 0;
        if (fcn_map_flops(net, 512, 512, NULL, NULL, NULL, NULL, &fl, NULL) != FCN_OK || fl > 3e9) {
            fcn_net_free(net);
            return random_net(r, desc, ndesc);
        }
    }
    he_init(r, net);
    fcn_net_set_transform(net, 1.0f / 255.0f, NULL, NULL);
    for (i = 0; i < n; i++) {
        fcn_layer l;
        memset(&l, 0, sizeof l);
        fcn_net_layer(net, i, &l, NULL, NULL);
        len = strlen(desc);
        if (l.type == FCN_LAYER_CONV)
            snprintf(desc + len, ndesc - len, " | conv %d %dx%d/%d", l.maps, l.kh, l.kw, l.stride);
        else if (l.type == FCN_LAYER_MAXPOOL || l.type == FCN_LAYER_AVGPOOL)
            snprintf(desc + len, ndesc - len, " | %s %d/%d", fcn_layer_name(l.type), l.kh, l.stride);
        else if (l.type == FCN_LAYER_FC)
            snprintf(desc + len, ndesc - len, " | fc %d", l.maps);
        else
            snprintf(desc + len, ndesc - len, " | %s", fcn_layer_name(l.type));
    }
    return net;
}

/* ------------------------------------------------------------------ checks */

/* Sampled pixels: the four corners, points on the four edges, the rest at random. */
static void sample_pixel(rng *r, int i, int oh, int ow, int *x, int *y)
{
    switch (i) {
    case 0: *x = 0, *y = 0; break;
    case 1: *x = ow - 1, *y = 0; break;
    case 2: *x = 0, *y = oh - 1; break; /* the caller's 1x2 rect then holds oh-2..oh-1 */
    case 3: *x = ow - 1, *y = oh - 1; break;
    case 4: *x = rint_(r, 0, ow - 1), *y = 0; break;
    case 5: *x = 0, *y = rint_(r, 0, oh - 1); break;
    case 6: *x = rint_(r, 0, ow - 1), *y = oh - 1; break;
    case 7: *x = ow - 1, *y = rint_(r, 0, oh - 1); break;
    default: *x = rint_(r, 0, ow - 1), *y = rint_(r, 0, oh - 1); break;
    }
}

/* The sliding path on rect (x, y, w, h) against the same rect of a whole dense map. */
static void rect_vs_map(const fcn_net *net, const float *img, int H, int W, fcn_options o, const float *map,
                        int mw, int x, int y, int w, int h, const char *what)
{
    int K = fcn_net_outputs(net), r;
    float *s = (float *)xmalloc((size_t)w * (size_t)h * (size_t)K * sizeof(float)), *c = (float *)xmalloc((size_t)w * (size_t)h * (size_t)K * sizeof(float));
    fcn_error e;
    char ctx[512];
    o.path = FCN_PATH_SLIDING;
    o.rect_x = x, o.rect_y = y, o.rect_w = w, o.rect_h = h;
    snprintf(ctx, sizeof ctx, "%s: sliding %dx%d rect at (x=%d, y=%d), border %s, stride %d vs the whole dense map", what, w,
             h, x, y, border_name(o.border), o.stride ? o.stride : 1);
    for (r = 0; r < h; r++)
        memcpy(c + (size_t)r * (size_t)w * (size_t)K, map + ((size_t)(y + r) * (size_t)mw + (size_t)x) * (size_t)K, (size_t)w * (size_t)K * sizeof(float));
    if (check(fcn_map(net, img, H, W, &o, s, &e) == FCN_OK, "%s: %s", ctx, e.message)) same_map(s, c, h, w, K, ctx);
    free(s);
    free(c);
}

/* n sampled pixels: the sliding path on a 1x2 rect (two rows: both threads of a 2-core
   machine work on it) holding the pixel, against the whole dense map if given, else
   against the same dense rect. */
static void sampled(rng *r, const fcn_net *net, const float *img, int H, int W, fcn_options o, const float *map, int n,
                    const char *what)
{
    int K = fcn_net_outputs(net), oh = 0, ow = 0, i;
    fcn_error e;
    if (!check(fcn_map_size(net, H, W, &o, &oh, &ow, &e) == FCN_OK, "%s: %s", what, e.message)) return;
    for (i = 0; i < n; i++) {
        int x, y, rh = oh < 2 ? 1 : 2;
        float s[16], d[16];
        char ctx[512];
        sample_pixel(r, i, oh, ow, &x, &y);
        if (y > oh - rh) y = oh - rh;
        snprintf(ctx, sizeof ctx, "%s: pixels (x=%d, y=%d..%d) of the %dx%d map, border %s, stride %d, sliding vs %s", what,
                 x, y, y + rh - 1, ow, oh, border_name(o.border), o.stride ? o.stride : 1,
                 map ? "the whole dense map" : "a dense rect");
        o.rect_x = x, o.rect_y = y, o.rect_w = 1, o.rect_h = rh;
        o.path = FCN_PATH_SLIDING;
        if (!check(fcn_map(net, img, H, W, &o, s, &e) == FCN_OK, "%s: %s", ctx, e.message)) continue;
        if (map) {
            int k;
            for (k = 0; k < rh; k++) memcpy(d + k * K, map + ((size_t)(y + k) * (size_t)ow + (size_t)x) * (size_t)K, (size_t)K * sizeof(float));
            same_map(s, d, rh, 1, K, ctx);
        } else {
            o.path = FCN_PATH_DENSE;
            if (check(fcn_map(net, img, H, W, &o, d, &e) == FCN_OK, "%s: %s", ctx, e.message)) same_map(s, d, rh, 1, K, ctx);
        }
    }
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0, n1 = quick ? 1 : 6, n2 = quick ? 1 : 4;
    const char *env = getenv("FCN_DATA"), *ci = getenv("CI");
    const char *dir = env && *env ? env : "../shared/data/isbi2012";
    int in_ci = ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
    char why[1200], note[1024];
    float *img[2] = {NULL, NULL};
    int H = 0, W = 0, H2 = 0, W2 = 0, i;
    double t0 = now();
    rng r = {0x15B12012u};

    setvbuf(stdout, NULL, _IOLBF, 0);
    img[0] = load_png(dir, "train-images/0.png", &H, &W, why, sizeof why);
    if (img[0]) img[1] = load_png(dir, "test-images/7.png", &H2, &W2, why, sizeof why);
    if (!img[0] || !img[1]) {
        printf("%s: isbi: ISBI data not found (looked in %s%s; set FCN_DATA to the folder with train-images/ and "
               "test-images/): %s\n",
               in_ci ? "FAIL" : "SKIP", dir, env && *env ? ", from FCN_DATA" : "", why);
        free(img[0]);
        return in_ci ? 1 : 0;
    }
    printf("# isbi: data in %s, dense kernels %s\n", dir, fcn_simd_name());
    begin("isbi: the slices are 512x512 grey and not blank");
    check(H == 512 && W == 512 && H2 == 512 && W2 == 512, "sizes %dx%d and %dx%d", W, H, W2, H2);
    {
        float lo = 255, hi = 0;
        for (i = 0; i < H * W; i++) lo = img[0][i] < lo ? img[0][i] : lo, hi = img[0][i] > hi ? img[0][i] : hi;
        check(hi - lo > 100, "train-images/0.png spans only %g..%g", (double)lo, (double)hi);
    }
    end();
    if (n_fail) return 1;

    /* ---- the n4 architecture with relu: the whole dense map, then the sliding path */
    {
        fcn_net *net = n4_net(&r, FCN_LAYER_RELU);
        float *map = NULL;
        fcn_options o;
        fcn_error e;
        int oh = 0, ow = 0, K = 2, b;
        double t, sl_t;
        memset(&o, 0, sizeof o);
        begin("isbi: n4 (95x95, relu) dense map of the whole 512x512 slice, mirror border, stride 1");
        if (net && check(fcn_map_size(net, H, W, &o, &oh, &ow, &e) == FCN_OK, "%s", e.message)) {
            double fl = 0;
            map = (float *)xmalloc((size_t)oh * (size_t)ow * (size_t)K * sizeof(float));
            fcn_map_flops(net, H, W, &o, NULL, NULL, NULL, &fl, NULL);
            t = now();
            if (!check(fcn_map(net, img[0], H, W, &o, map, &e) == FCN_OK, "%s", e.message)) {
                free(map);
                map = NULL;
            }
            t = now() - t;
            if (map) {
                float lo = 1, hi = 0;
                long mid = 0;
                for (i = 0; i < oh * ow; i++) {
                    float v = map[(size_t)i * 2];
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                    mid += v > 0.02f && v < 0.98f;
                    check(v == v && fabsf(v + map[(size_t)i * 2 + 1] - 1.0f) < 1e-5f, "pixel %d: %g + %g is not 1", i,
                          (double)v, (double)map[(size_t)i * 2 + 1]);
                }
                check(hi - lo > 1e-3f, "the map is constant: channel 0 spans %g..%g", (double)lo, (double)hi);
                check(mid > oh * ow / 2, "the map is saturated: only %ld of %d values in (0.02, 0.98)", mid, oh * ow);
                snprintf(note, sizeof note, "%.2f s (%.0f GFLOP dense), P(class 0) spans %.3f..%.3f, %.0f%% unsaturated", t,
                         fl * 1e-9, (double)lo, (double)hi, 100.0 * (double)mid / (oh * ow));
            }
        }
        end_note(map ? note : NULL);

        if (map) {
            int rx = rint_(&r, 8, ow - 16), ry = rint_(&r, 8, oh - 16);
            begin("isbi: n4 sliding %dx%d rect at a random place == the dense map", n1, n1);
            sl_t = now();
            rect_vs_map(net, img[0], H, W, o, map, ow, rx, ry, n1, n1, "n4");
            sl_t = now() - sl_t;
            snprintf(note, sizeof note, "at (x=%d, y=%d), %.2f s for %d sliding pixels (%.0f ms each, %d threads)", rx, ry,
                     sl_t, n1 * n1, sl_t * 1000 / (n1 * n1), fcn__cpus());
            end_note(note);
            begin("isbi: n4 sliding %dx%d rect at the corner (0,0) == the dense map", n2, n2);
            rect_vs_map(net, img[0], H, W, o, map, ow, 0, 0, n2, n2, "n4");
            end();
            begin("isbi: n4 sliding 2x2 rect at the corner (510,510) == the dense map");
            rect_vs_map(net, img[0], H, W, o, map, ow, ow - 2, oh - 2, 2, 2, "n4");
            end();
            begin("isbi: n4 dense rects == the same rects of the whole dense map");
            {
                static const int rects[][4] = {{0, 0, 512, 17}, {100, 200, 37, 70}, {495, 3, 17, 9}, {250, 511, 262, 1}};
                int k;
                for (k = 0; k < 4; k++) {
                    int x = rects[k][0], y = rects[k][1], w = rects[k][2], h = rects[k][3], rr;
                    float *d = (float *)xmalloc((size_t)w * (size_t)h * (size_t)K * sizeof(float)),
                          *c = (float *)xmalloc((size_t)w * (size_t)h * (size_t)K * sizeof(float));
                    char ctx[128];
                    fcn_options o2 = o;
                    o2.rect_x = x, o2.rect_y = y, o2.rect_w = w, o2.rect_h = h;
                    o2.threads = 1 + k % 3;
                    o2.kernel = k % 2 ? FCN_KERNEL_PORTABLE : FCN_KERNEL_AUTO;
                    snprintf(ctx, sizeof ctx, "dense rect %dx%d at (x=%d, y=%d), %s kernels", w, h, x, y,
                             k % 2 ? "portable" : "auto");
                    for (rr = 0; rr < h; rr++)
                        memcpy(c + (size_t)rr * (size_t)w * (size_t)K, map + ((size_t)(y + rr) * (size_t)ow + (size_t)x) * (size_t)K, (size_t)w * (size_t)K * sizeof(float));
                    if (check(fcn_map(net, img[0], H, W, &o2, d, &e) == FCN_OK, "%s: %s", ctx, e.message))
                        same_map(d, c, h, w, K, ctx);
                    free(d);
                    free(c);
                }
            }
            end();
            begin("isbi: n4 %d sampled pixels (corners, edges), mirror border, sliding == the whole dense map", quick ? 2 : 16);
            sampled(&r, net, img[0], H, W, o, map, quick ? 1 : 8, "n4");
            end();
        }
        for (b = 1; b < 4; b++) {
            fcn_options o2 = o;
            o2.border = (fcn_border)b;
            o2.stride = b; /* zero: 1, replicate: 2, valid: 3 */
            begin("isbi: n4 %d sampled pixels (corners), border %s, stride %d, sliding == dense", quick ? 2 : 8, border_name(o2.border), b);
            sampled(&r, net, img[1], H2, W2, o2, NULL, quick ? 1 : 4, "n4");
            end();
        }
        free(map);
        fcn_net_free(net);
    }

    /* ---- the n4 architecture with tanh: a few pixels */
    {
        fcn_net *net = n4_net(&r, FCN_LAYER_TANH);
        fcn_options o;
        memset(&o, 0, sizeof o);
        begin("isbi: n4 (95x95, tanh) %d sampled pixels, mirror border, sliding == dense", quick ? 2 : 4);
        if (net) sampled(&r, net, img[1], H2, W2, o, NULL, quick ? 1 : 2, "n4-tanh");
        end();
        fcn_net_free(net);
    }

    /* ---- small random nets: whole dense maps for every border mode */
    for (i = 0; i < (quick ? 2 : 4); i++) {
        char desc[512];
        fcn_net *net;
        int b;
        begin("isbi: random net %d", i);
        net = random_net(&r, desc, sizeof desc);
        if (!net) {
            end();
            continue;
        }
        for (b = 0; b < 4; b++) {
            fcn_options o;
            fcn_error e;
            int oh = 0, ow = 0, K = fcn_net_outputs(net);
            float *map;
            char what[600];
            memset(&o, 0, sizeof o);
            o.border = (fcn_border)b;
            o.stride = 1 + (i + b) % 3;
            snprintf(what, sizeof what, "net [%s]", desc);
            if (!check(fcn_map_size(net, H, W, &o, &oh, &ow, &e) == FCN_OK, "%s: %s", what, e.message)) continue;
            map = (float *)xmalloc((size_t)oh * (size_t)ow * (size_t)K * sizeof(float));
            if (check(fcn_map(net, img[i % 2], H, W, &o, map, &e) == FCN_OK, "%s: dense: %s", what, e.message)) {
                int rw = 16 < ow ? 16 : ow, rh = 16 < oh ? 16 : oh;
                rect_vs_map(net, img[i % 2], H, W, o, map, ow, rint_(&r, 0, ow - rw), rint_(&r, 0, oh - rh), rw, rh, what);
                sampled(&r, net, img[i % 2], H, W, o, map, 10, what);
            }
            free(map);
        }
        snprintf(note, sizeof note, "%s; every border, whole dense maps vs a 16x16 sliding rect and 20 pixels each",
                 desc);
        end_note(note);
        fcn_net_free(net);
    }

    free(img[0]);
    free(img[1]);
    printf("# isbi: %d passed, %d failed, %d skipped in %.1f s\n", n_pass, n_fail, n_skip, now() - t0);
    return n_fail ? 1 : 0;
}
