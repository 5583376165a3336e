/* fcn - the command-line front end of fcn.h: a dense per-pixel map from a CNN patch
   classifier, a look inside a model file, and the ISBI 2012 pixel and Rand error of a
   membrane map.

       fcn map MODEL IMAGE -o OUT.png [--npy OUT.npy] [options]
       fcn info MODEL [--size HxW]
       fcn eval MAP.npy LABELS [--class K] [--threshold T]
       fcn convert IN... -o OUT.fcn
       fcn --help | --version

   MODEL (and IN) is a .fcn file, a MODEL.onnx or the pair NET.prototxt WEIGHTS.caffemodel.

   Run `fcn --help` for the options, the image conversions and the exit codes (0 ok,
   1 runtime error, 2 usage error). Built by `make` as build/fcn. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, isatty, fileno */
#define _DEFAULT_SOURCE         /* madvise(MADV_HUGEPAGE), for fcn.h's huge-page scratch */

#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"
#ifdef FCN_CLI_OPENCL /* the Makefile defines it where the OpenCL headers are installed */
#define FCN_OPENCL_IMPLEMENTATION
#include "fcn_opencl.h"
#endif
#define STB_IMAGE_IMPLEMENTATION
#include "stb_image.h"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "stb_image_write.h"
#include "cli.h" /* what the tool's other files (volumes: stacks, Zarr, TIFF) share with this one */

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* in pieces: C99 compilers need only support string literals of 4095 characters */
static const char *const usage_text[] = {
    "usage: fcn map MODEL IMAGE [-o OUT.png] [--npy OUT.npy] [--tta] [--strict] [options]\n"
    "       fcn info MODEL [--size HxW]\n"
    "       fcn eval MAP.npy LABELS [--class K] [--threshold T]\n"
    "       fcn convert IN... -o OUT.fcn\n"
    "       fcn devices                   (OpenCL platforms and devices, with what the\n"
    "                                      arithmetic contract needs of them)\n"
    "       fcn --help | help | --version\n"
    "\n"
    "MODEL: fcn's own format (.fcn), an ONNX model (MODEL.onnx) or a Caffe net given as two\n"
    "  files, NET.prototxt WEIGHTS.caffemodel (see fcn.h, the import section, for the\n"
    "  layers and ops it reads; anything else is refused with the layer or node named).\n"
    "fcn convert: read IN (any MODEL form) and write it in fcn's own format to OUT.fcn.\n"
    "\n"
    "fcn map: apply the patch classifier MODEL at every pixel of IMAGE (fcn.h).\n"
    "  -o OUT.png        write one class of the map as an 8-bit grey PNG: each value v is\n"
    "                    taken as a probability, round(v * 255) clamped to 0..255 (NaN is 0);\n"
    "                    for other outputs use --npy\n"
    "  --npy OUT.npy     write the whole map, float32, shape (H', W', K) (numpy format 1.0)\n"
    "                    (at least one of -o and --npy is required)\n"
    "  --path P          dense (default, fast), sliding (the reference) or opencl (the\n"
    "                    dense path on an OpenCL device, fcn_opencl.h); the same bits\n"
    "  --device D        the OpenCL device: an index or a name from `fcn devices`\n"
    "                    (default: $FCN_OPENCL_DEVICE, else the first exact GPU)\n"
    "  --border B        mirror (default), zero, replicate or valid\n"
    "  --stride S        output stride, 1 (default) = every pixel\n"
    "  --threads N       worker threads, 0 (default) = every online CPU\n"
    "  --kernel K        the dense path's kernels: auto (default: the widest this CPU runs,\n"
    "                    see fcn --version), portable, avx2, avx512 or neon; the same bits\n"
    "  --rect X,Y,W,H    compute only this rectangle of the map (map pixels)\n"
    "  --class K         the class written to the PNG, 0 (default) .. outputs-1\n"
    "  --tta             test-time augmentation: the mean of the maps of the 8 flips and\n"
    "                    rotations of the image, each computed exactly and mapped back,\n"
    "                    added in a fixed order (t = 0..7: transposed if t & 4, then rows\n"
    "                    reversed if t & 1, columns if t & 2; t = 0 the image) with float32\n"
    "                    adds, then divided by 8; same bits on both paths; 8x the time.\n"
    "                    Needs stride 1 and a square patch, of odd side unless --border\n"
    "                    valid (so that each flipped map lines up with the image)\n"
    "  -q, --quiet       no summary line on stdout, no progress bar on stderr\n"
    "  --max-pixels N    refuse an image that declares more than N pixels (H x W), before\n"
    "                    decoding it; default 1073741824 (2^30, a 32768 x 32768 page: the\n"
    "                    whole-image map of it takes ~13 GB); 0: no limit\n"
    "  --strict          NaN or infinite values in the image (a float32 .npy) are an error\n"
    "                    (exit 1), not a warning\n",
    "  IMAGE: PNG, JPEG, BMP, PGM/PPM, ... (anything stb_image reads; 16-bit PNG and PGM\n"
    "  samples are kept, 0..65535) with samples taken unscaled as floats (the model's own\n"
    "  'scale' and 'mean' transform them), or a .npy array of shape (H, W) or (H, W, C),\n"
    "  dtype '<f4' (float32) or '|u1' (uint8), C order. Channels: an image with the model's\n"
    "  channel count is used as is; otherwise an alpha channel (grey+alpha, RGBA; not in\n"
    "  .npy) is dropped, then grey -> RGB replicates the grey value and RGB -> grey is\n"
    "  0.299 R + 0.587 G + 0.114 B (ITU-R BT.601 luma, in float32); any other mismatch is\n"
    "  refused. Before decoding, a PNG's chunk CRCs, a JPEG's markers up to its EOI, a BMP's\n"
    "  and a PGM/PPM's declared pixel data are checked: a corrupt or truncated file is\n"
    "  refused (a byte changed inside a JPEG's compressed data cannot be seen). Outputs\n"
    "  are written to a temporary file beside each and renamed over it when complete: a\n"
    "  failure (a full disk) leaves the old file as it was. Prints a summary line (sizes,\n"
    "  path, time, GFLOP/s of the arithmetic the path performs); a progress bar on stderr\n"
    "  when it is a terminal. A one-page TIFF is an IMAGE too (see below).\n"
    "  --in-scale F      multiply every sample by F first, before the channels are converted\n"
    "                    (e.g. 0.00389105, 1/257, to run an 8-bit model on 16-bit data)\n"
    "\n",
    "fcn map on EM volumes: fcn map MODEL INPUT -o OUT.zarr|OUT.tif [options]\n"
    "  INPUT: a multi-page TIFF or BigTIFF, each page a 2-D image: grey, 8/16-bit unsigned or\n"
    "  32-bit float samples, stripped or tiled, uncompressed, LZW, Deflate (any compression\n"
    "  libtiff decodes), read a band at a time; or a folder of slices: its .tif .tiff .png\n"
    "  .pgm .pnm .ppm .jpg .jpeg .bmp .npy files (any case) sorted by name in byte order,\n"
    "  each file's pages in turn; or one IMAGE. Pages count from 0 and have one size.\n"
    "  Samples are taken as floats as stored (a MinIsWhite page is not inverted); NaN or\n"
    "  infinite float samples are refused.\n"
    "  -o OUT.zarr       an OME-Zarr 0.4 image: a Zarr v2 group, one array at path 0 of shape\n"
    "                    (K, pages, H', W'), axes c, z, y, x; every chunk written atomically\n"
    "  --dtype f32|u8    float32 (Zarr's default), or uint8 converted as the PNG writer does\n"
    "  --chunk Z,Y,X     a chunk's pages, rows and columns (default 1,512,512)\n"
    "  --compress C      zlib (level 1, the default) or none\n"
    "  --shard I/N       compute part I (0..N-1) of N: the job, pages x chunk-aligned blocks\n"
    "                    of about 2048x2048 map pixels, cut into N runs of blocks; any set of\n"
    "                    shards, run anywhere, in any order, at once, gives the one-process\n"
    "                    array byte for byte (examples/slurm/map-stack.sbatch)\n"
    "  --resume          skip the blocks whose chunks all exist and write only the missing\n"
    "                    chunks (a killed run leaves no partial chunk under its final name)\n"
    "  An OUT.zarr that exists must be this array (shape, dtype, chunks, compressor, model,\n"
    "  border, stride, --in-scale), or it is refused; its chunks are overwritten, unless\n"
    "  --resume. A killed run may leave hidden temporaries (.NAME.PID.N.tmp) beside chunks.\n"
    "  -o OUT.tif        a multi-page TIFF, one page per input page: class --class K of the map\n"
    "                    as uint8 (default) or float32 (--dtype f32), uncompressed, BigTIFF\n"
    "                    past 4 GB or with --bigtiff; written front to back, renamed into\n"
    "                    place when complete\n"
    "  Memory: fcn.h's scratch budget (48 MB), a band of input, and one row of chunks of a\n"
    "  block (Zarr) or a band of rows across the page (TIFF): not the page, whatever its size.\n"
    "  --rect, --tta, --npy and --path opencl are for one image.\n"
    "\n",
    "fcn info: the model's input patch and transform, each layer's input and output shape\n"
    "  and parameter count, the receptive field, the outputs, whether the dense path\n"
    "  accepts it, and the theoretical speedup of the dense path over a sliding window for\n"
    "  an image of --size HxW (default 512x512; mirror border, stride 1): FLOPs per layer,\n"
    "  a multiply-add counting 2 and a pooling window element 1.\n"
    "\n",
    "fcn eval: score a membrane probability map against ISBI 2012 style labels.\n"
    "  MAP.npy: float32, shape (H, W, K) as fcn map --npy writes it, or (H, W); class K of\n"
    "  it (--class, default 0) is P(membrane). LABELS: a grey image (PNG, PGM, ...; colour is\n"
    "  reduced to grey as for map) or a .npy, H x W; a label pixel < 128 is membrane.\n"
    "  A pixel is predicted membrane iff p >= T (--threshold, default 0.5: p = 0.5 exactly\n"
    "  is membrane; NaN is not). Prints one line on stdout:\n"
    "    pixel_error E  rand_error R  (H x W, N membrane pixels in labels; Rand split S,\n"
    "    merge M)\n"
    "  pixel_error: the fraction of the H W pixels whose predicted class differs from the\n"
    "  label's. rand_error: 1 - V^Rand, the foreground-restricted Rand score of the ISBI\n"
    "  2012 challenge (Arganda-Carreras et al. 2015; at threshold T, no border thinning):\n"
    "  segments are the 4-connected components of the non-membrane pixels, of the labels\n"
    "  (i) and of the prediction (j); each predicted-membrane pixel is a segment of its own\n"
    "  (a singleton: a thick or spurious predicted membrane costs); only the pixels that\n"
    "  are non-membrane in the labels count: n_ij of them lie in label segment i and\n"
    "  predicted segment j, s_i = sum_j n_ij, t_j = sum_i n_ij;\n"
    "    split S = sum n_ij^2 / sum s_i^2   merge M = sum n_ij^2 / sum t_j^2\n"
    "    V^Rand = 2 / (1/S + 1/M),  rand_error = 1 - V^Rand\n"
    "  (nan where the labels have no non-membrane pixel).\n"
    "\n"
    "exit status: 0 success; 1 runtime error (unreadable or malformed model, bad image,\n"
    "  a network the chosen path refuses, an I/O error such as a full disk, stdout\n"
    "  included, a map and labels of different sizes); 2 usage error (bad command line).\n",
    NULL};

static void print_usage(void)
{
    int i;
    for (i = 0; usage_text[i]; i++) fputs(usage_text[i], stdout);
}

/* ---- messages ---------------------------------------------------------------------- */

int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("fcn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'fcn --help'.\n", stderr);
    return EXIT_USAGE;
}

int runtime_error(const char *fmt, ...)
{
    va_list ap;
    fputs("fcn: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_RUNTIME;
}

double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* a * b into *r unless it overflows size_t */
int mul_ok(size_t a, size_t b, size_t *r)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *r = a * b;
    return 1;
}

/* n things of size bytes, NULL where that overflows a size_t (32-bit machines) */
static void *alloc_n(size_t n, size_t size)
{
    size_t bytes;
    return mul_ok(n, size, &bytes) ? malloc(bytes ? bytes : 1) : NULL;
}

/* v with an SI prefix before unit: "972 FLOP", "2.7 kFLOP", "28.6 M" (unit "") */
static const char *si(char *buf, size_t n, double v, const char *unit)
{
    static const char prefix[] = " kMGTPE";
    int u = 0;
    while (v >= 999.5 && u < 6) v /= 1000.0, u++;
    if (u) snprintf(buf, n, "%.3g %c%s", v, prefix[u], unit);
    else snprintf(buf, n, "%.0f%s%s", v, *unit ? " " : "", unit);
    return buf;
}

/* ---- parsing numbers and options --------------------------------------------------- */

static int parse_long(const char *s, long long lo, long long hi, long long *v)
{
    char *end;
    long long x;
    if (!s || !*s || *s == ' ' || *s == '+') return 0;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || *end || x < lo || x > hi) return 0;
    *v = x;
    return 1;
}

int parse_int(const char *s, int lo, int hi, int *v)
{
    long long x;
    if (!parse_long(s, lo, hi, &x)) return 0;
    *v = (int)x;
    return 1;
}

/* "X,Y,W,H" */
static int parse_rect(const char *s, int r[4])
{
    char buf[128], *p, *q;
    int i;
    if (strlen(s) >= sizeof buf) return 0;
    strcpy(buf, s);
    p = buf;
    for (i = 0; i < 4; i++) {
        q = strchr(p, ',');
        if ((i < 3) != (q != NULL)) return 0;
        if (q) *q = '\0';
        if (!parse_int(p, i < 2 ? 0 : 1, INT_MAX, &r[i])) return 0;
        p = q ? q + 1 : p;
    }
    return 1;
}

/* "HxW" */
static int parse_size(const char *s, int *h, int *w)
{
    char buf[64], *x;
    if (strlen(s) >= sizeof buf) return 0;
    strcpy(buf, s);
    x = strchr(buf, 'x');
    if (!x) x = strchr(buf, 'X');
    if (!x) return 0;
    *x = '\0';
    return parse_int(buf, 1, INT_MAX, h) && parse_int(x + 1, 1, INT_MAX, w);
}

/* Command-line scanning: options may come before, between or after the positional
   arguments, as "--name value" or "--name=value"; "--" ends the options. */
typedef struct args {
    int argc, i, no_more;
    char **argv;
    const char *eq; /* the value after '=' in the current option, or NULL */
    char name[64];
} args;

/* Starts on a subcommand's arguments (argv[2] on). */
static void args_start(args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    a->i = 2;
}

/* The next argument: 1 and *opt = option name ("-o", "--npy") or NULL for a positional
   argument in *pos; 0 at the end. */
static int args_next(args *a, const char **opt, const char **pos)
{
    const char *s;
    *opt = *pos = NULL;
    a->eq = NULL;
    if (a->i >= a->argc) return 0;
    s = a->argv[a->i++];
    if (!a->no_more && strcmp(s, "--") == 0) {
        a->no_more = 1;
        return args_next(a, opt, pos);
    }
    if (a->no_more || s[0] != '-' || s[1] == '\0') {
        *pos = s;
        return 1;
    }
    if (s[1] == '-' && strchr(s, '=')) {
        size_t n = (size_t)(strchr(s, '=') - s);
        if (n >= sizeof a->name) n = sizeof a->name - 1;
        memcpy(a->name, s, n);
        a->name[n] = '\0';
        a->eq = strchr(s, '=') + 1;
        *opt = a->name;
    } else {
        *opt = s;
    }
    return 1;
}

/* The option's value, or NULL (then a usage error has been printed) */
static const char *args_value(args *a, const char *opt)
{
    if (a->eq) return a->eq;
    if (a->i >= a->argc) {
        usage_error("option '%s' needs a value", opt);
        return NULL;
    }
    return a->argv[a->i++];
}

/* ---- files ------------------------------------------------------------------------- */

/* Reads a whole file. On failure returns 0 with a message in msg. */
static int read_file(const char *path, unsigned char **data, size_t *size, char *msg, size_t msgn)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *nb;
    size_t n = 0, cap = 0, got;
    *data = NULL;
    *size = 0;
    if (!f) {
        snprintf(msg, msgn, "%s: cannot open: %s", path, strerror(errno));
        return 0;
    }
    for (;;) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            if (nc < cap || !(nb = (unsigned char *)realloc(buf, nc))) {
                snprintf(msg, msgn, "%s: out of memory reading it", path);
                free(buf);
                fclose(f);
                return 0;
            }
            buf = nb;
            cap = nc;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        snprintf(msg, msgn, "%s: read error: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return 0;
    }
    fclose(f);
    *data = buf;
    *size = n;
    return 1;
}

/* ---- images ------------------------------------------------------------------------ */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* Finds  'key': in a .npy header dict and returns what follows the colon, or NULL. */
static const char *npy_field(const char *hdr, const char *key)
{
    char q1[40], q2[40];
    const char *p;
    snprintf(q1, sizeof q1, "'%s'", key);
    snprintf(q2, sizeof q2, "\"%s\"", key);
    p = strstr(hdr, q1);
    if (!p) p = strstr(hdr, q2);
    if (!p) return NULL;
    p += strlen(q1);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

/* Whether an image declaring w x h pixels is over the limit (then the message says how
   to raise it). */
static int too_many_pixels(const char *path, long long w, long long h, unsigned long long max_pixels, char *msg, size_t msgn)
{
    if (!max_pixels || (unsigned long long)w * (unsigned long long)h <= max_pixels) return 0;
    snprintf(msg, msgn, "%s: the image declares %lldx%lld = %llu pixels, more than --max-pixels %llu allows "
             "(raise it with --max-pixels N, 0 for no limit; or map it in parts)",
             path, w, h, (unsigned long long)w * (unsigned long long)h, max_pixels);
    return 1;
}

/* A .npy array: (H, W) or (H, W, C), '<f4' or '|u1', C order, at most max_pixels H x W
   (0: no limit). */
static int load_npy(const char *path, const unsigned char *d, size_t size, unsigned long long max_pixels, image *im,
                    char *msg, size_t msgn)
{
    size_t hlen, start, need, count, i;
    char *hdr;
    const char *p;
    long long dims[3];
    int nd = 0, u8;
    if (size < 10 || memcmp(d, "\x93NUMPY", 6) != 0) {
        snprintf(msg, msgn, "%s: not a .npy file (bad magic)", path);
        return 0;
    }
    if (d[6] == 1) {
        hlen = (size_t)d[8] | ((size_t)d[9] << 8);
        start = 10;
    } else if ((d[6] == 2 || d[6] == 3) && size >= 12) {
        hlen = le32(d + 8);
        start = 12;
    } else {
        snprintf(msg, msgn, "%s: .npy format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", path,
                 d[6], d[7]);
        return 0;
    }
    if (hlen > size - start || hlen > (1u << 20)) {
        snprintf(msg, msgn, "%s: truncated .npy header", path);
        return 0;
    }
    hdr = (char *)malloc(hlen + 1);
    if (!hdr) {
        snprintf(msg, msgn, "%s: out of memory", path);
        return 0;
    }
    memcpy(hdr, d + start, hlen);
    hdr[hlen] = '\0';
    start += hlen;
    p = npy_field(hdr, "descr");
    if (p && (strncmp(p, "'<f4'", 5) == 0 || strncmp(p, "\"<f4\"", 5) == 0)) u8 = 0;
    else if (p && (strncmp(p, "'|u1'", 5) == 0 || strncmp(p, "'<u1'", 5) == 0 || strncmp(p, "\"|u1\"", 5) == 0))
        u8 = 1;
    else {
        snprintf(msg, msgn, "%s: .npy dtype must be '<f4' (little-endian float32) or '|u1' (uint8)", path);
        free(hdr);
        return 0;
    }
    p = npy_field(hdr, "fortran_order");
    if (!p || strncmp(p, "False", 5) != 0) {
        snprintf(msg, msgn, "%s: .npy array must be in C order (fortran_order False)", path);
        free(hdr);
        return 0;
    }
    p = npy_field(hdr, "shape");
    if (!p || *p != '(') {
        snprintf(msg, msgn, "%s: .npy header has no shape", path);
        free(hdr);
        return 0;
    }
    p++;
    for (;;) {
        char *end;
        while (*p == ' ') p++;
        if (*p == ')') break;
        if (nd == 3 || *p < '0' || *p > '9') {
            nd = 4;
            break;
        }
        errno = 0;
        dims[nd] = strtoll(p, &end, 10);
        if (errno || dims[nd] < 1 || dims[nd] > INT_MAX) {
            nd = 4;
            break;
        }
        nd++;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') p++;
    }
    free(hdr);
    if (nd < 2 || nd > 3) {
        snprintf(msg, msgn, "%s: .npy shape must be (H, W) or (H, W, C) with positive sizes", path);
        return 0;
    }
    if (too_many_pixels(path, dims[1], dims[0], max_pixels, msg, msgn)) return 0;
    im->h = (int)dims[0];
    im->w = (int)dims[1];
    im->c = nd == 3 ? (int)dims[2] : 1;
    im->alpha = 0;
    im->npy = u8 ? 2 : 1;
    if (!mul_ok((size_t)im->h, (size_t)im->w, &count) || !mul_ok(count, (size_t)im->c, &count) ||
        !mul_ok(count, u8 ? 1 : 4, &need)) {
        snprintf(msg, msgn, "%s: .npy array %dx%dx%d is too large", path, im->h, im->w, im->c);
        return 0;
    }
    if (size - start != need) {
        snprintf(msg, msgn, "%s: .npy %s: the header announces %lu data bytes, the file has %lu", path,
                 size - start < need ? "truncated" : "has trailing bytes", (unsigned long)need,
                 (unsigned long)(size - start));
        return 0;
    }
    if (!mul_ok(count, sizeof(float), &need) || !(im->px = (float *)malloc(need ? need : 1))) {
        snprintf(msg, msgn, "%s: out of memory for a %dx%dx%d image", path, im->h, im->w, im->c);
        return 0;
    }
    for (i = 0; i < count; i++) {
        if (u8) {
            im->px[i] = (float)d[start + i];
        } else {
            uint32_t u = le32(d + start + 4 * i);
            memcpy(&im->px[i], &u, 4);
        }
    }
    return 1;
}

#include "image_checks.h" /* check_image_file: what stb_image does not check */

/* The most pixels (H x W) an input image may declare (fcn map --max-pixels): 2^30, a
   32768 x 32768 page, whose whole-image map with two classes already takes ~13 GB (the
   pixels as floats, the map, the decoded bytes). More is refused before it is decoded:
   a 2.5 kB JPEG declaring 40000 x 40000 would otherwise decode for a minute first. */
#define DEFAULT_MAX_PIXELS (1ULL << 30)

/* stb_image's decoding of a checked file into im; 16-bit PNG and PGM samples are kept. */
static int decode_image(const char *path, const unsigned char *d, size_t size, image *im, char *msg, size_t msgn)
{
    int wide = stbi_is_16_bit_from_memory(d, (int)size); /* 16-bit PNG and PGM: kept at 16 bits */
    unsigned char *pix;
    size_t count, i, need;
    /* the size first, from the header: on a 32-bit machine the floats of a large image
       (32768 x 32768) do not fit in the address space, and need not be decoded to know */
    if (stbi_info_from_memory(d, (int)size, &im->w, &im->h, &im->c) &&
        (!mul_ok((size_t)im->w, (size_t)im->h, &count) || !mul_ok(count, (size_t)im->c, &count) ||
         !mul_ok(count, sizeof(float), &need))) {
        snprintf(msg, msgn, "%s: a %dx%dx%d image is too large for this machine's address space", path, im->h,
                 im->w, im->c);
        return 0;
    }
    pix = wide ? (unsigned char *)stbi_load_16_from_memory(d, (int)size, &im->w, &im->h, &im->c, 0)
               : stbi_load_from_memory(d, (int)size, &im->w, &im->h, &im->c, 0);
    if (!pix) {
        snprintf(msg, msgn, "%s: cannot decode the image (stb_image: %s)", path, stbi_failure_reason());
        return 0;
    }
    im->alpha = im->c == 2 || im->c == 4;
    if (!mul_ok((size_t)im->w, (size_t)im->h, &count) || !mul_ok(count, (size_t)im->c, &count) ||
        !mul_ok(count, sizeof(float), &need) || !(im->px = (float *)malloc(need))) {
        snprintf(msg, msgn, "%s: out of memory for a %dx%dx%d image", path, im->h, im->w, im->c);
        stbi_image_free(pix);
        return 0;
    }
    if (wide)
        for (i = 0; i < count; i++) im->px[i] = (float)((const stbi_us *)pix)[i];
    else
        for (i = 0; i < count; i++) im->px[i] = (float)pix[i];
    stbi_image_free(pix);
    return 1;
}

/* --in-scale: the samples times f (before the channels are converted); 1 leaves them. */
static int scale_samples(image *im, float f)
{
    size_t n = (size_t)im->h * (size_t)im->w * (size_t)im->c, i;
    if (f != 1.0f)
        for (i = 0; i < n; i++) im->px[i] *= f;
    return 1;
}

/* Reads IMAGE (.npy by its magic, else stb_image). An image declaring more than
   max_pixels pixels (0: no limit) is refused before it is decoded. */
int load_image(const char *path, image *im, unsigned long long max_pixels, char *msg, size_t msgn)
{
    unsigned char *d;
    size_t size;
    int ok, w, h, c;
    memset(im, 0, sizeof *im);
    if (!read_file(path, &d, &size, msg, msgn)) return 0;
    if (size >= 6 && memcmp(d, "\x93NUMPY", 6) == 0) {
        ok = load_npy(path, d, size, max_pixels, im, msg, msgn);
    } else if (size == 0 || size > INT_MAX) {
        snprintf(msg, msgn, size ? "%s: file too large for stb_image" : "%s: empty file", path);
        ok = 0;
    } else { /* the file's structure, then the size its header declares, then the pixels */
        ok = check_image_file(path, d, size, msg, msgn) &&
             !(stbi_info_from_memory(d, (int)size, &w, &h, &c) && too_many_pixels(path, w, h, max_pixels, msg, msgn)) &&
             decode_image(path, d, size, im, msg, msgn);
    }
    free(d);
    return ok;
}

/* The pixels of an image with a NaN or infinite value (only a float32 .npy can hold them). */
static size_t nonfinite(const image *im)
{
    size_t n = (size_t)im->h * (size_t)im->w, c = (size_t)im->c, i, k, bad = 0;
    for (i = 0; i < n; i++) {
        for (k = 0; k < c && im->px[i * c + k] - im->px[i * c + k] == 0.0f; k++) /* NaN and +-inf give NaN */
            ;
        bad += k < c;
    }
    return bad;
}

/* Converts im in place to c channels (see the help text). */
int convert_channels(const char *path, image *im, int c, char *msg, size_t msgn)
{
    size_t n = (size_t)im->h * (size_t)im->w, i;
    int have = im->c - (im->alpha ? 1 : 0), k;
    float *px;
    static const char *const names[] = {"", " (grey)", " (grey+alpha)", " (RGB)", " (RGBA)"};
    /* floats, not constants in the expression: where float is evaluated wider
       (FLT_EVAL_METHOD != 0) 0.299f would multiply as the long double 0.299 */
    static const float luma[3] = {0.299f, 0.587f, 0.114f};
    if (im->c == c) return 1;
    if (have != c && !((have == 3 && c == 1) || (have == 1 && c == 3))) {
        snprintf(msg, msgn,
                 "%s: the image has %d channel%s%s, the model wants %d; only grey <-> RGB is converted "
                 "(and an alpha channel dropped)",
                 path, im->c, im->c == 1 ? "" : "s", im->c <= 4 && (im->alpha || im->c != 2) ? names[im->c] : "",
                 c);
        return 0;
    }
    if (!mul_ok(n, (size_t)c * sizeof(float), &i) || !(px = (float *)malloc(i ? i : 1))) {
        snprintf(msg, msgn, "%s: out of memory", path);
        return 0;
    }
    for (i = 0; i < n; i++) {
        const float *s = im->px + i * (size_t)im->c;
        float *d = px + i * (size_t)c;
        if (have == c)
            for (k = 0; k < c; k++) d[k] = s[k];
        else if (c == 1) { /* BT.601 luma, fixed order, each operation rounded to float */
            float r = luma[0] * s[0], g = luma[1] * s[1], b = luma[2] * s[2];
            r = r + g;
            d[0] = r + b;
        } else {
            d[0] = d[1] = d[2] = s[0];
        }
    }
    free(im->px);
    im->px = px;
    im->c = c;
    im->alpha = 0;
    return 1;
}

/* ---- outputs -----------------------------------------------------------------------
   Each output goes through fcn.h's atomic writer (fcn_file_*): a temporary file beside
   the target, renamed over it once whole. Every output is written before any is
   renamed, so a failure (a full disk, an I/O error) leaves the old files as they were
   and no partial one; only a failure between two renames leaves the first one new. */

/* The map as a numpy 1.0 file: float32 little-endian, shape (h, w, k). */
static fcn_status npy_write(fcn_file *f, const float *map, int h, int w, int k, fcn_error *err)
{
    char hdr[192];
    unsigned char buf[4096];
    size_t n = (size_t)h * (size_t)w * (size_t)k, i, fill = 0, len;
    fcn_status st;
    len = 10 + (size_t)snprintf(hdr + 10, sizeof hdr - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }",
                                h, w, k);
    while ((len + 1) % 64) hdr[len++] = ' '; /* the data starts on a multiple of 64 */
    hdr[len++] = '\n';
    memcpy(hdr, "\x93NUMPY\x01\x00", 8);
    hdr[8] = (char)((len - 10) & 0xFF);
    hdr[9] = (char)((len - 10) >> 8);
    st = fcn_file_write(f, hdr, len, err);
    for (i = 0; st == FCN_OK && i < n; i++) {
        uint32_t u;
        memcpy(&u, &map[i], 4);
        buf[fill++] = (unsigned char)(u & 0xFF);
        buf[fill++] = (unsigned char)((u >> 8) & 0xFF);
        buf[fill++] = (unsigned char)((u >> 16) & 0xFF);
        buf[fill++] = (unsigned char)(u >> 24);
        if (fill == sizeof buf || i + 1 == n) {
            st = fcn_file_write(f, buf, fill, err);
            fill = 0;
        }
    }
    return st;
}

unsigned char to_byte(float v)
{
    if (!(v > 0.0f)) return 0; /* also NaN */
    if (v >= 1.0f) return 255;
    return (unsigned char)(v * 255.0f + 0.5f);
}

/* stb_image_write's output callback: into the fcn_file, whose first error the commit reports. */
static void png_bytes(void *f, void *data, int n) { fcn_file_write((fcn_file *)f, data, (size_t)n, NULL); }

/* Class cls of the map as a grey PNG, v * 255 rounded and clamped. */
static fcn_status png_write(fcn_file *f, const char *path, const float *map, int h, int w, int k, int cls, fcn_error *err)
{
    size_t n = (size_t)h * (size_t)w, i;
    unsigned char *g = (unsigned char *)malloc(n);
    int ok;
    if (!g) return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", path);
    for (i = 0; i < n; i++) g[i] = to_byte(map[i * (size_t)k + (size_t)cls]);
    ok = stbi_write_png_to_func(png_bytes, f, w, h, 1, g, w);
    free(g);
    if (!ok) return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory encoding the PNG", path);
    return fcn_file_write(f, NULL, 0, err); /* the callback's first error, if any */
}

/* Writes the map to the outputs asked for (npy, png; NULL: not asked). On failure returns
   0 with a message naming the file and the system's reason. */
static int write_outputs(const char *npy, const char *png, const float *map, int h, int w, int k, int cls, char *msg,
                         size_t msgn)
{
    fcn_file *fn = NULL, *fp = NULL;
    fcn_error err;
    fcn_status st = FCN_OK;
    if (png && (size_t)h * (size_t)w > (size_t)INT_MAX / 4) { /* stb_image_write sizes its buffers in int */
        snprintf(msg, msgn, "%s: a %dx%d map is too large for PNG output (use --npy or --rect)", png, h, w);
        return 0;
    }
    if (npy && (st = fcn_file_create(npy, &fn, &err)) == FCN_OK) st = npy_write(fn, map, h, w, k, &err);
    if (st == FCN_OK && png && (st = fcn_file_create(png, &fp, &err)) == FCN_OK)
        st = png_write(fp, png, map, h, w, k, cls, &err);
    if (st == FCN_OK && fn) st = fcn_file_commit(fn, &err), fn = NULL;
    if (st == FCN_OK && fp) st = fcn_file_commit(fp, &err), fp = NULL;
    fcn_file_abort(fn); /* what a failure left open: its temporary removed */
    fcn_file_abort(fp);
    if (st != FCN_OK) snprintf(msg, msgn, "%s", err.message);
    return st == FCN_OK;
}

/* ---- progress bar ------------------------------------------------------------------ */

void hms(char *buf, size_t n, double s)
{
    long t = (long)(s + 0.5);
    if (s > 1e7) snprintf(buf, n, "--:--");
    else if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

int progress_cb(void *user, long done, long total)
{
    progress *p = (progress *)user;
    double now = now_s(), el = now - p->start, rate, left;
    char bar[31], el_s[32], left_s[32], rate_s[32];
    int i, fill;
    if (done < total && now - p->last < 0.1) return 0;
    p->last = now;
    fill = total > 0 ? (int)((double)done * 30.0 / (double)total) : 30;
    if (fill > 30) fill = 30;
    for (i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    rate = el > 0.0 ? (double)done / el : 0.0;
    left = rate > 0.0 ? (double)(total - done) / rate : 1e9;
    hms(el_s, sizeof el_s, el);
    hms(left_s, sizeof left_s, left);
    fprintf(stderr, "\r[%s] %3d%%  %ld/%ld %s  %s %s/s  %s elapsed, %s left ", bar,
            total > 0 ? (int)(100.0 * (double)done / (double)total) : 100, done, total, p->unit,
            si(rate_s, sizeof rate_s, rate, ""), p->unit, el_s, left_s);
    fflush(stderr);
    p->shown = 1;
    return 0;
}

/* ---- test-time augmentation (fcn map --tta) ---------------------------------------- */

/* The 8 flips and rotations of an H x W image, t = 0..7: transposed if t & 4 (then
   W x H), then rows reversed if t & 1, then columns reversed if t & 2. t = 0 is the
   image itself. Pixel (r, c) of transform t of an Hz x Wz array comes from: */
static void tta_source(int t, int hz, int wz, int r, int c, int *sr, int *sc)
{
    int rr = (t & 1) ? hz - 1 - r : r, cc = (t & 2) ? wz - 1 - c : c;
    if (t & 4) *sr = cc, *sc = rr;
    else *sr = rr, *sc = cc;
}

typedef struct tta_progress {
    fcn_progress_fn fn;
    void *user;
    int pass;
} tta_progress;

static int tta_progress_cb(void *user, long done, long total)
{
    tta_progress *p = (tta_progress *)user;
    return p->fn(p->user, (long)p->pass * total + done, 8L * total);
}

/* out (oh x ow x K, the map or its rect under opt) = the average of the maps of the 8
   transforms of the image, each mapped back: sum over t = 0..7 in that order with
   float adds, then / 8. Each pass is an exact fcn_map of the transformed image (with
   the rect transformed likewise), so this is also the same on both paths. The caller
   checks the conditions under which transforms commute with the map: stride 1, a square
   patch, odd unless the border is valid (so the patch is centred). */
static fcn_status map_tta(const fcn_net *net, const image *im, const fcn_options *opt, float *out, int oh, int ow,
                          int K, fcn_error *err)
{
    fcn_options o2 = *opt;
    tta_progress tp;
    int Hm, Wm, x0, y0, t, i, j, k;
    size_t n = (size_t)oh * (size_t)ow * (size_t)K, q, c = (size_t)im->c;
    float *z = NULL, *tmp = NULL;
    fcn_status st;

    o2.rect_x = o2.rect_y = o2.rect_w = o2.rect_h = 0;
    if ((st = fcn_map_size(net, im->h, im->w, &o2, &Hm, &Wm, err)) != FCN_OK) return st;
    x0 = opt->rect_w ? opt->rect_x : 0;
    y0 = opt->rect_h ? opt->rect_y : 0;
    z = (float *)malloc((size_t)im->h * (size_t)im->w * c * sizeof(float));
    tmp = (float *)malloc(n * sizeof(float));
    if (!z || !tmp) {
        free(z);
        free(tmp);
        err->status = FCN_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory for --tta");
        return FCN_ERR_NOMEM;
    }
    if (opt->progress) {
        tp.fn = opt->progress;
        tp.user = opt->progress_user;
        o2.progress = tta_progress_cb;
        o2.progress_user = &tp;
    }
    for (t = 0; t < 8; t++) {
        int hz = (t & 4) ? im->w : im->h, wz = (t & 4) ? im->h : im->w;
        int hmz = (t & 4) ? Wm : Hm, wmz = (t & 4) ? Hm : Wm;
        int a0 = (t & 4) ? x0 : y0, b0 = (t & 4) ? y0 : x0; /* the rect, transposed */
        int zh = (t & 4) ? ow : oh, zw = (t & 4) ? oh : ow, rx, ry, r, cc, sr, sc;
        ry = (t & 1) ? hmz - (a0 + zh) : a0;
        rx = (t & 2) ? wmz - (b0 + zw) : b0;
        for (r = 0; r < hz; r++)
            for (cc = 0; cc < wz; cc++) {
                tta_source(t, hz, wz, r, cc, &sr, &sc);
                memcpy(z + ((size_t)r * (size_t)wz + (size_t)cc) * c,
                       im->px + ((size_t)sr * (size_t)im->w + (size_t)sc) * c, c * sizeof(float));
            }
        if (opt->rect_w) {
            o2.rect_x = rx;
            o2.rect_y = ry;
            o2.rect_w = zw;
            o2.rect_h = zh;
        }
        tp.pass = t;
        if ((st = fcn_map(net, z, hz, wz, &o2, tmp, err)) != FCN_OK) break;
        /* output pixel (y0 + i, x0 + j) is pixel (sr, sc) of this map, rect-relative */
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                const float *s;
                float *d = out + ((size_t)i * (size_t)ow + (size_t)j) * (size_t)K;
                int gi = y0 + i, gj = x0 + j, pr = (t & 4) ? gj : gi, pc = (t & 4) ? gi : gj;
                sr = (t & 1) ? hmz - 1 - pr : pr;
                sc = (t & 2) ? wmz - 1 - pc : pc;
                s = tmp + ((size_t)(sr - ry) * (size_t)zw + (size_t)(sc - rx)) * (size_t)K;
                for (k = 0; k < K; k++) d[k] = t == 0 ? s[k] : d[k] + s[k];
            }
    }
    if (st == FCN_OK)
        for (q = 0; q < n; q++) out[q] = out[q] / 8.0f;
    free(z);
    free(tmp);
    return st;
}

/* ---- fcn map ----------------------------------------------------------------------- */

static const char *const path_names[] = {"dense", "sliding", "opencl"};

/* Maps on the OpenCL device named by 'device' (NULL: the default), with fcn_map's options. */
static fcn_status map_opencl(const fcn_net *net, const char *device, const float *px, int h, int w,
                             const fcn_options *o, float *map, char *devname, size_t devn, fcn_error *err)
{
#ifdef FCN_CLI_OPENCL
    fcn_cl *cl = NULL;
    fcn_cl_options clo;
    fcn_status st;
    memset(&clo, 0, sizeof clo);
    clo.device = device;
    if ((st = fcn_cl_create(&clo, &cl, err)) != FCN_OK) return st;
    snprintf(devname, devn, "%s", fcn_cl_device(cl)->name);
    st = fcn_cl_map(cl, net, px, h, w, o, map, err);
    fcn_cl_free(cl);
    return st;
#else
    (void)net, (void)device, (void)px, (void)h, (void)w, (void)o, (void)map, (void)devname, (void)devn;
    snprintf(err->message, sizeof err->message,
             "this fcn was built without OpenCL (install ocl-icd-opencl-dev and a driver, then run make again)");
    return err->status = FCN_ERR_DEVICE;
#endif
}

static int cmd_devices(int argc, char **argv)
{
#ifdef FCN_CLI_OPENCL
    static char text[65536];
    fcn_error err;
    (void)argv;
    if (argc > 2) return usage_error("devices: takes no arguments");
    if (fcn_cl_devices_text(text, sizeof text, &err) != FCN_OK) return runtime_error("%s", err.message);
    fputs(text, stdout);
    return EXIT_OK;
#else
    (void)argc, (void)argv;
    return runtime_error("this fcn was built without OpenCL (install ocl-icd-opencl-dev and a driver, then run make again)");
#endif
}
static const char *const border_names[] = {"mirror", "zero", "replicate", "valid"};
/* --kernel's words, in fcn_kernel order */
static const char *const kernel_names[] = {"auto", "portable", "avx2", "avx512", "neon"};

static int lookup(const char *s, const char *const *names, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

/* ---- models: MODEL is one file (.fcn, .onnx) or two (NET.prototxt WEIGHTS.caffemodel) -- */

/* Two model files must be a Caffe pair: NET.prototxt and WEIGHTS.caffemodel. */
int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int caffe_pair(const char *a, const char *b)
{
    return (ends_with(a, ".prototxt") && ends_with(b, ".caffemodel")) ||
           (ends_with(a, ".caffemodel") && ends_with(b, ".prototxt"));
}

/* "a" or "a + b" for messages */
static const char *model_label(const char *const *paths, int n, char *buf, size_t size)
{
    if (n == 2) snprintf(buf, size, "%s + %s", paths[0], paths[1]);
    else snprintf(buf, size, "%s", paths[0]);
    return buf;
}

static int cmd_map(int argc, char **argv)
{
    args a;
    const char *opt, *pos, *v, *model = NULL, *img_path = NULL, *png = NULL, *npy = NULL, *posv[3], *device = NULL;
    char model_name[1024], devname[160] = "";
    int npos = 0;
    fcn_options o;
    fcn_error err;
    fcn_net *net = NULL;
    image im;
    float *map = NULL;
    int quiet = 0, tta = 0, opencl = 0, cls = 0, rect[4] = {0, 0, 0, 0}, have_rect = 0, oh, ow, K, rc = EXIT_RUNTIME, x;
    int cls_given = 0, strict = 0;
    unsigned long long max_pixels = DEFAULT_MAX_PIXELS;
    size_t cells, bad;
    char msg[768], b1[32];
    double t0, t1, sl_total = 0.0, de_total = 0.0, flops;
    progress prog;
    volume_opts vo; /* --dtype, --chunk, --compress, --shard, --resume, --in-scale: cli/volume.c */

    memset(&o, 0, sizeof o);
    memset(&im, 0, sizeof im);
    volume_opts_init(&vo);
    args_start(&a, argc, argv);
    while (args_next(&a, &opt, &pos)) {
        if (pos) {
            if (npos == 3) return usage_error("map: unexpected argument '%s'", pos);
            posv[npos++] = pos;
            continue;
        }
        if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            print_usage();
            return EXIT_OK;
        }
        if (strcmp(opt, "-q") == 0 || strcmp(opt, "--quiet") == 0) {
            if (a.eq) return usage_error("option '%s' takes no value", opt);
            quiet = 1;
            continue;
        }
        if (strcmp(opt, "--tta") == 0) {
            if (a.eq) return usage_error("option '%s' takes no value", opt);
            tta = 1;
            continue;
        }
        if (strcmp(opt, "--resume") == 0 || strcmp(opt, "--bigtiff") == 0 || volume_option_has_value(opt)) {
            if (!volume_option_has_value(opt) && a.eq) return usage_error("option '%s' takes no value", opt);
            v = NULL;
            if (volume_option_has_value(opt) && !(v = args_value(&a, opt))) return EXIT_USAGE;
            if (volume_option(&vo, opt, v) < 0) return EXIT_USAGE;
            continue;
        }
        if (strcmp(opt, "--strict") == 0) {
            if (a.eq) return usage_error("option '%s' takes no value", opt);
            strict = 1;
            continue;
        }
        if (strcmp(opt, "-o") && strcmp(opt, "--output") && strcmp(opt, "--npy") && strcmp(opt, "--path") &&
            strcmp(opt, "--stride") && strcmp(opt, "--border") && strcmp(opt, "--threads") && strcmp(opt, "--kernel") &&
            strcmp(opt, "--rect") && strcmp(opt, "--class") && strcmp(opt, "--device") && strcmp(opt, "--max-pixels"))
            return usage_error("map: unknown option '%s'", opt);
        if (!(v = args_value(&a, opt))) return EXIT_USAGE;
        if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0) png = v;
        else if (strcmp(opt, "--npy") == 0) npy = v;
        else if (strcmp(opt, "--path") == 0) {
            if ((x = lookup(v, path_names, 3)) < 0)
                return usage_error("--path: '%s', expected dense, sliding or opencl", v);
            opencl = x == 2;
            o.path = opencl ? FCN_PATH_DENSE : (fcn_path)x;
        } else if (strcmp(opt, "--device") == 0) {
            device = v;
        } else if (strcmp(opt, "--border") == 0) {
            if ((x = lookup(v, border_names, 4)) < 0)
                return usage_error("--border: '%s', expected mirror, zero, replicate or valid", v);
            o.border = (fcn_border)x;
        } else if (strcmp(opt, "--stride") == 0) {
            if (!parse_int(v, 1, 4096, &o.stride)) return usage_error("--stride: '%s', expected an integer 1..4096", v);
        } else if (strcmp(opt, "--threads") == 0) {
            if (!parse_int(v, 0, 4096, &o.threads))
                return usage_error("--threads: '%s', expected an integer 0..4096 (0: every CPU)", v);
        } else if (strcmp(opt, "--kernel") == 0) {
            if ((x = lookup(v, kernel_names, FCN_KERNEL_COUNT)) < 0)
                return usage_error("--kernel: '%s', expected auto, portable, avx2, avx512 or neon", v);
            o.kernel = (fcn_kernel)x;
        } else if (strcmp(opt, "--rect") == 0) {
            if (!parse_rect(v, rect))
                return usage_error("--rect: '%s', expected X,Y,W,H (X, Y >= 0; W, H >= 1)", v);
            have_rect = 1;
        } else if (strcmp(opt, "--class") == 0) {
            if (!parse_int(v, 0, INT_MAX, &cls)) return usage_error("--class: '%s', expected an integer >= 0", v);
            cls_given = 1;
        } else if (strcmp(opt, "--max-pixels") == 0) {
            long long mp;
            if (!parse_long(v, 0, LLONG_MAX, &mp))
                return usage_error("--max-pixels: '%s', expected an integer >= 0 (0: no limit)", v);
            max_pixels = (unsigned long long)mp;
        }
    }
    if (npos < 2) return usage_error("map: needs MODEL and IMAGE");
    if (npos == 3 && !caffe_pair(posv[0], posv[1])) return usage_error("map: unexpected argument '%s'", posv[2]);
    img_path = posv[npos - 1];
    model = model_label(posv, npos - 1, model_name, sizeof model_name);
    if (!png && !npy) return usage_error("map: no output: give -o OUT.png|OUT.zarr|OUT.tif and/or --npy OUT.npy");
    if (have_rect) {
        o.rect_x = rect[0];
        o.rect_y = rect[1];
        o.rect_w = rect[2];
        o.rect_h = rect[3];
    }

    if (volume_output(png)) { /* -o OUT.zarr or OUT.tif: every page of a stack, in blocks */
        if (npy) return usage_error("map: --npy writes one image's map; -o %s takes every page's", png);
        if (tta || opencl || device)
            return usage_error("map -o %s: --tta and --path opencl map one image in memory; volumes go on the CPU "
                               "paths (dense, sliding)", png);
        if (fcn_net_load_any(posv, npos - 1, &net, &err) != FCN_OK) return runtime_error("%s", err.message);
        vo.max_pixels = max_pixels;
        rc = map_volume(net, model, img_path, png, &o, cls, cls_given, &vo, quiet);
        fcn_net_free(net);
        return rc;
    }
    if (vo.u8 || vo.f32 || vo.chunk[0] || vo.zlib || vo.none || vo.shards || vo.resume || vo.bigtiff)
        return usage_error("map: --dtype, --chunk, --compress, --shard, --resume and --bigtiff are for -o OUT.zarr or "
                           "OUT.tif");
    if (fcn_net_load_any(posv, npos - 1, &net, &err) != FCN_OK) return runtime_error("%s", err.message);
    K = fcn_net_outputs(net);
    if (png && cls >= K) {
        runtime_error("--class %d: %s has %d output%s (classes 0..%d)", cls, model, K, K == 1 ? "" : "s", K - 1);
        goto done;
    }
    if (stack_is(img_path)
            ? !stack_load_one(img_path, fcn_net_input(net).c, vo.in_scale, max_pixels, &im, msg, sizeof msg)
            : !load_image(img_path, &im, max_pixels, msg, sizeof msg) || !scale_samples(&im, vo.in_scale) ||
                  !convert_channels(img_path, &im, fcn_net_input(net).c, msg, sizeof msg)) {
        runtime_error("%s", msg);
        goto done;
    }
    if ((bad = nonfinite(&im)) != 0) { /* the map is NaN wherever a window covers one */
        fprintf(stderr, "fcn: %s %s: %lu of its pixels hold NaN or infinite values; the map is NaN wherever a "
                "window covers one%s\n", strict ? "error:" : "warning:", img_path, (unsigned long)bad,
                strict ? "" : " (--strict makes this an error)");
        if (strict) goto done;
    }
    if (fcn_map_size(net, im.h, im.w, &o, &oh, &ow, &err) != FCN_OK) {
        runtime_error("%s, %s: %s", img_path, model, err.message);
        goto done;
    }
    if (device && !opencl) {
        runtime_error("--device selects an OpenCL device: use it with --path opencl");
        goto done;
    }
    if (tta && opencl) {
        runtime_error("--tta runs on the CPU paths only (dense or sliding)");
        goto done;
    }
    if (tta) {
        fcn_shape in = fcn_net_input(net);
        if (o.stride > 1) {
            runtime_error("--tta needs stride 1 (flipped maps of stride %d do not line up)", o.stride);
            goto done;
        }
        if (in.h != in.w || (o.border != FCN_BORDER_VALID && in.h % 2 == 0)) {
            runtime_error("--tta: %s has a %dx%d patch; the flips and rotations line up only for a square patch, "
                          "of odd side unless --border valid", model, in.h, in.w);
            goto done;
        }
    }
    if (!mul_ok((size_t)oh * (size_t)ow, (size_t)K * sizeof(float), &cells) || !(map = (float *)malloc(cells))) {
        runtime_error("%s: out of memory for a %dx%dx%d map", img_path, oh, ow, K);
        goto done;
    }
    /* for the rate printed below; 0 dense FLOPs for a net the dense path refuses */
    if (fcn_map_flops(net, im.h, im.w, &o, NULL, NULL, &sl_total, &de_total, &err) != FCN_OK) {
        runtime_error("%s, %s: %s", img_path, model, err.message);
        goto done;
    }
    memset(&prog, 0, sizeof prog);
    if (!quiet && isatty(fileno(stderr))) {
        prog.unit = o.path == FCN_PATH_SLIDING ? "rows" : "units";
        o.progress = progress_cb;
        o.progress_user = &prog;
    }
    t0 = prog.start = prog.last = now_s();
    if ((tta      ? map_tta(net, &im, &o, map, oh, ow, K, &err)
         : opencl ? map_opencl(net, device, im.px, im.h, im.w, &o, map, devname, sizeof devname, &err)
                  : fcn_map(net, im.px, im.h, im.w, &o, map, &err)) != FCN_OK) {
        if (prog.shown) fputc('\n', stderr);
        runtime_error("%s: %s", model, err.message);
        goto done;
    }
    t1 = now_s();
    if (prog.shown) fputc('\n', stderr);
    if (!write_outputs(npy, png, map, oh, ow, K, cls, msg, sizeof msg)) {
        runtime_error("%s", msg);
        goto done;
    }
    flops = o.path == FCN_PATH_SLIDING ? sl_total : de_total;
    if (tta) flops *= 8.0;
    if (!quiet) {
        double dt = t1 - t0 > 1e-9 ? t1 - t0 : 1e-9;
        printf("%s: image %dx%dx%d -> map %dx%dx%d", img_path, im.h, im.w, im.c, oh, ow, K);
        if (have_rect) printf(" (rect %d,%d %dx%d)", o.rect_x, o.rect_y, o.rect_w, o.rect_h);
        if (tta) printf(", tta 8 passes");
        if (opencl) printf(", opencl path (%s), %s border, stride %d", devname, border_names[o.border], o.stride ? o.stride : 1);
        else
            printf(", %s path%s%s%s, %s border, stride %d, %d thread%s", path_names[o.path],
                   o.path == FCN_PATH_DENSE ? " (" : "", o.path == FCN_PATH_DENSE ? fcn_kernel_name(o.kernel) : "",
                   o.path == FCN_PATH_DENSE ? " kernels)" : "", border_names[o.border], o.stride ? o.stride : 1,
                   o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN), o.threads == 1 ? "" : "s");
        printf(": %.3f s, %s, %.2f GFLOP/s\n", t1 - t0, si(b1, sizeof b1, flops, "FLOP"), flops / dt * 1e-9);
    }
    rc = EXIT_OK;
done:
    free(map);
    free(im.px);
    fcn_net_free(net);
    return rc;
}

/* ---- fcn info ---------------------------------------------------------------------- */

static void layer_text(char *buf, size_t n, const fcn_layer *d)
{
    const char *nm = fcn_layer_name(d->type);
    size_t l;
    switch (d->type) {
    case FCN_LAYER_CONV: snprintf(buf, n, "conv %d %dx%d stride %d", d->maps, d->kh, d->kw, d->stride); break;
    case FCN_LAYER_MAXPOOL:
    case FCN_LAYER_AVGPOOL: snprintf(buf, n, "%s %dx%d stride %d", nm, d->kh, d->kw, d->stride); break;
    case FCN_LAYER_FC: snprintf(buf, n, "fc %d", d->maps); break;
    case FCN_LAYER_RELU:
        if (d->slope != 0.0f) snprintf(buf, n, "relu slope %.9g", (double)d->slope);
        else snprintf(buf, n, "relu");
        break;
    default: snprintf(buf, n, "%s", nm); break;
    }
    l = strlen(buf);
    if ((d->type == FCN_LAYER_CONV || d->type == FCN_LAYER_MAXPOOL || d->type == FCN_LAYER_AVGPOOL) && d->pad)
        l += (size_t)snprintf(buf + l, n - l, " pad %d", d->pad);
    if ((d->type == FCN_LAYER_MAXPOOL || d->type == FCN_LAYER_AVGPOOL) && d->ceil_mode && l < n)
        snprintf(buf + l, n - l, " ceil");
}

static int cmd_info(int argc, char **argv)
{
    args a;
    const char *opt, *pos, *v, *model = NULL, *posv[2];
    char model_name[1024];
    int npos = 0;
    fcn_net *net;
    fcn_error err, derr;
    fcn_shape in = {0, 0, 0}, out = {0, 0, 0}, inp;
    fcn_layer d = {FCN_LAYER_CONV, 0, 0, 0, 0, 0, 0, 0.0f}; /* fcn_net_layer fills them; gcc cannot tell */
    int H = 512, W = 512, i, n, dense_ok, mh, mw;
    double *sl = NULL, *de = NULL, sl_total = 0.0, de_total = 0.0, params = 0.0;
    char desc[96], s1[32], s2[32], s3[32];
    const float *mean;
    fcn_options o;

    args_start(&a, argc, argv);
    while (args_next(&a, &opt, &pos)) {
        if (pos) {
            if (npos == 2) return usage_error("info: unexpected argument '%s'", pos);
            posv[npos++] = pos;
        } else if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            print_usage();
            return EXIT_OK;
        } else if (strcmp(opt, "--size") == 0) {
            if (!(v = args_value(&a, opt))) return EXIT_USAGE;
            if (!parse_size(v, &H, &W)) return usage_error("--size: '%s', expected HxW, e.g. 512x512", v);
        } else {
            return usage_error("info: unknown option '%s'", opt);
        }
    }
    if (!npos) return usage_error("info: needs MODEL");
    if (npos == 2 && !caffe_pair(posv[0], posv[1])) return usage_error("info: unexpected argument '%s'", posv[1]);
    model = model_label(posv, npos, model_name, sizeof model_name);
    if (fcn_net_load_any(posv, npos, &net, &err) != FCN_OK) return runtime_error("%s", err.message);
    n = fcn_net_layer_count(net);
    inp = fcn_net_input(net);
    mean = fcn_net_mean(net);
    printf("model: %s\n", model);
    printf("input patch: %dx%d, %d channel%s\n", inp.h, inp.w, inp.c, inp.c == 1 ? "" : "s");
    printf("transform: x' = (x - mean[c]) * scale, scale %.9g, mean", (double)fcn_net_scale(net));
    for (i = 0; i < inp.c && i < 16; i++) printf(" %.9g", (double)mean[i]);
    printf("%s\n", inp.c > 16 ? " ..." : "");
    printf("layers:\n  %2s  %-24s %10s %10s %11s\n", "#", "layer", "input", "output", "parameters");
    for (i = 0; i < n; i++) {
        size_t nw = 0, nb = 0;
        char si_in[32], si_out[32];
        fcn_net_layer(net, i, &d, &in, &out);
        fcn_net_weights(net, i, &nw);
        fcn_net_bias(net, i, &nb);
        params += (double)nw + (double)nb;
        layer_text(desc, sizeof desc, &d);
        snprintf(si_in, sizeof si_in, "%dx%dx%d", in.h, in.w, in.c);
        snprintf(si_out, sizeof si_out, "%dx%dx%d", out.h, out.w, out.c);
        printf("  %2d  %-24s %10s %10s %11.0f\n", i + 1, desc, si_in, si_out, (double)nw + (double)nb);
    }
    printf("parameters: %.0f (%s of float32)\n", params, si(s1, sizeof s1, params * 4.0, "B"));
    printf("receptive field: %dx%d (the patch: each output pixel sees a %dx%d window)\n", inp.h, inp.w, inp.h, inp.w);
    printf("outputs: K = %d per pixel\n", fcn_net_outputs(net));
    dense_ok = fcn_net_dense_check(net, &derr) == FCN_OK;
    if (dense_ok) printf("dense path: accepted\n");
    else printf("dense path: refused: %s\n", derr.message);

    memset(&o, 0, sizeof o);
    sl = (double *)calloc((size_t)n, sizeof *sl);
    de = (double *)calloc((size_t)n, sizeof *de);
    if (!sl || !de) {
        free(sl);
        free(de);
        fcn_net_free(net);
        return runtime_error("out of memory");
    }
    if (fcn_map_size(net, H, W, &o, &mh, &mw, &err) != FCN_OK) {
        free(sl);
        free(de);
        fcn_net_free(net);
        return runtime_error("--size %dx%d: %s", H, W, err.message);
    }
    /* per layer and in total; the dense column is 0 for a net the dense path refuses */
    if (fcn_map_flops(net, H, W, &o, sl, de, &sl_total, &de_total, &err) != FCN_OK) {
        free(sl);
        free(de);
        fcn_net_free(net);
        return runtime_error("--size %dx%d: %s", H, W, err.message);
    }
    printf("\ntheoretical speedup, %dx%d image -> %dx%d map (mirror border, stride 1);\n", H, W, mh, mw);
    printf("FLOPs: a multiply-add counts 2, a pooling window element 1, activations 0\n");
    printf("  %2s  %-12s %16s %16s %10s\n", "#", "layer", "sliding FLOPs", "dense FLOPs", "speedup");
    for (i = 0; i < n; i++) {
        fcn_net_layer(net, i, &d, NULL, NULL);
        if (!dense_ok) snprintf(s3, sizeof s3, "-");
        else if (de[i] > 0.0) snprintf(s3, sizeof s3, "%.1fx", sl[i] / de[i]);
        else snprintf(s3, sizeof s3, "-");
        printf("  %2d  %-12s %16s %16s %10s\n", i + 1, fcn_layer_name(d.type), si(s1, sizeof s1, sl[i], ""),
               dense_ok ? si(s2, sizeof s2, de[i], "") : "-", s3);
    }
    if (dense_ok && de_total > 0.0) snprintf(s3, sizeof s3, "%.1fx", sl_total / de_total);
    else snprintf(s3, sizeof s3, "-");
    printf("  %2s  %-12s %16s %16s %10s\n", "", "total", si(s1, sizeof s1, sl_total, ""),
           dense_ok ? si(s2, sizeof s2, de_total, "") : "-", s3);
    if (!dense_ok) printf("(the dense path refuses this network: no dense column)\n");
    free(sl);
    free(de);
    fcn_net_free(net);
    return EXIT_OK;
}

/* ---- fcn eval ---------------------------------------------------------------------- */

/* The two figures of the ISBI 2012 challenge for one slice (see the help text):

   membrane: predicted iff p >= T (p the map's class K, T = 0.5 by default; p == T is
             membrane, NaN is not), true iff the label pixel < 128.
   pixel error = (pixels where predicted != true) / (H W).
   Rand error  = 1 - V^Rand, the foreground-restricted Rand score of Arganda-Carreras et
             al. 2015 (Frontiers in Neuroanatomy 9:142), without border thinning, at the
             one threshold T:
     segments: 4-connected components of the non-membrane pixels, in the labels (ground
             truth, segments i) and in the prediction (segments j), each labelled over the
             whole image; every predicted-membrane pixel is a segment of its own (a
             singleton), as the SNEMI3D adapted-Rand script counts label 0 of a proposal,
             so that a thick or spurious predicted membrane inside a cell costs something;
     only the pixels that are non-membrane in the ground truth are counted:
             n_ij = how many of them lie in ground-truth segment i and predicted segment j,
             s_i = sum_j n_ij (ground-truth segment sizes), t_j = sum_i n_ij (predicted);
     Rand split score = sum n_ij^2 / sum s_i^2   (1 unless a true cell is split: recall)
     Rand merge score = sum n_ij^2 / sum t_j^2   (1 unless true cells are merged: precision)
     V^Rand = 2 / (1/split + 1/merge) = 2 sum n_ij^2 / (sum s_i^2 + sum t_j^2).
   The same definitions as tools/eval_isbi.py. With no non-membrane pixel in the labels
   V^Rand is 0/0 and the Rand error is printed as nan. */

/* 4-connected components of the pixels where on[p] != 0: lab[p] = 0, 1, ... numbered in
   raster order of each component's first pixel, -1 elsewhere. queue: n ints of scratch.
   Returns the number of components. */
static int components4(const unsigned char *on, int h, int w, int *lab, int *queue)
{
    size_t n = (size_t)h * (size_t)w, p;
    int count = 0;
    for (p = 0; p < n; p++) lab[p] = -1;
    for (p = 0; p < n; p++) {
        size_t head = 0, tail = 0;
        if (!on[p] || lab[p] >= 0) continue;
        lab[p] = count;
        queue[tail++] = (int)p;
        while (head < tail) {
            int q = queue[head++], y = q / w, x = q % w, k;
            int nb[4];
            nb[0] = y > 0 ? q - w : -1;
            nb[1] = y + 1 < h ? q + w : -1;
            nb[2] = x > 0 ? q - 1 : -1;
            nb[3] = x + 1 < w ? q + 1 : -1;
            for (k = 0; k < 4; k++)
                if (nb[k] >= 0 && on[nb[k]] && lab[nb[k]] < 0) {
                    lab[nb[k]] = count;
                    queue[tail++] = nb[k];
                }
        }
        count++;
    }
    return count;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct eval_result {
    double pixel_error, rand_error, split, merge;
    size_t membrane; /* membrane pixels in the labels */
} eval_result;

/* pred, truth: 1 = membrane, 0 = not, n = h w pixels. 0 if out of memory. */
static int eval_slice(const unsigned char *pred, const unsigned char *truth, int h, int w, eval_result *r)
{
    size_t n = (size_t)h * (size_t)w, p, wrong = 0, fg = 0, nk = 0, singles = 0, i;
    unsigned char *on = (unsigned char *)malloc(n);
    int *gl = (int *)alloc_n(n, sizeof(int)), *pl = (int *)alloc_n(n, sizeof(int));
    int *queue = (int *)alloc_n(n, sizeof(int)), ng, np_;
    uint64_t *keys = (uint64_t *)alloc_n(n, sizeof(uint64_t));
    double *s = NULL, *t = NULL, sn2 = 0.0, ss2 = 0.0, st2 = 0.0;
    int ok = 0;
    if (!on || !gl || !pl || !queue || !keys) goto done;
    for (p = 0; p < n; p++) {
        wrong += pred[p] != truth[p];
        r->membrane += truth[p];
    }
    r->pixel_error = (double)wrong / (double)n;
    for (p = 0; p < n; p++) on[p] = !truth[p];
    ng = components4(on, h, w, gl, queue);
    for (p = 0; p < n; p++) on[p] = !pred[p];
    np_ = components4(on, h, w, pl, queue);
    s = (double *)calloc((size_t)ng + 1, sizeof *s);
    t = (double *)calloc((size_t)np_ + 1, sizeof *t);
    if (!s || !t) goto done;
    for (p = 0; p < n; p++) {
        if (truth[p]) continue; /* only ground-truth foreground counts */
        fg++;
        s[gl[p]] += 1.0;
        if (pred[p]) {
            singles++; /* a predicted-membrane pixel: its own segment, n_ij = t_j = 1 */
        } else {
            t[pl[p]] += 1.0;
            keys[nk++] = (uint64_t)gl[p] * (uint64_t)np_ + (uint64_t)pl[p];
        }
    }
    qsort(keys, nk, sizeof *keys, cmp_u64);
    for (i = 0; i < nk;) { /* runs of equal (i, j): n_ij */
        size_t e = i;
        while (e < nk && keys[e] == keys[i]) e++;
        sn2 += (double)(e - i) * (double)(e - i);
        i = e;
    }
    sn2 += (double)singles;
    for (i = 0; i < (size_t)ng; i++) ss2 += s[i] * s[i];
    for (i = 0; i < (size_t)np_; i++) st2 += t[i] * t[i];
    st2 += (double)singles;
    if (fg == 0) {
        r->split = r->merge = r->rand_error = NAN;
    } else {
        r->split = sn2 / ss2;
        r->merge = sn2 / st2;
        r->rand_error = 1.0 - 2.0 * sn2 / (ss2 + st2);
    }
    ok = 1;
done:
    free(on);
    free(gl);
    free(pl);
    free(queue);
    free(keys);
    free(s);
    free(t);
    return ok;
}

int parse_double(const char *s, double *v)
{
    char *end;
    double x;
    if (!s || !*s || *s == ' ') return 0;
    errno = 0;
    x = strtod(s, &end);
    if (errno || *end || !(x == x) || x > DBL_MAX || x < -DBL_MAX) return 0;
    *v = x;
    return 1;
}

static int cmd_eval(int argc, char **argv)
{
    args a;
    const char *opt, *pos, *v, *map_path = NULL, *lab_path = NULL;
    image m, l;
    int cls = 0, rc = EXIT_RUNTIME;
    double thr = 0.5;
    size_t n, p;
    unsigned char *pred = NULL, *truth = NULL;
    char msg[768];
    eval_result r;

    args_start(&a, argc, argv);
    memset(&m, 0, sizeof m);
    memset(&l, 0, sizeof l);
    memset(&r, 0, sizeof r);
    while (args_next(&a, &opt, &pos)) {
        if (pos) {
            if (!map_path) map_path = pos;
            else if (!lab_path) lab_path = pos;
            else return usage_error("eval: unexpected argument '%s'", pos);
        } else if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            print_usage();
            return EXIT_OK;
        } else if (strcmp(opt, "--class") == 0) {
            if (!(v = args_value(&a, opt))) return EXIT_USAGE;
            if (!parse_int(v, 0, INT_MAX, &cls)) return usage_error("--class: '%s', expected an integer >= 0", v);
        } else if (strcmp(opt, "--threshold") == 0) {
            if (!(v = args_value(&a, opt))) return EXIT_USAGE;
            if (!parse_double(v, &thr)) return usage_error("--threshold: '%s', expected a finite number", v);
        } else {
            return usage_error("eval: unknown option '%s'", opt);
        }
    }
    if (!map_path || !lab_path) return usage_error("eval: needs MAP.npy and LABELS");

    if (!load_image(map_path, &m, DEFAULT_MAX_PIXELS, msg, sizeof msg)) {
        runtime_error("%s", msg);
        goto done;
    }
    if (m.npy != 1) {
        runtime_error("%s: the map must be a float32 .npy of shape (H, W) or (H, W, K) (as fcn map --npy "
                      "writes it)%s", map_path, m.npy == 2 ? ", not uint8" : "");
        goto done;
    }
    if (cls >= m.c) {
        runtime_error("--class %d: %s has %d class%s (0..%d)", cls, map_path, m.c, m.c == 1 ? "" : "es", m.c - 1);
        goto done;
    }
    if (!load_image(lab_path, &l, DEFAULT_MAX_PIXELS, msg, sizeof msg) || !convert_channels(lab_path, &l, 1, msg, sizeof msg)) {
        runtime_error("%s", msg);
        goto done;
    }
    if (l.h != m.h || l.w != m.w) {
        runtime_error("%s is %dx%d (HxW), the labels %s are %dx%d: sizes differ", map_path, m.h, m.w, lab_path, l.h,
                      l.w);
        goto done;
    }
    n = (size_t)m.h * (size_t)m.w;
    if (n > (size_t)INT_MAX) {
        runtime_error("%s: %dx%d pixels is too many for eval", map_path, m.h, m.w);
        goto done;
    }
    pred = (unsigned char *)malloc(n);
    truth = (unsigned char *)malloc(n);
    if (!pred || !truth) {
        runtime_error("out of memory");
        goto done;
    }
    for (p = 0; p < n; p++) {
        pred[p] = (double)m.px[p * (size_t)m.c + (size_t)cls] >= thr; /* NaN: not membrane */
        truth[p] = l.px[p] < 128.0f;
    }
    if (!eval_slice(pred, truth, m.h, m.w, &r)) {
        runtime_error("out of memory");
        goto done;
    }
    printf("pixel_error %.6f  rand_error %.6f  (%d x %d, %lu membrane pixels in labels; Rand split %.6f, "
           "merge %.6f)\n",
           r.pixel_error, r.rand_error, m.h, m.w, (unsigned long)r.membrane, r.split, r.merge);
    rc = EXIT_OK;
done:
    free(pred);
    free(truth);
    free(m.px);
    free(l.px);
    return rc;
}

/* ---- fcn convert ------------------------------------------------------------------- */

static int cmd_convert(int argc, char **argv)
{
    args a;
    const char *opt, *pos, *v, *outp = NULL, *posv[2];
    int npos = 0;
    fcn_net *net;
    fcn_error err;

    args_start(&a, argc, argv);
    while (args_next(&a, &opt, &pos)) {
        if (pos) {
            if (npos == 2) return usage_error("convert: unexpected argument '%s'", pos);
            posv[npos++] = pos;
        } else if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
            print_usage();
            return EXIT_OK;
        } else if (strcmp(opt, "-o") == 0 || strcmp(opt, "--output") == 0) {
            if (!(v = args_value(&a, opt))) return EXIT_USAGE;
            outp = v;
        } else {
            return usage_error("convert: unknown option '%s'", opt);
        }
    }
    if (!npos) return usage_error("convert: needs IN (MODEL.onnx, NET.prototxt WEIGHTS.caffemodel or MODEL.fcn)");
    if (!outp) return usage_error("convert: needs -o OUT.fcn");
    if (npos == 2 && !caffe_pair(posv[0], posv[1]))
        return usage_error("convert: two inputs must be NET.prototxt and WEIGHTS.caffemodel");
    if (fcn_net_load_any(posv, npos, &net, &err) != FCN_OK) return runtime_error("%s", err.message);
    if (fcn_net_save(net, outp, &err) != FCN_OK) {
        fcn_net_free(net);
        return runtime_error("%s", err.message);
    }
    fcn_net_free(net);
    return EXIT_OK;
}

/* ---- without EM volumes -------------------------------------------------------------- */

#ifndef FCN_CLI_VOLUME
/* This file built on its own (cc cli/fcn.c, as the port and no-OpenCL tests do), without
   the other files of cli/ and their libraries (libtiff, zlib): a stack is not recognised,
   the volume options are refused, -o OUT.zarr|OUT.tif says what is missing. make builds
   every file of cli/ with FCN_CLI_VOLUME. */
static const char no_volumes[] = "this fcn was built without EM volumes (cli/*.c, libtiff and zlib: run make)";

int volume_option(volume_opts *v, const char *opt, const char *value)
{
    (void)v, (void)value;
    usage_error("%s: %s", opt, no_volumes);
    return -1;
}

int volume_output(const char *out) { return out && (strstr(out, ".zarr") || ends_with(out, ".tif") || ends_with(out, ".tiff")); }

int map_volume(const fcn_net *net, const char *model, const char *input, const char *out, const fcn_options *opt,
               int cls, int cls_given, const volume_opts *v, int quiet)
{
    (void)net, (void)model, (void)input, (void)opt, (void)cls, (void)cls_given, (void)v, (void)quiet;
    return runtime_error("-o %s: %s", out, no_volumes);
}

int stack_is(const char *path)
{
    (void)path;
    return 0;
}

int stack_load_one(const char *path, int c, float in_scale, unsigned long long max_pixels, image *im, char *msg,
                   size_t msgn)
{
    (void)c, (void)in_scale, (void)max_pixels, (void)im;
    snprintf(msg, msgn, "%s: %s", path, no_volumes);
    return 0;
}
#endif

/* ---- main -------------------------------------------------------------------------- */

static int command(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd) return usage_error("no command (map, info, eval, convert, help)");
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_usage();
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        int k;
        printf("fcn %s (model format %d)\n", FCN_VERSION_STRING, FCN_FORMAT_VERSION);
        /* the dense path's kernels: what runs here by default, and what --kernel can name */
        printf("kernels: %s (on this CPU; --kernel:", fcn_kernel_name(FCN_KERNEL_AUTO));
        for (k = FCN_KERNEL_PORTABLE; k < FCN_KERNEL_COUNT; k++)
            if (fcn_kernel_available((fcn_kernel)k)) printf(" %s", kernel_names[k]);
        printf(")\n");
        return EXIT_OK;
    }
    if (strcmp(cmd, "map") == 0) return cmd_map(argc, argv);
    if (strcmp(cmd, "info") == 0) return cmd_info(argc, argv);
    if (strcmp(cmd, "eval") == 0) return cmd_eval(argc, argv);
    if (strcmp(cmd, "convert") == 0) return cmd_convert(argc, argv);
    if (strcmp(cmd, "devices") == 0) return cmd_devices(argc, argv);
    return usage_error("unknown command '%s' (map, info, eval, convert, devices, help)", cmd);
}

int main(int argc, char **argv)
{
    int rc = command(argc, argv);
    /* output that did not reach stdout (a full disk, a closed pipe) fails the command too */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        runtime_error("cannot write to standard output: %s", strerror(errno));
        if (rc == EXIT_OK) rc = EXIT_RUNTIME;
    }
    return rc;
}
