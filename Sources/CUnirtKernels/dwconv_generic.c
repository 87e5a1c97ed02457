/* Portable depthwise convolution (any kernel, stride, dilation, pads). */
#include "kernels_internal.h"

void unirt_dwconv_compute_generic(const float *x, const float *w, const unirt_conv2d_geometry *g,
                                  const unirt_epilogue *ep, float *y, size_t cb, size_t ce) {
    const size_t plane_in = g->in_h * g->in_w, plane_out = g->out_h * g->out_w;
    const size_t kk = g->kernel_h * g->kernel_w;
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * plane_in, *wc = w + c * kk;
        float *yc = y + c * plane_out;
        for (size_t oy = 0; oy < g->out_h; oy++) {
            for (size_t ox = 0; ox < g->out_w; ox++) {
                float acc = 0.0f;
                for (size_t ky = 0; ky < g->kernel_h; ky++) {
                    ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky * g->dilation_h) - (ptrdiff_t)g->pad_top;
                    if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
                    for (size_t kx = 0; kx < g->kernel_w; kx++) {
                        ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w + kx * g->dilation_w) - (ptrdiff_t)g->pad_left;
                        if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
                        acc += xc[iy * (ptrdiff_t)g->in_w + ix] * wc[ky * g->kernel_w + kx];
                    }
                }
                yc[oy * g->out_w + ox] = acc;
            }
        }
        if (ep) unirt_epilogue_row_generic(ep, c, yc, ep->residual ? ep->residual + c * plane_out : NULL, plane_out);
    }
}
