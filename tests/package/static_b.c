/* static_b.c - the second translation unit of the FCN_STATIC test (see static_a.c), with
   its own private copy of fcn.h. */
#define FCN_STATIC
#define FCN_IMPLEMENTATION
#include "fcn.h"

#include <string.h>

int b_sliding_map(const char *model, const float *img, int h, int w, float *out, size_t n);

int b_sliding_map(const char *model, const float *img, int h, int w, float *out, size_t n)
{
    fcn_net *net = NULL;
    fcn_options opt;
    int oh, ow, st = 1;
    memset(&opt, 0, sizeof opt);
    opt.path = FCN_PATH_SLIDING;
    if (fcn_net_load(model, &net, NULL) == FCN_OK && fcn_map_size(net, h, w, &opt, &oh, &ow, NULL) == FCN_OK &&
        (size_t)oh * (size_t)ow * (size_t)fcn_net_outputs(net) == n)
        st = fcn_map(net, img, h, w, &opt, out, NULL) != FCN_OK;
    fcn_net_free(net);
    return st;
}
