/* cli.h - what the files of the fcn tool share. cli/fcn.c is the tool (commands, options,
   images, PNG and .npy outputs) and the one file that defines the implementations of
   fcn.h, fcn_import.h and stb; the others are EM volumes (fcn map on stacks):

     stack.c    the input: a multi-page TIFF, a folder of slices or one image, as pages
                of grey samples read a rectangle at a time (tiff.c reads TIFF)
     zarr.c     the OME-Zarr output: metadata, chunks written atomically
     tiffout.c  the multi-page TIFF output, written band by band
     volume.c   the job: pages x blocks of the map, shards, resume, progress */
#ifndef FCN_CLI_H
#define FCN_CLI_H

#include "fcn.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- from fcn.c -------------------------------------------------------------------- */

/* Messages on stderr, "fcn: ..."; they return the exit status: 2 (usage), 1 (runtime). */
int usage_error(const char *fmt, ...);
int runtime_error(const char *fmt, ...);
double now_s(void);
int mul_ok(size_t a, size_t b, size_t *r);
int parse_int(const char *s, int lo, int hi, int *v);
int parse_double(const char *s, double *v);
int ends_with(const char *s, const char *suffix);

typedef struct image {
    float *px; /* h x w x c, row-major, channels interleaved */
    int h, w, c;
    int alpha; /* the last channel is alpha (grey+alpha or RGBA from stb_image) */
    int npy;   /* read from a .npy file: 1 float32, 2 uint8; 0 a decoded image file */
} image;

/* A whole image file (.npy, or anything stb_image reads, 16-bit samples kept); 0 and a
   message on failure; more than max_pixels (H x W; 0: no limit) is refused undecoded. */
int load_image(const char *path, image *im, unsigned long long max_pixels, char *msg, size_t msgn);
/* im to c channels: grey <-> RGB, an alpha channel dropped (fcn --help). */
int convert_channels(const char *path, image *im, int c, char *msg, size_t msgn);
/* A probability as a byte: round(v * 255) clamped to 0..255, NaN 0 (the PNG writer's). */
unsigned char to_byte(float v);

/* The progress bar on stderr: an fcn_progress_fn; user is a progress, start and last
   set to now_s() and unit named before the first call. */
typedef struct progress {
    double start, last;
    const char *unit;
    int shown;
} progress;
int progress_cb(void *user, long done, long total);
void hms(char *buf, size_t n, double seconds); /* "1:02:03", "2:03"; "--:--" past 1e7 s */

/* ---- stack.c: the input pages ------------------------------------------------------ */

/* INPUT as pages of one size: a TIFF file (each page, or directory, is a 2-D image), a
   folder (its image files sorted by name, each file's pages in turn) or one other
   image. A page's samples come as floats, times in_scale where it is not 1 (then the
   model's own transform applies), as c channels (grey replicated to RGB; a colour image
   converted as fcn map does). max_pixels: load_image's, for the images decoded whole. */
typedef struct stack stack;
int stack_open(const char *path, int c, float in_scale, unsigned long long max_pixels, stack **out, char *msg,
               size_t msgn);
int stack_pages(const stack *s);
void stack_size(const stack *s, int *h, int *w);
/* "slices/s003.tif, page 2" (names in messages) */
const char *stack_page_name(const stack *s, int page, char *buf, size_t n);
/* Rows [y, y + rows) x columns [x, x + cols) of page: rows x cols x c floats. */
int stack_read(stack *s, int page, int y, int rows, int x, int cols, float *buf, char *msg, size_t msgn);
void stack_close(stack *s);
/* Whether path is a stack rather than one image file: a folder or a TIFF file. */
int stack_is(const char *path);
/* A stack of one page, whole, as an image of c channels (fcn map IN.tif -o OUT.png). */
int stack_load_one(const char *path, int c, float in_scale, unsigned long long max_pixels, image *im, char *msg,
                   size_t msgn);

/* ---- tiff.c: reading TIFF pages (libtiff) ------------------------------------------ */

typedef struct tiff_in tiff_in;
int tiff_is(const unsigned char *head, size_t n); /* the magic of TIFF or BigTIFF */
/* Opens path and checks every page: grey, 8/16-bit unsigned or 32-bit float samples,
   a compression this libtiff decodes. */
int tiff_open(const char *path, tiff_in **out, char *msg, size_t msgn);
int tiff_pages(const tiff_in *t);
void tiff_page_size(const tiff_in *t, int page, int *h, int *w);
/* Rows [y, y + rows) x columns [x, x + cols) of page, grey, as floats (row stride cols). */
int tiff_read(tiff_in *t, int page, int y, int rows, int x, int cols, float *buf, char *msg, size_t msgn);
void tiff_close(tiff_in *t);

/* ---- zarr.c: the OME-Zarr output ---------------------------------------------------- */

typedef struct zarr {
    const char *path;        /* OUT.zarr */
    int k, z, h, w;          /* the array's shape (c, z, y, x) */
    int cz, cy, cx;          /* a chunk's (its c is 1) */
    int u8;                  /* dtype uint8, else float32 */
    int zlib;                /* compressor zlib (level 1), else none */
    double scale[2], shift[2]; /* image pixels per map pixel, and the first map pixel's centre (y, x) */
    const char *attrs;       /* the "fcn" attributes: a JSON object */
} zarr;
/* Creates OUT.zarr (group, multiscales, array metadata), or checks that an existing one
   is this array (the same metadata; shards running at once write the same bytes). */
int zarr_open(const zarr *z, char *msg, size_t msgn);
/* Whether chunk (k, zc, yc, xc) is complete on disk (written and renamed). */
int zarr_has_chunk(const zarr *z, int k, int zc, int yc, int xc);
/* Writes chunk (k, zc, yc, xc): cz x cy x cx elements of the dtype, C order. */
int zarr_write_chunk(const zarr *z, int k, int zc, int yc, int xc, const void *data, char *msg, size_t msgn);
/* The same on writer threads, while the caller goes on: fill a buffer (NULL: out of
   memory), put it (the writer frees it); finish waits for every chunk put and frees w.
   put and finish return 0 with the first failure's message once a chunk failed. */
typedef struct zarr_writer zarr_writer;
int zarr_writer_start(const zarr *z, zarr_writer **out, char *msg, size_t msgn);
unsigned char *zarr_writer_buffer(zarr_writer *w);
int zarr_writer_put(zarr_writer *w, int k, int zc, int yc, int xc, unsigned char *data, char *msg, size_t msgn);
int zarr_writer_finish(zarr_writer *w, char *msg, size_t msgn);

/* ---- tiffout.c: the multi-page TIFF output ------------------------------------------ */

/* pages pages of h x w samples (uint8, or float32 with f32), written in order, rows in
   order, to a temporary that replaces path when the last row is written (BigTIFF when
   the file passes 4 GB). */
typedef struct tiff_out tiff_out;
int tiff_out_create(const char *path, int pages, int h, int w, int f32, int big, tiff_out **out, char *msg,
                    size_t msgn); /* big: BigTIFF whatever the size */
/* The next rows of the current page (rows x w samples); a page's last row starts the next. */
int tiff_out_rows(tiff_out *t, const void *rows, int n, char *msg, size_t msgn);
/* After the last row of the last page: renames the file into place. */
int tiff_out_finish(tiff_out *t, char *msg, size_t msgn);
void tiff_out_abort(tiff_out *t); /* removes the temporary; NULL is fine */

/* ---- volume.c: fcn map on stacks ---------------------------------------------------- */

/* The options of fcn map that concern volumes (fcn --help). */
typedef struct volume_opts {
    int u8, f32;         /* --dtype: which one was given (neither: the output's default) */
    int chunk[3];        /* --chunk Z,Y,X (0: default 1,512,512) */
    int zlib, none;      /* --compress zlib|none (neither: zlib) */
    int shard, shards;   /* --shard I/N (shards 0: not given) */
    int resume;          /* --resume */
    int bigtiff;         /* --bigtiff */
    float in_scale;      /* --in-scale F (1 unless given) */
    unsigned long long max_pixels; /* --max-pixels, for the slices decoded whole */
    int in_scale_given;
} volume_opts;
static inline void volume_opts_init(volume_opts *v)
{
    memset(v, 0, sizeof *v);
    v->in_scale = 1.0f;
}
/* Takes option opt (with its value, for those that have one) if it is a volume option:
   returns 1 taken, 0 not a volume option, -1 a bad value (a usage error printed). */
int volume_option(volume_opts *v, const char *opt, const char *value);
/* Whether opt is a volume option that takes a value (--resume and --bigtiff do not). */
static inline int volume_option_has_value(const char *opt)
{
    return strcmp(opt, "--dtype") == 0 || strcmp(opt, "--chunk") == 0 || strcmp(opt, "--compress") == 0 ||
           strcmp(opt, "--shard") == 0 || strcmp(opt, "--in-scale") == 0;
}
/* Whether fcn map writes a volume: -o OUT.zarr or -o OUT.tif(f). */
int volume_output(const char *out);
/* fcn map MODEL INPUT -o OUT.zarr|OUT.tif: every page of INPUT, in blocks; returns the
   exit status. model: its name in messages; quiet: no summary line, no progress bar. */
int map_volume(const fcn_net *net, const char *model, const char *input, const char *out, const fcn_options *opt,
               int cls, int cls_given, const volume_opts *v, int quiet);

#endif
