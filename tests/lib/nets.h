/* nets.h - the talk's networks with seeded random weights, and the generator behind
   them: net95 (the 95x95 "n4": conv 4x4 48, maxpool 2, conv 5x5 48, maxpool 2, conv 4x4
   48, maxpool 2, conv 4x4 48, maxpool 2, fc 200, fc 2, softmax) and net49 (the 49x49
   "w49": conv 4x4 48, maxpool 2, conv 4x4 48, maxpool 2, conv 4x4 48, fc 200 over
   7x7x48, fc 2, softmax). Shared by tests/opencl/test_opencl.c and bench/bench_opencl.c,
   so that the benchmark maps the nets the test checks. Include it after fcn.h. */
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

/* conv k[i] x k[i] with 48 maps, then a 2x2 max-pool where pool[i], for each of the
   nconv convolutions; fc 200, fc 2, softmax; weights from seed. */
static fcn_net *talk_net(int patch, int nconv, const int *k, const int *pool, unsigned long long seed)
{
    fcn_layer L[16];
    fcn_net *net = NULL;
    int n = 0, i;
    memset(L, 0, sizeof L);
    for (i = 0; i < nconv; i++) {
        L[n].type = FCN_LAYER_CONV, L[n].maps = 48, L[n].kh = L[n].kw = k[i], n++;
        if (pool[i]) L[n].type = FCN_LAYER_MAXPOOL, L[n].kh = L[n].kw = 2, n++;
    }
    L[n].type = FCN_LAYER_FC, L[n].maps = 200, n++;
    L[n].type = FCN_LAYER_FC, L[n].maps = 2, n++;
    L[n].type = FCN_LAYER_SOFTMAX, n++;
    if (fcn_net_create(patch, patch, 1, L, n, &net, NULL) != FCN_OK) return NULL;
    rng_state = seed;
    fill_weights(net, 1.5f);
    return net;
}

static fcn_net *net95(void)
{
    static const int k[4] = {4, 5, 4, 4}, pool[4] = {1, 1, 1, 1};
    return talk_net(95, 4, k, pool, 95);
}

static fcn_net *net49(void)
{
    static const int k[3] = {4, 4, 4}, pool[3] = {1, 1, 0};
    return talk_net(49, 3, k, pool, 49);
}
