/* libFuzzer targets for the model readers: fcn_import.h's protobuf wire reader and its
   two loaders, and fcn.h's own format. One source, four targets, chosen by FUZZ_TARGET
   at build time (`make fuzz` builds them as build/fuzz_onnx, build/fuzz_caffe,
   build/fuzz_wire, build/fuzz_fcn):

   1 fuzz_onnx   the input is an .onnx file (fcn_net_load_onnx_memory)
   2 fuzz_caffe  the input is a 4-byte little-endian length L, L bytes of prototxt, then
                 the caffemodel (fcn_net_load_caffe_memory)
   3 fuzz_wire   the input is any protobuf message: walked recursively, every
                 length-delimited field tried as a nested message, every field read as
                 each repeated type (the reader's own checks)
   4 fuzz_fcn    the input is a .fcn model file whose 'weights' line, if it has one,
                 gets the right CRC-32 before fcn_net_load_memory reads it: a mutated
                 file would otherwise stop at the checksum, never reaching the parser
                 and the network builder behind it

   Built with -fno-sanitize-recover=all (the Makefile's FUZZ_FLAGS): undefined behaviour
   stops a run like a crash (tests/fuzz/ub_canary.c checks that it does).
   Seed corpora: build/fuzz-corpus/{onnx,caffe,wire,fcn}, which `make fuzz` writes from
   the shipped and test models (tests/fuzz/make_fuzz_corpus.py). A crash input worth keeping
   goes to tests/fuzz/regress/KIND (there is none yet), which tests/fuzz/fuzz_smoke.sh
   runs too. `make fuzz-smoke` runs each target briefly; see README for a long run. */
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_TARGET
#define FUZZ_TARGET 1
#endif

#if FUZZ_TARGET == 3 /* only fuzz_wire walks */
static void walk(const unsigned char *p, size_t n, int depth)
{
    fcn__pb r = fcn__pb_of(p, n);
    fcn__pbf f;
    const char *why;
    if (depth > 8) return;
    while (fcn__pb_next(&r, &f, &why) > 0) {
        size_t k = 0;
        float fl[64];
        int64_t iv[64];
        if (f.wt == 2) {
            walk(f.data, f.len, depth + 1);
            if (f.len <= 64 * 4) fcn__pb_rep(&f, 'f', &k, fl, NULL);
            k = 0;
            if (f.len <= 64 * 8 && fcn__pb_rep(&f, 'd', &k, NULL, NULL) == NULL && k <= 64) {
                k = 0;
                fcn__pb_rep(&f, 'd', &k, fl, NULL);
            }
            k = 0;
            if (fcn__pb_rep(&f, 'i', &k, NULL, NULL) == NULL && k <= 64) {
                k = 0;
                fcn__pb_rep(&f, 'i', &k, NULL, iv);
            }
        }
    }
}
#endif

#if FUZZ_TARGET == 4
/* Writes the CRC-32 the format wants into the 8 hex digits of "weights N crc32 XXXXXXXX"
   (the first line that starts with "weights "): the header before that line, then the
   bytes after it. */
static void fix_crc(unsigned char *d, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t line = 0, end, k;
    uint32_t crc;
    while (line < n && !(n - line > 8 && memcmp(d + line, "weights ", 8) == 0)) {
        const unsigned char *nl = (const unsigned char *)memchr(d + line, '\n', n - line);
        if (!nl) return;
        line = (size_t)(nl - d) + 1;
    }
    for (end = line; end < n && d[end] != '\n'; end++)
        ;
    if (end >= n || end - line < 22 || memcmp(d + end - 14, "crc32 ", 6) != 0) return; /* "crc32 " + 8 digits */
    crc = fcn__crc32(fcn__crc32(0, d, line), d + end + 1, n - end - 1);
    for (k = 0; k < 8; k++) d[end - 8 + k] = (unsigned char)hex[(crc >> (28 - 4 * k)) & 15u];
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fcn_net *net = NULL;
    fcn_error err;
#if FUZZ_TARGET == 1
    if (fcn_net_load_onnx_memory(data, size, "fuzz", &net, &err) == FCN_OK) fcn_net_free(net);
#elif FUZZ_TARGET == 2
    uint32_t len;
    if (size < 4) return 0;
    len = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    if (len > size - 4) len = (uint32_t)(size - 4);
    if (fcn_net_load_caffe_memory(data + 4, len, data + 4 + len, size - 4 - len, "fuzz", &net, &err) == FCN_OK)
        fcn_net_free(net);
#elif FUZZ_TARGET == 4
    unsigned char *copy = (unsigned char *)malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fix_crc(copy, size);
    if (fcn_net_load_memory(copy, size, "fuzz", &net, &err) == FCN_OK) fcn_net_free(net);
    free(copy);
#else
    (void)net;
    (void)err;
    walk(data, size, 0);
#endif
    return 0;
}
