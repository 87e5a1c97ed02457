/* AVX-512F row kernels of the pointwise -> depthwise pass (pwdw.c): a 3x3
 * depthwise row, 16 outputs per step with the padding taken by zero-masked
 * loads (so borders need no scalar path), a 2x2 stride-2 max pool of two
 * rows, and the "same" 3x3 depthwise two or four rows at a time with the
 * pool fused. Stride-2 taps are deinterleaved from two 16-float loads. */
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

/* Sixteen columns [x, x+16) of N (2 or 4) output rows of a "same" 3x3
 * depthwise convolution: rows[0 .. N+1] are the input rows, ml, mc, mr the
 * lanes of the loads one float left, at, and one float right of x that lie
 * inside the row. Each input row is loaded once (three loads) for the N
 * output rows it feeds; three accumulators per output row keep the FMA
 * chains short. Writes row o to y[o], or with pooled[0] != NULL the 2x2
 * stride-2 max pool of rows 2p, 2p+1 to pooled[p]. */
static inline __attribute__((always_inline)) UNIRT_AVX512 void
dw3x3_rows_chunk(const int N, const float *const rows[6], size_t x, __mmask16 ml, __mmask16 mc,
                 __mmask16 mr, const __m512 wv[9], __m512 bv, int relu, float *const y[4],
                 float *const pooled[2], size_t pooled_w) {
    const __m512 zero = _mm512_setzero_ps();
    __m512 acc[4][3];
    for (int o = 0; o < N; o++) {
        acc[o][0] = bv;
        acc[o][1] = acc[o][2] = zero;
    }
    for (int i = 0; i < N + 2; i++) {
        const __m512 left = _mm512_maskz_loadu_ps(ml, rows[i] + x - 1);
        const __m512 cur = _mm512_maskz_loadu_ps(mc, rows[i] + x);
        const __m512 right = _mm512_maskz_loadu_ps(mr, rows[i] + x + 1);
        /* Input row i is tap row ky = i - o of output row o. */
        for (int o = i - 2 < 0 ? 0 : i - 2; o <= i && o < N; o++) {
            const int ky = i - o;
            acc[o][0] = _mm512_fmadd_ps(left, wv[ky * 3], acc[o][0]);
            acc[o][1] = _mm512_fmadd_ps(cur, wv[ky * 3 + 1], acc[o][1]);
            acc[o][2] = _mm512_fmadd_ps(right, wv[ky * 3 + 2], acc[o][2]);
        }
    }
    __m512 out[4];
    for (int o = 0; o < N; o++) {
        out[o] = _mm512_add_ps(_mm512_add_ps(acc[o][0], acc[o][1]), acc[o][2]);
        if (relu) out[o] = _mm512_max_ps(out[o], zero);
    }
    if (pooled[0]) {
        const __m512i pairs = _mm512_setr_epi32(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
        const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 0, 2, 4, 6, 8, 10, 12, 14);
        const ptrdiff_t left_out = (ptrdiff_t)pooled_w - (ptrdiff_t)(x / 2);
        const __mmask16 mp = (__mmask16)unirt_lane_range(0, left_out < 8 ? left_out : 8);
        for (int p = 0; p < N / 2; p++) {
            __m512 m = _mm512_max_ps(out[2 * p], out[2 * p + 1]);
            m = _mm512_max_ps(m, _mm512_permutexvar_ps(pairs, m));
            _mm512_mask_storeu_ps(pooled[p] + x / 2, mp, _mm512_permutexvar_ps(evens, m));
        }
    } else {
        for (int o = 0; o < N; o++) _mm512_mask_storeu_ps(y[o] + x, mc, out[o]);
    }
}

/* N output rows of a "same" 3x3 depthwise convolution (see
 * dw3x3_rows_chunk), 16 columns at a time. The taps left and right of a
 * column are loads one float off, zero-masked outside the row only in the
 * first and last chunks, not lane shifts: loads issue beside the FMAs, while
 * the two-source permutes compilers make of VALIGND here take FMA issue
 * slots (YuNet's depthwise planes, Zen 4: about 30 -> 24 cycles per 16 columns
 * of two rows, measured alone). */
static inline __attribute__((always_inline)) UNIRT_AVX512 void
dw3x3_rows_same(const int N, const float *const r[6], const float *w, size_t in_w, float bias, int relu,
                float *const y[4], float *const pooled[2]) {
    __m512 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm512_set1_ps(w[i]);
    const __m512 bv = _mm512_set1_ps(bias);
    const float *rows[6];
    for (int i = 0; i < N + 2; i++) rows[i] = r[i];
    const size_t pooled_w = in_w / 2;
#define EDGE_MASKS(x)                                                  \
    (__mmask16)unirt_row_lanes((ptrdiff_t)(x) - 1, in_w, 16),          \
        (__mmask16)unirt_row_lanes((ptrdiff_t)(x), in_w, 16),          \
        (__mmask16)unirt_row_lanes((ptrdiff_t)(x) + 1, in_w, 16)
    dw3x3_rows_chunk(N, rows, 0, EDGE_MASKS(0), wv, bv, relu, y, pooled, pooled_w);
    size_t x = 16;
    /* Chunks whose loads all lie inside the row. */
    for (; x + 17 <= in_w; x += 16)
        dw3x3_rows_chunk(N, rows, x, 0xFFFF, 0xFFFF, 0xFFFF, wv, bv, relu, y, pooled, pooled_w);
    for (; x < in_w; x += 16) dw3x3_rows_chunk(N, rows, x, EDGE_MASKS(x), wv, bv, relu, y, pooled, pooled_w);
#undef EDGE_MASKS
}

/* Two output rows of a "same" 3x3 depthwise convolution (stride 1, one
 * column of padding each side, in_w = out_w): r[0..3] are input rows
 * dy-1 .. dy+2 (a zero row for padding). Writes rows dy and dy+1 to y0, y1,
 * or with pooled != NULL only their 2x2 stride-2 max pool (in_w / 2 values,
 * floor) to pooled. */
UNIRT_AVX512 void unirt_dw3x3_rows2_same_avx512(const float *const r[4], const float *w, size_t in_w,
                                                float bias, int relu, float *y0, float *y1,
                                                float *pooled) {
    const float *rows[6] = {r[0], r[1], r[2], r[3], NULL, NULL};
    float *const y[4] = {y0, y1, NULL, NULL};
    float *const p[2] = {pooled, NULL};
    dw3x3_rows_same(2, rows, w, in_w, bias, relu, y, p);
}

/* Four output rows dy .. dy+3 the same way: r[0..5] are input rows
 * dy-1 .. dy+4; with pooled[0] != NULL writes only the pools of rows
 * dy, dy+1 to pooled[0] and of dy+2, dy+3 to pooled[1]. Six row loads per
 * four rows instead of eight. */
UNIRT_AVX512 void unirt_dw3x3_rows4_same_avx512(const float *const r[6], const float *w, size_t in_w,
                                                float bias, int relu, float *const y[4],
                                                float *const pooled[2]) {
    dw3x3_rows_same(4, r, w, in_w, bias, relu, y, pooled);
}
