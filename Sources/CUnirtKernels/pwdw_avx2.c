/* AVX2/FMA row kernels of the pointwise -> depthwise pass (pwdw.c): a 3x3
 * depthwise row with stride 1 or 2 (scalar borders, unmasked vector interior),
 * two rows of the "same" case at once, and a 2x2 stride-2 max pool of two rows. */
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

/* Rows dy and dy+1 of a "same" 3x3 depthwise convolution at 8 columns x..x+7:
 * p[i] points at column x of input row dy-1+i, readable from p[i][-1] to p[i][8].
 * Each input row is loaded once (three unaligned loads) for both output rows. */
UNIRT_AVX2_INLINE void dw_same_2x8(const float *const p[4], const __m256 wv[9], __m256 bv, int relu,
                                   __m256 *u, __m256 *v) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 a0 = bv, a1 = zero, b0 = bv, b1 = zero;
    for (int i = 0; i < 4; i++) {
        const __m256 l = _mm256_loadu_ps(p[i] - 1), c = _mm256_loadu_ps(p[i]), r = _mm256_loadu_ps(p[i] + 1);
        if (i < 3) {
            a0 = _mm256_fmadd_ps(l, wv[3 * i], a0);
            a1 = _mm256_fmadd_ps(c, wv[3 * i + 1], a1);
            a0 = _mm256_fmadd_ps(r, wv[3 * i + 2], a0);
        }
        if (i > 0) {
            b0 = _mm256_fmadd_ps(l, wv[3 * i - 3], b0);
            b1 = _mm256_fmadd_ps(c, wv[3 * i - 2], b1);
            b0 = _mm256_fmadd_ps(r, wv[3 * i - 1], b0);
        }
    }
    *u = _mm256_add_ps(a0, a1);
    *v = _mm256_add_ps(b0, b1);
    if (relu) {
        *u = _mm256_max_ps(*u, zero);
        *v = _mm256_max_ps(*v, zero);
    }
}

/* The AVX2 form of unirt_dw3x3_rows2_same_avx512: two output rows of a stride-1
 * "same" 3x3 depthwise convolution from input rows r[0..3] (dy-1 .. dy+2, a zero
 * row for padding). Interior columns load straight from the rows; the first and
 * last 8 columns go through a zero-padded copy, so no load or store is masked.
 * Writes rows dy and dy+1 to y0, y1, or with pooled != NULL their 2x2 stride-2 max
 * pool (in_w / 2 values) to pooled, using t0 and t1 (in_w floats each) as scratch. */
UNIRT_AVX2 void unirt_dw3x3_rows2_same_avx2(const float *const r[4], const float *w, size_t in_w, float bias,
                                            int relu, float *y0, float *y1, float *t0, float *t1, float *pooled) {
    __m256 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm256_set1_ps(w[i]);
    const __m256 bv = _mm256_set1_ps(bias);
    float *o0 = pooled ? t0 : y0, *o1 = pooled ? t1 : y1;
    for (size_t x = 0; x < in_w; x += 8) {
        const size_t n = in_w - x < 8 ? in_w - x : 8;
        const float *p[4];
        float edge[4][12];
        if (x >= 1 && x + 9 <= in_w) {
            for (int i = 0; i < 4; i++) p[i] = r[i] + x;
        } else {
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 10; j++) {
                    const ptrdiff_t col = (ptrdiff_t)x - 1 + j;
                    edge[i][j] = col >= 0 && col < (ptrdiff_t)in_w ? r[i][col] : 0.0f;
                }
                p[i] = edge[i] + 1;
            }
        }
        __m256 u, v;
        dw_same_2x8(p, wv, bv, relu, &u, &v);
        if (n == 8) {
            _mm256_storeu_ps(o0 + x, u);
            _mm256_storeu_ps(o1 + x, v);
        } else {
            float tu[8], tv[8];
            _mm256_storeu_ps(tu, u);
            _mm256_storeu_ps(tv, v);
            for (size_t j = 0; j < n; j++) {
                o0[x + j] = tu[j];
                o1[x + j] = tv[j];
            }
        }
    }
    if (pooled) unirt_pool2x2_row_avx2(o0, o1, in_w / 2, pooled);
}
