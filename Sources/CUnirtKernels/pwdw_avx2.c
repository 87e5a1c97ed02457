/* AVX2/FMA row kernels of the pointwise -> depthwise pass (pwdw.c): a 3x3
 * depthwise row with stride 1 or 2 (scalar borders, unmasked vector interior),
 * the "same" case two or four rows at a time with the pool fused, and a 2x2
 * stride-2 max pool of two rows. */
#include "conv_gemm_internal.h"
#include "simd_avx2.h"

/* One output of a depthwise row with scalar taps (padding rows are NULL). */
static inline float dw_row_point(const float *const rows[3], const float *w, size_t in_w, size_t stride,
                                 size_t pad_left, float bias, int relu, size_t ox) {
    float acc = bias;
    for (int ky = 0; ky < 3; ky++) {
        if (!rows[ky]) continue;
        for (int kx = 0; kx < 3; kx++) {
            const ptrdiff_t ix = (ptrdiff_t)(ox * stride + (size_t)kx) - (ptrdiff_t)pad_left;
            if (ix >= 0 && ix < (ptrdiff_t)in_w) acc += rows[ky][ix] * w[ky * 3 + kx];
        }
    }
    return relu && acc < 0.0f ? 0.0f : acc;
}

/* Eight outputs from ox of a stride-1/2 depthwise row: p[ky] points at column
 * ox·stride − pad_left of input row ky (NULL: padding row), readable for the
 * 10 (stride 1) or 18 (stride 2) floats the taps reach. */
UNIRT_AVX2_INLINE __m256 dw_row8(const float *const p[3], const __m256 wv[9], __m256 bv, size_t stride, int relu) {
    __m256 acc0 = bv, acc1 = _mm256_setzero_ps();
    for (int ky = 0; ky < 3; ky++) {
        if (!p[ky]) continue;
        if (stride == 1) {
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p[ky]), wv[ky * 3], acc0);
            acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(p[ky] + 1), wv[ky * 3 + 1], acc1);
            acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p[ky] + 2), wv[ky * 3 + 2], acc0);
        } else {
            acc0 = _mm256_fmadd_ps(unirt_load_strided2(p[ky], 0), wv[ky * 3], acc0);
            acc1 = _mm256_fmadd_ps(unirt_load_strided2(p[ky], 1), wv[ky * 3 + 1], acc1);
            acc0 = _mm256_fmadd_ps(unirt_load_strided2(p[ky] + 2, 0), wv[ky * 3 + 2], acc0);
        }
    }
    const __m256 v = _mm256_add_ps(acc0, acc1);
    return relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

/* Stride 1 or 2: an unmasked vector interior where every tap is inside the row
 * (8 outputs per step; stride 2 deinterleaves two loads); the outputs whose taps
 * reach past the row's ends go through zero-padded copies of the columns they read. */
UNIRT_AVX2 void unirt_dw3x3_row_avx2(const float *const rows[3], const float *w, size_t in_w,
                                     size_t out_w, size_t stride, size_t pad_left, float bias,
                                     int relu, float *y) {
    if (stride != 1 && stride != 2) {
        unirt_dw3x3_row_generic(rows, w, in_w, out_w, stride, pad_left, bias, relu, y);
        return;
    }
    __m256 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm256_set1_ps(w[i]);
    const __m256 bv = _mm256_set1_ps(bias);
    const ptrdiff_t pl = (ptrdiff_t)pad_left, s = (ptrdiff_t)stride;
    const ptrdiff_t reach = stride == 1 ? 10 : 18; /* floats read from ox*s - pl for 8 outputs */
    /* Eight outputs from ox through padded copies, n of them stored. */
    #define PADDED(ox, n)                                                                          \
        do {                                                                                       \
            const ptrdiff_t base = (ptrdiff_t)(ox) * s - pl;                                       \
            float buf[3][20];                                                                      \
            const float *p[3];                                                                     \
            for (int ky = 0; ky < 3; ky++) {                                                       \
                p[ky] = NULL;                                                                      \
                if (!rows[ky]) continue;                                                           \
                for (ptrdiff_t j = 0; j < reach; j++) {                                            \
                    const ptrdiff_t col = base + j;                                                \
                    buf[ky][j] = col >= 0 && col < (ptrdiff_t)in_w ? rows[ky][col] : 0.0f;         \
                }                                                                                  \
                p[ky] = buf[ky];                                                                   \
            }                                                                                      \
            float out[8];                                                                          \
            _mm256_storeu_ps(out, dw_row8(p, wv, bv, stride, relu));                               \
            for (size_t j = 0; j < (n); j++) y[(ox) + j] = out[j];                                 \
        } while (0)
    size_t ox = 0;
    /* Left border: the first outputs whose taps start before column 0. */
    const size_t left = (size_t)((pl + s - 1) / s);
    if (left > 0) {
        const size_t n = left < out_w ? (left < 8 ? left : 8) : out_w;
        PADDED(0, n);
        ox = n;
        for (; ox < left && ox < out_w; ox++) y[ox] = dw_row_point(rows, w, in_w, stride, pad_left, bias, relu, ox);
    }
    for (; ox + 8 <= out_w && (ptrdiff_t)ox * s - pl + reach <= (ptrdiff_t)in_w; ox += 8) {
        const ptrdiff_t base = (ptrdiff_t)ox * s - pl;
        const float *p[3] = {rows[0] ? rows[0] + base : NULL, rows[1] ? rows[1] + base : NULL,
                             rows[2] ? rows[2] + base : NULL};
        _mm256_storeu_ps(y + ox, dw_row8(p, wv, bv, stride, relu));
    }
    for (; ox < out_w; ox += 8) {
        const size_t n = out_w - ox < 8 ? out_w - ox : 8;
        PADDED(ox, n);
    }
    #undef PADDED
}

UNIRT_AVX2 void unirt_pool2x2_row_avx2(const float *a, const float *b, size_t n, float *y) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v0 = _mm256_max_ps(_mm256_loadu_ps(a + 2 * i), _mm256_loadu_ps(b + 2 * i));
        const __m256 v1 = _mm256_max_ps(_mm256_loadu_ps(a + 2 * i + 8), _mm256_loadu_ps(b + 2 * i + 8));
        /* Pairs (0,1)(2,3).. of v0 then v1: max of the even and odd lanes. */
        const __m256 e = _mm256_shuffle_ps(v0, v1, 0x88), o = _mm256_shuffle_ps(v0, v1, 0xDD);
        const __m256 r = _mm256_max_ps(e, o);
        _mm256_storeu_ps(y + i, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(r), 0xD8)));
    }
    if (i < n) unirt_pool2x2_row_generic(a + 2 * i, b + 2 * i, n - i, y + i);
}

/* Lanes of eight floats from column start that lie inside a row of in_w. */
UNIRT_AVX2_INLINE __m256i row_mask8(ptrdiff_t start, size_t in_w) {
    const __m256i col = _mm256_add_epi32(_mm256_set1_epi32((int)start), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)in_w), col));
}

/* Eight columns [x, x+8) of N (2 or 4) output rows of a "same" 3x3 depthwise
 * convolution: rows[0 .. N+1] are the input rows. With masked != 0 the loads
 * one float left, at and one float right of x are masked to the row (the
 * first and last chunks); otherwise they are plain loads. Each input row is
 * loaded once (three loads) for the N output rows it feeds. Two accumulators
 * per output row for two rows; one for four (eight accumulators, three
 * inputs and the weights spilled more of the 16 registers, measured ~1.5%
 * slower on YuNet; the next chunk's chains overlap). Writes row o to y[o], or
 * with pooled[0] != NULL the 2x2 stride-2 max pool of rows 2p, 2p+1 to
 * pooled[p]. */
static inline __attribute__((always_inline)) UNIRT_AVX2 void
dw3x3_rows_chunk(const int N, const int masked, const float *const rows[6], size_t x, size_t in_w,
                 const __m256 wv[9], __m256 bv, int relu, float *const y[4], float *const pooled[2]) {
    const __m256 zero = _mm256_setzero_ps();
    __m256i ml = _mm256_setzero_si256(), mc = ml, mr = ml;
    if (masked) {
        ml = row_mask8((ptrdiff_t)x - 1, in_w);
        mc = row_mask8((ptrdiff_t)x, in_w);
        mr = row_mask8((ptrdiff_t)x + 1, in_w);
    }
    const int B = N == 4 ? 0 : 1; /* the accumulator of the centre taps */
    __m256 acc[4][2];
    for (int o = 0; o < N; o++) {
        acc[o][0] = bv;
        acc[o][1] = zero;
    }
    for (int i = 0; i < N + 2; i++) {
        const float *p = rows[i] + x;
        const __m256 left = masked ? _mm256_maskload_ps(p - 1, ml) : _mm256_loadu_ps(p - 1);
        const __m256 cur = masked ? _mm256_maskload_ps(p, mc) : _mm256_loadu_ps(p);
        const __m256 right = masked ? _mm256_maskload_ps(p + 1, mr) : _mm256_loadu_ps(p + 1);
        /* Input row i is tap row ky = i - o of output row o. */
        for (int o = i - 2 < 0 ? 0 : i - 2; o <= i && o < N; o++) {
            const int ky = i - o;
            acc[o][0] = _mm256_fmadd_ps(left, wv[ky * 3], acc[o][0]);
            acc[o][B] = _mm256_fmadd_ps(cur, wv[ky * 3 + 1], acc[o][B]);
            acc[o][0] = _mm256_fmadd_ps(right, wv[ky * 3 + 2], acc[o][0]);
        }
    }
    __m256 out[4];
    for (int o = 0; o < N; o++) {
        out[o] = B ? _mm256_add_ps(acc[o][0], acc[o][1]) : acc[o][0];
        if (relu) out[o] = _mm256_max_ps(out[o], zero);
    }
    if (pooled[0]) {
        /* Max of the row pair, then of lanes (0,1)(2,3)..: the even lanes hold the four pools. */
        const size_t pooled_w = in_w / 2;
        const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
        for (int q = 0; q < N / 2; q++) {
            __m256 m = _mm256_max_ps(out[2 * q], out[2 * q + 1]);
            m = _mm256_max_ps(m, _mm256_permute_ps(m, 0xB1));
            const __m128 v = _mm256_castps256_ps128(_mm256_permutevar8x32_ps(m, evens));
            if (x / 2 + 4 <= pooled_w) {
                _mm_storeu_ps(pooled[q] + x / 2, v);
            } else {
                float t[4];
                _mm_storeu_ps(t, v);
                for (size_t j = 0; x / 2 + j < pooled_w; j++) pooled[q][x / 2 + j] = t[j];
            }
        }
    } else if (masked && x + 8 > in_w) {
        for (int o = 0; o < N; o++) _mm256_maskstore_ps(y[o] + x, mc, out[o]);
    } else {
        for (int o = 0; o < N; o++) _mm256_storeu_ps(y[o] + x, out[o]);
    }
}

/* N output rows of a "same" 3x3 depthwise convolution (see
 * dw3x3_rows_chunk), 8 columns at a time: the first chunk and those past
 * in_w - 9 with masked loads, the rest with plain loads one float off. */
static inline __attribute__((always_inline)) UNIRT_AVX2 void
dw3x3_rows_same(const int N, const float *const rows[6], const float *w, size_t in_w, float bias, int relu,
                float *const y[4], float *const pooled[2]) {
    __m256 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm256_set1_ps(w[i]);
    const __m256 bv = _mm256_set1_ps(bias);
    dw3x3_rows_chunk(N, 1, rows, 0, in_w, wv, bv, relu, y, pooled);
    size_t x = 8;
    for (; x + 9 <= in_w; x += 8) dw3x3_rows_chunk(N, 0, rows, x, in_w, wv, bv, relu, y, pooled);
    for (; x < in_w; x += 8) dw3x3_rows_chunk(N, 1, rows, x, in_w, wv, bv, relu, y, pooled);
}

/* The AVX2 forms of unirt_dw3x3_rows2_same_avx512 and
 * unirt_dw3x3_rows4_same_avx512 (same arguments and results). */
UNIRT_AVX2 void unirt_dw3x3_rows2_same_avx2(const float *const r[4], const float *w, size_t in_w, float bias,
                                            int relu, float *y0, float *y1, float *pooled) {
    const float *rows[6] = {r[0], r[1], r[2], r[3], NULL, NULL};
    float *const y[4] = {y0, y1, NULL, NULL};
    float *const p[2] = {pooled, NULL};
    dw3x3_rows_same(2, rows, w, in_w, bias, relu, y, p);
}

UNIRT_AVX2 void unirt_dw3x3_rows4_same_avx2(const float *const r[6], const float *w, size_t in_w, float bias,
                                            int relu, float *const y[4], float *const pooled[2]) {
    dw3x3_rows_same(4, r, w, in_w, bias, relu, y, pooled);
}
