/* zarr.c - the OME-Zarr output of fcn map: an OME-NGFF 0.4 image, that is a Zarr v2
   group with "multiscales" metadata and one array, at path "0", of axes (c, z, y, x).
   Every file (metadata and chunks) is written through fcn.h's atomic writer: a
   temporary in the target's folder, flushed, renamed into place. So a chunk that exists
   under its final name is complete, whoever wrote it and whenever the writer was killed;
   and the metadata is the same bytes from every shard (nothing in it depends on the
   process, the host or the time), so shards that start at once may all write it. */
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static int zarr_mkdir(const char *path, char *msg, size_t msgn)
{
    struct stat st;
    if (mkdir(path, 0777) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) return 1;
    snprintf(msg, msgn, "%s: cannot create the folder: %s", path, errno == EEXIST ? "a file is in the way" : strerror(errno));
    return 0;
}

/* Writes data to path atomically (fcn_file_*). */
static int put_file(const char *path, const void *data, size_t n, char *msg, size_t msgn)
{
    fcn_file *f = NULL;
    fcn_error err;
    if (fcn_file_create(path, &f, &err) != FCN_OK || fcn_file_write(f, data, n, &err) != FCN_OK) {
        if (f) fcn_file_abort(f);
        snprintf(msg, msgn, "%s", err.message);
        return 0;
    }
    if (fcn_file_commit(f, &err) != FCN_OK) {
        snprintf(msg, msgn, "%s", err.message);
        return 0;
    }
    return 1;
}

/* The whole of a small file, NUL-terminated; NULL if it is not there. */
static char *get_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1L << 20) || fseek(f, 0, SEEK_SET) != 0 ||
        !(b = (char *)malloc((size_t)n + 1))) {
        fclose(f);
        return NULL;
    }
    b[fread(b, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return b;
}

/* The value of the first "key" in a JSON text, without white space, in out. */
static void json_value(const char *text, const char *key, char *out, size_t n)
{
    char q[64];
    const char *p;
    size_t k = 0;
    int depth = 0, str = 0;
    snprintf(q, sizeof q, "\"%s\"", key);
    out[0] = '\0';
    if (!(p = strstr(text, q))) return;
    p += strlen(q);
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == ':') p++;
    for (; *p && k + 1 < n; p++) {
        if (str) {
            if (*p == '"' && p[-1] != '\\') str = 0;
        } else if (*p == '"') {
            str = 1;
        } else if (*p == '[' || *p == '{') {
            depth++;
        } else if (*p == ']' || *p == '}') {
            if (depth-- == 0) break;
        } else if (*p == ',' && depth == 0) {
            break;
        } else if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            continue;
        }
        out[k++] = *p;
    }
    out[k] = '\0';
}

/* Writes path with text, or checks that the file there says the same: the same bytes,
   or the same value for every key in keys (a NULL-terminated list). */
static int put_meta(const char *path, const char *text, const char *const *keys, char *msg, size_t msgn)
{
    char *have = get_file(path), a[2048], b[2048];
    int i, ok = 1;
    if (!have) return put_file(path, text, strlen(text), msg, msgn);
    if (strcmp(have, text) != 0)
        for (i = 0; keys[i] && ok; i++) {
            json_value(have, keys[i], a, sizeof a);
            json_value(text, keys[i], b, sizeof b);
            if (strcmp(a, b) != 0) {
                snprintf(msg, msgn,
                         "%s exists and is another array: its %s is %.300s, this map's %.300s (remove it, or write "
                         "another OUT.zarr)",
                         path, keys[i], a[0] ? a : "missing", b);
                ok = 0;
            }
        }
    free(have);
    return ok;
}

int zarr_open(const zarr *z, char *msg, size_t msgn)
{
    static const char *const group_keys[] = {"zarr_format", NULL};
    static const char *const attrs_keys[] = {"fcn", "multiscales", NULL};
    static const char *const array_keys[] = {"shape", "dtype", "chunks", "compressor", "fill_value", "order", "filters",
                                             "dimension_separator", "zarr_format", NULL};
    char path[4200], text[4096];
    size_t n = strlen(z->path);
    if (n + 16 > sizeof path) {
        snprintf(msg, msgn, "%s: path too long", z->path);
        return 0;
    }
    if (!zarr_mkdir(z->path, msg, msgn)) return 0;
    snprintf(path, sizeof path, "%s/.zgroup", z->path);
    if (!put_meta(path, "{\n    \"zarr_format\": 2\n}\n", group_keys, msg, msgn)) return 0;
    snprintf(path, sizeof path, "%s/0", z->path);
    if (!zarr_mkdir(path, msg, msgn)) return 0;
    snprintf(text, sizeof text,
             "{\n"
             "    \"chunks\": [1, %d, %d, %d],\n"
             "    \"compressor\": %s,\n"
             "    \"dimension_separator\": \"/\",\n"
             "    \"dtype\": \"%s\",\n"
             "    \"fill_value\": 0,\n"
             "    \"filters\": null,\n"
             "    \"order\": \"C\",\n"
             "    \"shape\": [%d, %d, %d, %d],\n"
             "    \"zarr_format\": 2\n"
             "}\n",
             z->cz, z->cy, z->cx, z->zlib ? "{\"id\": \"zlib\", \"level\": 1}" : "null", z->u8 ? "|u1" : "<f4", z->k, z->z,
             z->h, z->w);
    snprintf(path, sizeof path, "%s/0/.zarray", z->path);
    if (!put_meta(path, text, array_keys, msg, msgn)) return 0;
    snprintf(text, sizeof text,
             "{\n"
             "    \"fcn\": %s,\n"
             "    \"multiscales\": [\n"
             "        {\n"
             "            \"axes\": [\n"
             "                {\"name\": \"c\", \"type\": \"channel\"},\n"
             "                {\"name\": \"z\", \"type\": \"space\"},\n"
             "                {\"name\": \"y\", \"type\": \"space\"},\n"
             "                {\"name\": \"x\", \"type\": \"space\"}\n"
             "            ],\n"
             "            \"datasets\": [\n"
             "                {\n"
             "                    \"coordinateTransformations\": [\n"
             "                        {\"scale\": [1.0, 1.0, %.17g, %.17g], \"type\": \"scale\"},\n"
             "                        {\"translation\": [0.0, 0.0, %.17g, %.17g], \"type\": \"translation\"}\n"
             "                    ],\n"
             "                    \"path\": \"0\"\n"
             "                }\n"
             "            ],\n"
             "            \"name\": \"fcn map\",\n"
             "            \"version\": \"0.4\"\n"
             "        }\n"
             "    ]\n"
             "}\n",
             z->attrs, z->scale[0], z->scale[1], z->shift[0], z->shift[1]);
    snprintf(path, sizeof path, "%s/.zattrs", z->path);
    return put_meta(path, text, attrs_keys, msg, msgn);
}

static void chunk_path(const zarr *z, int k, int zc, int yc, int xc, char *buf, size_t n)
{
    snprintf(buf, n, "%s/0/%d/%d/%d/%d", z->path, k, zc, yc, xc);
}

static size_t chunk_bytes(const zarr *z)
{
    return (size_t)z->cz * (size_t)z->cy * (size_t)z->cx * (z->u8 ? 1u : 4u);
}

int zarr_has_chunk(const zarr *z, int k, int zc, int yc, int xc)
{
    char path[4200];
    struct stat st;
    chunk_path(z, k, zc, yc, xc, path, sizeof path);
    /* uncompressed, a chunk has one size; anything else is not ours */
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
           (z->zlib || (size_t)st.st_size == chunk_bytes(z));
}

/* Creates the folders of chunk (k, zc, yc, .): 0/k, 0/k/zc, 0/k/zc/yc. */
static int chunk_dirs(const zarr *z, int k, int zc, int yc, char *msg, size_t msgn)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/0/%d", z->path, k);
    if (!zarr_mkdir(path, msg, msgn)) return 0;
    snprintf(path, sizeof path, "%s/0/%d/%d", z->path, k, zc);
    if (!zarr_mkdir(path, msg, msgn)) return 0;
    snprintf(path, sizeof path, "%s/0/%d/%d/%d", z->path, k, zc, yc);
    return zarr_mkdir(path, msg, msgn);
}

int zarr_write_chunk(const zarr *z, int k, int zc, int yc, int xc, const void *data, char *msg, size_t msgn)
{
    char path[4200];
    size_t n = chunk_bytes(z);
    int ok;
    if (!chunk_dirs(z, k, zc, yc, msg, msgn)) return 0;
    chunk_path(z, k, zc, yc, xc, path, sizeof path);
    if (z->zlib) {
        uLongf clen = compressBound((uLong)n);
        unsigned char *c = (unsigned char *)malloc(clen);
        if (!c) {
            snprintf(msg, msgn, "%s: out of memory", path);
            return 0;
        }
        if (compress2(c, &clen, (const Bytef *)data, (uLong)n, 1) != Z_OK) {
            snprintf(msg, msgn, "%s: zlib cannot compress the chunk", path);
            free(c);
            return 0;
        }
        ok = put_file(path, c, (size_t)clen, msg, msgn);
        free(c);
        return ok;
    }
    return put_file(path, data, n, msg, msgn);
}

/* ---- the writer threads ---------------------------------------------------------------- */

/* Chunks are compressed and written (each flushed to disk, fcn_file_commit) on threads
   of their own, so that the map goes on meanwhile: for a float32 map, zlib takes longer
   than the small nets' arithmetic, and each chunk's flush waits for the disk. A bounded
   queue: the map waits when ZARR_QUEUE chunks are pending. */
#define ZARR_QUEUE 16
#define ZARR_THREADS 2

typedef struct zarr_job {
    int k, zc, yc, xc;
    unsigned char *data;
} zarr_job;

struct zarr_writer {
    const zarr *z;
    pthread_t th[ZARR_THREADS];
    int nth;
    pthread_mutex_t mu;
    pthread_cond_t more, room;
    zarr_job q[ZARR_QUEUE];
    int head, count, busy, quit, failed;
    unsigned char *spare[ZARR_QUEUE + ZARR_THREADS + 1]; /* buffers to reuse */
    int nspare;
    char msg[1024];
};

static void *zarr_writer_main(void *arg)
{
    zarr_writer *w = (zarr_writer *)arg;
    char msg[1024];
    for (;;) {
        zarr_job j;
        int ok;
        pthread_mutex_lock(&w->mu);
        while (!w->count && !w->quit) pthread_cond_wait(&w->more, &w->mu);
        if (!w->count) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        j = w->q[w->head];
        w->head = (w->head + 1) % ZARR_QUEUE;
        w->count--;
        w->busy++;
        pthread_mutex_unlock(&w->mu);
        ok = w->failed || zarr_write_chunk(w->z, j.k, j.zc, j.yc, j.xc, j.data, msg, sizeof msg);
        pthread_mutex_lock(&w->mu);
        if (!ok && !w->failed) {
            w->failed = 1;
            snprintf(w->msg, sizeof w->msg, "%s", msg);
        }
        if (w->nspare < (int)(sizeof w->spare / sizeof w->spare[0])) w->spare[w->nspare++] = j.data;
        else free(j.data);
        w->busy--;
        pthread_cond_broadcast(&w->room);
        pthread_mutex_unlock(&w->mu);
    }
}

int zarr_writer_start(const zarr *z, zarr_writer **out, char *msg, size_t msgn)
{
    zarr_writer *w = (zarr_writer *)calloc(1, sizeof *w);
    *out = NULL;
    if (!w) {
        snprintf(msg, msgn, "out of memory");
        return 0;
    }
    w->z = z;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->more, NULL);
    pthread_cond_init(&w->room, NULL);
    while (w->nth < ZARR_THREADS && pthread_create(&w->th[w->nth], NULL, zarr_writer_main, w) == 0) w->nth++;
    if (!w->nth) {
        snprintf(msg, msgn, "cannot start a thread to write chunks");
        zarr_writer_finish(w, msg, msgn);
        return 0;
    }
    *out = w;
    return 1;
}

unsigned char *zarr_writer_buffer(zarr_writer *w)
{
    unsigned char *b = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->nspare) b = w->spare[--w->nspare];
    pthread_mutex_unlock(&w->mu);
    return b ? b : (unsigned char *)malloc(chunk_bytes(w->z));
}

int zarr_writer_put(zarr_writer *w, int k, int zc, int yc, int xc, unsigned char *data, char *msg, size_t msgn)
{
    int failed;
    pthread_mutex_lock(&w->mu);
    while (w->count == ZARR_QUEUE && !w->failed) pthread_cond_wait(&w->room, &w->mu);
    if (!w->failed) {
        zarr_job *j = &w->q[(w->head + w->count) % ZARR_QUEUE];
        j->k = k, j->zc = zc, j->yc = yc, j->xc = xc, j->data = data;
        w->count++;
        data = NULL;
        pthread_cond_signal(&w->more);
    }
    failed = w->failed;
    if (failed) snprintf(msg, msgn, "%s", w->msg);
    pthread_mutex_unlock(&w->mu);
    free(data);
    return !failed;
}

int zarr_writer_finish(zarr_writer *w, char *msg, size_t msgn)
{
    int i, ok;
    if (!w) return 1;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->more);
    pthread_mutex_unlock(&w->mu);
    for (i = 0; i < w->nth; i++) pthread_join(w->th[i], NULL);
    ok = !w->failed;
    if (!ok) snprintf(msg, msgn, "%s", w->msg);
    for (i = 0; i < w->nspare; i++) free(w->spare[i]);
    pthread_cond_destroy(&w->more);
    pthread_cond_destroy(&w->room);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return ok;
}
