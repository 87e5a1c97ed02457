/* im2col and strided 1x1 gathering for FP32 convolution through sgemm.
 * Data movement only: rows are filled with runs of contiguous copies
 * (stride 1) that the compiler vectorizes, so one portable version serves. */
#include "kernels_internal.h"
#include <string.h>

/* d[j] = s[2j]: the stride-2 gather of strided convolutions (a first layer
 * spends most of its time here). Cloned per ISA and resolved once at load
 * time; pure data movement, so every clone gives the same bits. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void copy_stride2(float *d, const float *s, size_t n) {
    for (size_t j = 0; j < n; j++) d[j] = s[2 * j];
}

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
                        /* Columns j in [lo, hi) read inside the row; the rest are padding. */
                        size_t lo = ix0 >= 0 ? 0 : (size_t)((-ix0 + sw - 1) / sw);
                        const ptrdiff_t last = W - 1 - ix0;
                        size_t hi = last < 0 ? 0 : (size_t)(last / sw) + 1;
                        if (hi > run) hi = run;
                        if (lo > hi) lo = hi;
                        memset(dst, 0, lo * sizeof(float));
                        const float *s0 = src + ix0 + (ptrdiff_t)lo * sw;
                        float *d0 = dst + lo;
                        const size_t count = hi - lo;
                        if (sw == 1) {
                            memcpy(d0, s0, count * sizeof(float));
                        } else if (sw == 2) {
                            copy_stride2(d0, s0, count);
                        } else {
                            for (size_t j = 0; j < count; j++) d0[j] = s0[(ptrdiff_t)j * sw];
                        }
                        memset(dst + hi, 0, (run - hi) * sizeof(float));
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
