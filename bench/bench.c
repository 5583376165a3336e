/* bench - how fast fcn.h makes a dense per-pixel map, against the machine's peak, the
   sliding window and PyTorch, in the shape of the talk's "Implementation Speedup" slide.

       make bench                     (builds build/bench and runs it)
       build/bench [--quick] [--threads N] [--no-torch] [--big N] [--out FILE]

   1. the machine's fp32 FMA peak, measured in this run (16 independent vector FMA chains:
      AVX-512F, else AVX2+FMA, else NEON, else scalar fmaf), 1 and N threads;
   2. two networks with seeded random weights: "n4" (the talk's 95x95 net) on a 512x512
      ISBI slice and "w49" (the talk's 49x49 window) on a 100x1024 image made of the
      slice's first 100 rows and their mirror image; mirror border, stride 1. For each:
      the dense path at 1 and N threads (min and median of >= 5 runs after a warm-up),
      GFLOP/s (fcn_map_flops' dense total over the median) and fraction of peak, the
      portable (non-SIMD) kernels (one run), the sliding window timed on sampled pixels
      (N rows, one per thread, x enough columns for ~3 s) and extrapolated, with a
      bit-for-bit check against the dense map, and the dense path's peak scratch memory
      (FCN_MALLOC counted), also on a 4096x4096 image (one run; --big N for another
      size, --big 0 or --quick to skip: at ~50-100 GFLOP/s it takes 1.5-3 minutes);
   3. PyTorch (if /usr/bin/python3 has torch, or $PYTHON): bench/torch_dense.py runs the
      same networks and weights (saved with fcn_net_save) in PyTorch's dense form;
   4. the talk's table for w49 on 100x1024 with this run's rows added.

   Everything goes to stdout and to FILE (--out). Options: --quick (3 runs, shorter
   sliding samples, no 4096x4096 map), --threads N (instead of 2), --no-torch, --big N. The ISBI
   slice is $FCN_DATA/test-images/0.png, else ../shared/data/isbi2012/test-images/0.png;
   without it a synthetic image is used (and the output says so). Timings on a busy
   machine are noise: take the figures on a quiet one. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE), for fcn.h's huge-page scratch */

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

/* fcn.h allocates through a counter: the dense path's peak scratch */
#include "../tests/lib/count_alloc.h"
#define FCN_IMPLEMENTATION
#include "fcn.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#include "stb_image.h"

/* ---- output: stdout and the text file ------------------------------------------- */
static FILE *txt;

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    if (txt) {
        va_start(ap, fmt);
        vfprintf(txt, fmt, ap);
        va_end(ap);
        fflush(txt);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, const fcn_error *err)
{
    say("bench: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        say("bench: out of memory (%lu bytes)\n", (unsigned long)n);
        exit(1);
    }
    return p;
}

/* ---- 1. the FMA peak -------------------------------------------------------------- */
#if defined(__AVX512F__)
#define PEAK_ISA "avx512f"
#define PEAK_LANES 16
typedef __m512 vec;
#define VSET(x) _mm512_set1_ps(x)
#define VFMA(c, a, b) _mm512_fmadd_ps(c, a, b) /* c * a + b */
#define VADD(a, b) _mm512_add_ps(a, b)
static float vsum(vec v)
{
    float t[16];
    int i;
    float s = 0;
    _mm512_storeu_ps(t, v);
    for (i = 0; i < 16; i++) s += t[i];
    return s;
}
#elif defined(__AVX2__) && defined(__FMA__)
#define PEAK_ISA "avx2+fma"
#define PEAK_LANES 8
typedef __m256 vec;
#define VSET(x) _mm256_set1_ps(x)
#define VFMA(c, a, b) _mm256_fmadd_ps(c, a, b)
#define VADD(a, b) _mm256_add_ps(a, b)
static float vsum(vec v)
{
    float t[8];
    int i;
    float s = 0;
    _mm256_storeu_ps(t, v);
    for (i = 0; i < 8; i++) s += t[i];
    return s;
}
#elif defined(__ARM_NEON) && defined(__aarch64__)
#define PEAK_ISA "neon"
#define PEAK_LANES 4
typedef float32x4_t vec;
#define VSET(x) vdupq_n_f32(x)
#define VFMA(c, a, b) vfmaq_f32(b, c, a) /* b + c * a */
#define VADD(a, b) vaddq_f32(a, b)
static float vsum(vec v) { return vaddvq_f32(v); }
#else
#define PEAK_ISA "scalar fmaf"
#define PEAK_LANES 1
typedef float vec;
#define VSET(x) (x)
#define VFMA(c, a, b) fmaf(c, a, b)
#define VADD(a, b) ((a) + (b))
static float vsum(vec v) { return v; }
#endif
#define PEAK_CHAINS 16

/* PEAK_CHAINS independent chains c = c * m + a (they converge to a / (1 - m): no
   overflow, no subnormals), each in its own variable so that they stay in registers. */
static float fma_chains(long iters)
{
    vec m = VSET(0.9999999f), a = VSET(1e-7f);
    vec c0 = VSET(0.10f), c1 = VSET(0.11f), c2 = VSET(0.12f), c3 = VSET(0.13f);
    vec c4 = VSET(0.14f), c5 = VSET(0.15f), c6 = VSET(0.16f), c7 = VSET(0.17f);
    vec c8 = VSET(0.18f), c9 = VSET(0.19f), c10 = VSET(0.20f), c11 = VSET(0.21f);
    vec c12 = VSET(0.22f), c13 = VSET(0.23f), c14 = VSET(0.24f), c15 = VSET(0.25f);
    long i;
    for (i = 0; i < iters; i++) {
        c0 = VFMA(c0, m, a);
        c1 = VFMA(c1, m, a);
        c2 = VFMA(c2, m, a);
        c3 = VFMA(c3, m, a);
        c4 = VFMA(c4, m, a);
        c5 = VFMA(c5, m, a);
        c6 = VFMA(c6, m, a);
        c7 = VFMA(c7, m, a);
        c8 = VFMA(c8, m, a);
        c9 = VFMA(c9, m, a);
        c10 = VFMA(c10, m, a);
        c11 = VFMA(c11, m, a);
        c12 = VFMA(c12, m, a);
        c13 = VFMA(c13, m, a);
        c14 = VFMA(c14, m, a);
        c15 = VFMA(c15, m, a);
    }
    c0 = VADD(VADD(VADD(c0, c1), VADD(c2, c3)), VADD(VADD(c4, c5), VADD(c6, c7)));
    c8 = VADD(VADD(VADD(c8, c9), VADD(c10, c11)), VADD(VADD(c12, c13), VADD(c14, c15)));
    return vsum(VADD(c0, c8));
}

typedef struct peak_job {
    long iters;
    float result;
} peak_job;

static void *peak_thread(void *p)
{
    peak_job *j = (peak_job *)p;
    j->result = fma_chains(j->iters);
    return NULL;
}

static volatile float peak_sink;

/* GFLOP/s of `threads` threads each running `iters` iterations (2 FLOPs per FMA). */
static double peak_run(int threads, long iters)
{
    pthread_t tid[256];
    peak_job job[256];
    double t0, t;
    int i, started = 0;
    t0 = now();
    for (i = 0; i < threads; i++) {
        job[i].iters = iters;
        job[i].result = 0;
        if (pthread_create(&tid[i], NULL, peak_thread, &job[i]) != 0) break;
        started++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        peak_sink += job[i].result;
    }
    t = now() - t0;
    return 2.0 * PEAK_CHAINS * PEAK_LANES * (double)iters * started / t / 1e9;
}

/* The best of `trials` runs of about `seconds` each. */
static double peak_gflops(int threads, double seconds, int trials)
{
    long iters = 1L << 18;
    double g, best = 0;
    int i;
    for (;;) { /* calibrate on one thread */
        double t0 = now();
        peak_sink += fma_chains(iters);
        if (now() - t0 > 0.05 || iters > (1L << 40)) {
            iters = (long)((double)iters * seconds / (now() - t0)) + 1;
            break;
        }
        iters *= 4;
    }
    for (i = 0; i < trials; i++) {
        g = peak_run(threads, iters);
        if (g > best) best = g;
    }
    return best;
}

static void cpu_model(char *buf, size_t n)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(buf, n, "unknown CPU");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        const char *keys[] = {"model name", "Model", "Hardware", "cpu model"};
        size_t k;
        for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t kl = strlen(keys[k]);
            char *c;
            if (strncmp(line, keys[k], kl) != 0 || !(c = strchr(line, ':'))) continue;
            c++;
            while (*c == ' ' || *c == '\t') c++;
            c[strcspn(c, "\n")] = 0;
            snprintf(buf, n, "%s", c);
            fclose(f);
            return;
        }
    }
    fclose(f);
}

/* ---- 2. the networks --------------------------------------------------------------- */
static unsigned long long rng_state = 2026;
static double rnd01(void) /* splitmix64 */
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static void add(fcn_layer *L, int *n, fcn_layer_type type, int maps, int k)
{
    memset(&L[*n], 0, sizeof L[*n]);
    L[*n].type = type;
    L[*n].maps = maps;
    L[*n].kh = L[*n].kw = k;
    if (type == FCN_LAYER_MAXPOOL) L[*n].stride = 2;
    (*n)++;
}

/* A patch net: convolutions (kernel k[i], 48 maps, relu, then a 2x2 max-pool where
   pool[i]), fc 200, relu, fc 2, softmax; seeded He-uniform weights. */
static fcn_net *make_net(int patch, int nconv, const int *k, const int *pool, unsigned long long seed)
{
    fcn_layer L[32];
    fcn_net *net = NULL;
    fcn_error err;
    int n = 0, i;
    for (i = 0; i < nconv; i++) {
        add(L, &n, FCN_LAYER_CONV, 48, k[i]);
        add(L, &n, FCN_LAYER_RELU, 0, 0);
        if (pool[i]) add(L, &n, FCN_LAYER_MAXPOOL, 0, 2);
    }
    add(L, &n, FCN_LAYER_FC, 200, 0);
    add(L, &n, FCN_LAYER_RELU, 0, 0);
    add(L, &n, FCN_LAYER_FC, 2, 0);
    add(L, &n, FCN_LAYER_SOFTMAX, 0, 0);
    if (fcn_net_create(patch, patch, 1, L, n, &net, &err) != FCN_OK) die("fcn_net_create", &err);
    if (fcn_net_set_transform(net, 1.0f / 255.0f, NULL, &err) != FCN_OK) die("fcn_net_set_transform", &err);
    rng_state = seed;
    for (i = 0; i < n; i++) {
        size_t nw = 0, nb = 0, j;
        float *w = fcn_net_weights(net, i, &nw), *b = fcn_net_bias(net, i, &nb);
        fcn_shape in;
        fcn_layer d;
        double a;
        if (!w) continue;
        fcn_net_layer(net, i, &d, &in, NULL);
        /* He: variance 2 / fan_in, uniform on [-a, a] */
        a = sqrt(6.0 / ((double)in.c * (d.type == FCN_LAYER_FC ? (double)in.h * in.w : (double)d.kh * d.kw)));
        for (j = 0; j < nw; j++) w[j] = (float)((2.0 * rnd01() - 1.0) * a);
        for (j = 0; j < nb; j++) b[j] = (float)((2.0 * rnd01() - 1.0) * 0.05);
    }
    if (fcn_net_dense_check(net, &err) != FCN_OK) die("fcn_net_dense_check", &err);
    return net;
}

/* ---- images ----------------------------------------------------------------------- */
typedef struct image {
    float *px;
    int h, w;
} image;

static image synthetic(int h, int w)
{
    image im;
    int y, x;
    im.h = h, im.w = w;
    im.px = (float *)xmalloc((size_t)h * (size_t)w * sizeof(float));
    rng_state = 12345;
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            double v = 128 + 60 * sin(x * 0.071) * cos(y * 0.053) + 40 * sin((x + 2 * y) * 0.013) + 25 * (rnd01() - 0.5);
            im.px[(size_t)y * (size_t)w + (size_t)x] = (float)floor(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    return im;
}

static int reflect(int i, int n) /* numpy 'reflect', repeated */
{
    if (n == 1) return 0;
    for (;;) {
        if (i < 0) i = -i;
        else if (i >= n) i = 2 * (n - 1) - i;
        else return i;
    }
}

/* An h x w image tiled from src with mirror images (continuous at the seams). */
static image mirror_tile(const image *src, int h, int w)
{
    image im;
    int y, x;
    im.h = h, im.w = w;
    im.px = (float *)xmalloc((size_t)h * (size_t)w * sizeof(float));
    for (y = 0; y < h; y++) {
        int sy = reflect(y, src->h);
        for (x = 0; x < w; x++) {
            /* period 2n-2 reflection: 0..n-1, n-2..1, 0.. */
            im.px[(size_t)y * (size_t)w + (size_t)x] = src->px[(size_t)sy * (size_t)src->w + (size_t)reflect(x, src->w)];
        }
    }
    return im;
}

static int load_isbi(image *im, char *path, size_t pn)
{
    const char *data = getenv("FCN_DATA");
    unsigned char *px;
    int w, h, c;
    size_t i;
    snprintf(path, pn, "%s/test-images/0.png", data && data[0] ? data : "../shared/data/isbi2012");
    px = stbi_load(path, &w, &h, &c, 1);
    if (!px) return 0;
    im->h = h, im->w = w;
    im->px = (float *)xmalloc((size_t)h * (size_t)w * sizeof(float));
    for (i = 0; i < (size_t)h * (size_t)w; i++) im->px[i] = (float)px[i]; /* the net scales by 1/255 */
    stbi_image_free(px);
    return 1;
}

/* ---- timing fcn_map ------------------------------------------------------------------ */
typedef struct timing {
    double min, med;
    int runs;
    size_t scratch; /* the largest peak FCN_MALLOC scratch of the runs */
} timing;

static void map_once(const fcn_net *net, const image *im, const fcn_options *opt, float *out, double *t,
                     size_t *scratch)
{
    fcn_error err;
    size_t base = mem_mark();
    double t0 = now();
    if (fcn_map(net, im->px, im->h, im->w, opt, out, &err) != FCN_OK) die("fcn_map", &err);
    *t = now() - t0;
    if (scratch) *scratch = mem_peak_now() - base;
}

static timing time_map(const fcn_net *net, const image *im, const fcn_options *opt, float *out, int warm, int runs)
{
    timing r;
    double t[64];
    size_t s;
    int i;
    if (runs > 64) runs = 64;
    memset(&r, 0, sizeof r);
    for (i = 0; i < warm; i++) map_once(net, im, opt, out, &t[0], NULL);
    for (i = 0; i < runs; i++) {
        map_once(net, im, opt, out, &t[i], &s);
        if (s > r.scratch) r.scratch = s;
    }
    qsort(t, (size_t)runs, sizeof t[0], cmp_double);
    r.min = t[0];
    r.med = runs % 2 ? t[runs / 2] : 0.5 * (t[runs / 2 - 1] + t[runs / 2]);
    r.runs = runs;
    return r;
}

static double flops_of(const fcn_net *net, const image *im, const fcn_options *opt, int dense)
{
    double s = 0, d = 0;
    fcn_error err;
    if (fcn_map_flops(net, im->h, im->w, opt, NULL, NULL, &s, &d, &err) != FCN_OK) die("fcn_map_flops", &err);
    return dense ? d : s;
}

static const char *thr(int n) { return n == 1 ? "thread" : "threads"; }

static double mib(size_t b) { return (double)b / (1024.0 * 1024.0); }

/* ---- .npy -------------------------------------------------------------------------------- */
static int little_endian(void)
{
    unsigned int one = 1;
    unsigned char c;
    memcpy(&c, &one, 1);
    return c == 1;
}

static int npy_write(const char *path, const float *a, int h, int w)
{
    char hdr[128];
    int n;
    size_t cnt = (size_t)h * (size_t)w;
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    n = snprintf(hdr, sizeof hdr, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", h, w);
    while ((10 + n + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(n & 255, f);
    fputc(n >> 8, f);
    fwrite(hdr, 1, (size_t)n, f);
    if (fwrite(a, sizeof(float), cnt, f) != cnt) {
        fclose(f);
        return 0;
    }
    return fclose(f) == 0;
}

/* Reads a little-endian float32 C-order .npy of exactly `count` values. */
static float *npy_read(const char *path, size_t count, char *why, size_t wn)
{
    FILE *f = fopen(path, "rb");
    unsigned char pre[10];
    char *hdr = NULL;
    float *a = NULL;
    size_t hl, prod = 1;
    const char *s;
    if (!f) {
        snprintf(why, wn, "cannot open it");
        return NULL;
    }
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        snprintf(why, wn, "not a .npy file");
        goto fail;
    }
    hl = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (pre[6] != 1) { /* version 2/3: 4-byte header length */
        unsigned char more[2];
        if (fread(more, 1, 2, f) != 2) goto fail;
        hl |= (size_t)more[0] << 16 | (size_t)more[1] << 24;
    }
    hdr = (char *)xmalloc(hl + 1);
    if (fread(hdr, 1, hl, f) != hl) goto fail;
    hdr[hl] = 0;
    if (!strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True") || !(s = strstr(hdr, "'shape': ("))) {
        snprintf(why, wn, "not a C-order float32 array: %.200s", hdr);
        goto fail;
    }
    for (s += 10; *s && *s != ')'; s++)
        if (*s >= '0' && *s <= '9') {
            prod *= (size_t)strtoul(s, (char **)&s, 10);
            s--;
        }
    if (prod != count) {
        snprintf(why, wn, "%lu values, expected %lu", (unsigned long)prod, (unsigned long)count);
        goto fail;
    }
    a = (float *)xmalloc(count * sizeof(float));
    if (fread(a, sizeof(float), count, f) != count) {
        snprintf(why, wn, "short file");
        free(a);
        a = NULL;
    }
fail:
    if (!a && !why[0]) snprintf(why, wn, "unreadable");
    free(hdr);
    fclose(f);
    return a;
}

/* ---- one network's benchmark ------------------------------------------------------------ */
typedef struct netres {
    const char *name;
    fcn_net *net;
    image im;
    int K;
    float *map;              /* the dense map at T threads */
    double dflops, sflops;   /* whole map */
    timing d1, dT, port;     /* dense 1 thread, T threads, portable kernels at T threads */
    double slide_t, slide_px, slide_flops, slide_whole; /* sampled sliding window */
    int slide_same;
    double torch_min[2], torch_med[2];
    int torch_runs;
    int have_torch;
    double torch_diff;
} netres;

static void bench_net(netres *r, int T, int runs, int quick, double peak1, double peakT)
{
    fcn_options opt;
    fcn_error err;
    float *map1, *sl;
    double s_px, cal, t0;
    int oh, ow, y0, n, y, same, same1;
    size_t row;
    char lab[96];

    memset(&opt, 0, sizeof opt);
    if (fcn_map_size(r->net, r->im.h, r->im.w, &opt, &oh, &ow, &err) != FCN_OK) die("fcn_map_size", &err);
    r->K = fcn_net_outputs(r->net);
    row = (size_t)ow * (size_t)r->K;
    r->dflops = flops_of(r->net, &r->im, &opt, 1);
    r->sflops = flops_of(r->net, &r->im, &opt, 0);
    say("\n%s: patch %dx%d, image %dx%d, mirror border -> map %dx%dx%d\n", r->name, fcn_net_input(r->net).h,
        fcn_net_input(r->net).w, r->im.h, r->im.w, oh, ow, r->K);
    say("  arithmetic (fcn_map_flops): dense %.1f GFLOP, sliding window %.0f GFLOP (%.0fx more)\n", r->dflops / 1e9,
        r->sflops / 1e9, r->sflops / r->dflops);

    r->map = (float *)xmalloc((size_t)oh * row * sizeof(float));
    map1 = (float *)xmalloc((size_t)oh * row * sizeof(float));

    say("  %-34s %9s %9s %9s %8s\n", "dense path", "min s", "median s", "GFLOP/s", "of peak");
    opt.threads = 1;
    r->d1 = time_map(r->net, &r->im, &opt, map1, 1, runs);
    say("  %-34s %9.3f %9.3f %9.1f %7.1f%%\n", "1 thread", r->d1.min, r->d1.med, r->dflops / r->d1.med / 1e9,
        100.0 * r->dflops / r->d1.med / 1e9 / peak1);
    if (T > 1) {
        opt.threads = T;
        r->dT = time_map(r->net, &r->im, &opt, r->map, 1, runs);
        snprintf(lab, sizeof lab, "%d threads", T);
        say("  %-34s %9.3f %9.3f %9.1f %7.1f%%\n", lab, r->dT.min, r->dT.med, r->dflops / r->dT.med / 1e9,
            100.0 * r->dflops / r->dT.med / 1e9 / peakT);
        same1 = memcmp(map1, r->map, (size_t)oh * row * sizeof(float)) == 0;
    } else {
        r->dT = r->d1;
        memcpy(r->map, map1, (size_t)oh * row * sizeof(float));
        same1 = 1;
    }
    opt.kernel = FCN_KERNEL_PORTABLE;
    r->port = time_map(r->net, &r->im, &opt, map1, 0, 1);
    opt.kernel = FCN_KERNEL_AUTO;
    snprintf(lab, sizeof lab, "%d %s, portable kernels (1 run)", T, thr(T));
    say("  %-34s %9.3f %9.3f %9.1f %7.1f%%\n", lab, r->port.min, r->port.med, r->dflops / r->port.med / 1e9,
        100.0 * r->dflops / r->port.med / 1e9 / peakT);
    same = memcmp(map1, r->map, (size_t)oh * row * sizeof(float)) == 0;
    say("  SIMD (%s) gain over the portable kernels: %.1fx", fcn_simd_name(), r->port.med / r->dT.med);
    if (T > 1) say("; %d-thread speedup over 1 thread: %.2fx", T, r->d1.med / r->dT.med);
    say("\n  maps: ");
    if (T > 1) say("1 thread vs %d threads %s, ", T, same1 ? "same bits" : "DIFFERENT");
    say("portable vs SIMD %s; dense scratch (FCN_MALLOC peak) %.1f MiB\n", same ? "same bits" : "DIFFERENT",
        mib(r->dT.scratch));

    /* the sliding window on T rows (one per thread) x n columns from the top-left corner
       (the mirror border included): one calibration column, then enough columns for
       about `target` seconds, extrapolated to the whole map */
    memset(&opt, 0, sizeof opt);
    opt.path = FCN_PATH_SLIDING;
    opt.threads = T;
    y0 = 0;
    opt.rect_y = y0;
    opt.rect_x = 0;
    opt.rect_h = T < oh ? T : oh;
    opt.rect_w = 1;
    sl = (float *)xmalloc((size_t)opt.rect_h * row * sizeof(float));
    t0 = now();
    if (fcn_map(r->net, r->im.px, r->im.h, r->im.w, &opt, sl, &err) != FCN_OK) die("fcn_map (sliding)", &err);
    cal = now() - t0;
    n = (int)ceil((quick ? 1.5 : 3.0) / (cal > 1e-6 ? cal : 1e-6));
    if (n < 1) n = 1;
    if (n > ow) n = ow;
    opt.rect_w = n;
    map_once(r->net, &r->im, &opt, sl, &r->slide_t, NULL);
    s_px = (double)opt.rect_h * n;
    r->slide_px = s_px;
    r->slide_flops = flops_of(r->net, &r->im, &opt, 0);
    r->slide_whole = r->slide_t * ((double)oh * ow) / s_px;
    r->slide_same = 1;
    for (y = 0; y < opt.rect_h; y++)
        if (memcmp(sl + (size_t)y * (size_t)n * (size_t)r->K, r->map + (size_t)(y0 + y) * row,
                   (size_t)n * (size_t)r->K * sizeof(float)) != 0)
            r->slide_same = 0;
    say("  sliding window, %d %s: %.0f pixels (rows %d-%d, columns 0-%d) in %.2f s, %.2f GFLOP/s\n", T, thr(T), s_px, y0,
        y0 + opt.rect_h - 1, n - 1, r->slide_t, r->slide_flops / r->slide_t / 1e9);
    say("    extrapolated to the whole map: %.0f s; the dense path (%d %s) is %.0fx faster:\n", r->slide_whole, T, thr(T),
        r->slide_whole / r->dT.med);
    say("    %.0fx less arithmetic x %.0fx more GFLOP/s (the sliding path is plain scalar reference code)\n",
        r->sflops / r->dflops, (r->dflops / r->dT.med) / (r->slide_flops / r->slide_t));
    say("    bit-identical to the dense map at those pixels: %s\n", r->slide_same ? "yes" : "NO");
    free(sl);
    free(map1);
}

/* ---- 3. PyTorch ----------------------------------------------------------------------- */
static void torch_bench(netres *nr, int nn, int T, int runs, const char *python)
{
    char dir[] = "/tmp/fcn-bench-XXXXXX", path[512], cmd[2048], why[512], line[256];
    fcn_error err;
    int i, ok = 1, rc, nt = T > 1 ? 2 : 1;
    char tl[32] = "";
    FILE *f;
    if (T > 1) snprintf(tl, sizeof tl, ",%d", T);
    if (!little_endian()) {
        say("\nPyTorch: skipped (the .npy exchange assumes a little-endian host)\n");
        return;
    }
    if (!mkdtemp(dir)) {
        say("\nPyTorch: skipped (cannot make a temporary directory)\n");
        return;
    }
    for (i = 0; i < nn; i++) {
        snprintf(path, sizeof path, "%s/%s.fcn", dir, nr[i].name);
        if (fcn_net_save(nr[i].net, path, &err) != FCN_OK) die("fcn_net_save", &err);
        snprintf(path, sizeof path, "%s/%s.npy", dir, nr[i].name);
        if (!npy_write(path, nr[i].im.px, nr[i].im.h, nr[i].im.w)) ok = 0;
    }
    if (!ok) {
        say("\nPyTorch: skipped (cannot write the input images to %s)\n", dir);
        return;
    }
    snprintf(cmd, sizeof cmd,
             "MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 '%s' bench/torch_dense.py --dir %s --threads 1%s "
             "--runs %d",
             python, dir, tl, runs);
    for (i = 0; i < nn; i++) {
        strcat(cmd, " ");
        strcat(cmd, nr[i].name);
    }
    snprintf(path, sizeof path, " >%s/torch.log 2>&1", dir);
    strcat(cmd, path);
    say("\nPyTorch (%s bench/torch_dense.py: same .fcn weights, dilated conv2d, max of shifted views, reflect pad):\n",
        python);
    rc = system(cmd);
    if (rc != 0) {
        say("  torch_dense.py failed (status %d); its log:\n", rc);
        snprintf(path, sizeof path, "%s/torch.log", dir);
        if ((f = fopen(path, "r"))) {
            while (fgets(line, sizeof line, f)) say("    %s", line);
            fclose(f);
        }
    } else {
        snprintf(path, sizeof path, "%s/torch.log", dir);
        if ((f = fopen(path, "r"))) { /* its version line */
            if (fgets(line, sizeof line, f)) say("  %s", line);
            fclose(f);
        }
        say("  %-6s %7s %9s %9s %9s %11s %12s\n", "net", "threads", "min s", "median s", "GFLOP/s", "torch/fcn", "max |diff|");
        for (i = 0; i < nn; i++) {
            netres *r = &nr[i];
            int t, k, oh = 0, ow = 0;
            size_t cnt, j;
            float *tm;
            fcn_options opt;
            memset(&opt, 0, sizeof opt);
            fcn_map_size(r->net, r->im.h, r->im.w, &opt, &oh, &ow, NULL);
            snprintf(path, sizeof path, "%s/%s.torch.txt", dir, r->name);
            if (!(f = fopen(path, "r"))) {
                say("  %s: no times (%s)\n", r->name, path);
                continue;
            }
            k = 0;
            while (k < nt && fgets(line, sizeof line, f)) {
                double mn, md;
                int rr;
                if (sscanf(line, "threads %d runs %d min %lf median %lf", &t, &rr, &mn, &md) == 4) {
                    r->torch_min[k] = mn, r->torch_med[k] = md, r->torch_runs = rr;
                    k++;
                }
            }
            fclose(f);
            if (k < nt) {
                say("  %s: unreadable times in %s\n", r->name, path);
                continue;
            }
            if (nt == 1) r->torch_min[1] = r->torch_min[0], r->torch_med[1] = r->torch_med[0];
            cnt = (size_t)oh * (size_t)ow * (size_t)r->K;
            snprintf(path, sizeof path, "%s/%s.torch.npy", dir, r->name);
            why[0] = 0;
            tm = npy_read(path, cnt, why, sizeof why);
            r->torch_diff = -1;
            if (tm) {
                double d = 0;
                for (j = 0; j < cnt; j++) {
                    double e = fabs((double)tm[j] - (double)r->map[j]);
                    if (e > d || e != e) d = e;
                }
                r->torch_diff = d;
                free(tm);
            } else {
                say("  %s: %s\n", path, why);
            }
            r->have_torch = 1;
            for (k = 2 - nt; k < 2; k++) {
                const timing *c = k ? &r->dT : &r->d1;
                char diff[32] = "";
                if (!k) snprintf(diff, sizeof diff, "-");
                else if (r->torch_diff >= 0) snprintf(diff, sizeof diff, "%.2e", r->torch_diff);
                else snprintf(diff, sizeof diff, "n/a");
                say("  %-6s %7d %9.3f %9.3f %9.1f %10.2fx %12s\n", r->name, k ? T : 1, r->torch_min[k], r->torch_med[k],
                    r->dflops / r->torch_med[k] / 1e9, r->torch_med[k] / c->med, diff);
            }
        }
        say("  (torch/fcn: PyTorch's median time over fcn's dense median at the same thread count;\n"
            "   max |diff|: the largest absolute difference of the %d-thread maps' probabilities)\n", T);
    }
    /* clean up the temporary directory */
    for (i = 0; i < nn; i++) {
        const char *ext[] = {".fcn", ".npy", ".torch.npy", ".torch.txt"};
        int e;
        for (e = 0; e < 4; e++) {
            snprintf(path, sizeof path, "%s/%s%s", dir, nr[i].name, ext[e]);
            remove(path);
        }
    }
    snprintf(path, sizeof path, "%s/torch.log", dir);
    remove(path);
    rmdir(dir);
}

/* ---- main ---------------------------------------------------------------------------------- */
int main(int argc, char **argv)
{
    int T = 2, quick = 0, notorch = 0, big_n = 4096, runs, i, have_isbi;
    const char *outpath = NULL, *python = getenv("PYTHON");
    char cpu[256], path[1024], cmd[1200];
    double peak1, peakT, tstart = now();
    image isbi;
    netres nr[2];
    static const int n4k[] = {4, 5, 4, 4}, n4p[] = {1, 1, 1, 1};
    static const int w49k[] = {4, 4, 4}, w49p[] = {1, 1, 0};

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--no-torch") == 0) notorch = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) T = atoi(argv[++i]);
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) outpath = argv[++i];
        else if (strcmp(argv[i], "--big") == 0 && i + 1 < argc) big_n = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--quick] [--threads N] [--no-torch] [--big N] [--out FILE]\n", argv[0]);
            return 2;
        }
    }
    if (quick) big_n = 0;
    if (big_n < 0 || big_n > 16384) {
        fprintf(stderr, "bench: --big must be 0..16384\n");
        return 2;
    }
    if (T < 1 || T > 256) {
        fprintf(stderr, "bench: --threads must be 1..256\n");
        return 2;
    }
    if (!python || !python[0]) python = "/usr/bin/python3";
    if (strchr(python, '\'')) {
        fprintf(stderr, "bench: $PYTHON must not contain a quote\n");
        return 2;
    }
    if (outpath && !(txt = fopen(outpath, "w"))) {
        fprintf(stderr, "bench: cannot write %s\n", outpath);
        return 1;
    }
    runs = quick ? 3 : 5;

    /* 1. the machine */
    cpu_model(cpu, sizeof cpu);
    say("fcn.h %s benchmark%s\n", FCN_VERSION_STRING, quick ? " (--quick)" : "");
    say("CPU: %s; %ld online CPUs; fcn_simd_name() = %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN), fcn_simd_name());
    say("Timings on a busy machine are noise: take the final figures on a quiet one.\n");
    peak1 = peak_gflops(1, quick ? 0.15 : 0.3, quick ? 2 : 3);
    peakT = T > 1 ? peak_gflops(T, quick ? 0.15 : 0.3, quick ? 2 : 3) : peak1;
    say("\nfp32 FMA peak (measured, %d independent %s chains, 2 FLOPs per FMA lane):\n", PEAK_CHAINS, PEAK_ISA);
    say("  1 thread:  %8.1f GFLOP/s\n", peak1);
    if (T > 1) say("  %d threads: %8.1f GFLOP/s\n", T, peakT);

    /* 2. the networks */
    have_isbi = load_isbi(&isbi, path, sizeof path);
    if (have_isbi) {
        say("\nimage: %s (%dx%d)\n", path, isbi.h, isbi.w);
    } else {
        say("\nimage: %s not found (set FCN_DATA): using a SYNTHETIC 512x512 image\n", path);
        isbi = synthetic(512, 512);
    }
    memset(nr, 0, sizeof nr);
    nr[0].name = "n4";
    nr[0].net = make_net(95, 4, n4k, n4p, 95);
    nr[0].im = isbi;
    nr[1].name = "w49";
    nr[1].net = make_net(49, 3, w49k, w49p, 49);
    nr[1].im = mirror_tile(&isbi, 100, 1024);
    say("n4:  95x95 input: conv 4x4 48, maxpool 2, conv 5x5 48, maxpool 2, conv 4x4 48, maxpool 2,\n"
        "     conv 4x4 48, maxpool 2, fc 200, fc 2, softmax (relu after each conv and fc 200)\n");
    say("w49: 49x49 input: conv 4x4 48, maxpool 2, conv 4x4 48, maxpool 2, conv 4x4 48, fc 200 (over 7x7x48),\n"
        "     fc 2, softmax; image: the %s's first 100 rows, and their mirror image to the right (100x1024)\n",
        have_isbi ? "slice" : "synthetic image");
    say("weights: seeded He-uniform random; input scaled by 1/255 (fcn_net_set_transform)\n");
    for (i = 0; i < 2; i++) bench_net(&nr[i], T, runs, quick, peak1, peakT);

    /* bounded memory: n4 on a 4096x4096 image */
    if (big_n > 0) {
        image big = mirror_tile(&isbi, big_n, big_n);
        fcn_options opt;
        float *out;
        double t, f;
        size_t s;
        memset(&opt, 0, sizeof opt);
        opt.threads = T;
        out = (float *)xmalloc((size_t)big_n * (size_t)big_n * 2 * sizeof(float));
        f = flops_of(nr[0].net, &big, &opt, 1);
        map_once(nr[0].net, &big, &opt, out, &t, &s);
        say("\nbounded memory: n4 dense, %d %s, FCN_MALLOC peak scratch (default budget %.0f MiB):\n", T, thr(T),
            mib(FCN_DEFAULT_MEMORY));
        say("  %-32s %8.1f MiB\n", have_isbi ? "512x512 ISBI slice" : "512x512 synthetic", mib(nr[0].dT.scratch));
        snprintf(path, sizeof path, "%dx%d (%s mirror-tiled)", big_n, big_n, have_isbi ? "slice" : "synthetic");
        say("  %-32s %8.1f MiB  (one run: %.1f s, %.0f GFLOP, %.1f GFLOP/s)\n", path, mib(s), t, f / 1e9, f / t / 1e9);
        say("  (not counted: the thread stacks, and the caller's image and map)\n");
        free(out);
        free(big.px);
    } else {
        say("\nbounded memory: n4 dense scratch on 512x512 %.1f MiB (the large map skipped: %s)\n",
            mib(nr[0].dT.scratch), quick ? "--quick" : "--big 0");
    }

    /* 3. PyTorch */
    snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", python);
    if (notorch) say("\nPyTorch: skipped (--no-torch)\n");
    else if (system(cmd) != 0) say("\nPyTorch: not installed, skipped\n");
    else torch_bench(nr, 2, T, runs, python);

    /* 4. the talk's table */
    {
        const netres *w = &nr[1];
        const double caffe_cpu = 954.0;
        char lab[96];
        struct row {
            const char *what;
            double t;
        } talk[] = {{"Caffe GPU, sliding window (talk)", 180.0},
                    {"Caffe CPU, sliding window (talk)", 954.0},
                    {"Mocha.jl CPU (talk)", 1526.0},
                    {"fully convolutional Julia CPU (talk)", 47.0},
                    {"native C++ (talk)", 3.8}};
        say("\nImplementation speedup: w49 (49x49 window) on 100x1024, time for the whole map\n");
        say("  %-44s %10s %9s\n", "implementation", "time s", "speedup");
        for (i = 0; i < 5; i++) say("  %-44s %10.1f %8.1fx\n", talk[i].what, talk[i].t, caffe_cpu / talk[i].t);
        snprintf(lab, sizeof lab, "fcn sliding window, %d %s (extrapolated)", T, thr(T));
        say("  %-44s %10.1f %8.1fx\n", lab, w->slide_whole, caffe_cpu / w->slide_whole);
        say("  %-44s %10.3f %8.0fx\n", "fcn dense, 1 thread", w->d1.med, caffe_cpu / w->d1.med);
        if (T > 1) {
            snprintf(lab, sizeof lab, "fcn dense, %d threads", T);
            say("  %-44s %10.3f %8.0fx\n", lab, w->dT.med, caffe_cpu / w->dT.med);
        }
        snprintf(lab, sizeof lab, "PyTorch dense, %d %s", T, thr(T));
        if (w->have_torch) say("  %-44s %10.3f %8.0fx\n", lab, w->torch_med[1], caffe_cpu / w->torch_med[1]);
        else say("  %-44s %10s %9s\n", lab, "skipped", "");
        say("  speedup: relative to the talk's Caffe CPU sliding window (954 s). The (talk) rows were\n"
            "  measured on the talk's hardware, not this machine (%s);\n"
            "  this run's rows are medians on it%s.\n", cpu, have_isbi ? "" : ", on a synthetic image");
    }
    say("\ntotal bench time %.0f s\n", now() - tstart);
    for (i = 0; i < 2; i++) {
        fcn_net_free(nr[i].net);
        free(nr[i].map);
    }
    free(nr[1].im.px);
    free(isbi.px);
    if (txt) fclose(txt);
    return 0;
}
