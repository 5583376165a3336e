/* alloc_sweep.c - every allocation failure, one at a time: each operation below runs
   once to count its allocations (through FCN_MALLOC, tests/lib/count_alloc.h), then once
   per allocation N with the Nth failing, and once with the Nth and every later one
   failing. Each run must
     - return FCN_ERR_NOMEM, with err.status the same and a message saying "out of memory";
       or, where the library documents a fallback (a worker thread it cannot start: the
       map runs on fewer threads, fcn.h ERRORS), FCN_OK with the same bits as without
       the failure;
     - hold no memory afterwards (live blocks and bytes back where they were);
     - leave *out NULL (loads) and the old file whole, with no temporary beside it (save).
   Operations: load .fcn, ONNX and Caffe; fcn_net_create; save; fcn_map_flops; maps on
   the dense path (one and two threads, with a budget that splits the map into column
   tiles) and the sliding path (one and two threads); streams (fcn_map_stream) on both
   paths, one tile wide and in strips of column tiles.

   Prints a PASS or FAIL line per operation and a total; run from the repository root
   (it reads models/ and tests/data/import/). tests/robust/sanitize.sh also runs it
   under AddressSanitizer (then LeakSanitizer checks the leaks too). */
#define _POSIX_C_SOURCE 200809L
#include "../lib/count_alloc.h"
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H 23
#define W 31

typedef enum { LOAD, CREATE, SAVE, FLOPS, MAP, STREAM } op_kind;

typedef struct op {
    const char *name;
    op_kind kind;
    const char *paths[2]; /* LOAD: the model */
    fcn_path path;        /* MAP, STREAM */
    int threads;          /* MAP, STREAM */
    size_t budget;        /* MAP, STREAM: options.max_memory, 0 the default */
} op;

static const op ops[] = {
    {"load models/isbi-n4.fcn", LOAD, {"models/isbi-n4.fcn", NULL}, FCN_PATH_DENSE, 0, 0},
    {"load tests/data/import/onnx_all.onnx", LOAD, {"tests/data/import/onnx_all.onnx", NULL}, FCN_PATH_DENSE, 0, 0},
    {"load models/isbi-n4.onnx", LOAD, {"models/isbi-n4.onnx", NULL}, FCN_PATH_DENSE, 0, 0},
    {"load tests/data/import/caffe_all (Caffe)", LOAD,
     {"tests/data/import/caffe_all.prototxt", "tests/data/import/caffe_all.caffemodel"}, FCN_PATH_DENSE, 0, 0},
    {"load tests/data/import/caffe_v1 (Caffe, V1 layers)", LOAD,
     {"tests/data/import/caffe_v1.prototxt", "tests/data/import/caffe_v1.caffemodel"}, FCN_PATH_DENSE, 0, 0},
    {"fcn_net_create", CREATE, {NULL, NULL}, FCN_PATH_DENSE, 0, 0},
    {"save", SAVE, {NULL, NULL}, FCN_PATH_DENSE, 0, 0},
    {"fcn_map_flops", FLOPS, {NULL, NULL}, FCN_PATH_DENSE, 0, 0},
    {"map dense, 1 thread", MAP, {NULL, NULL}, FCN_PATH_DENSE, 1, 0},
    {"map dense, 2 threads", MAP, {NULL, NULL}, FCN_PATH_DENSE, 2, 0},
    {"map dense, 2 threads, column tiles", MAP, {NULL, NULL}, FCN_PATH_DENSE, 2, 6000},
    {"map sliding, 1 thread", MAP, {NULL, NULL}, FCN_PATH_SLIDING, 1, 0},
    {"map sliding, 2 threads", MAP, {NULL, NULL}, FCN_PATH_SLIDING, 2, 0},
    {"stream dense, 2 threads", STREAM, {NULL, NULL}, FCN_PATH_DENSE, 2, 0},
    {"stream dense, 2 threads, strips of column tiles", STREAM, {NULL, NULL}, FCN_PATH_DENSE, 2, 6000},
    {"stream sliding, 2 threads", STREAM, {NULL, NULL}, FCN_PATH_SLIDING, 2, 0},
};

static fcn_net *small;   /* the net of CREATE, SAVE, FLOPS and MAP: conv, pool, conv, fc, softmax */
static float image[H * W];
static char save_path[600], save_dir[512];
static const char old_file[] = "the old file, which a failed save must leave as it is\n";

static fcn_status create(fcn_net **out, fcn_error *e)
{
    static const fcn_layer L[7] = {
        /* type, maps, kh, kw, stride, pad, ceil_mode, slope */
        {FCN_LAYER_CONV, 5, 3, 3, 1, 0, 0, 0.0f}, /* 12 -> 10 */
        {FCN_LAYER_RELU, 0, 0, 0, 0, 0, 0, 0.0f},
        {FCN_LAYER_MAXPOOL, 0, 2, 2, 2, 0, 0, 0.0f}, /* 5 */
        {FCN_LAYER_CONV, 4, 3, 3, 1, 0, 0, 0.0f},    /* 3 */
        {FCN_LAYER_TANH, 0, 0, 0, 0, 0, 0, 0.0f},
        {FCN_LAYER_FC, 3, 0, 0, 0, 0, 0, 0.0f},
        {FCN_LAYER_SOFTMAX, 0, 0, 0, 0, 0, 0, 0.0f},
    };
    return fcn_net_create(12, 12, 1, L, 7, out, e);
}

static int write_old_file(void)
{
    FILE *f = fopen(save_path, "wb");
    int ok = f && fwrite(old_file, 1, sizeof old_file - 1, f) == sizeof old_file - 1;
    return f && fclose(f) == 0 && ok;
}

/* The old file is whole and alone in its folder. */
static const char *save_left(void)
{
    char buf[sizeof old_file + 8];
    FILE *f = fopen(save_path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    DIR *d = opendir(save_dir);
    struct dirent *de;
    int names = 0;
    if (f) fclose(f);
    while (d && (de = readdir(d)) != NULL) names += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    if (d) closedir(d);
    if (n != sizeof old_file - 1 || memcmp(buf, old_file, n) != 0) return "the old file changed";
    if (names != 1) return "a temporary file was left beside it";
    return NULL;
}

/* fcn_map_stream's callbacks: the rows of image (one channel), the map's rows into user */
static int stream_read(void *user, int y, int rows, int x, int cols, float *buf)
{
    int r;
    (void)user;
    for (r = 0; r < rows; r++)
        memcpy(buf + (size_t)r * (size_t)cols, image + (size_t)(y + r) * W + (size_t)x, (size_t)cols * sizeof(float));
    return 0;
}

static int stream_write(void *user, int y, int rows, const float *map)
{
    size_t row = (size_t)W * (size_t)fcn_net_outputs(small);
    memcpy((float *)user + (size_t)y * row, map, (size_t)rows * row * sizeof(float));
    return 0;
}

/* Runs op o once. *result: a loaded net (LOAD, CREATE), else NULL; out: the map (MAP,
   STREAM), the FLOPs (FLOPS). */
static fcn_status run(const op *o, fcn_net **result, float *out, fcn_error *e)
{
    fcn_options opt;
    *result = NULL;
    memset(&opt, 0, sizeof opt);
    switch (o->kind) {
    case LOAD: {
        fcn_net *net = (fcn_net *)&opt; /* not NULL: a failed load must set it */
        fcn_status st = fcn_net_load_any(o->paths, o->paths[1] ? 2 : 1, &net, e);
        *result = net;
        return st;
    }
    case CREATE: return create(result, e);
    case SAVE: return fcn_net_save(small, save_path, e);
    case FLOPS: {
        double per[16], total = 0, dense = 0;
        fcn_status st = fcn_map_flops(small, H, W, NULL, per, per, &total, &dense, e);
        out[0] = (float)total, out[1] = (float)dense;
        return st;
    }
    case MAP:
        opt.path = o->path;
        opt.threads = o->threads;
        opt.max_memory = o->budget;
        return fcn_map(small, image, H, W, &opt, out, e);
    case STREAM:
        opt.path = o->path;
        opt.threads = o->threads;
        opt.max_memory = o->budget;
        return fcn_map_stream(small, H, W, &opt, stream_read, stream_write, out, e);
    }
    return FCN_ERR_ARG;
}

typedef struct tally {
    unsigned long points, nomem, fallback, bad;
} tally;

/* Sweeps op o: returns its failures (one FAIL line for the first). */
static void sweep(const op *o, tally *all)
{
    size_t out_n = (size_t)H * W * 3;
    float *want = (float *)calloc(out_n, sizeof(float)), *got = (float *)calloc(out_n, sizeof(float));
    fcn_net *net;
    fcn_error e;
    fcn_status st;
    unsigned long calls, n;
    size_t blocks0, bytes0;
    tally t = {0, 0, 0, 0};
    char first[1024] = "";
    int rest;

    if (!want || !got) {
        printf("FAIL: alloc-sweep: %s: out of memory in the test\n", o->name);
        exit(1);
    }
    pthread_mutex_lock(&mem_lock);
    blocks0 = mem_blocks, bytes0 = mem_cur;
    pthread_mutex_unlock(&mem_lock);
    alloc_fail(0, 0);
    st = run(o, &net, want, &e);
    calls = alloc_calls();
    fcn_net_free(net);
    if (st != FCN_OK) {
        printf("FAIL: alloc-sweep: %s: fails without an injected failure: %s\n", o->name, e.message);
        all->bad++;
        free(want), free(got);
        return;
    }
    for (n = 1; n <= calls; n++)
        for (rest = 0; rest < 2; rest++) {
            const char *why = NULL;
            size_t blocks, bytes;
            memset(&e, 0, sizeof e);
            memset(got, 0, out_n * sizeof(float));
            if (o->kind == SAVE && !write_old_file()) {
                printf("FAIL: alloc-sweep: save: cannot write %s\n", save_path);
                exit(1);
            }
            alloc_fail(n, rest);
            st = run(o, &net, got, &e);
            alloc_fail(0, 0);
            t.points++;
            if (st == FCN_ERR_NOMEM) {
                if (e.status != st) why = "err.status differs from the status returned";
                else if (!strstr(e.message, "out of memory")) why = "the message does not say 'out of memory'";
                else if (o->kind == LOAD && net) why = "*out is not NULL after a failed load";
                else if (o->kind == SAVE) why = save_left();
                if (!why) t.nomem++;
            } else if (st == FCN_OK && (o->kind == MAP || o->kind == STREAM) && o->threads > 1) {
                if (memcmp(got, want, out_n * sizeof(float)) != 0) why = "FCN_OK (fewer threads) with another map";
                else t.fallback++;
            } else {
                why = "not FCN_ERR_NOMEM";
            }
            if (st == FCN_OK) fcn_net_free(net);
            pthread_mutex_lock(&mem_lock);
            blocks = mem_blocks - blocks0, bytes = mem_cur - bytes0;
            pthread_mutex_unlock(&mem_lock);
            if (!why && (blocks || bytes)) why = "memory leaked";
            if (why) {
                if (!t.bad)
                    snprintf(first, sizeof first,
                             "allocation %lu%s of %lu: status %d (%s), '%s': %s; %lu blocks, %lu bytes held after", n,
                             rest ? " and every later one" : "", calls, (int)st, fcn_status_string(st), e.message, why,
                             (unsigned long)blocks, (unsigned long)bytes);
                t.bad++;
            }
        }
    if (t.bad)
        printf("FAIL: alloc-sweep: %s: %lu of %lu points wrong; the first: %s\n", o->name, t.bad, t.points, first);
    else
        printf("PASS: alloc-sweep: %s: %lu allocations, %lu points: %lu FCN_ERR_NOMEM, %lu fewer threads (same bits), no leak\n",
               o->name, calls, t.points, t.nomem, t.fallback);
    all->points += t.points, all->nomem += t.nomem, all->fallback += t.fallback, all->bad += t.bad;
    free(want);
    free(got);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    fcn_error e;
    tally all = {0, 0, 0, 0};
    size_t i;
    unsigned x = 7;
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(save_dir, sizeof save_dir, "%s/fcn-alloc-sweep-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(save_dir)) {
        printf("FAIL: alloc-sweep: mkdtemp %s\n", save_dir);
        return 1;
    }
    snprintf(save_path, sizeof save_path, "%s/net.fcn", save_dir);
    if (create(&small, &e) != FCN_OK) {
        printf("FAIL: alloc-sweep: %s\n", e.message);
        return 1;
    }
    for (i = 0; i < (size_t)H * W; i++) {
        x = x * 1103515245u + 12345u;
        image[i] = (float)((x >> 16) & 0xFF);
    }
    {   /* weights that make every layer matter */
        int l;
        for (l = 0; l < fcn_net_layer_count(small); l++) {
            size_t nw, nb, k;
            float *w = fcn_net_weights(small, l, &nw), *b = fcn_net_bias(small, l, &nb);
            for (k = 0; w && k < nw; k++) w[k] = (float)((int)(k * 37 % 19) - 9) / 16.0f;
            for (k = 0; b && k < nb; k++) b[k] = (float)k / 8.0f;
        }
    }
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++) sweep(&ops[i], &all);
    fcn_net_free(small);
    remove(save_path);
    rmdir(save_dir);
    printf("# alloc-sweep: %lu points in %lu operations: %lu FCN_ERR_NOMEM, %lu fewer threads, %lu wrong\n", all.points,
           (unsigned long)(sizeof ops / sizeof ops[0]), all.nomem, all.fallback, all.bad);
    return all.bad ? 1 : 0;
}
