/* Portable pooling: max, average (with/without pads counted), global average. */
#include "kernels_internal.h"
#include <float.h>

/* Max over the in-image taps of window (oy, ox) of one channel plane. */
static inline float max_window(const float *xc, const unirt_conv2d_geometry *g, size_t oy, size_t ox) {
    float m = -INFINITY;
    for (size_t ky = 0; ky < g->kernel_h; ky++) {
        ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky * g->dilation_h) - (ptrdiff_t)g->pad_top;
        if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
        for (size_t kx = 0; kx < g->kernel_w; kx++) {
            ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w + kx * g->dilation_w) - (ptrdiff_t)g->pad_left;
            if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
            float v = xc[iy * (ptrdiff_t)g->in_w + ix];
            m = v > m ? v : m;
        }
    }
    return m;
}

void unirt_maxpool_compute_generic(const float *x, const unirt_conv2d_geometry *g, float *y,
                                   size_t cb, size_t ce) {
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * g->in_h * g->in_w;
        float *yc = y + c * g->out_h * g->out_w;
        for (size_t oy = 0; oy < g->out_h; oy++)
            for (size_t ox = 0; ox < g->out_w; ox++) yc[oy * g->out_w + ox] = max_window(xc, g, oy, ox);
    }
}

/* Clips the window [start, start + extent) of one axis to [lo, hi). */
static inline size_t clipped(ptrdiff_t start, ptrdiff_t extent, ptrdiff_t lo, ptrdiff_t hi) {
    ptrdiff_t a = start < lo ? lo : start, b = start + extent > hi ? hi : start + extent;
    return b > a ? (size_t)(b - a) : 0;
}

void unirt_avgpool_compute(const float *x, const unirt_conv2d_geometry *g, int32_t count_include_pad,
                           float *y, size_t cb, size_t ce) {
    const ptrdiff_t H = (ptrdiff_t)g->in_h, W = (ptrdiff_t)g->in_w;
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * g->in_h * g->in_w;
        float *yc = y + c * g->out_h * g->out_w;
        for (size_t oy = 0; oy < g->out_h; oy++) {
            const ptrdiff_t y0 = (ptrdiff_t)(oy * g->stride_h) - (ptrdiff_t)g->pad_top;
            for (size_t ox = 0; ox < g->out_w; ox++) {
                const ptrdiff_t x0 = (ptrdiff_t)(ox * g->stride_w) - (ptrdiff_t)g->pad_left;
                float sum = 0.0f;
                size_t n = 0;
                for (size_t ky = 0; ky < g->kernel_h; ky++) {
                    ptrdiff_t iy = y0 + (ptrdiff_t)(ky * g->dilation_h);
                    if (iy < 0 || iy >= H) continue;
                    for (size_t kx = 0; kx < g->kernel_w; kx++) {
                        ptrdiff_t ix = x0 + (ptrdiff_t)(kx * g->dilation_w);
                        if (ix < 0 || ix >= W) continue;
                        sum += xc[iy * W + ix];
                        n++;
                    }
                }
                if (count_include_pad) {
                    /* Taps inside the padded image, dilation 1 as ONNX defines it. */
                    n = clipped(y0, (ptrdiff_t)g->kernel_h, -(ptrdiff_t)g->pad_top, H + (ptrdiff_t)g->pad_bottom) *
                        clipped(x0, (ptrdiff_t)g->kernel_w, -(ptrdiff_t)g->pad_left, W + (ptrdiff_t)g->pad_right);
                }
                yc[oy * g->out_w + ox] = n ? sum / (float)n : 0.0f;
            }
        }
    }
}

void unirt_global_avgpool_compute_generic(const float *x, size_t plane, float *y, size_t cb, size_t ce) {
    for (size_t c = cb; c < ce; c++) {
        double s = 0.0;
        for (size_t i = 0; i < plane; i++) s += x[c * plane + i];
        y[c] = (float)(s / (double)plane);
    }
}
