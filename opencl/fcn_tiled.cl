/* fcn.h OpenCL kernels, part 4 of 4: the tiled convolution, once per register block.

   fcn_opencl.h pastes this file into the program once for each register block of its
   shapes (fcn__cl_tiles), after "#define FCN_CL_RY 4", "_RX", "_RM" and
   "#define FCN_CL_TILED fcn_conv_tiled_4x4x4" lines of its own, so that one build holds
   every block the tuner tries (fcn__cl_build). Alone (a syntax check, an editor) it is
   the 4x4 points x 4 maps kernel fcn_conv_tiled.

   The arithmetic is fcn_conv's in opencl/fcn.cl: THE ARITHMETIC CONTRACT at the top of
   fcn.h. */

/* The same convolution for GPUs: register blocks, tiled through local memory. A dilated
   convolution is dil x dil undilated ones, one per residue class of (y, x) modulo dil.
   A work-group takes a block of one class, (LY*RY) x (LX*RX) output points (dil apart)
   and LZ*RM output maps (LX, LY, LZ its local size; RY, RX, RM the register block below).
   Work item (lx, ly, lz) computes the block's points (ly + i*LY, lx + j*LX), i < RY,
   j < RX, for its RM maps lz*RM ..., in RY*RX*RM registers: one input sample read from
   local memory feeds RM fmas, one weight RY*RX, and neighbouring work items read
   neighbouring local words. For each slice of cs input channels the work-group stages
   in local memory the input samples the block reads ((LY*RY-1)*step+kh rows by
   (LX*RX-1)*step+kw columns per channel, also dil apart) and the block's weights, per
   (channel, row, column) its LZ*RM maps side by side; then every work item accumulates
   from there. Each output still adds bias, channel, row, column in the contract's order:
   a slice is whole channels, taken in order. nbx, nby: blocks per class. Work items
   past the grid's edge compute clamped points and maps and store nothing; none returns
   early (the barriers need them all). */
#ifndef FCN_CL_RY
#define FCN_CL_RY 4
#endif
#ifndef FCN_CL_RX
#define FCN_CL_RX 4
#endif
#ifndef FCN_CL_RM
#define FCN_CL_RM 4
#endif
#ifndef FCN_CL_TILED
#define FCN_CL_TILED fcn_conv_tiled
#endif

__kernel void FCN_CL_TILED(__global const float *in, __global float *out, __global const float *par,
                             int woff, int boff, int cin, int kh, int kw, int in_h, int in_w, int out_h,
                             int out_w, int step, int dil, int maps, int nbx, int nby, int cs,
                             __local float *tile, __local float *wl)
{
    int lx = (int)get_local_id(0), ly = (int)get_local_id(1), lz = (int)get_local_id(2);
    int LX = (int)get_local_size(0), LY = (int)get_local_size(1), LZ = (int)get_local_size(2);
    int gx = (int)get_group_id(0), gy = (int)get_group_id(1);
    int bx = gx % nbx, xr = gx / nbx, by = gy % nby, yr = gy / nby;
    int BX = LX * FCN_CL_RX, BY = LY * FCN_CL_RY, gm = LZ * FCN_CL_RM;
    int tw = (BX - 1) * step + kw, th = (BY - 1) * step + kh, n = tw * th;
    int col0 = xr * step + dil * step * bx * BX, row0 = yr * step + dil * step * by * BY;
    int mb = (int)get_group_id(2) * gm, m0 = mb + lz * FCN_CL_RM, kk = kh * kw, ksz = cin * kk;
    int lid = (lz * LY + ly) * LX + lx, nl = LX * LY * LZ, c0, cn, c, ky, kx, t, i, j, m;
    float acc[FCN_CL_RY][FCN_CL_RX][FCN_CL_RM], wv[FCN_CL_RM];
#pragma unroll
    for (m = 0; m < FCN_CL_RM; m++) {
        float b = par[boff + min(m0 + m, maps - 1)];
#pragma unroll
        for (i = 0; i < FCN_CL_RY; i++)
#pragma unroll
            for (j = 0; j < FCN_CL_RX; j++) acc[i][j][m] = b;
    }
    for (c0 = 0; c0 < cin; c0 += cs) {
        cn = min(cs, cin - c0);
        barrier(CLK_LOCAL_MEM_FENCE);
        for (t = lid; t < cn * n; t += nl) {
            int cc = t / n, p = t - cc * n, r = p / tw, q = p - r * tw, iy = row0 + dil * r, ix = col0 + dil * q;
            tile[t] = (iy < in_h && ix < in_w) ? in[((c0 + cc) * in_h + iy) * in_w + ix] : 0.0f;
        }
        /* wl[(tap of the slice) * gm + map]; the slice's taps are consecutive in par */
        for (t = lid; t < cn * kk * gm; t += nl) {
            int tap = t / gm;
            wl[t] = par[woff + min(mb + (t - tap * gm), maps - 1) * ksz + c0 * kk + tap];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (c = 0; c < cn; c++)
            for (ky = 0; ky < kh; ky++) {
                __local const float *row = tile + c * n + (ly * step + ky) * tw + lx * step;
                __local const float *wr = wl + (c * kk + ky * kw) * gm + lz * FCN_CL_RM;
                for (kx = 0; kx < kw; kx++) {
#pragma unroll
                    for (m = 0; m < FCN_CL_RM; m++) wv[m] = wr[kx * gm + m];
#pragma unroll
                    for (i = 0; i < FCN_CL_RY; i++)
#pragma unroll
                        for (j = 0; j < FCN_CL_RX; j++) {
                            float v = row[(i * LY * tw + j * LX) * step + kx];
#pragma unroll
                            for (m = 0; m < FCN_CL_RM; m++) acc[i][j][m] = fma(wv[m], v, acc[i][j][m]);
                        }
                }
            }
    }
#pragma unroll
    for (i = 0; i < FCN_CL_RY; i++)
#pragma unroll
        for (j = 0; j < FCN_CL_RX; j++) {
            int y = yr + dil * (by * BY + ly + i * LY), x = xr + dil * (bx * BX + lx + j * LX);
            if (y < out_h && x < out_w) {
#pragma unroll
                for (m = 0; m < FCN_CL_RM; m++)
                    if (m0 + m < maps) out[((m0 + m) * out_h + y) * out_w + x] = acc[i][j][m];
            }
        }
}
