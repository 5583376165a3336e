/* bench_stream.c - what fcn_map_stream costs against fcn_map (part of make bench-volume).
   The talk's 95x95 net (random weights, tests/lib/nets.h) on a random image:

     one tile   a map no wider than a column tile: the stream computes what fcn_map does
                and copies its input rows through a window; it should cost nothing more;
     strips     a map several tiles wide: the stream goes in strips of as many rows as the
                budget holds and recomputes each strip's halo (fcn.h, STREAMING).

   Times are the best of --reps runs (default 2), wall clock and the process's CPU time
   (the CPU time is steadier on a shared machine). Prints a table.
       bench_stream [--reps N] [--threads N] [--height H] [--width W] */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* and madvise(MADV_HUGEPAGE), for fcn.h's huge-page scratch */
#define FCN_IMPLEMENTATION
#include "fcn.h"
#include "../tests/lib/nets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct src {
    const float *img;
    int w;
    float *sink; /* the last rows handed out (so that they are not optimised away) */
    double sum;
} src;

static int rd(void *user, int y, int rows, int x, int cols, float *buf)
{
    src *s = (src *)user;
    int r;
    for (r = 0; r < rows; r++)
        memcpy(buf + (size_t)r * (size_t)cols, s->img + (size_t)(y + r) * (size_t)s->w + (size_t)x, (size_t)cols * sizeof(float));
    return 0;
}

static int wr(void *user, int y, int rows, const float *map)
{
    src *s = (src *)user;
    (void)y, (void)rows;
    s->sum += (double)map[0];
    return 0;
}

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Best wall and CPU seconds of reps maps, in memory (stream 0) or streamed. */
static int run(const fcn_net *net, const float *img, int h, int w, const fcn_options *o, int stream, int reps,
               double *wall, double *cpu)
{
    int r, oh = 0, ow = 0;
    float *out = NULL;
    fcn_error err;
    src s;
    fcn_map_size(net, h, w, o, &oh, &ow, NULL);
    if (!stream && !(out = (float *)malloc((size_t)oh * (size_t)ow * 2 * sizeof(float)))) return 0;
    memset(&s, 0, sizeof s);
    s.img = img;
    s.w = w;
    *wall = *cpu = 1e30;
    for (r = 0; r < reps; r++) {
        double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), dw, dc;
        fcn_status st = stream ? fcn_map_stream(net, h, w, o, rd, wr, &s, &err) : fcn_map(net, img, h, w, o, out, &err);
        if (st != FCN_OK) {
            fprintf(stderr, "bench_stream: %s\n", err.message);
            free(out);
            return 0;
        }
        dw = clock_s(CLOCK_MONOTONIC) - w0;
        dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (dw < *wall) *wall = dw;
        if (dc < *cpu) *cpu = dc;
    }
    free(out);
    return 1;
}

int main(int argc, char **argv)
{
    int reps = 2, threads = 0, h = 1536, w = 8192, i, tw, one;
    fcn_net *net = net95();
    fcn_options o;
    (void)net49; /* nets.h's other net: not measured here */
    float *img;
    size_t n;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--reps") == 0) reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0) threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--height") == 0) h = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--width") == 0) w = atoi(argv[i + 1]);
    }
    if (!net || reps < 1 || h < 95 || w < 95) {
        fprintf(stderr, "usage: bench_stream [--reps N] [--threads N] [--height H] [--width W]\n");
        return 2;
    }
    n = (size_t)h * (size_t)w;
    if (!(img = (float *)malloc(n * sizeof(float)))) return 1;
    rng_state = 7;
    for (i = 0; (size_t)i < n; i++) img[i] = rndf(0.0f, 1.0f);
    memset(&o, 0, sizeof o);
    o.threads = threads;
    fcn_map_tile_width(net, h, w, &o, &tw, NULL);
    one = tw / 16 * 16; /* a rectangle of one tile */
    printf("fcn_map_stream against fcn_map: the 95x95 net, %s%d threads, default budget (%lu MB), best of %d\n",
           threads ? "" : "every CPU: ", threads ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN),
           (unsigned long)(FCN_DEFAULT_MEMORY >> 20), reps);
    printf("%-34s %10s %10s %10s %10s %9s\n", "case", "map wall", "map cpu", "strm wall", "strm cpu", "cpu cost");
    for (i = 0; i < 2; i++) {
        double mw, mc, sw, sc;
        char name[80];
        fcn_options q = o;
        if (i == 0) {
            q.rect_w = one;
            q.rect_h = h;
            snprintf(name, sizeof name, "one tile: %d x %d", h, one);
        } else {
            int strip = (int)(FCN_DEFAULT_MEMORY / ((size_t)w * 2 * sizeof(float)) / 16 * 16);
            snprintf(name, sizeof name, "%d tiles: %d x %d, strips of %d", (w + tw - 1) / tw, h, w, strip < h ? strip : h);
        }
        if (!run(net, img, h, w, &q, 0, reps, &mw, &mc) || !run(net, img, h, w, &q, 1, reps, &sw, &sc)) return 1;
        printf("%-34s %9.2fs %9.2fs %9.2fs %9.2fs %+8.1f%%\n", name, mw, mc, sw, sc, 100.0 * (sc / mc - 1.0));
        fflush(stdout);
    }
    free(img);
    fcn_net_free(net);
    return 0;
}
