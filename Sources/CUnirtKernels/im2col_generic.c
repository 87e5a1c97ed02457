/* im2col and strided 1x1 gathering for FP32 convolution through sgemm.
 * Data movement only: rows are filled with runs of contiguous copies
 * (stride 1) that the compiler vectorizes, so one portable version serves. */
#include "kernels_internal.h"
#include <string.h>

void unirt_im2col_compute(const float *x, const unirt_conv2d_geometry *g, size_t cb, size_t ce,
                          size_t pos_begin, size_t pos_end, float *cols) {
    const size_t n = pos_end - pos_begin, plane = g->in_h * g->in_w;
    const ptrdiff_t H = (ptrdiff_t)g->in_h, W = (ptrdiff_t)g->in_w;
    float *row = cols;
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * plane;
        for (size_t ky = 0; ky < g->kernel_h; ky++) {
            for (size_t kx = 0; kx < g->kernel_w; kx++, row += n) {
                size_t p = pos_begin;
                while (p < pos_end) {
                    const size_t oy = p / g->out_w, ox0 = p % g->out_w;
                    size_t run = g->out_w - ox0;
                    if (run > pos_end - p) run = pos_end - p;
                    float *dst = row + (p - pos_begin);
                    const ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky * g->dilation_h) - (ptrdiff_t)g->pad_top;
                    if (iy < 0 || iy >= H) {
                        memset(dst, 0, run * sizeof(float));
                    } else {
                        const float *src = xc + iy * W;
                        const ptrdiff_t ix0 = (ptrdiff_t)(ox0 * g->stride_w + kx * g->dilation_w) - (ptrdiff_t)g->pad_left;
                        const ptrdiff_t sw = (ptrdiff_t)g->stride_w;
                        if (sw == 1 && ix0 >= 0 && ix0 + (ptrdiff_t)run <= W) {
                            memcpy(dst, src + ix0, run * sizeof(float));
                        } else {
                            for (size_t j = 0; j < run; j++) {
                                ptrdiff_t ix = ix0 + (ptrdiff_t)j * sw;
                                dst[j] = ix >= 0 && ix < W ? src[ix] : 0.0f;
                            }
                        }
                    }
                    p += run;
                }
            }
        }
    }
}

void unirt_gather_strided_compute(const float *x, const unirt_conv2d_geometry *g, size_t cb,
                                  size_t ce, float *y) {
    const size_t plane = g->in_h * g->in_w;
    float *dst = y;
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * plane;
        for (size_t oy = 0; oy < g->out_h; oy++) {
            const float *src = xc + oy * g->stride_h * g->in_w;
            for (size_t ox = 0; ox < g->out_w; ox++) *dst++ = src[ox * g->stride_w];
        }
    }
}
