/* bench - how fast fcn.h makes a dense per-pixel map, against the machine's true peak, the
   sliding window and PyTorch, in the shape of the talk's "Implementation Speedup" slide.

       make bench      (builds build/bench as a plain -O2 build, build/bench-native with
                        CFLAGS (-O3 -march=native), build/fcn; runs build/bench)
       build/bench [--quick] [--threads N] [--no-torch] [--portable] [--big N] [--out FILE]
                   [--fcn PATH] [--native PATH]

   1. two networks with seeded random weights: "n4" (the talk's 95x95 net) on a 512x512
      ISBI slice and "w49" (the talk's 49x49 window) on a 100x1024 image made of the
      slice's first 100 rows and their mirror image; mirror border, stride 1;
   2. for each SIMD instruction set whose kernels this build has and this CPU runs
      (AVX-512F, AVX2+FMA, NEON; fcn.h picks among them at run time, and FCN_KERNEL_*
      names each): first the ISA's true fp32 FMA peak, measured right there: independent
      vector FMA chains with every operand in registers, the best of several chain counts
      (8 to 14, to 24 where there are 32 registers) and trials, on 1 and N threads; then
      the dense path with that ISA's kernels at 1 and N threads (min and median of >= 5
      runs after a warm-up), GFLOP/s (fcn_map_flops' dense total over the median) and the
      fraction of that same ISA's peak; every map compared bit for bit;
   3. with --portable, the portable kernels (a band of rows, extrapolated: without SIMD,
      and in a plain x86-64 build with a libm call per fmaf, they are slow);
   4. the sliding window timed on sampled pixels and extrapolated, bit-checked against
      the dense map; the dense path's peak scratch memory (FCN_MALLOC counted), also on a
      4096x4096 image (one run; --big N for another size, --big 0 or --quick to skip);
   5. cold runs: `fcn map` (--fcn PATH, default build/fcn beside this program) as one
      new process per map, as a user runs it (model file and .npy image in, .npy out),
      wall time beside the warm median, its own timing of fcn_map, and its map's bits;
   6. the build: this program is the plain -O2 build (no -march, the kernels chosen at
      run time); --native PATH (default build/bench-native) is the same program built
      with CFLAGS, run as a child for the auto kernels' warm median: the two side by side,
      and their maps' bits;
   7. PyTorch (if /usr/bin/python3 has torch, or $PYTHON): bench/torch_dense.py runs the
      same networks and weights (saved with fcn_net_save) in PyTorch's dense form;
   8. the talk's table for w49 on 100x1024 with this run's rows added, and a summary in
      the shape of the README's table (CPU, ISA, peak, GFLOP/s, % of peak, PyTorch).

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

/* fcn.h allocates through a counter: the dense path's peak scratch */
#include "../tests/lib/count_alloc.h"
#define FCN_IMPLEMENTATION
#include "fcn.h"

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#include "stb_image.h"

#ifndef BENCH_BUILD /* the Makefile says how this copy was built */
#define BENCH_BUILD "built with unknown flags"
#endif

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

/* CPU seconds of the whole process (every thread): on a busy machine, where wall time is
   mostly the neighbours', what the code itself needed */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
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

/* ---- the true FMA peak of an ISA -------------------------------------------------- */
/* N independent chains c = c * m + a (they converge to a / (1 - m): no overflow, no
   subnormals), each its own variable, so that every operand stays in a register: up to
   14 chains with 16 vector registers (AVX2), 24 with 32 (AVX-512, NEON). The ISA's
   functions carry its target attribute on x86-64 (gcc, clang), as fcn.h's kernels do,
   so that this plain build measures every ISA the CPU has. */
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
                  X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#define CHAIN_DECL(i) VT c##i = SET(0.1f + 0.01f * (float)(i));
#define CHAIN_STEP(i) if ((i) < N) c##i = FMA(c##i, m, a);
#define CHAIN_SUM(i) if ((i) < N) s = ADD(s, c##i);
#define PEAK_FN(NAME, ATTR, NCH)                                     \
    ATTR static float NAME(long iters)                               \
    {                                                                \
        enum { N = NCH };                                            \
        VT m = SET(0.9999999f), a = SET(1e-7f), s = SET(0.0f);       \
        long i;                                                      \
        CHAINS(CHAIN_DECL)                                           \
        for (i = 0; i < iters; i++) {                                \
            CHAINS(CHAIN_STEP)                                       \
        }                                                            \
        CHAINS(CHAIN_SUM)                                            \
        return SUM(s);                                               \
    }
#define PEAK_SET(P, ATTR)                                                                              \
    PEAK_FN(P##8, ATTR, 8) PEAK_FN(P##10, ATTR, 10) PEAK_FN(P##12, ATTR, 12) PEAK_FN(P##14, ATTR, 14) \
    PEAK_FN(P##16, ATTR, 16) PEAK_FN(P##20, ATTR, 20) PEAK_FN(P##24, ATTR, 24)

typedef float (*chain_fn)(long iters);
typedef struct peak_isa {
    fcn_kernel kernel;   /* the kernels that use this ISA */
    int lanes;           /* floats per vector */
    int regs;            /* vector registers: which chain counts fit */
    chain_fn fn[7];      /* 8, 10, 12, 14, 16, 20, 24 chains */
} peak_isa;
static const int chain_counts[7] = {8, 10, 12, 14, 16, 20, 24};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VT __m256
#define SET _mm256_set1_ps
#define FMA(c, m, a) _mm256_fmadd_ps(c, m, a) /* c * m + a */
#define ADD _mm256_add_ps
__attribute__((target("avx2,fma"))) static float sum256(__m256 v)
{
    float t[8], s = 0;
    int i;
    _mm256_storeu_ps(t, v);
    for (i = 0; i < 8; i++) s += t[i];
    return s;
}
#define SUM sum256
PEAK_SET(avx2_chains, __attribute__((target("avx2,fma"))))
#undef VT
#undef SET
#undef FMA
#undef ADD
#undef SUM
#define VT __m512
#define SET _mm512_set1_ps
#define FMA(c, m, a) _mm512_fmadd_ps(c, m, a)
#define ADD _mm512_add_ps
__attribute__((target("avx512f"))) static float sum512(__m512 v)
{
    float t[16], s = 0;
    int i;
    _mm512_storeu_ps(t, v);
    for (i = 0; i < 16; i++) s += t[i];
    return s;
}
#define SUM sum512
PEAK_SET(avx512_chains, __attribute__((target("avx512f"))))
static const peak_isa peak_isas[] = {
    {FCN_KERNEL_AVX512, 16, 32, {avx512_chains8, avx512_chains10, avx512_chains12, avx512_chains14, avx512_chains16,
                                 avx512_chains20, avx512_chains24}},
    {FCN_KERNEL_AVX2, 8, 16, {avx2_chains8, avx2_chains10, avx2_chains12, avx2_chains14, avx2_chains16,
                              avx2_chains20, avx2_chains24}}};
#elif defined(__aarch64__) && defined(__ARM_NEON)
#include <arm_neon.h>
#define VT float32x4_t
#define SET vdupq_n_f32
#define FMA(c, m, a) vfmaq_f32(a, c, m) /* a + c * m */
#define ADD vaddq_f32
#define SUM vaddvq_f32
PEAK_SET(neon_chains, )
static const peak_isa peak_isas[] = {{FCN_KERNEL_NEON, 4, 32, {neon_chains8, neon_chains10, neon_chains12,
                                                              neon_chains14, neon_chains16, neon_chains20,
                                                              neon_chains24}}};
#else
static const peak_isa peak_isas[] = {{FCN_KERNEL_COUNT, 0, 0, {0}}}; /* no SIMD ISA measured here */
#endif
#define N_PEAK_ISAS ((int)(sizeof peak_isas / sizeof peak_isas[0]))

/* A chain count fits if the chains, m and a leave a register for the compiler. */
static int chains_fit(const peak_isa *p, int k) { return chain_counts[k] + 2 <= p->regs; }

typedef struct peak_job {
    chain_fn fn;
    long iters;
    float result;
} peak_job;

static void *peak_thread(void *p)
{
    peak_job *j = (peak_job *)p;
    j->result = j->fn(j->iters);
    return NULL;
}

static volatile float peak_sink;

/* GFLOP/s of `threads` threads each running fn for `iters` iterations of `flops` FLOPs. */
static double peak_run(chain_fn fn, double flops, int threads, long iters)
{
    pthread_t tid[256];
    peak_job job[256];
    double t0, t;
    int i, started = 0;
    t0 = now();
    for (i = 0; i < threads; i++) {
        job[i].fn = fn;
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
    return flops * (double)iters * started / t / 1e9;
}

/* Iterations of fn that take about `seconds` on one thread. */
static long peak_calibrate(chain_fn fn, double seconds)
{
    long iters = 1L << 16;
    for (;;) {
        double t0 = now(), t;
        peak_sink += fn(iters);
        t = now() - t0;
        if (t > 0.02 || iters > (1L << 40)) return (long)((double)iters * seconds / t) + 1;
        iters *= 4;
    }
}

typedef struct peak_result {
    double g1, gT; /* GFLOP/s on 1 and T threads */
    int chains;    /* the best chain count on 1 thread */
} peak_result;

/* The ISA's peak: the best chain count on one thread (each count the best of `trials`
   runs of about `seconds`), then that count on T threads (best of `trials`). */
static peak_result peak_measure(const peak_isa *p, int T, double seconds, int trials)
{
    peak_result r;
    int k, i, best = 0;
    memset(&r, 0, sizeof r);
    for (k = 0; k < 7; k++) {
        double flops = 2.0 * chain_counts[k] * p->lanes, g;
        long iters;
        if (!chains_fit(p, k)) continue;
        iters = peak_calibrate(p->fn[k], seconds);
        for (i = 0; i < trials; i++)
            if ((g = peak_run(p->fn[k], flops, 1, iters)) > r.g1) r.g1 = g, best = k;
    }
    r.chains = chain_counts[best];
    r.gT = r.g1;
    if (T > 1) {
        long iters = peak_calibrate(p->fn[best], seconds);
        r.gT = 0;
        for (i = 0; i < trials; i++) {
            double g = peak_run(p->fn[best], 2.0 * r.chains * p->lanes, T, iters);
            if (g > r.gT) r.gT = g;
        }
    }
    return r;
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
    double cpu;     /* the least CPU seconds (all threads) of the runs */
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
        double c0 = cpu_now(), c;
        map_once(net, im, opt, out, &t[i], &s);
        c = cpu_now() - c0;
        if (s > r.scratch) r.scratch = s;
        if (i == 0 || c < r.cpu) r.cpu = c;
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
    int K, oh, ow;
    size_t cells;            /* floats in a map */
    float *map;              /* the reference: the first SIMD family's map at T threads */
    double dflops, sflops;   /* whole map */
    timing fam[FCN_KERNEL_COUNT][2]; /* per kernel family: 1 thread, T threads */
    int have_fam[FCN_KERNEL_COUNT];
    double port_t;           /* portable kernels, T threads, extrapolated to the whole map */
    int port_rows;
    double slide_t, slide_px, slide_flops, slide_whole; /* sampled sliding window */
    int slide_same;
    double cold_min, cold_med, cold_map; /* fcn map as a new process: wall; its fcn_map time */
    int cold_runs, cold_same;
    double native_med, native_min; /* the -march=native build, auto kernels, T threads */
    int native_same;                /* -1: not run */
    char native_simd[32];
    double torch_min[2], torch_med[2];
    int torch_runs;
    int have_torch;
    double torch_diff;
} netres;

static unsigned long long fnv64(const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    unsigned long long h = 1469598103934665603ULL;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static void net_setup(netres *r)
{
    fcn_options opt;
    fcn_error err;
    memset(&opt, 0, sizeof opt);
    if (fcn_map_size(r->net, r->im.h, r->im.w, &opt, &r->oh, &r->ow, &err) != FCN_OK) die("fcn_map_size", &err);
    r->K = fcn_net_outputs(r->net);
    r->cells = (size_t)r->oh * (size_t)r->ow * (size_t)r->K;
    r->dflops = flops_of(r->net, &r->im, &opt, 1);
    r->sflops = flops_of(r->net, &r->im, &opt, 0);
    r->map = NULL;
    r->native_same = -1;
}

static const char *kname(int k) { return fcn_kernel_name((fcn_kernel)k); }

/* The dense path with kernel family k at 1 and T threads; % of the ISA's peak pk. */
static void bench_family(netres *r, int k, int T, int runs, const peak_result *pk)
{
    fcn_options opt;
    float *m1 = (float *)xmalloc(r->cells * sizeof(float)), *mT = (float *)xmalloc(r->cells * sizeof(float));
    int t, same = 1;
    memset(&opt, 0, sizeof opt);
    opt.kernel = (fcn_kernel)k;
    say("  %-4s %-8s %9s %9s %9s %8s %9s %12s\n", r->name, "threads", "min s", "median s", "GFLOP/s", "of peak",
        "CPU s", "GFLOP/CPU-s");
    for (t = 0; t < (T > 1 ? 2 : 1); t++) {
        timing *tm = &r->fam[k][t];
        opt.threads = t ? T : 1;
        *tm = time_map(r->net, &r->im, &opt, t ? mT : m1, 1, runs);
        say("  %-4s %-8d %9.3f %9.3f %9.1f %7.1f%% %9.3f %7.1f %3.0f%%\n", r->name, opt.threads, tm->min, tm->med,
            r->dflops / tm->med / 1e9, 100.0 * r->dflops / tm->med / 1e9 / (t ? pk->gT : pk->g1), tm->cpu,
            r->dflops / tm->cpu / 1e9, 100.0 * r->dflops / tm->cpu / 1e9 / pk->g1);
    }
    if (T == 1) r->fam[k][1] = r->fam[k][0], memcpy(mT, m1, r->cells * sizeof(float));
    r->have_fam[k] = 1;
    if (!r->map) {
        r->map = mT;
        mT = NULL;
    } else {
        same = memcmp(mT, r->map, r->cells * sizeof(float)) == 0;
    }
    same = same && memcmp(m1, r->map, r->cells * sizeof(float)) == 0;
    say("  %-4s %d-thread speedup %.2fx; maps (1 and %d threads) %s; dense scratch (FCN_MALLOC peak) %.1f MiB\n",
        r->name, T, r->fam[k][0].med / r->fam[k][1].med, T,
        same ? "the same bits as the first kernels'" : "DIFFERENT from the first kernels'", mib(r->fam[k][1].scratch));
    free(m1);
    free(mT);
}

/* The portable kernels (--portable): a band of 32 rows in the middle of the map, timed
   once, its GFLOP/s (fcn_map_flops of the band: its halo rows counted) extrapolated to
   the whole map, its bits compared with that band of the reference map. Slow in a plain
   x86-64 build, where every fmaf is a libm call (minutes: hence opt-in). */
static void bench_portable(netres *r, int T)
{
    fcn_options opt;
    float *band;
    double t, f;
    int same;
    size_t row = (size_t)r->ow * (size_t)r->K;
    memset(&opt, 0, sizeof opt);
    opt.kernel = FCN_KERNEL_PORTABLE;
    opt.threads = T;
    opt.rect_x = 0;
    opt.rect_w = r->ow;
    opt.rect_h = r->port_rows = r->oh < 32 ? r->oh : 32;
    opt.rect_y = (r->oh - opt.rect_h) / 2;
    band = (float *)xmalloc((size_t)opt.rect_h * row * sizeof(float));
    f = flops_of(r->net, &r->im, &opt, 1);
    map_once(r->net, &r->im, &opt, band, &t, NULL);
    r->port_t = r->dflops / (f / t);
    same = !r->map || memcmp(band, r->map + (size_t)opt.rect_y * row, (size_t)opt.rect_h * row * sizeof(float)) == 0;
    say("  %-4s %d %s, rows %d-%d of %d (%.1f GFLOP with the halo): %.2f s, %.2f GFLOP/s; the whole map at that rate "
        "%.0f s; %s\n", r->name, T, thr(T), opt.rect_y, opt.rect_y + opt.rect_h - 1, r->oh, f / 1e9, t, f / t / 1e9,
        r->port_t, same ? "the same bits" : "DIFFERENT bits");
    free(band);
}

/* The sliding window on T rows (one per thread) x n columns from the top-left corner
   (the mirror border included): one calibration column, then enough columns for about
   `target` seconds, extrapolated to the whole map; bit-checked against the dense map. */
static void bench_sliding(netres *r, int T, int quick, double dense_med)
{
    fcn_options opt;
    fcn_error err;
    float *sl;
    double s_px, cal, t0;
    int n, y;
    size_t row = (size_t)r->ow * (size_t)r->K;
    memset(&opt, 0, sizeof opt);
    opt.path = FCN_PATH_SLIDING;
    opt.threads = T;
    opt.rect_y = 0;
    opt.rect_x = 0;
    opt.rect_h = T < r->oh ? T : r->oh;
    opt.rect_w = 1;
    sl = (float *)xmalloc((size_t)opt.rect_h * row * sizeof(float));
    t0 = now();
    if (fcn_map(r->net, r->im.px, r->im.h, r->im.w, &opt, sl, &err) != FCN_OK) die("fcn_map (sliding)", &err);
    cal = now() - t0;
    n = (int)ceil((quick ? 1.5 : 3.0) / (cal > 1e-6 ? cal : 1e-6));
    if (n < 1) n = 1;
    if (n > r->ow) n = r->ow;
    opt.rect_w = n;
    map_once(r->net, &r->im, &opt, sl, &r->slide_t, NULL);
    s_px = (double)opt.rect_h * n;
    r->slide_px = s_px;
    r->slide_flops = flops_of(r->net, &r->im, &opt, 0);
    r->slide_whole = r->slide_t * ((double)r->oh * r->ow) / s_px;
    r->slide_same = 1;
    for (y = 0; y < opt.rect_h; y++)
        if (memcmp(sl + (size_t)y * (size_t)n * (size_t)r->K, r->map + (size_t)y * row,
                   (size_t)n * (size_t)r->K * sizeof(float)) != 0)
            r->slide_same = 0;
    say("  %-4s sliding window, %d %s: %.0f pixels (rows 0-%d, columns 0-%d) in %.2f s, %.2f GFLOP/s\n", r->name, T,
        thr(T), s_px, opt.rect_h - 1, n - 1, r->slide_t, r->slide_flops / r->slide_t / 1e9);
    say("       extrapolated to the whole map: %.0f s; the dense path (%d %s) is %.0fx faster:\n", r->slide_whole, T,
        thr(T), r->slide_whole / dense_med);
    say("       %.0fx less arithmetic x %.0fx more GFLOP/s (the sliding path is plain scalar reference code)\n",
        r->sflops / r->dflops, (r->dflops / dense_med) / (r->slide_flops / r->slide_t));
    say("       bit-identical to the dense map at those pixels: %s\n", r->slide_same ? "yes" : "NO");
    free(sl);
}

/* Cold runs: `fcn map` as a new process per map, the model and image from files, the map
   to a .npy: wall time (fork to exit) and the tool's own fcn_map time, 3 runs; the map's
   bits against the warm map. dir holds NAME.fcn and NAME.npy. */
static void bench_cold(netres *r, const char *fcn, const char *dir, int T, int runs)
{
    char cmd[2048], path[600], line[512], why[256];
    double t[16], m[16];
    int i, n = 0;
    FILE *f;
    float *cm;
    if (runs > 16) runs = 16;
    for (i = 0; i < runs; i++) {
        double t0;
        snprintf(cmd, sizeof cmd, "'%s' map '%s/%s.fcn' '%s/%s.npy' --npy '%s/%s.cold.npy' --threads %d >'%s/cold.txt' 2>&1",
                 fcn, dir, r->name, dir, r->name, dir, r->name, T, dir);
        t0 = now();
        if (system(cmd) != 0) {
            snprintf(path, sizeof path, "%s/cold.txt", dir);
            say("  %-4s cold: '%s' failed:\n", r->name, fcn);
            if ((f = fopen(path, "r"))) {
                while (fgets(line, sizeof line, f)) say("    %s", line);
                fclose(f);
            }
            return;
        }
        t[n] = now() - t0;
        m[n] = 0;
        snprintf(path, sizeof path, "%s/cold.txt", dir);
        if ((f = fopen(path, "r"))) { /* "...: 0.463 s, 134.2 GFLOP, 290 GFLOP/s" */
            if (fgets(line, sizeof line, f)) {
                char *c = strstr(line, " s, ");
                while (c && c > line && c[-1] != ' ') c--;
                if (c) m[n] = atof(c);
            }
            fclose(f);
        }
        n++;
    }
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    qsort(m, (size_t)n, sizeof m[0], cmp_double);
    r->cold_runs = n;
    r->cold_min = t[0];
    r->cold_med = t[n / 2];
    r->cold_map = m[n / 2];
    snprintf(path, sizeof path, "%s/%s.cold.npy", dir, r->name);
    why[0] = 0;
    cm = npy_read(path, r->cells, why, sizeof why);
    r->cold_same = cm && memcmp(cm, r->map, r->cells * sizeof(float)) == 0;
    free(cm);
    remove(path);
    snprintf(path, sizeof path, "%s/cold.txt", dir);
    remove(path);
    say("  %-4s %d cold runs, %d %s: wall min %.3f s, median %.3f s (its fcn_map: %.3f s); warm median (auto) %.3f s;"
        " map %s\n", r->name, n, T, thr(T), r->cold_min, r->cold_med, r->cold_map, r->fam[0][1].med,
        r->cold_same ? "the same bits" : why[0] ? why : "DIFFERENT bits");
}

/* ---- 3. PyTorch ----------------------------------------------------------------------- */
/* dir holds NAME.fcn and NAME.npy of each net (written by main). */
static void torch_bench(netres *nr, int nn, int T, int runs, const char *python, const char *dir)
{
    char path[512], cmd[2048], why[512], line[256];
    int i, rc, nt = T > 1 ? 2 : 1;
    char tl[32] = "";
    FILE *f;
    if (T > 1) snprintf(tl, sizeof tl, ",%d", T);
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
                const timing *c = &r->fam[FCN_KERNEL_AUTO][k];
                char diff[32] = "";
                if (!k) snprintf(diff, sizeof diff, "-");
                else if (r->torch_diff >= 0) snprintf(diff, sizeof diff, "%.2e", r->torch_diff);
                else snprintf(diff, sizeof diff, "n/a");
                say("  %-6s %7d %9.3f %9.3f %9.1f %10.2fx %12s\n", r->name, k ? T : 1, r->torch_min[k], r->torch_med[k],
                    r->dflops / r->torch_med[k] / 1e9, r->torch_med[k] / c->med, diff);
            }
        }
        say("  (torch/fcn: PyTorch's median time over fcn's dense median (auto kernels) at the same thread count;\n"
            "   max |diff|: the largest absolute difference of the %d-thread maps' probabilities)\n", T);
    }
    for (i = 0; i < nn; i++) {
        const char *ext[] = {".torch.npy", ".torch.txt"};
        int e;
        for (e = 0; e < 2; e++) {
            snprintf(path, sizeof path, "%s/%s%s", dir, nr[i].name, ext[e]);
            remove(path);
        }
    }
    snprintf(path, sizeof path, "%s/torch.log", dir);
    remove(path);
}

/* ---- the networks and the image, the same in the parent and the child ------------------ */
static int setup_nets(netres *nr, image *isbi, char *path, size_t pn)
{
    static const int n4k[] = {4, 5, 4, 4}, n4p[] = {1, 1, 1, 1};
    static const int w49k[] = {4, 4, 4}, w49p[] = {1, 1, 0};
    int have_isbi = load_isbi(isbi, path, pn);
    if (!have_isbi) *isbi = synthetic(512, 512);
    memset(nr, 0, 2 * sizeof *nr);
    nr[0].name = "n4";
    nr[0].net = make_net(95, 4, n4k, n4p, 95);
    nr[0].im = *isbi;
    nr[1].name = "w49";
    nr[1].net = make_net(49, 3, w49k, w49p, 49);
    nr[1].im = mirror_tile(isbi, 100, 1024);
    net_setup(&nr[0]);
    net_setup(&nr[1]);
    return have_isbi;
}

/* --child T RUNS: the auto kernels' warm min and median at T threads and the map's hash,
   one line per net, for the parent (the other build) to read. */
static int child(int T, int runs)
{
    netres nr[2];
    image isbi;
    char path[1024];
    int i;
    setup_nets(nr, &isbi, path, sizeof path);
    printf("simd %s\n", fcn_simd_name());
    for (i = 0; i < 2; i++) {
        fcn_options opt;
        timing tm;
        float *m = (float *)xmalloc(nr[i].cells * sizeof(float));
        memset(&opt, 0, sizeof opt);
        opt.threads = T;
        tm = time_map(nr[i].net, &nr[i].im, &opt, m, 1, runs);
        printf("net %s min %.6f median %.6f hash %016llx\n", nr[i].name, tm.min, tm.med, fnv64(m, nr[i].cells * sizeof(float)));
        free(m);
    }
    return 0;
}

/* Runs the -march=native build (path) as a child and reads its lines. */
static void bench_native(netres *nr, const char *path, int T, int runs)
{
    char cmd[1200], line[512], simd[32] = "?";
    FILE *f;
    int i;
    snprintf(cmd, sizeof cmd, "'%s' --child %d %d 2>&1", path, T, runs);
    if (!(f = popen(cmd, "r"))) {
        say("  cannot run %s\n", path);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        char name[16];
        double mn, md;
        unsigned long long h;
        if (sscanf(line, "simd %31s", simd) == 1) continue;
        if (sscanf(line, "net %15s min %lf median %lf hash %llx", name, &mn, &md, &h) != 4) {
            say("  %s: %s", path, line);
            continue;
        }
        for (i = 0; i < 2; i++)
            if (strcmp(name, nr[i].name) == 0) {
                nr[i].native_min = mn, nr[i].native_med = md;
                nr[i].native_same = h == fnv64(nr[i].map, nr[i].cells * sizeof(float));
                snprintf(nr[i].native_simd, sizeof nr[i].native_simd, "%s", simd);
            }
    }
    if (pclose(f) != 0) say("  %s exited with an error\n", path);
    for (i = 0; i < 2; i++) {
        const netres *r = &nr[i];
        if (r->native_same < 0) continue;
        say("  %-4s %d %s, auto kernels: this plain -O2 build (%s) median %.3f s; the -march=native build (%s) "
            "median %.3f s: plain/native %.3f; maps %s\n", r->name, T, thr(T), fcn_simd_name(),
            r->fam[FCN_KERNEL_AUTO][1].med, r->native_simd, r->native_med,
            r->fam[FCN_KERNEL_AUTO][1].med / r->native_med, r->native_same ? "the same bits" : "DIFFERENT bits");
    }
}

/* A path beside this program (argv0's folder), for the default --fcn and --native. */
static void beside(char *out, size_t n, const char *argv0, const char *name)
{
    const char *slash = strrchr(argv0, '/');
    if (slash) snprintf(out, n, "%.*s/%s", (int)(slash - argv0), argv0, name);
    else snprintf(out, n, "./%s", name);
}

static int executable(const char *path) { return access(path, X_OK) == 0; }

/* ---- main ---------------------------------------------------------------------------------- */
int main(int argc, char **argv)
{
    int T = 2, quick = 0, notorch = 0, portable = 0, big_n = 4096, runs, i, k, have_isbi, auto_k = FCN_KERNEL_PORTABLE;
    const char *outpath = NULL, *python = getenv("PYTHON");
    char cpu[256], path[1024], cmd[1200], fcn_tool[1024], native_path[1024], dir[] = "/tmp/fcn-bench-XXXXXX";
    double tstart = now();
    peak_result pk[FCN_KERNEL_COUNT];
    image isbi;
    netres nr[2];
    fcn_error err;
    int have_dir = 0;

    beside(fcn_tool, sizeof fcn_tool, argv[0], "fcn");
    beside(native_path, sizeof native_path, argv[0], "bench-native");
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--no-torch") == 0) notorch = 1;
        else if (strcmp(argv[i], "--portable") == 0) portable = 1;
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) T = atoi(argv[++i]);
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) outpath = argv[++i];
        else if (strcmp(argv[i], "--big") == 0 && i + 1 < argc) big_n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--fcn") == 0 && i + 1 < argc) snprintf(fcn_tool, sizeof fcn_tool, "%s", argv[++i]);
        else if (strcmp(argv[i], "--native") == 0 && i + 1 < argc)
            snprintf(native_path, sizeof native_path, "%s", argv[++i]);
        else if (strcmp(argv[i], "--child") == 0 && i + 2 < argc) return child(atoi(argv[i + 1]), atoi(argv[i + 2]));
        else {
            fprintf(stderr, "usage: %s [--quick] [--threads N] [--no-torch] [--portable] [--big N] [--out FILE] "
                            "[--fcn PATH] [--native PATH]\n", argv[0]);
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
    if (strchr(python, '\'') || strchr(fcn_tool, '\'') || strchr(native_path, '\'')) {
        fprintf(stderr, "bench: $PYTHON, --fcn and --native must not contain a quote\n");
        return 2;
    }
    if (outpath && !(txt = fopen(outpath, "w"))) {
        fprintf(stderr, "bench: cannot write %s\n", outpath);
        return 1;
    }
    runs = quick ? 3 : 5;
    memset(pk, 0, sizeof pk);

    /* the machine, the networks */
    cpu_model(cpu, sizeof cpu);
    say("fcn.h %s benchmark%s\n", FCN_VERSION_STRING, quick ? " (--quick)" : "");
    say("CPU: %s; %ld online CPUs; this build: %s; fcn_simd_name() = %s (the kernels auto picks)\n", cpu,
        sysconf(_SC_NPROCESSORS_ONLN), BENCH_BUILD, fcn_simd_name());
    say("Timings on a busy machine are noise: take the final figures on a quiet one.\n");
    have_isbi = setup_nets(nr, &isbi, path, sizeof path);
    if (have_isbi) say("\nimage: %s (%dx%d)\n", path, isbi.h, isbi.w);
    else say("\nimage: %s not found (set FCN_DATA): using a SYNTHETIC 512x512 image\n", path);
    say("n4:  95x95 input: conv 4x4 48, maxpool 2, conv 5x5 48, maxpool 2, conv 4x4 48, maxpool 2,\n"
        "     conv 4x4 48, maxpool 2, fc 200, fc 2, softmax (relu after each conv and fc 200)\n");
    say("w49: 49x49 input: conv 4x4 48, maxpool 2, conv 4x4 48, maxpool 2, conv 4x4 48, fc 200 (over 7x7x48),\n"
        "     fc 2, softmax; image: the %s's first 100 rows, and their mirror image to the right (100x1024)\n",
        have_isbi ? "slice" : "synthetic image");
    say("weights: seeded He-uniform random; input scaled by 1/255 (fcn_net_set_transform)\n");
    for (i = 0; i < 2; i++)
        say("%s: patch %dx%d, image %dx%d, mirror border -> map %dx%dx%d; arithmetic (fcn_map_flops): dense %.1f GFLOP, "
            "sliding window %.0f GFLOP (%.0fx more)\n", nr[i].name, fcn_net_input(nr[i].net).h,
            fcn_net_input(nr[i].net).w, nr[i].im.h, nr[i].im.w, nr[i].oh, nr[i].ow, nr[i].K, nr[i].dflops / 1e9,
            nr[i].sflops / 1e9, nr[i].sflops / nr[i].dflops);

    /* each SIMD ISA: its peak, right before its kernels */
    for (k = 0; k < N_PEAK_ISAS; k++) {
        const peak_isa *p = &peak_isas[k];
        peak_result *r;
        if (p->kernel == FCN_KERNEL_COUNT || !fcn_kernel_available(p->kernel)) continue;
        r = &pk[p->kernel];
        *r = peak_measure(p, T, quick ? 0.1 : 0.2, quick ? 2 : 3);
        if (auto_k == FCN_KERNEL_PORTABLE) auto_k = p->kernel; /* the widest first, as fcn.h's auto */
        say("\n%s kernels (FCN_KERNEL_%s)%s\n", kname(p->kernel),
            p->kernel == FCN_KERNEL_AVX512 ? "AVX512" : p->kernel == FCN_KERNEL_AVX2 ? "AVX2" : "NEON",
            strcmp(kname(p->kernel), kname(FCN_KERNEL_AUTO)) == 0 ? ", what auto picks here" : "");
        say("  %s fp32 FMA peak, measured now: 1 thread %.1f GFLOP/s, %d %s %.1f GFLOP/s (best of %d to %d "
            "independent chains in registers: %d; 2 FLOPs per FMA lane)\n", kname(p->kernel), r->g1, T, thr(T), r->gT,
            chain_counts[0], p->regs == 16 ? 14 : 24, r->chains);
        say("  (CPU s: the least process CPU time of the runs, every thread; GFLOP/CPU-s against the 1-thread peak\n"
            "   is what the code reaches per core when neighbours take the wall clock)\n");
        for (i = 0; i < 2; i++) bench_family(&nr[i], p->kernel, T, runs, r);
    }
    if (strcmp(kname(auto_k), kname(FCN_KERNEL_AUTO)) != 0)
        say("\nbench: auto runs %s here, which this benchmark did not measure\n", kname(FCN_KERNEL_AUTO));
    for (i = 0; i < 2; i++) {
        memcpy(nr[i].fam[FCN_KERNEL_AUTO], nr[i].fam[auto_k], sizeof nr[i].fam[auto_k]);
        if (!nr[i].map) { /* no SIMD family: the portable kernels are the reference */
            fcn_options opt;
            memset(&opt, 0, sizeof opt);
            opt.threads = T;
            nr[i].map = (float *)xmalloc(nr[i].cells * sizeof(float));
            nr[i].fam[FCN_KERNEL_AUTO][1] = time_map(nr[i].net, &nr[i].im, &opt, nr[i].map, 0, 1);
            nr[i].fam[FCN_KERNEL_AUTO][0] = nr[i].fam[FCN_KERNEL_AUTO][1];
        }
    }

    say("\nportable kernels (FCN_KERNEL_PORTABLE: plain C, fmaf per lane; a band of rows):\n");
    if (portable)
        for (i = 0; i < 2; i++) bench_portable(&nr[i], T);
    else
        say("  skipped (--portable runs them: minutes in a plain x86-64 build, where every fmaf is a libm call;\n"
            "  make test proves their bits)\n");

    say("\nsliding window (the reference path):\n");
    for (i = 0; i < 2; i++) bench_sliding(&nr[i], T, quick, nr[i].fam[FCN_KERNEL_AUTO][1].med);

    /* bounded memory: n4 on a 4096x4096 image */
    if (big_n > 0) {
        image big = mirror_tile(&isbi, big_n, big_n);
        fcn_options opt;
        float *out;
        double t, f;
        size_t sc;
        memset(&opt, 0, sizeof opt);
        opt.threads = T;
        out = (float *)xmalloc((size_t)big_n * (size_t)big_n * 2 * sizeof(float));
        f = flops_of(nr[0].net, &big, &opt, 1);
        map_once(nr[0].net, &big, &opt, out, &t, &sc);
        say("\nbounded memory: n4 dense, %d %s, FCN_MALLOC peak scratch (default budget %.0f MiB):\n", T, thr(T),
            mib(FCN_DEFAULT_MEMORY));
        say("  %-32s %8.1f MiB\n", have_isbi ? "512x512 ISBI slice" : "512x512 synthetic",
            mib(nr[0].fam[FCN_KERNEL_AUTO][1].scratch));
        snprintf(path, sizeof path, "%dx%d (%s mirror-tiled)", big_n, big_n, have_isbi ? "slice" : "synthetic");
        say("  %-32s %8.1f MiB  (one run: %.1f s, %.0f GFLOP, %.1f GFLOP/s)\n", path, mib(sc), t, f / 1e9, f / t / 1e9);
        say("  (not counted: the thread stacks, and the caller's image and map)\n");
        free(out);
        free(big.px);
    } else {
        say("\nbounded memory: n4 dense scratch on 512x512 %.1f MiB (the large map skipped: %s)\n",
            mib(nr[0].fam[FCN_KERNEL_AUTO][1].scratch), quick ? "--quick" : "--big 0");
    }

    /* the nets and images as files, for fcn map and PyTorch */
    if (little_endian() && mkdtemp(dir)) {
        have_dir = 1;
        for (i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s/%s.fcn", dir, nr[i].name);
            if (fcn_net_save(nr[i].net, path, &err) != FCN_OK) die("fcn_net_save", &err);
            snprintf(path, sizeof path, "%s/%s.npy", dir, nr[i].name);
            if (!npy_write(path, nr[i].im.px, nr[i].im.h, nr[i].im.w)) have_dir = 0;
        }
    }
    say("\ncold runs: `%s map NET.fcn IMAGE.npy --npy OUT.npy --threads %d`, one process per map:\n", fcn_tool, T);
    if (!have_dir) say("  skipped (cannot write the nets and images to %s)\n", dir);
    else if (!executable(fcn_tool)) say("  skipped (%s not found; make builds it)\n", fcn_tool);
    else
        for (i = 0; i < 2; i++) bench_cold(&nr[i], fcn_tool, dir, T, 3);

    say("\nthe build: this program is %s; the -march=native build %s:\n", BENCH_BUILD, native_path);
    if (!executable(native_path)) say("  skipped (%s not found; make bench builds it)\n", native_path);
    else bench_native(nr, native_path, T, runs);

    snprintf(cmd, sizeof cmd, "'%s' -c 'import torch' >/dev/null 2>&1", python);
    if (notorch) say("\nPyTorch: skipped (--no-torch)\n");
    else if (!have_dir) say("\nPyTorch: skipped (no temporary directory, or a big-endian host)\n");
    else if (system(cmd) != 0) say("\nPyTorch: not installed, skipped (Debian: python3-torch)\n");
    else torch_bench(nr, 2, T, runs, python, dir);
    if (have_dir) {
        for (i = 0; i < 2; i++) {
            snprintf(path, sizeof path, "%s/%s.fcn", dir, nr[i].name);
            remove(path);
            snprintf(path, sizeof path, "%s/%s.npy", dir, nr[i].name);
            remove(path);
        }
        rmdir(dir);
    }

    /* the talk's table */
    {
        const netres *w = &nr[1];
        const double caffe_cpu = 954.0;
        const timing *a = w->fam[FCN_KERNEL_AUTO];
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
        say("  %-44s %10.3f %8.0fx\n", "fcn dense, 1 thread", a[0].med, caffe_cpu / a[0].med);
        if (T > 1) {
            snprintf(lab, sizeof lab, "fcn dense, %d threads", T);
            say("  %-44s %10.3f %8.0fx\n", lab, a[1].med, caffe_cpu / a[1].med);
        }
        snprintf(lab, sizeof lab, "PyTorch dense, %d %s", T, thr(T));
        if (w->have_torch) say("  %-44s %10.3f %8.0fx\n", lab, w->torch_med[1], caffe_cpu / w->torch_med[1]);
        else say("  %-44s %10s %9s\n", lab, "skipped", "");
        say("  speedup: relative to the talk's Caffe CPU sliding window (954 s). The (talk) rows were\n"
            "  measured on the talk's hardware, not this machine (%s);\n"
            "  this run's rows are medians on it%s.\n", cpu, have_isbi ? "" : ", on a synthetic image");
    }

    /* the summary, in the shape of the README's table */
    say("\nSummary (README table): %s, %ld online CPUs, %d %s; medians; %% of the same ISA's peak measured in this run\n"
        "(per CPU-s: the GFLOP per CPU-second of the least-CPU run against the 1-thread peak)\n",
        cpu, sysconf(_SC_NPROCESSORS_ONLN), T, thr(T));
    say("| | n4 (95x95 net), 512x512 | w49 (49x49 net), 100x1024 |\n| --- | --- | --- |\n");
    for (k = FCN_KERNEL_AVX2; k < FCN_KERNEL_COUNT; k++) {
        int t;
        if (!nr[0].have_fam[k]) continue;
        for (t = 0; t < (T > 1 ? 2 : 1); t++) {
            say("| %s kernels, %d %s (peak %.1f GFLOP/s) |", kname(k), t ? T : 1, thr(t ? T : 1), t ? pk[k].gT : pk[k].g1);
            for (i = 0; i < 2; i++) {
                double med = nr[i].fam[k][t].med, g = nr[i].dflops / med / 1e9;
                say(" %.3f s, %.1f GFLOP/s, %.1f%% (per CPU-s %.0f%%) |", med, g, 100.0 * g / (t ? pk[k].gT : pk[k].g1),
                    100.0 * nr[i].dflops / nr[i].fam[k][t].cpu / 1e9 / pk[k].g1);
            }
            say("\n");
        }
    }
    say("| PyTorch %s dense, %d %s |", "1.13", T, thr(T));
    for (i = 0; i < 2; i++) {
        if (nr[i].have_torch)
            say(" %.3f s, %.1f GFLOP/s; PyTorch/fcn %.2fx |", nr[i].torch_med[1], nr[i].dflops / nr[i].torch_med[1] / 1e9,
                nr[i].torch_med[1] / nr[i].fam[FCN_KERNEL_AUTO][1].med);
        else say(" skipped |");
    }
    say("\n| cold `fcn map` (one process), %d %s |", T, thr(T));
    for (i = 0; i < 2; i++) {
        if (nr[i].cold_runs)
            say(" %.3f s (warm %.3f s) |", nr[i].cold_med, nr[i].fam[FCN_KERNEL_AUTO][1].med);
        else say(" skipped |");
    }
    say("\n| plain -O2 / -march=native build, %d %s |", T, thr(T));
    for (i = 0; i < 2; i++) {
        if (nr[i].native_same >= 0)
            say(" %.3f / %.3f s = %.3f%s |", nr[i].fam[FCN_KERNEL_AUTO][1].med, nr[i].native_med,
                nr[i].fam[FCN_KERNEL_AUTO][1].med / nr[i].native_med, nr[i].native_same ? "" : " (DIFFERENT bits)");
        else say(" skipped |");
    }
    say("\n\ntotal bench time %.0f s\n", now() - tstart);
    for (i = 0; i < 2; i++) {
        fcn_net_free(nr[i].net);
        free(nr[i].map);
    }
    free(nr[1].im.px);
    free(isbi.px);
    if (txt) fclose(txt);
    return 0;
}
