/* AVX-512F row kernels of the pointwise -> depthwise pass (pwdw.c): a 3x3
 * depthwise row, 16 outputs per step with the padding taken by zero-masked
 * loads (so borders need no scalar path), and a 2x2 stride-2 max pool of two
 * rows. Stride-2 taps are deinterleaved from two 16-float loads. */
#include "conv_gemm_internal.h"
#include <immintrin.h>

UNIRT_AVX512 void unirt_dw3x3_row_avx512(const float *const rows[3], const float *w, size_t in_w,
                                         size_t out_w, size_t stride, size_t pad_left, float bias,
                                         int relu, float *y) {
    __m512 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm512_set1_ps(w[i]);
    const __m512 bv = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (size_t ox = 0; ox < out_w; ox += 16) {
        const size_t n = out_w - ox < 16 ? out_w - ox : 16;
        const ptrdiff_t base = (ptrdiff_t)(ox * stride) - (ptrdiff_t)pad_left;
        __m512 acc0 = bv, acc1 = zero;
        if (stride == 1) {
            const __mmask16 m0 = (__mmask16)unirt_row_lanes(base, in_w, n);
            const __mmask16 m1 = (__mmask16)unirt_row_lanes(base + 1, in_w, n);
            const __mmask16 m2 = (__mmask16)unirt_row_lanes(base + 2, in_w, n);
            for (int ky = 0; ky < 3; ky++) {
                if (!rows[ky]) continue;
                const float *p = rows[ky] + base;
                acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, p), wv[ky * 3], acc0);
                acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, p + 1), wv[ky * 3 + 1], acc1);
                acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m2, p + 2), wv[ky * 3 + 2], acc0);
            }
        } else {
            /* Taps 0 and 1 are the even and odd lanes of 32 floats from base;
             * tap 2 the even lanes of 32 floats from base + 2. */
            const uint32_t ma = unirt_row_lanes(base, in_w, 2 * n), mb = unirt_row_lanes(base + 2, in_w, 2 * n);
            for (int ky = 0; ky < 3; ky++) {
                if (!rows[ky]) continue;
                const float *p = rows[ky] + base;
                const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)ma, p);
                const __m512 a1 = _mm512_maskz_loadu_ps((__mmask16)(ma >> 16), p + 16);
                const __m512 b0 = _mm512_maskz_loadu_ps((__mmask16)mb, p + 2);
                const __m512 b1 = _mm512_maskz_loadu_ps((__mmask16)(mb >> 16), p + 18);
                acc0 = _mm512_fmadd_ps(_mm512_permutex2var_ps(a0, even, a1), wv[ky * 3], acc0);
                acc1 = _mm512_fmadd_ps(_mm512_permutex2var_ps(a0, odd, a1), wv[ky * 3 + 1], acc1);
                acc0 = _mm512_fmadd_ps(_mm512_permutex2var_ps(b0, even, b1), wv[ky * 3 + 2], acc0);
            }
        }
        __m512 v = _mm512_add_ps(acc0, acc1);
        if (relu) v = _mm512_max_ps(v, zero);
        _mm512_mask_storeu_ps(y + ox, (__mmask16)unirt_lane_range(0, (ptrdiff_t)n), v);
    }
}

UNIRT_AVX512 void unirt_pool2x2_row_avx512(const float *a, const float *b, size_t n, float *y) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (size_t i = 0; i < n; i += 16) {
        const size_t k = n - i < 16 ? n - i : 16;
        const uint32_t m = unirt_lane_range(0, (ptrdiff_t)(2 * k));
        const __m512 v0 = _mm512_max_ps(_mm512_maskz_loadu_ps((__mmask16)m, a + 2 * i),
                                        _mm512_maskz_loadu_ps((__mmask16)m, b + 2 * i));
        const __m512 v1 = _mm512_max_ps(_mm512_maskz_loadu_ps((__mmask16)(m >> 16), a + 2 * i + 16),
                                        _mm512_maskz_loadu_ps((__mmask16)(m >> 16), b + 2 * i + 16));
        const __m512 r = _mm512_max_ps(_mm512_permutex2var_ps(v0, even, v1), _mm512_permutex2var_ps(v0, odd, v1));
        _mm512_mask_storeu_ps(y + i, (__mmask16)unirt_lane_range(0, (ptrdiff_t)k), r);
    }
}

/* Two output rows of a "same" 3x3 depthwise convolution (stride 1, one
 * column of padding each side, in_w = out_w): r[0..3] are input rows
 * dy-1 .. dy+2 (a zero row for padding). Each input row is loaded once per
 * 16 columns (the last chunk masked); the taps left and right of a column
 * come from the neighbouring vectors by VALIGND. Writes rows dy and dy+1 to
 * y0, y1, or with pooled != NULL only their 2x2 stride-2 max pool
 * (in_w / 2 values, floor) to pooled. */
UNIRT_AVX512 void unirt_dw3x3_rows2_same_avx512(const float *const r[4], const float *w, size_t in_w,
                                                float bias, int relu, float *y0, float *y1,
                                                float *pooled) {
    __m512 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm512_set1_ps(w[i]);
    const __m512 bv = _mm512_set1_ps(bias), zero = _mm512_setzero_ps();
    const __m512i pairs = _mm512_setr_epi32(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
    const size_t chunks = (in_w + 15) / 16, pooled_w = in_w / 2;
    /* Columns of chunk j inside the row. */
#define CHUNK_MASK(j) ((__mmask16)unirt_lane_range(0, (ptrdiff_t)(in_w - 16 * (j)) < 16 ? (ptrdiff_t)(in_w - 16 * (j)) : 16))
    __m512 prev[4], cur[4];
    const __mmask16 m0 = CHUNK_MASK(0);
    for (int i = 0; i < 4; i++) {
        prev[i] = zero;
        cur[i] = _mm512_maskz_loadu_ps(m0, r[i]);
    }
    for (size_t j = 0; j < chunks; j++) {
        __m512 left[4], right[4], next[4];
        const __mmask16 mn = j + 1 < chunks ? CHUNK_MASK(j + 1) : 0;
        for (int i = 0; i < 4; i++) {
            next[i] = _mm512_maskz_loadu_ps(mn, r[i] + 16 * (j + 1));
            left[i] = _mm512_castsi512_ps(
                _mm512_alignr_epi32(_mm512_castps_si512(cur[i]), _mm512_castps_si512(prev[i]), 15));
            right[i] = _mm512_castsi512_ps(
                _mm512_alignr_epi32(_mm512_castps_si512(next[i]), _mm512_castps_si512(cur[i]), 1));
        }
        __m512 a0 = bv, a1 = zero, b0 = bv, b1 = zero;
        for (int ky = 0; ky < 3; ky++) {
            a0 = _mm512_fmadd_ps(left[ky], wv[ky * 3], a0);
            a1 = _mm512_fmadd_ps(cur[ky], wv[ky * 3 + 1], a1);
            a0 = _mm512_fmadd_ps(right[ky], wv[ky * 3 + 2], a0);
            b0 = _mm512_fmadd_ps(left[ky + 1], wv[ky * 3], b0);
            b1 = _mm512_fmadd_ps(cur[ky + 1], wv[ky * 3 + 1], b1);
            b0 = _mm512_fmadd_ps(right[ky + 1], wv[ky * 3 + 2], b0);
        }
        __m512 u = _mm512_add_ps(a0, a1), v = _mm512_add_ps(b0, b1);
        if (relu) {
            u = _mm512_max_ps(u, zero);
            v = _mm512_max_ps(v, zero);
        }
        if (pooled) {
            __m512 m = _mm512_max_ps(u, v);
            m = _mm512_max_ps(m, _mm512_permutexvar_ps(pairs, m));
            const ptrdiff_t left_out = (ptrdiff_t)pooled_w - (ptrdiff_t)(8 * j);
            _mm512_mask_storeu_ps(pooled + 8 * j, (__mmask16)unirt_lane_range(0, left_out < 8 ? left_out : 8),
                                  _mm512_permutexvar_ps(evens, m));
        } else {
            const __mmask16 mj = CHUNK_MASK(j);
            _mm512_mask_storeu_ps(y0 + 16 * j, mj, u);
            _mm512_mask_storeu_ps(y1 + 16 * j, mj, v);
        }
        for (int i = 0; i < 4; i++) {
            prev[i] = cur[i];
            cur[i] = next[i];
        }
    }
#undef CHUNK_MASK
}
