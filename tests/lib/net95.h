/* net95.h - the talk's 95x95 net (conv 4x4 48, maxpool 2, conv 5x5 48, maxpool 2,
   conv 4x4 48, maxpool 2, conv 4x4 48, maxpool 2, fc 200, fc 2, softmax) with seeded
   random weights, and the generator behind them: shared by tests/opencl/test_opencl.c and
   bench/bench_opencl.c, so that the benchmark maps the net the test checks. Include it
   after fcn.h. */
#include <math.h>
#include <string.h>

/* splitmix64 */
static unsigned long long rng_state = 0x2545F4914F6CDD1DULL;
static unsigned long long rnd64(void)
{
    unsigned long long z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static float rndf(float lo, float hi) { return lo + (hi - lo) * (float)((double)(rnd64() >> 11) / 9007199254740992.0); }

/* Uniform weights in +-gain / sqrt(fan-in), biases in +-0.5. */
static void fill_weights(fcn_net *net, float gain)
{
    int i;
    for (i = 0; i < fcn_net_layer_count(net); i++) {
        size_t nw, nb, j;
        float *w = fcn_net_weights(net, i, &nw), *b = fcn_net_bias(net, i, &nb);
        fcn_layer d;
        fcn_shape in;
        float a;
        if (!w) continue;
        fcn_net_layer(net, i, &d, &in, NULL);
        a = gain / sqrtf((float)in.c * (float)d.kh * (float)d.kw);
        for (j = 0; j < nw; j++) w[j] = rndf(-a, a);
        for (j = 0; j < nb; j++) b[j] = rndf(-0.5f, 0.5f);
    }
}

static fcn_net *net95(void)
{
    fcn_layer L[11];
    fcn_net *net = NULL;
    int n = 0;
    memset(L, 0, sizeof L);
    L[n].type = FCN_LAYER_CONV, L[n].maps = 48, L[n].kh = L[n].kw = 4, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_CONV, L[n].maps = 48, L[n].kh = L[n].kw = 5, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_CONV, L[n].maps = 48, L[n].kh = L[n].kw = 4, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_CONV, L[n].maps = 48, L[n].kh = L[n].kw = 4, n++;
    L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    L[n].type = FCN_LAYER_FC, L[n].maps = 200, n++;
    L[n].type = FCN_LAYER_FC, L[n].maps = 2, n++;
    L[n].type = FCN_LAYER_SOFTMAX, n++;
    if (fcn_net_create(95, 95, 1, L, n, &net, NULL) != FCN_OK) return NULL;
    rng_state = 95;
    fill_weights(net, 1.5f);
    return net;
}
