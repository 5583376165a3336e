/* stack.c - the input of fcn map as a stack of pages of one size: a TIFF file (its
   pages), a folder (its image files in name order, each file's pages in turn) or one
   other image file. TIFF pages are read a rectangle at a time (tiff.c); any other image
   (PNG, PGM, JPEG, .npy, ...) is decoded whole when its page is first read, one at a
   time. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "cli.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "stb_image.h"

typedef struct stack_src {
    char *path;
    int tiff;  /* a TIFF file, else an image decoded whole */
    int first; /* its first page's number in the stack */
    int pages;
} stack_src;

struct stack {
    stack_src *src;
    int nsrc, pages, h, w, c;
    float scale;
    unsigned long long max_pixels;
    tiff_in *tif; /* the TIFF file open now, of source tif_src */
    int tif_src;
    image whole;  /* the whole image decoded now, of source whole_src */
    int whole_src;
    float *grey;  /* a rectangle of grey samples, before they become c channels */
    size_t grey_cap;
};

/* The file extensions a folder's slices may have (any case); other files are ignored. */
static const char *const slice_ext[] = {".tif", ".tiff", ".png", ".pgm", ".pnm", ".ppm", ".jpg", ".jpeg", ".bmp", ".npy"};

static int is_slice(const char *name)
{
    size_t i, n = strlen(name), m;
    if (name[0] == '.') return 0;
    for (i = 0; i < sizeof slice_ext / sizeof slice_ext[0]; i++) {
        m = strlen(slice_ext[i]);
        if (n > m && strcasecmp(name + n - m, slice_ext[i]) == 0) return 1;
    }
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_is_tiff(const char *path)
{
    unsigned char head[4];
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(head, 1, 4, f) : 0;
    if (f) fclose(f);
    return tiff_is(head, n);
}

int stack_is(const char *path) { return is_dir(path) || file_is_tiff(path); }

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The folder's slice files, sorted by name (byte order), as paths in *names. */
static int list_folder(const char *dir, char ***names, int *n, char *msg, size_t msgn)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **v = NULL;
    int cap = 0;
    *n = 0;
    if (!d) {
        snprintf(msg, msgn, "%s: cannot open the folder", dir);
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        size_t len;
        if (!is_slice(e->d_name)) continue;
        if (*n == cap) {
            char **nv = (char **)realloc(v, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(v[*n] = (char *)malloc(len))) break;
        snprintf(v[*n], len, "%s/%s", dir, e->d_name);
        (*n)++;
    }
    closedir(d);
    *names = v;
    if (e) {
        snprintf(msg, msgn, "%s: out of memory listing the folder", dir);
        return 0;
    }
    if (*n == 0) {
        snprintf(msg, msgn, "%s: no image files in the folder (.tif, .tiff, .png, .pgm, .jpg, .bmp, .npy, ...)", dir);
        return 0;
    }
    qsort(v, (size_t)*n, sizeof *v, by_name);
    return 1;
}

/* Source i: its pages and their size. */
static int src_probe(stack *s, int i, char *msg, size_t msgn)
{
    stack_src *r = &s->src[i];
    int h, w, c, p;
    if ((r->tiff = file_is_tiff(r->path))) {
        tiff_in *t;
        if (!tiff_open(r->path, &t, msg, msgn)) return 0;
        r->pages = tiff_pages(t);
        for (p = 0; p < r->pages; p++) {
            tiff_page_size(t, p, &h, &w);
            if (s->pages + p == 0) s->h = h, s->w = w;
            if (h != s->h || w != s->w) {
                snprintf(msg, msgn, "%s, page %d is %dx%d (HxW), the stack's first page %dx%d: the pages of a stack must have one size",
                         r->path, p, h, w, s->h, s->w);
                tiff_close(t);
                return 0;
            }
        }
        tiff_close(t);
        if (s->c != 1 && s->c != 3) {
            snprintf(msg, msgn, "%s: grey TIFF pages give 1 channel (or 3, grey replicated); the model wants %d", r->path,
                     s->c);
            return 0;
        }
    } else {
        image im;
        if (stbi_info(r->path, &w, &h, &c)) {
            r->pages = 1;
        } else { /* .npy, or a file stb_image cannot read: the loader says which */
            if (!load_image(r->path, &im, s->max_pixels, msg, msgn)) return 0;
            h = im.h, w = im.w;
            free(im.px);
            r->pages = 1;
        }
        if (s->pages == 0) s->h = h, s->w = w;
        if (h != s->h || w != s->w) {
            snprintf(msg, msgn, "%s is %dx%d (HxW), the stack's first page %dx%d: the pages of a stack must have one size",
                     r->path, h, w, s->h, s->w);
            return 0;
        }
    }
    r->first = s->pages;
    s->pages += r->pages;
    return 1;
}

int stack_open(const char *path, int c, float in_scale, unsigned long long max_pixels, stack **out, char *msg,
               size_t msgn)
{
    stack *s = (stack *)calloc(1, sizeof *s);
    char **names = NULL;
    int n = 0, i, ok;
    *out = NULL;
    if (!s) {
        snprintf(msg, msgn, "out of memory");
        return 0;
    }
    s->c = c;
    s->scale = in_scale;
    s->max_pixels = max_pixels;
    s->tif_src = s->whole_src = -1;
    if (is_dir(path)) {
        ok = list_folder(path, &names, &n, msg, msgn);
    } else {
        ok = (names = (char **)malloc(sizeof *names)) != NULL && (names[0] = strdup(path)) != NULL;
        n = ok;
        if (!ok) snprintf(msg, msgn, "out of memory");
    }
    s->src = ok ? (stack_src *)calloc((size_t)n, sizeof *s->src) : NULL;
    if (ok && !s->src) {
        snprintf(msg, msgn, "out of memory");
        ok = 0;
    }
    for (i = 0; i < n; i++) {
        if (s->src) s->src[i].path = names[i];
        else free(names[i]);
    }
    free(names);
    if (s->src) s->nsrc = n;
    for (i = 0; ok && i < n; i++) ok = src_probe(s, i, msg, msgn);
    if (!ok) {
        stack_close(s);
        return 0;
    }
    *out = s;
    return 1;
}

int stack_pages(const stack *s) { return s->pages; }

void stack_size(const stack *s, int *h, int *w)
{
    *h = s->h;
    *w = s->w;
}

static int src_of(const stack *s, int page)
{
    int lo = 0, hi = s->nsrc - 1;
    while (lo < hi) { /* the last source that starts at or before page */
        int mid = (lo + hi + 1) / 2;
        if (s->src[mid].first <= page) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

const char *stack_page_name(const stack *s, int page, char *buf, size_t n)
{
    const stack_src *r = &s->src[src_of(s, page)];
    if (r->pages > 1) snprintf(buf, n, "%s, page %d", r->path, page - r->first);
    else snprintf(buf, n, "%s", r->path);
    return buf;
}

void stack_close(stack *s)
{
    int i;
    if (!s) return;
    for (i = 0; i < s->nsrc; i++) free(s->src[i].path);
    free(s->src);
    tiff_close(s->tif);
    free(s->whole.px);
    free(s->grey);
    free(s);
}

/* A TIFF page's rectangle: grey samples, scaled, replicated to c channels. */
static int read_tiff(stack *s, int si, int page, int y, int rows, int x, int cols, float *buf, char *msg, size_t msgn)
{
    size_t n = (size_t)rows * (size_t)cols, i;
    float *g = buf;
    if (s->tif_src != si) {
        tiff_close(s->tif);
        s->tif = NULL;
        s->tif_src = -1;
        if (!tiff_open(s->src[si].path, &s->tif, msg, msgn)) return 0;
        s->tif_src = si;
    }
    if (s->c > 1) { /* grey first, then spread out */
        if (n > s->grey_cap) {
            free(s->grey);
            if (!(s->grey = (float *)malloc(n * sizeof(float)))) {
                s->grey_cap = 0;
                snprintf(msg, msgn, "out of memory");
                return 0;
            }
            s->grey_cap = n;
        }
        g = s->grey;
    }
    if (!tiff_read(s->tif, page, y, rows, x, cols, g, msg, msgn)) return 0;
    if (s->scale != 1.0f)
        for (i = 0; i < n; i++) g[i] *= s->scale;
    if (s->c > 1)
        for (i = 0; i < n; i++) buf[3 * i] = buf[3 * i + 1] = buf[3 * i + 2] = g[i];
    return 1;
}

/* A whole image's page: decoded (scaled, converted to c channels) when first asked for. */
static int read_whole(stack *s, int si, int y, int rows, int x, int cols, float *buf, char *msg, size_t msgn)
{
    size_t i, n, row = (size_t)cols * (size_t)s->c;
    int r;
    if (s->whole_src != si) {
        free(s->whole.px);
        s->whole.px = NULL;
        s->whole_src = -1;
        if (!load_image(s->src[si].path, &s->whole, s->max_pixels, msg, msgn)) return 0;
        n = (size_t)s->whole.h * (size_t)s->whole.w * (size_t)s->whole.c;
        if (s->scale != 1.0f)
            for (i = 0; i < n; i++) s->whole.px[i] *= s->scale;
        if (!convert_channels(s->src[si].path, &s->whole, s->c, msg, msgn)) return 0;
        s->whole_src = si;
    }
    for (r = 0; r < rows; r++)
        memcpy(buf + (size_t)r * row, s->whole.px + ((size_t)(y + r) * (size_t)s->w + (size_t)x) * (size_t)s->c,
               row * sizeof(float));
    return 1;
}

int stack_read(stack *s, int page, int y, int rows, int x, int cols, float *buf, char *msg, size_t msgn)
{
    int si = src_of(s, page);
    return s->src[si].tiff ? read_tiff(s, si, page - s->src[si].first, y, rows, x, cols, buf, msg, msgn)
                           : read_whole(s, si, y, rows, x, cols, buf, msg, msgn);
}

int stack_load_one(const char *path, int c, float in_scale, unsigned long long max_pixels, image *im, char *msg,
                   size_t msgn)
{
    stack *s;
    size_t n;
    int ok;
    memset(im, 0, sizeof *im);
    if (!stack_open(path, c, in_scale, max_pixels, &s, msg, msgn)) return 0;
    if (s->pages != 1) {
        snprintf(msg, msgn, "%s: a stack of %d pages: its map goes to -o OUT.zarr or OUT.tif (PNG and --npy take one image)",
                 path, s->pages);
        stack_close(s);
        return 0;
    }
    ok = mul_ok((size_t)s->h * (size_t)s->w, (size_t)c * sizeof(float), &n) && (im->px = (float *)malloc(n)) != NULL;
    if (!ok) snprintf(msg, msgn, "%s: out of memory for a %dx%d image", path, s->h, s->w);
    ok = ok && stack_read(s, 0, 0, s->h, 0, s->w, im->px, msg, msgn);
    im->h = s->h, im->w = s->w, im->c = c;
    stack_close(s);
    if (!ok) {
        free(im->px);
        im->px = NULL;
    }
    return ok;
}
