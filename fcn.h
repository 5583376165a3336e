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
   (or define FCN_NO_THREADS). Caffe and ONNX models: fcn_import.h; OpenCL devices:
   fcn_opencl.h (both build on this header).

   CONTENTS

   This comment: QUICK START, WHAT A MAP IS, THE ARITHMETIC CONTRACT, WHICH NETWORKS THE
   DENSE PATH RUNS, THE MODEL FILE, ERRORS THREADS MEMORY, STREAMING, CONFIGURATION
   MACROS. Then the
   declarations, then the implementation in sections, in reading order (grep the anchor):

     >>base     includes, configuration checks, limits, errors, allocation
     >>arith    exp, tanh, sigmoid, softmax: the text the OpenCL kernels compile too
     >>net      a network: layers, their shapes, building one, the dense check
     >>files    reading a whole file; writing one atomically (fcn_file_*)
     >>format   the model file: one handler per directive, the reader, the writer
     >>team     the worker threads of one map, and the progress count
     >>job      a map's arguments and options, checked and resolved once
     >>sliding  the reference: cut the window around a pixel, run the network on it
     >>plan     the dense form: each layer's grid, step and dilation over the image
     >>kernels  the dense convolution's register-blocked micro-kernels (SIMD, portable)
     >>stream   the dense path: stages, rings of rows, bands, column tiles, strips
     >>map      the public map functions: fcn_map_size, fcn_map, fcn_map_stream,
                fcn_map_tile_width, fcn_map_flops

   Where to start: to read the equivalence, THE ARITHMETIC CONTRACT, then >>arith,
   >>sliding and >>plan (the same sums, shared across pixels); to change the speed,
   >>kernels and >>stream; to add a layer type, >>net, >>format, >>sliding, then >>plan
   and >>stream. The internals fcn_import.h and fcn_opencl.h use are listed under >>base.

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

   The one statement of the contract (README, fcn_opencl.h and the .cl files point here).
   Each rule, then the code that keeps it:

   1. Every multiply-add is one fused multiply-add, fmaf() in C and fma() in OpenCL C,
      never a*b+c, so no compiler or device may round it differently.
        fcn__patch_conv (sliding); FCN__KERNEL, fcn__unit_conv_generic (dense);
        FCN__FMA in >>arith; the fcn_conv* kernels in opencl/fcn.cl and fcn_tiled.cl.
        The build: -ffp-contract=off (the Makefile, fcn.pc) and the #error on fast-math
        in >>base; "#pragma OPENCL FP_CONTRACT OFF" (opencl/fcn_prelude.cl).
   2. Each output is accumulated in one fixed order: bias first, then input channel,
      kernel row, kernel column. A fully connected layer is a convolution over its whole
      input, so its inputs come in C,H,W order, as Caffe flattens (fcn__layer_shape).
      Average pools add in row, column order from 0 and divide by the count; max pools
      keep the first of equal values in that order; softmax subtracts the largest,
      exponentiates, adds in order and divides.
        fcn__patch_conv, fcn__patch_pool (sliding); FCN__KERNEL (a chunk of channels at a
        time continues the sums it stored), fcn__unit_conv_generic, fcn__unit_pool,
        FCN__POOL2 (dense); fcn__softmax; the conv, pool and softmax kernels in
        opencl/fcn.cl and fcn_tiled.cl.
   3. exp (for softmax, sigmoid, tanh) is the library's own fcn__exp, made only of
      exactly specified operations (+, -, *, /, fma, floor, ldexp), never libm's, and
      written once: the fcn-arith section (>>arith), which tools/embed_opencl.sh pastes
      into fcn_opencl.h so that the OpenCL kernels compile the very same text, built
      with -cl-fp32-correctly-rounded-divide-sqrt (fcn__cl_build); fcn_cl_create refuses
      a device without fma, a correctly rounded divide or denormals (fcn__cl_contract).
   4. Code is vectorised across output pixels and output maps, never by reordering a
      sum: in FCN__KERNEL each vector lane is one output's own chain of fmas (every
      kernel family, AVX-512, AVX2, NEON or portable, is a different register tiling of
      the same chains), and the OpenCL kernels' register blocks are several outputs,
      each with its own sum.

   5. Every float operation is rounded to float, one rounding each: no wider
      intermediates. Where a compiler evaluates float in double or long double
      (FLT_EVAL_METHOD 1 on s390x under -std=c99, 2 on 32-bit x86 with the x87 FPU), a
      compound expression would be rounded once instead of once per operation; so every
      operation of the arithmetic is its own assignment to a float (C99: an assignment
      rounds away the extra precision), and such a build is accepted only where the
      compiler keeps that rule: GCC's ISO C modes (-std=c99, -std=c11). Elsewhere
      (GCC's GNU modes, clang or C++ on the x87) >>base stops the build with an #error
      naming the flags that fix it (-msse2 -mfpmath=sse). Flags that let the compiler
      reorder or rewrite float arithmetic (-ffast-math, -funsafe-math-optimizations,
      -fassociative-math, -freciprocal-math, -fno-signed-zeros) are refused there too.
      -ffinite-math-only is accepted: it changes nothing for finite images and weights
      (what a NaN or an infinity yields is then undefined). clang 14 announces none of
      these but -ffast-math, so its -funsafe-math-optimizations cannot be refused.
        fcn__transform, fcn__tanh, fcn__sigmoid, fcn__exp; the checks in >>base.
   6. NaN. A NaN or infinity in the image (or the weights) goes through the same IEEE
      operations everywhere, so which outputs are NaN is the same on every path and
      machine: a NaN in a window makes the sum NaN; a max pool keeps the first value of
      its window and replaces it only by a greater one, so a NaN first in the window is
      kept and a later one is passed over; relu, tanh and sigmoid of NaN are NaN. A
      NaN's sign and payload are not the same everywhere (x86 makes negative NaNs, ARM
      positive ones; compilers fold a negation differently), so every NaN the library
      returns is the one quiet NaN 0x7fc00000: in the maps of fcn_map, fcn_map_stream
      and fcn_cl_map and from fcn_expf, fcn_tanhf, fcn_sigmoidf.
        fcn__nan_canon (>>arith), called by fcn_map (fcn__map_run), fcn_map_stream
        (fcn__emit) and fcn_cl_map.

   So the dense map equals the sliding-window map, and both are the same on every
   machine, compiler, thread count, tile and device. The tests prove it with memcmp
   (make test): the slide's worked example, random networks, real EM images, and the
   same maps built for aarch64 (NEON), s390x (big-endian) and 32-bit x86 (x87 and
   SSE2) and run under qemu (tests/port).

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
       mean M0 [M1 ...]                  optional, C values (default 0; scale default 1); more
                                         'mean' lines continue the list (16 values a line)
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
   and never exits. A failed allocation is FCN_ERR_NOMEM ("out of memory" in the
   message) wherever it happens, and frees what the call had taken; sizes too large to
   represent are FCN_ERR_OVERFLOW. One fallback: a worker thread of a map that cannot be
   started (pthread_create or its small allocation fails) leaves the map to fewer
   threads, the same bits (tests/robust/alloc_sweep.c fails every allocation in turn).
   A loaded network is read-only: any number of threads may map with it at once (and
   load at once: the library has no global state that it writes). fcn_map with
   options.threads = 0 uses every online CPU; the result does not depend on the thread
   count. The dense path streams the image in bands of rows and
   keeps, per layer, only a ring of the rows the next layer still needs; a map wider
   than options.max_memory allows (default FCN_DEFAULT_MEMORY, 48 MB) is computed in
   column tiles. So its scratch memory does not grow with the image, and the map is the
   same bits whatever the budget: a tile is a sub-rectangle, and sub-rectangles are exact.
   The sliding path needs two buffers of the network's largest layer per thread.

   STREAMING (images larger than memory)

   fcn_map takes the whole image and the whole map in memory. fcn_map_stream takes
   neither: it asks a read callback for the image's rows as it needs them (a band at a
   time, with the halo the patch reads; the rows a tile or strip shares with the last one
   are asked for again) and hands each finished row of the map to a write callback, in
   order, each once. The rows are fcn_map's bits on either path. What it holds:

     the scratch      within options.max_memory, as fcn_map's;
     the input        the image rows one pass of the input stage reads: 16 output rows'
                      worth (16 x stride rows, and the patch on the first), of one tile's
                      columns, C floats a pixel;
     the output       one band of 16 rows of the rectangle when it is one column tile wide
                      (fcn_map_tile_width says how wide that is); a wider rectangle's rows
                      can go out only once every tile has computed them, so it is mapped
                      in strips of as many whole bands as max_memory holds (at least one),
                      each strip's tiles in turn.

   So a stream's memory is bounded by max_memory, twice for a rectangle wider than a tile,
   plus a band of input, whatever the image's height and width. The price of strips is
   time: each strip recomputes, in every layer, the rows above it that its first rows
   read (about Ph - 1 image rows' worth of the early layers' work per strip; README,
   Performance, has the measured cost). A caller who can take the map in rectangles
   avoids it by streaming rectangles no wider than fcn_map_tile_width (the fcn tool
   does: README, "EM volumes"). The sliding path streams bands of 16 rows, reading the
   rows their windows cover.

   CONFIGURATION MACROS

       FCN_STATIC        make every function static (a private copy in one file)
       FCN_NO_THREADS    no pthreads: every map runs on the calling thread
       FCN_MALLOC, FCN_FREE   allocator (both or neither; default malloc/free)
       FCN_DEFAULT_MEMORY     the dense path's scratch budget when options.max_memory is 0
       FCN_NO_SIMD       compile the portable kernels only (fcn_simd_name() is "none");
                         by default x86-64 builds with gcc or clang carry the AVX2 and
                         AVX-512 kernels (target attributes) and pick at run time, and
                         AArch64 builds carry NEON (>>kernels)
       FCN_NO_HUGEPAGES  on Linux, do not ask for transparent huge pages for the dense
                         scratch (asked for where <sys/mman.h> declares MADV_HUGEPAGE:
                         gcc's default gnu modes do; with -std=c99 define _DEFAULT_SOURCE)
       FCN_EXCESS_PRECISION_STANDARD   where float is evaluated wider (FLT_EVAL_METHOD
                         != 0) outside GCC's ISO modes: the caller vouches that every
                         assignment rounds to float (THE ARITHMETIC CONTRACT, rule 5)

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
#if defined(__GNUC__) || defined(__clang__)
#define FCNDEF static __attribute__((unused)) /* a private copy need not use every function */
#else
#define FCNDEF static
#endif
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

/* Which convolution kernels the dense path uses. AUTO: the widest SIMD family that this
   build has and this CPU runs (fcn_simd_name says which); the others name one family,
   and a map that asks for one this build or CPU lacks is refused (FCN_ERR_UNSUPPORTED;
   fcn_kernel_available tells beforehand). All give the same bits; the choice exists so
   that tests and benchmarks can prove and measure it. */
typedef enum fcn_kernel {
    FCN_KERNEL_AUTO = 0,
    FCN_KERNEL_PORTABLE = 1, /* plain C, always there */
    FCN_KERNEL_AVX2 = 2,     /* x86-64 AVX2 + FMA */
    FCN_KERNEL_AVX512 = 3,   /* x86-64 AVX-512F */
    FCN_KERNEL_NEON = 4,     /* AArch64 NEON */
    FCN_KERNEL_COUNT
} fcn_kernel;

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
    size_t max_memory;  /* dense path scratch budget in bytes, 0 means FCN_DEFAULT_MEMORY */
    fcn_kernel kernel;
} fcn_options;

typedef struct fcn_net fcn_net;

/* Loading and saving. A loaded network is read-only and may be shared between threads. */
FCNDEF fcn_status fcn_net_load(const char *path, fcn_net **out, fcn_error *err);
FCNDEF fcn_status fcn_net_load_memory(const void *data, size_t size, const char *name,
                                      fcn_net **out, fcn_error *err);
FCNDEF fcn_status fcn_net_save(const fcn_net *net, const char *path, fcn_error *err); /* atomic */
FCNDEF void fcn_net_free(fcn_net *net); /* NULL is fine */

/* Building a network in code: the weights start at zero, the transform at scale 1,
   mean 0. Fill them through the pointers below before the network is shared. */
FCNDEF fcn_status fcn_net_create(int in_h, int in_w, int in_c, const fcn_layer *layers,
                                 int n_layers, fcn_net **out, fcn_error *err);
FCNDEF float *fcn_net_weights(fcn_net *net, int layer, size_t *count); /* NULL if none */
FCNDEF float *fcn_net_bias(fcn_net *net, int layer, size_t *count);
FCNDEF fcn_status fcn_net_set_transform(fcn_net *net, float scale, const float *mean,
                                        fcn_error *err); /* mean: in_c values or NULL */

/* Inspecting a network. A NULL net gives a zero shape, 0 or NULL (fcn_net_layer:
   FCN_ERR_ARG), so that a failed load read on without a check does not crash. */
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

/* Streaming, for images larger than memory: fcn_map_stream pulls the image's rows from
   read and hands the map's finished rows to write, in order, each row once; the scratch
   stays within options.max_memory whatever the image's size (see MEMORY above), and the
   rows are fcn_map's bits. Both callbacks run on the thread that called fcn_map_stream,
   one at a time, and return 0 to go on; any other value stops the map (FCN_ERR_IO).
     read:  fill buf with image rows [y, y + rows) x columns [x, x + cols): rows x cols x C
            floats, row-major, channels interleaved. Always inside the image; the same rows
            may be asked for again (a tile's or a strip's halo).
     write: rows [y, y + rows) of the map (of options' rectangle, counted from its top):
            rows x rect_w x K floats, valid only during the call. */
typedef int (*fcn_read_fn)(void *user, int y, int rows, int x, int cols, float *buf);
typedef int (*fcn_write_fn)(void *user, int y, int rows, const float *map);
FCNDEF fcn_status fcn_map_stream(const fcn_net *net, int h, int w, const fcn_options *opt, fcn_read_fn read,
                                 fcn_write_fn write, void *user, fcn_error *err);
/* The width, in map columns, of the column tiles the dense path cuts the map (or
   options' rectangle) into to stay within max_memory: the rectangle's own width when it
   fits whole (always, on the sliding path). A stream of a rectangle no wider than this
   computes every layer once (see MEMORY); a caller that spreads a map over its own
   workers can cut it into rectangles this wide. */
FCNDEF fcn_status fcn_map_tile_width(const fcn_net *net, int h, int w, const fcn_options *opt, int *cols,
                                     fcn_error *err);

/* Arithmetic cost of one map (whole map or rect), in FLOPs: a multiply-add counts 2, a
   pooling window element 1, activations are not counted. Per layer (arrays of
   fcn_net_layer_count entries, either may be NULL) and in total. "sliding" is every
   output pixel's window run separately; "dense" what the dense path computes (0 for a
   network the dense path refuses). */
FCNDEF fcn_status fcn_map_flops(const fcn_net *net, int h, int w, const fcn_options *opt,
                                double *sliding_per_layer, double *dense_per_layer,
                                double *sliding_total, double *dense_total, fcn_error *err);

FCNDEF const char *fcn_status_string(fcn_status s);

/* Writing a file atomically (fcn_net_save does, and so should a map's writer): the
   bytes go to a temporary file in the target's folder, every write checked;
   fcn_file_commit flushes it to disk, closes it and renames it over the target, so the
   target holds its old content or the whole new one, never a part. A failed commit,
   or fcn_file_abort, removes the temporary and leaves an existing target untouched.
   An existing target must be writable (else FCN_ERR_IO, as opening it would be) and
   keeps its permissions; a symbolic link is replaced by the file, not followed. A
   target that exists and is not a regular file (/dev/null, a pipe) is written in
   place. A failed write is remembered: later writes do nothing and fail, and
   fcn_file_commit fails with the first error, so a writer that cannot check each write
   (a callback, like stb_image_write's) need check only the commit (or
   fcn_file_write(f, NULL, 0, err), which reports it without writing). Errors are
   FCN_ERR_IO naming the file and the system's reason. One fcn_file per thread; commit
   and abort free it (abort(NULL) is fine). */
typedef struct fcn_file fcn_file;
FCNDEF fcn_status fcn_file_create(const char *path, fcn_file **out, fcn_error *err);
FCNDEF fcn_status fcn_file_write(fcn_file *f, const void *data, size_t n, fcn_error *err);
FCNDEF fcn_status fcn_file_commit(fcn_file *f, fcn_error *err);
FCNDEF void fcn_file_abort(fcn_file *f);
/* The SIMD instruction set of the kernels that the dense path runs here with
   FCN_KERNEL_AUTO: the widest this build has and this CPU supports ("avx512f",
   "avx2+fma", "neon" or "none"). Builds with gcc or clang for x86-64 have the AVX2 and
   AVX-512 kernels whatever -march says and ask the CPU at run time. */
FCNDEF const char *fcn_simd_name(void);
/* Whether kernel choice k runs in this build on this CPU (AUTO and PORTABLE always). */
FCNDEF int fcn_kernel_available(fcn_kernel k);
/* "portable", "avx2+fma", "avx512f", "neon"; for AUTO, the name of what it picks here. */
FCNDEF const char *fcn_kernel_name(fcn_kernel k);

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

/* >>base
   Used by fcn_import.h and fcn_opencl.h too (the only internals they use; keep these
   names stable): fcn__fail, fcn__ok, fcn__alloc, FCN__CAST, the FCN__MAX_* limits
   (>>base); the fcn-arith section and fcn__nan_canon (>>arith); fcn__layer, fcn__layer_shape, fcn__build,
   fcn__is_pool, fcn__is_weighted (>>net); fcn__read_file (>>files); fcn__le32,
   fcn__parse_float (>>format); fcn__job, fcn__job_map (>>job); fcn__cut (>>sliding); fcn__plan,
   fcn__dlayer, fcn__dense_plan (>>plan). cli/fcn.c uses fcn__fail and fcn__crc32 (the
   CRCs of a PNG's chunks). */

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
#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h> /* open, for the atomic writer (>>files) */
#include <sys/stat.h>
#include <unistd.h>
#endif
#if defined(__linux__) && !defined(FCN_NO_HUGEPAGES)
#include <sys/mman.h> /* madvise and MADV_HUGEPAGE: visible with _DEFAULT_SOURCE (gcc's default, not -std=c99) */
#endif

#if defined(FCN_MALLOC) != defined(FCN_FREE)
#error "define both FCN_MALLOC and FCN_FREE, or neither"
#endif
#ifndef FCN_MALLOC
#define FCN_MALLOC(n) malloc(n)
#define FCN_FREE(p) free(p)
#endif

/* Build flags that break THE ARITHMETIC CONTRACT (rule 5). Each rewrites float
   arithmetic that the contract fixes: -fassociative-math reorders sums,
   -freciprocal-math turns x / y into x * (1 / y), -fno-signed-zeros may drop the sign
   of a zero (0 + -0); -funsafe-math-optimizations and -ffast-math imply them. GCC
   announces each by a macro; clang 14 only -ffast-math; MSVC /fp:fast by _M_FP_FAST.
   -ffinite-math-only is not refused: finite inputs give the same bits. */
#if defined(__FAST_MATH__) || defined(_M_FP_FAST)
#error "fcn.h must not be compiled with -ffast-math (or /fp:fast): the arithmetic contract needs IEEE rounding"
#endif
#if defined(__ASSOCIATIVE_MATH__)
#error "fcn.h must not be compiled with -fassociative-math (or -funsafe-math-optimizations): it reorders sums"
#endif
#if defined(__RECIPROCAL_MATH__)
#error "fcn.h must not be compiled with -freciprocal-math (or -funsafe-math-optimizations): it rounds x / y differently"
#endif
#if defined(__NO_SIGNED_ZEROS__)
#error "fcn.h must not be compiled with -fno-signed-zeros: it may change the sign of a zero in the map"
#endif

/* Float evaluated in a wider format (FLT_EVAL_METHOD 1: double, e.g. s390x under
   -std=c99; 2: long double, 32-bit x86 with the x87 FPU): fcn.h assigns every operation
   of its arithmetic to a float, and C99 says that an assignment (or a cast, or passing
   an argument) rounds to float, so the bits are those of FLT_EVAL_METHOD 0 (one
   rounding from double or long double to float is the same as rounding the exact
   result: 53 and 64 bits are more than 2 x 24 + 2). GCC keeps that rule in its ISO C
   modes (-std=c99, -std=c11: -fexcess-precision=standard); its GNU modes (-std=gnu99,
   the default), GCC 12's C++ and clang keep float in x87 registers across assignments,
   and the maps would differ from every other machine. FCN_EXCESS_PRECISION_STANDARD:
   the caller vouches that the compiler rounds every assignment (e.g. GCC
   -std=gnu99 -fexcess-precision=standard, which no macro announces). */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0 && !defined(FCN_EXCESS_PRECISION_STANDARD)
#if !(defined(__GNUC__) && !defined(__clang__) && !defined(__cplusplus) && defined(__STRICT_ANSI__) && \
      defined(__GCC_IEC_559) && __GCC_IEC_559 > 0)
#error "fcn.h: this build evaluates float in a wider format (FLT_EVAL_METHOD != 0) without rounding every assignment to float, so its maps would differ from other machines: on 32-bit x86 build with -msse2 -mfpmath=sse; else with gcc -std=c99 or -std=c11 (or -fexcess-precision=standard and -DFCN_EXCESS_PRECISION_STANDARD)"
#endif
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
#ifndef FCN_DEFAULT_MEMORY
#define FCN_DEFAULT_MEMORY ((size_t)48 << 20) /* scratch budget of the dense path, bytes */
#endif

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
    float n, r, rr, p;
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
    rr = r * r;
    p = FCN__FMA(p, rr, r);
    p = p + 1.0f;
    return FCN__LDEXP(p, (int)n);
}

/* Every operation below is its own assignment to a float: where float is evaluated in
   a wider format (FLT_EVAL_METHOD != 0) each is then rounded to float, as everywhere
   else (THE ARITHMETIC CONTRACT, rule 5); a compound expression would be rounded once.
   tanh: Cephes' odd polynomial near 0 (no cancellation), 1 - 2/(exp(2|x|)+1) beyond. */
FCN__ARITH float fcn__tanh(float x)
{
    float a = x < 0.0f ? -x : x, z, y, e;
    if (a < 0.625f) {
        z = x * x;
        y = -5.70498872745e-3f;
        y = FCN__FMA(y, z, 2.06390887954e-2f);
        y = FCN__FMA(y, z, -5.37397155531e-2f);
        y = FCN__FMA(y, z, 1.33314422036e-1f);
        y = FCN__FMA(y, z, -3.33332819422e-1f);
        if (x == 0.0f) return x; /* tanh(-0) = -0: the fma below would give +0 */
        return FCN__FMA(y, z * x, x);
    }
    e = 2.0f * a;
    e = fcn__exp(e);
    e = e + 1.0f;
    y = 2.0f / e;
    y = 1.0f - y;
    return x < 0.0f ? -y : y;
}

FCN__ARITH float fcn__sigmoid(float x)
{
    float e = fcn__exp(-x);
    e = 1.0f + e;
    e = 1.0f / e;
    return e;
}

FCN__ARITH float fcn__relu(float x, float slope) { return x > 0.0f ? x : x * slope; }

/* fcn-arith end */

/* Every NaN the library returns is this one (THE ARITHMETIC CONTRACT, rule 6). The test
   is on the bits, so that -ffinite-math-only cannot fold it away. */
static float fcn__nan_one(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) {
        u = 0x7FC00000u;
        memcpy(&x, &u, 4);
    }
    return x;
}

/* n values of a map, in place: only the NaNs are rewritten (on the bits: a 32-bit x87
   build loads no float into its FPU here). */
static void fcn__nan_canon(float *v, size_t n)
{
    const uint32_t q = 0x7FC00000u;
    size_t i;
    uint32_t u;
    for (i = 0; i < n; i++) {
        memcpy(&u, v + i, 4);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u) memcpy(v + i, &q, 4);
    }
}

FCNDEF float fcn_expf(float x) { return fcn__nan_one(fcn__exp(x)); }
FCNDEF float fcn_tanhf(float x) { return fcn__nan_one(fcn__tanh(x)); }
FCNDEF float fcn_sigmoidf(float x) { return fcn__nan_one(fcn__sigmoid(x)); }

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

static int fcn__out_size(int in, int k, int s, int p, int ceil_mode)
{
    int span = in + 2 * p - k, o;
    if (span < 0) return 0;
    o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    /* Caffe: the last window must start inside the image or its left padding (also
       without padding: a stride larger than the kernel would leave it empty) */
    if (ceil_mode && (o - 1) * s >= in + p) o--;
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
            L->out.h = fcn__out_size(in.h, d->kh, d->stride, d->pad, 0);
            L->out.w = fcn__out_size(in.w, d->kw, d->stride, d->pad, 0);
            if (!fcn__mul((size_t)d->maps * (size_t)in.c, (size_t)d->kh * (size_t)d->kw, &L->nw))
                return fcn__fail(err, FCN_ERR_OVERFLOW, "%s: weight count overflows", where);
        } else {
            if (d->pad >= d->kh || d->pad >= d->kw)
                return fcn__fail(err, FCN_ERR_FORMAT, "%s: pad %d must be smaller than the kernel %dx%d",
                                 where, d->pad, d->kh, d->kw);
            L->out.h = fcn__out_size(in.h, d->kh, d->stride, d->pad, d->ceil_mode);
            L->out.w = fcn__out_size(in.w, d->kw, d->stride, d->pad, d->ceil_mode);
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
   messages (a file name or "network"); lines[i] > 0 gives the file line of layer i;
   nbytes, if not NULL, is the weight bytes a file holds: checked before allocating, so
   that a small file announcing huge layers is refused, not allocated. */
static fcn_status fcn__build(int in_h, int in_w, int in_c, const fcn_layer *layers, int n,
                             const char *name, const int *lines, const size_t *nbytes, fcn_net **out,
                             fcn_error *err)
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
    if (nbytes && *nbytes != total * 4) { /* total <= SIZE_MAX / 8 */
        fcn_net_free(net);
        return fcn__fail(err, FCN_ERR_FORMAT, "%s: the layers need %lu weight bytes, the file has %lu", name,
                         (unsigned long)(total * 4), (unsigned long)*nbytes);
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
    st = fcn__build(in_h, in_w, in_c, layers, n_layers, "network", NULL, NULL, out, err);
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

FCNDEF fcn_shape fcn_net_input(const fcn_net *net)
{
    fcn_shape none = {0, 0, 0};
    return net ? net->input : none;
}
FCNDEF int fcn_net_outputs(const fcn_net *net) { return net ? net->layers[net->n - 1].out.c : 0; }
FCNDEF int fcn_net_layer_count(const fcn_net *net) { return net ? net->n : 0; }
FCNDEF float fcn_net_scale(const fcn_net *net) { return net ? net->scale : 0.0f; }
FCNDEF const float *fcn_net_mean(const fcn_net *net) { return net ? net->mean : NULL; }

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

/* >>files
   The one file reader (fcn_net_load and fcn_import.h's loaders) and the atomic writer
   (fcn_net_save, and the CLI's outputs). A file is written to a temporary in its own
   folder, every write checked, flushed to disk, closed, then renamed over the target:
   a reader sees the old file or the whole new one, never a part, and a failure leaves
   the old file as it was. A target that is not a regular file (/dev/null, /dev/full, a
   pipe) is written in place. */
#if defined(__unix__) || defined(__APPLE__)
#define FCN__POSIX_FILES 1
#endif

struct fcn_file {
    char *path, *tmp; /* tmp: NULL when writing in place */
    int failed;       /* the errno of the first failed write, 0 if none */
#ifdef FCN__POSIX_FILES
    int fd;
#else
    FILE *f;
#endif
};

static void fcn__file_free(fcn_file *f)
{
    FCN_FREE(f->path);
    FCN_FREE(f->tmp);
    FCN_FREE(f);
}

static char *fcn__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = FCN__CAST(char *, FCN_MALLOC(n));
    if (p) memcpy(p, s, n);
    return p;
}

/* path's folder and name: "<dir>/.<name>.<pid>.<k>.tmp", k tried from seed until the
   name is new. */
static void fcn__tmp_name(char *tmp, size_t size, const char *path, unsigned long pid, unsigned long k)
{
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path + 1) : 0;
    snprintf(tmp, size, "%.*s.%s.%lu.%lu.tmp", dir, path, slash ? slash + 1 : path, pid, k);
}

FCNDEF fcn_status fcn_file_create(const char *path, fcn_file **out, fcn_error *err)
{
    fcn_file *f;
    size_t tn;
    unsigned long k;
    if (!path || !out || !path[0]) return fcn__fail(err, FCN_ERR_ARG, "fcn_file_create: path or out is NULL or empty");
    *out = NULL;
    f = FCN__CAST(fcn_file *, FCN_MALLOC(sizeof *f));
    if (!f) return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", path);
    memset(f, 0, sizeof *f);
    tn = strlen(path) + 64;
    f->path = fcn__strdup(path);
    f->tmp = FCN__CAST(char *, FCN_MALLOC(tn));
    if (!f->path || !f->tmp) {
        fcn__file_free(f);
        return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", path);
    }
#ifdef FCN__POSIX_FILES
    {
        struct stat st;
        int exists = stat(path, &st) == 0;
        if (exists && S_ISREG(st.st_mode) && access(path, W_OK) != 0) { /* what fopen(path, "wb") would refuse */
            int e = errno;
            fcn__file_free(f);
            return fcn__fail(err, FCN_ERR_IO, "%s: cannot write over it: %s", path, strerror(e));
        }
        if (exists && !S_ISREG(st.st_mode)) { /* a device or a pipe: in place */
            FCN_FREE(f->tmp);
            f->tmp = NULL;
            f->fd = open(path, O_WRONLY);
            if (f->fd < 0) {
                int e = errno;
                fcn__file_free(f);
                return fcn__fail(err, FCN_ERR_IO, "%s: cannot open: %s", path, strerror(e));
            }
            *out = f;
            return FCN_OK;
        }
        /* the seed: this fcn_file's address, so that threads and processes differ */
        for (k = (unsigned long)(uintptr_t)f % 100000u;; k++) {
            fcn__tmp_name(f->tmp, tn, path, (unsigned long)getpid(), k);
            f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
            if (f->fd >= 0 || errno != EEXIST) break;
        }
        if (f->fd < 0) {
            int e = errno;
            fcn__file_free(f);
            return fcn__fail(err, FCN_ERR_IO, "%s: cannot create a file in its folder: %s", path, strerror(e));
        }
        if (exists) (void)chmod(f->tmp, st.st_mode & 07777); /* the replacement keeps the old permissions */
    }
#else
    for (k = (unsigned long)(uintptr_t)f % 100000u;; k++) { /* C99 has no exclusive create: probe, then create */
        FILE *probe;
        fcn__tmp_name(f->tmp, tn, path, 0, k);
        if ((probe = fopen(f->tmp, "rb")) == NULL) break;
        fclose(probe);
    }
    f->f = fopen(f->tmp, "wb");
    if (!f->f) {
        int e = errno;
        fcn__file_free(f);
        return fcn__fail(err, FCN_ERR_IO, "%s: cannot create a file in its folder: %s", path, strerror(e));
    }
#endif
    *out = f;
    return FCN_OK;
}

FCNDEF void fcn_file_abort(fcn_file *f)
{
    if (!f) return;
#ifdef FCN__POSIX_FILES
    close(f->fd);
#else
    fclose(f->f);
#endif
    if (f->tmp) remove(f->tmp);
    fcn__file_free(f);
}

FCNDEF fcn_status fcn_file_write(fcn_file *f, const void *data, size_t n, fcn_error *err)
{
    const char *p = FCN__CAST(const char *, data);
    if (!f || (!data && n)) return fcn__fail(err, FCN_ERR_ARG, "fcn_file_write: f or data is NULL");
#ifdef FCN__POSIX_FILES
    while (n > 0 && !f->failed) {
        ssize_t w = write(f->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) f->failed = w < 0 ? errno : EIO;
        else p += w, n -= (size_t)w;
    }
#else
    if (!f->failed && fwrite(p, 1, n, f->f) != n) f->failed = errno ? errno : EIO;
#endif
    if (f->failed) return fcn__fail(err, FCN_ERR_IO, "%s: write failed: %s", f->path, strerror(f->failed));
    return FCN_OK;
}

FCNDEF fcn_status fcn_file_commit(fcn_file *f, fcn_error *err)
{
    int e = f ? f->failed : 0;
    const char *what = "write failed";
    if (!f) return fcn__fail(err, FCN_ERR_ARG, "fcn_file_commit: f is NULL");
#ifdef FCN__POSIX_FILES
    /* a device or pipe may not support fsync (EINVAL): only a regular file must reach the disk */
    if (!e && fsync(f->fd) != 0 && (f->tmp || (errno != EINVAL && errno != ENOTSUP)))
        e = errno, what = "cannot flush it to disk";
    if (close(f->fd) != 0 && !e) e = errno, what = "cannot close it";
#else
    if (!e && fflush(f->f) != 0) e = errno, what = "cannot flush it to disk";
    if (fclose(f->f) != 0 && !e) e = errno, what = "cannot close it";
#endif
    if (!e && f->tmp && rename(f->tmp, f->path) != 0) e = errno, what = "cannot rename the finished file into place";
    if (e) {
        if (f->tmp) remove(f->tmp);
        fcn__fail(err, FCN_ERR_IO, "%s: %s: %s", f->path, what, strerror(e));
        fcn__file_free(f);
        return FCN_ERR_IO;
    }
    fcn__file_free(f);
    fcn__ok(err);
    return FCN_OK;
}

/* Reads a whole file into a fresh buffer (NUL-terminated, for the text formats). */
static fcn_status fcn__read_file(const char *path, unsigned char **buf, size_t *size, fcn_error *err)
{
    FILE *f;
    long len;
    size_t got;
    *buf = NULL;
    *size = 0;
    f = fopen(path, "rb");
    if (!f) return fcn__fail(err, FCN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (getc(f) == EOF && ferror(f)) {
        int e = errno;
        fclose(f);
        return fcn__fail(err, FCN_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return fcn__fail(err, FCN_ERR_IO, "%s: cannot determine its size", path);
    }
    *buf = FCN__CAST(unsigned char *, FCN_MALLOC((size_t)len + 1));
    if (!*buf) {
        fclose(f);
        return fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory for %ld bytes", path, len);
    }
    got = fread(*buf, 1, (size_t)len, f);
    fclose(f);
    if (got != (size_t)len) {
        FCN_FREE(*buf);
        *buf = NULL;
        return fcn__fail(err, FCN_ERR_IO, "%s: read %lu of %ld bytes", path, (unsigned long)got, len);
    }
    (*buf)[got] = 0;
    *size = got;
    return FCN_OK;
}

/* >>format */
/* zlib's CRC-32, four bits at a time from a constant table (the CRC of each nibble):
   nothing is built on first use, so threads loading at once share no written state. */
static uint32_t fcn__crc32(uint32_t crc, const unsigned char *p, size_t n)
{
    static const uint32_t nibble[16] = {
        0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u, 0x4db26158u, 0x5005713cu,
        0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu, 0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};
    size_t i;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = nibble[crc & 15u] ^ (crc >> 4);
        crc = nibble[crc & 15u] ^ (crc >> 4);
    }
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
        if (x > (INT_MAX - (*s - '0')) / 10) return 0; /* before it overflows a 32-bit long */
        x = x * 10 + (*s++ - '0');
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
    /* refuse what rounds to +-inf in float; FLT_MAX written with 9 digits is above it */
    if (!(x < (double)FLT_MAX + ldexp(1.0, 103) && x > -((double)FLT_MAX + ldexp(1.0, 103)))) return 0;
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
    /* at most 64 characters of the keyword, so that a long one leaves room for the cause */
    return fcn__fail(err, FCN_ERR_FORMAT, "%s: line %d ('%.64s'): %s", name, l->no,
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

/* The model file being read: fcn_net_load_memory's state, passed to one handler per
   directive. */
typedef struct fcn__reader {
    const unsigned char *data;
    size_t size, pos;
    const char *name; /* for messages */
    fcn_error *err;
    fcn__line *l;     /* the current line */
    fcn_layer *layers;
    int *lines;       /* each layer's line */
    int n;            /* layers read */
    int in_h, in_w, in_c;
    float scale, *mean;
    int have_mean;    /* mean values read so far */
    size_t wline;     /* where the 'weights' line starts */
    size_t nbytes;    /* announced weight bytes */
    uint32_t crc;     /* announced checksum */
    int at_weights;   /* the 'weights' line was read: the header is complete */
} fcn__reader;

static fcn_status fcn__rbad(fcn__reader *r, const char *what) { return fcn__bad(r->err, r->name, r->l, what); }

/* 'fcn-model VERSION', the first line. */
static fcn_status fcn__dir_magic(fcn__reader *r)
{
    int v;
    if (strcmp(r->l->tok[0], "fcn-model") != 0 || r->l->n != 2 || !fcn__parse_int(r->l->tok[1], &v))
        return fcn__rbad(r, "expected 'fcn-model VERSION'");
    if (v != FCN_FORMAT_VERSION)
        return fcn__fail(r->err, FCN_ERR_FORMAT, "%s: format version %d, this library reads version %d", r->name, v,
                         FCN_FORMAT_VERSION);
    return FCN_OK;
}

/* 'input H W C' */
static fcn_status fcn__dir_input(fcn__reader *r)
{
    fcn_status st;
    const fcn__line *l = r->l;
    if (r->in_h || r->n) return fcn__rbad(r, "'input' must come once, before the layers");
    if ((st = fcn__pos_int(l, 1, &r->in_h, "height", r->name, r->err)) != FCN_OK ||
        (st = fcn__pos_int(l, 2, &r->in_w, "width", r->name, r->err)) != FCN_OK ||
        (st = fcn__pos_int(l, 3, &r->in_c, "channels", r->name, r->err)) != FCN_OK)
        return st;
    if (l->n != 4) return fcn__rbad(r, "expected 'input H W C'");
    if (r->in_h > FCN__MAX_PATCH || r->in_w > FCN__MAX_PATCH || r->in_c > FCN__MAX_MAPS)
        return fcn__rbad(r, "input size out of range");
    r->mean = FCN__CAST(float *, fcn__alloc((size_t)r->in_c, sizeof(float)));
    if (!r->mean) return fcn__fail(r->err, FCN_ERR_NOMEM, "%s: out of memory", r->name);
    memset(r->mean, 0, (size_t)r->in_c * sizeof(float));
    return FCN_OK;
}

/* 'scale S' */
static fcn_status fcn__dir_scale(fcn__reader *r)
{
    if (r->n || r->l->n != 2 || !fcn__parse_float(r->l->tok[1], &r->scale))
        return fcn__rbad(r, "expected 'scale NUMBER' before the layers");
    return FCN_OK;
}

/* 'mean M0 [M1 ...]', continued on further 'mean' lines */
static fcn_status fcn__dir_mean(fcn__reader *r)
{
    int i;
    if (r->n || r->l->n < 2 || r->l->n - 1 > r->in_c - r->have_mean)
        return fcn__rbad(r, "expected 'mean' before the layers, one value per channel (on one or more lines)");
    for (i = 1; i < r->l->n; i++)
        if (!fcn__parse_float(r->l->tok[i], &r->mean[r->have_mean++]))
            return fcn__rbad(r, "field 'mean': expected numbers");
    return FCN_OK;
}

/* 'weights NBYTES crc32 XXXXXXXX', the last header line */
static fcn_status fcn__dir_weights(fcn__reader *r)
{
    const fcn__line *l = r->l;
    unsigned long long nb;
    unsigned long c;
    char *end;
    if (!r->in_h) return fcn__rbad(r, "no 'input' line before the weights");
    if (l->n != 4 || strcmp(l->tok[2], "crc32") != 0 || l->tok[1][0] < '0' || l->tok[1][0] > '9' ||
        strlen(l->tok[3]) != 8)
        return fcn__rbad(r, "expected 'weights NBYTES crc32 XXXXXXXX'");
    errno = 0;
    nb = strtoull(l->tok[1], &end, 10);
    if (*end || errno) return fcn__rbad(r, "field 'NBYTES': expected a byte count");
    c = strtoul(l->tok[3], &end, 16);
    if (*end) return fcn__rbad(r, "field 'crc32': expected 8 hex digits");
    if (nb > (unsigned long long)(r->size - r->pos))
        return fcn__fail(r->err, FCN_ERR_FORMAT,
                         "%s: truncated: line %d announces %llu weight bytes, the file has %lu after it", r->name,
                         l->no, nb, (unsigned long)(r->size - r->pos));
    r->nbytes = (size_t)nb;
    r->crc = (uint32_t)c;
    r->at_weights = 1;
    return FCN_OK;
}

/* A layer line: 'conv MAPS KH KW ...', 'maxpool KH KW ...', 'fc N', 'relu ...', ... */
static fcn_status fcn__dir_layer(fcn__reader *r)
{
    const fcn__line *l = r->l;
    fcn_layer *d;
    fcn_status st;
    int i, first = 1;
    if (r->n == FCN__MAX_LAYERS) return fcn__rbad(r, "too many layers");
    d = &r->layers[r->n];
    memset(d, 0, sizeof *d);
    for (i = 1; i < FCN_LAYER_COUNT; i++)
        if (strcmp(l->tok[0], fcn__layer_names[i]) == 0) d->type = (fcn_layer_type)i;
    if (!d->type) {
        char what[160];
        snprintf(what, sizeof what, "unknown layer '%.64s'", l->tok[0]);
        return fcn__rbad(r, what);
    }
    if (d->type == FCN_LAYER_CONV) {
        if ((st = fcn__pos_int(l, 1, &d->maps, "maps", r->name, r->err)) != FCN_OK ||
            (st = fcn__pos_int(l, 2, &d->kh, "kh", r->name, r->err)) != FCN_OK ||
            (st = fcn__pos_int(l, 3, &d->kw, "kw", r->name, r->err)) != FCN_OK)
            return st;
        first = 4;
    } else if (fcn__is_pool(d->type)) {
        if ((st = fcn__pos_int(l, 1, &d->kh, "kh", r->name, r->err)) != FCN_OK ||
            (st = fcn__pos_int(l, 2, &d->kw, "kw", r->name, r->err)) != FCN_OK)
            return st;
        first = 3;
    } else if (d->type == FCN_LAYER_FC) {
        if ((st = fcn__pos_int(l, 1, &d->maps, "outputs", r->name, r->err)) != FCN_OK) return st;
        first = 2;
    }
    if ((st = fcn__layer_options(l, first, d, r->name, r->err)) != FCN_OK) return st;
    r->lines[r->n++] = l->no;
    return FCN_OK;
}

/* One header line: which directives may come where, then its handler. */
static fcn_status fcn__directive(fcn__reader *r)
{
    const char *kw = r->l->tok[0];
    if (r->l->no == 1) return fcn__dir_magic(r);
    if (strcmp(kw, "input") == 0) return fcn__dir_input(r);
    if (!r->in_h && strcmp(kw, "weights") != 0) return fcn__rbad(r, "expected 'input H W C' before this line");
    if (strcmp(kw, "scale") == 0) return fcn__dir_scale(r);
    if (strcmp(kw, "mean") == 0) return fcn__dir_mean(r);
    if (r->have_mean && r->have_mean != r->in_c) {
        char what[128];
        snprintf(what, sizeof what, "%d 'mean' values before this line, expected %d (one per channel)", r->have_mean,
                 r->in_c);
        return fcn__rbad(r, what);
    }
    if (strcmp(kw, "weights") == 0) return fcn__dir_weights(r);
    return fcn__dir_layer(r);
}

/* Reads the header up to and including its 'weights' line. */
static fcn_status fcn__read_header(fcn__reader *r)
{
    int too_long;
    while (!r->at_weights) {
        size_t start = r->pos;
        fcn_status st;
        if (!fcn__next_line(r->data, r->size, &r->pos, r->l, &too_long))
            return fcn__fail(r->err, FCN_ERR_FORMAT, "%s: truncated: the header ends without a 'weights' line",
                             r->name);
        if (too_long) return fcn__rbad(r, "line too long");
        if (r->l->n == 0 || r->l->tok[0][0] == '#') continue;
        r->wline = start;
        if ((st = fcn__directive(r)) != FCN_OK) return st;
    }
    return FCN_OK;
}

/* The weights after a complete header: their size and checksum, then the network. */
static fcn_status fcn__read_weights(fcn__reader *r, fcn_net **out)
{
    const unsigned char *w = r->data + r->pos;
    fcn_net *net;
    fcn_status st;
    size_t k;
    if (r->size - r->pos != r->nbytes)
        return fcn__fail(r->err, FCN_ERR_FORMAT, "%s: %lu bytes follow the weights, the header announces %lu",
                         r->name, (unsigned long)(r->size - r->pos), (unsigned long)r->nbytes);
    if (fcn__crc32(fcn__crc32(0, r->data, r->wline), w, r->nbytes) != r->crc)
        return fcn__fail(r->err, FCN_ERR_FORMAT, "%s: checksum mismatch: the file is corrupt", r->name);
    st = fcn__build(r->in_h, r->in_w, r->in_c, r->layers, r->n, r->name, r->lines, &r->nbytes, &net, r->err);
    if (st != FCN_OK) return st;
    for (k = 0; k < net->nparams; k++) {
        uint32_t u = fcn__le32(w + 4 * k);
        memcpy(&net->params[k], &u, 4);
    }
    net->scale = r->scale;
    memcpy(net->mean, r->mean, (size_t)r->in_c * sizeof(float));
    *out = net;
    return FCN_OK;
}

FCNDEF fcn_status fcn_net_load_memory(const void *vdata, size_t size, const char *name, fcn_net **out,
                                      fcn_error *err)
{
    fcn__reader r;
    fcn_status st;
    if (!name) name = "model";
    if (!out) return fcn__fail(err, FCN_ERR_ARG, "%s: out is NULL", name);
    *out = NULL;
    if (!vdata && size) return fcn__fail(err, FCN_ERR_ARG, "%s: data is NULL", name);
    memset(&r, 0, sizeof r);
    r.data = FCN__CAST(const unsigned char *, vdata);
    r.size = size;
    r.name = name;
    r.err = err;
    r.scale = 1.0f;
    if (size < 12 || memcmp(r.data, "fcn-model ", 10) != 0)
        return fcn__fail(err, FCN_ERR_FORMAT, "%s: not an fcn model (the first line must be 'fcn-model %d')",
                         name, FCN_FORMAT_VERSION);
    r.l = FCN__CAST(fcn__line *, FCN_MALLOC(sizeof *r.l));
    r.layers = FCN__CAST(fcn_layer *, fcn__alloc(FCN__MAX_LAYERS, sizeof *r.layers));
    r.lines = FCN__CAST(int *, fcn__alloc(FCN__MAX_LAYERS, sizeof *r.lines));
    if (!r.l || !r.layers || !r.lines) st = fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", name);
    else {
        memset(r.l, 0, sizeof *r.l);
        st = fcn__read_header(&r);
        if (st == FCN_OK) st = fcn__read_weights(&r, out);
    }
    if (st == FCN_OK) fcn__ok(err);
    FCN_FREE(r.mean);
    FCN_FREE(r.lines);
    FCN_FREE(r.layers);
    FCN_FREE(r.l);
    return st;
}

FCNDEF fcn_status fcn_net_load(const char *path, fcn_net **out, fcn_error *err)
{
    unsigned char *buf;
    size_t size;
    fcn_status st;
    if (!path || !out) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_load: path or out is NULL");
    *out = NULL;
    if ((st = fcn__read_file(path, &buf, &size, err)) != FCN_OK) return st;
    st = fcn_net_load_memory(buf, size, path, out, err);
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
    fcn_file *f = NULL;
    fcn_status st;
    int i;
    if (!net || !path) return fcn__fail(err, FCN_ERR_ARG, "fcn_net_save: net or path is NULL");
    if (!fcn__mul(net->nparams, 4, &nb)) return fcn__fail(err, FCN_ERR_OVERFLOW, "%s: too many weights", path);
    fcn__printf(&t, "fcn-model %d\n", FCN_FORMAT_VERSION);
    fcn__printf(&t, "input %d %d %d\n", net->input.h, net->input.w, net->input.c);
    fcn__format_float(num, sizeof num, net->scale);
    fcn__printf(&t, "scale %s\n", num);
    for (i = 0; i < net->input.c; i++) { /* 16 values a line: many channels stay under the line limit */
        fcn__format_float(num, sizeof num, net->mean[i]);
        fcn__printf(&t, "%s %s%s", i % 16 ? "" : "mean", num, i % 16 == 15 || i == net->input.c - 1 ? "\n" : "");
    }
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
            if (d->slope != 0.0f || signbit(d->slope)) { /* -0 too: x * -0 is not x * 0 */
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
    st = t.oom ? fcn__fail(err, FCN_ERR_NOMEM, "%s: out of memory", path) : fcn_file_create(path, &f, err);
    if (st == FCN_OK && (st = fcn_file_write(f, t.p, t.n, err)) == FCN_OK && (st = fcn_file_write(f, wb, nb, err)) == FCN_OK)
        st = fcn_file_commit(f, err);
    else if (f)
        fcn_file_abort(f);
    FCN_FREE(t.p);
    FCN_FREE(wb);
    return st;
}

/* >>team
   A fixed team of worker threads for one fcn_map call (the caller is one of them).
   fcn__team_rows hands out the units of one step, row r first to thread r % n, which
   takes another thread's rows only when its own are done (fcn__team_take), and returns
   when all are done. Which thread computes a unit never changes its bits. */
#define FCN__MAX_THREADS 256

static int fcn__cpus(void)
{
#ifndef FCN_NO_THREADS
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 0) return n > FCN__MAX_THREADS ? FCN__MAX_THREADS : (int)n;
#endif
    return 1;
}
typedef struct fcn__team {
    int n; /* threads, the caller included */
    void (*fn)(void *ctx, size_t unit, int tid);
    void *ctx;
    size_t units, per; /* units: rows x per; unit u is of row base + u / per */
    int base;
#ifndef FCN_NO_THREADS
    size_t taken[FCN__MAX_THREADS]; /* units handed out of each thread's share */
    pthread_t tid[FCN__MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t go, idle;
    unsigned long gen;
    int busy, quit;
#endif
} fcn__team;

#ifndef FCN_NO_THREADS
/* A band's stage takes 0.1-10 ms, and a thread woken through a condition variable can
   take tens of microseconds to run again (more under a hypervisor), twice per stage. So
   a waiting thread first spins a while (about 0.1 ms) on the value it waits for, then
   sleeps. The values change under the mutex; the spin only reads them early. */
#if defined(__GNUC__) || defined(__clang__)
#define FCN__PEEK(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define FCN__SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#if defined(__x86_64__) || defined(__i386__)
#define FCN__RELAX() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define FCN__RELAX() __asm__ __volatile__("yield")
#else
#define FCN__RELAX() ((void)0)
#endif
#define FCN__SPIN(cond)                                                 \
    do {                                                                \
        int spin_;                                                      \
        for (spin_ = 0; spin_ < 2000 && (cond); spin_++) FCN__RELAX(); \
    } while (0)
#else
#define FCN__PEEK(x) (x)
#define FCN__SET(x, v) ((x) = (v))
#define FCN__SPIN(cond) ((void)0)
#endif

typedef struct fcn__worker {
    fcn__team *team;
    int id;
} fcn__worker;

/* The next unit for thread id (under the mutex), or p->units when none is left. Row r
   is thread r % n's, so that a row of one stage and the rows of the next stage that
   read it mostly stay in one core's cache (past the first pool every dilation is even);
   a thread whose share is done takes the next unit of another's. */
static size_t fcn__team_take(fcn__team *p, int id)
{
    size_t rows = p->units / p->per, n = (size_t)p->n;
    int k;
    for (k = 0; k < p->n; k++) {
        int c = (id + k) % p->n;
        size_t first = (size_t)((c - p->base % p->n + p->n) % p->n); /* its first row */
        size_t share = first < rows ? (rows - first + n - 1) / n * p->per : 0;
        if (p->taken[c] < share) {
            size_t t = p->taken[c]++;
            return (first + t / p->per * n) * p->per + t % p->per;
        }
    }
    return p->units;
}

static void fcn__team_work(fcn__team *p, int id)
{
    for (;;) {
        size_t u;
        pthread_mutex_lock(&p->mu);
        u = fcn__team_take(p, id);
        pthread_mutex_unlock(&p->mu);
        if (u == p->units) return;
        p->fn(p->ctx, u, id);
    }
}

static void *fcn__team_main(void *arg)
{
    fcn__worker *wk = FCN__CAST(fcn__worker *, arg);
    fcn__team *p = wk->team;
    int id = wk->id;
    unsigned long seen = 0;
    FCN_FREE(wk);
    for (;;) {
        FCN__SPIN(FCN__PEEK(p->gen) == seen && !FCN__PEEK(p->quit));
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        fcn__team_work(p, id);
        pthread_mutex_lock(&p->mu);
        FCN__SET(p->busy, p->busy - 1);
        if (p->busy == 0) pthread_cond_signal(&p->idle);
        pthread_mutex_unlock(&p->mu);
    }
}
#endif

static void fcn__team_start(fcn__team *p, int threads)
{
    memset(p, 0, sizeof *p);
    p->n = 1;
#ifndef FCN_NO_THREADS
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->idle, NULL);
    if (threads > FCN__MAX_THREADS) threads = FCN__MAX_THREADS;
    while (p->n < threads) {
        fcn__worker *wk = FCN__CAST(fcn__worker *, FCN_MALLOC(sizeof *wk));
        if (!wk) break;
        wk->team = p;
        wk->id = p->n;
        if (pthread_create(&p->tid[p->n], NULL, fcn__team_main, wk) != 0) {
            FCN_FREE(wk);
            break; /* fewer threads: the same bits, more slowly */
        }
        p->n++;
    }
#else
    (void)threads;
#endif
}

/* Runs fn on units [0, rows x per) and returns when all are done; unit u belongs to
   row base + u / per (for the threads' shares, see fcn__team_take). */
static void fcn__team_rows(fcn__team *p, size_t rows, size_t per, int base, void (*fn)(void *, size_t, int), void *ctx)
{
    size_t units = rows * per;
#ifndef FCN_NO_THREADS
    if (p->n > 1 && units > 1) {
        pthread_mutex_lock(&p->mu);
        p->fn = fn;
        p->ctx = ctx;
        p->units = units;
        p->per = per;
        p->base = base;
        memset(p->taken, 0, (size_t)p->n * sizeof p->taken[0]);
        p->busy = p->n - 1;
        FCN__SET(p->gen, p->gen + 1);
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        fcn__team_work(p, 0);
        FCN__SPIN(FCN__PEEK(p->busy) > 0);
        pthread_mutex_lock(&p->mu);
        while (p->busy > 0) pthread_cond_wait(&p->idle, &p->mu);
        pthread_mutex_unlock(&p->mu);
        return;
    }
#endif
    {
        size_t u;
        (void)p, (void)base;
        for (u = 0; u < units; u++) fn(ctx, u, 0);
    }
}

static void fcn__team_run(fcn__team *p, size_t units, void (*fn)(void *, size_t, int), void *ctx)
{
    fcn__team_rows(p, units, 1, 0, fn, ctx);
}

static void fcn__team_stop(fcn__team *p)
{
#ifndef FCN_NO_THREADS
    int t;
    pthread_mutex_lock(&p->mu);
    FCN__SET(p->quit, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (t = 1; t < p->n; t++) pthread_join(p->tid[t], NULL);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
#else
    (void)p;
#endif
}

/* Progress shared by the workers: a count under a mutex, and a stop flag (set under the
   mutex, read without it by fcn__stopped: an atomic load where there are threads). */
typedef struct fcn__progress {
    fcn_progress_fn fn;
    void *user;
    long done, total;
    int stop;
#ifndef FCN_NO_THREADS
    pthread_mutex_t mu;
#endif
} fcn__progress;

static void fcn__progress_start(fcn__progress *p, long total)
{
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
#ifndef FCN_NO_THREADS
    if (!p->stop && p->fn(p->user, p->done, p->total)) FCN__SET(p->stop, 1);
    pthread_mutex_unlock(&p->mu);
#else
    if (!p->stop && p->fn(p->user, p->done, p->total)) p->stop = 1;
#endif
}

static int fcn__stopped(fcn__progress *p)
{
#ifndef FCN_NO_THREADS
    return FCN__PEEK(p->stop);
#else
    return p->stop;
#endif
}

/* >>job
   What one map is, worked out once from the arguments and options: its geometry (the
   border, the whole map, the rectangle computed) and the choices (path, threads, scratch
   budget, kernels, progress). fcn_map, fcn_map_size, fcn_map_flops and fcn_cl_map
   (fcn_opencl.h) all start here, so they accept and refuse the same things. */
/* The image's row source. fcn_map reads the caller's array in place (no source); a
   stream (fcn_map_stream) reads the caller's rows through a window that holds what the
   rows being computed read: fcn__source_need fills it, on the calling thread, before
   they run, and the units read it through fcn__image_row. */
typedef struct fcn__source {
    fcn_read_fn read;
    void *user;
    float *win;           /* image rows [y0, y0 + n) x columns [x0, x0 + cols), C floats a pixel */
    size_t cap;           /* floats allocated */
    int y0, n, x0, cols;
} fcn__source;

typedef struct fcn__job {
    const fcn_net *net;
    const float *img;   /* the whole image (fcn_map); NULL where only the sizes are wanted */
    fcn__source *src;   /* or its rows through a window (fcn_map_stream) */
    fcn_write_fn write; /* a stream's finished rows go to write(user, ...), else to out */
    void *user;
    int h, w;           /* the image */
    fcn_path path;
    fcn_border border;
    int top, left;      /* border above and left of the image */
    int map_h, map_w;   /* the whole map */
    int rx, ry, rw, rh; /* the rectangle computed */
    int stride;
    int threads;
    size_t budget;      /* the dense path's scratch bytes */
    fcn_kernel kernel;  /* the dense path's kernels, available here */
    fcn__progress prog; /* fn and user set here; started by the map functions */
} fcn__job;

/* What a NULL options pointer means: every field 0, the defaults (zero as a static;
   never written). */
static fcn_options fcn__no_options;

/* The output rectangle: the whole map, or options.rect_* if it lies inside. */
static fcn_status fcn__job_rect(fcn__job *j, const fcn_options *o, fcn_error *err)
{
    if (!o->rect_w && !o->rect_h) {
        j->rx = j->ry = 0;
        j->rw = j->map_w;
        j->rh = j->map_h;
        return FCN_OK;
    }
    if (o->rect_w < 1 || o->rect_h < 1 || o->rect_x < 0 || o->rect_y < 0 || o->rect_x > j->map_w - o->rect_w ||
        o->rect_y > j->map_h - o->rect_h)
        return fcn__fail(err, FCN_ERR_ARG, "rectangle %d,%d %dx%d is not inside the %dx%d map", o->rect_x, o->rect_y,
                         o->rect_w, o->rect_h, j->map_w, j->map_h);
    j->rx = o->rect_x;
    j->ry = o->rect_y;
    j->rw = o->rect_w;
    j->rh = o->rect_h;
    return FCN_OK;
}

/* Checks the arguments and options (opt may be NULL) and fills *j. */
static fcn_status fcn__job_init(const fcn_net *net, const float *img, int h, int w, const fcn_options *opt,
                                fcn__job *j, fcn_error *err)
{
    const fcn_options *o = opt ? opt : &fcn__no_options;
    int ph, pw;
    memset(j, 0, sizeof *j); /* gcc -O3 cannot see that fcn__fail never returns FCN_OK */
    if (!net) return fcn__fail(err, FCN_ERR_ARG, "net is NULL");
    ph = net->input.h;
    pw = net->input.w;
    if (h < 1 || w < 1 || h > FCN__MAX_DIM || w > FCN__MAX_DIM)
        return fcn__fail(err, FCN_ERR_ARG, "image %dx%d: each side must be 1..%d", h, w, FCN__MAX_DIM);
    if ((unsigned)o->border >= (unsigned)FCN_BORDER_COUNT)
        return fcn__fail(err, FCN_ERR_ARG, "unknown border mode %d", (int)o->border);
    if ((unsigned)o->path >= (unsigned)FCN_PATH_COUNT)
        return fcn__fail(err, FCN_ERR_ARG, "unknown path %d", (int)o->path);
    j->stride = o->stride ? o->stride : 1;
    if (j->stride < 1 || j->stride > FCN__MAX_STRIDE)
        return fcn__fail(err, FCN_ERR_ARG, "output stride %d out of range 1..%d", o->stride, FCN__MAX_STRIDE);
    if (o->threads < 0) return fcn__fail(err, FCN_ERR_ARG, "threads %d must be >= 0", o->threads);
    if ((unsigned)o->kernel >= (unsigned)FCN_KERNEL_COUNT)
        return fcn__fail(err, FCN_ERR_ARG, "unknown kernel choice %d", (int)o->kernel);
    if (!fcn_kernel_available(o->kernel))
        return fcn__fail(err, FCN_ERR_UNSUPPORTED, "kernels %s: not in this build or not supported by this CPU",
                         fcn_kernel_name(o->kernel));
    j->net = net;
    j->img = img;
    j->h = h;
    j->w = w;
    j->path = o->path;
    j->border = o->border;
    j->threads = o->threads ? o->threads : fcn__cpus();
    j->budget = o->max_memory ? o->max_memory : FCN_DEFAULT_MEMORY;
    j->kernel = o->kernel;
    j->prog.fn = o->progress;
    j->prog.user = o->progress_user;
    if (o->border == FCN_BORDER_VALID) {
        if (h < ph || w < pw)
            return fcn__fail(err, FCN_ERR_ARG, "image %dx%d is smaller than the %dx%d patch (border valid)", h,
                             w, ph, pw);
        j->map_h = (h - ph) / j->stride + 1;
        j->map_w = (w - pw) / j->stride + 1;
    } else {
        j->top = (ph - 1) / 2;
        j->left = (pw - 1) / 2;
        j->map_h = (h - 1) / j->stride + 1;
        j->map_w = (w - 1) / j->stride + 1;
    }
    return fcn__job_rect(j, o, err);
}

/* The checks of a map that will be computed (fcn_map, fcn_cl_map): a job, an image and
   an output, and, for the dense algorithm, a network it can compute exactly. */
static fcn_status fcn__job_map(const fcn_net *net, const float *img, int h, int w, const fcn_options *opt,
                               const float *out, int dense, fcn__job *j, fcn_error *err)
{
    fcn_status st = fcn__job_init(net, img, h, w, opt, j, err);
    if (st != FCN_OK) return st;
    if (!img || !out) return fcn__fail(err, FCN_ERR_ARG, "image or out is NULL");
    return dense ? fcn_net_dense_check(net, err) : FCN_OK;
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

/* Row iy of the image, from column *x0 on (C floats a pixel): the caller's array, or
   the source's window, which holds it once fcn__source_need has asked for it. */
static const float *fcn__image_row(const fcn__job *j, int iy, int *x0)
{
    const fcn__source *s = j->src;
    size_t C = (size_t)j->net->input.c;
    if (!s) {
        *x0 = 0;
        return j->img + (size_t)iy * (size_t)j->w * C;
    }
    *x0 = s->x0;
    return s->win + (size_t)(iy - s->y0) * (size_t)s->cols * C;
}

/* Reads image rows [a, b) of columns [c, d) into the window, keeping the rows it
   already holds of the same columns (the next band overlaps the last one's halo). */
static fcn_status fcn__window(const fcn__job *j, fcn__source *s, int a, int b, int c, int d, fcn_error *err)
{
    size_t row = (size_t)(d - c) * (size_t)j->net->input.c, need;
    int k0, k1, r[4], i;
    if (c != s->x0 || d - c != s->cols) s->n = 0; /* other columns: nothing to keep */
    k0 = a > s->y0 ? a : s->y0;
    k1 = b < s->y0 + s->n ? b : s->y0 + s->n;
    if (k0 >= k1) k0 = k1 = b; /* nothing kept: read [a, b) */
    if (!fcn__mul((size_t)(b - a), row, &need)) return fcn__fail(err, FCN_ERR_OVERFLOW, "image rows too large");
    if (need > s->cap) {
        float *w = FCN__CAST(float *, fcn__alloc(need, sizeof(float)));
        if (!w) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory for %lu image rows", (unsigned long)(b - a));
        if (k0 < k1) memcpy(w + (size_t)(k0 - a) * row, s->win + (size_t)(k0 - s->y0) * row, (size_t)(k1 - k0) * row * sizeof(float));
        FCN_FREE(s->win);
        s->win = w;
        s->cap = need;
    } else if (k0 < k1) {
        memmove(s->win + (size_t)(k0 - a) * row, s->win + (size_t)(k0 - s->y0) * row, (size_t)(k1 - k0) * row * sizeof(float));
    }
    s->y0 = a;
    s->n = b - a;
    s->x0 = c;
    s->cols = d - c;
    r[0] = a, r[1] = k0, r[2] = k1, r[3] = b; /* the rows to read: [a, k0) and [k1, b) */
    for (i = 0; i < 4; i += 2) {
        int rc;
        if (r[i] >= r[i + 1]) continue;
        rc = s->read(s->user, r[i], r[i + 1] - r[i], c, d - c, s->win + (size_t)(r[i] - a) * row);
        if (rc != 0) {
            s->n = 0;
            return fcn__fail(err, FCN_ERR_IO, "the read callback returned %d for image rows %d..%d, columns %d..%d", rc,
                             r[i], r[i + 1] - 1, c, d - 1);
        }
    }
    return FCN_OK;
}

/* Makes the window hold every image pixel that rows [y0, y1) x columns [x0, x1) of the
   bordered image read (image coordinates, so the border is outside 0..h-1, 0..w-1).
   Nothing to do for an image in memory. */
static fcn_status fcn__source_need(const fcn__job *j, int y0, int y1, int x0, int x1, fcn_error *err)
{
    int a = INT_MAX, b = -1, c = INT_MAX, d = -1, i, v;
    if (!j->src) return FCN_OK;
    for (i = y0; i < y1; i++)
        if ((v = fcn__border_index(i, j->h, j->border)) >= 0) a = v < a ? v : a, b = v > b ? v : b;
    for (i = x0; i < x1; i++)
        if ((v = fcn__border_index(i, j->w, j->border)) >= 0) c = v < c ? v : c, d = v > d ? v : d;
    if (b < 0 || d < 0) return FCN_OK; /* only the zero border */
    return fcn__window(j, j->src, a, b + 1, c, d + 1, err);
}

/* A stream's finished rows [y0, y1) of the rectangle, rw x K floats each, to the
   caller, their NaNs made the one NaN as fcn_map's are. */
static fcn_status fcn__emit(const fcn__job *j, int y0, int y1, float *rows, fcn_error *err)
{
    int rc;
    fcn__nan_canon(rows, (size_t)(y1 - y0) * (size_t)j->rw * (size_t)fcn_net_outputs(j->net));
    rc = j->write(j->user, y0, y1 - y0, rows);
    return rc ? fcn__fail(err, FCN_ERR_IO, "the write callback returned %d for map rows %d..%d", rc, y0, y1 - 1)
              : FCN_OK;
}

#define FCN__BAND 16 /* output rows per band: the dense path's step, a stream's unit */

/* >>sliding
   The reference, to read next to the slides: cut the window around an output pixel,
   run the network on it one layer at a time (planar buffers, zero padding and clipped
   pool windows by bounds checks), keep the K outputs. Rows of the map are shared out
   over the team; each thread has its own two buffers. */

/* The input transform of one sample, one rounding per operation (see THE ARITHMETIC
   CONTRACT: a compiler that keeps float intermediates wider would round once). */
static float fcn__transform(const fcn_net *net, int c, float v)
{
    float d = v - net->mean[c];
    d = d * net->scale;
    return d;
}

/* Cuts rows [y0, y0+ch) x columns [x0, x0+cw) of the bordered image (bordered
   coordinates), applies the input transform and stores it planar (C, ch, cw). */
static void fcn__cut(const fcn__job *j, int y0, int x0, int ch, int cw, float *dst)
{
    const fcn_net *net = j->net;
    int c, y, x, C = net->input.c;
    size_t plane = (size_t)ch * (size_t)cw;
    for (y = 0; y < ch; y++) {
        int iy = fcn__border_index(y0 + y - j->top, j->h, j->border), wx = 0;
        const float *row = iy < 0 ? NULL : fcn__image_row(j, iy, &wx);
        for (x = 0; x < cw; x++) {
            int ix = fcn__border_index(x0 + x - j->left, j->w, j->border);
            for (c = 0; c < C; c++) {
                float v = (iy < 0 || ix < 0) ? 0.0f : row[(size_t)(ix - wx) * (size_t)C + (size_t)c];
                dst[(size_t)c * plane + (size_t)y * (size_t)cw + (size_t)x] = fcn__transform(net, c, v);
            }
        }
    }
}

/* Where (c, y, x) of a planar buffer of shape s is. */
static size_t fcn__at(fcn_shape s, int c, int y, int x)
{
    return ((size_t)c * (size_t)s.h + (size_t)y) * (size_t)s.w + (size_t)x;
}

/* Input (c, y, x) of layer L, 0 outside its input (the zero padding). */
static float fcn__x(const fcn__layer *L, const float *in, int c, int y, int x)
{
    return (y < 0 || y >= L->in.h || x < 0 || x >= L->in.w) ? 0.0f : in[fcn__at(L->in, c, y, x)];
}

/* Weight (o, c, ky, kx) of a convolution or fully connected layer. */
static float fcn__w(const fcn__layer *L, int o, int c, int ky, int kx)
{
    return L->w[(((size_t)o * (size_t)L->in.c + (size_t)c) * (size_t)L->d.kh + (size_t)ky) * (size_t)L->d.kw + (size_t)kx];
}

/* out(o, oy, ox) = bias(o), then + W(o, c, ky, kx) * X(c, iy, ix) for every input
   channel c, kernel row ky and column kx, in that order, one fmaf each. */
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
                            s = fmaf(fcn__w(L, o, c, ky, kx), fcn__x(L, in, c, iy, ix), s);
                        }
                out[fcn__at(L->out, o, oy, ox)] = s;
            }
}

/* Max: the first of equal values in row, column order; average: the sum in that order
   divided by the window clipped to the padded input (Caffe's count). */
static void fcn__patch_pool(const fcn__layer *L, const float *in, float *out)
{
    const fcn_layer *d = &L->d;
    int c, oy, ox, ky, kx;
    for (c = 0; c < L->in.c; c++)
        for (oy = 0; oy < L->out.h; oy++)
            for (ox = 0; ox < L->out.w; ox++) {
                int y0 = oy * d->stride - d->pad, x0 = ox * d->stride - d->pad;
                int ye = y0 + d->kh < L->in.h + d->pad ? y0 + d->kh : L->in.h + d->pad;
                int xe = x0 + d->kw < L->in.w + d->pad ? x0 + d->kw : L->in.w + d->pad;
                float s = 0.0f, m = 0.0f;
                int first = 1;
                for (ky = y0; ky < y0 + d->kh; ky++)
                    for (kx = x0; kx < x0 + d->kw; kx++) {
                        float x;
                        if (ky < 0 || ky >= L->in.h || kx < 0 || kx >= L->in.w) continue;
                        x = in[fcn__at(L->in, c, ky, kx)];
                        if (first || x > m) m = x;
                        first = 0;
                        s += x;
                    }
                out[fcn__at(L->out, c, oy, ox)] = d->type == FCN_LAYER_MAXPOOL ? m : s / (float)((ye - y0) * (xe - x0));
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
    fcn__job *job;
    float *out;  /* rows [r0, ...) of the rectangle */
    int r0;
    float **buf; /* per thread: two buffers of the largest layer */
} fcn__sliding;

/* Row r0 + r of the rectangle: every pixel's window, cut and run. */
static void fcn__sliding_row(void *vctx, size_t r, int tid)
{
    fcn__sliding *s = FCN__CAST(fcn__sliding *, vctx);
    fcn__job *j = s->job;
    const fcn_net *net = j->net;
    int K = fcn_net_outputs(net), i = j->ry + s->r0 + (int)r, x, k;
    float *a = s->buf[2 * tid], *b = s->buf[2 * tid + 1];
    if (fcn__stopped(&j->prog)) return;
    for (x = 0; x < j->rw; x++) {
        const float *y;
        fcn__cut(j, i * j->stride, (j->rx + x) * j->stride, net->input.h, net->input.w, a);
        y = fcn__patch_run(net, a, b);
        for (k = 0; k < K; k++) s->out[(r * (size_t)j->rw + (size_t)x) * (size_t)K + (size_t)k] = y[k];
    }
    fcn__progress_add(&j->prog, 1);
}

/* The rectangle's rows over the team: all at once into out (fcn_map), or a stream's
   bands of FCN__BAND rows, each read (the windows of its pixels), computed into a
   band of output and handed to the write callback. */
static fcn_status fcn__sliding_map(fcn__job *j, float *out, fcn_error *err)
{
    fcn__sliding s;
    fcn__team team;
    size_t big = fcn__largest_layer(j->net);
    const fcn_shape in = j->net->input;
    fcn_status st = FCN_OK;
    int t, r1, band = j->write ? FCN__BAND : j->rh, sd = j->stride;
    fcn__team_start(&team, j->threads);
    s.job = j;
    s.out = j->write ? FCN__CAST(float *, fcn__alloc((size_t)band * (size_t)j->rw, (size_t)fcn_net_outputs(j->net) * sizeof(float))) : out;
    s.buf = FCN__CAST(float **, fcn__alloc(2 * (size_t)team.n, sizeof(float *)));
    if (s.buf) {
        memset(s.buf, 0, 2 * (size_t)team.n * sizeof(float *));
        for (t = 0; t < 2 * team.n; t++)
            if (!(s.buf[t] = FCN__CAST(float *, fcn__alloc(big, sizeof(float))))) break;
    }
    if (!s.out || !s.buf || t < 2 * team.n) st = fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    for (s.r0 = 0; s.r0 < j->rh && st == FCN_OK; s.r0 = r1) {
        r1 = j->rh - s.r0 < band ? j->rh : s.r0 + band;
        st = fcn__source_need(j, (j->ry + s.r0) * sd - j->top, (j->ry + r1 - 1) * sd + in.h - j->top,
                              j->rx * sd - j->left, (j->rx + j->rw - 1) * sd + in.w - j->left, err);
        if (st != FCN_OK) break;
        fcn__team_run(&team, (size_t)(r1 - s.r0), fcn__sliding_row, &s);
        if (j->prog.stop) st = fcn__fail(err, FCN_ERR_CANCELLED, "cancelled by the progress callback");
        else if (j->write) st = fcn__emit(j, s.r0, r1, s.out, err);
    }
    fcn__team_stop(&team);
    if (s.buf)
        for (t = 0; t < 2 * team.n; t++) FCN_FREE(s.buf[t]);
    FCN_FREE(s.buf);
    if (j->write) FCN_FREE(s.out);
    return st;
}

/* >>plan
   The dense path's plan. Every layer is computed once over the rectangle's bordered crop. A layer's output is
   kept on a grid of step g (in crop pixels): g = gcd(s, D), D the product of the strides
   up to and including the layer, s the output stride; with s = 1 that is every pixel,
   the "a trous" form. A layer reads its input grid with taps 'dil' apart (the product
   of earlier strides, in input-grid units) and output points 'step' apart. */
typedef struct fcn__dlayer {
    int in_h, in_w, out_h, out_w; /* grid sizes */
    int step, dil;
    int g; /* output grid step, in crop pixels */
} fcn__dlayer;

typedef struct fcn__plan {
    fcn__dlayer *l; /* one per layer */
    int ch, cw;     /* the crop: rows and columns of the bordered image that are read */
    size_t big;     /* the largest layer's buffer, floats */
} fcn__plan;

static int fcn__gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Plans the grid of every layer (into d->l, allocated by the caller) for an rh x rw
   rectangle at output stride s. p->big, the largest layer's whole grid (the OpenCL
   path's buffers; the CPU path keeps rings of rows), is SIZE_MAX where it does not fit
   in a size_t (a 32-bit machine): too big for any buffer, so that the callers split
   the rectangle into pieces rather than fail. */
static fcn_status fcn__dense_plan(const fcn_net *net, int rh, int rw, int s, fcn__plan *p, fcn_error *err)
{
    int i, g_in = 1;
    long d_in = 1, dmod = 1 % s; /* product of the strides so far (capped), and it mod s */
    size_t m, v;
    p->ch = (rh - 1) * s + net->input.h; /* (rh - 1) * s < image side: no overflow */
    p->cw = (rw - 1) * s + net->input.w;
    if (!fcn__mul((size_t)p->ch, (size_t)p->cw, &m) || !fcn__mul(m, (size_t)net->input.c, &m)) m = SIZE_MAX;
    for (i = 0; i < net->n; i++) {
        const fcn__layer *L = &net->layers[i];
        fcn__dlayer *d = &p->l[i];
        int spatial = L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC || fcn__is_pool(L->d.type);
        int stride = spatial ? L->d.stride : 1, g_out;
        long d_out = d_in * stride;
        if (d_out > FCN__MAX_PATCH) d_out = FCN__MAX_PATCH + 1; /* then it spans one unit */
        dmod = dmod * stride % s;
        /* a layer that ends at 1x1 for one patch is wanted only at the output pixels */
        g_out = (L->out.h == 1 && L->out.w == 1) ? s : fcn__gcd(s, (int)dmod);
        /* grid points up to the last output pixel's window: (r-1)*s + (n-1)*D pixels */
        d->in_h = (int)(((long)(rh - 1) * s + (L->in.h - 1) * (L->in.h > 1 ? d_in : 0)) / g_in + 1);
        d->in_w = (int)(((long)(rw - 1) * s + (L->in.w - 1) * (L->in.w > 1 ? d_in : 0)) / g_in + 1);
        d->out_h = (int)(((long)(rh - 1) * s + (L->out.h - 1) * (L->out.h > 1 ? d_out : 0)) / g_out + 1);
        d->out_w = (int)(((long)(rw - 1) * s + (L->out.w - 1) * (L->out.w > 1 ? d_out : 0)) / g_out + 1);
        d->step = g_out / g_in;
        d->g = g_out;
        d->dil = (L->d.kh > 1 || L->d.kw > 1) ? (int)(d_in / g_in) : 1;
        if (spatial) {
            /* the reads stay inside the input grid (guaranteed by the patch shapes) */
            if ((long)(d->out_h - 1) * d->step + (long)(L->d.kh - 1) * d->dil > d->in_h - 1 ||
                (long)(d->out_w - 1) * d->step + (long)(L->d.kw - 1) * d->dil > d->in_w - 1)
                return fcn__fail(err, FCN_ERR_UNSUPPORTED, "layer %d (%s): internal planning error", i + 1,
                                 fcn_layer_name(L->d.type));
        } else {
            d->step = d->dil = 1;
        }
        if (!fcn__mul((size_t)d->out_h, (size_t)d->out_w, &v) || !fcn__mul(v, (size_t)L->out.c, &v)) v = SIZE_MAX;
        if (v > m) m = v;
        d_in = d_out;
        g_in = g_out;
    }
    p->big = m;
    return FCN_OK;
}

/* >>kernels
   The dense convolution's register-blocked micro-kernel, written once as a macro over a
   vector type: MB output maps x NV vectors of output pixels stay in registers while the
   taps run in the contract's order (channel, kernel row, kernel column), each tap one
   fused multiply-add per accumulator; a relu that follows is applied as the block is
   stored (the same x > 0 ? x : x * slope per lane). Several families, one per
   instruction set, all giving the same bits (an fma is an fma):

     portable  plain C, fmaf per lane (always compiled; FCN_KERNEL_PORTABLE)
     avx2+fma  x86-64, 6 maps x 2 vectors of 8: 12 accumulators + 2 inputs + 1 weight
               fill 15 of the 16 ymm registers (the 4 x 3 block before it left no
               register for the inputs and reloaded them per fma: 45% of the AVX2 peak
               on the talk's n4 against 75% for 6 x 2 then, Zen 4, one core)
     avx512f   x86-64, 6 maps x 4 vectors of 16: 24 of the 32 zmm registers
     neon      AArch64, 6 maps x 4 vectors of 4: 24 of the 32 q registers

   On x86-64 with gcc or clang every family is compiled whatever -march says, each
   function with a target attribute, and the CPU is asked at run time (fcn__cpu_has, per
   map: no global state), so that a plain -O2 build runs the AVX2 or AVX-512 kernels on
   a CPU that has them. Elsewhere a family is compiled only where the compiler already
   targets it (-mavx2 -mfma, -mavx512f, AArch64). FCN_NO_SIMD compiles the portable
   family only. The blocks are unrolled by the preprocessor (FCN__EACH), not left to the
   optimiser, so that -O2 keeps the accumulators in registers as -O3 does. A build whose
   own flags enable AVX-512 (-march=native on such a CPU) compiles the AVX2 functions
   with AVX-512VL too (a target attribute adds to the build's ISA): there they may use 32
   registers. Each family also has the 2x2 max pool at step 1 (FCN__POOL2). */
#if defined(__GNUC__) || defined(__clang__) /* a hint: integer arithmetic, never a pointer past its array */
#define FCN__PREFETCH(p, floats) __builtin_prefetch((const void *)((uintptr_t)(p) + 4u * (size_t)(floats)))
#else
#define FCN__PREFETCH(p, floats) ((void)0)
#endif

/* S once for each I = 0 .. N-1 (N <= 8, a constant), I an integer constant in S: the
   preprocessor unrolls, and the dead copies (I >= N) index element 0, never past. */
#define FCN__EACH(N, I, S)                                  \
    do {                                                    \
        FCN__EACH1(N, I, 0, S) FCN__EACH1(N, I, 1, S)       \
        FCN__EACH1(N, I, 2, S) FCN__EACH1(N, I, 3, S)       \
        FCN__EACH1(N, I, 4, S) FCN__EACH1(N, I, 5, S)       \
        FCN__EACH1(N, I, 6, S) FCN__EACH1(N, I, 7, S)       \
    } while (0)
#define FCN__EACH1(N, I, K, S)                              \
    if ((K) < (N)) {                                        \
        enum { I = (K) < (N) ? (K) : 0 };                   \
        S;                                                  \
    }

/* What a kernel call computes: the rows of the input ring (buf, one slot offset per
   kernel row, channels ld floats apart), the layer's shape, its biases from the first
   map of the block, the block's output rows, and an optional relu slope. */
typedef struct fcn__karg {
    const float *buf;
    const size_t *slot;
    size_t ld;
    int C, kh, kw, dil;
    int c0, c1;        /* the channels of this call: from c0 = 0 the sums start at the bias,
                          else they continue from what out holds */
    const float *bias;
    float *const *out;
    const float *relu; /* NULL: the raw sums; else relu with this slope as they are stored */
} fcn__karg;

typedef void (*fcn__kern)(const fcn__karg *a, const float *w, int x0);
#define FCN__L1 16384 /* bytes of L1 a kernel call's channels may fill: half of a 32 KB L1 */
/* The kernels prefetch the next kernel row's span only for kernels 4 or more wide: with
   the channels in L2-sized chunks, a 3-wide row (n4's fc over 3x3) has too few taps to
   hide it, and the AVX2 map took 4% longer with it; w49's and n4's 4x4 and 5x5 rows gain
   2-3% (Zen 4) */
#define FCN__PF_KW 4

/* ATTR: the function's target attribute (or nothing). RELU(v, slope vector): the
   relu of a vector, lane by lane exactly as fcn__relu. */
#define FCN__KERNEL(NAME, ATTR, VT, VW, MB, NV, LOAD, STORE, SET1, FMA, RELU)                             \
    ATTR static void NAME(const fcn__karg *a, const float *w, int x0)                                     \
    {                                                                                                     \
        VT acc[MB][NV], in[NV];                                                                           \
        const float *buf = a->buf + x0;                                                                   \
        const size_t *slot = a->slot;                                                                     \
        size_t ld = a->ld;                                                                                \
        int c, ky, kx, kh = a->kh, kw = a->kw, dil = a->dil, pf;                                          \
        if (a->c0 == 0)                                                                                   \
            FCN__EACH(MB, m_, FCN__EACH(NV, v_, acc[m_][v_] = SET1(a->bias[m_])));                        \
        else                                                                                              \
            FCN__EACH(MB, m_, FCN__EACH(NV, v_, acc[m_][v_] = LOAD(a->out[m_] + x0 + v_ * VW)));          \
        for (c = a->c0; c < a->c1; c++) {                                                                 \
            const float *pc = buf + (size_t)c * ld;                                                       \
            for (ky = 0; ky < kh; ky++) {                                                                 \
                const float *p = pc + slot[ky];                                                           \
                /* this row of the next channel, kh rows ahead (FCN__PF_KW) */                            \
                if (kw >= FCN__PF_KW)                                                                     \
                    for (pf = 0; pf < NV * VW + (kw - 1) * dil; pf += 16) FCN__PREFETCH(p, ld + (size_t)pf); \
                for (kx = 0; kx < kw; kx++, p += dil, w += MB) {                                          \
                    FCN__EACH(NV, v_, in[v_] = LOAD(p + v_ * VW));                                        \
                    FCN__EACH(MB, m_, {                                                                   \
                        VT wv = SET1(w[m_]);                                                              \
                        FCN__EACH(NV, v_, acc[m_][v_] = FMA(wv, in[v_], acc[m_][v_]));                    \
                    });                                                                                   \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
        if (a->relu && a->c1 == a->C) {                                                                   \
            VT slope = SET1(*a->relu);                                                                    \
            FCN__EACH(MB, m_, FCN__EACH(NV, v_, acc[m_][v_] = RELU(acc[m_][v_], slope)));                 \
        }                                                                                                 \
        FCN__EACH(MB, m_, FCN__EACH(NV, v_, STORE(a->out[m_] + x0 + v_ * VW, acc[m_][v_])));              \
    }

/* The 2x2 max pool at step 1 (the common pool, taps dil apart) over n floats, n a
   multiple of VW, in the order of fcn__unit_pool's plain loop: (0,0) (0,1) (1,0) (1,1),
   each step MAX(v, m) = v > m ? v : m lane by lane (equal values keep the first);
   then the optional relu. */
#define FCN__POOL2(NAME, ATTR, VT, VW, LOAD, STORE, SET1, MAX, RELU)                                      \
    ATTR static void NAME(float *dst, const float *a, const float *b, size_t dil, size_t n, const float *relu) \
    {                                                                                                     \
        size_t x;                                                                                         \
        VT slope = SET1(relu ? *relu : 0.0f);                                                             \
        for (x = 0; x < n; x += VW) {                                                                     \
            VT m = MAX(LOAD(a + x + dil), LOAD(a + x));                                                   \
            m = MAX(LOAD(b + x), m);                                                                      \
            m = MAX(LOAD(b + x + dil), m);                                                                \
            if (relu) m = RELU(m, slope);                                                                 \
            STORE(dst + x, m);                                                                            \
        }                                                                                                 \
    }

/* The three sizes of a family: blocks of MB maps, pairs and single maps (for the maps
   left over), each for 1 .. NV vectors; the 2x2 max pool; then the family's table. */
#define FCN__FAMILY(P, ATTR, VT, VW, MB, NV, LOAD, STORE, SET1, FMA, RELU, MAX)                           \
    FCN__KERNEL(P##_b1, ATTR, VT, VW, MB, 1, LOAD, STORE, SET1, FMA, RELU)                                \
    FCN__KERNEL(P##_b2, ATTR, VT, VW, MB, (2 <= NV ? 2 : 1), LOAD, STORE, SET1, FMA, RELU)                  \
    FCN__KERNEL(P##_b3, ATTR, VT, VW, MB, (3 <= NV ? 3 : 1), LOAD, STORE, SET1, FMA, RELU)                  \
    FCN__KERNEL(P##_b4, ATTR, VT, VW, MB, (4 <= NV ? 4 : 1), LOAD, STORE, SET1, FMA, RELU)                  \
    FCN__KERNEL(P##_p1, ATTR, VT, VW, 2, 1, LOAD, STORE, SET1, FMA, RELU)                                 \
    FCN__KERNEL(P##_p2, ATTR, VT, VW, 2, (2 <= NV ? 2 : 1), LOAD, STORE, SET1, FMA, RELU)                   \
    FCN__KERNEL(P##_p3, ATTR, VT, VW, 2, (3 <= NV ? 3 : 1), LOAD, STORE, SET1, FMA, RELU)                   \
    FCN__KERNEL(P##_p4, ATTR, VT, VW, 2, (4 <= NV ? 4 : 1), LOAD, STORE, SET1, FMA, RELU)                   \
    FCN__KERNEL(P##_s1, ATTR, VT, VW, 1, 1, LOAD, STORE, SET1, FMA, RELU)                                 \
    FCN__KERNEL(P##_s2, ATTR, VT, VW, 1, (2 <= NV ? 2 : 1), LOAD, STORE, SET1, FMA, RELU)                   \
    FCN__KERNEL(P##_s3, ATTR, VT, VW, 1, (3 <= NV ? 3 : 1), LOAD, STORE, SET1, FMA, RELU)                   \
    FCN__KERNEL(P##_s4, ATTR, VT, VW, 1, (4 <= NV ? 4 : 1), LOAD, STORE, SET1, FMA, RELU)                   \
    FCN__POOL2(P##_pool2, ATTR, VT, VW, LOAD, STORE, SET1, MAX, RELU)                                     \
    static const fcn__kfamily P = {MB, NV, VW, {P##_b1, P##_b2, P##_b3, P##_b4},                          \
                                   {P##_p1, P##_p2, P##_p3, P##_p4}, {P##_s1, P##_s2, P##_s3, P##_s4},    \
                                   P##_pool2};

/* A kernel family: blocks of mb maps, pairs and single maps, up to nv (<= 4) vectors of
   vw pixels; index: vectors - 1. */
typedef struct fcn__kfamily {
    int mb, nv, vw;
    fcn__kern block[4], pair[4], single[4];
    void (*pool2)(float *dst, const float *a, const float *b, size_t dil, size_t n, const float *relu);
} fcn__kfamily;

/* The portable vector: 8 floats in a struct, every operation an fmaf per lane. */
typedef struct fcn__pv {
    float f[8];
} fcn__pv;
static fcn__pv fcn__pv_load(const float *p)
{
    fcn__pv r;
    memcpy(r.f, p, sizeof r.f);
    return r;
}
static void fcn__pv_store(float *p, fcn__pv v) { memcpy(p, v.f, sizeof v.f); }
static fcn__pv fcn__pv_set1(float x)
{
    fcn__pv r;
    int i;
    for (i = 0; i < 8; i++) r.f[i] = x;
    return r;
}
static fcn__pv fcn__pv_fma(fcn__pv a, fcn__pv b, fcn__pv c)
{
    int i;
    for (i = 0; i < 8; i++) c.f[i] = fmaf(a.f[i], b.f[i], c.f[i]);
    return c;
}
static fcn__pv fcn__pv_relu(fcn__pv v, fcn__pv slope)
{
    int i;
    for (i = 0; i < 8; i++) v.f[i] = fcn__relu(v.f[i], slope.f[0]);
    return v;
}
static fcn__pv fcn__pv_max(fcn__pv v, fcn__pv m)
{
    int i;
    for (i = 0; i < 8; i++) m.f[i] = v.f[i] > m.f[i] ? v.f[i] : m.f[i];
    return m;
}
/* portable block: 4 maps x 2 vectors of 8 pixels */
FCN__FAMILY(fcn__kf_portable, , fcn__pv, 8, 4, 2, fcn__pv_load, fcn__pv_store, fcn__pv_set1, fcn__pv_fma,
            fcn__pv_relu, fcn__pv_max)

/* Which SIMD families this build has (FCN__X86_DISPATCH: chosen at run time). */
#if !defined(FCN_NO_SIMD) && defined(__x86_64__) && !defined(__TINYC__) &&                              \
    (defined(__clang__) || (defined(__GNUC__) && (__GNUC__ > 4 || (__GNUC__ == 4 && __GNUC_MINOR__ >= 9))))
#define FCN__X86_DISPATCH
#define FCN__HAVE_AVX2
#define FCN__HAVE_AVX512
#define FCN__AVX2_ATTR __attribute__((target("avx2,fma")))
#define FCN__AVX512_ATTR __attribute__((target("avx512f,avx2,fma")))
#elif !defined(FCN_NO_SIMD) && defined(__x86_64__)
#if defined(__AVX2__) && defined(__FMA__)
#define FCN__HAVE_AVX2
#define FCN__AVX2_ATTR
#endif
#if defined(__AVX512F__)
#define FCN__HAVE_AVX512
#define FCN__AVX512_ATTR
#endif
#elif !defined(FCN_NO_SIMD) && defined(__aarch64__) && defined(__ARM_NEON)
#define FCN__HAVE_NEON
#endif

#if defined(FCN__HAVE_AVX2) || defined(FCN__HAVE_AVX512)
#include <immintrin.h>
#endif
#ifdef FCN__HAVE_AVX2
FCN__AVX2_ATTR static __m256 fcn__avx2_relu(__m256 v, __m256 slope)
{
    return _mm256_blendv_ps(_mm256_mul_ps(v, slope), v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
}
/* _mm256_max_ps(v, m) is v > m ? v : m, lane by lane (Intel's MAXPS), NaNs and zeros included */
FCN__FAMILY(fcn__kf_avx2, FCN__AVX2_ATTR, __m256, 8, 6, 2, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_set1_ps,
            _mm256_fmadd_ps, fcn__avx2_relu, _mm256_max_ps)
#endif
#ifdef FCN__HAVE_AVX512
FCN__AVX512_ATTR static __m512 fcn__avx512_relu(__m512 v, __m512 slope)
{
    return _mm512_mask_mov_ps(_mm512_mul_ps(v, slope), _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
}
/* v > m ? v : m, written out: gcc 12's _mm512_max_ps reads an "undefined" vector that g++
   -Wall reports as uninitialised */
FCN__AVX512_ATTR static __m512 fcn__avx512_max(__m512 v, __m512 m)
{
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ), v);
}
FCN__FAMILY(fcn__kf_avx512, FCN__AVX512_ATTR, __m512, 16, 6, 4, _mm512_loadu_ps, _mm512_storeu_ps,
            _mm512_set1_ps, _mm512_fmadd_ps, fcn__avx512_relu, fcn__avx512_max)
#endif
#ifdef FCN__HAVE_NEON
#include <arm_neon.h>
#define fcn__neon_fma(a, b, c) vfmaq_f32(c, a, b) /* fused: c + a*b, one rounding */
static float32x4_t fcn__neon_relu(float32x4_t v, float32x4_t slope)
{
    return vbslq_f32(vcgtq_f32(v, vdupq_n_f32(0.0f)), v, vmulq_f32(v, slope));
}
/* not vmaxq_f32: FMAX returns +0 for (+0, -0) and NaN for any NaN; this is v > m ? v : m */
static float32x4_t fcn__neon_max(float32x4_t v, float32x4_t m) { return vbslq_f32(vcgtq_f32(v, m), v, m); }
FCN__FAMILY(fcn__kf_neon, , float32x4_t, 4, 6, 4, vld1q_f32, vst1q_f32, vdupq_n_f32, fcn__neon_fma, fcn__neon_relu,
            fcn__neon_max)
#endif

/* Whether this build, on this CPU, can run kernel family k (AUTO and PORTABLE always).
   On x86-64 gcc and clang ask the CPU through __builtin_cpu_supports, which reads what
   libgcc's (or compiler-rt's) constructor found before main, the OS's saving of the
   wide registers included: nothing is set lazily here. */
static int fcn__cpu_has(fcn_kernel k)
{
    switch (k) {
    case FCN_KERNEL_AUTO:
    case FCN_KERNEL_PORTABLE: return 1;
#ifdef FCN__HAVE_AVX2
#ifdef FCN__X86_DISPATCH
    case FCN_KERNEL_AVX2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    case FCN_KERNEL_AVX2: return 1;
#endif
#endif
#ifdef FCN__HAVE_AVX512
#ifdef FCN__X86_DISPATCH
    case FCN_KERNEL_AVX512: return __builtin_cpu_supports("avx512f");
#else
    case FCN_KERNEL_AVX512: return 1;
#endif
#endif
#ifdef FCN__HAVE_NEON
    case FCN_KERNEL_NEON: return 1;
#endif
    default: return 0;
    }
}

/* What FCN_KERNEL_AUTO runs: the widest family this CPU has. */
static fcn_kernel fcn__kernel_auto(void)
{
    static const fcn_kernel order[] = {FCN_KERNEL_AVX512, FCN_KERNEL_AVX2, FCN_KERNEL_NEON};
    size_t i;
    for (i = 0; i < sizeof order / sizeof order[0]; i++)
        if (fcn__cpu_has(order[i])) return order[i];
    return FCN_KERNEL_PORTABLE;
}

FCNDEF int fcn_kernel_available(fcn_kernel k) { return (unsigned)k < (unsigned)FCN_KERNEL_COUNT && fcn__cpu_has(k); }

FCNDEF const char *fcn_kernel_name(fcn_kernel k)
{
    static const char *const names[FCN_KERNEL_COUNT] = {"auto", "portable", "avx2+fma", "avx512f", "neon"};
    if (k == FCN_KERNEL_AUTO) k = fcn__kernel_auto();
    return (unsigned)k < (unsigned)FCN_KERNEL_COUNT ? names[k] : "unknown";
}

FCNDEF const char *fcn_simd_name(void)
{
    fcn_kernel k = fcn__kernel_auto();
    return k == FCN_KERNEL_PORTABLE ? "none" : fcn_kernel_name(k);
}

/* The family that kernel choice k (checked by fcn__job_init) runs here. */
static const fcn__kfamily *fcn__kfamily_of(fcn_kernel k)
{
    if (k == FCN_KERNEL_AUTO) k = fcn__kernel_auto();
    switch (k) {
#ifdef FCN__HAVE_AVX2
    case FCN_KERNEL_AVX2: return &fcn__kf_avx2;
#endif
#ifdef FCN__HAVE_AVX512
    case FCN_KERNEL_AVX512: return &fcn__kf_avx512;
#endif
#ifdef FCN__HAVE_NEON
    case FCN_KERNEL_NEON: return &fcn__kf_neon;
#endif
    default: return &fcn__kf_portable;
    }
}

/* >>stream
   The dense path streams the rectangle from top to bottom in bands of output rows
   (a stream too wide for one tile: in strips, fcn__stream_map).
   Each stage (the input, then every convolution, pool or fc layer with the pointwise
   layers after it) keeps only a ring of the rows the next stage still needs, so its
   memory does not grow with the image's height; a rectangle too wide for the memory
   budget is split into column tiles, each mapped on its own (exact: a tile is a
   sub-rectangle). A band runs in passes (one, once the pipeline is full: fcn__pass);
   within a pass the stages run in order, each stage's rows spread over the threads in
   units of (group of map blocks, row), row r first to thread r % n (fcn__team_take). */
typedef struct fcn__stage {
    const fcn__layer *L;   /* NULL for the input stage */
    const fcn__dlayer *p;  /* its plan */
    int post0, post1;      /* pointwise layers [post0, post1) applied to its rows */
    int softmax;           /* the last of them is a softmax */
    int C, H, W;           /* channels, grid rows and columns */
    int fast;              /* runs on the register-blocked kernels (step 1) */
    const float *relu;     /* fast, or a 2x2 max pool at step 1: its pointwise layers are one
                              relu (and dropouts), this slope, which the kernels apply as
                              they store */
    size_t ld;             /* floats from one channel's row to the next (padded width) */
    int R;                 /* rows in the ring */
    float *buf;            /* R slots, each C rows of ld floats, 64-byte aligned */
    float *wpack;          /* weights in blocks of mb maps, tap-major */
    int lo, hi;            /* rows computed in the current band */
} fcn__stage;

typedef struct fcn__stream {
    fcn__job *job;
    const fcn_net *net;
    int top, left;   /* bordered coordinates of the crop's first pixel */
    int ns;          /* stages */
    fcn__stage *st;
    const fcn__kfamily *ks; /* the kernels */
    int cur;         /* the stage being computed */
    int threads;     /* in the team */
    size_t units;    /* of the current stage's band */
    int fuse;        /* its units also compute their rows of the next stage, a 1x1 layer */
    size_t *scratch; /* per thread: kh slot offsets */
    int maxkh;
} fcn__stream;

static float *fcn__row(const fcn__stage *s, int c, int y)
{
    return s->buf + ((size_t)(y % s->R) * (size_t)s->C + (size_t)c) * s->ld;
}

static size_t fcn__round_up(size_t x, size_t m) { return (x + m - 1) / m * m; }

/* Elementwise pointwise layers (every one but softmax) on n values. */
static void fcn__post(const fcn_net *net, const fcn__stage *s, float *v, size_t n)
{
    int i;
    for (i = s->post0; i < s->post1; i++)
        if (net->layers[i].d.type != FCN_LAYER_SOFTMAX) fcn__pointwise(&net->layers[i].d, v, n, 1);
}

static void fcn__unit_input(fcn__stream *S, const fcn__stage *s, int y)
{
    const fcn__job *j = S->job;
    const fcn_net *net = S->net;
    int c, x, C = net->input.c, wx = 0;
    int iy = fcn__border_index(S->top + y, j->h, j->border);
    const float *row = iy < 0 ? NULL : fcn__image_row(j, iy, &wx); /* the source: array or window */
    for (c = 0; c < C; c++) {
        float *dst = fcn__row(s, c, y);
        for (x = 0; x < s->W; x++) {
            int ix = fcn__border_index(S->left + x, j->w, j->border);
            float v = (iy < 0 || ix < 0) ? 0.0f : row[(size_t)(ix - wx) * (size_t)C + (size_t)c];
            dst[x] = fcn__transform(net, c, v);
        }
        fcn__post(net, s, dst, (size_t)s->W);
    }
}

/* The maps of a convolution come in pieces: blocks of mb, then pairs, then a single
   map. Piece p: its first map, its size, and its weights (packed by fcn__pack). */
static int fcn__pieces(const fcn__kfamily *k, int maps) { return maps / k->mb + maps % k->mb / 2 + maps % k->mb % 2; }

static int fcn__piece(const fcn__kfamily *k, const fcn__stage *s, int p, int *mb, const float **w)
{
    const fcn__layer *L = s->L;
    size_t taps = (size_t)L->in.c * (size_t)L->d.kh * (size_t)L->d.kw;
    int blocks = L->out.c / k->mb, pairs = L->out.c % k->mb / 2;
    if (p < blocks) {
        *mb = k->mb;
        *w = s->wpack + (size_t)p * (size_t)k->mb * taps;
        return p * k->mb;
    }
    if (p < blocks + pairs) {
        *mb = 2;
        *w = s->wpack + ((size_t)blocks * (size_t)k->mb + 2 * (size_t)(p - blocks)) * taps;
        return blocks * k->mb + 2 * (p - blocks);
    }
    *mb = 1;
    *w = L->w + (size_t)(L->out.c - 1) * taps; /* a single map: the layer's own layout */
    return L->out.c - 1;
}

/* Fast convolution: pieces [p0, p1) of the maps of row y, every vector block of the row. */
static void fcn__unit_conv_fast(fcn__stream *S, const fcn__stage *in, const fcn__stage *s, int y, int p0, int p1,
                                 int tid)
{
    const fcn__layer *L = s->L;
    const fcn__kfamily *k = S->ks;
    size_t *slot = S->scratch + (size_t)tid * (size_t)S->maxkh;
    float *out[8];
    const float *w;
    fcn__karg a;
    int ky, m, p, x0, step = k->nv * k->vw, cb;
    a.buf = in->buf;
    a.slot = slot;
    a.ld = in->ld;
    a.C = L->in.c;
    a.kh = L->d.kh;
    a.kw = L->d.kw;
    a.dil = s->p->dil;
    a.out = out;
    a.relu = s->relu;
    /* channels in chunks of cb: a block's sums go through out between chunks (the same
       fmas in the same order; a float stored and loaded is the same float), so that a
       chunk's weights and input window (per channel: mb x kh x kw weights, kh rows of a
       block's span) stay in L1 while a piece sweeps the row, and the chunk's input rows in
       L2 while every piece of the unit sweeps them: 5-8% on the talk's nets (AVX2, Zen 4) */
    {
        size_t per = ((size_t)k->mb * (size_t)a.kw + (size_t)(step + (a.kw - 1) * a.dil)) * (size_t)a.kh * sizeof(float);
        cb = per < FCN__L1 ? (int)(FCN__L1 / per) : 1;
    }
    for (ky = 0; ky < a.kh; ky++) slot[ky] = (size_t)((y + ky * a.dil) % in->R) * (size_t)in->C * in->ld;
    for (a.c0 = 0; a.c0 < a.C; a.c0 = a.c1) {
        a.c1 = a.c0 + cb < a.C ? a.c0 + cb : a.C;
        for (p = p0; p < p1; p++) {
            int mb, m0 = fcn__piece(k, s, p, &mb, &w);
            const fcn__kern *kern = mb == 1 ? k->single : mb == 2 ? k->pair : k->block;
            for (m = 0; m < mb; m++) out[m] = fcn__row(s, m0 + m, y);
            a.bias = L->b + m0;
            for (x0 = 0; x0 < s->W; x0 += step) {
                int nv = (s->W - x0 + k->vw - 1) / k->vw;
                if (nv > k->nv) nv = k->nv;
                kern[nv - 1](&a, w + (size_t)a.c0 * (size_t)(a.kh * a.kw * mb), x0);
            }
        }
    }
    if (!s->relu)
        for (p = p0; p < p1; p++) {
            int mb, m0 = fcn__piece(k, s, p, &mb, &w);
            for (m = 0; m < mb; m++) fcn__post(S->net, s, fcn__row(s, m0 + m, y), (size_t)s->W);
        }
}

/* Convolution with an output step > 1 (output stride s > 1): one map of one row. */
static void fcn__unit_conv_generic(fcn__stream *S, const fcn__stage *in, const fcn__stage *s, int y, int o)
{
    const fcn__layer *L = s->L;
    int C = L->in.c, kh = L->d.kh, kw = L->d.kw, step = s->p->step, dil = s->p->dil, c, ky, kx, x;
    float *acc = fcn__row(s, o, y);
    const float *w = L->w + (size_t)o * (size_t)C * (size_t)kh * (size_t)kw;
    for (x = 0; x < s->W; x++) acc[x] = L->b[o];
    for (c = 0; c < C; c++)
        for (ky = 0; ky < kh; ky++) {
            const float *row = fcn__row(in, c, y * step + ky * dil);
            for (kx = 0; kx < kw; kx++) {
                const float wv = *w++;
                const float *src = row + (size_t)kx * (size_t)dil;
                for (x = 0; x < s->W; x++) acc[x] = fmaf(wv, src[(size_t)x * (size_t)step], acc[x]);
            }
        }
    fcn__post(S->net, s, acc, (size_t)s->W);
}

/* Whether stage s is the common pool that the kernel families run (FCN__POOL2). */
static int fcn__pool2(const fcn__stage *s)
{
    return s->L && s->L->d.type == FCN_LAYER_MAXPOOL && s->L->d.kh == 2 && s->L->d.kw == 2 && s->p->step == 1;
}

/* Pooling: every channel of row y (a row of a pool is too little work to share). */
static void fcn__unit_pool(fcn__stream *S, const fcn__stage *in, const fcn__stage *s, int y)
{
    const fcn__layer *L = s->L;
    int kh = L->d.kh, kw = L->d.kw, step = s->p->step, dil = s->p->dil, ky, kx, x, c;
    float n = (float)(kh * kw);
    for (c = 0; c < s->C; c++) {
        float *dst = fcn__row(s, c, y);
        if (fcn__pool2(s)) {
            /* the common 2x2 pool in one pass (>>kernels), whole vectors: the rows are padded */
            S->ks->pool2(dst, fcn__row(in, c, y), fcn__row(in, c, y + dil), (size_t)dil,
                         fcn__round_up((size_t)s->W, (size_t)S->ks->vw), s->relu);
            if (s->relu) continue;
        } else if (L->d.type == FCN_LAYER_MAXPOOL) {
            const float *src = fcn__row(in, c, y * step);
            for (x = 0; x < s->W; x++) dst[x] = src[(size_t)x * (size_t)step];
            for (ky = 0; ky < kh; ky++) {
                src = fcn__row(in, c, y * step + ky * dil);
                for (kx = ky == 0; kx < kw; kx++)
                    for (x = 0; x < s->W; x++) {
                        float v = src[(size_t)x * (size_t)step + (size_t)kx * (size_t)dil];
                        dst[x] = v > dst[x] ? v : dst[x];
                    }
            }
        } else {
            for (x = 0; x < s->W; x++) dst[x] = 0.0f;
            for (ky = 0; ky < kh; ky++) {
                const float *src = fcn__row(in, c, y * step + ky * dil);
                for (kx = 0; kx < kw; kx++)
                    for (x = 0; x < s->W; x++) dst[x] += src[(size_t)x * (size_t)step + (size_t)kx * (size_t)dil];
            }
            for (x = 0; x < s->W; x++) dst[x] = dst[x] / n;
        }
        fcn__post(S->net, s, dst, (size_t)s->W);
    }
}

static void fcn__softmax_row(const fcn__stage *s, int y)
{
    float *row = fcn__row(s, 0, y);
    int x;
    for (x = 0; x < s->W; x++) fcn__softmax(row + x, s->ld, s->C);
}

/* The map pieces of a row are split into groups, one unit each: whole rows when there
   are enough rows to give every thread 8 units (each core then reads a row's input
   once), smaller groups otherwise, so that the threads finish a band together. */
static int fcn__groups(const fcn__stream *S, const fcn__stage *s)
{
    int pieces = fcn__pieces(S->ks, s->C), rows = s->hi - s->lo;
    int g = (8 * S->threads + rows - 1) / rows;
    return g < 1 ? 1 : g > pieces ? pieces : g;
}

/* How many units the current stage's band has, and what unit u is. */
static size_t fcn__stage_units(const fcn__stream *S, const fcn__stage *s)
{
    size_t rows = (size_t)(s->hi - s->lo);
    if (!s->L || fcn__is_pool(s->L->d.type)) return rows;
    if (s->fast) return rows * (size_t)fcn__groups(S, s);
    return rows * (size_t)s->C;
}

static void fcn__stage_unit(void *ctx, size_t u, int tid)
{
    fcn__stream *S = FCN__CAST(fcn__stream *, ctx);
    const fcn__stage *s = &S->st[S->cur], *in = s - 1;
    size_t per_row = S->units / (size_t)(s->hi - s->lo);
    int y = s->lo + (int)(u / per_row), j = (int)(u % per_row); /* a row's units together: its input stays in cache */
    if (!s->L) fcn__unit_input(S, s, y);
    else if (fcn__is_pool(s->L->d.type)) fcn__unit_pool(S, in, s, y);
    else if (!s->fast) fcn__unit_conv_generic(S, in, s, y, j);
    else {
        int pieces = fcn__pieces(S->ks, s->C), groups = (int)per_row;
        fcn__unit_conv_fast(S, in, s, y, j * pieces / groups, (j + 1) * pieces / groups, tid);
    }
    if (per_row == 1) { /* the whole row: finish it while it is in this core's cache */
        if (s->softmax) fcn__softmax_row(s, y);
        if (S->fuse) {
            fcn__unit_conv_fast(S, s, s + 1, y, 0, fcn__pieces(S->ks, s[1].C), tid);
            if (s[1].softmax) fcn__softmax_row(s + 1, y);
        }
    }
}

static void fcn__stage_softmax(void *ctx, size_t u, int tid)
{
    fcn__stream *S = FCN__CAST(fcn__stream *, ctx);
    const fcn__stage *s = &S->st[S->cur];
    (void)tid;
    fcn__softmax_row(s, s->lo + (int)u);
}

/* The slope of the one relu among layers [i0, i1) if the others are dropouts, else NULL. */
static const float *fcn__only_relu(const fcn_net *net, int i0, int i1)
{
    const float *slope = NULL;
    int i;
    for (i = i0; i < i1; i++) {
        const fcn_layer *d = &net->layers[i].d;
        if (d->type == FCN_LAYER_RELU && !slope) slope = &d->slope;
        else if (d->type != FCN_LAYER_DROPOUT) return NULL;
    }
    return slope;
}

/* Splits the net into stages for a plan. Returns the number of stages. */
static int fcn__stages(const fcn_net *net, const fcn__plan *plan, fcn__stage *st)
{
    int i, n = 0;
    memset(&st[0], 0, sizeof st[0]);
    st[0].C = net->input.c;
    st[0].H = plan->ch;
    st[0].W = plan->cw;
    st[0].post0 = st[0].post1 = 0;
    for (i = 0; i < net->n; i++) {
        const fcn__layer *L = &net->layers[i];
        if (L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC || fcn__is_pool(L->d.type)) {
            fcn__stage *s = &st[++n];
            memset(s, 0, sizeof *s);
            s->L = L;
            s->p = &plan->l[i];
            s->C = L->out.c;
            s->H = plan->l[i].out_h;
            s->W = plan->l[i].out_w;
            s->post0 = s->post1 = i + 1;
            s->fast = !fcn__is_pool(L->d.type) && plan->l[i].step == 1;
        } else {
            st[n].post1 = i + 1;
            if (L->d.type == FCN_LAYER_SOFTMAX) st[n].softmax = 1;
        }
    }
    for (i = 1; i <= n; i++)
        st[i].relu = st[i].fast || fcn__pool2(&st[i]) ? fcn__only_relu(net, st[i].post0, st[i].post1) : NULL;
    return n + 1;
}

/* Rows of stage s-1 that stage s needs to have computed its rows [0, rows). */
static int fcn__rows_needed(const fcn__stage *s, int rows)
{
    return (rows - 1) * s->p->step + (s->L->d.kh - 1) * s->p->dil + 1;
}

/* The rows every stage needs for a band of output rows [r0, r1). q: grid rows per
   output row. */
static void fcn__band_need(const fcn__stage *st, int ns, int r1, int q, int *need)
{
    int i;
    need[ns - 1] = (r1 - 1) * q + 1;
    for (i = ns - 1; i > 0; i--) need[i - 1] = fcn__rows_needed(&st[i], need[i]);
}

/* One pass through the stages: stage i computes its rows [done[i], to[i]), at most
   'band' of them and only those its input has (its input stage runs first in the same
   pass). A band takes one pass once the pipeline is full; the first takes several, so
   that no stage ever holds more than about a band plus its reader's halo: computing
   the first band's rows of every stage at once would make the early rings ~6x larger. */
static void fcn__pass(const fcn__stage *st, int ns, const int *need, const int *done, int band, int *to)
{
    int i;
    for (i = 0; i < ns; i++) {
        int t = need[i] - done[i] < band ? need[i] : done[i] + band;
        if (i > 0) {
            int span = (st[i].L->d.kh - 1) * st[i].p->dil + 1; /* input rows of one row */
            int avail = to[i - 1] < span ? 0 : (to[i - 1] - span) / st[i].p->step + 1;
            if (avail < t) t = avail;
        }
        to[i] = t > done[i] ? t : done[i];
    }
}

/* Plans the bands: sets every stage's ring size and padded width for bands of 'band'
   output rows, and returns the scratch bytes (0 on overflow: it allocates nothing, so 0
   means nothing else). q: grid rows per output row; work: 3 ns ints. */
static size_t fcn__stream_layout(fcn__stage *st, int ns, int rh, int q, int band, int *work)
{
    int i, r0, *done = work, *need = work + ns, *to = work + 2 * ns;
    size_t bytes = 0, v;
    for (i = 0; i < ns; i++) {
        st[i].R = 1;
        done[i] = 0;
        /* padded width: full vectors written, and the next stage's reads past its last vector */
        st[i].ld = fcn__round_up((size_t)st[i].W, 16);
        if (i + 1 < ns && (st[i + 1].fast || fcn__pool2(&st[i + 1]))) {
            size_t reach = fcn__round_up((size_t)st[i + 1].W, 16) + (size_t)(st[i + 1].L->d.kw - 1) * (size_t)st[i + 1].p->dil;
            if (reach > st[i].ld) st[i].ld = fcn__round_up(reach, 16);
        }
    }
    for (r0 = 0; r0 < rh; r0 += band) {
        fcn__band_need(st, ns, r0 + band < rh ? r0 + band : rh, q, need);
        while (done[ns - 1] < need[ns - 1]) {
            fcn__pass(st, ns, need, done, band, to);
            for (i = 0; i < ns; i++) {
                /* rows held: from the oldest one still read (by the next stage, or the output) */
                int oldest = i + 1 < ns ? done[i + 1] * st[i + 1].p->step : r0 * q;
                int held = to[i] - (oldest < done[i] ? oldest : done[i]);
                if (held > st[i].R) st[i].R = held;
                done[i] = to[i];
            }
        }
    }
    for (i = 0; i < ns; i++) {
        if (!fcn__mul((size_t)st[i].R * (size_t)st[i].C, st[i].ld, &v) || v > SIZE_MAX / 8 - bytes) {
            bytes = 0;
            break;
        }
        bytes += v * sizeof(float);
    }
    return bytes;
}

/* The dense scratch: one block for every stage's ring. On Linux, where madvise and
   MADV_HUGEPAGE are declared, a block of 8 MB or more starts on a 2 MB boundary and
   asks for transparent huge pages: the rings are touched all over every band, and with
   4 KB pages a 512x512 map spent ~6% of its time in page faults and more in TLB misses.
   The 2 MB of alignment slack is address space, never touched, but counted in the
   budget (options.max_memory). FCN_NO_HUGEPAGES turns this off. */
#if defined(__linux__) && defined(MADV_HUGEPAGE) && !defined(FCN_NO_HUGEPAGES)
#define FCN__HUGE ((size_t)2 << 20)
#endif

static size_t fcn__scratch_align(size_t bytes)
{
#ifdef FCN__HUGE
    if (bytes >= 4 * FCN__HUGE) return FCN__HUGE;
#endif
    (void)bytes;
    return 64;
}

static float *fcn__scratch(size_t bytes, void **mem)
{
    size_t align = fcn__scratch_align(bytes);
    uintptr_t at;
    *mem = bytes <= SIZE_MAX - align ? FCN_MALLOC(bytes + align) : NULL;
    if (!*mem) return NULL;
    at = ((uintptr_t)*mem + align - 1) / align * align;
#ifdef FCN__HUGE
    if (align == FCN__HUGE) (void)madvise((void *)at, bytes / 4096 * 4096, MADV_HUGEPAGE); /* advice only */
#endif
    return (float *)at;
}

/* Packs a convolution's weights for the kernels: blocks of mb maps, then pairs of the
   maps left over, each as [block][channel][row][col][map] (a last single map keeps the
   layer's own layout). */
static float *fcn__pack(const fcn__layer *L, int mb)
{
    size_t taps = (size_t)L->in.c * (size_t)L->d.kh * (size_t)L->d.kw, t, at = 0;
    int m0 = 0, b, m;
    float *p = FCN__CAST(float *, fcn__alloc((size_t)L->out.c, taps * sizeof(float)));
    if (!p) return NULL;
    while (L->out.c - m0 >= 2) {
        b = L->out.c - m0 >= mb ? mb : 2;
        for (t = 0; t < taps; t++)
            for (m = 0; m < b; m++) p[at++] = L->w[(size_t)(m0 + m) * taps + t];
        m0 += b;
    }
    return p;
}

/* One column tile of the rectangle: its plan, its stages and their rings. */
typedef struct fcn__tile {
    fcn__plan plan;
    fcn__stage *st;
    int ns;       /* stages */
    int q;        /* grid rows per output row */
    int rows;     /* output rows planned: the rectangle's, or a strip's */
    size_t bytes; /* of the rings */
    int *work;    /* 3 ints per stage, for fcn__stream_layout */
} fcn__tile;

/* Plans a column tile tw wide over 'rows' output rows. FCN_ERR_OVERFLOW: its rings'
   bytes do not fit in a size_t (a wide tile on a 32-bit machine). */
static fcn_status fcn__tile_plan_rows(const fcn__job *j, int rows, int tw, fcn__tile *t, fcn_error *err)
{
    fcn_status status = fcn__dense_plan(j->net, rows, tw, j->stride, &t->plan, err);
    if (status != FCN_OK) return status;
    t->ns = fcn__stages(j->net, &t->plan, t->st);
    t->q = j->stride / (t->ns > 1 ? t->st[t->ns - 1].p->g : 1);
    t->rows = rows;
    t->bytes = fcn__stream_layout(t->st, t->ns, rows, t->q, FCN__BAND, t->work);
    return t->bytes ? FCN_OK
                    : fcn__fail(err, FCN_ERR_OVERFLOW, "dense path: the buffers of a %d-column tile overflow", tw);
}

/* Plans a column tile tw wide over the whole rectangle's height. */
static fcn_status fcn__tile_plan(const fcn__job *j, int tw, fcn__tile *t, fcn_error *err)
{
    return fcn__tile_plan_rows(j, j->rh, tw, t, err);
}

/* Whether tiles tw wide fit the budget, the alignment slack included. Rings too large
   to count fit no budget: that is not an error while narrower tiles are left to try. */
static fcn_status fcn__tile_fits(const fcn__job *j, int tw, fcn__tile *t, int *fits, fcn_error *err)
{
    fcn_status status = fcn__tile_plan(j, tw, t, err);
    *fits = status == FCN_OK && t->bytes + fcn__scratch_align(t->bytes) <= j->budget;
    return status == FCN_ERR_OVERFLOW && tw > 1 ? FCN_OK : status;
}

/* The fewest column tiles whose rings fit the budget (each tile recomputes the window's
   overlap at its edges): halve the width until it fits (or is one column; the first
   probe is the whole width, which may overflow on a 32-bit machine: then halve too),
   search between that and the last width that did not fit for the widest that does,
   then share the columns out evenly. */
static fcn_status fcn__tile_width(const fcn__job *j, fcn__tile *t, int *tw, fcn_error *err)
{
    int w, wide, fits, lo, hi;
    fcn_status status;
    for (w = j->rw, wide = 0;; wide = w, w = (w + 1) / 2) {
        if ((status = fcn__tile_fits(j, w, t, &fits, err)) != FCN_OK) return status;
        if (fits || w == 1) break;
    }
    *tw = w;
    if (!wide) return FCN_OK;
    lo = w, hi = wide; /* lo fits (or is 1), hi does not */
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if ((status = fcn__tile_fits(j, mid, t, &fits, err)) != FCN_OK) return status;
        if (fits) lo = mid;
        else hi = mid;
    }
    *tw = (j->rw + (j->rw + lo - 1) / lo - 1) / ((j->rw + lo - 1) / lo);
    return FCN_OK;
}

/* Packs every convolution's weights for the kernels (wpack[i], NULL for other layers)
   and sizes the per-thread scratch. */
static fcn_status fcn__stream_pack(fcn__stream *S, float **wpack, fcn_error *err)
{
    const fcn_net *net = S->net;
    int i;
    S->maxkh = 1;
    for (i = 0; i < net->n; i++) {
        const fcn__layer *L = &net->layers[i];
        if (L->d.kh > S->maxkh) S->maxkh = L->d.kh;
        if ((L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC) && L->out.c >= 2) {
            wpack[i] = fcn__pack(L, S->ks->mb);
            if (!wpack[i]) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory for packed weights");
        }
    }
    return FCN_OK;
}

/* Lays the tile's rings out in one scratch block (*mem, to free). */
static fcn_status fcn__tile_rings(fcn__stream *S, fcn__tile *t, float *const *wpack, void **mem, fcn_error *err)
{
    fcn__stage *st = t->st;
    float *ring = fcn__scratch(t->bytes, mem);
    int i;
    if (!ring)
        return fcn__fail(err, FCN_ERR_NOMEM, "out of memory for %lu bytes of dense scratch", (unsigned long)t->bytes);
    for (i = 0; i < t->ns; i++) {
        size_t n = (size_t)st[i].R * (size_t)st[i].C * st[i].ld, row;
        st[i].buf = ring; /* each ring starts on a cache line: ld is a multiple of 16 floats */
        ring += n;
        /* every row is written before it is read; the padding past W, which the last
           vectors read, is zero so that those (discarded) lanes stay finite */
        for (row = 0; row < (size_t)st[i].R * (size_t)st[i].C; row++)
            memset(st[i].buf + row * st[i].ld + st[i].W, 0, (st[i].ld - (size_t)st[i].W) * sizeof(float));
        if (st[i].L) st[i].wpack = wpack[st[i].L - S->net->layers];
    }
    return FCN_OK;
}

/* Runs stage i's rows [lo, hi) on the team; returns how many stages it ran (2 when the
   next one, a 1x1 layer on the same rows, ran fused in the same units: fc 2 after fc
   200, its input still in cache, one step fewer). */
static int fcn__stage_run(fcn__stream *S, fcn__team *team, int i, int lo, int hi, int next_lo, int next_hi)
{
    fcn__stage *s = &S->st[i];
    size_t rows = (size_t)(hi - lo);
    int whole;
    s->lo = lo;
    s->hi = hi;
    S->cur = i;
    S->units = fcn__stage_units(S, s);
    whole = S->units == rows;
    S->fuse = whole && i + 1 < S->ns && s[1].fast && s[1].L->d.kh == 1 && s[1].L->d.kw == 1 && next_lo == lo &&
              next_hi == hi;
    fcn__team_rows(team, rows, S->units / rows, lo, fcn__stage_unit, S);
    if (s->softmax && !whole) fcn__team_rows(team, rows, 1, lo, fcn__stage_softmax, S);
    return S->fuse ? 2 : 1;
}

/* Computes what the output rows up to r1 need, in the passes the layout planned. The
   input stage's rows are read first (a stream's window, on the calling thread). */
static fcn_status fcn__band_run(fcn__stream *S, fcn__team *team, int r1, int q, int *done, int *need, int *to,
                                fcn_error *err)
{
    int i, ns = S->ns;
    fcn_status status;
    fcn__band_need(S->st, ns, r1, q, need);
    while (done[ns - 1] < need[ns - 1]) {
        fcn__pass(S->st, ns, need, done, FCN__BAND, to);
        for (i = 0; i < ns;) {
            int k, ran;
            if (to[i] <= done[i]) {
                i++;
                continue;
            }
            if (i == 0 && (status = fcn__source_need(S->job, S->top + done[0], S->top + to[0], S->left,
                                                     S->left + S->st[0].W, err)) != FCN_OK)
                return status;
            ran = fcn__stage_run(S, team, i, done[i], to[i], i + 1 < ns ? done[i + 1] : 0, i + 1 < ns ? to[i + 1] : 0);
            for (k = 0; k < ran; k++) done[i + k] = to[i + k];
            i += ran;
        }
    }
    return FCN_OK;
}

/* Where a dense map's rows go: out holds rows [base, ...) of the rectangle, rw x K
   floats each (fcn_map: the whole rectangle, base 0). A stream's rows go on to the write
   callback: each band as soon as it is done when the rectangle is one tile wide (emit),
   else each strip once all its tiles are done. */
typedef struct fcn__sink {
    float *out;
    int base;
    int emit;
} fcn__sink;

/* Maps one column tile, tx0 from the rectangle's left, twi wide, over rows [y0, y0 +
   t->rows) of the rectangle (all of them, or a strip), band by band, into the sink. */
static fcn_status fcn__tile_map(fcn__stream *S, fcn__team *team, fcn__tile *t, float *const *wpack, int y0, int tx0,
                                int twi, int *work, fcn__sink *sink, fcn_error *err)
{
    fcn__job *j = S->job;
    int ns = t->ns, q = t->q, K = fcn_net_outputs(S->net), *done = work, *need = work + ns, *to = work + 2 * ns;
    int r0, y, x, k, i;
    void *mem = NULL;
    const fcn__stage *last = &t->st[ns - 1];
    fcn_status status = fcn__tile_rings(S, t, wpack, &mem, err);
    if (status != FCN_OK) return status;
    S->st = t->st;
    S->ns = ns;
    S->top = (j->ry + y0) * j->stride - j->top;
    S->left = (j->rx + tx0) * j->stride - j->left;
    for (i = 0; i < ns; i++) done[i] = 0;
    for (r0 = 0; r0 < t->rows && status == FCN_OK; r0 += FCN__BAND) {
        int r1 = r0 + FCN__BAND < t->rows ? r0 + FCN__BAND : t->rows;
        if ((status = fcn__band_run(S, team, r1, q, done, need, to, err)) != FCN_OK) break;
        for (y = r0; y < r1; y++) {
            float *dst = sink->out + ((size_t)(y0 + y - sink->base) * (size_t)j->rw + (size_t)tx0) * (size_t)K;
            for (k = 0; k < K; k++) {
                const float *src = fcn__row(last, k, y * q);
                for (x = 0; x < twi; x++) dst[(size_t)x * (size_t)K + (size_t)k] = src[(size_t)x * (size_t)q];
            }
        }
        fcn__progress_add(&j->prog, r1 - r0);
        if (j->prog.stop) status = fcn__fail(err, FCN_ERR_CANCELLED, "cancelled by the progress callback");
        else if (sink->emit && (status = fcn__emit(j, y0 + r0, y0 + r1, sink->out, err)) == FCN_OK)
            sink->base = y0 + r1;
    }
    FCN_FREE(mem);
    return status;
}

/* Output rows per strip of a stream wider than one tile (its rows can go out only once
   every tile has computed them): as many whole bands as max_memory holds, at least one. */
static int fcn__strip_rows(const fcn__job *j)
{
    size_t row = (size_t)j->rw * (size_t)fcn_net_outputs(j->net) * sizeof(float);
    size_t n = j->budget / row / FCN__BAND * FCN__BAND;
    if (n < FCN__BAND) n = FCN__BAND;
    return n >= (size_t)j->rh ? j->rh : (int)n;
}

/* The dense path: the job's rectangle in column tiles that fit the budget. fcn_map maps
   each tile over the whole height into out. A stream whose rectangle is one tile wide
   does the same and hands out each band; a wider one goes in strips of
   fcn__strip_rows rows, each strip's tiles in turn (recomputing the rows above the
   strip that its first rows read), so that rows go out in order. */
static fcn_status fcn__stream_map(fcn__job *j, float *out, fcn_error *err)
{
    const fcn_net *net = j->net;
    fcn__stream S;
    fcn__tile t;
    fcn__sink sink;
    float **wpack;
    int *work, i, tw, tx0, y0, tiles, strip, rows, started = 0;
    fcn__team team;
    fcn_status status = FCN_OK;

    memset(&S, 0, sizeof S);
    memset(&sink, 0, sizeof sink);
    S.job = j;
    S.net = net;
    S.ks = fcn__kfamily_of(j->kernel);
    t.plan.l = FCN__CAST(fcn__dlayer *, fcn__alloc((size_t)net->n, sizeof *t.plan.l));
    t.st = FCN__CAST(fcn__stage *, fcn__alloc((size_t)net->n + 1, sizeof *t.st));
    wpack = FCN__CAST(float **, fcn__alloc((size_t)net->n, sizeof *wpack));
    work = FCN__CAST(int *, fcn__alloc(3 * ((size_t)net->n + 1), sizeof(int))); /* done, need, to per stage */
    if (wpack) memset(wpack, 0, (size_t)net->n * sizeof *wpack); /* freed at done */
    if (!t.plan.l || !t.st || !wpack || !work) {
        status = fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    t.work = work;
    if ((status = fcn__tile_width(j, &t, &tw, err)) != FCN_OK) goto done;
    tiles = (j->rw + tw - 1) / tw;
    strip = j->write && tiles > 1 ? fcn__strip_rows(j) : j->rh;
    sink.out = out;
    sink.emit = j->write && tiles == 1;
    if (j->write) { /* a band, or a strip, of output rows */
        rows = tiles > 1 ? strip : j->rh < FCN__BAND ? j->rh : FCN__BAND;
        sink.out = FCN__CAST(float *, fcn__alloc((size_t)rows * (size_t)j->rw, (size_t)fcn_net_outputs(net) * sizeof(float)));
        if (!sink.out) {
            status = fcn__fail(err, FCN_ERR_NOMEM, "out of memory for %d rows of output", rows);
            goto done;
        }
    }
    if ((status = fcn__stream_pack(&S, wpack, err)) != FCN_OK) goto done;
    fcn__team_start(&team, j->threads);
    started = 1;
    S.threads = team.n;
    S.scratch = FCN__CAST(size_t *, fcn__alloc((size_t)team.n * (size_t)S.maxkh, sizeof(size_t)));
    if (!S.scratch) {
        status = fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
        goto done;
    }
    j->prog.total = (long)j->rh * (long)tiles;
    for (y0 = 0; y0 < j->rh && status == FCN_OK; y0 += strip) {
        rows = j->rh - y0 < strip ? j->rh - y0 : strip;
        sink.base = y0;
        for (tx0 = 0; tx0 < j->rw && status == FCN_OK; tx0 += tw) {
            int twi = j->rw - tx0 < tw ? j->rw - tx0 : tw;
            if ((status = fcn__tile_plan_rows(j, rows, twi, &t, err)) != FCN_OK) break;
            status = fcn__tile_map(&S, &team, &t, wpack, y0, tx0, twi, work, &sink, err);
        }
        if (status == FCN_OK && j->write && !sink.emit) status = fcn__emit(j, y0, y0 + rows, sink.out, err);
    }
done:
    if (started) fcn__team_stop(&team);
    if (wpack)
        for (i = 0; i < net->n; i++) FCN_FREE(wpack[i]);
    if (j->write) FCN_FREE(sink.out);
    FCN_FREE(S.scratch);
    FCN_FREE(wpack);
    FCN_FREE(work);
    FCN_FREE(t.st);
    FCN_FREE(t.plan.l);
    return status;
}

/* >>map
   The public map functions: sizes, the map itself on either path (whole, or streamed
   through the caller's callbacks), the column tile width, and its cost. */
FCNDEF fcn_status fcn_map_size(const fcn_net *net, int h, int w, const fcn_options *opt, int *out_h,
                               int *out_w, fcn_error *err)
{
    fcn__job j;
    fcn_status st = fcn__job_init(net, NULL, h, w, opt, &j, err);
    if (st != FCN_OK) return st;
    if (out_h) *out_h = j.rh;
    if (out_w) *out_w = j.rw;
    fcn__ok(err);
    return FCN_OK;
}

/* Runs a checked job on its path: into out (fcn_map), or to the job's write callback;
   the map's NaNs made the one NaN (fcn__nan_canon; a stream's rows as they go out). */
static fcn_status fcn__map_run(fcn__job *j, float *out, fcn_error *err)
{
    fcn_status st;
    int dense = j->path == FCN_PATH_DENSE;
    fcn__progress_start(&j->prog, dense ? 0 : j->rh);
    st = dense ? fcn__stream_map(j, out, err) : fcn__sliding_map(j, out, err);
    fcn__progress_done(&j->prog);
    if (st != FCN_OK) return st;
    if (out) fcn__nan_canon(out, (size_t)j->rh * (size_t)j->rw * (size_t)fcn_net_outputs(j->net));
    fcn__ok(err);
    return FCN_OK;
}

FCNDEF fcn_status fcn_map(const fcn_net *net, const float *image, int h, int w, const fcn_options *opt,
                          float *out, fcn_error *err)
{
    fcn__job j;
    int dense = !opt || opt->path == FCN_PATH_DENSE;
    fcn_status st = fcn__job_map(net, image, h, w, opt, out, dense, &j, err);
    return st != FCN_OK ? st : fcn__map_run(&j, out, err);
}

FCNDEF fcn_status fcn_map_stream(const fcn_net *net, int h, int w, const fcn_options *opt, fcn_read_fn read,
                                 fcn_write_fn write, void *user, fcn_error *err)
{
    fcn__job j;
    fcn__source src;
    fcn_status st = fcn__job_init(net, NULL, h, w, opt, &j, err);
    if (st != FCN_OK) return st;
    if (!read || !write) return fcn__fail(err, FCN_ERR_ARG, "read or write callback is NULL");
    if (j.path == FCN_PATH_DENSE && (st = fcn_net_dense_check(net, err)) != FCN_OK) return st;
    memset(&src, 0, sizeof src);
    src.read = read;
    src.user = user;
    j.src = &src;
    j.write = write;
    j.user = user;
    st = fcn__map_run(&j, NULL, err);
    FCN_FREE(src.win);
    return st;
}

FCNDEF fcn_status fcn_map_tile_width(const fcn_net *net, int h, int w, const fcn_options *opt, int *cols,
                                     fcn_error *err)
{
    fcn__job j;
    fcn__tile t;
    int tw = 0;
    fcn_status st = fcn__job_init(net, NULL, h, w, opt, &j, err);
    if (st != FCN_OK) return st;
    if (j.path == FCN_PATH_SLIDING) {
        tw = j.rw;
    } else {
        if ((st = fcn_net_dense_check(net, err)) != FCN_OK) return st;
        t.plan.l = FCN__CAST(fcn__dlayer *, fcn__alloc((size_t)net->n, sizeof *t.plan.l));
        t.st = FCN__CAST(fcn__stage *, fcn__alloc((size_t)net->n + 1, sizeof *t.st));
        t.work = FCN__CAST(int *, fcn__alloc(3 * ((size_t)net->n + 1), sizeof(int)));
        st = t.plan.l && t.st && t.work ? fcn__tile_width(&j, &t, &tw, err)
                                        : fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
        FCN_FREE(t.plan.l);
        FCN_FREE(t.st);
        FCN_FREE(t.work);
        if (st != FCN_OK) return st;
    }
    if (cols) *cols = tw;
    fcn__ok(err);
    return FCN_OK;
}

FCNDEF fcn_status fcn_map_flops(const fcn_net *net, int h, int w, const fcn_options *opt,
                                double *sliding_per_layer, double *dense_per_layer, double *sliding_total,
                                double *dense_total, fcn_error *err)
{
    fcn__job j;
    fcn__plan plan;
    double st_sum = 0.0, dt_sum = 0.0;
    int i, dense;
    fcn_status st = fcn__job_init(net, NULL, h, w, opt, &j, err);
    if (st != FCN_OK) return st;
    plan.l = FCN__CAST(fcn__dlayer *, fcn__alloc((size_t)net->n, sizeof *plan.l));
    if (!plan.l) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    dense = fcn_net_dense_check(net, NULL) == FCN_OK;
    if (dense) st = fcn__dense_plan(net, j.rh, j.rw, j.stride, &plan, err);
    for (i = 0; i < net->n && st == FCN_OK; i++) {
        const fcn__layer *L = &net->layers[i];
        double per_out = 0.0, sl, de;
        if (L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC)
            per_out = 2.0 * L->in.c * L->d.kh * L->d.kw;
        else if (fcn__is_pool(L->d.type))
            per_out = (double)L->d.kh * L->d.kw;
        sl = per_out * L->out.c * L->out.h * L->out.w * (double)j.rh * j.rw;
        de = dense ? per_out * L->out.c * (double)plan.l[i].out_h * plan.l[i].out_w : 0.0;
        if (sliding_per_layer) sliding_per_layer[i] = sl;
        if (dense_per_layer) dense_per_layer[i] = de;
        st_sum += sl;
        dt_sum += de;
    }
    FCN_FREE(plan.l);
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
