/* Portable instance normalization (two passes, double accumulation) and
 * NCHW <-> NHWC transposition (tiled for cache). */
#include "kernels_internal.h"

void unirt_instancenorm_compute_generic(const float *x, size_t plane, const float *scale,
                                        const float *bias, float epsilon, const unirt_epilogue *ep,
                                        float *y, size_t cb, size_t ce) {
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * plane;
        float *yc = y + c * plane;
        double s = 0.0;
        for (size_t i = 0; i < plane; i++) s += xc[i];
        const double mean = s / (double)plane;
        double v = 0.0;
        for (size_t i = 0; i < plane; i++) {
            double d = (double)xc[i] - mean;
            v += d * d;
        }
        const double inv = 1.0 / sqrt(v / (double)plane + (double)epsilon);
        /* Centre on the float mean first: x*a + (bias - mean*a) would cancel
         * catastrophically when |mean| >> std. */
        const float mf = (float)mean;
        const double ad = inv * (double)scale[c];
        const float a = (float)ad, b = (float)((double)bias[c] - (mean - (double)mf) * ad);
        for (size_t i = 0; i < plane; i++) yc[i] = (xc[i] - mf) * a + b;
        if (ep) unirt_epilogue_row_generic(ep, c, yc, ep->residual ? ep->residual + c * plane : NULL, plane);
    }
}

enum { TILE = 32 };

void unirt_transpose_to_nhwc_generic(const float *x, size_t channels, size_t plane, float *y) {
    for (size_t c0 = 0; c0 < channels; c0 += TILE)
        for (size_t p0 = 0; p0 < plane; p0 += TILE) {
            size_t c1 = c0 + TILE < channels ? c0 + TILE : channels;
            size_t p1 = p0 + TILE < plane ? p0 + TILE : plane;
            for (size_t p = p0; p < p1; p++)
                for (size_t c = c0; c < c1; c++) y[p * channels + c] = x[c * plane + p];
        }
}

void unirt_transpose_to_nchw_generic(const float *x, size_t channels, size_t plane, float *y) {
    /* [plane][C] -> [C][plane] is the same transposition with roles swapped. */
    unirt_transpose_to_nhwc_generic(x, plane, channels, y);
}
