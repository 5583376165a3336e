/* bench_opencl - the OpenCL path's time beside the C dense path's.

   The talk's 95x95 network (conv 4x4 48, maxpool 2, conv 5x5 48, maxpool 2, conv 4x4 48,
   maxpool 2, conv 4x4 48, maxpool 2, fc 200, fc 2, softmax; random weights) on a 512x512
   ISBI slice ($FCN_DATA or ../shared/data/isbi2012, train-images/0.png), mirror border,
   output stride 1. Prints the median of 5 runs of each path, its GFLOP/s (fcn_map_flops'
   dense total over the median time), whether the maps are the same bits, and the
   kernel build time.

       make bench-opencl                       (or build/bench_opencl [options])
       options: --runs N  --size N (crop side, default 512)  --device SEL
                --conv simple|tiled|vector  --no-c (skip the C path)  --threads N (C path)
*/
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

#include "../tests/lib/net95.h"

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


int main(int argc, char **argv)
{
    const char *data = getenv("FCN_DATA"), *dev = NULL, *conv = NULL;
    char path[1200];
    struct stat st;
    int runs = 5, size = 512, do_c = 1, threads = 0, h, w, c, i, k, oh, ow;
    unsigned char *px;
    float *img, *a, *b;
    fcn_net *net;
    fcn_cl *cl;
    fcn_cl_options clo;
    fcn_options opt;
    fcn_error err;
    double flops = 0, tc[64], to[64], t0, t;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) size = atoi(argv[++i]);
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) dev = argv[++i];
        else if (strcmp(argv[i], "--conv") == 0 && i + 1 < argc) conv = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-c") == 0) do_c = 0;
        else {
            fprintf(stderr, "usage: %s [--runs N] [--size N] [--device SEL] [--conv simple|tiled|vector] [--threads N] [--no-c]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 64 || size < 1) return 2;
    if (data && data[0]) {
        snprintf(path, sizeof path, "%s/train-images/0.png", data);
        if (stat(path, &st) != 0) snprintf(path, sizeof path, "%s/isbi2012/train-images/0.png", data);
    } else {
        snprintf(path, sizeof path, "../shared/data/isbi2012/train-images/0.png");
    }
    px = stbi_load(path, &w, &h, &c, 1);
    if (!px) {
        fprintf(stderr, "bench_opencl: cannot read %s (set FCN_DATA to the isbi2012 folder)\n", path);
        return 1;
    }
    if (size > h) size = h;
    if (size > w) size = w;
    img = (float *)malloc((size_t)size * (size_t)size * sizeof(float));
    for (i = 0; i < size; i++)
        for (k = 0; k < size; k++) img[(size_t)i * (size_t)size + (size_t)k] = (float)px[(size_t)i * (size_t)w + (size_t)k] / 255.0f;
    stbi_image_free(px);
    net = net95();
    memset(&opt, 0, sizeof opt);
    opt.threads = threads;
    fcn_map_size(net, size, size, &opt, &oh, &ow, NULL);
    fcn_map_flops(net, size, size, &opt, NULL, NULL, NULL, &flops, NULL);
    a = (float *)malloc((size_t)oh * (size_t)ow * 2 * sizeof(float));
    b = (float *)malloc((size_t)oh * (size_t)ow * 2 * sizeof(float));
    memset(&clo, 0, sizeof clo);
    clo.device = dev;
    if (conv) clo.conv_kernel = strcmp(conv, "tiled") == 0 ? 2 : strcmp(conv, "vector") == 0 ? 3 : 1;
    t0 = now();
    if (fcn_cl_create(&clo, &cl, &err) != FCN_OK) {
        fprintf(stderr, "bench_opencl: %s\n", err.message);
        return 1;
    }
    t = now() - t0;
    printf("device %d: %s (%s), %s convolution kernel\n", fcn_cl_device(cl)->index, fcn_cl_device(cl)->name,
           fcn_cl_device(cl)->platform_name, fcn__cl_conv_names[cl->conv]);
    printf("kernel build: clBuildProgram %.3f s (fcn_cl_create %.3f s)\n", fcn_cl_build_seconds(cl), t);
    printf("network: the talk's 95x95 (random weights); image %dx%d of %s; dense %.1f GFLOP per map\n", size, size, path,
           flops / 1e9);
    /* a first OpenCL map: the driver's lazy work (PoCL compiles per work-group size) */
    t0 = now();
    if (fcn_cl_map(cl, net, img, size, size, &opt, b, &err) != FCN_OK) {
        fprintf(stderr, "bench_opencl: %s\n", err.message);
        return 1;
    }
    printf("first OpenCL map (includes the driver's lazy compilation): %.3f s\n", now() - t0);
    for (i = 0; i < runs; i++) {
        t0 = now();
        fcn_cl_map(cl, net, img, size, size, &opt, b, &err);
        to[i] = now() - t0;
    }
    qsort(to, (size_t)runs, sizeof to[0], cmp_double);
    printf("opencl: median of %d %.3f s  %.2f GFLOP/s  (min %.3f, max %.3f)\n", runs, to[runs / 2], flops / to[runs / 2] / 1e9,
           to[0], to[runs - 1]);
    if (do_c) {
        for (i = 0; i < runs; i++) {
            t0 = now();
            fcn_map(net, img, size, size, &opt, a, &err);
            tc[i] = now() - t0;
        }
        qsort(tc, (size_t)runs, sizeof tc[0], cmp_double);
        printf("C dense (%d threads): median of %d %.3f s  %.2f GFLOP/s  (min %.3f, max %.3f)\n",
               threads ? threads : fcn__cpus(), runs, tc[runs / 2], flops / tc[runs / 2] / 1e9, tc[0], tc[runs - 1]);
        printf("maps: %s\n", memcmp(a, b, (size_t)oh * (size_t)ow * 2 * sizeof(float)) == 0 ? "same bits" : "DIFFERENT");
    }
    fcn_cl_free(cl);
    fcn_net_free(net);
    free(img);
    free(a);
    free(b);
    return 0;
}
