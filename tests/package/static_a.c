/* static_a.c, static_b.c - FCN_STATIC from two translation units of one program: each
   defines FCN_STATIC and FCN_IMPLEMENTATION and includes fcn.h, so each has a private
   copy of the library; they must link together (no symbol defined twice) and both copies
   must work. This one maps models/slide-7x7x3.fcn on the dense path, static_b.c on the
   sliding path with its own copy; the maps must be the same bits.
   Built and run by tests/package/test_compile.sh from the repository root. */
#define FCN_STATIC
#define FCN_IMPLEMENTATION
#include "fcn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* static_b.c: the sliding map of MODEL on img (h x w x c) into out (n floats); 0 if ok */
int b_sliding_map(const char *model, const float *img, int h, int w, float *out, size_t n);

int main(void)
{
    enum { H = 23, W = 19, C = 3 };
    static float img[H * W * C];
    fcn_net *net = NULL;
    fcn_error err;
    fcn_options opt;
    float *dense = NULL, *sliding = NULL;
    int oh, ow, ok = 0;
    size_t i, n;
    unsigned x = 7;
    for (i = 0; i < sizeof img / sizeof *img; i++) {
        x = x * 1103515245u + 12345u;
        img[i] = (float)((x >> 16) & 0xff);
    }
    memset(&opt, 0, sizeof opt);
    if (fcn_net_load("models/slide-7x7x3.fcn", &net, &err) != FCN_OK ||
        fcn_map_size(net, H, W, &opt, &oh, &ow, &err) != FCN_OK) {
        printf("FAIL: static: %s\n", err.message);
        return 1;
    }
    n = (size_t)oh * (size_t)ow * (size_t)fcn_net_outputs(net);
    dense = (float *)malloc(n * sizeof(float));
    sliding = (float *)malloc(n * sizeof(float));
    if (dense && sliding && fcn_map(net, img, H, W, &opt, dense, &err) == FCN_OK &&
        b_sliding_map("models/slide-7x7x3.fcn", img, H, W, sliding, n) == 0)
        ok = memcmp(dense, sliding, n * sizeof(float)) == 0;
    if (ok) printf("PASS: static: two FCN_STATIC copies in one program, dense (a) == sliding (b), bit for bit\n");
    else printf("FAIL: static: the two copies' maps differ or failed (%s)\n", err.message);
    free(dense);
    free(sliding);
    fcn_net_free(net);
    return !ok;
}
