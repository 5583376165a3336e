/* fcn.h OpenCL kernels, part 1 of 4: the prelude.

   fcn_opencl.h compiles, as one program, this file, then the "fcn-arith" section of
   fcn.h (the library's exp, tanh, sigmoid and relu, the very same text the C code
   compiles), then opencl/fcn.cl, then opencl/fcn_tiled.cl once per register block.
   tools/embed_opencl.sh pastes them into fcn_opencl.h; edit them here and run
   `make opencl-embed`.

   The program is built with -cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt and
   never with -cl-mad-enable, -cl-unsafe-math-optimizations or -cl-fast-relaxed-math,
   and nothing may be contracted: THE ARITHMETIC CONTRACT at the top of fcn.h. */
#pragma OPENCL FP_CONTRACT OFF

/* The operations the fcn-arith section is written with, in OpenCL C. All are exact
   (fma, floor and ldexp are correctly rounded in OpenCL C, as in C99). */
#define FCN__ARITH
#define FCN__FMA(a, b, c) fma(a, b, c)
#define FCN__FLOOR(x) floor(x)
#define FCN__LDEXP(x, n) ldexp(x, n)
#define FCN__INF INFINITY
