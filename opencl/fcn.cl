/* fcn.h OpenCL kernels, part 3 of 4: the dense path's layers (part 4: fcn_tiled.cl).

   Same grids, same reads and the same arithmetic as fcn.h's dense path (>>stream:
   fcn__unit_conv_generic, fcn__unit_pool, fcn__softmax_row), so the map is the same
   bit for bit: THE ARITHMETIC CONTRACT at the top of fcn.h states the rules and names
   the kernels here that keep each one.
   Layouts are planar: channel, row, column, all int indices (the host keeps every
   buffer under 2^31 elements). A layer's output grid point (y, x) reads input grid rows
   y*step + ky*dil and columns x*step + kx*dil. */

#ifdef FCN_CL_TEST_BUILD_ERROR
#error "build failure requested with -DFCN_CL_TEST_BUILD_ERROR (a test of the error path)"
#endif

/* Output maps computed by one work item (registers): a tunable, set with -D. */
#ifndef FCN_CL_OM
#define FCN_CL_OM 4
#endif

/* Layer types, the values of fcn_layer_type in fcn.h. */
#define FCN_CL_RELU 5
#define FCN_CL_TANH 6
#define FCN_CL_SIGMOID 7

/* One work item per output grid point (x, y) and FCN_CL_OM output maps (dimension 2).
   Reads the input straight from global memory. Work items past the grid's edge compute
   its last point and store nothing: every work item runs the same loops (no early
   return), which lets CPU drivers such as PoCL vectorise across work items. */
__kernel void fcn_conv(__global const float *in, __global float *out, __global const float *par,
                       int woff, int boff, int cin, int kh, int kw, int in_h, int in_w, int out_h,
                       int out_w, int step, int dil, int maps)
{
    int gx = (int)get_global_id(0), gy = (int)get_global_id(1);
    int x = min(gx, out_w - 1), y = min(gy, out_h - 1);
    int o0 = (int)get_global_id(2) * FCN_CL_OM;
    int ksz = cin * kh * kw, plane = in_h * in_w, m, c, ky, kx;
    __global const float *src = in + y * step * in_w + x * step;
    __global const float *wp = par + woff + o0 * ksz;
    float acc[FCN_CL_OM];
    for (m = 0; m < FCN_CL_OM; m++) acc[m] = par[boff + min(o0 + m, maps - 1)];
    for (c = 0; c < cin; c++)
        for (ky = 0; ky < kh; ky++)
            for (kx = 0; kx < kw; kx++) {
                float v = src[c * plane + ky * dil * in_w + kx * dil];
                int t = (c * kh + ky) * kw + kx;
                for (m = 0; m < FCN_CL_OM; m++) acc[m] = fma(wp[min(m, maps - 1 - o0) * ksz + t], v, acc[m]);
            }
    if (gx < out_w && gy < out_h)
        for (m = 0; m < FCN_CL_OM; m++)
            if (o0 + m < maps) out[((o0 + m) * out_h + y) * out_w + x] = acc[m];
}

/* The same convolution with FCN_CL_VX (4, 8 or 16) consecutive output points of two
   rows per work item, in OpenCL vectors, for FCN_CL_VOM output maps: each lane is one
   output with its own accumulator, so each output's order is unchanged, and a CPU driver
   gets SIMD code without having to vectorise across work items; the two rows share each
   weight load. Loads are one vload where the points
   read consecutive inputs (step 1; lanes past the grid's edge then read whatever follows
   in the buffer, in_len floats, and are not stored), else a gather. The weights come reordered by the host (from vwoff):
   per block of FCN_CL_VOM maps, per (channel, row, column), the block's maps side by
   side (the last map repeated to fill a block), so one tap's weights share a cache
   line. */
#ifndef FCN_CL_VX
#define FCN_CL_VX 8
#endif
#ifndef FCN_CL_VOM
#define FCN_CL_VOM 8
#endif
#define FCN_CL_CAT_(a, b) a##b
#define FCN_CL_CAT(a, b) FCN_CL_CAT_(a, b)
#define FCN_CL_FLOATV FCN_CL_CAT(float, FCN_CL_VX)
#define FCN_CL_VLOAD FCN_CL_CAT(vload, FCN_CL_VX)
#define FCN_CL_VSTORE FCN_CL_CAT(vstore, FCN_CL_VX)

__kernel void fcn_conv_vec(__global const float *in, __global float *out, __global const float *par,
                           int vwoff, int boff, int cin, int kh, int kw, int in_h, int in_w, int out_h,
                           int out_w, int step, int dil, int maps, int in_len)
{
    int x0 = (int)get_global_id(0) * FCN_CL_VX, gy = (int)get_global_id(1) * 2;
    int y0 = min(gy, out_h - 1), y1 = min(gy + 1, out_h - 1);
    int o0 = (int)get_global_id(2) * FCN_CL_VOM;
    int ksz = cin * kh * kw, m, c, ky, kx, i, q;
    int xs[FCN_CL_VX];
    __global const float *wv = par + vwoff + o0 * ksz;
    FCN_CL_FLOATV acc[FCN_CL_VOM], acc1[FCN_CL_VOM];
    for (i = 0; i < FCN_CL_VX; i++) xs[i] = min(x0 + i, out_w - 1) * step;
#pragma unroll
    for (m = 0; m < FCN_CL_VOM; m++) {
        acc[m] = (FCN_CL_FLOATV)(par[boff + min(o0 + m, maps - 1)]);
        acc1[m] = acc[m];
    }
    for (c = 0; c < cin; c++)
        for (ky = 0; ky < kh; ky++) {
            int rb = (c * in_h + y0 * step + ky * dil) * in_w, rb1 = (c * in_h + y1 * step + ky * dil) * in_w;
            __global const float *row = in + rb, *row1 = in + rb1;
            __global const float *wt = wv + (c * kh + ky) * kw * FCN_CL_VOM;
            int full = step == 1 && in_len - (rb1 + x0 + (kw - 1) * dil) >= FCN_CL_VX;
            for (kx = 0; kx < kw; kx++, wt += FCN_CL_VOM) {
                FCN_CL_FLOATV v, v1;
                int off = kx * dil;
                if (full) {
                    v = FCN_CL_VLOAD(0, row + x0 + off);
                    v1 = FCN_CL_VLOAD(0, row1 + x0 + off);
                } else {
                    float g[FCN_CL_VX];
                    for (i = 0; i < FCN_CL_VX; i++) g[i] = row[xs[i] + off];
                    v = FCN_CL_VLOAD(0, g);
                    for (i = 0; i < FCN_CL_VX; i++) g[i] = row1[xs[i] + off];
                    v1 = FCN_CL_VLOAD(0, g);
                }
#pragma unroll
                for (m = 0; m < FCN_CL_VOM; m++) {
                    FCN_CL_FLOATV w = (FCN_CL_FLOATV)(wt[m]);
                    acc[m] = fma(w, v, acc[m]);
                    acc1[m] = fma(w, v1, acc1[m]);
                }
            }
        }
    for (q = 0; q < 2 && gy + q < out_h; q++)
        for (m = 0; m < FCN_CL_VOM && o0 + m < maps; m++) {
            __global float *dst = out + ((o0 + m) * out_h + gy + q) * out_w;
            float r[FCN_CL_VX];
            FCN_CL_FLOATV a = q ? acc1[m] : acc[m];
            if (x0 + FCN_CL_VX - 1 < out_w) {
                FCN_CL_VSTORE(a, 0, dst + x0);
            } else {
                FCN_CL_VSTORE(a, 0, r);
                for (i = 0; i < FCN_CL_VX && x0 + i < out_w; i++) dst[x0 + i] = r[i];
            }
        }
}

/* Max or average pool: one work item per output (x, y, channel). Work items past the
   grid's edge compute its last point and store nothing (no early return, so that CPU
   drivers can vectorise across work items). */
__kernel void fcn_pool(__global const float *in, __global float *out, int kh, int kw, int in_h, int in_w,
                       int out_h, int out_w, int step, int dil, int is_max)
{
    int gx = (int)get_global_id(0), gy = (int)get_global_id(1), c = (int)get_global_id(2), ky, kx;
    int x = min(gx, out_w - 1), y = min(gy, out_h - 1);
    __global const float *src = in + (c * in_h + y * step) * in_w + x * step;
    float s = 0.0f, m = 0.0f;
    for (ky = 0; ky < kh; ky++)
        for (kx = 0; kx < kw; kx++) {
            float v = src[ky * dil * in_w + kx * dil];
            if ((ky == 0 && kx == 0) || v > m) m = v;
            s += v;
        }
    if (gx < out_w && gy < out_h) out[(c * out_h + y) * out_w + x] = is_max ? m : s / (float)(kh * kw);
}

/* The same pool with FCN_CL_VX consecutive outputs per work item in a vector (for
   CPUs): lane by lane the same operations, a lane takes a later value only if greater. */
__kernel void fcn_pool_vec(__global const float *in, __global float *out, int kh, int kw, int in_h, int in_w,
                           int out_h, int out_w, int step, int dil, int is_max, int in_len)
{
    int x0 = (int)get_global_id(0) * FCN_CL_VX, gy = (int)get_global_id(1), c = (int)get_global_id(2);
    int y = min(gy, out_h - 1), ky, kx, i;
    int xs[FCN_CL_VX];
    FCN_CL_FLOATV s = (FCN_CL_FLOATV)(0.0f), m = (FCN_CL_FLOATV)(0.0f);
    for (i = 0; i < FCN_CL_VX; i++) xs[i] = min(x0 + i, out_w - 1) * step;
    for (ky = 0; ky < kh; ky++) {
        int rb = (c * in_h + y * step + ky * dil) * in_w;
        __global const float *row = in + rb;
        int full = step == 1 && in_len - (rb + x0 + (kw - 1) * dil) >= FCN_CL_VX;
        for (kx = 0; kx < kw; kx++) {
            FCN_CL_FLOATV v;
            if (full) {
                v = FCN_CL_VLOAD(0, row + x0 + kx * dil);
            } else {
                float g[FCN_CL_VX];
                for (i = 0; i < FCN_CL_VX; i++) g[i] = row[xs[i] + kx * dil];
                v = FCN_CL_VLOAD(0, g);
            }
            m = (ky == 0 && kx == 0) ? v : select(m, v, v > m);
            s += v;
        }
    }
    if (gy < out_h) {
        __global float *dst = out + (c * out_h + y) * out_w;
        FCN_CL_FLOATV r = is_max ? m : s / (FCN_CL_FLOATV)((float)(kh * kw));
        float t[FCN_CL_VX];
        if (x0 + FCN_CL_VX - 1 < out_w) {
            FCN_CL_VSTORE(r, 0, dst + x0);
        } else {
            FCN_CL_VSTORE(r, 0, t);
            for (i = 0; i < FCN_CL_VX && x0 + i < out_w; i++) dst[x0 + i] = t[i];
        }
    }
}

/* relu, tanh or sigmoid on n values in place. */
__kernel void fcn_act(__global float *v, int n, int type, float slope)
{
    int i = (int)get_global_id(0);
    float x;
    if (i >= n) return;
    x = v[i];
    if (type == FCN_CL_RELU) x = fcn__relu(x, slope);
    else if (type == FCN_CL_TANH) x = fcn__tanh(x);
    else if (type == FCN_CL_SIGMOID) x = fcn__sigmoid(x);
    v[i] = x;
}

/* Softmax over k planar channels at each of n positions, in place. */
__kernel void fcn_softmax(__global float *v, int n, int k)
{
    int i = (int)get_global_id(0), j;
    float m, s = 0.0f;
    if (i >= n) return;
    m = v[i];
    for (j = 1; j < k; j++)
        if (v[i + j * n] > m) m = v[i + j * n];
    for (j = 0; j < k; j++) {
        float e = fcn__exp(v[i + j * n] - m);
        v[i + j * n] = e;
        s += e;
    }
    for (j = 0; j < k; j++) v[i + j * n] = v[i + j * n] / s;
}

/* The map from the last layer's grid: every q-th point of a grid_w-wide plane, channels
   last, rh x rw x k. */
__kernel void fcn_gather(__global const float *in, __global float *out, int plane, int grid_w, int q,
                         int rh, int rw, int k)
{
    int x = (int)get_global_id(0), y = (int)get_global_id(1), j;
    if (x >= rw || y >= rh) return;
    for (j = 0; j < k; j++) out[(y * rw + x) * k + j] = in[j * plane + y * q * grid_w + x * q];
}
