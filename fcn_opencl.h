/* fcn_opencl.h - v0.1.0 - fcn.h's dense maps on OpenCL devices, same bits - MIT license

   The dense path of fcn.h (see fcn.h) run by OpenCL 1.2 kernels on a GPU or any other
   OpenCL device. Every network that fcn_map's dense path accepts, with the same options
   (border modes, output stride, sub-rectangle), gives the SAME MAP BIT FOR BIT as
   fcn_map on the CPU, or an error that says why it cannot.

   Do this in *one* C or C++ file, with fcn.h's implementation in the same file (the
   OpenCL path reuses its geometry, border and planning code):

       #define FCN_IMPLEMENTATION
       #define FCN_OPENCL_IMPLEMENTATION
       #include "fcn_opencl.h"          // includes fcn.h

   and link with -lOpenCL (the ICD loader, e.g. Debian's ocl-icd-opencl-dev; a driver
   such as pocl-opencl-icd or a GPU vendor's). Other files include "fcn_opencl.h" for
   the declarations. Build flags as for fcn.h (-ffp-contract=off, never -ffast-math).

   CONTENTS

   This comment: QUICK START, WHAT IT DOES AND DOES NOT, DEVICE CHOICE, THE ARITHMETIC
   CONTRACT ON A DEVICE, ERRORS, KERNELS, AUTOTUNING, ENVIRONMENT, CONFIGURATION
   MACROS, THE KERNEL SOURCE. Then the declarations, then the implementation (grep the
   anchor):

     >>source   the OpenCL program: opencl/fcn_prelude.cl, fcn.h's fcn-arith section,
                opencl/fcn.cl and opencl/fcn_tiled.cl, pasted
     >>errors   OpenCL error names and messages
     >>devices  listing devices and what each offers of the arithmetic contract
     >>context  fcn_cl_create: the device, its context and queue, the program's build
                (the tiled kernel's shapes, fcn__cl_tiles, are listed here)
     >>map      fcn_cl_map: the weights, pieces that fit the device, one kernel a layer
     >>tune     the tiled kernel's shape: set, cached, or timed; the cache file

   Where to start: to change a kernel, opencl/fcn.cl or opencl/fcn_tiled.cl (then `make
   opencl-embed`) and the host side of it under >>map; the plan each kernel runs is
   fcn.h's (>>plan).

   QUICK START

       fcn_error err;
       fcn_cl *cl = NULL;
       fcn_cl_options clo = {0};           // default device, or $FCN_OPENCL_DEVICE
       if (fcn_cl_create(&clo, &cl, &err) != FCN_OK) { puts(err.message); ... }
       fcn_options opt = {0};              // as for fcn_map: border, stride, rect
       ... fcn_map_size(net, h, w, &opt, &oh, &ow, &err), allocate map as for fcn_map ...
       if (fcn_cl_map(cl, net, image, h, w, &opt, map, &err) != FCN_OK) { puts(err.message); ... }
       fcn_cl_free(cl);                    // build it once, map many images with it

   WHAT IT DOES, AND DOES NOT

   - fcn_cl_create picks a device, checks that it can keep the arithmetic contract,
     creates a context and an in-order queue (or uses the caller's), and builds the
     kernels once (the build is the slow part: about 2 s on PoCL, 0.1 s when PoCL finds
     it in its cache); with the tiled kernel (GPUs) it also chooses that kernel's shape
     (AUTOTUNING). Keep the fcn_cl for the process's life.
   - fcn_cl_map uploads the network's weights and the bordered, transformed input
     (fcn.h's own code cuts it), runs one kernel per layer on fcn.h's dense plan (the
     same grids, steps and dilations as the C path), and reads the map back.
     opt->path, opt->threads, opt->max_memory and opt->kernel (the CPU paths') are
     ignored: the device always runs the dense algorithm, whose map equals the sliding
     path's. Networks the dense path refuses
     (padding, clipped ceil-mode pools: fcn_net_dense_check) are refused here too.
   - Large maps are computed in pieces: rectangles of the output (row bands, or tiles if
     one row is too big) whose layer buffers fit the device's largest allocation
     (CL_DEVICE_MAX_MEM_ALLOC_SIZE, at most a quarter of its memory), or the cap the
     caller sets (fcn_cl_options.max_alloc, $FCN_OPENCL_MAX_ALLOC). A rectangle of a map
     is exact, so the pieces give the same bits as one piece.
   - It never prints and never exits. A fcn_cl must be used by one thread at a time (its
     kernels hold arguments); a network may be shared.

   DEVICE CHOICE

   fcn_cl_options.device (or, if that is NULL or "", the environment variable
   FCN_OPENCL_DEVICE) is either an index in the list of fcn_cl_devices (platforms in
   the ICD loader's order, each platform's devices in order, counted from 0) or a
   case-insensitive substring of a device's name (then of its platform's or vendor's
   name). Without one: the first GPU that keeps the contract, else the first device that
   keeps it, else the first GPU, else the first device. fcn_cl_devices and
   fcn_cl_devices_text list them with what the contract needs (`fcn devices`).

   THE ARITHMETIC CONTRACT ON A DEVICE

   The rules are fcn.h's (THE ARITHMETIC CONTRACT at its top, which also names the
   kernels that keep each one); the kernels compile fcn.h's "fcn-arith" section
   verbatim. What a device must offer for them, in CL_DEVICE_SINGLE_FP_CONFIG: CL_FP_FMA
   (fused multiply-add), CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT (a correctly rounded
   divide) and CL_FP_DENORM (no flushing of subnormals), plus round to nearest,
   infinities and NaNs, OpenCL C 1.2 and the host's byte order. fcn_cl_create refuses a
   device that lacks any of them with FCN_ERR_DEVICE and a message naming what is
   missing, unless fcn_cl_options.allow_inexact is set (then maps may differ from the
   CPU's in the last bits, and fcn_cl_device_info.exact says 0).

   ERRORS

   Functions return an fcn_status; device failures are FCN_ERR_DEVICE with a message that
   names the OpenCL call and its error code (e.g. "clCreateBuffer: CL_MEM_OBJECT_
   ALLOCATION_FAILURE (-4)"). No ICD platform (clGetPlatformIDs returns -1001,
   CL_PLATFORM_NOT_FOUND_KHR, or no platforms) gives "no OpenCL platform ...". A kernel
   build failure gives the start of the build log in the message and the whole log in
   the caller's buffer fcn_cl_options.build_log if given. Out of device memory during a
   map retries with pieces half the size, down to one output row, before failing.
   (Without the ICD loader library itself the program does not start: it links
   -lOpenCL.)

   KERNELS

   Convolutions (and fully connected layers, convolutions over their whole input) have
   three kernels that give the same bits; fcn_cl_options.conv_kernel or FCN_OPENCL_CONV
   picks one, else it follows the device type:
     tiled   (GPUs) a dilated convolution is dil x dil undilated ones, one per residue
             class of the output grid modulo the dilation (so a block's inputs are
             dense whatever the dilation); a work-group takes a block of one class,
             e.g. 32x32 points and 16 maps, and each work item a register block of it,
             e.g. 4x4 points x 4 maps in 64 registers. Per slice of input channels the
             work-group stages the input samples the block reads and the block's
             weights in local memory; every work item accumulates from there, each of
             its outputs in the contract's order. The shape (register block and
             work-group) is one of fcn_cl_tile_count() candidates, chosen per device
             (AUTOTUNING); on GPUs the work-group shrinks to layers smaller than a
             block; always within CL_KERNEL_WORK_GROUP_SIZE,
             CL_DEVICE_MAX_WORK_ITEM_SIZES and CL_DEVICE_LOCAL_MEM_SIZE. A layer whose
             tile does not fit local memory runs the simple kernel.
     vector  (CPUs) each work item computes 4 to 16 consecutive outputs of two rows
             (CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT) for 4 or 8 maps in OpenCL vectors,
             weights reordered so that one tap's weights share a cache line: SIMD code
             on CPU drivers such as PoCL without relying on their work-item vectoriser.
     simple  one output point and 4 maps per work item, straight from global memory.
   Pools, activations, softmax and the final gather are simple kernels (pools have a
   vector form for CPUs). Off GPUs, work-group shapes do not depend on the image, so
   drivers that compile per work-group size (PoCL) compile each kernel once.

   AUTOTUNING

   The tiled kernel has fcn_cl_tile_count() shapes (fcn_cl_tile_name(i) says what
   shape i is; the program holds them all), which give the same bits: only the speed
   differs from device to device. fcn_cl_create takes, in this order: options.tile or
   FCN_OPENCL_TILE (a number, used as it is); else per options.tune or FCN_OPENCL_TUNE
   ("auto", "off", "nocache", "again"): with auto, the shape the cache file names if
   the file is valid; else every shape is timed once on a tuning layer (a 5x5
   convolution, 48 -> 48 maps, dilation 2, over a 256x256 grid on GPUs; 7.5 GFLOP a
   run, 4 runs a shape, so well under a second on a GPU, an estimate: GPU timings are
   not yet measured) and the fastest is used and written to the cache file.
   off uses a built-in default and touches no file; nocache times and writes nothing;
   again times and rewrites the file. fcn_cl_tuned says which shape, where it came
   from, every candidate's GFLOP/s and why a file was ignored or not written.

   The cache file, one per device and driver: opencl-tune-NAME-DRIVER.txt in
   options.tune_dir, else $FCN_OPENCL_CACHE, else $XDG_CACHE_HOME/fcn, else
   $HOME/.cache/fcn (folders are made as needed). A few text lines: the device, its
   platform, driver and version, a fingerprint of the program and its build options,
   the shape by number and name, the candidates' speeds, and a checksum of all that.
   A file that is corrupt (checksum), stale (another device, driver or program) or
   names no shape is ignored and rewritten; it is written atomically (fcn_file_*), so
   processes that start together on one machine (a Slurm array) read a whole file or
   none. Failing to write it is not an error (fcn_cl_tuned's note says why).

   ENVIRONMENT

       FCN_OPENCL_DEVICE     device index or name substring (when options.device is unset)
       FCN_OPENCL_MAX_ALLOC  cap on one device buffer in bytes, with an optional k, M or G
                             suffix (when options.max_alloc is 0): smaller pieces
       FCN_OPENCL_CONV       "simple", "tiled" or "vector": the convolution kernel (when
                             options.conv_kernel is 0)
       FCN_OPENCL_TILE       1 .. fcn_cl_tile_count(): the tiled kernel's shape, no tuning
                             (when options.tile is 0)
       FCN_OPENCL_TUNE       "auto", "off", "nocache" or "again" (when options.tune is 0)
       FCN_OPENCL_CACHE      the tuning cache's folder (when options.tune_dir is unset)
       POCL_CACHE_DIR        (PoCL's) where PoCL keeps compiled kernels; by default
                             ~/.cache/pocl. The first build of the program takes about
                             2 s on PoCL and each kernel's first run some more; later
                             processes load them from this cache (about 0.1 s).

   CONFIGURATION MACROS: those of fcn.h (FCN_STATIC applies to these functions too), and
   CL_TARGET_OPENCL_VERSION (default 120) before the OpenCL headers.

   THE KERNEL SOURCE

   opencl/fcn_prelude.cl, fcn.h's fcn-arith section, opencl/fcn.cl and
   opencl/fcn_tiled.cl are pasted below between the "fcn-opencl-source" lines by
   tools/embed_opencl.sh (`make opencl-embed`), as pieces under C99's 4095-character
   limit for a string literal, handed to clCreateProgramWithSource as they are, with
   fcn_tiled.cl's pieces once per register block after a few #define lines
   (fcn__cl_program_text). A test (tests/opencl/test_opencl_embed.sh) checks they are
   current.

   LICENSE: MIT, see the end of this file.
*/
#ifndef FCN_OPENCL_H
#define FCN_OPENCL_H

#include "fcn.h"

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One OpenCL device, as fcn_cl_devices lists it. */
typedef struct fcn_cl_device_info {
    int index;                /* what options.device and FCN_OPENCL_DEVICE take */
    int platform;             /* the platform's number, from 0 */
    char platform_name[128];
    char name[128];
    char vendor[128];
    char version[128];        /* CL_DEVICE_VERSION */
    char c_version[64];       /* CL_DEVICE_OPENCL_C_VERSION */
    int gpu, cpu;             /* CL_DEVICE_TYPE_GPU, _CPU */
    int fma;                  /* CL_FP_FMA */
    int correct_divide;       /* CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT */
    int denormals;            /* CL_FP_DENORM */
    int exact;                /* keeps the arithmetic contract: maps equal the CPU's */
    char inexact_why[160];    /* if not exact, what is missing */
    int is_default;           /* the device chosen when none is named */
    int compute_units;
    unsigned long long global_mem, max_alloc, local_mem; /* bytes */
    size_t max_work_group;
    char driver[64];          /* CL_DRIVER_VERSION (the tuning cache's key, with the name) */
    int clock_mhz;            /* CL_DEVICE_MAX_CLOCK_FREQUENCY */
} fcn_cl_device_info;

/* The convolution kernels (fcn_cl_options.conv_kernel); all give the same bits. */
typedef enum fcn_cl_conv {
    FCN_CL_CONV_AUTO = 0,   /* tiled on GPUs, vector on CPUs, simple on other devices */
    FCN_CL_CONV_SIMPLE = 1, /* one output point per work item, inputs from global memory */
    FCN_CL_CONV_TILED = 2,  /* register blocks; work-groups stage input tiles and weights in
                               local memory; shapes tuned per device (GPUs) */
    FCN_CL_CONV_VECTOR = 3  /* 4 to 16 consecutive output points per work item in a vector */
} fcn_cl_conv;

/* Options of fcn_cl_create. Zero-initialised means: the default device (or
   $FCN_OPENCL_DEVICE), exact devices only, pieces as large as the device allows. Read
   during the call, not kept. */
typedef struct fcn_cl_options {
    const char *device;        /* index ("1") or name substring ("nvidia"); NULL or "":
                                  $FCN_OPENCL_DEVICE, else the default */
    int allow_inexact;         /* 1: accept a device that cannot keep the contract */
    size_t max_alloc;          /* cap on one device buffer in bytes; 0: $FCN_OPENCL_MAX_ALLOC,
                                  else the device's limit */
    int conv_kernel;           /* an fcn_cl_conv; 0: $FCN_OPENCL_CONV (simple, tiled or
                                  vector), else the device type's default */
    const char *build_options; /* appended to the program's build options, or NULL */
    char *build_log;           /* optional: receives the whole build log (NUL-terminated, */
    size_t build_log_size;     /*   truncated to build_log_size) */
    cl_context context;        /* optional: the caller's context (device chosen among its
                                  devices); retained while the fcn_cl lives */
    cl_command_queue queue;    /* optional: the caller's queue (its device and context are
                                  used; in-order or not); retained while the fcn_cl lives */
    int tile;                  /* the tiled kernel's shape, 1 .. fcn_cl_tile_count(), used as
                                  it is; 0: $FCN_OPENCL_TILE, else tuned (tune) */
    int tune;                  /* an fcn_cl_tune; 0: $FCN_OPENCL_TUNE, else FCN_CL_TUNE_AUTO */
    const char *tune_dir;      /* the tuning cache's folder; NULL or "": $FCN_OPENCL_CACHE, else
                                  $XDG_CACHE_HOME/fcn, else $HOME/.cache/fcn */
} fcn_cl_options;

/* How the tiled kernel's shape is chosen when options.tile and FCN_OPENCL_TILE are unset
   (AUTOTUNING above). Every shape gives the same bits: tuning changes speed only. */
typedef enum fcn_cl_tune {
    FCN_CL_TUNE_AUTO = 0,     /* from the cache file; else time the candidates, write the file */
    FCN_CL_TUNE_OFF = 1,      /* the built-in default shape; no timing, no file read or written */
    FCN_CL_TUNE_NO_CACHE = 2, /* time the candidates; no file read or written */
    FCN_CL_TUNE_AGAIN = 3     /* time the candidates, (re)write the file */
} fcn_cl_tune;

/* Where the shape in use came from (fcn_cl_tuning.from). */
typedef enum fcn_cl_tile_from {
    FCN_CL_TILE_UNUSED = 0,  /* the convolutions run another kernel (simple, vector) */
    FCN_CL_TILE_SET = 1,     /* options.tile or FCN_OPENCL_TILE */
    FCN_CL_TILE_DEFAULT = 2, /* tuning off: the built-in default */
    FCN_CL_TILE_CACHED = 3,  /* read from the tuning cache file */
    FCN_CL_TILE_TIMED = 4    /* the fastest candidate, timed by this fcn_cl_create */
} fcn_cl_tile_from;

#define FCN_CL_MAX_TILES 16
/* The tiled kernel's shape in use and how it was chosen (fcn_cl_tuned). */
typedef struct fcn_cl_tuning {
    int tile;                 /* 1 .. fcn_cl_tile_count(); 0 when from is FCN_CL_TILE_UNUSED */
    int from;                 /* an fcn_cl_tile_from */
    double seconds;           /* spent timing candidates (their builds included); 0 unless timed */
    double gflops[FCN_CL_MAX_TILES]; /* [tile - 1]: the candidate's GFLOP/s on the tuning layer
                                        (0: not timed, or it failed to build or run) */
    char cache[512];          /* the cache file read or written; "" if none */
    char note[256];           /* why a cache file was ignored or not written; "" if nothing to say */
} fcn_cl_tuning;

typedef struct fcn_cl fcn_cl;

/* Lists every device of every platform: fills list[0 .. min(max, total) - 1] (list may
   be NULL with max 0) and sets *count to the total. FCN_ERR_DEVICE if there is no
   OpenCL platform or device. */
FCNDEF fcn_status fcn_cl_devices(fcn_cl_device_info *list, int max, int *count, fcn_error *err);
/* The same as a table for people (what `fcn devices` prints): one line per platform, then
   per device its index, name, type, memory, and fma / correctly rounded divide / denormals
   yes or no, and whether maps on it are exact. Always NUL-terminated; "...\n" ends a
   truncated text. 8 KiB is plenty for a few devices. */
FCNDEF fcn_status fcn_cl_devices_text(char *buf, size_t size, fcn_error *err);

/* Chooses a device, creates a context and queue (or takes the caller's) and builds the
   kernels. opt may be NULL. fcn_cl_free releases what it created and the references it
   took. */
FCNDEF fcn_status fcn_cl_create(const fcn_cl_options *opt, fcn_cl **out, fcn_error *err);
FCNDEF void fcn_cl_free(fcn_cl *cl); /* NULL is fine */
/* The chosen device. */
FCNDEF const fcn_cl_device_info *fcn_cl_device(const fcn_cl *cl);
/* Seconds that clBuildProgram took in fcn_cl_create (mostly the driver's compiler), for
   the program in use (tuning's other builds are in fcn_cl_tuned's seconds). */
FCNDEF double fcn_cl_build_seconds(const fcn_cl *cl);
/* The tiled kernel's shape in use and how it was chosen. */
FCNDEF const fcn_cl_tuning *fcn_cl_tuned(const fcn_cl *cl);
/* The tiled kernel's shapes (the tuner's candidates), numbered 1 .. fcn_cl_tile_count();
   fcn_cl_tile_name says what shape i is ("4x4 points x 4 maps a work item, 8x8x4 work
   items"), NULL if there is no shape i. */
FCNDEF int fcn_cl_tile_count(void);
FCNDEF const char *fcn_cl_tile_name(int tile);

/* fcn_map's dense path on the device: same arguments, same result bit for bit. out
   receives rect_h x rect_w x K floats (the whole map without a rect). The progress
   callback, if any, is called after each piece (a band of rows), from this thread. */
FCNDEF fcn_status fcn_cl_map(fcn_cl *cl, const fcn_net *net, const float *image, int h, int w,
                             const fcn_options *opt, float *out, fcn_error *err);

/* The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), or "unknown OpenCL error". */
FCNDEF const char *fcn_cl_error_name(int code);

#ifdef __cplusplus
}
#endif
#endif /* FCN_OPENCL_H */

/* ======================================================================== */
#ifdef FCN_OPENCL_IMPLEMENTATION
#ifndef FCN_OPENCL__IMPLEMENTED
#define FCN_OPENCL__IMPLEMENTED

#ifndef FCN__IMPLEMENTED
#error "fcn_opencl.h's implementation needs fcn.h's in the same file: #define FCN_IMPLEMENTATION too, before including fcn_opencl.h"
#endif

#include <ctype.h>
#include <time.h>

#ifndef CL_PLATFORM_NOT_FOUND_KHR
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif

/* >>source
   The program text (see THE KERNEL SOURCE above). Generated: do not edit between these
   lines; edit the .cl files in opencl/ or fcn.h's fcn-arith section, then run
   `make opencl-embed`. */
/* fcn-opencl-source begin */
static const char *const fcn__cl_source[] = {
    /* opencl/fcn_prelude.cl */
    "/* fcn.h OpenCL kernels, part 1 of 4: the prelude.\n"
    "\n"
    "   fcn_opencl.h compiles, as one program, this file, then the \"fcn-arith\" section of\n"
    "   fcn.h (the library's exp, tanh, sigmoid and relu, the very same text the C code\n"
    "   compiles), then opencl/fcn.cl, then opencl/fcn_tiled.cl once per register block.\n"
    "   tools/embed_opencl.sh pastes them into fcn_opencl.h; edit them here and run\n"
    "   `make opencl-embed`.\n"
    "\n"
    "   The program is built with -cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt and\n"
    "   never with -cl-mad-enable, -cl-unsafe-math-optimizations or -cl-fast-relaxed-math,\n"
    "   and nothing may be contracted: THE ARITHMETIC CONTRACT at the top of fcn.h. */\n"
    "#pragma OPENCL FP_CONTRACT OFF\n"
    "\n"
    "/* The operations the fcn-arith section is written with, in OpenCL C. All are exact\n"
    "   (fma, floor and ldexp are correctly rounded in OpenCL C, as in C99). */\n"
    "#define FCN__ARITH\n"
    "#define FCN__FMA(a, b, c) fma(a, b, c)\n"
    "#define FCN__FLOOR(x) floor(x)\n"
    "#define FCN__LDEXP(x, n) ldexp(x, n)\n"
    "#define FCN__INF INFINITY\n",
    /* fcn.h, the fcn-arith section */
    "#ifndef FCN__ARITH\n"
    "#define FCN__ARITH static\n"
    "#define FCN__FMA(a, b, c) fmaf(a, b, c)\n"
    "#define FCN__FLOOR(x) floorf(x)\n"
    "#define FCN__LDEXP(x, n) ldexpf(x, n)\n"
    "#define FCN__INF HUGE_VALF\n"
    "#endif\n"
    "\n"
    "/* exp(x) with Cephes' expf reduction and polynomial, evaluated with fma: within 2 ulp of\n"
    "   the true value. Results that would be subnormal are 0, so devices that flush\n"
    "   denormals still agree. */\n"
    "FCN__ARITH float fcn__exp(float x)\n"
    "{\n"
    "    float n, r, rr, p;\n"
    "    if (x != x) return x;\n"
    "    if (x > 88.7f) return FCN__INF;\n"
    "    if (x < -87.0f) return 0.0f;\n"
    "    n = FCN__FLOOR(FCN__FMA(x, 1.44269504088896341f, 0.5f));\n"
    "    r = FCN__FMA(n, -0.693359375f, x);\n"
    "    r = FCN__FMA(n, 2.12194440e-4f, r);\n"
    "    p = 1.9875691500e-4f;\n"
    "    p = FCN__FMA(p, r, 1.3981999507e-3f);\n"
    "    p = FCN__FMA(p, r, 8.3334519073e-3f);\n"
    "    p = FCN__FMA(p, r, 4.1665795894e-2f);\n"
    "    p = FCN__FMA(p, r, 1.6666665459e-1f);\n"
    "    p = FCN__FMA(p, r, 5.0000001201e-1f);\n"
    "    rr = r * r;\n"
    "    p = FCN__FMA(p, rr, r);\n"
    "    p = p + 1.0f;\n"
    "    return FCN__LDEXP(p, (int)n);\n"
    "}\n"
    "\n"
    "/* Every operation below is its own assignment to a float: where float is evaluated in\n"
    "   a wider format (FLT_EVAL_METHOD != 0) each is then rounded to float, as everywhere\n"
    "   else (THE ARITHMETIC CONTRACT, rule 5); a compound expression would be rounded once.\n"
    "   tanh: Cephes' odd polynomial near 0 (no cancellation), 1 - 2/(exp(2|x|)+1) beyond. */\n"
    "FCN__ARITH float fcn__tanh(float x)\n"
    "{\n"
    "    float a = x < 0.0f \? -x : x, z, y, e;\n"
    "    if (a < 0.625f) {\n"
    "        z = x * x;\n"
    "        y = -5.70498872745e-3f;\n"
    "        y = FCN__FMA(y, z, 2.06390887954e-2f);\n"
    "        y = FCN__FMA(y, z, -5.37397155531e-2f);\n"
    "        y = FCN__FMA(y, z, 1.33314422036e-1f);\n"
    "        y = FCN__FMA(y, z, -3.33332819422e-1f);\n"
    "        if (x == 0.0f) return x; /* tanh(-0) = -0: the fma below would give +0 */\n"
    "        return FCN__FMA(y, z * x, x);\n"
    "    }\n"
    "    e = 2.0f * a;\n"
    "    e = fcn__exp(e);\n"
    "    e = e + 1.0f;\n"
    "    y = 2.0f / e;\n"
    "    y = 1.0f - y;\n"
    "    return x < 0.0f \? -y : y;\n"
    "}\n"
    "\n"
    "FCN__ARITH float fcn__sigmoid(float x)\n"
    "{\n"
    "    float e = fcn__exp(-x);\n"
    "    e = 1.0f + e;\n"
    "    e = 1.0f / e;\n"
    "    return e;\n"
    "}\n"
    "\n"
    "FCN__ARITH float fcn__relu(float x, float slope) { return x > 0.0f \? x : x * slope; }\n"
    "\n",
    /* opencl/fcn.cl */
    "/* fcn.h OpenCL kernels, part 3 of 4: the dense path's layers (part 4: fcn_tiled.cl).\n"
    "\n"
    "   Same grids, same reads and the same arithmetic as fcn.h's dense path (>>stream:\n"
    "   fcn__unit_conv_generic, fcn__unit_pool, fcn__softmax_row), so the map is the same\n"
    "   bit for bit: THE ARITHMETIC CONTRACT at the top of fcn.h states the rules and names\n"
    "   the kernels here that keep each one.\n"
    "   Layouts are planar: channel, row, column, all int indices (the host keeps every\n"
    "   buffer under 2^31 elements). A layer's output grid point (y, x) reads input grid rows\n"
    "   y*step + ky*dil and columns x*step + kx*dil. */\n"
    "\n"
    "#ifdef FCN_CL_TEST_BUILD_ERROR\n"
    "#error \"build failure requested with -DFCN_CL_TEST_BUILD_ERROR (a test of the error path)\"\n"
    "#endif\n"
    "\n"
    "/* Output maps computed by one work item (registers): a tunable, set with -D. */\n"
    "#ifndef FCN_CL_OM\n"
    "#define FCN_CL_OM 4\n"
    "#endif\n"
    "\n"
    "/* Layer types, the values of fcn_layer_type in fcn.h. */\n"
    "#define FCN_CL_RELU 5\n"
    "#define FCN_CL_TANH 6\n"
    "#define FCN_CL_SIGMOID 7\n"
    "\n"
    "/* One work item per output grid point (x, y) and FCN_CL_OM output maps (dimension 2).\n"
    "   Reads the input straight from global memory. Work items past the grid's edge compute\n"
    "   its last point and store nothing: every work item runs the same loops (no early\n"
    "   return), which lets CPU drivers such as PoCL vectorise across work items. */\n"
    "__kernel void fcn_conv(__global const float *in, __global float *out, __global const float *par,\n"
    "                       int woff, int boff, int cin, int kh, int kw, int in_h, int in_w, int out_h,\n"
    "                       int out_w, int step, int dil, int maps)\n"
    "{\n"
    "    int gx = (int)get_global_id(0), gy = (int)get_global_id(1);\n"
    "    int x = min(gx, out_w - 1), y = min(gy, out_h - 1);\n"
    "    int o0 = (int)get_global_id(2) * FCN_CL_OM;\n"
    "    int ksz = cin * kh * kw, plane = in_h * in_w, m, c, ky, kx;\n"
    "    __global const float *src = in + y * step * in_w + x * step;\n"
    "    __global const float *wp = par + woff + o0 * ksz;\n"
    "    float acc[FCN_CL_OM];\n"
    "    for (m = 0; m < FCN_CL_OM; m++) acc[m] = par[boff + min(o0 + m, maps - 1)];\n"
    "    for (c = 0; c < cin; c++)\n"
    "        for (ky = 0; ky < kh; ky++)\n"
    "            for (kx = 0; kx < kw; kx++) {\n"
    "                float v = src[c * plane + ky * dil * in_w + kx * dil];\n"
    "                int t = (c * kh + ky) * kw + kx;\n"
    "                for (m = 0; m < FCN_CL_OM; m++) acc[m] = fma(wp[min(m, maps - 1 - o0) * ksz + t], v, acc[m]);\n"
    "            }\n"
    "    if (gx < out_w && gy < out_h)\n"
    "        for (m = 0; m < FCN_CL_OM; m++)\n"
    "            if (o0 + m < maps) out[((o0 + m) * out_h + y) * out_w + x] = acc[m];\n"
    "}\n"
    "\n"
    "/* The same convolution with FCN_CL_VX (4, 8 or 16) consecutive output points of two\n"
    "   rows per work item, in OpenCL vectors, for FCN_CL_VOM output maps: each lane is one\n"
    "   output with its own accumulator, so each output's order is unchanged, and a CPU driver\n"
    "   gets SIMD code without having to vectorise across work items; the two rows share each\n"
    "   weight load. Loads are one vload where the points\n",
    "   read consecutive inputs (step 1; lanes past the grid's edge then read whatever follows\n"
    "   in the buffer, in_len floats, and are not stored), else a gather. The weights come reordered by the host (from vwoff):\n"
    "   per block of FCN_CL_VOM maps, per (channel, row, column), the block's maps side by\n"
    "   side (the last map repeated to fill a block), so one tap's weights share a cache\n"
    "   line. */\n"
    "#ifndef FCN_CL_VX\n"
    "#define FCN_CL_VX 8\n"
    "#endif\n"
    "#ifndef FCN_CL_VOM\n"
    "#define FCN_CL_VOM 8\n"
    "#endif\n"
    "#define FCN_CL_CAT_(a, b) a##b\n"
    "#define FCN_CL_CAT(a, b) FCN_CL_CAT_(a, b)\n"
    "#define FCN_CL_FLOATV FCN_CL_CAT(float, FCN_CL_VX)\n"
    "#define FCN_CL_VLOAD FCN_CL_CAT(vload, FCN_CL_VX)\n"
    "#define FCN_CL_VSTORE FCN_CL_CAT(vstore, FCN_CL_VX)\n"
    "\n"
    "__kernel void fcn_conv_vec(__global const float *in, __global float *out, __global const float *par,\n"
    "                           int vwoff, int boff, int cin, int kh, int kw, int in_h, int in_w, int out_h,\n"
    "                           int out_w, int step, int dil, int maps, int in_len)\n"
    "{\n"
    "    int x0 = (int)get_global_id(0) * FCN_CL_VX, gy = (int)get_global_id(1) * 2;\n"
    "    int y0 = min(gy, out_h - 1), y1 = min(gy + 1, out_h - 1);\n"
    "    int o0 = (int)get_global_id(2) * FCN_CL_VOM;\n"
    "    int ksz = cin * kh * kw, m, c, ky, kx, i, q;\n"
    "    int xs[FCN_CL_VX];\n"
    "    __global const float *wv = par + vwoff + o0 * ksz;\n"
    "    FCN_CL_FLOATV acc[FCN_CL_VOM], acc1[FCN_CL_VOM];\n"
    "    for (i = 0; i < FCN_CL_VX; i++) xs[i] = min(x0 + i, out_w - 1) * step;\n"
    "#pragma unroll\n"
    "    for (m = 0; m < FCN_CL_VOM; m++) {\n"
    "        acc[m] = (FCN_CL_FLOATV)(par[boff + min(o0 + m, maps - 1)]);\n"
    "        acc1[m] = acc[m];\n"
    "    }\n"
    "    for (c = 0; c < cin; c++)\n"
    "        for (ky = 0; ky < kh; ky++) {\n"
    "            int rb = (c * in_h + y0 * step + ky * dil) * in_w, rb1 = (c * in_h + y1 * step + ky * dil) * in_w;\n"
    "            __global const float *row = in + rb, *row1 = in + rb1;\n"
    "            __global const float *wt = wv + (c * kh + ky) * kw * FCN_CL_VOM;\n"
    "            int full = step == 1 && in_len - (rb1 + x0 + (kw - 1) * dil) >= FCN_CL_VX;\n"
    "            for (kx = 0; kx < kw; kx++, wt += FCN_CL_VOM) {\n"
    "                FCN_CL_FLOATV v, v1;\n"
    "                int off = kx * dil;\n"
    "                if (full) {\n"
    "                    v = FCN_CL_VLOAD(0, row + x0 + off);\n"
    "                    v1 = FCN_CL_VLOAD(0, row1 + x0 + off);\n"
    "                } else {\n"
    "                    float g[FCN_CL_VX];\n"
    "                    for (i = 0; i < FCN_CL_VX; i++) g[i] = row[xs[i] + off];\n"
    "                    v = FCN_CL_VLOAD(0, g);\n"
    "                    for (i = 0; i < FCN_CL_VX; i++) g[i] = row1[xs[i] + off];\n"
    "                    v1 = FCN_CL_VLOAD(0, g);\n"
    "                }\n"
    "#pragma unroll\n"
    "                for (m = 0; m < FCN_CL_VOM; m++) {\n"
    "                    FCN_CL_FLOATV w = (FCN_CL_FLOATV)(wt[m]);\n"
    "                    acc[m] = fma(w, v, acc[m]);\n"
    "                    acc1[m] = fma(w, v1, acc1[m]);\n"
    "                }\n"
    "            }\n"
    "        }\n"
    "    for (q = 0; q < 2 && gy + q < out_h; q++)\n"
    "        for (m = 0; m < FCN_CL_VOM && o0 + m < maps; m++) {\n",
    "            __global float *dst = out + ((o0 + m) * out_h + gy + q) * out_w;\n"
    "            float r[FCN_CL_VX];\n"
    "            FCN_CL_FLOATV a = q \? acc1[m] : acc[m];\n"
    "            if (x0 + FCN_CL_VX - 1 < out_w) {\n"
    "                FCN_CL_VSTORE(a, 0, dst + x0);\n"
    "            } else {\n"
    "                FCN_CL_VSTORE(a, 0, r);\n"
    "                for (i = 0; i < FCN_CL_VX && x0 + i < out_w; i++) dst[x0 + i] = r[i];\n"
    "            }\n"
    "        }\n"
    "}\n"
    "\n"
    "/* Max or average pool: one work item per output (x, y, channel). Work items past the\n"
    "   grid's edge compute its last point and store nothing (no early return, so that CPU\n"
    "   drivers can vectorise across work items). */\n"
    "__kernel void fcn_pool(__global const float *in, __global float *out, int kh, int kw, int in_h, int in_w,\n"
    "                       int out_h, int out_w, int step, int dil, int is_max)\n"
    "{\n"
    "    int gx = (int)get_global_id(0), gy = (int)get_global_id(1), c = (int)get_global_id(2), ky, kx;\n"
    "    int x = min(gx, out_w - 1), y = min(gy, out_h - 1);\n"
    "    __global const float *src = in + (c * in_h + y * step) * in_w + x * step;\n"
    "    float s = 0.0f, m = 0.0f;\n"
    "    for (ky = 0; ky < kh; ky++)\n"
    "        for (kx = 0; kx < kw; kx++) {\n"
    "            float v = src[ky * dil * in_w + kx * dil];\n"
    "            if ((ky == 0 && kx == 0) || v > m) m = v;\n"
    "            s += v;\n"
    "        }\n"
    "    if (gx < out_w && gy < out_h) out[(c * out_h + y) * out_w + x] = is_max \? m : s / (float)(kh * kw);\n"
    "}\n"
    "\n"
    "/* The same pool with FCN_CL_VX consecutive outputs per work item in a vector (for\n"
    "   CPUs): lane by lane the same operations, a lane takes a later value only if greater. */\n"
    "__kernel void fcn_pool_vec(__global const float *in, __global float *out, int kh, int kw, int in_h, int in_w,\n"
    "                           int out_h, int out_w, int step, int dil, int is_max, int in_len)\n"
    "{\n"
    "    int x0 = (int)get_global_id(0) * FCN_CL_VX, gy = (int)get_global_id(1), c = (int)get_global_id(2);\n"
    "    int y = min(gy, out_h - 1), ky, kx, i;\n"
    "    int xs[FCN_CL_VX];\n"
    "    FCN_CL_FLOATV s = (FCN_CL_FLOATV)(0.0f), m = (FCN_CL_FLOATV)(0.0f);\n"
    "    for (i = 0; i < FCN_CL_VX; i++) xs[i] = min(x0 + i, out_w - 1) * step;\n"
    "    for (ky = 0; ky < kh; ky++) {\n"
    "        int rb = (c * in_h + y * step + ky * dil) * in_w;\n"
    "        __global const float *row = in + rb;\n"
    "        int full = step == 1 && in_len - (rb + x0 + (kw - 1) * dil) >= FCN_CL_VX;\n"
    "        for (kx = 0; kx < kw; kx++) {\n"
    "            FCN_CL_FLOATV v;\n"
    "            if (full) {\n"
    "                v = FCN_CL_VLOAD(0, row + x0 + kx * dil);\n"
    "            } else {\n"
    "                float g[FCN_CL_VX];\n"
    "                for (i = 0; i < FCN_CL_VX; i++) g[i] = row[xs[i] + kx * dil];\n"
    "                v = FCN_CL_VLOAD(0, g);\n"
    "            }\n"
    "            m = (ky == 0 && kx == 0) \? v : select(m, v, v > m);\n"
    "            s += v;\n"
    "        }\n"
    "    }\n"
    "    if (gy < out_h) {\n"
    "        __global float *dst = out + (c * out_h + y) * out_w;\n"
    "        FCN_CL_FLOATV r = is_max \? m : s / (FCN_CL_FLOATV)((float)(kh * kw));\n"
    "        float t[FCN_CL_VX];\n"
    "        if (x0 + FCN_CL_VX - 1 < out_w) {\n",
    "            FCN_CL_VSTORE(r, 0, dst + x0);\n"
    "        } else {\n"
    "            FCN_CL_VSTORE(r, 0, t);\n"
    "            for (i = 0; i < FCN_CL_VX && x0 + i < out_w; i++) dst[x0 + i] = t[i];\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "/* relu, tanh or sigmoid on n values in place. */\n"
    "__kernel void fcn_act(__global float *v, int n, int type, float slope)\n"
    "{\n"
    "    int i = (int)get_global_id(0);\n"
    "    float x;\n"
    "    if (i >= n) return;\n"
    "    x = v[i];\n"
    "    if (type == FCN_CL_RELU) x = fcn__relu(x, slope);\n"
    "    else if (type == FCN_CL_TANH) x = fcn__tanh(x);\n"
    "    else if (type == FCN_CL_SIGMOID) x = fcn__sigmoid(x);\n"
    "    v[i] = x;\n"
    "}\n"
    "\n"
    "/* Softmax over k planar channels at each of n positions, in place. */\n"
    "__kernel void fcn_softmax(__global float *v, int n, int k)\n"
    "{\n"
    "    int i = (int)get_global_id(0), j;\n"
    "    float m, s = 0.0f;\n"
    "    if (i >= n) return;\n"
    "    m = v[i];\n"
    "    for (j = 1; j < k; j++)\n"
    "        if (v[i + j * n] > m) m = v[i + j * n];\n"
    "    for (j = 0; j < k; j++) {\n"
    "        float e = fcn__exp(v[i + j * n] - m);\n"
    "        v[i + j * n] = e;\n"
    "        s += e;\n"
    "    }\n"
    "    for (j = 0; j < k; j++) v[i + j * n] = v[i + j * n] / s;\n"
    "}\n"
    "\n"
    "/* The map from the last layer's grid: every q-th point of a grid_w-wide plane, channels\n"
    "   last, rh x rw x k. */\n"
    "__kernel void fcn_gather(__global const float *in, __global float *out, int plane, int grid_w, int q,\n"
    "                         int rh, int rw, int k)\n"
    "{\n"
    "    int x = (int)get_global_id(0), y = (int)get_global_id(1), j;\n"
    "    if (x >= rw || y >= rh) return;\n"
    "    for (j = 0; j < k; j++) out[(y * rw + x) * k + j] = in[j * plane + y * q * grid_w + x * q];\n"
    "}\n",
    /* opencl/fcn_tiled.cl */
    "/* fcn.h OpenCL kernels, part 4 of 4: the tiled convolution, once per register block.\n"
    "\n"
    "   fcn_opencl.h pastes this file into the program once for each register block of its\n"
    "   shapes (fcn__cl_tiles), after \"#define FCN_CL_RY 4\", \"_RX\", \"_RM\" and\n"
    "   \"#define FCN_CL_TILED fcn_conv_tiled_4x4x4\" lines of its own, so that one build holds\n"
    "   every block the tuner tries (fcn__cl_build). Alone (a syntax check, an editor) it is\n"
    "   the 4x4 points x 4 maps kernel fcn_conv_tiled.\n"
    "\n"
    "   The arithmetic is fcn_conv's in opencl/fcn.cl: THE ARITHMETIC CONTRACT at the top of\n"
    "   fcn.h. */\n"
    "\n"
    "/* The same convolution for GPUs: register blocks, tiled through local memory. A dilated\n"
    "   convolution is dil x dil undilated ones, one per residue class of (y, x) modulo dil.\n"
    "   A work-group takes a block of one class, (LY*RY) x (LX*RX) output points (dil apart)\n"
    "   and LZ*RM output maps (LX, LY, LZ its local size; RY, RX, RM the register block below).\n"
    "   Work item (lx, ly, lz) computes the block's points (ly + i*LY, lx + j*LX), i < RY,\n"
    "   j < RX, for its RM maps lz*RM ..., in RY*RX*RM registers: one input sample read from\n"
    "   local memory feeds RM fmas, one weight RY*RX, and neighbouring work items read\n"
    "   neighbouring local words. For each slice of cs input channels the work-group stages\n"
    "   in local memory the input samples the block reads ((LY*RY-1)*step+kh rows by\n"
    "   (LX*RX-1)*step+kw columns per channel, also dil apart) and the block's weights, per\n"
    "   (channel, row, column) its LZ*RM maps side by side; then every work item accumulates\n"
    "   from there. Each output still adds bias, channel, row, column in the contract's order:\n"
    "   a slice is whole channels, taken in order. nbx, nby: blocks per class. Work items\n"
    "   past the grid's edge compute clamped points and maps and store nothing; none returns\n"
    "   early (the barriers need them all). */\n"
    "#ifndef FCN_CL_RY\n"
    "#define FCN_CL_RY 4\n"
    "#endif\n"
    "#ifndef FCN_CL_RX\n"
    "#define FCN_CL_RX 4\n"
    "#endif\n"
    "#ifndef FCN_CL_RM\n"
    "#define FCN_CL_RM 4\n"
    "#endif\n"
    "#ifndef FCN_CL_TILED\n"
    "#define FCN_CL_TILED fcn_conv_tiled\n"
    "#endif\n"
    "\n"
    "__kernel void FCN_CL_TILED(__global const float *in, __global float *out, __global const float *par,\n"
    "                             int woff, int boff, int cin, int kh, int kw, int in_h, int in_w, int out_h,\n"
    "                             int out_w, int step, int dil, int maps, int nbx, int nby, int cs,\n"
    "                             __local float *tile, __local float *wl)\n"
    "{\n"
    "    int lx = (int)get_local_id(0), ly = (int)get_local_id(1), lz = (int)get_local_id(2);\n"
    "    int LX = (int)get_local_size(0), LY = (int)get_local_size(1), LZ = (int)get_local_size(2);\n"
    "    int gx = (int)get_group_id(0), gy = (int)get_group_id(1);\n"
    "    int bx = gx % nbx, xr = gx / nbx, by = gy % nby, yr = gy / nby;\n"
    "    int BX = LX * FCN_CL_RX, BY = LY * FCN_CL_RY, gm = LZ * FCN_CL_RM;\n"
    "    int tw = (BX - 1) * step + kw, th = (BY - 1) * step + kh, n = tw * th;\n"
    "    int col0 = xr * step + dil * step * bx * BX, row0 = yr * step + dil * step * by * BY;\n",
    "    int mb = (int)get_group_id(2) * gm, m0 = mb + lz * FCN_CL_RM, kk = kh * kw, ksz = cin * kk;\n"
    "    int lid = (lz * LY + ly) * LX + lx, nl = LX * LY * LZ, c0, cn, c, ky, kx, t, i, j, m;\n"
    "    float acc[FCN_CL_RY][FCN_CL_RX][FCN_CL_RM], wv[FCN_CL_RM];\n"
    "#pragma unroll\n"
    "    for (m = 0; m < FCN_CL_RM; m++) {\n"
    "        float b = par[boff + min(m0 + m, maps - 1)];\n"
    "#pragma unroll\n"
    "        for (i = 0; i < FCN_CL_RY; i++)\n"
    "#pragma unroll\n"
    "            for (j = 0; j < FCN_CL_RX; j++) acc[i][j][m] = b;\n"
    "    }\n"
    "    for (c0 = 0; c0 < cin; c0 += cs) {\n"
    "        cn = min(cs, cin - c0);\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "        for (t = lid; t < cn * n; t += nl) {\n"
    "            int cc = t / n, p = t - cc * n, r = p / tw, q = p - r * tw, iy = row0 + dil * r, ix = col0 + dil * q;\n"
    "            tile[t] = (iy < in_h && ix < in_w) \? in[((c0 + cc) * in_h + iy) * in_w + ix] : 0.0f;\n"
    "        }\n"
    "        /* wl[(tap of the slice) * gm + map]; the slice's taps are consecutive in par */\n"
    "        for (t = lid; t < cn * kk * gm; t += nl) {\n"
    "            int tap = t / gm;\n"
    "            wl[t] = par[woff + min(mb + (t - tap * gm), maps - 1) * ksz + c0 * kk + tap];\n"
    "        }\n"
    "        barrier(CLK_LOCAL_MEM_FENCE);\n"
    "        for (c = 0; c < cn; c++)\n"
    "            for (ky = 0; ky < kh; ky++) {\n"
    "                __local const float *row = tile + c * n + (ly * step + ky) * tw + lx * step;\n"
    "                __local const float *wr = wl + (c * kk + ky * kw) * gm + lz * FCN_CL_RM;\n"
    "                for (kx = 0; kx < kw; kx++) {\n"
    "#pragma unroll\n"
    "                    for (m = 0; m < FCN_CL_RM; m++) wv[m] = wr[kx * gm + m];\n"
    "#pragma unroll\n"
    "                    for (i = 0; i < FCN_CL_RY; i++)\n"
    "#pragma unroll\n"
    "                        for (j = 0; j < FCN_CL_RX; j++) {\n"
    "                            float v = row[(i * LY * tw + j * LX) * step + kx];\n"
    "#pragma unroll\n"
    "                            for (m = 0; m < FCN_CL_RM; m++) acc[i][j][m] = fma(wv[m], v, acc[i][j][m]);\n"
    "                        }\n"
    "                }\n"
    "            }\n"
    "    }\n"
    "#pragma unroll\n"
    "    for (i = 0; i < FCN_CL_RY; i++)\n"
    "#pragma unroll\n"
    "        for (j = 0; j < FCN_CL_RX; j++) {\n"
    "            int y = yr + dil * (by * BY + ly + i * LY), x = xr + dil * (bx * BX + lx + j * LX);\n"
    "            if (y < out_h && x < out_w) {\n"
    "#pragma unroll\n"
    "                for (m = 0; m < FCN_CL_RM; m++)\n"
    "                    if (m0 + m < maps) out[((m0 + m) * out_h + y) * out_w + x] = acc[i][j][m];\n"
    "            }\n"
    "        }\n"
    "}\n",
};
#define FCN__CL_SOURCE_PIECES 8
#define FCN__CL_TILED_PIECE 6
/* fcn-opencl-source end */

/* >>errors */
FCNDEF const char *fcn_cl_error_name(int code)
{
    switch (code) {
    case 0: return "CL_SUCCESS";
    case -1: return "CL_DEVICE_NOT_FOUND";
    case -2: return "CL_DEVICE_NOT_AVAILABLE";
    case -3: return "CL_COMPILER_NOT_AVAILABLE";
    case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE";
    case -5: return "CL_OUT_OF_RESOURCES";
    case -6: return "CL_OUT_OF_HOST_MEMORY";
    case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE";
    case -8: return "CL_MEM_COPY_OVERLAP";
    case -9: return "CL_IMAGE_FORMAT_MISMATCH";
    case -10: return "CL_IMAGE_FORMAT_NOT_SUPPORTED";
    case -11: return "CL_BUILD_PROGRAM_FAILURE";
    case -12: return "CL_MAP_FAILURE";
    case -13: return "CL_MISALIGNED_SUB_BUFFER_OFFSET";
    case -14: return "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST";
    case -15: return "CL_COMPILE_PROGRAM_FAILURE";
    case -16: return "CL_LINKER_NOT_AVAILABLE";
    case -17: return "CL_LINK_PROGRAM_FAILURE";
    case -18: return "CL_DEVICE_PARTITION_FAILED";
    case -19: return "CL_KERNEL_ARG_INFO_NOT_AVAILABLE";
    case -30: return "CL_INVALID_VALUE";
    case -31: return "CL_INVALID_DEVICE_TYPE";
    case -32: return "CL_INVALID_PLATFORM";
    case -33: return "CL_INVALID_DEVICE";
    case -34: return "CL_INVALID_CONTEXT";
    case -35: return "CL_INVALID_QUEUE_PROPERTIES";
    case -36: return "CL_INVALID_COMMAND_QUEUE";
    case -37: return "CL_INVALID_HOST_PTR";
    case -38: return "CL_INVALID_MEM_OBJECT";
    case -39: return "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR";
    case -40: return "CL_INVALID_IMAGE_SIZE";
    case -41: return "CL_INVALID_SAMPLER";
    case -42: return "CL_INVALID_BINARY";
    case -43: return "CL_INVALID_BUILD_OPTIONS";
    case -44: return "CL_INVALID_PROGRAM";
    case -45: return "CL_INVALID_PROGRAM_EXECUTABLE";
    case -46: return "CL_INVALID_KERNEL_NAME";
    case -47: return "CL_INVALID_KERNEL_DEFINITION";
    case -48: return "CL_INVALID_KERNEL";
    case -49: return "CL_INVALID_ARG_INDEX";
    case -50: return "CL_INVALID_ARG_VALUE";
    case -51: return "CL_INVALID_ARG_SIZE";
    case -52: return "CL_INVALID_KERNEL_ARGS";
    case -53: return "CL_INVALID_WORK_DIMENSION";
    case -54: return "CL_INVALID_WORK_GROUP_SIZE";
    case -55: return "CL_INVALID_WORK_ITEM_SIZE";
    case -56: return "CL_INVALID_GLOBAL_OFFSET";
    case -57: return "CL_INVALID_EVENT_WAIT_LIST";
    case -58: return "CL_INVALID_EVENT";
    case -59: return "CL_INVALID_OPERATION";
    case -60: return "CL_INVALID_GL_OBJECT";
    case -61: return "CL_INVALID_BUFFER_SIZE";
    case -62: return "CL_INVALID_MIP_LEVEL";
    case -63: return "CL_INVALID_GLOBAL_WORK_SIZE";
    case -64: return "CL_INVALID_PROPERTY";
    case -65: return "CL_INVALID_IMAGE_DESCRIPTOR";
    case -66: return "CL_INVALID_COMPILER_OPTIONS";
    case -67: return "CL_INVALID_LINKER_OPTIONS";
    case -68: return "CL_INVALID_DEVICE_PARTITION_COUNT";
    case -69: return "CL_INVALID_PIPE_SIZE";
    case -70: return "CL_INVALID_DEVICE_QUEUE";
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
    }
}

/* FCN_ERR_DEVICE naming the call and the code, then the context (fmt). */
static fcn_status fcn__cl_fail(fcn_error *err, const char *call, cl_int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        int n;
        err->status = FCN_ERR_DEVICE;
        n = snprintf(err->message, sizeof err->message, "%s: %s (%d)", call, fcn_cl_error_name((int)code),
                     (int)code);
        if (fmt && n >= 0 && (size_t)n + 2 < sizeof err->message) {
            err->message[n] = ':';
            err->message[n + 1] = ' ';
            va_start(ap, fmt);
            vsnprintf(err->message + n + 2, sizeof err->message - (size_t)n - 2, fmt, ap);
            va_end(ap);
        }
    }
    return FCN_ERR_DEVICE;
}

static fcn_status fcn__cl_no_platform(fcn_error *err, cl_int code)
{
    return fcn__fail(err, FCN_ERR_DEVICE,
                     "no OpenCL platform (clGetPlatformIDs: %s (%d)): install an OpenCL driver (an ICD "
                     "such as pocl-opencl-icd, or a GPU vendor's) or check OCL_ICD_VENDORS",
                     fcn_cl_error_name((int)code), (int)code);
}

/* >>devices */
typedef struct fcn__cl_dev {
    cl_platform_id plat;
    cl_device_id dev;
    int pi; /* platform number */
} fcn__cl_dev;

/* Every device of every platform, in order. *list is FCN_MALLOC'ed. */
static fcn_status fcn__cl_enumerate(fcn__cl_dev **list, int *count, fcn_error *err)
{
    cl_uint np = 0, p, nd, d;
    cl_platform_id *plats;
    fcn__cl_dev *l = NULL;
    int n = 0, cap = 0;
    cl_int e = clGetPlatformIDs(0, NULL, &np);
    *list = NULL;
    *count = 0;
    if (e == CL_PLATFORM_NOT_FOUND_KHR || (e == CL_SUCCESS && np == 0)) return fcn__cl_no_platform(err, e);
    if (e != CL_SUCCESS) return fcn__cl_fail(err, "clGetPlatformIDs", e, "cannot list the OpenCL platforms");
    plats = FCN__CAST(cl_platform_id *, fcn__alloc(np, sizeof *plats));
    if (!plats) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    e = clGetPlatformIDs(np, plats, &np);
    if (e != CL_SUCCESS) {
        FCN_FREE(plats);
        return fcn__cl_fail(err, "clGetPlatformIDs", e, "cannot list the OpenCL platforms");
    }
    for (p = 0; p < np; p++) {
        cl_device_id *devs;
        nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) continue;
        devs = FCN__CAST(cl_device_id *, fcn__alloc(nd, sizeof *devs));
        if (!devs || clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, &nd) != CL_SUCCESS) {
            FCN_FREE(devs);
            continue;
        }
        for (d = 0; d < nd; d++) {
            if (n == cap) {
                int nc = cap ? cap * 2 : 8;
                fcn__cl_dev *q = FCN__CAST(fcn__cl_dev *, fcn__alloc((size_t)nc, sizeof *q));
                if (!q) {
                    FCN_FREE(devs);
                    FCN_FREE(l);
                    FCN_FREE(plats);
                    return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
                }
                if (l) memcpy(q, l, (size_t)n * sizeof *q);
                FCN_FREE(l);
                l = q;
                cap = nc;
            }
            l[n].plat = plats[p];
            l[n].dev = devs[d];
            l[n].pi = (int)p;
            n++;
        }
        FCN_FREE(devs);
    }
    FCN_FREE(plats);
    if (n == 0) {
        FCN_FREE(l);
        return fcn__fail(err, FCN_ERR_DEVICE, "no OpenCL device: %u platform%s, none with a device", (unsigned)np,
                         np == 1 ? "" : "s");
    }
    *list = l;
    *count = n;
    return FCN_OK;
}

static void fcn__cl_str(cl_device_id dev, cl_platform_id plat, cl_uint param, char *buf, size_t n)
{
    size_t got = 0;
    cl_int e = dev ? clGetDeviceInfo(dev, param, n - 1, buf, &got) : clGetPlatformInfo(plat, param, n - 1, buf, &got);
    if (e != CL_SUCCESS) got = 0;
    if (got > n - 1) got = n - 1;
    buf[got] = '\0';
    /* trim trailing blanks (some drivers pad their names) */
    while (got > 0 && (buf[got - 1] == ' ' || buf[got - 1] == '\0')) buf[--got] = '\0';
}

static int fcn__cl_host_little(void)
{
    unsigned int one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* "OpenCL C 1.2 ..." -> 102; 0 if unreadable */
static int fcn__cl_c_version(const char *s)
{
    int major = 0, minor = 0;
    const char *p = strstr(s, "OpenCL C ");
    if (!p) return 0;
    p += 9;
    while (*p >= '0' && *p <= '9') major = major * 10 + (*p++ - '0');
    if (*p++ != '.') return 0;
    while (*p >= '0' && *p <= '9') minor = minor * 10 + (*p++ - '0');
    return major * 100 + minor;
}

/* What the device lacks of the contract, in why; 1 if nothing. */
static int fcn__cl_contract(cl_device_fp_config fp, int c_version, int little, char *why, size_t n)
{
    const char *miss[8];
    int k = 0, i;
    size_t len = 0;
    if (!(fp & CL_FP_FMA)) miss[k++] = "no fp32 fused multiply-add (CL_FP_FMA)";
    if (!(fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT))
        miss[k++] = "no correctly rounded fp32 divide (CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT)";
    if (!(fp & CL_FP_DENORM)) miss[k++] = "fp32 denormals flushed (no CL_FP_DENORM)";
    if (!(fp & CL_FP_ROUND_TO_NEAREST)) miss[k++] = "no round to nearest";
    if (!(fp & CL_FP_INF_NAN)) miss[k++] = "no infinities and NaNs";
    if (c_version < 102) miss[k++] = "OpenCL C older than 1.2";
    if (!little) miss[k++] = "byte order differs from the host's";
    if (n) why[0] = '\0';
    for (i = 0; i < k && len + 1 < n; i++) {
        int m = snprintf(why + len, n - len, "%s%s", i ? ", " : "", miss[i]);
        if (m < 0) break;
        len += (size_t)m;
        if (len >= n) len = n - 1;
    }
    return k == 0;
}

static void fcn__cl_fill(const fcn__cl_dev *d, int index, fcn_cl_device_info *info)
{
    cl_device_type type = 0;
    cl_device_fp_config fp = 0;
    cl_uint cu = 0, little = 0, mhz = 0;
    cl_ulong gm = 0, ma = 0, lm = 0;
    size_t wg = 0;
    memset(info, 0, sizeof *info);
    info->index = index;
    info->platform = d->pi;
    fcn__cl_str(NULL, d->plat, CL_PLATFORM_NAME, info->platform_name, sizeof info->platform_name);
    fcn__cl_str(d->dev, NULL, CL_DEVICE_NAME, info->name, sizeof info->name);
    fcn__cl_str(d->dev, NULL, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    fcn__cl_str(d->dev, NULL, CL_DEVICE_VERSION, info->version, sizeof info->version);
    fcn__cl_str(d->dev, NULL, CL_DEVICE_OPENCL_C_VERSION, info->c_version, sizeof info->c_version);
    fcn__cl_str(d->dev, NULL, CL_DRIVER_VERSION, info->driver, sizeof info->driver);
    clGetDeviceInfo(d->dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_ENDIAN_LITTLE, sizeof little, &little, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gm, &gm, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ma, &ma, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lm, &lm, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    clGetDeviceInfo(d->dev, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz, &mhz, NULL);
    info->gpu = (type & CL_DEVICE_TYPE_GPU) != 0;
    info->cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    info->fma = (fp & CL_FP_FMA) != 0;
    info->correct_divide = (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    info->denormals = (fp & CL_FP_DENORM) != 0;
    info->exact = fcn__cl_contract(fp, fcn__cl_c_version(info->c_version), (little != 0) == fcn__cl_host_little(),
                                   info->inexact_why, sizeof info->inexact_why);
    info->compute_units = (int)cu;
    info->global_mem = (unsigned long long)gm;
    info->max_alloc = (unsigned long long)ma;
    info->local_mem = (unsigned long long)lm;
    info->max_work_group = wg;
    info->clock_mhz = (int)mhz;
}

/* The default among n devices (see DEVICE CHOICE). */
static int fcn__cl_default(const fcn_cl_device_info *info, int n)
{
    int i;
    for (i = 0; i < n; i++)
        if (info[i].gpu && info[i].exact) return i;
    for (i = 0; i < n; i++)
        if (info[i].exact) return i;
    for (i = 0; i < n; i++)
        if (info[i].gpu) return i;
    return 0;
}

static int fcn__cl_contains(const char *hay, const char *needle)
{
    size_t i, j, nh = strlen(hay), nn = strlen(needle);
    for (i = 0; i + nn <= nh; i++) {
        for (j = 0; j < nn; j++)
            if (tolower((unsigned char)hay[i + j]) != tolower((unsigned char)needle[j])) break;
        if (j == nn) return 1;
    }
    return 0;
}

/* Chooses among n devices by sel (index or name), or the default if sel is empty. */
static fcn_status fcn__cl_choose(const fcn_cl_device_info *info, int n, const char *sel, const char *from,
                                 int *idx, fcn_error *err)
{
    const char *p;
    int i, digits = 1;
    if (!sel || !sel[0]) {
        *idx = fcn__cl_default(info, n);
        return FCN_OK;
    }
    for (p = sel; *p; p++)
        if (*p < '0' || *p > '9') digits = 0;
    if (digits) {
        long v = strtol(sel, NULL, 10);
        if (strlen(sel) > 6 || v >= n)
            return fcn__fail(err, FCN_ERR_DEVICE, "no OpenCL device %s (%s): there %s %d, numbered from 0 (see `fcn devices`)",
                             sel, from, n == 1 ? "is" : "are", n);
        *idx = (int)v;
        return FCN_OK;
    }
    for (i = 0; i < n; i++)
        if (fcn__cl_contains(info[i].name, sel)) break;
    if (i == n)
        for (i = 0; i < n; i++)
            if (fcn__cl_contains(info[i].platform_name, sel) || fcn__cl_contains(info[i].vendor, sel)) break;
    if (i == n)
        return fcn__fail(err, FCN_ERR_DEVICE, "no OpenCL device named like '%.100s' (%s) among %d (see `fcn devices`)",
                         sel, from, n);
    *idx = i;
    return FCN_OK;
}

FCNDEF fcn_status fcn_cl_devices(fcn_cl_device_info *list, int max, int *count, fcn_error *err)
{
    fcn__cl_dev *devs;
    fcn_cl_device_info *info;
    int n, i, def;
    fcn_status st;
    if (count) *count = 0;
    if (max < 0 || (max > 0 && !list)) return fcn__fail(err, FCN_ERR_ARG, "fcn_cl_devices: bad list or max");
    st = fcn__cl_enumerate(&devs, &n, err);
    if (st != FCN_OK) return st;
    info = FCN__CAST(fcn_cl_device_info *, fcn__alloc((size_t)n, sizeof *info));
    if (!info) {
        FCN_FREE(devs);
        return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    }
    for (i = 0; i < n; i++) fcn__cl_fill(&devs[i], i, &info[i]);
    def = fcn__cl_default(info, n);
    info[def].is_default = 1;
    for (i = 0; i < n && i < max; i++) list[i] = info[i];
    if (count) *count = n;
    FCN_FREE(info);
    FCN_FREE(devs);
    fcn__ok(err);
    return FCN_OK;
}

/* Appends to a fixed buffer, marking truncation with "...\n". */
static void fcn__cl_cat(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int m;
    if (*len + 1 >= size) return;
    va_start(ap, fmt);
    m = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    if (*len + (size_t)m >= size) {
        *len = size - 1;
        if (size >= 5) memcpy(buf + size - 5, "...\n", 5);
        return;
    }
    *len += (size_t)m;
}

FCNDEF fcn_status fcn_cl_devices_text(char *buf, size_t size, fcn_error *err)
{
    fcn_cl_device_info *info;
    int n = 0, i, last_p = -1;
    size_t len = 0;
    fcn_status st;
    if (!buf || size == 0) return fcn__fail(err, FCN_ERR_ARG, "fcn_cl_devices_text: no buffer");
    buf[0] = '\0';
    st = fcn_cl_devices(NULL, 0, &n, err);
    if (st != FCN_OK) return st;
    info = FCN__CAST(fcn_cl_device_info *, fcn__alloc((size_t)n, sizeof *info));
    if (!info) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    st = fcn_cl_devices(info, n, &n, err);
    if (st != FCN_OK) {
        FCN_FREE(info);
        return st;
    }
    for (i = 0; i < n; i++) {
        const fcn_cl_device_info *d = &info[i];
        if (d->platform != last_p) {
            fcn__cl_cat(buf, size, &len, "platform %d: %s\n", d->platform, d->platform_name);
            last_p = d->platform;
        }
        fcn__cl_cat(buf, size, &len, "  device %d%s: %s (%s, %s, driver %s)\n", d->index,
                    d->is_default ? " (default)" : "", d->name, d->gpu ? "GPU" : d->cpu ? "CPU" : "other", d->version,
                    d->driver);
        fcn__cl_cat(buf, size, &len,
                    "    %d compute units at %d MHz, %.0f MiB memory, %.0f MiB largest buffer, %.0f KiB local\n",
                    d->compute_units, d->clock_mhz, (double)d->global_mem / 1048576.0, (double)d->max_alloc / 1048576.0,
                    (double)d->local_mem / 1024.0);
        fcn__cl_cat(buf, size, &len, "    fp32 fma: %s, correctly rounded divide: %s, denormals: %s -> maps %s\n",
                    d->fma ? "yes" : "no", d->correct_divide ? "yes" : "no", d->denormals ? "yes" : "no",
                    d->exact ? "exact (same bits as the CPU)" : "NOT exact");
        if (!d->exact) fcn__cl_cat(buf, size, &len, "    (%s)\n", d->inexact_why);
    }
    FCN_FREE(info);
    fcn__ok(err);
    return FCN_OK;
}

/* >>context */
#define FCN__CL_KERNELS 8
enum { FCN__K_CONV, FCN__K_TILED, FCN__K_VEC, FCN__K_POOL, FCN__K_POOL_VEC, FCN__K_ACT, FCN__K_SOFTMAX, FCN__K_GATHER };
static const char *const fcn__cl_kernel_names[FCN__CL_KERNELS] = {
    "fcn_conv", "fcn_conv_tiled_*", "fcn_conv_vec", "fcn_pool", "fcn_pool_vec", "fcn_act", "fcn_softmax", "fcn_gather"};

#define FCN__CL_OM 4 /* output maps per work item of fcn_conv (simple), -DFCN_CL_OM */
static const char *const fcn__cl_conv_names[4] = {"auto", "simple", "tiled", "vector"};

/* The tiled kernel's shapes, the tuner's candidates (AUTOTUNING): a work item's register
   block, ry x rx output points by rm maps (-DFCN_CL_RY, _RX, _RM: one program build per
   block), and the work-group, lx x ly x lz work items (a block of (ly*ry) x (lx*rx) points
   and lz*rm maps). Candidate 1 is the one-point-per-work-item kernel this one replaced.
   New shapes go at the end: a cache file names a shape by number (and by name, checked). */
typedef struct fcn__cl_tile {
    int ry, rx, rm, lx, ly, lz;
    const char *name;
} fcn__cl_tile;
static const fcn__cl_tile fcn__cl_tiles[] = {
    {1, 1, 4, 16, 16, 1, "1x1 points x 4 maps a work item, 16x16x1 work items"},
    {2, 2, 8, 16, 16, 1, "2x2 points x 8 maps a work item, 16x16x1 work items"},
    {4, 4, 4, 8, 8, 4, "4x4 points x 4 maps a work item, 8x8x4 work items"},
    {4, 4, 4, 8, 8, 2, "4x4 points x 4 maps a work item, 8x8x2 work items"},
    {2, 4, 8, 8, 16, 2, "2x4 points x 8 maps a work item, 8x16x2 work items"},
    {4, 4, 8, 8, 8, 2, "4x4 points x 8 maps a work item, 8x8x2 work items"}};
#define FCN__CL_TILES ((int)(sizeof fcn__cl_tiles / sizeof fcn__cl_tiles[0]))
#define FCN__CL_TILE_DEFAULT 3 /* with tuning off: 64 accumulators, 256 work items, 16 maps */
#define FCN__CL_SLICE_MAX 8         /* input channels staged at once, at most */
#define FCN__CL_SLICE_BYTES 24576u  /* local memory a slice may take, when more would fit */

struct fcn_cl {
    cl_context ctx;
    cl_command_queue queue;
    cl_device_id dev;
    cl_program prog;
    cl_kernel k[FCN__CL_KERNELS];
    size_t wg[FCN__CL_KERNELS];     /* CL_KERNEL_WORK_GROUP_SIZE */
    cl_ulong klocal[FCN__CL_KERNELS]; /* CL_KERNEL_LOCAL_MEM_SIZE */
    size_t max_item[3];             /* CL_DEVICE_MAX_WORK_ITEM_SIZES */
    int out_of_order;
    int allow_inexact;              /* options.allow_inexact */
    int conv;                       /* the convolution kernel: FCN_CL_CONV_* */
    int vx, vom;                    /* the vector kernel's lanes (4, 8 or 16) and maps (4 or 8) */
    int tile;                       /* the tiled kernel's shape: fcn__cl_tiles[tile - 1] */
    int adapt;                      /* fit work-groups to small layers (GPUs; see fcn__cl_tiled_shape) */
    size_t cap;                     /* bytes: largest layer buffer of a piece */
    double build_seconds;
    fcn_cl_device_info info;
    fcn_cl_tuning tuning;
};

static double fcn__cl_now(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    return (double)clock() / CLOCKS_PER_SEC;
}

FCNDEF void fcn_cl_free(fcn_cl *cl)
{
    int i;
    if (!cl) return;
    for (i = 0; i < FCN__CL_KERNELS; i++)
        if (cl->k[i]) clReleaseKernel(cl->k[i]);
    if (cl->prog) clReleaseProgram(cl->prog);
    if (cl->queue) clReleaseCommandQueue(cl->queue);
    if (cl->ctx) clReleaseContext(cl->ctx);
    FCN_FREE(cl);
}

FCNDEF const fcn_cl_device_info *fcn_cl_device(const fcn_cl *cl) { return cl ? &cl->info : NULL; }
FCNDEF double fcn_cl_build_seconds(const fcn_cl *cl) { return cl ? cl->build_seconds : 0.0; }
FCNDEF const fcn_cl_tuning *fcn_cl_tuned(const fcn_cl *cl) { return cl ? &cl->tuning : NULL; }
FCNDEF int fcn_cl_tile_count(void) { return FCN__CL_TILES; }
FCNDEF const char *fcn_cl_tile_name(int tile)
{
    return tile >= 1 && tile <= FCN__CL_TILES ? fcn__cl_tiles[tile - 1].name : NULL;
}

/* "1500000", "64k", "256M", "2G" -> bytes; 0 if malformed or under 4 bytes (one float:
   a smaller cap would allow no buffer at all). It must start with a digit, so that
   "nan", "inf" and "-1" are malformed rather than cast (NaN to size_t is undefined). */
static size_t fcn__cl_parse_bytes(const char *s)
{
    double v;
    char *end;
    if (!s || *s < '0' || *s > '9') return 0;
    v = strtod(s, &end);
    if (*end == 'k' || *end == 'K') v *= 1024.0, end++;
    else if (*end == 'm' || *end == 'M') v *= 1048576.0, end++;
    else if (*end == 'g' || *end == 'G') v *= 1073741824.0, end++;
    if (*end || !(v >= 4.0)) return 0;
    return v >= (double)SIZE_MAX ? SIZE_MAX : (size_t)v;
}

/* The program's build options. */
static fcn_status fcn__cl_options(const fcn_cl *cl, const fcn_cl_options *o, char *opts, size_t size, fcn_error *err)
{
    int n = snprintf(opts, size, "-cl-std=CL1.2%s -DFCN_CL_OM=%d -DFCN_CL_VX=%d -DFCN_CL_VOM=%d%s%s",
                     cl->info.correct_divide ? " -cl-fp32-correctly-rounded-divide-sqrt" : "", FCN__CL_OM, cl->vx,
                     cl->vom, o->build_options ? " " : "", o->build_options ? o->build_options : "");
    if (n < 0 || (size_t)n >= size) return fcn__fail(err, FCN_ERR_ARG, "build_options too long");
    return FCN_OK;
}

/* The tiled kernel of shape tile's register block: "fcn_conv_tiled_4x4x4". */
static void fcn__cl_tiled_name(int tile, char *name, size_t size)
{
    const fcn__cl_tile *t = &fcn__cl_tiles[tile - 1];
    snprintf(name, size, "fcn_conv_tiled_%dx%dx%d", t->ry, t->rx, t->rm);
}

/* Shape tile's register block is the first shape's with it (it brings the block into
   the program). */
static int fcn__cl_block_first(int tile)
{
    const fcn__cl_tile *t = &fcn__cl_tiles[tile - 1];
    int i;
    for (i = 0; i < tile - 1; i++)
        if (fcn__cl_tiles[i].ry == t->ry && fcn__cl_tiles[i].rx == t->rx && fcn__cl_tiles[i].rm == t->rm) return 0;
    return 1;
}

/* The program's pieces: the source up to opencl/fcn_tiled.cl, then for each register
   block of the shapes its defines (into defs) and fcn_tiled.cl's pieces again. *n:
   how many. */
#define FCN__CL_TILED_PIECES (FCN__CL_SOURCE_PIECES - FCN__CL_TILED_PIECE)
#define FCN__CL_PROGRAM_PIECES (FCN__CL_TILED_PIECE + FCN__CL_TILES * (1 + FCN__CL_TILED_PIECES))
static void fcn__cl_program_text(const char **src, char (*defs)[256], int *n)
{
    int i, j, k = 0;
    for (i = 0; i < FCN__CL_TILED_PIECE; i++) src[k++] = fcn__cl_source[i];
    for (i = 1; i <= FCN__CL_TILES; i++) {
        const fcn__cl_tile *t = &fcn__cl_tiles[i - 1];
        char name[64];
        if (!fcn__cl_block_first(i)) continue;
        fcn__cl_tiled_name(i, name, sizeof name);
        snprintf(defs[i - 1], sizeof defs[i - 1],
                 "#undef FCN_CL_RY\n#undef FCN_CL_RX\n#undef FCN_CL_RM\n#undef FCN_CL_TILED\n#define FCN_CL_RY %d\n"
                 "#define FCN_CL_RX %d\n#define FCN_CL_RM %d\n#define FCN_CL_TILED %s\n",
                 t->ry, t->rx, t->rm, name);
        src[k++] = defs[i - 1];
        for (j = FCN__CL_TILED_PIECE; j < FCN__CL_SOURCE_PIECES; j++) src[k++] = fcn__cl_source[j];
    }
    *n = k;
}

/* Builds the program (into cl->prog); on failure the start of the log goes into err,
   all of it into the caller's buffer. */
static fcn_status fcn__cl_build(fcn_cl *cl, const fcn_cl_options *o, fcn_error *err)
{
    char opts[1024], defs[FCN__CL_TILES][256];
    const char *src[FCN__CL_PROGRAM_PIECES];
    cl_int e;
    double t0;
    int n;
    fcn_status st = fcn__cl_options(cl, o, opts, sizeof opts, err);
    if (st != FCN_OK) return st;
    fcn__cl_program_text(src, defs, &n);
    cl->prog = clCreateProgramWithSource(cl->ctx, (cl_uint)n, src, NULL, &e);
    if (!cl->prog) return fcn__cl_fail(err, "clCreateProgramWithSource", e, NULL);
    t0 = fcn__cl_now();
    e = clBuildProgram(cl->prog, 1, &cl->dev, opts, NULL, NULL);
    cl->build_seconds = fcn__cl_now() - t0;
    if (e != CL_SUCCESS) {
        size_t len = 0;
        char *log = NULL;
        if (clGetProgramBuildInfo(cl->prog, cl->dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) == CL_SUCCESS && len) {
            log = FCN__CAST(char *, FCN_MALLOC(len + 1));
            if (log && clGetProgramBuildInfo(cl->prog, cl->dev, CL_PROGRAM_BUILD_LOG, len, log, NULL) == CL_SUCCESS)
                log[len] = '\0';
            else if (log)
                log[0] = '\0';
        }
        if (o->build_log && o->build_log_size) {
            size_t m = log ? strlen(log) : 0;
            if (m >= o->build_log_size) m = o->build_log_size - 1;
            if (m) memcpy(o->build_log, log, m);
            o->build_log[m] = '\0';
        }
        {
            /* the log's first lines, blanks squeezed, fit the message */
            char head[400];
            size_t j = 0, k;
            int sp = 0;
            for (k = 0; log && log[k] && j + 1 < sizeof head; k++) {
                char c = log[k];
                if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
                    if (!sp && j) head[j++] = c == '\n' ? '|' : ' ';
                    sp = 1;
                } else {
                    head[j++] = c;
                    sp = 0;
                }
            }
            head[j] = '\0';
            fcn__cl_fail(err, "clBuildProgram", e, "the kernels do not build on %.60s; build log%s: %s", cl->info.name,
                         o->build_log ? " (all of it in options.build_log)" : "", j ? head : "(empty)");
        }
        FCN_FREE(log);
        return FCN_ERR_DEVICE;
    }
    return FCN_OK;
}

/* The kernel name of cl->prog, with its work-group limit and local memory. */
static fcn_status fcn__cl_kernel(fcn_cl *cl, const char *name, cl_kernel *out, size_t *wg, cl_ulong *local,
                                 fcn_error *err)
{
    cl_int e;
    size_t w = 1;
    cl_ulong l = 0;
    *out = clCreateKernel(cl->prog, name, &e);
    if (!*out) return fcn__cl_fail(err, "clCreateKernel", e, "%s", name);
    e = clGetKernelWorkGroupInfo(*out, cl->dev, CL_KERNEL_WORK_GROUP_SIZE, sizeof w, &w, NULL);
    if (e != CL_SUCCESS) {
        clReleaseKernel(*out);
        *out = NULL;
        return fcn__cl_fail(err, "clGetKernelWorkGroupInfo", e, "%s", name);
    }
    if (clGetKernelWorkGroupInfo(*out, cl->dev, CL_KERNEL_LOCAL_MEM_SIZE, sizeof l, &l, NULL) != CL_SUCCESS) l = 0;
    if (wg) *wg = w < 1 ? 1 : w;
    if (local) *local = l;
    return FCN_OK;
}

/* The kernels of cl->prog this fcn_cl runs: the tiled one of its shape's block. */
static fcn_status fcn__cl_kernels(fcn_cl *cl, fcn_error *err)
{
    char tiled[64];
    int i;
    fcn_status st = FCN_OK;
    fcn__cl_tiled_name(cl->tile, tiled, sizeof tiled);
    for (i = 0; i < FCN__CL_KERNELS && st == FCN_OK; i++)
        st = fcn__cl_kernel(cl, i == FCN__K_TILED ? tiled : fcn__cl_kernel_names[i], &cl->k[i], &cl->wg[i],
                            &cl->klocal[i], err);
    return st;
}

/* The caller's queue (options.queue): its device and context. */
static fcn_status fcn__cl_use_queue(fcn_cl *cl, cl_command_queue q, fcn_error *err)
{
    cl_command_queue_properties qp = 0;
    fcn__cl_dev one;
    cl_int e = clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof cl->ctx, &cl->ctx, NULL);
    if (e == CL_SUCCESS) e = clGetCommandQueueInfo(q, CL_QUEUE_DEVICE, sizeof cl->dev, &cl->dev, NULL);
    if (e == CL_SUCCESS) e = clGetCommandQueueInfo(q, CL_QUEUE_PROPERTIES, sizeof qp, &qp, NULL);
    if (e != CL_SUCCESS) {
        cl->ctx = NULL;
        return fcn__cl_fail(err, "clGetCommandQueueInfo", e, "options.queue is not a usable queue");
    }
    clRetainContext(cl->ctx);
    clRetainCommandQueue(q);
    cl->queue = q;
    cl->out_of_order = (qp & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    one.dev = cl->dev;
    one.pi = 0;
    if (clGetDeviceInfo(cl->dev, CL_DEVICE_PLATFORM, sizeof one.plat, &one.plat, NULL) != CL_SUCCESS) one.plat = NULL;
    fcn__cl_fill(&one, 0, &cl->info);
    if (!cl->info.exact && !cl->allow_inexact)
        return fcn__fail(err, FCN_ERR_DEVICE,
                         "OpenCL device %.80s (options.queue's) cannot keep the arithmetic contract: %s; its maps "
                         "could differ from the CPU's. Use another device or allow inexact maps",
                         cl->info.name, cl->info.inexact_why);
    return FCN_OK;
}

/* The devices of the caller's context (options.context), into *devs (to free). */
static fcn_status fcn__cl_context_devices(cl_context ctx, fcn__cl_dev **devs, int *n, fcn_error *err)
{
    cl_uint nd = 0, i;
    cl_device_id *ids;
    cl_int e = clGetContextInfo(ctx, CL_CONTEXT_NUM_DEVICES, sizeof nd, &nd, NULL);
    if (e != CL_SUCCESS || nd == 0) return fcn__cl_fail(err, "clGetContextInfo", e, "options.context has no usable device");
    ids = FCN__CAST(cl_device_id *, fcn__alloc(nd, sizeof *ids));
    *devs = FCN__CAST(fcn__cl_dev *, fcn__alloc(nd, sizeof **devs));
    if (!ids || !*devs) {
        FCN_FREE(ids);
        FCN_FREE(*devs);
        *devs = NULL;
        return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    }
    e = clGetContextInfo(ctx, CL_CONTEXT_DEVICES, nd * sizeof *ids, ids, NULL);
    for (i = 0; i < nd; i++) {
        (*devs)[i].dev = ids[i];
        (*devs)[i].pi = 0;
        if (clGetDeviceInfo(ids[i], CL_DEVICE_PLATFORM, sizeof (*devs)[i].plat, &(*devs)[i].plat, NULL) != CL_SUCCESS)
            (*devs)[i].plat = NULL;
    }
    FCN_FREE(ids);
    if (e != CL_SUCCESS) {
        FCN_FREE(*devs);
        *devs = NULL;
        return fcn__cl_fail(err, "clGetContextInfo", e, "cannot list options.context's devices");
    }
    *n = (int)nd;
    return FCN_OK;
}

/* Device idx of devs: its context (the caller's, or a new one) and a new in-order queue. */
static fcn_status fcn__cl_open(fcn_cl *cl, const fcn__cl_dev *d, cl_context ctx, int idx, fcn_error *err)
{
    cl_int e;
    cl->dev = d->dev;
    if (ctx) {
        clRetainContext(ctx);
        cl->ctx = ctx;
    } else {
        cl_context_properties props[3];
        props[0] = CL_CONTEXT_PLATFORM;
        props[1] = (cl_context_properties)d->plat;
        props[2] = 0;
        cl->ctx = clCreateContext(props, 1, &cl->dev, NULL, NULL, &e);
        if (!cl->ctx) return fcn__cl_fail(err, "clCreateContext", e, "device %d (%.100s)", idx, cl->info.name);
    }
    if (!cl->info.exact && !cl->allow_inexact)
        return fcn__fail(err, FCN_ERR_DEVICE,
                         "OpenCL device %d (%.80s) cannot keep the arithmetic contract: %s; its maps could "
                         "differ from the CPU's. Choose another device (`fcn devices`) or allow inexact maps",
                         cl->info.index, cl->info.name, cl->info.inexact_why);
    cl->queue = clCreateCommandQueue(cl->ctx, cl->dev, 0, &e);
    if (!cl->queue) return fcn__cl_fail(err, "clCreateCommandQueue", e, "device %.100s", cl->info.name);
    return FCN_OK;
}

/* Chooses a device (options.device, else FCN_OPENCL_DEVICE, else the default) among the
   caller's context's devices or every platform's, and opens it. */
static fcn_status fcn__cl_use_device(fcn_cl *cl, const fcn_cl_options *o, fcn_error *err)
{
    fcn__cl_dev *devs = NULL;
    fcn_cl_device_info *info;
    const char *sel = o->device, *from = "options.device";
    int n = 0, idx = 0, i;
    fcn_status st;
    if (!sel || !sel[0]) {
        sel = getenv("FCN_OPENCL_DEVICE");
        from = "FCN_OPENCL_DEVICE";
    }
    st = o->context ? fcn__cl_context_devices(o->context, &devs, &n, err) : fcn__cl_enumerate(&devs, &n, err);
    if (st != FCN_OK) return st;
    info = FCN__CAST(fcn_cl_device_info *, fcn__alloc((size_t)n, sizeof *info));
    if (!info) {
        FCN_FREE(devs);
        return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    }
    for (i = 0; i < n; i++) fcn__cl_fill(&devs[i], i, &info[i]);
    st = fcn__cl_choose(info, n, sel, from, &idx, err);
    if (st == FCN_OK) {
        cl->info = info[idx];
        cl->info.is_default = idx == fcn__cl_default(info, n);
        st = fcn__cl_open(cl, &devs[idx], o->context, idx, err);
    }
    FCN_FREE(info);
    FCN_FREE(devs);
    return st;
}

/* What the kernels need to know of the device: that it can compile, its work-item
   limits and its preferred vector width (the vector kernel's: 4 to 16). */
static fcn_status fcn__cl_device_caps(fcn_cl *cl, fcn_error *err)
{
    cl_bool comp = CL_TRUE, avail = CL_TRUE;
    cl_uint pv = 8;
    clGetDeviceInfo(cl->dev, CL_DEVICE_COMPILER_AVAILABLE, sizeof comp, &comp, NULL);
    clGetDeviceInfo(cl->dev, CL_DEVICE_AVAILABLE, sizeof avail, &avail, NULL);
    if (!avail || !comp)
        return fcn__fail(err, FCN_ERR_DEVICE, "OpenCL device %.100s: %s", cl->info.name,
                         !avail ? "not available" : "no compiler available (CL_DEVICE_COMPILER_AVAILABLE)");
    if (clGetDeviceInfo(cl->dev, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof cl->max_item, cl->max_item, NULL) != CL_SUCCESS)
        cl->max_item[0] = cl->max_item[1] = cl->max_item[2] = 1;
    if (clGetDeviceInfo(cl->dev, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof pv, &pv, NULL) != CL_SUCCESS) pv = 8;
    cl->vx = pv >= 16 ? 16 : pv >= 8 ? 8 : 4;
    cl->vom = cl->vx >= 16 ? 8 : 4; /* 2 x vom accumulators: 16 of the 32 AVX-512 registers */
    return FCN_OK;
}

/* The piece cap: a layer buffer at most the device's largest allocation and a quarter
   of its memory (two are live), the caller's cap (options.max_alloc, else
   FCN_OPENCL_MAX_ALLOC), and 2^31 - 1 floats. */
static fcn_status fcn__cl_set_cap(fcn_cl *cl, const fcn_cl_options *o, fcn_error *err)
{
    size_t cap = (size_t)cl->info.max_alloc;
    const char *env = getenv("FCN_OPENCL_MAX_ALLOC");
    if (cl->info.global_mem / 4 < (unsigned long long)cap) cap = (size_t)(cl->info.global_mem / 4);
    if (o->max_alloc) {
        if (o->max_alloc < cap) cap = o->max_alloc;
    } else if (env && env[0]) {
        size_t v = fcn__cl_parse_bytes(env);
        if (!v)
            return fcn__fail(err, FCN_ERR_ARG,
                             "FCN_OPENCL_MAX_ALLOC='%.40s': expected bytes (at least 4), e.g. 1000000, 64k, 256M, 2G",
                             env);
        if (v < cap) cap = v;
    }
    if (cap / sizeof(float) > (size_t)INT_MAX) cap = (size_t)INT_MAX * sizeof(float);
    cl->cap = cap;
    return FCN_OK;
}

/* The convolution kernel: options.conv_kernel, else FCN_OPENCL_CONV, else by device type. */
static fcn_status fcn__cl_set_conv(fcn_cl *cl, const fcn_cl_options *o, fcn_error *err)
{
    const char *env = getenv("FCN_OPENCL_CONV");
    int i;
    if (o->conv_kernel) {
        cl->conv = o->conv_kernel;
    } else if (env && env[0]) {
        for (i = 1; i <= 3; i++)
            if (strcmp(env, fcn__cl_conv_names[i]) == 0) cl->conv = i;
        if (!cl->conv) return fcn__fail(err, FCN_ERR_ARG, "FCN_OPENCL_CONV='%.40s': expected simple, tiled or vector", env);
    } else {
        cl->conv = cl->info.gpu ? FCN_CL_CONV_TILED : cl->info.cpu ? FCN_CL_CONV_VECTOR : FCN_CL_CONV_SIMPLE;
    }
    return FCN_OK;
}

static fcn_status fcn__cl_tile_setup(fcn_cl *cl, const fcn_cl_options *o, fcn_error *err); /* >>tune */

FCNDEF fcn_status fcn_cl_create(const fcn_cl_options *opt, fcn_cl **out, fcn_error *err)
{
    fcn_cl_options zero;
    fcn_cl *cl;
    fcn_status st;
    if (!out) return fcn__fail(err, FCN_ERR_ARG, "fcn_cl_create: out is NULL");
    *out = NULL;
    if (!opt) {
        memset(&zero, 0, sizeof zero);
        opt = &zero;
    }
    if (opt->conv_kernel < 0 || opt->conv_kernel > 3)
        return fcn__fail(err, FCN_ERR_ARG, "conv_kernel %d: expected 0 (auto), 1 (simple), 2 (tiled) or 3 (vector)",
                         opt->conv_kernel);
    cl = FCN__CAST(fcn_cl *, FCN_MALLOC(sizeof *cl));
    if (!cl) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    memset(cl, 0, sizeof *cl);
    cl->allow_inexact = opt->allow_inexact;
    st = opt->queue ? fcn__cl_use_queue(cl, opt->queue, err) : fcn__cl_use_device(cl, opt, err);
    if (st == FCN_OK) st = fcn__cl_device_caps(cl, err);
    if (st == FCN_OK) st = fcn__cl_set_cap(cl, opt, err);
    if (st == FCN_OK) st = fcn__cl_set_conv(cl, opt, err);
    if (st == FCN_OK) st = fcn__cl_build(cl, opt, err);
    if (st == FCN_OK) st = fcn__cl_tile_setup(cl, opt, err); /* the tiled kernel's shape */
    if (st == FCN_OK) st = fcn__cl_kernels(cl, err);
    if (st != FCN_OK) {
        fcn_cl_free(cl);
        return st;
    }
    *out = cl;
    fcn__ok(err);
    return FCN_OK;
}

/* >>map */
typedef struct fcn__cl_args {
    cl_kernel k;
    cl_uint i;
    cl_int e;
} fcn__cl_args;

static void fcn__cl_int(fcn__cl_args *a, int v)
{
    if (a->e == CL_SUCCESS) a->e = clSetKernelArg(a->k, a->i, sizeof v, &v);
    a->i++;
}
static void fcn__cl_float(fcn__cl_args *a, float v)
{
    if (a->e == CL_SUCCESS) a->e = clSetKernelArg(a->k, a->i, sizeof v, &v);
    a->i++;
}
static void fcn__cl_buf(fcn__cl_args *a, cl_mem m)
{
    if (a->e == CL_SUCCESS) a->e = clSetKernelArg(a->k, a->i, sizeof m, &m);
    a->i++;
}
static void fcn__cl_local(fcn__cl_args *a, size_t bytes)
{
    if (a->e == CL_SUCCESS) a->e = clSetKernelArg(a->k, a->i, bytes, NULL);
    a->i++;
}

static size_t fcn__cl_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* A wx x wy work-group (powers of two), halved until it fits the kernel's and the
   device's limits. The shape does not depend on the grid (the grid is rounded up to it):
   drivers that compile per work-group size (PoCL) then compile each kernel once. */
static void fcn__cl_local2(const fcn_cl *cl, int k, size_t wx, size_t wy, size_t *l)
{
    size_t wg = cl->wg[k], lx = wx, ly = wy;
    while (lx > 1 && (lx > cl->max_item[0] || lx * ly > wg) && lx >= ly) lx /= 2;
    while (ly > 1 && (ly > cl->max_item[1] || lx * ly > wg)) ly /= 2;
    while (lx > 1 && (lx > cl->max_item[0] || lx * ly > wg)) lx /= 2;
    l[0] = lx;
    l[1] = ly;
    l[2] = 1;
}

static cl_int fcn__cl_enqueue(fcn_cl *cl, cl_kernel k, cl_uint dims, const size_t *global, const size_t *local)
{
    cl_int e = clEnqueueNDRangeKernel(cl->queue, k, dims, NULL, global, local, 0, NULL, NULL);
    if (e == CL_SUCCESS && cl->out_of_order) e = clEnqueueBarrierWithWaitList(cl->queue, 0, NULL, NULL);
    return e;
}

typedef struct fcn__cl_run {
    fcn_cl *cl;
    const fcn_net *net;
    const fcn__dlayer *plan;
    cl_mem a, b, w;
    const size_t *voff; /* the vector kernel's reordered weights of each layer, in w */
    size_t len;         /* floats in a and b */
    const char *call;   /* the failing call, for the message */
    int layer;          /* and the layer, -1 if none */
} fcn__cl_run;

/* One convolution as the kernels take it: buffers, where its weights (woff) and biases
   (boff) start in par, and the plan's grids. */
typedef struct fcn__cl_convp {
    cl_mem in, out, par;
    int woff, boff, cin, kh, kw, in_h, in_w, out_h, out_w, step, dil, maps;
} fcn__cl_convp;

/* The arguments the three convolution kernels share, in their order. */
static void fcn__cl_conv_args(fcn__cl_args *a, cl_kernel k, const fcn__cl_convp *c)
{
    a->k = k;
    a->i = 0;
    a->e = CL_SUCCESS;
    fcn__cl_buf(a, c->in);
    fcn__cl_buf(a, c->out);
    fcn__cl_buf(a, c->par);
    fcn__cl_int(a, c->woff);
    fcn__cl_int(a, c->boff);
    fcn__cl_int(a, c->cin);
    fcn__cl_int(a, c->kh);
    fcn__cl_int(a, c->kw);
    fcn__cl_int(a, c->in_h);
    fcn__cl_int(a, c->in_w);
    fcn__cl_int(a, c->out_h);
    fcn__cl_int(a, c->out_w);
    fcn__cl_int(a, c->step);
    fcn__cl_int(a, c->dil);
    fcn__cl_int(a, c->maps);
}

/* The tiled kernel's work-group for one layer (l), the input channels of a slice (*cs)
   and the local floats of a slice's input (*tn) and weights (*wn): shape tile's
   work-group, fitted to the layer (one class's ni x nj points, its maps) where cl->adapt
   (GPUs; drivers that compile each work-group size anew, as PoCL does, keep one shape),
   then halved (maps first, then the longer side) until it fits the kernel's limit (wg),
   the device's work-item sizes and, a slice of at least one channel, the local memory
   the kernel leaves (local: what it takes itself). 0 if even one work item does not. */
static int fcn__cl_tiled_shape(const fcn_cl *cl, int tile, size_t wg, cl_ulong local, const fcn__cl_convp *c,
                               size_t *l, int *cs, size_t *tn, size_t *wn)
{
    const fcn__cl_tile *t = &fcn__cl_tiles[tile - 1];
    size_t ni = (size_t)((c->out_h + c->dil - 1) / c->dil), nj = (size_t)((c->out_w + c->dil - 1) / c->dil);
    size_t lx = (size_t)t->lx, ly = (size_t)t->ly, lz = (size_t)t->lz, kk = (size_t)c->kh * (size_t)c->kw;
    size_t avail = cl->info.local_mem > local ? (size_t)(cl->info.local_mem - local) : 0;
    size_t budget = avail < FCN__CL_SLICE_BYTES ? avail : FCN__CL_SLICE_BYTES;
    if (cl->adapt) {
        while (lx > 1 && lx / 2 * (size_t)t->rx >= nj) lx /= 2;
        while (ly > 1 && ly / 2 * (size_t)t->ry >= ni) ly /= 2;
        while (lz > 1 && lz / 2 * (size_t)t->rm >= (size_t)c->maps) lz /= 2;
    }
    for (;;) {
        size_t th = (ly * (size_t)t->ry - 1) * (size_t)c->step + (size_t)c->kh;
        size_t tw = (lx * (size_t)t->rx - 1) * (size_t)c->step + (size_t)c->kw;
        size_t per = (th * tw + kk * lz * (size_t)t->rm) * sizeof(float), n;
        if (lx <= cl->max_item[0] && ly <= cl->max_item[1] && lz <= cl->max_item[2] && lx * ly * lz <= wg &&
            per <= avail) {
            n = budget / per;
            if (n < 1) n = 1;
            if (n > FCN__CL_SLICE_MAX) n = FCN__CL_SLICE_MAX;
            if (n > (size_t)c->cin) n = (size_t)c->cin;
            l[0] = lx;
            l[1] = ly;
            l[2] = lz;
            *cs = (int)n;
            *tn = th * tw;
            *wn = kk * lz * (size_t)t->rm;
            return 1;
        }
        if (lx == 1 && ly == 1 && lz == 1) return 0;
        if (lz > 1) lz /= 2;
        else if (lx >= ly) lx /= 2;
        else ly /= 2;
    }
}

/* The convolution c with the tiled kernel k (shape tile, its limits wg and local). Sets
   *fits to 0, enqueuing nothing, if no work-group fits the device. */
static cl_int fcn__cl_tiled(fcn_cl *cl, cl_kernel k, int tile, size_t wg, cl_ulong local, const fcn__cl_convp *c,
                            int *fits, const char **call)
{
    const fcn__cl_tile *t = &fcn__cl_tiles[tile - 1];
    size_t l[3], g[3], tn, wn, ni = (size_t)((c->out_h + c->dil - 1) / c->dil),
                                   nj = (size_t)((c->out_w + c->dil - 1) / c->dil), bx, by, gm;
    int cs;
    fcn__cl_args a;
    *fits = fcn__cl_tiled_shape(cl, tile, wg, local, c, l, &cs, &tn, &wn);
    if (!*fits) return CL_SUCCESS;
    bx = l[0] * (size_t)t->rx;
    by = l[1] * (size_t)t->ry;
    gm = l[2] * (size_t)t->rm;
    fcn__cl_conv_args(&a, k, c);
    fcn__cl_int(&a, (int)((nj + bx - 1) / bx));
    fcn__cl_int(&a, (int)((ni + by - 1) / by));
    fcn__cl_int(&a, cs);
    fcn__cl_local(&a, (size_t)cs * tn * sizeof(float));
    fcn__cl_local(&a, (size_t)cs * wn * sizeof(float));
    if (a.e != CL_SUCCESS) {
        *call = "clSetKernelArg";
        return a.e;
    }
    g[0] = (size_t)c->dil * fcn__cl_up(nj, bx) / (size_t)t->rx;
    g[1] = (size_t)c->dil * fcn__cl_up(ni, by) / (size_t)t->ry;
    g[2] = fcn__cl_up((size_t)c->maps, gm) / (size_t)t->rm;
    *call = "clEnqueueNDRangeKernel(fcn_conv_tiled)";
    return fcn__cl_enqueue(cl, k, 3, g, l);
}

/* A convolution or fc layer from r->a into r->b. */
static cl_int fcn__cl_conv(fcn__cl_run *r, int i)
{
    fcn_cl *cl = r->cl;
    const fcn__layer *L = &r->net->layers[i];
    const fcn__dlayer *p = &r->plan[i];
    fcn__cl_convp c;
    size_t g[3], l[3];
    fcn__cl_args a;
    c.in = r->a;
    c.out = r->b;
    c.par = r->w;
    c.woff = (int)(L->w - r->net->params);
    c.boff = (int)(L->b - r->net->params);
    c.cin = L->in.c;
    c.kh = L->d.kh;
    c.kw = L->d.kw;
    c.in_h = p->in_h;
    c.in_w = p->in_w;
    c.out_h = p->out_h;
    c.out_w = p->out_w;
    c.step = p->step;
    c.dil = p->dil;
    c.maps = L->out.c;
    if (cl->conv == FCN_CL_CONV_VECTOR) {
        c.woff = (int)r->voff[i];
        fcn__cl_conv_args(&a, cl->k[FCN__K_VEC], &c);
        fcn__cl_int(&a, (int)r->len);
        if (a.e != CL_SUCCESS) {
            r->call = "clSetKernelArg";
            return a.e;
        }
        /* a column of work items: a CPU runs them in order, and vertical neighbours read
           mostly the same input rows, still in the L1 cache */
        fcn__cl_local2(cl, FCN__K_VEC, 1, 16, l);
        g[0] = fcn__cl_up((size_t)(p->out_w + cl->vx - 1) / (size_t)cl->vx, l[0]);
        g[1] = fcn__cl_up((size_t)(p->out_h + 1) / 2, l[1]);
        g[2] = (size_t)((c.maps + cl->vom - 1) / cl->vom);
        r->call = "clEnqueueNDRangeKernel(fcn_conv_vec)";
        return fcn__cl_enqueue(cl, cl->k[FCN__K_VEC], 3, g, l);
    }
    if (cl->conv == FCN_CL_CONV_TILED) {
        int fits;
        cl_int e = fcn__cl_tiled(cl, cl->k[FCN__K_TILED], cl->tile, cl->wg[FCN__K_TILED], cl->klocal[FCN__K_TILED], &c,
                                 &fits, &r->call);
        if (fits) return e;
        /* too large for local memory: the simple kernel */
    }
    fcn__cl_conv_args(&a, cl->k[FCN__K_CONV], &c);
    if (a.e != CL_SUCCESS) {
        r->call = "clSetKernelArg";
        return a.e;
    }
    fcn__cl_local2(cl, FCN__K_CONV, 16, 8, l);
    g[0] = fcn__cl_up((size_t)p->out_w, l[0]);
    g[1] = fcn__cl_up((size_t)p->out_h, l[1]);
    g[2] = (size_t)((c.maps + FCN__CL_OM - 1) / FCN__CL_OM);
    r->call = "clEnqueueNDRangeKernel(fcn_conv)";
    return fcn__cl_enqueue(cl, cl->k[FCN__K_CONV], 3, g, l);
}

static cl_int fcn__cl_pool(fcn__cl_run *r, int i)
{
    fcn_cl *cl = r->cl;
    const fcn__layer *L = &r->net->layers[i];
    const fcn__dlayer *p = &r->plan[i];
    int vec = cl->conv == FCN_CL_CONV_VECTOR, k = vec ? FCN__K_POOL_VEC : FCN__K_POOL;
    size_t g[3], l[3], gw = vec ? (size_t)(p->out_w + cl->vx - 1) / (size_t)cl->vx : (size_t)p->out_w;
    fcn__cl_args a;
    a.k = cl->k[k];
    a.i = 0;
    a.e = CL_SUCCESS;
    fcn__cl_buf(&a, r->a);
    fcn__cl_buf(&a, r->b);
    fcn__cl_int(&a, L->d.kh);
    fcn__cl_int(&a, L->d.kw);
    fcn__cl_int(&a, p->in_h);
    fcn__cl_int(&a, p->in_w);
    fcn__cl_int(&a, p->out_h);
    fcn__cl_int(&a, p->out_w);
    fcn__cl_int(&a, p->step);
    fcn__cl_int(&a, p->dil);
    fcn__cl_int(&a, L->d.type == FCN_LAYER_MAXPOOL);
    if (vec) fcn__cl_int(&a, (int)r->len);
    if (a.e != CL_SUCCESS) {
        r->call = "clSetKernelArg";
        return a.e;
    }
    fcn__cl_local2(cl, k, vec ? 1 : 16, vec ? 16 : 8, l);
    g[0] = fcn__cl_up(gw, l[0]);
    g[1] = fcn__cl_up((size_t)p->out_h, l[1]);
    g[2] = (size_t)L->out.c;
    r->call = vec ? "clEnqueueNDRangeKernel(fcn_pool_vec)" : "clEnqueueNDRangeKernel(fcn_pool)";
    return fcn__cl_enqueue(cl, cl->k[k], 3, g, l);
}

static size_t fcn__cl_local1(const fcn_cl *cl, int k)
{
    size_t l = 128;
    while (l > 1 && (l > cl->wg[k] || l > cl->max_item[0])) l /= 2;
    return l;
}

/* relu, tanh, sigmoid or softmax in place on r->a. */
static cl_int fcn__cl_pointwise(fcn__cl_run *r, int i)
{
    fcn_cl *cl = r->cl;
    const fcn__layer *L = &r->net->layers[i];
    const fcn__dlayer *p = &r->plan[i];
    size_t n = (size_t)p->out_h * (size_t)p->out_w, g, l;
    fcn__cl_args a;
    int k = L->d.type == FCN_LAYER_SOFTMAX ? FCN__K_SOFTMAX : FCN__K_ACT;
    if (L->d.type == FCN_LAYER_DROPOUT) return CL_SUCCESS;
    a.k = cl->k[k];
    a.i = 0;
    a.e = CL_SUCCESS;
    fcn__cl_buf(&a, r->a);
    if (k == FCN__K_SOFTMAX) {
        fcn__cl_int(&a, (int)n);
        fcn__cl_int(&a, L->out.c);
    } else {
        n *= (size_t)L->out.c;
        fcn__cl_int(&a, (int)n);
        fcn__cl_int(&a, (int)L->d.type);
        fcn__cl_float(&a, L->d.slope);
    }
    if (a.e != CL_SUCCESS) {
        r->call = "clSetKernelArg";
        return a.e;
    }
    l = fcn__cl_local1(cl, k);
    g = fcn__cl_up(n, l);
    r->call = k == FCN__K_SOFTMAX ? "clEnqueueNDRangeKernel(fcn_softmax)" : "clEnqueueNDRangeKernel(fcn_act)";
    return fcn__cl_enqueue(cl, cl->k[k], 1, &g, &l);
}

static int fcn__cl_nomem(cl_int e) { return e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_HOST_MEMORY; }

/* Plans an rh x rw piece: its largest layer buffer (floats) in p->big. */
static fcn_status fcn__cl_piece_plan(const fcn__job *j, int rh, int rw, fcn__plan *p, fcn_error *err)
{
    return fcn__dense_plan(j->net, rh, rw, j->stride, p, err);
}

/* The largest piece: the tallest full-width band whose layer buffers hold at most cap
   floats, else the widest one-row piece. */
static fcn_status fcn__cl_piece_dims(const fcn__job *j, size_t cap, fcn__plan *p, int *bh, int *bw, fcn_error *err)
{
    int lo = 1, hi, tall;
    fcn_status st = fcn__cl_piece_plan(j, 1, j->rw, p, err);
    *bh = 1;
    *bw = j->rw;
    if (st != FCN_OK) return st;
    tall = p->big <= cap;
    hi = tall ? j->rh : j->rw;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if ((st = fcn__cl_piece_plan(j, tall ? mid : 1, tall ? j->rw : mid, p, err)) != FCN_OK) return st;
        if (p->big <= cap) lo = mid;
        else hi = mid - 1;
    }
    if (tall) *bh = lo;
    else *bw = lo;
    return FCN_OK;
}

/* The map of the piece at (y0, x0) of the rectangle, ph x pw: every q-th point of the
   last grid, channels last, gathered into r->b and read into its place in out. */
static cl_int fcn__cl_gather(fcn__cl_run *r, const fcn__job *j, int y0, int x0, int ph, int pw, float *out)
{
    fcn_cl *cl = r->cl;
    const fcn__dlayer *last = &r->plan[j->net->n - 1];
    size_t K = (size_t)fcn_net_outputs(j->net), gs[2], l[3], region[3], bo[3] = {0, 0, 0}, ho[3];
    fcn__cl_args a;
    cl_int e;
    r->layer = -1;
    a.k = cl->k[FCN__K_GATHER];
    a.i = 0;
    a.e = CL_SUCCESS;
    fcn__cl_buf(&a, r->a);
    fcn__cl_buf(&a, r->b);
    fcn__cl_int(&a, last->out_h * last->out_w);
    fcn__cl_int(&a, last->out_w);
    fcn__cl_int(&a, j->stride / last->g);
    fcn__cl_int(&a, ph);
    fcn__cl_int(&a, pw);
    fcn__cl_int(&a, (int)K);
    r->call = "clSetKernelArg";
    if ((e = a.e) != CL_SUCCESS) return e;
    fcn__cl_local2(cl, FCN__K_GATHER, 16, 8, l);
    gs[0] = fcn__cl_up((size_t)pw, l[0]);
    gs[1] = fcn__cl_up((size_t)ph, l[1]);
    r->call = "clEnqueueNDRangeKernel(fcn_gather)";
    if ((e = fcn__cl_enqueue(cl, cl->k[FCN__K_GATHER], 2, gs, l)) != CL_SUCCESS) return e;
    ho[0] = (size_t)x0 * K * sizeof(float);
    ho[1] = (size_t)y0;
    ho[2] = 0;
    region[0] = (size_t)pw * K * sizeof(float);
    region[1] = (size_t)ph;
    region[2] = 1;
    r->call = "clEnqueueReadBufferRect(map)";
    return clEnqueueReadBufferRect(cl->queue, r->b, CL_TRUE, bo, ho, region, region[0], 0,
                                   (size_t)j->rw * K * sizeof(float), 0, out, 0, NULL, NULL);
}

/* One piece at (y0, x0) of the rectangle, ph x pw: the input crop cut on the host (into
   host), every layer on the device, then the gather. */
static cl_int fcn__cl_piece(fcn__cl_run *r, const fcn__job *j, fcn__plan *p, int y0, int x0, int ph, int pw,
                            float *host, float *out)
{
    const fcn_net *net = j->net;
    fcn__job pj = *j;
    cl_int e;
    int i;
    pj.ry = j->ry + y0;
    pj.rx = j->rx + x0;
    if (fcn__cl_piece_plan(j, ph, pw, p, NULL) != FCN_OK) return CL_INVALID_VALUE; /* planned before: cannot fail */
    fcn__cut(&pj, pj.ry * j->stride, pj.rx * j->stride, p->ch, p->cw, host);
    r->call = "clEnqueueWriteBuffer(input)";
    r->layer = -1;
    e = clEnqueueWriteBuffer(r->cl->queue, r->a, CL_TRUE, 0,
                             (size_t)p->ch * (size_t)p->cw * (size_t)net->input.c * sizeof(float), host, 0, NULL, NULL);
    for (i = 0; i < net->n && e == CL_SUCCESS; i++) {
        const fcn__layer *L = &net->layers[i];
        cl_mem t;
        r->layer = i;
        if (L->d.type == FCN_LAYER_CONV || L->d.type == FCN_LAYER_FC) e = fcn__cl_conv(r, i);
        else if (fcn__is_pool(L->d.type)) e = fcn__cl_pool(r, i);
        else {
            e = fcn__cl_pointwise(r, i);
            continue;
        }
        t = r->a, r->a = r->b, r->b = t;
    }
    return e == CL_SUCCESS ? fcn__cl_gather(r, j, y0, x0, ph, pw, out) : e;
}

/* The two layer buffers of len floats and the weights (wbuf, nw floats) on the device. */
static cl_int fcn__cl_buffers(fcn__cl_run *r, size_t len, const float *wbuf, size_t nw)
{
    fcn_cl *cl = r->cl;
    cl_int e = CL_SUCCESS;
    r->len = len;
    r->call = "clCreateBuffer";
    r->a = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, len * sizeof(float), NULL, &e);
    if (r->a) r->b = clCreateBuffer(cl->ctx, CL_MEM_READ_WRITE, len * sizeof(float), NULL, &e);
    if (r->b) r->w = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY, (nw ? nw : 1) * sizeof(float), NULL, &e);
    if (r->w && nw) {
        r->call = "clEnqueueWriteBuffer(weights)";
        e = clEnqueueWriteBuffer(cl->queue, r->w, CL_TRUE, 0, nw * sizeof(float), wbuf, 0, NULL, NULL);
    }
    return e;
}

/* The message for an OpenCL failure during a map of bh x bw pieces. */
static fcn_status fcn__cl_map_fail(const fcn__cl_run *r, cl_int e, int bh, int bw, fcn_error *err)
{
    const char *nomem = fcn__cl_nomem(e) ? " (out of device memory)" : "";
    clFinish(r->cl->queue);
    if (r->layer >= 0)
        return fcn__cl_fail(err, r->call, e, "layer %d (%s) of a %dx%d piece on %.80s%s", r->layer + 1,
                            fcn_layer_name(r->net->layers[r->layer].d.type), bh, bw, r->cl->info.name, nomem);
    return fcn__cl_fail(err, r->call, e, "a %dx%d piece (%lu-byte layer buffers) on %.80s%s", bh, bw,
                        (unsigned long)(r->len * sizeof(float)), r->cl->info.name, nomem);
}

/* Maps the job's rectangle in pieces whose layer buffers hold at most cap floats. Sets
   *nomem (and returns FCN_ERR_DEVICE) when the device ran out of memory. */
static fcn_status fcn__cl_pieces(fcn_cl *cl, const fcn__job *j, size_t cap, const float *wbuf, size_t nw,
                                 const size_t *voff, float *out, int *nomem, fcn_error *err)
{
    const fcn_net *net = j->net;
    fcn__plan plan;
    fcn__cl_run r;
    float *host = NULL;
    int bh, bw, y0, x0;
    long done = 0, total;
    cl_int e = CL_SUCCESS;
    fcn_status st;
    *nomem = 0;
    memset(&r, 0, sizeof r);
    plan.l = FCN__CAST(fcn__dlayer *, fcn__alloc((size_t)net->n, sizeof *plan.l));
    if (!plan.l) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    st = fcn__cl_piece_dims(j, cap, &plan, &bh, &bw, err);
    if (st == FCN_OK) st = fcn__cl_piece_plan(j, bh, bw, &plan, err);
    if (st == FCN_OK && plan.big > cap)
        st = fcn__fail(err, FCN_ERR_DEVICE,
                       "one output pixel needs a %lu-byte layer buffer, more than the %lu bytes allowed on %.80s",
                       (unsigned long)(plan.big * sizeof(float)), (unsigned long)(cap * sizeof(float)), cl->info.name);
    if (st == FCN_OK) {
        size_t crop = (size_t)plan.ch * (size_t)plan.cw * (size_t)net->input.c;
        host = FCN__CAST(float *, fcn__alloc(crop, sizeof(float)));
        if (!host) st = fcn__fail(err, FCN_ERR_NOMEM, "out of memory for a %lu-float input crop", (unsigned long)crop);
    }
    if (st != FCN_OK) {
        FCN_FREE(plan.l);
        return st;
    }
    total = (long)((j->rh + bh - 1) / bh) * (long)((j->rw + bw - 1) / bw);
    r.cl = cl;
    r.net = net;
    r.plan = plan.l;
    r.layer = -1;
    r.voff = voff;
    e = fcn__cl_buffers(&r, plan.big, wbuf, nw);
    for (y0 = 0; y0 < j->rh && e == CL_SUCCESS && st == FCN_OK; y0 += bh)
        for (x0 = 0; x0 < j->rw && e == CL_SUCCESS && st == FCN_OK; x0 += bw) {
            e = fcn__cl_piece(&r, j, &plan, y0, x0, bh < j->rh - y0 ? bh : j->rh - y0,
                              bw < j->rw - x0 ? bw : j->rw - x0, host, out);
            if (e == CL_SUCCESS && j->prog.fn && j->prog.fn(j->prog.user, ++done, total))
                st = fcn__fail(err, FCN_ERR_CANCELLED, "cancelled by the progress callback");
        }
    if (e != CL_SUCCESS) {
        *nomem = fcn__cl_nomem(e);
        st = fcn__cl_map_fail(&r, e, bh, bw, err);
    }
    if (r.a) clReleaseMemObject(r.a);
    if (r.b) clReleaseMemObject(r.b);
    if (r.w) clReleaseMemObject(r.w);
    FCN_FREE(host);
    FCN_FREE(plan.l);
    return st;
}

/* The parameters as the kernels read them: the network's block, followed for the vector
   kernel by each weighted layer's weights reordered [map block][channel, row, column]
   [map in block] (voff[i]: where layer i's start). */
static fcn_status fcn__cl_weights(const fcn_cl *cl, const fcn_net *net, float **wbuf, size_t *nw, size_t **voff,
                                  fcn_error *err)
{
    size_t total = net->nparams, at, t;
    int i, m, vom = cl->vom;
    *wbuf = (float *)net->params;
    *voff = FCN__CAST(size_t *, fcn__alloc((size_t)net->n, sizeof(size_t)));
    if (!*voff) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory");
    memset(*voff, 0, (size_t)net->n * sizeof(size_t));
    if (cl->conv == FCN_CL_CONV_VECTOR)
        for (i = 0; i < net->n; i++) {
            const fcn__layer *L = &net->layers[i];
            size_t blocks = (size_t)((L->out.c + vom - 1) / vom);
            if (!L->w) continue;
            if (total > (size_t)INT_MAX || L->nw / (size_t)L->out.c > (size_t)INT_MAX / (blocks * (size_t)vom)) {
                total = (size_t)INT_MAX + 1;
                break;
            }
            (*voff)[i] = total;
            total += blocks * (size_t)vom * (L->nw / (size_t)L->out.c);
        }
    if (total > (size_t)INT_MAX || total * sizeof(float) > cl->info.max_alloc) {
        FCN_FREE(*voff);
        *voff = NULL;
        return fcn__fail(err, FCN_ERR_DEVICE, "the network's %lu parameters do not fit one buffer on %.80s",
                         (unsigned long)net->nparams, cl->info.name);
    }
    *nw = total;
    if (total == net->nparams) return FCN_OK;
    *wbuf = FCN__CAST(float *, fcn__alloc(total, sizeof(float)));
    if (!*wbuf) {
        FCN_FREE(*voff);
        *voff = NULL;
        return fcn__fail(err, FCN_ERR_NOMEM, "out of memory for the reordered weights");
    }
    memcpy(*wbuf, net->params, net->nparams * sizeof(float));
    for (i = 0; i < net->n; i++) {
        const fcn__layer *L = &net->layers[i];
        size_t ksz, blocks, b;
        if (!L->w) continue;
        ksz = L->nw / (size_t)L->out.c;
        blocks = (size_t)((L->out.c + vom - 1) / vom);
        at = (*voff)[i];
        for (b = 0; b < blocks; b++)
            for (t = 0; t < ksz; t++)
                for (m = 0; m < vom; m++) {
                    size_t o = b * (size_t)vom + (size_t)m;
                    if (o >= (size_t)L->out.c) o = (size_t)L->out.c - 1;
                    (*wbuf)[at++] = L->w[o * ksz + t];
                }
    }
    return FCN_OK;
}

FCNDEF fcn_status fcn_cl_map(fcn_cl *cl, const fcn_net *net, const float *image, int h, int w,
                             const fcn_options *opt, float *out, fcn_error *err)
{
    fcn__job j;
    fcn_status st;
    size_t cap, nw = 0, *voff = NULL;
    float *wbuf = NULL;
    int nomem = 0;
    if (!cl) return fcn__fail(err, FCN_ERR_ARG, "fcn_cl_map: cl is NULL (fcn_cl_create first)");
    st = fcn__job_map(net, image, h, w, opt, out, 1, &j, err);
    if (st != FCN_OK) return st;
    st = fcn__cl_weights(cl, net, &wbuf, &nw, &voff, err);
    if (st != FCN_OK) return st;
    /* out of device memory: retry with pieces half the size, while one pixel still fits */
    for (cap = cl->cap / sizeof(float);; cap /= 2) {
        fcn__plan one;
        int stop;
        st = fcn__cl_pieces(cl, &j, cap, wbuf, nw, voff, out, &nomem, err);
        if (st == FCN_OK || !nomem || cap < 2) break;
        one.l = FCN__CAST(fcn__dlayer *, fcn__alloc((size_t)net->n, sizeof *one.l));
        stop = !one.l || fcn__cl_piece_plan(&j, 1, 1, &one, NULL) != FCN_OK || one.big > cap / 2;
        FCN_FREE(one.l);
        if (stop) break;
    }
    if (wbuf != net->params) FCN_FREE(wbuf);
    FCN_FREE(voff);
    if (st != FCN_OK) return st;
    fcn__nan_canon(out, (size_t)j.rh * (size_t)j.rw * (size_t)fcn_net_outputs(net)); /* as fcn_map's */
    fcn__ok(err);
    return FCN_OK;
}


/* >>tune
   The tiled kernel's shape (AUTOTUNING at the top): options.tile or FCN_OPENCL_TILE as
   given; else, per options.tune or FCN_OPENCL_TUNE, the built-in default, the shape a
   valid cache file names, or the fastest candidate on the tuning layer, then written
   to the cache file. The program holds every shape's kernel (fcn__cl_program_text):
   tuning builds nothing. */

/* FNV-1a, 64 bits: the cache file's checksum and the program's fingerprint. */
static unsigned long long fcn__cl_fnv(unsigned long long h, const char *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}
#define FCN__CL_FNV0 14695981039346656037ULL

/* The tuning layer, a 5x5 convolution with dilation 2: on GPUs n4's costliest one, 48 ->
   48 maps over a 256x256 grid; elsewhere 8 -> 16 maps over 64x64, so that timing takes
   a fraction of a second on a CPU driver, not a minute (CPU devices are tuned only
   when asked, as the tests do). */
typedef struct fcn__cl_tune_layer {
    int cin, maps, grid;
} fcn__cl_tune_layer;
static const fcn__cl_tune_layer fcn__cl_tune_gpu = {48, 48, 256}, fcn__cl_tune_other = {8, 16, 64};
#define FCN__CL_TUNE_K 5
#define FCN__CL_TUNE_DIL 2
#define FCN__CL_TUNE_TEXT "tuning layer: 5x5, dilation 2; 48 -> 48 maps, 256x256 (GPU); 8 -> 16 maps, 64x64"

/* What a cache file must match, as its lines: the device, its platform, driver and
   version, and a fingerprint of what the timings depend on (the program, its build
   options, the shapes, the tuning layer). */
static fcn_status fcn__cl_tune_key(const fcn_cl *cl, const fcn_cl_options *o, char *key, size_t size, fcn_error *err)
{
    char opts[1024];
    unsigned long long h = FCN__CL_FNV0;
    int i, n;
    char defs[FCN__CL_TILES][256];
    const char *src[FCN__CL_PROGRAM_PIECES];
    fcn_status st = fcn__cl_options(cl, o, opts, sizeof opts, err);
    if (st != FCN_OK) return st;
    fcn__cl_program_text(src, defs, &n);
    for (i = 0; i < n; i++) h = fcn__cl_fnv(h, src[i], strlen(src[i]));
    h = fcn__cl_fnv(h, opts, strlen(opts));
    for (i = 0; i < FCN__CL_TILES; i++) h = fcn__cl_fnv(h, fcn__cl_tiles[i].name, strlen(fcn__cl_tiles[i].name) + 1);
    h = fcn__cl_fnv(h, FCN__CL_TUNE_TEXT, sizeof FCN__CL_TUNE_TEXT);
    n = snprintf(key, size, "device %s\nplatform %s\ndriver %s\nversion %s\nprogram %016llx\n", cl->info.name,
                 cl->info.platform_name, cl->info.driver, cl->info.version, h);
    if (n < 0 || (size_t)n >= size) return fcn__fail(err, FCN_ERR_ARG, "tuning key too long");
    return FCN_OK;
}

/* The cache file's text: a magic line, the key, the shape, every candidate's MFLOP/s
   (integers: no locale), then the FNV-1a of all that. */
static void fcn__cl_tune_text(const char *key, int tile, const double *gflops, char *text, size_t size)
{
    size_t n;
    int i;
    snprintf(text, size, "fcn-opencl-tune 1\n%stile %d %s\nmflops", key, tile, fcn__cl_tiles[tile - 1].name);
    for (i = 0; i < FCN__CL_TILES; i++) {
        n = strlen(text);
        snprintf(text + n, size - n, " %lu", (unsigned long)(gflops[i] * 1000.0 + 0.5));
    }
    n = strlen(text);
    snprintf(text + n, size - n, "\ncheck %016llx\n", fcn__cl_fnv(FCN__CL_FNV0, text, n));
}

/* The cache file for this device and driver: options.tune_dir, else FCN_OPENCL_CACHE,
   else $XDG_CACHE_HOME/fcn, else $HOME/.cache/fcn (folders made as needed), then
   "opencl-tune-NAME-DRIVER.txt" (other characters than letters, digits, '.' and '-'
   become '_'). 0, with a note, if there is none. */
static int fcn__cl_tune_path(const fcn_cl *cl, const fcn_cl_options *o, char *path, size_t size, char *note,
                             size_t nn)
{
    const char *dir = o->tune_dir, *env, *parts[2];
    char d[512];
    size_t n, i;
    int k;
    if (!dir || !dir[0]) dir = getenv("FCN_OPENCL_CACHE");
    if (dir && dir[0]) {
        k = snprintf(d, sizeof d, "%s", dir);
    } else if ((env = getenv("XDG_CACHE_HOME")) && env[0] == '/') {
        k = snprintf(d, sizeof d, "%s/fcn", env);
    } else if ((env = getenv("HOME")) && env[0]) {
        k = snprintf(d, sizeof d, "%s/.cache/fcn", env);
    } else {
        snprintf(note, nn, "no cache folder (options.tune_dir, FCN_OPENCL_CACHE, XDG_CACHE_HOME and HOME unset)");
        return 0;
    }
    if (k < 0 || (size_t)k >= sizeof d - 1) {
        snprintf(note, nn, "the cache folder's name is too long");
        return 0;
    }
#if defined(__unix__) || defined(__APPLE__)
    {
        /* the folder and its missing parents */
        struct stat sb;
        char *p;
        for (p = d + 1; *p; p++)
            if (*p == '/') {
                *p = '\0';
                mkdir(d, 0777);
                *p = '/';
            }
        mkdir(d, 0777);
        if (stat(d, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            snprintf(note, nn, "%.200s: not a folder, and cannot be made one", d);
            return 0;
        }
    }
#endif
    k = snprintf(path, size, "%s/opencl-tune-", d);
    n = k > 0 ? (size_t)k : 0;
    parts[0] = cl->info.name;
    parts[1] = cl->info.driver;
    for (k = 0; k < 2; k++) {
        for (i = 0; parts[k][i] && i < 80 && n + 6 < size; i++) {
            char c = parts[k][i];
            path[n++] = isalnum((unsigned char)c) || c == '.' || c == '-' ? c : '_';
        }
        if (n + 6 < size) path[n++] = k ? '.' : '-';
    }
    if (n + 4 >= size) {
        snprintf(note, nn, "the cache file's name is too long");
        return 0;
    }
    memcpy(path + n, "txt", 4);
    return 1;
}

/* The shape a cache file names, if the file is whole (its checksum), made for this key
   and names one of the shapes by its number and name; else 0 and why in note. The
   candidates' speeds go to gflops. */
static int fcn__cl_tune_read(const char *path, const char *key, int *tile, double *gflops, char *note, size_t nn)
{
    unsigned char *buf = NULL;
    char *text, *chk, *p, *end;
    size_t size = 0, kn = strlen(key);
    unsigned long long want;
    int t, i, ok = 0;
    const char *why = "not a tuning file";
    fcn_error e;
    if (fcn__read_file(path, &buf, &size, &e) != FCN_OK) {
        if (errno != ENOENT) snprintf(note, nn, "ignored %.150s: %.40s", path, strerror(errno));
        return 0;
    }
    text = (char *)buf;
    chk = size < 16384 ? strstr(text, "\ncheck ") : NULL;
    if (chk && strlen(text) == size && strncmp(text, "fcn-opencl-tune 1\n", 18) == 0) {
        want = strtoull(chk + 7, &end, 16);
        if (end != chk + 23 || strcmp(end, "\n") != 0 || fcn__cl_fnv(FCN__CL_FNV0, text, (size_t)(chk - text)) != want) {
            why = "corrupt (its checksum does not match)";
        } else if (strncmp(text + 18, key, kn) != 0) {
            why = "stale (made for another device, driver or program)";
        } else {
            p = text + 18 + kn;
            t = strncmp(p, "tile ", 5) == 0 ? (int)strtol(p + 5, &end, 10) : 0;
            if (t < 1 || t > FCN__CL_TILES || *end != ' ' || strncmp(end + 1, fcn__cl_tiles[t - 1].name,
                                                                      strlen(fcn__cl_tiles[t - 1].name)) != 0) {
                why = "names no shape this program has";
            } else {
                p = strstr(end, "\nmflops");
                for (i = 0, p = p ? p + 7 : NULL; p && i < FCN__CL_TILES && *p == ' '; i++)
                    gflops[i] = (double)strtoul(p + 1, &p, 10) / 1000.0;
                *tile = t;
                ok = 1;
            }
        }
    }
    if (!ok) snprintf(note, nn, "ignored %.150s: %s", path, why);
    FCN_FREE(buf);
    return ok;
}

/* Times the tiled kernel's shapes on the tuning layer: runs each once (drivers compile
   lazily), then takes the fastest of up to 3 runs (fewer past half a second). A shape
   that does not run is left out; if none runs, the last failure is the error. */
static fcn_status fcn__cl_tune_time(fcn_cl *cl, fcn_error *err)
{
    fcn_cl_tuning *tu = &cl->tuning;
    const fcn__cl_tune_layer *tl = cl->info.gpu ? &fcn__cl_tune_gpu : &fcn__cl_tune_other;
    double t0 = fcn__cl_now(), best = 0.0, flops;
    int i, win = 0, grid = tl->grid, span = grid + (FCN__CL_TUNE_K - 1) * FCN__CL_TUNE_DIL;
    int kk = FCN__CL_TUNE_K * FCN__CL_TUNE_K;
    size_t nin = (size_t)tl->cin * (size_t)span * (size_t)span, npar = (size_t)tl->maps * ((size_t)tl->cin * (size_t)kk + 1), q;
    float *host;
    fcn__cl_convp c;
    fcn_error last;
    cl_int e = CL_SUCCESS;
    memset(&c, 0, sizeof c);
    fcn__fail(&last, FCN_ERR_DEVICE, "no shape of the tiled kernel runs on %.80s", cl->info.name);
    flops = 2.0 * (double)tl->maps * tl->cin * kk * grid * grid;
    host = FCN__CAST(float *, fcn__alloc(nin > npar ? nin : npar, sizeof(float)));
    if (!host) return fcn__fail(err, FCN_ERR_NOMEM, "out of memory for the tuning layer");
    /* small values (no overflow, no subnormals) in a pattern */
    for (q = 0; q < (nin > npar ? nin : npar); q++) host[q] = (float)((int)(q % 61) - 30) * (1.0f / 64.0f);
    c.in = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, nin * sizeof(float), host, &e);
    if (c.in) c.par = clCreateBuffer(cl->ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, npar * sizeof(float), host, &e);
    if (c.par)
        c.out = clCreateBuffer(cl->ctx, CL_MEM_WRITE_ONLY, (size_t)tl->maps * (size_t)grid * (size_t)grid * sizeof(float),
                               NULL, &e);
    FCN_FREE(host);
    c.boff = (int)(npar - (size_t)tl->maps);
    c.cin = tl->cin;
    c.kh = c.kw = FCN__CL_TUNE_K;
    c.in_h = c.in_w = span;
    c.out_h = c.out_w = grid;
    c.step = 1;
    c.dil = FCN__CL_TUNE_DIL;
    c.maps = tl->maps;
    for (i = 0; i < FCN__CL_TILES && c.out; i++) {
        cl_kernel k = NULL;
        char name[64];
        size_t wg = 1;
        cl_ulong local = 0;
        double spent = 0.0, fastest = 0.0;
        int r, fits = 0;
        fcn__cl_tiled_name(i + 1, name, sizeof name);
        if (fcn__cl_kernel(cl, name, &k, &wg, &local, &last) != FCN_OK) continue;
        for (r = 0; r < 4; r++) {
            const char *call = "";
            double t1 = fcn__cl_now(), dt;
            e = fcn__cl_tiled(cl, k, i + 1, wg, local, &c, &fits, &call);
            if (e == CL_SUCCESS && fits) e = clFinish(cl->queue);
            if (e != CL_SUCCESS || !fits) {
                if (e != CL_SUCCESS) fcn__cl_fail(&last, call, e, "shape %d of the tiled kernel", i + 1);
                fastest = 0.0;
                break;
            }
            dt = fcn__cl_now() - t1;
            spent += dt;
            if (r > 0 && (fastest == 0.0 || dt < fastest)) fastest = dt;
            if (r > 0 && spent > 0.5) break;
        }
        clReleaseKernel(k);
        tu->gflops[i] = fastest > 0.0 ? flops / fastest / 1e9 : 0.0;
        if (tu->gflops[i] > best) best = tu->gflops[i], win = i + 1;
    }
    if (!c.out) fcn__cl_fail(&last, "clCreateBuffer", e, "the tuning layer's buffers on %.80s", cl->info.name);
    if (c.in) clReleaseMemObject(c.in);
    if (c.par) clReleaseMemObject(c.par);
    if (c.out) clReleaseMemObject(c.out);
    tu->seconds = fcn__cl_now() - t0;
    if (!win) {
        if (err) *err = last;
        return last.status;
    }
    cl->tile = tu->tile = win;
    return FCN_OK;
}

static fcn_status fcn__cl_tile_setup(fcn_cl *cl, const fcn_cl_options *o, fcn_error *err)
{
    static const char *const modes[4] = {"auto", "off", "nocache", "again"};
    fcn_cl_tuning *tu = &cl->tuning;
    const char *env;
    char key[1024], path[sizeof tu->cache], text[2048];
    int tile = o->tile, mode = o->tune, i;
    fcn_status st;
    memset(tu, 0, sizeof *tu);
    cl->tile = FCN__CL_TILE_DEFAULT;
    cl->adapt = cl->info.gpu;
    if (tile < 0 || tile > FCN__CL_TILES)
        return fcn__fail(err, FCN_ERR_ARG, "options.tile %d: expected 1 .. %d (or 0: tuned)", tile, FCN__CL_TILES);
    if (!tile && (env = getenv("FCN_OPENCL_TILE")) && env[0]) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end || v < 1 || v > FCN__CL_TILES)
            return fcn__fail(err, FCN_ERR_ARG, "FCN_OPENCL_TILE='%.40s': expected a shape 1 .. %d", env, FCN__CL_TILES);
        tile = (int)v;
    }
    if (mode < 0 || mode > 3)
        return fcn__fail(err, FCN_ERR_ARG, "options.tune %d: expected 0 (auto), 1 (off), 2 (no cache) or 3 (again)", mode);
    if (!mode && (env = getenv("FCN_OPENCL_TUNE")) && env[0]) {
        for (i = 0; i < 4 && strcmp(env, modes[i]) != 0; i++) continue;
        if (i == 4) return fcn__fail(err, FCN_ERR_ARG, "FCN_OPENCL_TUNE='%.40s': expected auto, off, nocache or again", env);
        mode = i;
    }
    if (tile) cl->tile = tile;
    if (cl->conv != FCN_CL_CONV_TILED) return FCN_OK; /* from FCN_CL_TILE_UNUSED */
    tu->tile = cl->tile;
    tu->from = tile ? FCN_CL_TILE_SET : FCN_CL_TILE_DEFAULT;
    if (tile || mode == FCN_CL_TUNE_OFF) return FCN_OK;
    if ((st = fcn__cl_tune_key(cl, o, key, sizeof key, err)) != FCN_OK) return st;
    if (mode == FCN_CL_TUNE_NO_CACHE || !fcn__cl_tune_path(cl, o, path, sizeof path, tu->note, sizeof tu->note))
        path[0] = '\0';
    if (mode == FCN_CL_TUNE_AUTO && path[0] && fcn__cl_tune_read(path, key, &tile, tu->gflops, tu->note, sizeof tu->note)) {
        cl->tile = tu->tile = tile;
        tu->from = FCN_CL_TILE_CACHED;
        memcpy(tu->cache, path, sizeof tu->cache);
        return FCN_OK;
    }
    if ((st = fcn__cl_tune_time(cl, err)) != FCN_OK) return st;
    tu->from = FCN_CL_TILE_TIMED;
    if (path[0]) {
        /* atomically: a process that reads it meanwhile sees the old file or this one */
        fcn_file *f = NULL;
        fcn_error e2;
        fcn__cl_tune_text(key, cl->tile, tu->gflops, text, sizeof text);
        st = fcn_file_create(path, &f, &e2);
        if (st == FCN_OK && (st = fcn_file_write(f, text, strlen(text), &e2)) != FCN_OK) fcn_file_abort(f);
        else if (st == FCN_OK) st = fcn_file_commit(f, &e2); /* frees f, also on failure */
        if (st == FCN_OK) memcpy(tu->cache, path, sizeof tu->cache);
        else snprintf(tu->note, sizeof tu->note, "not written: %.200s", e2.message);
    }
    return FCN_OK;
}

#endif /* FCN_OPENCL__IMPLEMENTED */
#endif /* FCN_OPENCL_IMPLEMENTATION */

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
