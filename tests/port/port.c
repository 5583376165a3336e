/* port.c - the same bits on every target. Built for this machine (the reference: on
   x86-64 its AVX-512 or AVX2 kernels) and, by tests/port/test_port.sh, for aarch64 (NEON
   kernels), s390x (big-endian; float evaluated in double under -std=c99) and 32-bit
   x86 (x87: float evaluated in long double; and SSE2), run under qemu. Every build
   computes the same cases:

     arith    fcn_expf, fcn_tanhf, fcn_sigmoidf on a grid of [-96, 96] in steps of
              1/512 and on 65536 random bit patterns (NaNs, infinities, subnormals);
              every NaN they return is 0x7fc00000;
     slide    the slide's model (models/slide-7x7x3.fcn) on its input (tests/data/slide-x.npy);
     net N    random networks with tanh, sigmoid, relu, softmax, max and average pools,
              non-integer images, means and scales (the input transform rounds), every
              fourth image with NaN and infinite pixels; each saved (its .fcn bytes) and
              loaded again;
     isbi     a small membrane network on a crop of a real EM slice; the membrane model
              loaded from .fcn, ONNX and Caffe (the same layers and weight bits), and
              one pixel of its map;
     32-bit   sizes near the limits: an int field past INT_MAX in a model file, the
              dense path's tile search and fcn_map_flops on an 8192 x 2700 map.

   Within one build a map is computed on the dense path with the build's kernels, with
   the portable kernels (where the build has others), in column tiles of a 60 kB budget
   on 2 threads, and on the sliding path (the membrane crops: dense only), and compared
   bit for bit; every NaN in it must be 0x7fc00000. Across builds: the reference build
   writes every map (and saved model's bytes) to a file, little-endian, and the others
   compare theirs with it:

       port --write FILE [options]     the reference
       port --check FILE [options]     compares each case with FILE's

   Options: --name NAME (prefixes every line: "PASS: NAME: case"), --root DIR (the
   repository, default .), --data DIR (the ISBI slices, default $FCN_DATA or
   ../shared/data/isbi2012), --tmp DIR (for saved models, default $TMPDIR or /tmp),
   --isbi N (the crop's output side, default 24; 0: none), --nets N (default 10),
   --n4 0|1 (the membrane model's pixel, default 1: 0.25 GFLOP, slow under qemu). A
   difference is reported with the pixel, the channel and both values' bits. Every
   input here is made by operations that round the same everywhere (powers of two,
   integers, floats given by their bits), so that a difference is fcn.h's. */
#define _POSIX_C_SOURCE 200809L
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_FAILURE_USERMSG
#include "stb_image.h" /* found with -isystem (the Makefile, test_port.sh): its warnings are not ours */

#include <float.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HARNESS_NAME "port"
#include "../lib/harness.h"

/* ------------------------------------------------------------------ the results file */

static const char *prefix = "port";
static FILE *out_file;         /* --write */
static unsigned char *ref;     /* --check: the whole file */
static size_t ref_n;
static char ref_name[64] = "the reference"; /* its build's --name */

static void put_le32(unsigned char *p, uint32_t u)
{
    p[0] = (unsigned char)(u & 0xFFu);
    p[1] = (unsigned char)((u >> 8) & 0xFFu);
    p[2] = (unsigned char)((u >> 16) & 0xFFu);
    p[3] = (unsigned char)(u >> 24);
}

/* A case's record: a line "name h w k bytes", then the bytes (floats little-endian). The
   reference's record of that name, or NULL. */
static const unsigned char *ref_find(const char *name, int *h, int *w, int *k, size_t *bytes)
{
    size_t at = 0;
    while (at < ref_n) {
        const unsigned char *nl = (const unsigned char *)memchr(ref + at, '\n', ref_n - at);
        char line[512], nm[300];
        unsigned long nb;
        size_t len;
        if (!nl) return NULL;
        len = (size_t)(nl - (ref + at));
        if (len >= sizeof line) return NULL;
        memcpy(line, ref + at, len);
        line[len] = '\0';
        if (sscanf(line, "%299[^\t]\t%d %d %d %lu", nm, h, w, k, &nb) != 5) return NULL;
        at += len + 1;
        if (nb > ref_n - at) return NULL;
        *bytes = nb;
        if (strcmp(nm, name) == 0) return ref + at;
        at += nb;
    }
    return NULL;
}

/* Writes or checks a record of raw bytes (a saved model). */
static void result_bytes(const char *name, const unsigned char *b, size_t n)
{
    int h, w, k;
    size_t rn, i;
    const unsigned char *r;
    if (out_file) {
        fprintf(out_file, "%s\t0 0 0 %lu\n", name, (unsigned long)n);
        fwrite(b, 1, n, out_file);
        return;
    }
    begin("%s: %s: the same bytes as %s's", prefix, name, ref_name);
    if (!(r = ref_find(name, &h, &w, &k, &rn))) check(0, "no such record in the reference");
    else if (rn != n) check(0, "%lu bytes, the reference %lu", (unsigned long)n, (unsigned long)rn);
    else
        for (i = 0; i < n; i++)
            if (b[i] != r[i] && !check(0, "byte %lu: 0x%02x, the reference 0x%02x", (unsigned long)i, b[i], r[i])) break;
    end();
}

/* Reports the first difference of two h x w x k maps (pixel, channel, both bits) and
   how many values differ; 1 if none. */
static int same_bits(const float *a, const float *b, int h, int w, int k, const char *what)
{
    size_t n = (size_t)h * (size_t)w * (size_t)k, i, first = 0, count = 0;
    if (memcmp(a, b, n * sizeof(float)) == 0) return 1;
    for (i = 0; i < n; i++)
        if (fbits(a[i]) != fbits(b[i]) && count++ == 0) first = i;
    return check(0, "%s: %lu of %lu values differ; the first at pixel (y=%d, x=%d) channel %d: %.9g (0x%08lx) vs %.9g (0x%08lx)",
                 what, (unsigned long)count, (unsigned long)n, (int)(first / (size_t)k / (size_t)w),
                 (int)(first / (size_t)k % (size_t)w), (int)(first % (size_t)k), (double)a[first],
                 (unsigned long)fbits(a[first]), (double)b[first], (unsigned long)fbits(b[first]));
}

/* Writes or checks a map's record. */
static void result_map(const char *name, const float *m, int h, int w, int k)
{
    size_t n = (size_t)h * (size_t)w * (size_t)k, i, rn;
    int rh, rw, rk;
    const unsigned char *r;
    unsigned char b[4];
    if (out_file) {
        fprintf(out_file, "%s\t%d %d %d %lu\n", name, h, w, k, (unsigned long)(n * 4));
        for (i = 0; i < n; i++) {
            put_le32(b, fbits(m[i]));
            fwrite(b, 1, 4, out_file);
        }
        return;
    }
    begin("%s: %s: the same bits as %s's", prefix, name, ref_name);
    if (!(r = ref_find(name, &rh, &rw, &rk, &rn))) {
        check(0, "no such record in the reference");
    } else if (rh != h || rw != w || rk != k || rn != n * 4) {
        check(0, "a %dx%dx%d map, the reference %dx%dx%d", h, w, k, rh, rw, rk);
    } else {
        float *x = (float *)xmalloc(n * sizeof(float));
        for (i = 0; i < n; i++) {
            uint32_t u = fcn__le32(r + 4 * i);
            memcpy(&x[i], &u, 4);
        }
        same_bits(m, x, h, w, k, "this build vs the reference");
        free(x);
    }
    end();
}

/* ------------------------------------------------------------------ maps */

/* The ways map_all computes a map (a bit each). */
enum { DENSE = 1, PORTABLE = 2, TILES = 4, SLIDING = 8, ALL_WAYS = 15, N_WAYS = 4 };

/* Maps net with the options *base (border, stride, rectangle) in the 'ways' of this
   build (the portable kernels only where it has others); checks that they agree bit
   for bit and that every NaN is the one quiet NaN; records the map as 'name'. Returns
   it (the caller frees it), NULL if none was made. */
static float *map_all(const char *name, const fcn_net *net, const float *img, int h, int w, const fcn_options *base,
                      int ways)
{
    static const char *const way[N_WAYS] = {"dense", "dense, portable kernels",
                                            "dense, tiles of a 60 kB budget, 2 threads", "sliding"};
    float *m[N_WAYS] = {NULL, NULL, NULL, NULL};
    int oh = 0, ow = 0, k = fcn_net_outputs(net), i, first = -1;
    size_t n, j, nans;
    char note[64];
    fcn_error e;
    fcn_options o = *base;
    char said[256] = "";
    if (strcmp(fcn_simd_name(), "none") == 0) ways &= ~PORTABLE; /* the same code as DENSE */
    if (fcn_net_dense_check(net, NULL) != FCN_OK) ways &= SLIDING;
    for (i = 0; i < N_WAYS; i++)
        if (ways & (1 << i)) snprintf(said + strlen(said), sizeof said - strlen(said), "%s%s", *said ? " == " : "", way[i]);
    begin("%s: %s (border %s, stride %d): %s", prefix, name, border_name(o.border), o.stride ? o.stride : 1, said);
    if (!check(fcn_map_size(net, h, w, &o, &oh, &ow, &e) == FCN_OK, "fcn_map_size: %s", e.message)) {
        end();
        return NULL;
    }
    n = (size_t)oh * (size_t)ow * (size_t)k;
    for (i = 0; i < N_WAYS; i++) {
        if (!(ways & (1 << i))) continue;
        o.path = i == 3 ? FCN_PATH_SLIDING : FCN_PATH_DENSE;
        o.kernel = i == 1 ? FCN_KERNEL_PORTABLE : FCN_KERNEL_AUTO;
        o.max_memory = i == 2 ? 60000 : 0;
        o.threads = i == 2 ? 2 : 1;
        m[i] = (float *)xmalloc(n * sizeof(float));
        if (!check(fcn_map(net, img, h, w, &o, m[i], &e) == FCN_OK, "%s: %s", way[i], e.message)) {
            free(m[i]);
            m[i] = NULL;
            continue;
        }
        for (j = 0; j < n; j++)
            if (m[i][j] != m[i][j] && fbits(m[i][j]) != 0x7FC00000u) {
                check(0, "%s: value %lu is the NaN 0x%08lx, not 0x7fc00000", way[i], (unsigned long)j,
                      (unsigned long)fbits(m[i][j]));
                break;
            }
        if (first < 0) first = i;
        else same_bits(m[i], m[first], oh, ow, k, way[i]);
    }
    check(first >= 0, "no path ran");
    for (j = 0, nans = 0; first >= 0 && j < n; j++) nans += m[first][j] != m[first][j];
    if (nans) snprintf(note, sizeof note, "%lu of %lu values NaN", (unsigned long)nans, (unsigned long)n);
    end_note(nans ? note : NULL);
    if (first < 0) return NULL;
    result_map(name, m[first], oh, ow, k);
    for (i = 0; i < N_WAYS; i++)
        if (i != first) free(m[i]);
    return m[first];
}

/* ------------------------------------------------------------------ arith */

static float bitsf(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_arith(void)
{
    enum { GRID = 2 * 96 * 512 + 1, RANDOM = 1 << 16, N = GRID + RANDOM };
    static const uint32_t nans[] = {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0xFFFFFFFFu, 0x7FC12345u, 0xFF812345u};
    float *x = (float *)xmalloc(N * sizeof(float)), *y = (float *)xmalloc(3 * (size_t)N * sizeof(float));
    rng r = {0xA417u};
    size_t i;
    int f;
    /* x = i / 512 over [-96, 96] (exact), then any bits at all (NaN, infinities, subnormals) */
    for (i = 0; i < GRID; i++) x[i] = (float)((int)i - 96 * 512) / 512.0f;
    for (i = GRID; i < N; i++) x[i] = bitsf((uint32_t)(rnext(&r) >> 32));
    for (i = 0; i < N; i++) {
        y[i] = fcn_expf(x[i]);
        y[N + i] = fcn_tanhf(x[i]);
        y[2 * N + i] = fcn_sigmoidf(x[i]);
    }
    result_map("arith: fcn_expf, fcn_tanhf, fcn_sigmoidf", y, 3, N, 1);
    begin("%s: nan: fcn_expf, fcn_tanhf, fcn_sigmoidf of NaNs of either sign and any payload are 0x7fc00000", prefix);
    for (i = 0; i < sizeof nans / sizeof nans[0]; i++)
        for (f = 0; f < 3; f++) {
            float v = bitsf(nans[i]);
            float z = f == 0 ? fcn_expf(v) : f == 1 ? fcn_tanhf(v) : fcn_sigmoidf(v);
            check(fbits(z) == 0x7FC00000u, "%s(0x%08lx) = 0x%08lx", f == 0 ? "fcn_expf" : f == 1 ? "fcn_tanhf" : "fcn_sigmoidf",
                  (unsigned long)nans[i], (unsigned long)fbits(z));
        }
    end();
    free(x);
    free(y);
}

/* ------------------------------------------------------------------ the slide */

static char root[512] = ".";

/* A little-endian float32 .npy of 'want' values (format 1.0), as numpy writes it. */
static float *read_npy(const char *path, size_t want, char *why, size_t nwhy)
{
    unsigned char *d;
    size_t n, start, i;
    fcn_error e;
    float *v;
    if (fcn__read_file(path, &d, &n, &e) != FCN_OK) {
        snprintf(why, nwhy, "%s", e.message);
        return NULL;
    }
    start = n >= 10 ? 10 + ((size_t)d[8] | (size_t)d[9] << 8) : n;
    if (n < 10 || memcmp(d, "\x93NUMPY\x01", 7) != 0 || !strstr((const char *)d + 10, "'<f4'") || n - start != 4 * want) {
        snprintf(why, nwhy, "%s: not a float32 .npy of %lu values", path, (unsigned long)want);
        FCN_FREE(d);
        return NULL;
    }
    v = (float *)xmalloc(want * sizeof(float));
    for (i = 0; i < want; i++) {
        uint32_t u = fcn__le32(d + start + 4 * i);
        memcpy(&v[i], &u, 4);
    }
    FCN_FREE(d);
    return v;
}

static void test_slide(void)
{
    char path[600], why[700];
    fcn_net *net = NULL;
    fcn_error e;
    float *x;
    snprintf(path, sizeof path, "%s/models/slide-7x7x3.fcn", root);
    begin("%s: slide: the model file and its input load", prefix);
    check(fcn_net_load(path, &net, &e) == FCN_OK, "%s", e.message);
    snprintf(path, sizeof path, "%s/tests/data/slide-x.npy", root);
    x = read_npy(path, 75, why, sizeof why);
    check(x != NULL, "%s", why);
    end();
    if (net && x) {
        fcn_options o;
        memset(&o, 0, sizeof o);
        o.border = FCN_BORDER_ZERO;
        o.stride = 2;
        free(map_all("slide", net, x, 5, 5, &o, ALL_WAYS));
    }
    free(x);
    fcn_net_free(net);
}

/* ------------------------------------------------------------------ random nets */

static float sym(rng *r) { return runif(r); } /* [-1, 1), multiples of 2^-23 */

/* A power of two near 1/sqrt(n): exact, whatever the float evaluation. */
static float inv_sqrt2(size_t n)
{
    int e = 0;
    while (((size_t)1 << (2 * e)) < n && e < 15) e++;
    return ldexpf(1.0f, -e);
}

static void add_activation(rng *r, fcn_layer *L, int *n)
{
    int a = rint_(r, 0, 5);
    if (a == 0) return;
    L[*n] = mk_layer(a == 1 ? FCN_LAYER_RELU : a <= 3 ? FCN_LAYER_TANH : FCN_LAYER_SIGMOID, 0, 0, 0);
    if (a == 1) L[*n].slope = rint_(r, 0, 1) ? 0.125f : 0.0f;
    ++*n;
}

/* A random chain that the dense path runs: convolutions (stride 1 or 2), pools (max or
   average, stride 2 or 1), activations after each, fc and a last activation or
   softmax; a patch of 4..13 pixels and 1..3 channels. */
static fcn_net *random_net(rng *r, int *ph, int *pw)
{
    fcn_layer L[24];
    int n = 0, h, w, c = rint_(r, 1, 3), blocks = rint_(r, 1, 3), b, i;
    fcn_net *net = NULL;
    fcn_error e;
    static const uint32_t scales[] = {0x3F800000u /* 1 */, 0x3B808081u /* 1/255 */, 0x3DCCCCCDu /* 0.1 */,
                                      0xBFC00000u /* -1.5 */};
    float mean[3], scale = bitsf(scales[rint_(r, 0, 3)]);
    *ph = h = rint_(r, 4, 13);
    *pw = w = rint_(r, 4, 13);
    for (b = 0; b < blocks && h > 1 && w > 1; b++) {
        int k = rint_(r, 1, h < w ? (h < 4 ? h : 4) : (w < 4 ? w : 4)), s = k > 1 && rint_(r, 0, 3) == 0 ? 2 : 1;
        L[n++] = mk_layer(FCN_LAYER_CONV, rint_(r, 1, 14), k, s);
        h = (h - k) / s + 1;
        w = (w - k) / s + 1;
        add_activation(r, L, &n);
        if (h >= 2 && w >= 2 && rint_(r, 0, 1)) {
            int pk = h >= 3 && w >= 3 && rint_(r, 0, 2) == 0 ? 3 : 2, ps = rint_(r, 0, 2) == 0 ? 1 : 2;
            L[n++] = mk_layer(rint_(r, 0, 2) ? FCN_LAYER_MAXPOOL : FCN_LAYER_AVGPOOL, 0, pk, ps);
            h = (h - pk) / ps + 1;
            w = (w - pk) / ps + 1;
        }
    }
    L[n++] = mk_layer(FCN_LAYER_FC, rint_(r, 2, 5), 0, 0);
    if (rint_(r, 0, 1)) L[n++] = mk_layer(FCN_LAYER_SOFTMAX, 0, 0, 0);
    else add_activation(r, L, &n);
    if (fcn_net_create(*ph, *pw, c, L, n, &net, &e) != FCN_OK) {
        check(0, "fcn_net_create: %s", e.message);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        size_t nw = 0, nb = 0, k;
        float *wt = fcn_net_weights(net, i, &nw), *bs = fcn_net_bias(net, i, &nb), a;
        if (!wt) continue;
        a = inv_sqrt2(nw / nb);
        for (k = 0; k < nw; k++) wt[k] = sym(r) * a;
        for (k = 0; k < nb; k++) bs[k] = sym(r) * 0.25f;
    }
    for (i = 0; i < 3; i++) mean[i] = rint_(r, 0, 1) ? sym(r) * 128.0f : 0.0f;
    if (fcn_net_set_transform(net, scale, mean, &e) != FCN_OK) check(0, "fcn_net_set_transform: %s", e.message);
    return net;
}

static char tmpdir[512] = "/tmp";

/* Saves net and records the file's bytes (little-endian floats on every machine);
   loads it again and maps img with it as 'map' was: the same bits. */
static void save_load(const char *name, const fcn_net *net, const float *img, int h, int w, const fcn_options *base,
                      const float *map)
{
    char path[600];
    unsigned char *d = NULL;
    size_t n = 0;
    fcn_error e;
    fcn_net *back = NULL;
    fcn_options o = *base;
    int oh = 0, ow = 0, k = fcn_net_outputs(net);
    float *m = NULL;
    snprintf(path, sizeof path, "%s/port-%s.fcn", tmpdir, name + 4); /* name: "net N" */
    begin("%s: %s: saved, loaded again: the same map", prefix, name);
    if (check(fcn_net_save(net, path, &e) == FCN_OK, "save: %s", e.message) &&
        check(fcn__read_file(path, &d, &n, &e) == FCN_OK, "%s", e.message) &&
        check(fcn_net_load(path, &back, &e) == FCN_OK, "load: %s", e.message) &&
        check(fcn_map_size(back, h, w, &o, &oh, &ow, &e) == FCN_OK, "%s", e.message)) {
        m = (float *)xmalloc((size_t)oh * (size_t)ow * (size_t)k * sizeof(float));
        if (check(fcn_map(back, img, h, w, &o, m, &e) == FCN_OK, "%s", e.message)) same_bits(m, map, oh, ow, k, "reloaded");
    }
    remove(path);
    end();
    if (d) {
        char rec[128];
        snprintf(rec, sizeof rec, "%s: the .fcn file", name);
        result_bytes(rec, d, n);
    }
    free(m);
    fcn_net_free(back);
    FCN_FREE(d);
}

static void test_nets(int count)
{
    rng r = {0x5EEDu};
    int i;
    for (i = 0; i < count; i++) {
        int ph, pw, h, w, c, p;
        fcn_options o;
        fcn_net *net;
        float *img, *map;
        size_t n, k;
        char name[64];
        begin("%s: net %d: built", prefix, i);
        net = random_net(&r, &ph, &pw);
        if (!net) { /* else no line: the maps below say enough */
            end();
            continue;
        }
        c = fcn_net_input(net).c;
        h = ph + rint_(&r, 0, 20);
        w = pw + rint_(&r, 0, 40);
        n = (size_t)h * (size_t)w * (size_t)c;
        img = (float *)xmalloc(n * sizeof(float));
        for (k = 0; k < n; k++) img[k] = sym(&r) * 256.0f; /* not integers: the transform rounds */
        if (i % 4 == 3) /* NaN and infinite pixels */
            for (p = 0; p < 3; p++) img[(size_t)rint_(&r, 0, (int)n - 1)] = bitsf(p == 0 ? 0xFFC00001u : p == 1 ? 0x7F800000u : 0xFF800000u);
        memset(&o, 0, sizeof o);
        o.border = (fcn_border)rint_(&r, 0, 3);
        o.stride = rint_(&r, 0, 4) < 3 ? 1 : rint_(&r, 2, 3); /* stride 1: every layer on the SIMD kernels */
        snprintf(name, sizeof name, "net %d", i);
        map = map_all(name, net, img, h, w, &o, ALL_WAYS);
        if (map) save_load(name, net, img, h, w, &o, map);
        free(map);
        fcn_net_free(net);
        free(img);
    }
}

/* ------------------------------------------------------------------ the membrane model */

static int same_params(const fcn_net *a, const fcn_net *b, char *why, size_t nwhy)
{
    int i, n = fcn_net_layer_count(a);
    float sa = fcn_net_scale(a), sb = fcn_net_scale(b);
    if (n != fcn_net_layer_count(b)) return snprintf(why, nwhy, "%d layers, the .fcn %d", n, fcn_net_layer_count(b)), 0;
    if (fbits(sa) != fbits(sb) || fbits(fcn_net_mean(a)[0]) != fbits(fcn_net_mean(b)[0]))
        return snprintf(why, nwhy, "the transform differs"), 0;
    for (i = 0; i < n; i++) {
        fcn_layer la, lb;
        size_t na = 0, nb = 0, ba = 0, bb = 0;
        const float *wa, *wb, *xa, *xb;
        memset(&la, 0, sizeof la);
        memset(&lb, 0, sizeof lb);
        fcn_net_layer(a, i, &la, NULL, NULL);
        fcn_net_layer(b, i, &lb, NULL, NULL);
        if (la.type != lb.type || la.maps != lb.maps || la.kh != lb.kh || la.kw != lb.kw || la.stride != lb.stride)
            return snprintf(why, nwhy, "layer %d differs", i + 1), 0;
        wa = fcn_net_weights((fcn_net *)a, i, &na);
        wb = fcn_net_weights((fcn_net *)b, i, &nb);
        xa = fcn_net_bias((fcn_net *)a, i, &ba);
        xb = fcn_net_bias((fcn_net *)b, i, &bb);
        if (na != nb || ba != bb || (na && memcmp(wa, wb, na * sizeof(float))) || (ba && memcmp(xa, xb, ba * sizeof(float))))
            return snprintf(why, nwhy, "layer %d: the weights differ", i + 1), 0;
    }
    return 1;
}

/* A membrane network of the talk's kind, smaller (a 31 x 31 patch, about 12 kFLOP a
   pixel, so that a crop maps in seconds under qemu): conv 4x4 12 tanh, maxpool 2,
   conv 5x5 13 sigmoid, avgpool 2, conv 4x4 8 relu, maxpool 2, fc 20 tanh, fc 2,
   softmax; random weights; the membrane model's transform (x - 124) / 255, with 1/255
   rounded to float. 12, 13 and 8 maps: whole blocks of the SIMD kernels, pairs and
   single maps. */
static fcn_net *isbi_net(void)
{
    fcn_layer L[16];
    int n = 0, i;
    fcn_net *net = NULL;
    fcn_error e;
    rng r = {0x15B1u};
    float mean = 124.0f;
    L[n++] = mk_layer(FCN_LAYER_CONV, 12, 4, 1);
    L[n++] = mk_layer(FCN_LAYER_TANH, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_MAXPOOL, 0, 2, 2);
    L[n++] = mk_layer(FCN_LAYER_CONV, 13, 5, 1);
    L[n++] = mk_layer(FCN_LAYER_SIGMOID, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_AVGPOOL, 0, 2, 2);
    L[n++] = mk_layer(FCN_LAYER_CONV, 8, 4, 1);
    L[n++] = mk_layer(FCN_LAYER_RELU, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_MAXPOOL, 0, 2, 2);
    L[n++] = mk_layer(FCN_LAYER_FC, 20, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_TANH, 0, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_FC, 2, 0, 0);
    L[n++] = mk_layer(FCN_LAYER_SOFTMAX, 0, 0, 0);
    if (!check(fcn_net_create(31, 31, 1, L, n, &net, &e) == FCN_OK, "fcn_net_create: %s", e.message)) return NULL;
    for (i = 0; i < n; i++) {
        size_t nw = 0, nb = 0, k;
        float *wt = fcn_net_weights(net, i, &nw), *bs = fcn_net_bias(net, i, &nb), a;
        if (!wt) continue;
        a = inv_sqrt2(nw / nb) * 2.0f;
        for (k = 0; k < nw; k++) wt[k] = sym(&r) * a;
        for (k = 0; k < nb; k++) bs[k] = sym(&r) * 0.25f;
    }
    check(fcn_net_set_transform(net, bitsf(0x3B808081u), &mean, &e) == FCN_OK, "%s", e.message);
    return net;
}

/* ISBI test slice 0: the small membrane network on a side x side crop at its corner
   (the mirror border in it), every path; the membrane model itself loaded from .fcn,
   ONNX and Caffe (the same layers and weight bits) and, with 'n4', one pixel of its
   map at output stride 8 (a quarter GFLOP: seconds under qemu, on this build's kernels
   only). */
static void test_isbi(const char *data, int side, int n4)
{
    char p[3][600], why[700], name[80];
    const char *paths[2];
    fcn_net *net = NULL, *other = NULL;
    fcn_error e;
    fcn_options o;
    unsigned char *px;
    int x, y, ch, f;
    float *img;
    size_t i;
    snprintf(p[0], sizeof p[0], "%s/test-images/0.png", data);
    if (!(px = stbi_load(p[0], &x, &y, &ch, 1))) {
        const char *ci = getenv("CI");
        int in_ci = ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0; /* as tests/isbi */
        printf("%s: %s: isbi: ISBI data not found (%s: %s; set FCN_DATA)\n", in_ci ? "FAIL" : "SKIP", prefix, p[0],
               stbi_failure_reason());
        if (in_ci) n_fail++;
        else n_skip++;
        return;
    }
    img = (float *)xmalloc((size_t)x * (size_t)y * sizeof(float));
    for (i = 0; i < (size_t)x * (size_t)y; i++) img[i] = (float)px[i];
    stbi_image_free(px);
    memset(&o, 0, sizeof o);
    if (side > 0) {
        begin("%s: isbi: the small membrane network", prefix);
        if (!(net = isbi_net())) end(); /* else no line: its map's says enough */
        o.rect_w = o.rect_h = side;
        snprintf(name, sizeof name, "isbi: a %dx%d crop of test slice 0, small membrane network", side, side);
        if (net) free(map_all(name, net, img, y, x, &o, DENSE | PORTABLE));
        fcn_net_free(net);
        net = NULL;
    }
    snprintf(p[0], sizeof p[0], "%s/models/isbi-n4.fcn", root);
    begin("%s: isbi: models/isbi-n4.fcn, .onnx and .prototxt + .caffemodel: the same layers and weight bits", prefix);
    if (check(fcn_net_load(p[0], &net, &e) == FCN_OK, "%s", e.message)) {
        for (f = 0; f < 2; f++) {
            snprintf(p[1], sizeof p[1], "%s/models/isbi-n4.%s", root, f ? "prototxt" : "onnx");
            snprintf(p[2], sizeof p[2], "%s/models/isbi-n4.caffemodel", root);
            paths[0] = p[1];
            paths[1] = p[2];
            if (!check(fcn_net_load_any(paths, f ? 2 : 1, &other, &e) == FCN_OK, "%s", e.message)) continue;
            if (!same_params(other, net, why, sizeof why)) check(0, "%s: %s", p[1], why);
            fcn_net_free(other);
            other = NULL;
        }
    }
    end();
    if (net && n4) {
        float out[2];
        o.rect_w = o.rect_h = 1;
        o.rect_x = 20; /* of the stride-8 map: pixel (40, 160) of the slice */
        o.rect_y = 5;
        o.stride = 8;
        o.threads = 1;
        begin("%s: isbi: the membrane model, pixel (40, 160) of test slice 0 (output stride 8)", prefix);
        check(fcn_map(net, img, y, x, &o, out, &e) == FCN_OK, "%s", e.message);
        end();
        result_map("isbi: the membrane model, pixel (40, 160) of test slice 0", out, 1, 1, 2);
    }
    fcn_net_free(net);
    free(img);
}

/* ------------------------------------------------------------------ sizes near the limits */

static int cancel_at_once(void *user, long done, long total)
{
    (void)user, (void)done, (void)total;
    return 1;
}

static void test_limits(void)
{
    static const char head[] = "fcn-model 1\ninput 4294967297 3 1\nfc 2\n";
    fcn_net *net = NULL;
    fcn_error e;
    fcn_options o;
    fcn_layer L[2];
    char path[600];
    double sl = 0.0, de = 0.0;
    float *img, *out;
    size_t n, i;
    const int H = 2700, W = 8192;
    fcn_status st;

    begin("%s: 32-bit: an int field past INT_MAX in a model file is refused", prefix);
    st = fcn_net_load_memory(head, sizeof head - 1, "big.fcn", &net, &e);
    check(st == FCN_ERR_FORMAT && strstr(e.message, "line 2"), "status %d: %s", (int)st, st ? e.message : "loaded");
    fcn_net_free(net);
    net = NULL;
    end();

    /* 200 maps over an 8192 x 2700 map: 4.4 G floats in a layer's whole grid, more than
       a 32-bit size_t counts; the dense path's column tiles hold a few MB */
    begin("%s: 32-bit: a %dx%d map of a net with 200 maps starts on the dense path (tiles)", prefix, H, W);
    L[0] = mk_layer(FCN_LAYER_CONV, 200, 1, 1);
    L[1] = mk_layer(FCN_LAYER_FC, 1, 0, 0);
    n = (size_t)H * (size_t)W;
    img = (float *)calloc(n, sizeof(float));
    out = (float *)malloc(n * sizeof(float));
    if (check(img && out, "out of memory for the image and the map") &&
        check(fcn_net_create(3, 3, 1, L, 2, &net, &e) == FCN_OK, "%s", e.message)) {
        memset(&o, 0, sizeof o);
        o.progress = cancel_at_once; /* one band of one tile is enough to know */
        o.threads = 1;
        o.max_memory = (size_t)2 << 20; /* narrow tiles: a short first band under qemu */
        st = fcn_map(net, img, H, W, &o, out, &e);
        check(st == FCN_ERR_CANCELLED, "status %d: %s", (int)st, e.message);
    }
    fcn_net_free(net);
    net = NULL;
    free(img);
    free(out);
    end();

    snprintf(path, sizeof path, "%s/models/isbi-n4.fcn", root);
    begin("%s: 32-bit: fcn_map_flops of the membrane model on a %dx%d image", prefix, H, W);
    if (check(fcn_net_load(path, &net, &e) == FCN_OK, "%s", e.message)) {
        st = fcn_map_flops(net, H, W, NULL, NULL, NULL, &sl, &de, &e);
        check(st == FCN_OK && de > 0.0 && sl > de, "status %d: %s", (int)st, e.message);
    }
    fcn_net_free(net);
    end();
    if (de > 0.0) {
        unsigned char b[16];
        uint64_t u[2];
        memcpy(&u[0], &sl, 8);
        memcpy(&u[1], &de, 8);
        for (i = 0; i < 2; i++) {
            put_le32(b + 8 * i, (uint32_t)(u[i] & 0xFFFFFFFFu));
            put_le32(b + 8 * i + 4, (uint32_t)(u[i] >> 32));
        }
        result_bytes("32-bit: fcn_map_flops, 8192x2700, sliding and dense (doubles)", b, sizeof b);
    }
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    const char *file = NULL, *data = getenv("FCN_DATA"), *t = getenv("TMPDIR");
    int write = 0, side = 24, nets = 10, n4 = 1, i;
    fcn_error e;
    double t0 = now(), t1;
    if (!data || !*data) data = "../shared/data/isbi2012";
    if (t && *t) snprintf(tmpdir, sizeof tmpdir, "%s", t);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) break;
        if (strcmp(a, "--write") == 0 || strcmp(a, "--check") == 0) write = a[2] == 'w', file = v;
        else if (strcmp(a, "--name") == 0) prefix = v;
        else if (strcmp(a, "--root") == 0) snprintf(root, sizeof root, "%s", v);
        else if (strcmp(a, "--data") == 0) data = v;
        else if (strcmp(a, "--tmp") == 0) snprintf(tmpdir, sizeof tmpdir, "%s", v);
        else if (strcmp(a, "--isbi") == 0) side = atoi(v);
        else if (strcmp(a, "--nets") == 0) nets = atoi(v);
        else if (strcmp(a, "--n4") == 0) n4 = atoi(v);
        else break;
        i++;
    }
    if (i < argc || !file) {
        fprintf(stderr, "usage: %s --write|--check FILE [--name NAME] [--root DIR] [--data DIR] [--tmp DIR] "
                        "[--isbi N] [--nets N] [--n4 0|1]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (write && !(out_file = fopen(file, "wb"))) {
        printf("FAIL: %s: cannot create %s\n", prefix, file);
        return 1;
    }
    if (!write && fcn__read_file(file, &ref, &ref_n, &e) != FCN_OK) {
        printf("FAIL: %s: the reference: %s\n", prefix, e.message);
        return 1;
    }
    if (write) {
        result_bytes("reference", (const unsigned char *)prefix, strlen(prefix));
    } else {
        int h, w, k;
        size_t n;
        const unsigned char *r = ref_find("reference", &h, &w, &k, &n);
        if (r && n < sizeof ref_name) memcpy(ref_name, r, n), ref_name[n] = '\0';
    }
    printf("# %s: dense kernels %s, FLT_EVAL_METHOD %d, %d-bit size_t, %s-endian\n", prefix, fcn_simd_name(),
           (int)FLT_EVAL_METHOD, (int)(sizeof(size_t) * CHAR_BIT), *(const unsigned char *)&(uint32_t){1} ? "little" : "big");
    t1 = now();
    test_arith();
    printf("# %s: arith %.1f s\n", prefix, now() - t1), t1 = now();
    test_slide();
    test_nets(nets);
    printf("# %s: slide and nets %.1f s\n", prefix, now() - t1), t1 = now();
    test_isbi(data, side, n4);
    printf("# %s: isbi %.1f s\n", prefix, now() - t1), t1 = now();
    test_limits();
    printf("# %s: limits %.1f s\n", prefix, now() - t1);
    if (out_file && fclose(out_file) != 0) {
        printf("FAIL: %s: write error on %s\n", prefix, file);
        n_fail++;
    }
    FCN_FREE(ref);
    printf("# %s: %d passed, %d failed, %d skipped in %.1f s\n", prefix, n_pass, n_fail, n_skip, now() - t0);
    return n_fail ? 1 : 0;
}
