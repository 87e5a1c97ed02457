/* AVX2 pooling: max pooling with stride 1 or 2 (dilation 1) over 8 outputs
 * per step in the interior of each row, scalar at the borders; global
 * average pooling with float lanes flushed into double every 1024 values. */
#include "simd_avx2.h"

/* 8 lanes of p[0], p[s], ..., p[7s] for s = 1 or 2. */
UNIRT_AVX2_INLINE __m256 load_step(const float *p, size_t s) {
    if (s == 1) return _mm256_loadu_ps(p);
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    __m256 e = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
}

/* Scalar max over the in-image taps of output (oy, ox), dilation 1. */
static inline float max_point(const float *xc, const unirt_conv2d_geometry *g, size_t oy, size_t ox) {
    float m = -INFINITY;
    for (size_t ky = 0; ky < g->kernel_h; ky++) {
        ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky) - (ptrdiff_t)g->pad_top;
        if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
        for (size_t kx = 0; kx < g->kernel_w; kx++) {
            ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w + kx) - (ptrdiff_t)g->pad_left;
            if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
            float v = xc[iy * (ptrdiff_t)g->in_w + ix];
            m = v > m ? v : m;
        }
    }
    return m;
}

/* The common 2x2 stride-2 max pool: the two rows' maximum first, then that
 * of each even and odd column, 8 outputs from four 8-float loads (the general
 * loop below loads every tap separately). Rows or columns that reach into
 * padding take the scalar path. */
UNIRT_AVX2 static void maxpool2x2s2_avx2(const float *x, const unirt_conv2d_geometry *g, float *y, size_t cb,
                                         size_t ce) {
    const ptrdiff_t W = (ptrdiff_t)g->in_w, pl = (ptrdiff_t)g->pad_left;
    const size_t x0 = (size_t)((pl + 1) / 2);
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * g->in_h * g->in_w;
        float *yc = y + c * g->out_h * g->out_w;
        for (size_t oy = 0; oy < g->out_h; oy++) {
            float *yr = yc + oy * g->out_w;
            const ptrdiff_t iy = (ptrdiff_t)(oy * 2) - (ptrdiff_t)g->pad_top;
            size_t vb = x0 < g->out_w ? x0 : g->out_w, ve = vb;
            if (iy >= 0 && iy + 1 < (ptrdiff_t)g->in_h) {
                const float *a = xc + iy * W, *b = a + W;
                for (size_t ox = vb; ox + 8 <= g->out_w && (ptrdiff_t)(ox * 2) - pl + 16 <= W; ox += 8) {
                    const ptrdiff_t base = (ptrdiff_t)(ox * 2) - pl;
                    const __m256 m0 = _mm256_max_ps(_mm256_loadu_ps(a + base), _mm256_loadu_ps(b + base));
                    const __m256 m1 = _mm256_max_ps(_mm256_loadu_ps(a + base + 8), _mm256_loadu_ps(b + base + 8));
                    const __m256 m = _mm256_max_ps(_mm256_shuffle_ps(m0, m1, 0x88), _mm256_shuffle_ps(m0, m1, 0xDD));
                    _mm256_storeu_ps(yr + ox, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), 0xD8)));
                    ve = ox + 8;
                }
            }
            for (size_t j = 0; j < vb; j++) yr[j] = max_point(xc, g, oy, j);
            for (size_t j = ve; j < g->out_w; j++) yr[j] = max_point(xc, g, oy, j);
        }
    }
}

UNIRT_AVX2 void unirt_maxpool_compute_avx2(const float *x, const unirt_conv2d_geometry *g, float *y,
                                           size_t cb, size_t ce) {
    const size_t s = g->stride_w;
    if (s > 2 || g->dilation_w != 1 || g->dilation_h != 1) {
        unirt_maxpool_compute_generic(x, g, y, cb, ce);
        return;
    }
    const ptrdiff_t W = (ptrdiff_t)g->in_w, pl = (ptrdiff_t)g->pad_left;
    if (g->kernel_h == 2 && g->kernel_w == 2 && s == 2 && g->stride_h == 2) {
        maxpool2x2s2_avx2(x, g, y, cb, ce);
        return;
    }
    /* Vector steps start at the first output whose window starts in the row. */
    const size_t x0 = (size_t)((pl + (ptrdiff_t)s - 1) / (ptrdiff_t)s);
    /* Floats read from ox*s - pl for 8 outputs: kernel_w - 1 + 8 (s = 1) or + 16 (s = 2). */
    const ptrdiff_t reach = (ptrdiff_t)g->kernel_w - 1 + (s == 1 ? 8 : 16);
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * g->in_h * g->in_w;
        float *yc = y + c * g->out_h * g->out_w;
        for (size_t oy = 0; oy < g->out_h; oy++) {
            float *yr = yc + oy * g->out_w;
            size_t vb = x0 < g->out_w ? x0 : g->out_w, ve = vb;
            for (size_t ox = vb; ox + 8 <= g->out_w && (ptrdiff_t)(ox * s) - pl + reach <= W; ox += 8) {
                const ptrdiff_t base = (ptrdiff_t)(ox * s) - pl;
                __m256 m = _mm256_set1_ps(-INFINITY);
                for (size_t ky = 0; ky < g->kernel_h; ky++) {
                    ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky) - (ptrdiff_t)g->pad_top;
                    if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
                    const float *p = xc + iy * W + base;
                    for (size_t kx = 0; kx < g->kernel_w; kx++) m = _mm256_max_ps(m, load_step(p + kx, s));
                }
                _mm256_storeu_ps(yr + ox, m);
                ve = ox + 8;
            }
            for (size_t j = 0; j < vb; j++) yr[j] = max_point(xc, g, oy, j);
            for (size_t j = ve; j < g->out_w; j++) yr[j] = max_point(xc, g, oy, j);
        }
    }
}

UNIRT_AVX2 void unirt_global_avgpool_compute_avx2(const float *x, size_t plane, float *y, size_t cb,
                                                  size_t ce) {
    for (size_t c = cb; c < ce; c++) {
        const float *p = x + c * plane;
        double total = 0.0;
        size_t i = 0;
        while (i < plane) {
            size_t end = plane - i > 1024 ? i + 1024 : plane;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (; i + 16 <= end; i += 16) {
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
                a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
            }
            if (i < end) {
                if (end - i >= 8) { a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i)); i += 8; }
                if (i < end) { a1 = _mm256_add_ps(a1, _mm256_maskload_ps(p + i, unirt_mask8(end - i))); i = end; }
            }
            float lanes[8];
            _mm256_storeu_ps(lanes, _mm256_add_ps(a0, a1));
            for (int l = 0; l < 8; l++) total += lanes[l];
        }
        y[c] = (float)(total / (double)plane);
    }
}
