/* libFuzzer targets for fcn_import.h's protobuf wire reader and its two loaders. One
   source, three targets, chosen by FUZZ_TARGET at build time (`make fuzz` builds all
   three as build/fuzz_onnx, build/fuzz_caffe, build/fuzz_wire):

   1 fuzz_onnx   the input is an .onnx file (fcn_net_load_onnx_memory)
   2 fuzz_caffe  the input is a 4-byte little-endian length L, L bytes of prototxt, then
                 the caffemodel (fcn_net_load_caffe_memory)
   3 fuzz_wire   the input is any protobuf message: walked recursively, every
                 length-delimited field tried as a nested message, every field read as
                 each repeated type (the reader's own checks)

   Seed corpora: build/fuzz-corpus/{onnx,caffe,wire}, which `make fuzz` writes from the
   shipped and test models (tests/fuzz/make_fuzz_corpus.py). A crash input worth keeping
   goes to tests/fuzz/regress/KIND (there is none yet), which tests/fuzz/fuzz_smoke.sh
   runs too. `make fuzz-smoke` runs each target briefly; see README for a long run. */
#define FCN_IMPLEMENTATION
#define FCN_IMPORT_IMPLEMENTATION
#include "fcn_import.h"

#include <stdint.h>
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
#else
    (void)net;
    (void)err;
    walk(data, size, 0);
#endif
    return 0;
}
