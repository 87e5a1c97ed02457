/* AVX2 instance normalization and 8x8-block transposition. */
#include "simd_avx2.h"

/* Sum of p[0..n) (mode 0) or of (p[i] - mean)^2 (mode 1): float lanes over
 * blocks of 1024 values, each block's lanes added into a double. */
UNIRT_AVX2 static double plane_sum(const float *p, size_t n, int squares, float mean) {
    const __m256 mv = _mm256_set1_ps(mean);
    double total = 0.0;
    size_t i = 0;
    while (i < n) {
        const size_t end = n - i > 1024 ? i + 1024 : n;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (; i + 8 <= end; i += 8) {
            __m256 v = _mm256_loadu_ps(p + i);
            if (squares) {
                __m256 d = _mm256_sub_ps(v, mv);
                a1 = _mm256_fmadd_ps(d, d, a1);
            } else {
                a0 = _mm256_add_ps(a0, v);
            }
        }
        if (i < end) {
            __m256i m = unirt_mask8(end - i);
            __m256 v = _mm256_maskload_ps(p + i, m);
            __m256 d = _mm256_and_ps(_mm256_sub_ps(v, mv), _mm256_castsi256_ps(m));
            if (squares) a1 = _mm256_fmadd_ps(d, d, a1);
            else a0 = _mm256_add_ps(a0, v);
            i = end;
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, _mm256_add_ps(a0, a1));
        for (int l = 0; l < 8; l++) total += lanes[l];
    }
    return total;
}

UNIRT_AVX2 void unirt_instancenorm_compute_avx2(const float *x, size_t plane, const float *scale,
                                                const float *bias, float epsilon,
                                                const unirt_epilogue *ep, float *y, size_t cb,
                                                size_t ce) {
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * plane;
        float *yc = y + c * plane;
        const double mean = plane_sum(xc, plane, 0, 0.0f) / (double)plane;
        /* The deviation from the float mean differs from the exact one by a
         * constant shift, removed below (var = E[(x-m)^2] - (E[x]-m)^2). */
        const float mf = (float)mean;
        const double shift = mean - (double)mf;
        const double var = plane_sum(xc, plane, 1, mf) / (double)plane - shift * shift;
        const double inv = 1.0 / sqrt((var > 0.0 ? var : 0.0) + (double)epsilon);
        /* y = (x - mf) * a + (bias - shift * a): centring first avoids the
         * cancellation of x*a + (bias - mean*a) when |mean| >> std. */
        const double ad = inv * (double)scale[c];
        const __m256 a = _mm256_set1_ps((float)ad);
        const __m256 b = _mm256_set1_ps((float)((double)bias[c] - shift * ad));
        const __m256 mv = _mm256_set1_ps(mf);
        size_t i = 0;
        for (; i + 8 <= plane; i += 8)
            _mm256_storeu_ps(yc + i, _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(xc + i), mv), a, b));
        if (i < plane) {
            __m256i m = unirt_mask8(plane - i);
            _mm256_maskstore_ps(yc + i, m, _mm256_fmadd_ps(_mm256_sub_ps(_mm256_maskload_ps(xc + i, m), mv), a, b));
        }
        if (ep) unirt_epilogue_row_avx2(ep, c, yc, ep->residual ? ep->residual + c * plane : NULL, plane);
    }
}

/* Transposes the 8x8 block at x (row stride ldx) into y (row stride ldy). */
UNIRT_AVX2_INLINE void transpose8x8(const float *x, size_t ldx, float *y, size_t ldy) {
    __m256 r0 = _mm256_loadu_ps(x + 0 * ldx), r1 = _mm256_loadu_ps(x + 1 * ldx);
    __m256 r2 = _mm256_loadu_ps(x + 2 * ldx), r3 = _mm256_loadu_ps(x + 3 * ldx);
    __m256 r4 = _mm256_loadu_ps(x + 4 * ldx), r5 = _mm256_loadu_ps(x + 5 * ldx);
    __m256 r6 = _mm256_loadu_ps(x + 6 * ldx), r7 = _mm256_loadu_ps(x + 7 * ldx);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(y + 0 * ldy, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(y + 1 * ldy, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(y + 2 * ldy, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(y + 3 * ldy, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(y + 4 * ldy, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(y + 5 * ldy, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(y + 6 * ldy, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(y + 7 * ldy, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* Row-major [rows][cols] -> [cols][rows]: 8x8 blocks, scalar edges. */
UNIRT_AVX2 static void transpose_matrix(const float *x, size_t rows, size_t cols, float *y) {
    const size_t r8 = rows & ~(size_t)7, c8 = cols & ~(size_t)7;
    for (size_t r0 = 0; r0 < r8; r0 += 64)
        for (size_t c0 = 0; c0 < c8; c0 += 64) {
            size_t r1 = r0 + 64 < r8 ? r0 + 64 : r8, c1 = c0 + 64 < c8 ? c0 + 64 : c8;
            for (size_t r = r0; r < r1; r += 8)
                for (size_t c = c0; c < c1; c += 8) transpose8x8(x + r * cols + c, cols, y + c * rows + r, rows);
        }
    for (size_t r = 0; r < rows; r++)
        for (size_t c = (r < r8 ? c8 : 0); c < cols; c++) y[c * rows + r] = x[r * cols + c];
}

UNIRT_AVX2 void unirt_transpose_to_nhwc_avx2(const float *x, size_t channels, size_t plane, float *y) {
    transpose_matrix(x, channels, plane, y);
}

UNIRT_AVX2 void unirt_transpose_to_nchw_avx2(const float *x, size_t channels, size_t plane, float *y) {
    transpose_matrix(x, plane, channels, y);
}
