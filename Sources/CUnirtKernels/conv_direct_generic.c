/* Portable direct convolution over the packed weight layout (any kernel,
 * stride, dilation, pads). The oracle-like fallback of conv_direct_avx2.c. */
#include "kernels_internal.h"
#include <string.h>

void unirt_conv_direct_compute_generic(const float *x, const float *packed,
                                       const unirt_conv2d_geometry *g, const unirt_epilogue *ep,
                                       float *y, size_t ob, size_t oe, size_t rb, size_t re) {
    unirt_conv_direct_header h;
    memcpy(&h, packed, sizeof h);
    const size_t C = h.in_channels, KH = h.kernel_h, KW = h.kernel_w, OCB = h.block;
    const size_t taps = C * KH * KW, plane_in = g->in_h * g->in_w, plane_out = g->out_h * g->out_w;
    const float *wall = packed + UNIRT_CONV_DIRECT_HEADER;
    for (size_t m = ob; m < oe; m++) {
        const float *wb = wall + (m / OCB) * OCB * taps;
        const size_t o = m % OCB;
        for (size_t oy = rb; oy < re; oy++) {
            float *yr = y + m * plane_out + oy * g->out_w;
            for (size_t ox = 0; ox < g->out_w; ox++) {
                float acc = 0.0f;
                for (size_t c = 0; c < C; c++) {
                    for (size_t ky = 0; ky < KH; ky++) {
                        ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky * g->dilation_h) - (ptrdiff_t)g->pad_top;
                        if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
                        const float *xr = x + c * plane_in + (size_t)iy * g->in_w;
                        const float *wr = wb + ((c * KH + ky) * KW) * OCB + o;
                        for (size_t kx = 0; kx < KW; kx++) {
                            ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w + kx * g->dilation_w) - (ptrdiff_t)g->pad_left;
                            if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
                            acc += xr[ix] * wr[kx * OCB];
                        }
                    }
                }
                yr[ox] = acc;
            }
            if (ep)
                unirt_epilogue_row_generic(ep, m, yr,
                                           ep->residual ? ep->residual + m * plane_out + oy * g->out_w : NULL,
                                           g->out_w);
        }
    }
}
