/* Portable INT8 depthwise convolution (any kernel, stride, dilation, pads):
 * exact int32 accumulation of (x - zp) * w, then scale, epilogue and either a
 * float or a requantized u8 output. */
#include "kernels_internal.h"

void unirt_dwconv_u8s8_compute_generic(const uint8_t *x, int32_t xzp, const int8_t *w,
                                       const unirt_conv2d_geometry *g, const float *channel_scale,
                                       const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                                       float *yf, uint8_t *yq, size_t cb, size_t ce) {
    const size_t plane_in = g->in_h * g->in_w, plane_out = g->out_h * g->out_w;
    const size_t kk = g->kernel_h * g->kernel_w;
    for (size_t c = cb; c < ce; c++) {
        const uint8_t *xc = x + c * plane_in;
        const int8_t *wc = w + c * kk;
        for (size_t oy = 0; oy < g->out_h; oy++)
            for (size_t ox = 0; ox < g->out_w; ox++) {
                int32_t acc = 0;
                for (size_t ky = 0; ky < g->kernel_h; ky++) {
                    ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky * g->dilation_h) - (ptrdiff_t)g->pad_top;
                    if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
                    for (size_t kx = 0; kx < g->kernel_w; kx++) {
                        ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w + kx * g->dilation_w) - (ptrdiff_t)g->pad_left;
                        if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
                        acc += ((int32_t)xc[iy * (ptrdiff_t)g->in_w + ix] - xzp) * wc[ky * g->kernel_w + kx];
                    }
                }
                const size_t o = c * plane_out + oy * g->out_w + ox;
                float v = (float)acc * channel_scale[c];
                if (ep) v = unirt_epilogue_scalar(ep, c, v, ep->residual ? ep->residual[o] : 0.0f);
                if (yf) yf[o] = v;
                else yq[o] = unirt_quant_u8_scalar(v, out_scale, out_zp);
            }
    }
}
