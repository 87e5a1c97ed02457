/* AVX2/FMA row kernels of the pointwise -> depthwise pass (pwdw.c): a 3x3
 * depthwise row with stride 1, 8 outputs per step with the padding taken by
 * masked loads (stride 2 uses the portable row), and a 2x2 stride-2 max pool
 * of two rows. */
#include "conv_gemm_internal.h"
#include "simd_avx2.h"

/* Mask of the lanes i in [0, 8) with lo <= i < hi. */
UNIRT_AVX2_INLINE __m256i lanes_between(ptrdiff_t lo, ptrdiff_t hi) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    if (lo < -1) lo = -1;
    if (hi > 9) hi = 9;
    const __m256i ge = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32((int)lo - 1));
    const __m256i lt = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), idx);
    return _mm256_and_si256(ge, lt);
}

UNIRT_AVX2 void unirt_dw3x3_row_avx2(const float *const rows[3], const float *w, size_t in_w,
                                     size_t out_w, size_t stride, size_t pad_left, float bias,
                                     int relu, float *y) {
    if (stride != 1) {
        unirt_dw3x3_row_generic(rows, w, in_w, out_w, stride, pad_left, bias, relu, y);
        return;
    }
    __m256 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm256_set1_ps(w[i]);
    const __m256 bv = _mm256_set1_ps(bias), zero = _mm256_setzero_ps();
    for (size_t ox = 0; ox < out_w; ox += 8) {
        const size_t n = out_w - ox < 8 ? out_w - ox : 8;
        const ptrdiff_t base = (ptrdiff_t)ox - (ptrdiff_t)pad_left;
        __m256i m[3];
        for (int kx = 0; kx < 3; kx++) {
            const ptrdiff_t start = base + kx, hi = (ptrdiff_t)in_w - start;
            m[kx] = lanes_between(-start, hi < (ptrdiff_t)n ? hi : (ptrdiff_t)n);
        }
        __m256 acc0 = bv, acc1 = zero;
        for (int ky = 0; ky < 3; ky++) {
            if (!rows[ky]) continue;
            const float *p = rows[ky] + base;
            acc0 = _mm256_fmadd_ps(_mm256_maskload_ps(p, m[0]), wv[ky * 3], acc0);
            acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(p + 1, m[1]), wv[ky * 3 + 1], acc1);
            acc0 = _mm256_fmadd_ps(_mm256_maskload_ps(p + 2, m[2]), wv[ky * 3 + 2], acc0);
        }
        __m256 v = _mm256_add_ps(acc0, acc1);
        if (relu) v = _mm256_max_ps(v, zero);
        _mm256_maskstore_ps(y + ox, unirt_mask8(n), v);
    }
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
