/* fcn.h - v0.1.0 - exact dense per-pixel maps from a CNN patch classifier - MIT license
   https://github.com/ (see README.md)

   A patch classifier (a CNN that labels one Ph x Pw window of an image) applied at
   every pixel of an image, two ways that give the same bits:

     FCN_PATH_SLIDING  cut the window around each output pixel and run the network on it
                       (the reference: plain code, readable next to the slides);
     FCN_PATH_DENSE    run every layer once over the whole image, later kernels and pools
                       dilated by the product of earlier strides ("a trous", equivalently
                       the max-pooling fragments of Giusti et al. 2013), fully connected
                       layers as dilated convolutions. Hundreds of times less arithmetic.

   Do this in *one* C or C++ file to create the implementation:

       #define FCN_IMPLEMENTATION
       #include "fcn.h"

   and build with -ffp-contract=off (never -ffast-math), link with -lm and -pthread
   (or define FCN_NO_THREADS).

   QUICK START

       fcn_error err;
       fcn_net *net = NULL;
       if (fcn_net_load("models/isbi-n4.fcn", &net, &err) != FCN_OK) { puts(err.message); ... }
       fcn_options opt = {0};              // dense path, mirror border, stride 1, all cores
       int oh, ow;
       fcn_map_size(net, h, w, &opt, &oh, &ow, &err);
       float *map = malloc((size_t)oh * ow * fcn_net_outputs(net) * sizeof(float));
       if (fcn_map(net, image, h, w, &opt, map, &err) != FCN_OK) { puts(err.message); ... }
       free(map);                          // the caller owns image and map
       fcn_net_free(net);

   WHAT A MAP IS

   The image is H x W x C float32, row-major, channels interleaved (C = the network's
   input channels). Border modes add a border around the image:

     FCN_BORDER_MIRROR (default)  reflect without repeating the edge pixel (numpy 'reflect',
                                  applied repeatedly when the border is wider than the image)
     FCN_BORDER_ZERO              raw pixel value 0 (the input transform applies after it)
     FCN_BORDER_REPLICATE         repeat the edge pixel
     FCN_BORDER_VALID             no border

   With a border the image gets (Ph-1)/2 rows above, Ph/2 below, (Pw-1)/2 columns left and
   Pw/2 right, so that with stride 1 every patch is centred on its pixel. Output pixel
   (i, j) is the network applied to the patch of the bordered image whose top-left corner
   is (i*s, j*s), s the output stride. Output size:

     bordered:  H' = floor((H - 1) / s) + 1          W' = floor((W - 1) / s) + 1
     valid:     H' = floor((H - Ph) / s) + 1         W' = floor((W - Pw) / s) + 1  (H >= Ph)

   The map is H' x W' x K float32, row-major, channels last. With a sub-rectangle
   (options.rect_*) the output is exactly that part of the whole map, its border still
   taken from the whole image.

   THE ARITHMETIC CONTRACT (why the paths agree, bit for bit, on every machine)

   - every multiply-add is fmaf() (never a*b+c), so no compiler or device may round it
     differently; the library must be built with -ffp-contract=off and no fast-math;
   - each output is accumulated in one fixed order: bias first, then input channel,
     kernel row, kernel column; fully connected inputs in C,H,W order (as Caffe
     flattens), which is the same order; average pools add in row, column order from 0
     and divide by the count; max pools keep the first of equal values in that order;
   - exp (for softmax, sigmoid, tanh) is the library's own fcn_expf, made only of
     exactly specified operations (+, -, *, /, fmaf, floor, ldexp), never libm's, and it
     is written once (the "fcn-arith" section below) so the OpenCL kernels compile the
     very same text;
   - code is vectorised across output pixels and output maps, never by reordering a sum.

   So the dense map equals the sliding-window map, and both are the same on every
   machine, compiler, thread count and tile.

   WHICH NETWORKS THE DENSE PATH RUNS

   Every layer must read only inside its input when applied to the patch: a convolution
   or pool with padding, or a pool whose last window is clipped (ceil rounding that does
   not divide evenly), gives at the patch's edge a value that the shared computation over
   the image cannot reproduce, so fcn_map refuses it on the dense path with an error
   naming the layer and the reason (fcn_net_dense_check tells beforehand); such networks
   still run on the sliding path. A stride that leaves trailing rows or columns unused is
   exact in both paths (those inputs are never read), so it is accepted.

   THE MODEL FILE (format version 1)

   A text header, one directive per line ('#' starts a comment line), then the weights:

       fcn-model 1                       magic and format version, the first line
       input H W C                       patch height, width, channels
       scale S                           optional input transform: x' = (x - mean[c]) * S
       mean M0 [M1 ...]                  optional, C values (default 0; scale default 1)
       conv MAPS KH KW [stride S] [pad P]
       maxpool KH KW [stride S] [pad P] [ceil]     stride defaults to the kernel height
       avgpool KH KW [stride S] [pad P] [ceil]
       fc N
       relu [slope A]                    x > 0 ? x : x * A  (A defaults to 0)
       tanh | sigmoid | dropout | softmax
       weights NBYTES crc32 XXXXXXXX     the last header line
       <NBYTES bytes of little-endian float32>

   Weights appear layer by layer: a conv has MAPS*Cin*KH*KW weights in (map, channel,
   row, column) order, then MAPS biases; an fc has N*(C*H*W) weights (output, then its
   input in C,H,W order), then N biases. The CRC-32 (the zlib one) covers the header up
   to the start of the weights line, followed by the weight bytes. The network's output
   must be 1 x 1 x K. Floats in the header are written with 9 significant digits, which
   round-trip exactly.

   ERRORS, THREADS, MEMORY

   Every function returns an fcn_status (FCN_OK = 0, failures negative) and, where an
   fcn_error pointer is given, a message that names the cause. The library never prints
   and never exits. A loaded network is read-only: any number of threads may map with it
   at once. fcn_map with options.threads = 0 uses every online CPU; the result does not
   depend on the thread count. The dense path holds two layer buffers of the rectangle
   being mapped; map a large image in rectangles to bound memory.

   CONFIGURATION MACROS

       FCN_STATIC        make every function static (a private copy in one file)
       FCN_NO_THREADS    no pthreads: every map runs on the calling thread
       FCN_MALLOC, FCN_FREE   allocator (both or neither; default malloc/free)

   LICENSE: MIT, see the end of this file.
*/
#ifndef FCN_H
#define FCN_H

#include <stddef.h>

#define FCN_VERSION_MAJOR 0
#define FCN_VERSION_MINOR 1
#define FCN_VERSION_PATCH 0
#define FCN_VERSION_STRING "0.1.0"
#define FCN_FORMAT_VERSION 1

#ifdef FCN_STATIC
#define FCNDEF static
#else
#define FCNDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fcn_status {
    FCN_OK = 0,
    FCN_ERR_ARG = -1,         /* a bad argument from the caller */
    FCN_ERR_IO = -2,          /* a file could not be opened or read */
    FCN_ERR_FORMAT = -3,      /* a malformed model file */
    FCN_ERR_NOMEM = -4,       /* out of memory */
    FCN_ERR_OVERFLOW = -5,    /* sizes too large to represent */
    FCN_ERR_UNSUPPORTED = -6, /* the network cannot run on the chosen path */
    FCN_ERR_CANCELLED = -7,   /* the progress callback asked to stop */
    FCN_ERR_DEVICE = -8,      /* an accelerator error (fcn_opencl.h) */
    FCN_STATUS_COUNT = 9
} fcn_status;

typedef struct fcn_error {
    fcn_status status;
    char message[512];
} fcn_error;

typedef enum fcn_layer_type {
    FCN_LAYER_CONV = 1,
    FCN_LAYER_MAXPOOL = 2,
    FCN_LAYER_AVGPOOL = 3,
    FCN_LAYER_FC = 4,
    FCN_LAYER_RELU = 5,
    FCN_LAYER_TANH = 6,
    FCN_LAYER_SIGMOID = 7,
    FCN_LAYER_DROPOUT = 8,
    FCN_LAYER_SOFTMAX = 9,
    FCN_LAYER_COUNT
} fcn_layer_type;

/* One layer. Fields a layer type does not use are ignored. */
typedef struct fcn_layer {
    fcn_layer_type type;
    int maps;      /* conv, fc: number of outputs */
    int kh, kw;    /* conv, pools: kernel size */
    int stride;    /* conv, pools: 0 means the default (conv 1, pools kh) */
    int pad;       /* conv, pools: zero padding on every side (sliding path only) */
    int ceil_mode; /* pools: ceil rounding of the output size, Caffe's clipped last window */
    float slope;   /* relu: negative slope */
} fcn_layer;

/* The shape of a layer's input or output when the network is applied to one patch. */
typedef struct fcn_shape {
    int c, h, w;
} fcn_shape;

typedef enum fcn_path { FCN_PATH_DENSE = 0, FCN_PATH_SLIDING = 1, FCN_PATH_COUNT } fcn_path;

typedef enum fcn_border {
    FCN_BORDER_MIRROR = 0,
    FCN_BORDER_ZERO = 1,
    FCN_BORDER_REPLICATE = 2,
    FCN_BORDER_VALID = 3,
    FCN_BORDER_COUNT
} fcn_border;

/* Called after each unit of work (a row or a band of rows) with the units done and
   their total; serialised, possibly from a worker thread. Return non-zero to stop
   (fcn_map then returns FCN_ERR_CANCELLED). */
typedef int (*fcn_progress_fn)(void *user, long done, long total);

/* Zero-initialised options mean: dense path, mirror border, stride 1, all CPUs, the
   whole map. Read during the call, not kept. */
typedef struct fcn_options {
    fcn_path path;
    fcn_border border;
    int stride;         /* output stride s, 0 means 1 */
    int threads;        /* 0 means every online CPU */
    int rect_x, rect_y; /* top-left of the output sub-rectangle, in map pixels */
    int rect_w, rect_h; /* 0 means the whole map */
    fcn_progress_fn progress;
    void *progress_user;
} fcn_options;

typedef struct fcn_net fcn_net;

/* Loading and saving. A loaded network is read-only and may be shared between threads. */
FCNDEF fcn_status fcn_net_load(const char *path, fcn_net **out, fcn_error *err);
FCNDEF fcn_status fcn_net_load_memory(const void *data, size_t size, const char *name,
                                      fcn_net **out, fcn_error *err);
FCNDEF fcn_status fcn_net_save(const fcn_net *net, const char *path, fcn_error *err);
FCNDEF void fcn_net_free(fcn_net *net); /* NULL is fine */

/* Building a network in code: the weights start at zero, the transform at scale 1,
   mean 0. Fill them through the pointers below before the network is shared. */
FCNDEF fcn_status fcn_net_create(int in_h, int in_w, int in_c, const fcn_layer *layers,
                                 int n_layers, fcn_net **out, fcn_error *err);
FCNDEF float *fcn_net_weights(fcn_net *net, int layer, size_t *count); /* NULL if none */
FCNDEF float *fcn_net_bias(fcn_net *net, int layer, size_t *count);
FCNDEF fcn_status fcn_net_set_transform(fcn_net *net, float scale, const float *mean,
                                        fcn_error *err); /* mean: in_c values or NULL */

/* Inspecting a network. */
FCNDEF fcn_shape fcn_net_input(const fcn_net *net);
FCNDEF int fcn_net_outputs(const fcn_net *net); /* K */
FCNDEF int fcn_net_layer_count(const fcn_net *net);
FCNDEF fcn_status fcn_net_layer(const fcn_net *net, int i, fcn_layer *layer, fcn_shape *in,
                                fcn_shape *out);
FCNDEF float fcn_net_scale(const fcn_net *net);
FCNDEF const float *fcn_net_mean(const fcn_net *net); /* in_c values */
FCNDEF const char *fcn_layer_name(fcn_layer_type type);
/* FCN_OK if the dense path can compute this network exactly, else why not. */
FCNDEF fcn_status fcn_net_dense_check(const fcn_net *net, fcn_error *err);

/* Mapping. out receives rect_h x rect_w x K floats (the whole map without a rect). */
FCNDEF fcn_status fcn_map_size(const fcn_net *net, int h, int w, const fcn_options *opt,
                               int *out_h, int *out_w, fcn_error *err);
FCNDEF fcn_status fcn_map(const fcn_net *net, const float *image, int h, int w,
                          const fcn_options *opt, float *out, fcn_error *err);

/* Arithmetic cost of one map (whole map or rect), in FLOPs: a multiply-add counts 2, a
   pooling window element 1, activations are not counted. Per layer (arrays of
   fcn_net_layer_count entries, either may be NULL) and in total. "sliding" is every
   output pixel's window run separately; "dense" what the dense path computes. */
FCNDEF fcn_status fcn_map_flops(const fcn_net *net, int h, int w, const fcn_options *opt,
                                double *sliding_per_layer, double *dense_per_layer,
                                double *sliding_total, double *dense_total, fcn_error *err);

FCNDEF const char *fcn_status_string(fcn_status s);

/* The library's exp and the activations built on it (the fcn-arith section). */
FCNDEF float fcn_expf(float x);
FCNDEF float fcn_tanhf(float x);
FCNDEF float fcn_sigmoidf(float x);

#ifdef __cplusplus
}
#endif
#endif /* FCN_H */

/* ======================================================================== */
#ifdef FCN_IMPLEMENTATION
#ifndef FCN__IMPLEMENTED
#define FCN__IMPLEMENTED

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FCN_NO_THREADS
#include <pthread.h>
#include <unistd.h>
#endif

#if defined(FCN_MALLOC) != defined(FCN_FREE)
#error "define both FCN_MALLOC and FCN_FREE, or neither"
#endif
#ifndef FCN_MALLOC
#define FCN_MALLOC(n) malloc(n)
#define FCN_FREE(p) free(p)
#endif

#if defined(__FAST_MATH__)
#error "fcn.h must not be compiled with -ffast-math: the arithmetic contract needs IEEE rounding"
#endif

#ifdef __cplusplus
#define FCN__CAST(T, x) static_cast<T>(x)
#else
#define FCN__CAST(T, x) ((T)(x))
#endif

/* Limits on sizes read from files or passed in: far above any real use, low enough that
   every size product below fits in size_t and every index in int. */
#define FCN__MAX_DIM (1 << 20)    /* image side */
#define FCN__MAX_PATCH (1 << 14)  /* patch side */
#define FCN__MAX_MAPS (1 << 16)   /* maps per layer */
#define FCN__MAX_LAYERS 1024
#define FCN__MAX_STRIDE 4096

/* >>errors */
static fcn_status fcn__fail(fcn_error *err, fcn_status s, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        err->status = s;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return s;
}

static void fcn__ok(fcn_error *err)
{
    if (err) {
        err->status = FCN_OK;
        err->message[0] = '\0';
    }
}

FCNDEF const char *fcn_status_string(fcn_status s)
{
    switch (s) {
    case FCN_OK: return "ok";
    case FCN_ERR_ARG: return "bad argument";
    case FCN_ERR_IO: return "i/o error";
    case FCN_ERR_FORMAT: return "malformed model";
    case FCN_ERR_NOMEM: return "out of memory";
    case FCN_ERR_OVERFLOW: return "size overflow";
    case FCN_ERR_UNSUPPORTED: return "unsupported";
    case FCN_ERR_CANCELLED: return "cancelled";
    case FCN_ERR_DEVICE: return "device error";
    default: return "unknown status";
    }
}

/* a * b into *r unless it overflows size_t */
static int fcn__mul(size_t a, size_t b, size_t *r)
{
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *r = a * b;
    return 1;
}

static void *fcn__alloc(size_t n, size_t elem)
{
    size_t bytes;
    if (!fcn__mul(n, elem, &bytes)) return NULL;
    return FCN_MALLOC(bytes ? bytes : 1);
}

/* >>arith
   fcn-arith begin: this text is also compiled as OpenCL C by fcn_opencl.h. It uses only
   operations both languages define exactly: + - * /, fma, floor, ldexp, comparisons. */
#ifndef FCN__ARITH
#define FCN__ARITH static
#define FCN__FMA(a, b, c) fmaf(a, b, c)
#define FCN__FLOOR(x) floorf(x)
#define FCN__LDEXP(x, n) ldexpf(x, n)
#define FCN__INF HUGE_VALF
#endif

/* exp(x) with Cephes' expf reduction and polynomial, evaluated with fma: within 2 ulp of
   the true value. Results that would be subnormal are 0, so devices that flush
   denormals still agree. */
FCN__ARITH float fcn__exp(float x)
{
    float n, r, p;
    if (x != x) return x;
    if (x > 88.7f) return FCN__INF;
    if (x < -87.0f) return 0.0f;
    n = FCN__FLOOR(FCN__FMA(x, 1.44269504088896341f, 0.5f));
    r = FCN__FMA(n, -0.693359375f, x);
    r = FCN__FMA(n, 2.12194440e-4f, r);
    p = 1.9875691500e-4f;
    p = FCN__FMA(p, r, 1.3981999507e-3f);
    p = FCN__FMA(p, r, 8.3334519073e-3f);
    p = FCN__FMA(p, r, 4.1665795894e-2f);
    p = FCN__FMA(p, r, 1.6666665459e-1f);
    p = FCN__FMA(p, r, 5.0000001201e-1f);
    p = FCN__FMA(p, r * r, r) + 1.0f;
    return FCN__LDEXP(p, (int)n);
}

/* tanh: Cephes' odd polynomial near 0 (no cancellation), 1 - 2/(exp(2|x|)+1) beyond. */
FCN__ARITH float fcn__tanh(float x)
{
    float a = x < 0.0f ? -x : x, z, y;
    if (a < 0.625f) {
        z = x * x;
        y = -5.70498872745e-3f;
        y = FCN__FMA(y, z, 2.06390887954e-2f);
        y = FCN__FMA(y, z, -5.37397155531e-2f);
        y = FCN__FMA(y, z, 1.33314422036e-1f);
        y = FCN__FMA(y, z, -3.33332819422e-1f);
        return FCN__FMA(y, z * x, x);
    }
    y = 1.0f - 2.0f / (fcn__exp(2.0f * a) + 1.0f);
    return x < 0.0f ? -y : y;
}

FCN__ARITH float fcn__sigmoid(float x) { return 1.0f / (1.0f + fcn__exp(-x)); }

FCN__ARITH float fcn__relu(float x, float slope) { return x > 0.0f ? x : x * slope; }

/* fcn-arith end */

FCNDEF float fcn_expf(float x) { return fcn__exp(x); }
FCNDEF float fcn_tanhf(float x) { return fcn__tanh(x); }
FCNDEF float fcn_sigmoidf(float x) { return fcn__sigmoid(x); }

/* Softmax over k values v[0], v[stride], ...: subtract the largest, exponentiate, add in
   order, divide. */
static void fcn__softmax(float *v, size_t stride, int k)
{
    float m = v[0], s = 0.0f;
    int i;
    for (i = 1; i < k; i++)
        if (v[(size_t)i * stride] > m) m = v[(size_t)i * stride];
    for (i = 0; i < k; i++) {
        float e = fcn__exp(v[(size_t)i * stride] - m);
        v[(size_t)i * stride] = e;
        s += e;
    }
    for (i = 0; i < k; i++) v[(size_t)i * stride] = v[(size_t)i * stride] / s;
}

/* Pointwise layers over n values (softmax: n positions of k channels, planar). */
static void fcn__pointwise(const fcn_layer *l, float *v, size_t n, int k)
{
    size_t i;
    switch (l->type) {
    case FCN_LAYER_RELU:
        for (i = 0; i < n * (size_t)k; i++) v[i] = fcn__relu(v[i], l->slope);
        break;
    case FCN_LAYER_TANH:
        for (i = 0; i < n * (size_t)k; i++) v[i] = fcn__tanh(v[i]);
        break;
    case FCN_LAYER_SIGMOID:
        for (i = 0; i < n * (size_t)k; i++) v[i] = fcn__sigmoid(v[i]);
        break;
    case FCN_LAYER_SOFTMAX:
        for (i = 0; i < n; i++) fcn__softmax(v + i, n, k);
        break;
    default: break; /* dropout: identity at inference */
    }
}

/* >>net */
typedef struct fcn__layer {
    fcn_layer d;
    fcn_shape in, out;
    float *w, *b;
    size_t nw; /* weights, not counting the biases */
} fcn__layer;

struct fcn_net {
    fcn_shape input;
    float scale;
    float *mean;
    int n;
    fcn__layer *layers;
    float *params; /* every layer's weights and biases, one block */
    size_t nparams;
};

static const char *const fcn__layer_names[FCN_LAYER_COUNT] = {
    "?", "conv", "maxpool", "avgpool", "fc", "relu", "tanh", "sigmoid", "dropout", "softmax"};

FCNDEF const char *fcn_layer_name(fcn_layer_type t)
{
    return (t > 0 && t < FCN_LAYER_COUNT) ? fcn__layer_names[t] : "?";
}

static int fcn__is_pool(fcn_layer_type t) { return t == FCN_LAYER_MAXPOOL || t == FCN_LAYER_AVGPOOL; }
static int fcn__is_weighted(fcn_layer_type t) { return t == FCN_LAYER_CONV || t == FCN_LAYER_FC; }

static int fcn__pool_out(int in, int k, int s, int p, int ceil_mode)
{
    int span = in + 2 * p - k, o;
    if (span < 0) return 0;
    o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    /* Caffe: the last window must start inside the image or its left padding */
    if (ceil_mode && p > 0 && (o - 1) * s >= in + p) o--;
    return o;
}

/* Checks one layer against its input shape, fills its output shape and weight count.
   'where' names the layer in messages. */
static fcn_status fcn__layer_shape(fcn__layer *L, fcn_shape in, const char *where, fcn_error *err)
{
    fcn_layer *d = &L->d;
    size_t t;
    L->in = in;
    L->out = in;
    L->nw = 0;
    switch (d->type) {
    case FCN_LAYER_CONV:
    case FCN_LAYER_MAXPOOL:
    case FCN_LAYER_AVGPOOL:
        if (d->kh < 1 || d->kw < 1 || d->kh > FCN__MAX_PATCH || d->kw > FCN__MAX_PATCH)
            return fcn__fail(err, FCN_ERR_FORMAT, "%s: kernel %dx%d out of range 1..%d", where,
                             d->kh, d->kw, FCN__MAX_PATCH);
        if (d->stride == 0) d->stride = d->type == FCN_LAYER_CONV ? 1 : d->kh;
        if (d->stride < 1 || d->stride > FCN__MAX_STRIDE)
            return fcn__fail(err, FCN_ERR_FORMAT, "%s: stride %d out of range 1..%d", where,
                             d->stride, FCN__MAX_STRIDE);
        if (d->pad < 0 || d->pad > FCN__MAX_PATCH)
            return fcn__fail(err, FCN_ERR_FORMAT, "%s: pad %d out of range 0..%d", where, d->pad,
                             FCN__MAX_PATCH);
        if (d->type == FCN_LAYER_CONV) {
            if (d->maps < 1 || d->maps > FCN__MAX_MAPS)
                return fcn__fail(err, FCN_ERR_FORMAT, "%s: maps %d out of range 1..%d", where,
                                 d->maps, FCN__MAX_MAPS);
            L->out.c = d->maps;
            L->out.h = fcn__pool_out(in.h, d->kh, d->stride, d->pad, 0);
            L->out.w = fcn__pool_out(in.w, d->kw, d->stride, d->pad, 0);
            if (!fcn__mul((size_t)d->maps * (size_t)in.c, (size_t)d->kh * (size_t)d->kw, &L->nw))
                return fcn__fail(err, FCN_ERR_OVERFLOW, "%s: weight count overflows", where);
        } else {
            if (d->pad >= d->kh || d->pad >= d->kw)
                return fcn__fail(err, FCN_ERR_FORMAT, "%s: pad %d must be smaller than the kernel %dx%d",
                                 where, d->pad, d->kh, d->kw);
            L->out.h = fcn__pool_out(in.h, d->kh, d->stride, d->pad, d->ceil_mode);
            L->out.w = fcn__pool_out(in.w, d->kw, d->stride, d->pad, d->ceil_mode);
        }
        if (L->out.h < 1 || L->out.w < 1)
            return fcn__fail(err, FCN_ERR_FORMAT,
                             "%s: kernel %dx%d (stride %d, pad %d) does not fit its %dx%d input", where,
                             d->kh, d->kw, d->stride, d->pad, in.h, in.w);
        break;
    case FCN_LAYER_FC:
        if (d->maps < 1 || d->maps > FCN__MAX_MAPS)
            return fcn__fail(err, FCN_ERR_FORMAT, "%s: outputs %d out of range 1..%d", where, d->maps,
                             FCN__MAX_MAPS);
        /* a fully connected layer is a convolution whose kernel is its whole input */
        d->kh = in.h;
        d->kw = in.w;
        d->stride = 1;
        d->pad = 0;
        L->out.c = d->maps;
        L->out.h = L->out.w = 1;
        if (!fcn__mul((size_t)in.c * (size_t)in.h, (size_t)in.w, &t) || !fcn__mul(t, (size_t)d->maps, &L->nw))
            return fcn__fail(err, FCN_ERR_OVERFLOW, "%s: weight count overflows", where);
        break;
    case FCN_LAYER_RELU:
        if (!(d->slope == d->slope) || d->slope == FCN__INF || d->slope == -FCN__INF)
            return fcn__fail(err, FCN_ERR_FORMAT, "%s: slope must be finite", where);
        break;
    case FCN_LAYER_TANH:
    case FCN_LAYER_SIGMOID:
    case FCN_LAYER_DROPOUT:
    case FCN_LAYER_SOFTMAX: break;
    default: return fcn__fail(err, FCN_ERR_FORMAT, "%s: unknown layer type %d", where, (int)d->type);
    }
    return FCN_OK;
}

FCNDEF void fcn_net_free(fcn_net *net)
{
    if (!net) return;
    FCN_FREE(net->params);
    FCN_FREE(net->layers);
    FCN_FREE(net->mean);
    FCN_FREE(net);
}

/* Builds the net's structure, shapes and a zeroed parameter block. 'name' prefixes
   messages (a file name or "network"); lines[i] > 0 gives the file line of layer i. */
static fcn_status fcn__build(int in_h, int in_w, int in_c, const fcn_layer *layers, int n,
                             const char *name, const int *lines, fcn_net **out, fcn_error *err)
{
    fcn_net *net;
    fcn_shape s;
    size_t total = 0;
    int i;
    fcn_status st;
    *out = NULL;
    if (in_h < 1 || in_w < 1 || in_h > FCN__MAX_PATCH || in_w > FCN__MAX_PATCH)
        return fcn__fail(err, FCN_ERR_FORMAT, "%s: input patch %dx%d out of range 1..%d", name, in_h,
                         in_w, FCN__MAX_PATCH);
    if (in_c < 1 || in_c > FCN__MAX_MAPS)
        return fcn__fail(err, FCN_ERR_FORMAT, "%s: input channels %d out of range 1..%d", name, in_c,
                         FCN__MAX_MAPS);
    if (n < 1 || n > FCN__MAX_LAYERS)
        return fcn__fail(err, FCN_ERR_FORMAT, "%s: %d layers, expected 1..%d", name, n, FCN__MAX_LAYERS);
    if (!layers) return fcn__fail(err, FCN_ERR_ARG, "%s: no layers given", name);
    net = FCN__CAST(fcn_net *, FCN_MALLOC(sizeof *net));
    if (!net) return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", name);
    memset(net, 0, sizeof *net);
    net->input.c = in_c;
    net->input.h = in_h;
    net->input.w = in_w;
    net->scale = 1.0f;
    net->n = n;
    net->mean = FCN__CAST(float *, fcn__alloc((size_t)in_c, sizeof(float)));
    net->layers = FCN__CAST(fcn__layer *, fcn__alloc((size_t)n, sizeof(fcn__layer)));
    if (!net->mean || !net->layers) {
        fcn_net_free(net);
        return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", name);
    }
    memset(net->mean, 0, (size_t)in_c * sizeof(float));
    s = net->input;
    for (i = 0; i < n; i++) {
        fcn__layer *L = &net->layers[i];
        char where[256];
        memset(L, 0, sizeof *L);
        L->d = layers[i];
        if (lines && lines[i] > 0)
            snprintf(where, sizeof where, "%s: line %d, layer %d (%s)", name, lines[i], i + 1,
                     fcn_layer_name(L->d.type));
        else
            snprintf(where, sizeof where, "%s: layer %d (%s)", name, i + 1, fcn_layer_name(L->d.type));
        st = fcn__layer_shape(L, s, where, err);
        if (st != FCN_OK) {
            fcn_net_free(net);
            return st;
        }
        if (L->d.type == FCN_LAYER_SOFTMAX && i != n - 1) {
            fcn_net_free(net);
            return fcn__fail(err, FCN_ERR_FORMAT, "%s: softmax must be the last layer", where);
        }
        s = L->out;
        if (fcn__is_weighted(L->d.type)) {
            if (total > SIZE_MAX / 8 - L->nw - (size_t)L->out.c) {
                fcn_net_free(net);
                return fcn__fail(err, FCN_ERR_OVERFLOW, "%s: parameter count overflows", where);
            }
            total += L->nw + (size_t)L->out.c;
        }
    }
    if (s.h != 1 || s.w != 1) {
        fcn_net_free(net);
        return fcn__fail(err, FCN_ERR_FORMAT,
                         "%s: the network's output is %dx%dx%d for one patch; a patch classifier must "
                         "end at 1x1 (add an fc layer or make the patch smaller)",
                         name, s.h, s.w, s.c);
    }
    net->nparams = total;
    net->params = FCN__CAST(float *, fcn__alloc(total, sizeof(float)));
    if (!net->params) {
        fcn_net_free(net);
        return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory for %lu parameters", name,
                         (unsigned long)total);
    }
    memset(net->params, 0, total * sizeof(float));
    total = 0;
    for (i = 0; i < n; i++) {
        fcn__layer *L = &net->layers[i];
        if (!fcn__is_weighted(L->d.type)) continue;
        L->w = net->params + total;
        L->b = L->w + L->nw;
        total += L->nw + (size_t)L->out.c;
    }
    *out = net;
    return FCN_OK;
}

FCNDEF fcn_status fcn_net_create(int in_h, int in_w, int in_c, const fcn_layer *layers,
                                 int n_layers, fcn_net **out, fcn_error *err)
{
    fcn_status st;
    if (!out) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_create: out is NULL");
    st = fcn__build(in_h, in_w, in_c, layers, n_layers, "network", NULL, out, err);
    if (st == FCN_OK) fcn__ok(err);
    return st;
}

FCNDEF float *fcn_net_weights(fcn_net *net, int layer, size_t *count)
{
    if (count) *count = 0;
    if (!net || layer < 0 || layer >= net->n || !net->layers[layer].w) return NULL;
    if (count) *count = net->layers[layer].nw;
    return net->layers[layer].w;
}

FCNDEF float *fcn_net_bias(fcn_net *net, int layer, size_t *count)
{
    if (count) *count = 0;
    if (!net || layer < 0 || layer >= net->n || !net->layers[layer].b) return NULL;
    if (count) *count = (size_t)net->layers[layer].out.c;
    return net->layers[layer].b;
}

FCNDEF fcn_status fcn_net_set_transform(fcn_net *net, float scale, const float *mean, fcn_error *err)
{
    int c;
    if (!net) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_set_transform: net is NULL");
    if (!(scale == scale) || scale == FCN__INF || scale == -FCN__INF)
        return fcn__fail(err, FCN_ERR_ARG, "fcn_net_set_transform: scale must be finite");
    net->scale = scale;
    for (c = 0; c < net->input.c; c++) net->mean[c] = mean ? mean[c] : 0.0f;
    fcn__ok(err);
    return FCN_OK;
}

FCNDEF fcn_shape fcn_net_input(const fcn_net *net) { return net->input; }
FCNDEF int fcn_net_outputs(const fcn_net *net) { return net->layers[net->n - 1].out.c; }
FCNDEF int fcn_net_layer_count(const fcn_net *net) { return net->n; }
FCNDEF float fcn_net_scale(const fcn_net *net) { return net->scale; }
FCNDEF const float *fcn_net_mean(const fcn_net *net) { return net->mean; }

FCNDEF fcn_status fcn_net_layer(const fcn_net *net, int i, fcn_layer *layer, fcn_shape *in, fcn_shape *out)
{
    if (!net || i < 0 || i >= net->n) return FCN_ERR_ARG;
    if (layer) *layer = net->layers[i].d;
    if (in) *in = net->layers[i].in;
    if (out) *out = net->layers[i].out;
    return FCN_OK;
}

FCNDEF fcn_status fcn_net_dense_check(const fcn_net *net, fcn_error *err)
{
    int i;
    if (!net) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_dense_check: net is NULL");
    for (i = 0; i < net->n; i++) {
        const fcn__layer *L = &net->layers[i];
        const fcn_layer *d = &L->d;
        if ((d->type == FCN_LAYER_CONV || fcn__is_pool(d->type)) && d->pad > 0)
            return fcn__fail(err, FCN_ERR_UNSUPPORTED,
                             "layer %d (%s): pad %d inside the patch; the dense path cannot reproduce "
                             "padding at the patch's edge (use the sliding path)",
                             i + 1, fcn_layer_name(d->type), d->pad);
        if (fcn__is_pool(d->type) && d->ceil_mode &&
            ((L->out.h - 1) * d->stride + d->kh > L->in.h || (L->out.w - 1) * d->stride + d->kw > L->in.w))
            return fcn__fail(err, FCN_ERR_UNSUPPORTED,
                             "layer %d (%s): its last %dx%d window (stride %d) runs past its %dx%d input "
                             "(ceil rounding); the dense path cannot reproduce the clipped window (use "
                             "the sliding path)",
                             i + 1, fcn_layer_name(d->type), d->kh, d->kw, d->stride, L->in.h, L->in.w);
    }
    fcn__ok(err);
    return FCN_OK;
}

/* >>format */
static uint32_t fcn__crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    static uint32_t table[256];
    static volatile int ready = 0; /* benign race: every thread writes the same table */
    size_t i;
    if (!ready) {
        uint32_t c, k;
        int j;
        for (k = 0; k < 256; k++) {
            c = k;
            for (j = 0; j < 8; j++) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[k] = c;
        }
        ready = 1;
    }
    crc = ~crc;
    for (i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    return ~crc;
}

/* Tokens of one header line. */
typedef struct fcn__line {
    char buf[1024];
    char *tok[64];
    int n;
    int no; /* 1-based line number */
} fcn__line;

static int fcn__parse_int(const char *s, int *v)
{
    long x = 0;
    int neg = 0;
    if (*s == '-') neg = 1, s++;
    if (*s < '0' || *s > '9') return 0;
    while (*s >= '0' && *s <= '9') {
        x = x * 10 + (*s++ - '0');
        if (x > INT_MAX) return 0;
    }
    if (*s) return 0;
    *v = (int)(neg ? -x : x);
    return 1;
}

/* strtod honours the locale's decimal point; the file always uses '.'. */
static int fcn__parse_float(const char *s, float *v)
{
    char tmp[64];
    const char *dp = localeconv()->decimal_point;
    char *end;
    double x;
    size_t i, n = strlen(s);
    if (n == 0 || n >= sizeof tmp) return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+'))
            return 0;
        tmp[i] = (c == '.' && dp && dp[0] && !dp[1]) ? dp[0] : c;
    }
    tmp[n] = '\0';
    errno = 0;
    x = strtod(tmp, &end);
    if (*end || end == tmp) return 0;
    if (x > FLT_MAX || x < -FLT_MAX) return 0;
    *v = (float)x;
    return 1;
}

static void fcn__format_float(char *out, size_t n, float v)
{
    char *p;
    snprintf(out, n, "%.9g", (double)v);
    for (p = out; *p; p++)
        if (*p == ',') *p = '.'; /* a locale with a decimal comma */
}

/* Reads the next header line from data[*pos..end) into l. 0 at end of data. */
static int fcn__next_line(const unsigned char *data, size_t size, size_t *pos, fcn__line *l, int *too_long)
{
    size_t i = *pos, n = 0;
    char *p;
    *too_long = 0;
    if (i >= size) return 0;
    while (i < size && data[i] != '\n') {
        if (n + 1 < sizeof l->buf) l->buf[n++] = (char)data[i];
        else *too_long = 1;
        i++;
    }
    *pos = i < size ? i + 1 : i;
    l->buf[n] = '\0';
    l->no++;
    l->n = 0;
    for (p = l->buf; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\r') *p++ = '\0';
        if (!*p) break;
        if (l->n == (int)(sizeof l->tok / sizeof l->tok[0])) {
            *too_long = 1;
            break;
        }
        l->tok[l->n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r') p++;
    }
    return 1;
}

static fcn_status fcn__bad(fcn_error *err, const char *name, const fcn__line *l, const char *what)
{
    return fcn__fail(err, FCN_ERR_FORMAT, "%s: line %d ('%s'): %s", name, l->no,
                     l->n ? l->tok[0] : "", what);
}

/* Parses "KEY VALUE" options after the positional fields of a layer line. */
static fcn_status fcn__layer_options(const fcn__line *l, int first, fcn_layer *d, const char *name,
                                     fcn_error *err)
{
    int i;
    char what[256];
    for (i = first; i < l->n; i++) {
        const char *k = l->tok[i];
        int is_pool = fcn__is_pool(d->type);
        if (is_pool && strcmp(k, "ceil") == 0) {
            d->ceil_mode = 1;
            continue;
        }
        if (i + 1 >= l->n) {
            snprintf(what, sizeof what, "option '%s' has no value or is unknown", k);
            return fcn__bad(err, name, l, what);
        }
        if ((d->type == FCN_LAYER_CONV || is_pool) && strcmp(k, "stride") == 0) {
            if (!fcn__parse_int(l->tok[++i], &d->stride) || d->stride < 1)
                return fcn__bad(err, name, l, "field 'stride': expected a positive integer");
        } else if ((d->type == FCN_LAYER_CONV || is_pool) && strcmp(k, "pad") == 0) {
            if (!fcn__parse_int(l->tok[++i], &d->pad) || d->pad < 0)
                return fcn__bad(err, name, l, "field 'pad': expected a non-negative integer");
        } else if (d->type == FCN_LAYER_RELU && strcmp(k, "slope") == 0) {
            if (!fcn__parse_float(l->tok[++i], &d->slope))
                return fcn__bad(err, name, l, "field 'slope': expected a number");
        } else {
            snprintf(what, sizeof what, "unknown option '%s'", k);
            return fcn__bad(err, name, l, what);
        }
    }
    return FCN_OK;
}

static fcn_status fcn__pos_int(const fcn__line *l, int i, int *v, const char *field, const char *name,
                               fcn_error *err)
{
    char what[128];
    if (i < l->n && fcn__parse_int(l->tok[i], v) && *v > 0) return FCN_OK;
    snprintf(what, sizeof what, "field '%s': expected a positive integer", field);
    return fcn__bad(err, name, l, what);
}

static uint32_t fcn__le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

FCNDEF fcn_status fcn_net_load_memory(const void *vdata, size_t size, const char *name, fcn_net **out,
                                      fcn_error *err)
{
    const unsigned char *data = FCN__CAST(const unsigned char *, vdata);
    fcn__line *l = NULL;
    fcn_layer *layers = NULL;
    int *lines = NULL;
    int n = 0, in_h = 0, in_w = 0, in_c = 0, have_mean = 0, too_long, i;
    float scale = 1.0f, *mean = NULL;
    size_t pos = 0, wline = 0, nbytes = 0, k;
    uint32_t crc = 0;
    fcn_net *net = NULL;
    fcn_status st = FCN_OK;

    if (!name) name = "model";
    if (!out) return fcn__fail(err, FCN_ERR_ARG, "%s: out is NULL", name);
    *out = NULL;
    if (!data && size) return fcn__fail(err, FCN_ERR_ARG, "%s: data is NULL", name);
    if (size < 12 || memcmp(data, "fcn-model ", 10) != 0)
        return fcn__fail(err, FCN_ERR_FORMAT, "%s: not an fcn model (the first line must be 'fcn-model %d')",
                         name, FCN_FORMAT_VERSION);
    l = FCN__CAST(fcn__line *, FCN_MALLOC(sizeof *l));
    layers = FCN__CAST(fcn_layer *, fcn__alloc(FCN__MAX_LAYERS, sizeof *layers));
    lines = FCN__CAST(int *, fcn__alloc(FCN__MAX_LAYERS, sizeof *lines));
    if (!l || !layers || !lines) {
        st = fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    memset(l, 0, sizeof *l);
    for (;;) {
        size_t start = pos;
        const char *kw;
        if (!fcn__next_line(data, size, &pos, l, &too_long)) {
            st = fcn__fail(err, FCN_ERR_FORMAT, "%s: truncated: the header ends without a 'weights' line",
                           name);
            goto done;
        }
        if (too_long) {
            st = fcn__bad(err, name, l, "line too long");
            goto done;
        }
        if (l->n == 0 || l->tok[0][0] == '#') continue;
        kw = l->tok[0];
        if (l->no == 1) {
            int v;
            if (strcmp(kw, "fcn-model") != 0 || l->n != 2 || !fcn__parse_int(l->tok[1], &v)) {
                st = fcn__bad(err, name, l, "expected 'fcn-model VERSION'");
                goto done;
            }
            if (v != FCN_FORMAT_VERSION) {
                st = fcn__fail(err, FCN_ERR_FORMAT, "%s: format version %d, this library reads version %d",
                               name, v, FCN_FORMAT_VERSION);
                goto done;
            }
            continue;
        }
        if (strcmp(kw, "input") == 0) {
            if (in_h || n) {
                st = fcn__bad(err, name, l, "'input' must come once, before the layers");
                goto done;
            }
            if ((st = fcn__pos_int(l, 1, &in_h, "height", name, err)) != FCN_OK ||
                (st = fcn__pos_int(l, 2, &in_w, "width", name, err)) != FCN_OK ||
                (st = fcn__pos_int(l, 3, &in_c, "channels", name, err)) != FCN_OK)
                goto done;
            if (l->n != 4) {
                st = fcn__bad(err, name, l, "expected 'input H W C'");
                goto done;
            }
            if (in_h > FCN__MAX_PATCH || in_w > FCN__MAX_PATCH || in_c > FCN__MAX_MAPS) {
                st = fcn__bad(err, name, l, "input size out of range");
                goto done;
            }
            mean = FCN__CAST(float *, fcn__alloc((size_t)in_c, sizeof(float)));
            if (!mean) {
                st = fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", name);
                goto done;
            }
            memset(mean, 0, (size_t)in_c * sizeof(float));
            continue;
        }
        if (!in_h && strcmp(kw, "weights") != 0) {
            st = fcn__bad(err, name, l, "expected 'input H W C' before this line");
            goto done;
        }
        if (strcmp(kw, "scale") == 0) {
            if (n || l->n != 2 || !fcn__parse_float(l->tok[1], &scale)) {
                st = fcn__bad(err, name, l, "expected 'scale NUMBER' before the layers");
                goto done;
            }
            continue;
        }
        if (strcmp(kw, "mean") == 0) {
            if (n || have_mean || l->n != in_c + 1) {
                st = fcn__bad(err, name, l, "expected 'mean' once, before the layers, with one value per channel");
                goto done;
            }
            for (i = 0; i < in_c; i++)
                if (!fcn__parse_float(l->tok[i + 1], &mean[i])) {
                    st = fcn__bad(err, name, l, "field 'mean': expected numbers");
                    goto done;
                }
            have_mean = 1;
            continue;
        }
        if (strcmp(kw, "weights") == 0) {
            unsigned long long nb = 0;
            unsigned long c = 0;
            char *end;
            if (!in_h) {
                st = fcn__bad(err, name, l, "no 'input' line before the weights");
                goto done;
            }
            if (l->n != 4 || strcmp(l->tok[2], "crc32") != 0 || l->tok[1][0] < '0' || l->tok[1][0] > '9' ||
                strlen(l->tok[3]) != 8) {
                st = fcn__bad(err, name, l, "expected 'weights NBYTES crc32 XXXXXXXX'");
                goto done;
            }
            errno = 0;
            nb = strtoull(l->tok[1], &end, 10);
            if (*end || errno) {
                st = fcn__bad(err, name, l, "field 'NBYTES': expected a byte count");
                goto done;
            }
            c = strtoul(l->tok[3], &end, 16);
            if (*end) {
                st = fcn__bad(err, name, l, "field 'crc32': expected 8 hex digits");
                goto done;
            }
            if (nb > (unsigned long long)(size - pos)) {
                st = fcn__fail(err, FCN_ERR_FORMAT, "%s: truncated: line %d announces %llu weight bytes, the file has %lu after it",
                               name, l->no, nb, (unsigned long)(size - pos));
                goto done;
            }
            nbytes = (size_t)nb;
            crc = (uint32_t)c;
            wline = start;
            break;
        }
        if (n == FCN__MAX_LAYERS) {
            st = fcn__bad(err, name, l, "too many layers");
            goto done;
        }
        {
            fcn_layer *d = &layers[n];
            int first = 1;
            memset(d, 0, sizeof *d);
            for (i = 1; i < FCN_LAYER_COUNT; i++)
                if (strcmp(kw, fcn__layer_names[i]) == 0) d->type = (fcn_layer_type)i;
            if (!d->type) {
                char what[160];
                snprintf(what, sizeof what, "unknown layer '%.64s'", kw);
                st = fcn__bad(err, name, l, what);
                goto done;
            }
            if (d->type == FCN_LAYER_CONV) {
                if ((st = fcn__pos_int(l, 1, &d->maps, "maps", name, err)) != FCN_OK ||
                    (st = fcn__pos_int(l, 2, &d->kh, "kh", name, err)) != FCN_OK ||
                    (st = fcn__pos_int(l, 3, &d->kw, "kw", name, err)) != FCN_OK)
                    goto done;
                first = 4;
            } else if (fcn__is_pool(d->type)) {
                if ((st = fcn__pos_int(l, 1, &d->kh, "kh", name, err)) != FCN_OK ||
                    (st = fcn__pos_int(l, 2, &d->kw, "kw", name, err)) != FCN_OK)
                    goto done;
                first = 3;
            } else if (d->type == FCN_LAYER_FC) {
                if ((st = fcn__pos_int(l, 1, &d->maps, "outputs", name, err)) != FCN_OK) goto done;
                first = 2;
            }
            if ((st = fcn__layer_options(l, first, d, name, err)) != FCN_OK) goto done;
            lines[n++] = l->no;
        }
    }
    if (size - pos != nbytes) {
        st = fcn__fail(err, FCN_ERR_FORMAT, "%s: %lu bytes follow the weights, the header announces %lu",
                       name, (unsigned long)(size - pos), (unsigned long)nbytes);
        goto done;
    }
    if (fcn__crc32(fcn__crc32(0, data, wline), data + pos, nbytes) != crc) {
        st = fcn__fail(err, FCN_ERR_FORMAT, "%s: checksum mismatch: the file is corrupt", name);
        goto done;
    }
    if ((st = fcn__build(in_h, in_w, in_c, layers, n, name, lines, &net, err)) != FCN_OK) goto done;
    if (nbytes != net->nparams * 4) {
        st = fcn__fail(err, FCN_ERR_FORMAT, "%s: the layers need %lu weight bytes, the file has %lu", name,
                       (unsigned long)(net->nparams * 4), (unsigned long)nbytes);
        goto done;
    }
    for (k = 0; k < net->nparams; k++) {
        uint32_t u = fcn__le32(data + pos + 4 * k);
        memcpy(&net->params[k], &u, 4);
    }
    net->scale = scale;
    memcpy(net->mean, mean, (size_t)in_c * sizeof(float));
    *out = net;
    net = NULL;
    fcn__ok(err);
done:
    fcn_net_free(net);
    FCN_FREE(mean);
    FCN_FREE(lines);
    FCN_FREE(layers);
    FCN_FREE(l);
    return st;
}

FCNDEF fcn_status fcn_net_load(const char *path, fcn_net **out, fcn_error *err)
{
    FILE *f;
    long len;
    unsigned char *buf;
    size_t got;
    fcn_status st;
    if (!path || !out) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load: path or out is NULL");
    *out = NULL;
    f = fopen(path, "rb");
    if (!f) return fcn__fail(err, FCN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return fcn__fail(err, FCN_ERR_IO, "%s: cannot determine its size", path);
    }
    buf = FCN__CAST(unsigned char *, FCN_MALLOC((size_t)len + 1));
    if (!buf) {
        fclose(f);
        return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory for %ld bytes", path, len);
    }
    got = fread(buf, 1, (size_t)len, f);
    fclose(f);
    if (got != (size_t)len) {
        FCN_FREE(buf);
        return fcn__fail(err, FCN_ERR_IO, "%s: read %lu of %ld bytes", path, (unsigned long)got, len);
    }
    st = fcn_net_load_memory(buf, got, path, out, err);
    FCN_FREE(buf);
    return st;
}

/* A growing text buffer for the header. */
typedef struct fcn__text {
    char *p;
    size_t n, cap;
    int oom;
} fcn__text;

static void fcn__printf(fcn__text *t, const char *fmt, ...)
{
    va_list ap;
    int len;
    char tmp[256];
    va_start(ap, fmt);
    len = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof tmp) {
        t->oom = 1;
        return;
    }
    if (t->n + (size_t)len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        char *q;
        while (cap < t->n + (size_t)len + 1) cap *= 2;
        q = FCN__CAST(char *, FCN_MALLOC(cap));
        if (!q) {
            t->oom = 1;
            return;
        }
        if (t->p) memcpy(q, t->p, t->n);
        FCN_FREE(t->p);
        t->p = q;
        t->cap = cap;
    }
    memcpy(t->p + t->n, tmp, (size_t)len + 1);
    t->n += (size_t)len;
}

FCNDEF fcn_status fcn_net_save(const fcn_net *net, const char *path, fcn_error *err)
{
    fcn__text t = {NULL, 0, 0, 0};
    unsigned char *wb;
    char num[64];
    size_t k, nb;
    uint32_t crc;
    FILE *f;
    int i, ok;
    if (!net || !path) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_save: net or path is NULL");
    if (!fcn__mul(net->nparams, 4, &nb)) return fcn__fail(err, FCN_ERR_OVERFLOW, "%s: too many weights", path);
    fcn__printf(&t, "fcn-model %d\n", FCN_FORMAT_VERSION);
    fcn__printf(&t, "input %d %d %d\n", net->input.h, net->input.w, net->input.c);
    fcn__format_float(num, sizeof num, net->scale);
    fcn__printf(&t, "scale %s\nmean", num);
    for (i = 0; i < net->input.c; i++) {
        fcn__format_float(num, sizeof num, net->mean[i]);
        fcn__printf(&t, " %s", num);
    }
    fcn__printf(&t, "\n");
    for (i = 0; i < net->n; i++) {
        const fcn_layer *d = &net->layers[i].d;
        const char *nm = fcn_layer_name(d->type);
        switch (d->type) {
        case FCN_LAYER_CONV:
            fcn__printf(&t, "%s %d %d %d stride %d", nm, d->maps, d->kh, d->kw, d->stride);
            if (d->pad) fcn__printf(&t, " pad %d", d->pad);
            break;
        case FCN_LAYER_MAXPOOL:
        case FCN_LAYER_AVGPOOL:
            fcn__printf(&t, "%s %d %d stride %d", nm, d->kh, d->kw, d->stride);
            if (d->pad) fcn__printf(&t, " pad %d", d->pad);
            if (d->ceil_mode) fcn__printf(&t, " ceil");
            break;
        case FCN_LAYER_FC: fcn__printf(&t, "%s %d", nm, d->maps); break;
        case FCN_LAYER_RELU:
            fcn__printf(&t, "%s", nm);
            if (d->slope != 0.0f) {
                fcn__format_float(num, sizeof num, d->slope);
                fcn__printf(&t, " slope %s", num);
            }
            break;
        default: fcn__printf(&t, "%s", nm); break;
        }
        fcn__printf(&t, "\n");
    }
    wb = FCN__CAST(unsigned char *, FCN_MALLOC(nb ? nb : 1));
    if (t.oom || !wb) {
        FCN_FREE(t.p);
        FCN_FREE(wb);
        return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", path);
    }
    for (k = 0; k < net->nparams; k++) {
        uint32_t u;
        memcpy(&u, &net->params[k], 4);
        wb[4 * k] = (unsigned char)(u & 0xFFu);
        wb[4 * k + 1] = (unsigned char)((u >> 8) & 0xFFu);
        wb[4 * k + 2] = (unsigned char)((u >> 16) & 0xFFu);
        wb[4 * k + 3] = (unsigned char)(u >> 24);
    }
    crc = fcn__crc32(fcn__crc32(0, (const unsigned char *)t.p, t.n), wb, nb);
    fcn__printf(&t, "weights %lu crc32 %08lx\n", (unsigned long)nb, (unsigned long)crc);
    f = fopen(path, "wb");
    if (!f) {
        FCN_FREE(t.p);
        FCN_FREE(wb);
        return fcn__fail(err, FCN_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    }
    ok = !t.oom && fwrite(t.p, 1, t.n, f) == t.n && fwrite(wb, 1, nb, f) == nb;
    ok = (fclose(f) == 0) && ok;
    FCN_FREE(t.p);
    FCN_FREE(wb);
    if (!ok) return fcn__fail(err, FCN_ERR_IO, "%s: write failed", path);
    fcn__ok(err);
    return FCN_OK;
}

/* >>threads
   fcn__parallel runs fn(ctx, begin, end) over [0, n) split into one contiguous range per
   thread. Every output is computed by exactly one thread in the contract's order, so the
   result does not depend on the split. */
typedef struct fcn__job {
    void (*fn)(void *ctx, size_t begin, size_t end);
    void *ctx;
    size_t begin, end;
} fcn__job;

static int fcn__cpus(void)
{
#ifndef FCN_NO_THREADS
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 0) return n > 256 ? 256 : (int)n;
#endif
    return 1;
}

#ifndef FCN_NO_THREADS
static void *fcn__job_run(void *p)
{
    fcn__job *j = FCN__CAST(fcn__job *, p);
    j->fn(j->ctx, j->begin, j->end);
    return NULL;
}
#endif

static void fcn__parallel(int threads, size_t n, void (*fn)(void *, size_t, size_t), void *ctx)
{
#ifndef FCN_NO_THREADS
    fcn__job jobs[256];
    pthread_t tid[256];
    int started[256];
    int t, nt = threads;
    if (nt > 256) nt = 256;
    if ((size_t)nt > n) nt = (int)n;
    if (nt > 1) {
        for (t = 0; t < nt; t++) {
            jobs[t].fn = fn;
            jobs[t].ctx = ctx;
            jobs[t].begin = n * (size_t)t / (size_t)nt;
            jobs[t].end = n * (size_t)(t + 1) / (size_t)nt;
        }
        for (t = 1; t < nt; t++) started[t] = pthread_create(&tid[t], NULL, fcn__job_run, &jobs[t]) == 0;
        fn(ctx, jobs[0].begin, jobs[0].end);
        for (t = 1; t < nt; t++) {
            if (started[t]) pthread_join(tid[t], NULL);
            else fn(ctx, jobs[t].begin, jobs[t].end); /* no thread: do it here, same result */
        }
        return;
    }
#else
    (void)threads;
#endif
    if (n) fn(ctx, 0, n);
}

/* Progress shared by the workers: a count under a mutex, and a stop flag. */
typedef struct fcn__progress {
    fcn_progress_fn fn;
    void *user;
    long done, total;
    volatile int stop;
#ifndef FCN_NO_THREADS
    pthread_mutex_t mu;
#endif
} fcn__progress;

static void fcn__progress_init(fcn__progress *p, const fcn_options *o, long total)
{
    p->fn = o->progress;
    p->user = o->progress_user;
    p->done = 0;
    p->total = total;
    p->stop = 0;
#ifndef FCN_NO_THREADS
    pthread_mutex_init(&p->mu, NULL);
#endif
}

static void fcn__progress_done(fcn__progress *p)
{
#ifndef FCN_NO_THREADS
    pthread_mutex_destroy(&p->mu);
#else
    (void)p;
#endif
}

static void fcn__progress_add(fcn__progress *p, long units)
{
    if (!p->fn) return;
#ifndef FCN_NO_THREADS
    pthread_mutex_lock(&p->mu);
#endif
    p->done += units;
    if (!p->stop && p->fn(p->user, p->done, p->total)) p->stop = 1;
#ifndef FCN_NO_THREADS
    pthread_mutex_unlock(&p->mu);
#endif
}

/* >>geometry */
typedef struct fcn__geom {
    int top, left;       /* border above and left of the image */
    int map_h, map_w;    /* the whole map */
    int rx, ry, rw, rh;  /* the rectangle computed */
    int stride;
    int threads;
} fcn__geom;

/* Validates arguments and options and works out the map's geometry. */
static fcn_status fcn__geometry(const fcn_net *net, int h, int w, const fcn_options *o, fcn__geom *g,
                                fcn_error *err)
{
    int ph, pw;
    if (!net) return fcn__fail(err, FCN_ERR_ARG, "net is NULL");
    ph = net->input.h;
    pw = net->input.w;
    if (h < 1 || w < 1 || h > FCN__MAX_DIM || w > FCN__MAX_DIM)
        return fcn__fail(err, FCN_ERR_ARG, "image %dx%d: each side must be 1..%d", h, w, FCN__MAX_DIM);
    if ((unsigned)o->border >= (unsigned)FCN_BORDER_COUNT)
        return fcn__fail(err, FCN_ERR_ARG, "unknown border mode %d", (int)o->border);
    if ((unsigned)o->path >= (unsigned)FCN_PATH_COUNT)
        return fcn__fail(err, FCN_ERR_ARG, "unknown path %d", (int)o->path);
    g->stride = o->stride ? o->stride : 1;
    if (g->stride < 1 || g->stride > FCN__MAX_STRIDE)
        return fcn__fail(err, FCN_ERR_ARG, "output stride %d out of range 1..%d", o->stride, FCN__MAX_STRIDE);
    if (o->threads < 0) return fcn__fail(err, FCN_ERR_ARG, "threads %d must be >= 0", o->threads);
    g->threads = o->threads ? o->threads : fcn__cpus();
    if (o->border == FCN_BORDER_VALID) {
        if (h < ph || w < pw)
            return fcn__fail(err, FCN_ERR_ARG, "image %dx%d is smaller than the %dx%d patch (border valid)", h,
                             w, ph, pw);
        g->top = g->left = 0;
        g->map_h = (h - ph) / g->stride + 1;
        g->map_w = (w - pw) / g->stride + 1;
    } else {
        g->top = (ph - 1) / 2;
        g->left = (pw - 1) / 2;
        g->map_h = (h - 1) / g->stride + 1;
        g->map_w = (w - 1) / g->stride + 1;
    }
    if (o->rect_w || o->rect_h) {
        if (o->rect_w < 1 || o->rect_h < 1 || o->rect_x < 0 || o->rect_y < 0 ||
            o->rect_x > g->map_w - o->rect_w || o->rect_y > g->map_h - o->rect_h)
            return fcn__fail(err, FCN_ERR_ARG, "rectangle %d,%d %dx%d is not inside the %dx%d map", o->rect_x,
                             o->rect_y, o->rect_w, o->rect_h, g->map_w, g->map_h);
        g->rx = o->rect_x;
        g->ry = o->rect_y;
        g->rw = o->rect_w;
        g->rh = o->rect_h;
    } else {
        g->rx = g->ry = 0;
        g->rw = g->map_w;
        g->rh = g->map_h;
    }
    return FCN_OK;
}

FCNDEF fcn_status fcn_map_size(const fcn_net *net, int h, int w, const fcn_options *opt, int *out_h,
                               int *out_w, fcn_error *err)
{
    fcn_options zero;
    fcn__geom g;
    fcn_status st;
    if (!opt) {
        memset(&zero, 0, sizeof zero);
        opt = &zero;
    }
    st = fcn__geometry(net, h, w, opt, &g, err);
    if (st != FCN_OK) return st;
    if (out_h) *out_h = g.rh;
    if (out_w) *out_w = g.rw;
    fcn__ok(err);
    return FCN_OK;
}

/* Index of bordered coordinate i (0 at the first border pixel) in an image of n pixels,
   or -1 for the zero border. */
static int fcn__border_index(int i, int n, fcn_border b)
{
    if (i >= 0 && i < n) return i;
    if (b == FCN_BORDER_ZERO) return -1;
    if (b == FCN_BORDER_REPLICATE || n == 1) return i < 0 ? 0 : n - 1;
    {
        long period = 2L * (n - 1), m = (long)i % period; /* numpy 'reflect' */
        if (m < 0) m += period;
        return (int)(m < n ? m : period - m);
    }
}

/* Cuts rows [y0, y0+ch) x columns [x0, x0+cw) of the bordered image (bordered
   coordinates), applies the input transform and stores it planar (C, ch, cw). */
static void fcn__cut(const fcn_net *net, const float *img, int h, int w, fcn_border b, int top, int left,
                     int y0, int x0, int ch, int cw, float *dst)
{
    int c, y, x, C = net->input.c;
    size_t plane = (size_t)ch * (size_t)cw;
    for (y = 0; y < ch; y++) {
        int iy = fcn__border_index(y0 + y - top, h, b);
        for (x = 0; x < cw; x++) {
            int ix = fcn__border_index(x0 + x - left, w, b);
            for (c = 0; c < C; c++) {
                float v = (iy < 0 || ix < 0) ? 0.0f : img[((size_t)iy * (size_t)w + (size_t)ix) * (size_t)C + (size_t)c];
                dst[(size_t)c * plane + (size_t)y * (size_t)cw + (size_t)x] = (v - net->mean[c]) * net->scale;
            }
        }
    }
}

/* >>sliding
   The reference: one patch, one layer at a time, planar buffers, bounds checks for
   padding and clipped pool windows. */
static void fcn__patch_conv(const fcn__layer *L, const float *in, float *out)
{
    const fcn_layer *d = &L->d;
    int o, c, oy, ox, ky, kx;
    for (o = 0; o < L->out.c; o++)
        for (oy = 0; oy < L->out.h; oy++)
            for (ox = 0; ox < L->out.w; ox++) {
                float s = L->b[o];
                for (c = 0; c < L->in.c; c++)
                    for (ky = 0; ky < d->kh; ky++)
                        for (kx = 0; kx < d->kw; kx++) {
                            int iy = oy * d->stride - d->pad + ky, ix = ox * d->stride - d->pad + kx;
                            float x = 0.0f;
                            if (iy >= 0 && iy < L->in.h && ix >= 0 && ix < L->in.w)
                                x = in[((size_t)c * (size_t)L->in.h + (size_t)iy) * (size_t)L->in.w + (size_t)ix];
                            s = fmaf(L->w[(((size_t)o * (size_t)L->in.c + (size_t)c) * (size_t)d->kh + (size_t)ky) * (size_t)d->kw + (size_t)kx], x, s);
                        }
                out[((size_t)o * (size_t)L->out.h + (size_t)oy) * (size_t)L->out.w + (size_t)ox] = s;
            }
}

static void fcn__patch_pool(const fcn__layer *L, const float *in, float *out)
{
    const fcn_layer *d = &L->d;
    int c, oy, ox, ky, kx;
    for (c = 0; c < L->in.c; c++)
        for (oy = 0; oy < L->out.h; oy++)
            for (ox = 0; ox < L->out.w; ox++) {
                int y0 = oy * d->stride - d->pad, x0 = ox * d->stride - d->pad;
                /* Caffe: the average divides by the window clipped to the padded input */
                int ye = y0 + d->kh < L->in.h + d->pad ? y0 + d->kh : L->in.h + d->pad;
                int xe = x0 + d->kw < L->in.w + d->pad ? x0 + d->kw : L->in.w + d->pad;
                float s = 0.0f, m = 0.0f;
                int first = 1;
                for (ky = y0; ky < y0 + d->kh; ky++)
                    for (kx = x0; kx < x0 + d->kw; kx++) {
                        float x;
                        if (ky < 0 || ky >= L->in.h || kx < 0 || kx >= L->in.w) continue;
                        x = in[((size_t)c * (size_t)L->in.h + (size_t)ky) * (size_t)L->in.w + (size_t)kx];
                        if (first || x > m) m = x;
                        first = 0;
                        s += x;
                    }
                out[((size_t)c * (size_t)L->out.h + (size_t)oy) * (size_t)L->out.w + (size_t)ox] =
                    d->type == FCN_LAYER_MAXPOOL ? m : s / (float)((ye - y0) * (xe - x0));
            }
}

/* Runs the net on one transformed planar patch in a; a and b hold the largest layer.
   Returns the buffer holding the K outputs. */
static float *fcn__patch_run(const fcn_net *net, float *a, float *b)
{
    int i;
    for (i = 0; i < net->n; i++) {
        const fcn__layer *L = &net->layers[i];
        float *t;
        switch (L->d.type) {
        case FCN_LAYER_CONV:
        case FCN_LAYER_FC: fcn__patch_conv(L, a, b); break;
        case FCN_LAYER_MAXPOOL:
        case FCN_LAYER_AVGPOOL: fcn__patch_pool(L, a, b); break;
        default:
            fcn__pointwise(&L->d, a, (size_t)L->out.h * (size_t)L->out.w, L->out.c);
            continue;
        }
        t = a, a = b, b = t;
    }
    return a;
}

static size_t fcn__largest_layer(const fcn_net *net)
{
    size_t m = (size_t)net->input.c * (size_t)net->input.h * (size_t)net->input.w;
    int i;
    for (i = 0; i < net->n; i++) {
        const fcn_shape *s = &net->layers[i].out;
        size_t v = (size_t)s->c * (size_t)s->h * (size_t)s->w;
        if (v > m) m = v;
    }
    return m;
}

typedef struct fcn__sliding {
    const fcn_net *net;
    const float *img;
    int h, w;
    fcn_border border;
    const fcn__geom *g;
    float *out;
    fcn__progress *prog;
    volatile int nomem;
} fcn__sliding;

static void fcn__sliding_rows(void *vctx, size_t begin, size_t end)
{
    fcn__sliding *s = FCN__CAST(fcn__sliding *, vctx);
    const fcn_net *net = s->net;
    const fcn__geom *g = s->g;
    size_t big = fcn__largest_layer(net), r;
    int K = fcn_net_outputs(net), j, k;
    float *a = FCN__CAST(float *, fcn__alloc(big, sizeof(float)));
    float *b = FCN__CAST(float *, fcn__alloc(big, sizeof(float)));
    if (!a || !b) {
        s->nomem = 1;
        FCN_FREE(a);
        FCN_FREE(b);
        return;
    }
    for (r = begin; r < end && !s->prog->stop; r++) {
        int i = g->ry + (int)r;
        for (j = 0; j < g->rw; j++) {
            const float *y;
            fcn__cut(net, s->img, s->h, s->w, s->border, g->top, g->left, i * g->stride,
                     (g->rx + j) * g->stride, net->input.h, net->input.w, a);
            y = fcn__patch_run(net, a, b);
            for (k = 0; k < K; k++) s->out[(r * (size_t)g->rw + (size_t)j) * (size_t)K + (size_t)k] = y[k];
        }
        fcn__progress_add(s->prog, 1);
    }
    FCN_FREE(a);
    FCN_FREE(b);
}

/* >>dense
   Every layer is computed once over the rectangle's bordered crop. A layer's output is
   kept on a grid of step g (in crop pixels): g = gcd(s, D), D the product of the strides
   up to and including the layer, s the output stride; with s = 1 that is every pixel,
   the "a trous" form. A layer reads its input grid with taps 'dil' apart (the product
   of earlier strides, in input-grid units) and output points 'step' apart. */
typedef struct fcn__dlayer {
    int in_h, in_w, out_h, out_w; /* grid sizes */
    int step, dil;
    int g; /* output grid step, in crop pixels */
} fcn__dlayer;

typedef struct fcn__dense {
    const fcn__layer *L;
    const fcn__dlayer *p;
    const float *in;
    float *out;
    fcn__progress *prog;
} fcn__dense;

static int fcn__gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Output rows [begin, end) of (map, row) pairs: acc[x] over the row in the contract's order,
   vectorisable across x. This loop is the place to specialise for speed. */
static void fcn__dense_conv(void *vctx, size_t begin, size_t end)
{
    fcn__dense *ctx = FCN__CAST(fcn__dense *, vctx);
    const fcn__layer *L = ctx->L;
    const fcn__dlayer *p = ctx->p;
    size_t r, plane_in = (size_t)p->in_h * (size_t)p->in_w;
    int C = L->in.c, kh = L->d.kh, kw = L->d.kw, ow = p->out_w, step = p->step, dil = p->dil;
    for (r = begin; r < end && !ctx->prog->stop; r++) {
        int o = (int)(r / (size_t)p->out_h), oy = (int)(r % (size_t)p->out_h), c, ky, kx, x;
        float *acc = ctx->out + r * (size_t)ow;
        const float *w = L->w + (size_t)o * (size_t)C * (size_t)kh * (size_t)kw;
        for (x = 0; x < ow; x++) acc[x] = L->b[o];
        for (c = 0; c < C; c++)
            for (ky = 0; ky < kh; ky++) {
                const float *row = ctx->in + (size_t)c * plane_in + (size_t)(oy * step + ky * dil) * (size_t)p->in_w;
                for (kx = 0; kx < kw; kx++) {
                    const float wv = *w++;
                    const float *src = row + (size_t)kx * (size_t)dil;
                    if (step == 1)
                        for (x = 0; x < ow; x++) acc[x] = fmaf(wv, src[x], acc[x]);
                    else
                        for (x = 0; x < ow; x++) acc[x] = fmaf(wv, src[(size_t)x * (size_t)step], acc[x]);
                }
            }
        fcn__progress_add(ctx->prog, 1);
    }
}

static void fcn__dense_pool(void *vctx, size_t begin, size_t end)
{
    fcn__dense *ctx = FCN__CAST(fcn__dense *, vctx);
    const fcn__layer *L = ctx->L;
    const fcn__dlayer *p = ctx->p;
    size_t r, plane_in = (size_t)p->in_h * (size_t)p->in_w;
    int kh = L->d.kh, kw = L->d.kw, ow = p->out_w, step = p->step, dil = p->dil;
    int is_max = L->d.type == FCN_LAYER_MAXPOOL;
    float n = (float)(kh * kw);
    for (r = begin; r < end && !ctx->prog->stop; r++) {
        int c = (int)(r / (size_t)p->out_h), oy = (int)(r % (size_t)p->out_h), ky, kx, x;
        float *dst = ctx->out + r * (size_t)ow;
        for (x = 0; x < ow; x++) {
            float s = 0.0f, m = 0.0f;
            for (ky = 0; ky < kh; ky++) {
                const float *src = ctx->in + (size_t)c * plane_in +
                                   (size_t)(oy * step + ky * dil) * (size_t)p->in_w + (size_t)x * (size_t)step;
                for (kx = 0; kx < kw; kx++) {
                    float v = src[(size_t)kx * (size_t)dil];
                    if ((ky == 0 && kx == 0) || v > m) m = v;
                    s += v;
                }
            }
            dst[x] = is_max ? m : s / n;
        }
        fcn__progress_add(ctx->prog, 1);
    }
}

/* Plans the grid of every layer for an rh x rw rectangle at output stride s. Returns
   the crop size in *ch, *cw and the largest buffer in *big (floats). */
static fcn_status fcn__dense_plan(const fcn_net *net, int rh, int rw, int s, fcn__dlayer *plan, int *ch,
                                  int *cw, size_t *big, fcn_error *err)
{
    int i, g_in = 1;
    long d_in = 1, dmod = 1 % s; /* product of the strides so far (capped), and it mod s */
    size_t m, v;
    *ch = (rh - 1) * s + net->input.h; /* (rh - 1) * s < image side: no overflow */
    *cw = (rw - 1) * s + net->input.w;
    if (!fcn__mul((size_t)*ch * (size_t)*cw, (size_t)net->input.c, &m))
        return fcn__fail(err, FCN_ERR_OVERFLOW, "image too large");
    for (i = 0; i < net->n; i++) {
        const fcn__layer *L = &net->layers[i];
        fcn__dlayer *p = &plan[i];
        int spatial = L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC || fcn__is_pool(L->d.type);
        int stride = spatial ? L->d.stride : 1, g_out;
        long d_out = d_in * stride;
        if (d_out > FCN__MAX_PATCH) d_out = FCN__MAX_PATCH + 1; /* then it spans one unit */
        dmod = dmod * stride % s;
        g_out = fcn__gcd(s, (int)dmod);
        /* grid points up to the last output pixel's window: (r-1)*s + (n-1)*D pixels */
        p->in_h = (int)(((long)(rh - 1) * s + (L->in.h - 1) * (L->in.h > 1 ? d_in : 0)) / g_in + 1);
        p->in_w = (int)(((long)(rw - 1) * s + (L->in.w - 1) * (L->in.w > 1 ? d_in : 0)) / g_in + 1);
        p->out_h = (int)(((long)(rh - 1) * s + (L->out.h - 1) * (L->out.h > 1 ? d_out : 0)) / g_out + 1);
        p->out_w = (int)(((long)(rw - 1) * s + (L->out.w - 1) * (L->out.w > 1 ? d_out : 0)) / g_out + 1);
        p->step = g_out / g_in;
        p->g = g_out;
        p->dil = (L->d.kh > 1 || L->d.kw > 1) ? (int)(d_in / g_in) : 1;
        if (spatial) {
            /* the reads stay inside the input grid (guaranteed by the patch shapes) */
            if ((long)(p->out_h - 1) * p->step + (long)(L->d.kh - 1) * p->dil > p->in_h - 1 ||
                (long)(p->out_w - 1) * p->step + (long)(L->d.kw - 1) * p->dil > p->in_w - 1)
                return fcn__fail(err, FCN_ERR_UNSUPPORTED, "layer %d (%s): internal planning error", i + 1,
                                 fcn_layer_name(L->d.type));
        } else {
            p->step = p->dil = 1;
        }
        if (!fcn__mul((size_t)p->out_h * (size_t)p->out_w, (size_t)L->out.c, &v))
            return fcn__fail(err, FCN_ERR_OVERFLOW, "layer %d: buffer size overflows", i + 1);
        if (v > m) m = v;
        d_in = d_out;
        g_in = g_out;
    }
    *big = m;
    return FCN_OK;
}

typedef struct fcn__pw {
    const fcn_layer *d;
    float *v;
    size_t n;
    int k;
} fcn__pw;

static void fcn__dense_pointwise(void *vctx, size_t begin, size_t end)
{
    fcn__pw *ctx = FCN__CAST(fcn__pw *, vctx);
    size_t i;
    int c;
    if (ctx->d->type == FCN_LAYER_SOFTMAX) {
        for (i = begin; i < end; i++) fcn__softmax(ctx->v + i, ctx->n, ctx->k);
        return;
    }
    for (c = 0; c < ctx->k; c++) fcn__pointwise(ctx->d, ctx->v + (size_t)c * ctx->n + begin, end - begin, 1);
}

static fcn_status fcn__dense_map(const fcn_net *net, const float *img, int h, int w, fcn_border border,
                                 const fcn__geom *g, fcn__progress *prog, float *out, fcn_error *err)
{
    fcn__dlayer *plan;
    float *a = NULL, *b = NULL, *t;
    int ch, cw, i, K = fcn_net_outputs(net), x, y, k;
    size_t big;
    long total = 0;
    fcn_status st;
    plan = FCN__CAST(fcn__dlayer *, fcn__alloc((size_t)net->n, sizeof *plan));
    if (!plan) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    st = fcn__dense_plan(net, g->rh, g->rw, g->stride, plan, &ch, &cw, &big, err);
    if (st == FCN_OK) {
        a = FCN__CAST(float *, fcn__alloc(big, sizeof(float)));
        b = FCN__CAST(float *, fcn__alloc(big, sizeof(float)));
        if (!a || !b)
            st = fcn__fail(err, FCN_ERR_NOMEM, "out of memory for two %lu-byte layer buffers (map a smaller rectangle)",
                           (unsigned long)(big * sizeof(float)));
    }
    if (st != FCN_OK) {
        FCN_FREE(a);
        FCN_FREE(b);
        FCN_FREE(plan);
        return st;
    }
    for (i = 0; i < net->n; i++)
        if (net->layers[i].d.type <= FCN_LAYER_FC) total += (long)net->layers[i].out.c * plan[i].out_h;
    prog->total = total;
    fcn__cut(net, img, h, w, border, g->top, g->left, g->ry * g->stride, g->rx * g->stride, ch, cw, a);
    for (i = 0; i < net->n && !prog->stop; i++) {
        const fcn__layer *L = &net->layers[i];
        fcn__dense ctx;
        size_t rows = (size_t)L->out.c * (size_t)plan[i].out_h;
        ctx.L = L;
        ctx.p = &plan[i];
        ctx.in = a;
        ctx.out = b;
        ctx.prog = prog;
        if (L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC) {
            fcn__parallel(g->threads, rows, fcn__dense_conv, &ctx);
        } else if (fcn__is_pool(L->d.type)) {
            fcn__parallel(g->threads, rows, fcn__dense_pool, &ctx);
        } else {
            fcn__pw pw;
            pw.d = &L->d;
            pw.v = a;
            pw.n = (size_t)plan[i].out_h * (size_t)plan[i].out_w;
            pw.k = L->out.c;
            fcn__parallel(g->threads, pw.n, fcn__dense_pointwise, &pw);
            continue;
        }
        t = a, a = b, b = t;
    }
    if (!prog->stop) {
        const fcn__dlayer *p = &plan[net->n - 1];
        size_t plane = (size_t)p->out_h * (size_t)p->out_w, q = (size_t)(g->stride / p->g);
        for (y = 0; y < g->rh; y++)
            for (x = 0; x < g->rw; x++)
                for (k = 0; k < K; k++)
                    out[((size_t)y * (size_t)g->rw + (size_t)x) * (size_t)K + (size_t)k] =
                        a[(size_t)k * plane + (size_t)y * q * (size_t)p->out_w + (size_t)x * q];
    }
    FCN_FREE(a);
    FCN_FREE(b);
    FCN_FREE(plan);
    return prog->stop ? fcn__fail(err, FCN_ERR_CANCELLED, "cancelled by the progress callback") : FCN_OK;
}

FCNDEF fcn_status fcn_map(const fcn_net *net, const float *image, int h, int w, const fcn_options *opt,
                          float *out, fcn_error *err)
{
    fcn_options zero;
    fcn__geom g;
    fcn__progress prog;
    fcn_status st;
    if (!opt) {
        memset(&zero, 0, sizeof zero);
        opt = &zero;
    }
    st = fcn__geometry(net, h, w, opt, &g, err);
    if (st != FCN_OK) return st;
    if (!image || !out) return fcn__fail(err, FCN_ERR_ARG, "image or out is NULL");
    if (opt->path == FCN_PATH_DENSE) {
        st = fcn_net_dense_check(net, err);
        if (st != FCN_OK) return st;
        fcn__progress_init(&prog, opt, 0);
        st = fcn__dense_map(net, image, h, w, opt->border, &g, &prog, out, err);
    } else {
        fcn__sliding s;
        fcn__progress_init(&prog, opt, g.rh);
        s.net = net;
        s.img = image;
        s.h = h;
        s.w = w;
        s.border = opt->border;
        s.g = &g;
        s.out = out;
        s.prog = &prog;
        s.nomem = 0;
        fcn__parallel(g.threads, (size_t)g.rh, fcn__sliding_rows, &s);
        if (s.nomem) st = fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
        else if (prog.stop) st = fcn__fail(err, FCN_ERR_CANCELLED, "cancelled by the progress callback");
    }
    fcn__progress_done(&prog);
    if (st == FCN_OK) fcn__ok(err);
    return st;
}

FCNDEF fcn_status fcn_map_flops(const fcn_net *net, int h, int w, const fcn_options *opt,
                                double *sliding_per_layer, double *dense_per_layer, double *sliding_total,
                                double *dense_total, fcn_error *err)
{
    fcn_options zero;
    fcn__geom g;
    fcn__dlayer *plan;
    double st_sum = 0.0, dt_sum = 0.0;
    int ch, cw, i;
    size_t big;
    fcn_status st;
    if (!opt) {
        memset(&zero, 0, sizeof zero);
        opt = &zero;
    }
    st = fcn__geometry(net, h, w, opt, &g, err);
    if (st != FCN_OK) return st;
    plan = FCN__CAST(fcn__dlayer *, fcn__alloc((size_t)net->n, sizeof *plan));
    if (!plan) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    st = fcn__dense_plan(net, g.rh, g.rw, g.stride, plan, &ch, &cw, &big, err);
    for (i = 0; i < net->n && st == FCN_OK; i++) {
        const fcn__layer *L = &net->layers[i];
        double per_out = 0.0, sl, de;
        if (L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC)
            per_out = 2.0 * L->in.c * L->d.kh * L->d.kw;
        else if (fcn__is_pool(L->d.type))
            per_out = (double)L->d.kh * L->d.kw;
        sl = per_out * L->out.c * L->out.h * L->out.w * (double)g.rh * g.rw;
        de = per_out * L->out.c * (double)plan[i].out_h * plan[i].out_w;
        if (sliding_per_layer) sliding_per_layer[i] = sl;
        if (dense_per_layer) dense_per_layer[i] = de;
        st_sum += sl;
        dt_sum += de;
    }
    FCN_FREE(plan);
    if (st != FCN_OK) return st;
    if (sliding_total) *sliding_total = st_sum;
    if (dense_total) *dense_total = dt_sum;
    fcn__ok(err);
    return FCN_OK;
}

#endif /* FCN__IMPLEMENTED */
#endif /* FCN_IMPLEMENTATION */

/*
MIT License

Copyright (c) 2026 the fcn.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
*/
