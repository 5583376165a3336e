/* threads.c - four threads at once, for ThreadSanitizer: tests/robust/sanitize.sh builds
   it with -fsanitize=thread and runs it with halt_on_error=1, so that a data race fails
   it. Run from the repository root (it reads models/ and tests/data/import/).

   1. Four threads wait at a barrier, then each loads the same models - .fcn (the first
      checksum of the process is computed in all four at once), ONNX and Caffe - and maps
      an image with its own nets: dense on 2 threads, sliding on 2 threads.
   2. Four threads map at once with one shared net (dense, 2 threads each).
   3. Four threads each run a sliding map on 2 threads that its progress callback cancels.
   Every map must be the same bits as the main thread's map of the same net, made after. */
#define _POSIX_C_SOURCE 200809L
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 4
#define H 29
#define W 33

enum { SLIDE, ONNX, CAFFE, N4, NETS };
static const char *const model_paths[NETS][2] = {
    {"models/slide-7x7x3.fcn", NULL},
    {"tests/data/import/onnx_dense.onnx", NULL},
    {"tests/data/import/caffe_v1.prototxt", "tests/data/import/caffe_v1.caffemodel"},
    {"models/isbi-n4.fcn", NULL}, /* 878 kB under the checksum; loaded, not mapped (slow here) */
};
static const fcn_path paths[NETS] = {FCN_PATH_DENSE, FCN_PATH_DENSE, FCN_PATH_SLIDING, FCN_PATH_DENSE};

static float image[H * W * 3];
static pthread_barrier_t barrier;
static int failures;
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void failf(const char *fmt, const char *a, const char *b)
{
    pthread_mutex_lock(&report_lock);
    printf("FAIL: threads: ");
    printf(fmt, a, b);
    printf("\n");
    failures++;
    pthread_mutex_unlock(&report_lock);
}

static fcn_net *load(int i, fcn_error *e)
{
    fcn_net *net = NULL;
    int n = model_paths[i][1] ? 2 : 1;
    if (fcn_net_load_any(model_paths[i], n, &net, e) != FCN_OK) return NULL;
    return net;
}

/* The map of net i (a fresh buffer), or NULL with e set. */
static float *map(const fcn_net *net, int i, fcn_progress_fn progress, fcn_error *e)
{
    fcn_options o;
    int oh, ow;
    float *out;
    memset(&o, 0, sizeof o);
    o.path = paths[i];
    o.threads = 2;
    o.progress = progress;
    if (fcn_map_size(net, H, W, &o, &oh, &ow, e) != FCN_OK) return NULL;
    out = (float *)malloc((size_t)oh * (size_t)ow * (size_t)fcn_net_outputs(net) * sizeof(float));
    if (out && fcn_map(net, image, H, W, &o, out, e) != FCN_OK) {
        free(out);
        out = NULL;
    }
    return out;
}

static size_t map_bytes(const fcn_net *net) { return (size_t)H * W * (size_t)fcn_net_outputs(net) * sizeof(float); }

static float *got[THREADS][NETS]; /* phase 1: each thread's maps */
static fcn_net *shared;
static float *got_shared[THREADS];

static void *load_and_map(void *arg)
{
    float **mine = (float **)arg;
    fcn_error e;
    int i;
    pthread_barrier_wait(&barrier);
    for (i = 0; i < NETS; i++) {
        fcn_net *net = load(i, &e);
        if (!net) {
            failf("load %s: %s", model_paths[i][0], e.message);
            continue;
        }
        if (i != N4 && !(mine[i] = map(net, i, NULL, &e))) failf("map with %s: %s", model_paths[i][0], e.message);
        fcn_net_free(net);
    }
    return NULL;
}

static void *map_shared(void *arg)
{
    float **mine = (float **)arg;
    fcn_error e;
    pthread_barrier_wait(&barrier);
    if (!(*mine = map(shared, ONNX, NULL, &e))) failf("map with the shared %s: %s", model_paths[ONNX][0], e.message);
    return NULL;
}

static int cancel_at_2(void *user, long done, long total)
{
    (void)user, (void)total;
    return done >= 2;
}

static void *map_cancelled(void *arg)
{
    fcn_error e;
    fcn_options o;
    float *out = (float *)malloc(map_bytes(shared));
    (void)arg;
    memset(&o, 0, sizeof o);
    o.path = FCN_PATH_SLIDING;
    o.threads = 2;
    o.progress = cancel_at_2;
    pthread_barrier_wait(&barrier);
    if (!out || fcn_map(shared, image, H, W, &o, out, &e) != FCN_ERR_CANCELLED)
        failf("a cancelled sliding map: %s%s", out ? "status is not FCN_ERR_CANCELLED: " : "out of memory", out ? e.message : "");
    free(out);
    return NULL;
}

/* Runs fn in THREADS threads, argument k: args + k * stride. */
static void run(void *(*fn)(void *), float **args, int stride)
{
    pthread_t t[THREADS];
    int k;
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (k = 0; k < THREADS; k++)
        if (pthread_create(&t[k], NULL, fn, args ? args + k * stride : NULL) != 0) {
            printf("FAIL: threads: pthread_create\n");
            exit(1);
        }
    for (k = 0; k < THREADS; k++) pthread_join(t[k], NULL);
    pthread_barrier_destroy(&barrier);
}

int main(void)
{
    fcn_error e;
    int i, k;
    unsigned x = 12345;
    setvbuf(stdout, NULL, _IOLBF, 0); /* the lines so far, when a sanitizer stops the program */
    for (i = 0; i < H * W * 3; i++) {
        x = x * 1103515245u + 12345u;
        image[i] = (float)((x >> 16) & 0xFF);
    }

    run(load_and_map, &got[0][0], NETS);
    for (i = 0; i < NETS; i++) {
        fcn_net *net = load(i, &e);
        float *want = net && i != N4 ? map(net, i, NULL, &e) : NULL;
        if (!net || (i != N4 && !want)) failf("the main thread's load or map of %s: %s", model_paths[i][0], e.message);
        for (k = 0; want && k < THREADS; k++)
            if (got[k][i] && memcmp(got[k][i], want, map_bytes(net)) != 0)
                failf("%s: a thread's map differs from the main thread's%s", model_paths[i][0], "");
        for (k = 0; k < THREADS; k++) free(got[k][i]);
        free(want);
        fcn_net_free(net);
    }
    if (!failures) printf("PASS: threads: %d threads load .fcn, ONNX and Caffe models at once and map with them\n", THREADS);

    i = failures;
    shared = load(ONNX, &e);
    if (!shared) {
        failf("load %s: %s", model_paths[ONNX][0], e.message);
        return 1;
    }
    run(map_shared, got_shared, 1);
    {
        float *want = map(shared, ONNX, NULL, &e);
        for (k = 0; k < THREADS; k++) {
            if (want && got_shared[k] && memcmp(got_shared[k], want, map_bytes(shared)) != 0)
                failf("shared net: a thread's map differs from the main thread's%s%s", "", "");
            free(got_shared[k]);
        }
        if (!want) failf("the main thread's map: %s%s", e.message, "");
        free(want);
    }
    if (failures == i) printf("PASS: threads: %d threads map with one shared net at once\n", THREADS);

    i = failures;
    run(map_cancelled, NULL, 0);
    if (failures == i) printf("PASS: threads: %d sliding maps on 2 threads each, cancelled by their callbacks\n", THREADS);
    fcn_net_free(shared);
    return failures ? 1 : 0;
}
