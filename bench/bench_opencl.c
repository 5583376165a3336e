/* bench_opencl - the OpenCL path's speed on one device, and its bits against the C path.

   The reference cases of the GPU issue: the talk's 95x95 network "n4" on a 512x512 ISBI
   slice and on a 4096x4096 image (the slice tiled with its mirror images), and its 49x49
   network "w49" on 100x1024 (the slice's first 100 rows and their mirror image); seeded
   random weights (tests/lib/nets.h), mirror border, output stride 1. For each map: the
   OpenCL time (median of --runs runs after a first one, which takes the driver's lazy
   compilation), GFLOP/s (fcn_map_flops' dense total over the median), the fraction of
   the device's FP32 peak, the C dense path's time (one run) and whether the two maps
   are the same bits (memcmp; the first differing pixel otherwise).

       make bench-opencl                      (or build/bench_opencl [options])
       --device SEL      index or name substring (else $FCN_OPENCL_DEVICE, else the default)
       --conv K          simple, tiled or vector (else the device type's kernel)
       --runs N          timed runs of each map (default 5; 3 for the big map)
       --big N           side of the big n4 map (default 4096; 0 skips it)
       --quick           small maps for a CPU driver: n4 on 128x128 and 256x256, w49 on 25x256
       --no-c            no C maps (no bits check)
       --threads N       the C path's threads (default: every core)
       --peak GFLOPS     the device's FP32 peak, where it cannot be worked out (below)
       --list            the OpenCL devices, one a line: index, gpu|cpu|other,
                         exact|inexact, name, platform, driver (tab-separated)

   The FP32 peak is 2 FLOPs x compute units x FP32 lanes per unit x the clock
   (CL_DEVICE_MAX_CLOCK_FREQUENCY): NVIDIA's lanes per streaming multiprocessor from its
   compute capability (cl_nv_device_attribute_query), AMD GPUs' 64 per compute unit;
   other devices' lanes are not known (say --peak). The ISBI slice is
   $FCN_DATA/train-images/0.png (or $FCN_DATA/isbi2012/...), else
   ../shared/data/isbi2012/train-images/0.png; without it a synthetic image, and the
   output says so. Exit status: 0, or 1 if a map failed or differs from the C path's. */
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
#include <time.h>

#include "../tests/lib/nets.h"

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

/* The slice, 0..1 floats (the nets have no input transform); NULL without it. */
static float *load_slice(int *h, int *w, char *path, size_t pn)
{
    const char *data = getenv("FCN_DATA");
    struct stat st;
    unsigned char *px;
    float *img;
    size_t i;
    int c;
    if (data && data[0]) {
        snprintf(path, pn, "%s/train-images/0.png", data);
        if (stat(path, &st) != 0) snprintf(path, pn, "%s/isbi2012/train-images/0.png", data);
    } else {
        snprintf(path, pn, "../shared/data/isbi2012/train-images/0.png");
    }
    if (!(px = stbi_load(path, w, h, &c, 1))) return NULL;
    img = (float *)malloc((size_t)*h * (size_t)*w * sizeof(float));
    for (i = 0; img && i < (size_t)*h * (size_t)*w; i++) img[i] = (float)px[i] / 255.0f;
    stbi_image_free(px);
    return img;
}

/* A smooth synthetic stand-in for the slice, 512x512. */
static float *synthetic(int *h, int *w)
{
    float *img = (float *)malloc(512 * 512 * sizeof(float));
    int y, x;
    *h = *w = 512;
    for (y = 0; y < 512 && img; y++)
        for (x = 0; x < 512; x++)
            img[y * 512 + x] = 0.5f + 0.3f * (float)(sin(x * 0.071) * cos(y * 0.053)) + 0.2f * (float)sin((x + 2 * y) * 0.013);
    return img;
}

/* i folded into 0 .. n-1 by reflection about the edges (period 2n - 2) */
static int fold(int i, int n)
{
    int p = 2 * n - 2;
    if (n == 1) return 0;
    i %= p;
    return i < n ? i : p - i;
}

/* An h x w image: the first rows (at most sh) of the sh x sw slice, tiled with their
   mirror images. */
static float *tiled_image(const float *s, int sh, int sw, int rows, int h, int w)
{
    float *img = (float *)malloc((size_t)h * (size_t)w * sizeof(float));
    int y, x;
    if (rows > sh) rows = sh;
    for (y = 0; y < h && img; y++)
        for (x = 0; x < w; x++) img[(size_t)y * (size_t)w + (size_t)x] = s[(size_t)fold(y, rows) * (size_t)sw + (size_t)fold(x, sw)];
    return img;
}

/* FP32 lanes per NVIDIA streaming multiprocessor, by compute capability; 0 if unknown. */
static int nv_lanes(int major, int minor)
{
    if (major == 2) return minor == 0 ? 32 : 48;
    if (major == 3) return 192;
    if (major == 5) return 128;
    if (major == 6) return minor == 0 ? 64 : 128;
    if (major == 7) return 64;
    if (major == 8) return minor == 0 ? 64 : 128;
    if (major >= 9) return 128;
    return 0;
}

/* The device's FP32 peak in GFLOP/s (0 if unknown), and how it was worked out. */
static double device_peak(fcn_cl *cl, char *how, size_t n)
{
    const fcn_cl_device_info *d = fcn_cl_device(cl);
    cl_uint major = 0, minor = 0;
    int lanes = 0;
    if (strstr(d->vendor, "NVIDIA") && clGetDeviceInfo(cl->dev, 0x4000, sizeof major, &major, NULL) == CL_SUCCESS &&
        clGetDeviceInfo(cl->dev, 0x4001, sizeof minor, &minor, NULL) == CL_SUCCESS) {
        lanes = nv_lanes((int)major, (int)minor);
        snprintf(how, n, "NVIDIA compute capability %u.%u: %d lanes per unit", (unsigned)major, (unsigned)minor, lanes);
    } else if (d->gpu && (strstr(d->vendor, "Advanced Micro Devices") || strstr(d->vendor, "AMD"))) {
        lanes = 64;
        snprintf(how, n, "AMD GPU: 64 lanes per compute unit");
    } else {
        snprintf(how, n, "lanes per compute unit not known for this device (use --peak)");
    }
    return lanes && d->clock_mhz > 0 ? 2.0 * d->compute_units * lanes * d->clock_mhz / 1000.0 : 0.0;
}

static int list_devices(void)
{
    fcn_cl_device_info list[64];
    fcn_error err;
    int n = 0, i;
    if (fcn_cl_devices(list, 64, &n, &err) != FCN_OK) {
        fprintf(stderr, "bench_opencl: %s\n", err.message);
        return 1;
    }
    for (i = 0; i < n && i < 64; i++)
        printf("%d\t%s\t%s\t%s\t%s\t%s\n", list[i].index, list[i].gpu ? "gpu" : list[i].cpu ? "cpu" : "other",
               list[i].exact ? "exact" : "inexact", list[i].name, list[i].platform_name, list[i].driver);
    return 0;
}

typedef struct bench_case {
    const char *net;
    int h, w, runs;
} bench_case;

/* One map: OpenCL timed, C once, bits compared. 0 if it failed or differs. */
static int run_case(fcn_cl *cl, const fcn_net *net, const bench_case *bc, const float *img, int do_c, int threads,
                    double peak)
{
    fcn_options opt;
    fcn_error err;
    double flops = 0, t[64], t0, tc = 0, med;
    int oh = 0, ow = 0, i, ok = 1;
    size_t n, k;
    float *a = NULL, *b;
    char size[32], bits[200] = "not checked (--no-c)", frac[32] = "n/a", ctime[32] = "not run";
    memset(&opt, 0, sizeof opt);
    opt.threads = threads;
    fcn_map_size(net, bc->h, bc->w, &opt, &oh, &ow, NULL);
    fcn_map_flops(net, bc->h, bc->w, &opt, NULL, NULL, NULL, &flops, NULL);
    n = (size_t)oh * (size_t)ow * (size_t)fcn_net_outputs(net);
    b = (float *)malloc(n * sizeof(float));
    if (do_c) a = (float *)malloc(n * sizeof(float));
    snprintf(size, sizeof size, "%dx%d", bc->h, bc->w);
    if (!b || (do_c && !a)) {
        printf("  %-4s %-10s out of memory\n", bc->net, size);
        free(a);
        free(b);
        return 0;
    }
    /* the first map takes the driver's lazy work; then the timed ones */
    for (i = 0; i <= bc->runs && ok; i++) {
        t0 = now();
        if (fcn_cl_map(cl, net, img, bc->h, bc->w, &opt, b, &err) != FCN_OK) ok = 0;
        if (i) t[i - 1] = now() - t0;
    }
    if (!ok) {
        printf("  %-4s %-10s OpenCL map failed: %s\n", bc->net, size, err.message);
        free(a);
        free(b);
        return 0;
    }
    qsort(t, (size_t)bc->runs, sizeof t[0], cmp_double);
    med = t[bc->runs / 2];
    if (do_c) {
        t0 = now();
        if (fcn_map(net, img, bc->h, bc->w, &opt, a, &err) != FCN_OK) {
            snprintf(bits, sizeof bits, "C map failed: %.150s", err.message);
            ok = 0;
        } else if (memcmp(a, b, n * sizeof(float)) == 0) {
            snprintf(bits, sizeof bits, "same");
        } else {
            for (k = 0; k < n && memcmp(a + k, b + k, sizeof(float)) == 0; k++) continue;
            snprintf(bits, sizeof bits, "DIFFERENT (first at value %lu: C %.9g, OpenCL %.9g)", (unsigned long)k,
                     (double)a[k], (double)b[k]);
            ok = 0;
        }
        tc = now() - t0;
        snprintf(ctime, sizeof ctime, "%.3f s", tc);
    }
    if (peak > 0) snprintf(frac, sizeof frac, "%.1f%%", 100.0 * flops / med / 1e9 / peak);
    printf("  %-4s %-10s %9.4f s %10.1f %8s  (min %.4f, max %.4f, %d runs)  C dense %10s  bits: %s\n", bc->net, size,
           med, flops / med / 1e9, frac, t[0], t[bc->runs - 1], bc->runs, ctime, bits);
    fflush(stdout);
    free(a);
    free(b);
    return ok;
}

int main(int argc, char **argv)
{
    const char *dev = NULL, *conv = NULL;
    char path[1200], how[160];
    int runs = 5, big = 4096, quick = 0, do_c = 1, threads = 0, h, w, i, ok = 1, nc;
    float *slice;
    fcn_net *n4, *w49;
    fcn_cl *cl;
    fcn_cl_options clo;
    fcn_error err;
    double peak = 0, t0, t;
    bench_case cases[3];
    const fcn_cl_tuning *tu;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--big") == 0 && i + 1 < argc) big = atoi(argv[++i]);
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) dev = argv[++i];
        else if (strcmp(argv[i], "--conv") == 0 && i + 1 < argc) conv = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--peak") == 0 && i + 1 < argc) peak = atof(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--no-c") == 0) do_c = 0;
        else if (strcmp(argv[i], "--list") == 0) return list_devices();
        else {
            fprintf(stderr, "usage: %s [--device SEL] [--conv simple|tiled|vector] [--runs N] [--big N] [--quick] "
                            "[--no-c] [--threads N] [--peak GFLOPS] [--list]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 63 || big < 0 || big > 16384 || threads < 0 ||
        (conv && strcmp(conv, "simple") && strcmp(conv, "tiled") && strcmp(conv, "vector"))) {
        fprintf(stderr, "bench_opencl: --runs 1..63, --big 0..16384, --threads >= 0, --conv simple|tiled|vector\n");
        return 2;
    }
    if (!(slice = load_slice(&h, &w, path, sizeof path))) {
        snprintf(path, sizeof path, "a SYNTHETIC 512x512 image (no ISBI slice: set FCN_DATA)");
        slice = synthetic(&h, &w);
    }
    memset(&clo, 0, sizeof clo);
    clo.device = dev;
    if (conv) clo.conv_kernel = strcmp(conv, "tiled") == 0 ? FCN_CL_CONV_TILED : strcmp(conv, "vector") == 0 ? FCN_CL_CONV_VECTOR : FCN_CL_CONV_SIMPLE;
    t0 = now();
    if (fcn_cl_create(&clo, &cl, &err) != FCN_OK) {
        fprintf(stderr, "bench_opencl: %s\n", err.message);
        return 1;
    }
    t = now() - t0;
    {
        const fcn_cl_device_info *d = fcn_cl_device(cl);
        double worked = device_peak(cl, how, sizeof how);
        printf("device %d: %s (%s), driver %s, %s, %d compute units at %d MHz\n", d->index, d->name, d->platform_name,
               d->driver, d->gpu ? "GPU" : d->cpu ? "CPU" : "other", d->compute_units, d->clock_mhz);
        if (peak > 0) printf("FP32 peak: %.1f GFLOP/s (--peak)\n", peak);
        else if ((peak = worked) > 0) printf("FP32 peak: %.1f GFLOP/s (2 x %d units x lanes x %d MHz; %s)\n", peak, d->compute_units, d->clock_mhz, how);
        else printf("FP32 peak: unknown (%s)\n", how);
    }
    tu = fcn_cl_tuned(cl);
    printf("kernel: %s; program built in %.3f s (fcn_cl_create %.3f s)\n", fcn__cl_conv_names[cl->conv],
           fcn_cl_build_seconds(cl), t);
    if (tu->tile) {
        static const char *from[] = {"", "set", "the default (tuning off)", "from the tuning cache", "timed now"};
        printf("tiled shape %d (%s), %s", tu->tile, fcn_cl_tile_name(tu->tile), from[tu->from]);
        if (tu->from == FCN_CL_TILE_TIMED) printf(" in %.2f s", tu->seconds);
        printf("%s%s\n", tu->note[0] ? "; " : "", tu->note);
        if (tu->from >= FCN_CL_TILE_CACHED) {
            printf("  tuning layer, GFLOP/s by shape:");
            for (i = 0; i < fcn_cl_tile_count(); i++) printf(" %d: %.1f", i + 1, tu->gflops[i]);
            printf("\n");
        }
    }
    printf("image: %s; nets: n4 (95x95) and w49 (49x49), random weights; mirror border, stride 1\n", path);
    n4 = net95();
    w49 = net49();
    cases[0].net = "n4", cases[0].h = cases[0].w = quick ? 128 : 512, cases[0].runs = runs;
    cases[1].net = "n4", cases[1].h = cases[1].w = quick ? 256 : big, cases[1].runs = runs < 3 ? runs : 3;
    cases[2].net = "w49", cases[2].h = quick ? 25 : 100, cases[2].w = quick ? 256 : 1024, cases[2].runs = runs;
    nc = quick || big ? 3 : 2;
    if (!quick && !big) cases[1] = cases[2];
    printf("  %-4s %-10s %11s %10s %8s\n", "net", "size", "OpenCL", "GFLOP/s", "of peak");
    for (i = 0; i < nc; i++) {
        /* n4: the whole slice, tiled; w49: its first rows and their mirror image */
        int is49 = cases[i].net[0] == 'w';
        float *img = tiled_image(slice, h, w, is49 ? cases[i].h : h, cases[i].h, cases[i].w);
        if (!img || !n4 || !w49) {
            printf("  out of memory\n");
            ok = 0;
        } else if (!run_case(cl, is49 ? w49 : n4, &cases[i], img, do_c, threads, peak)) {
            ok = 0;
        }
        free(img);
    }
    if (do_c) printf("bits: %s\n", ok ? "every map the same as the C dense path's" : "NOT all the same (or a map failed)");
    fcn_cl_free(cl);
    fcn_net_free(n4);
    fcn_net_free(w49);
    free(slice);
    return ok ? 0 : 1;
}
