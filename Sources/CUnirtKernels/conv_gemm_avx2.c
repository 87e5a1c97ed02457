/* AVX2/FMA tile multiply of the convolution GEMM: each block of MR = 8 rows
 * runs as two halves of 4 rows x 16 columns (8 accumulators, 2 loads and 4
 * broadcasts per 8 FMAs); column tails use masked loads and stores. */
#include "conv_gemm_internal.h"
#include "simd_avx2.h"

enum { MR = UNIRT_CONV_GEMM_MR };

UNIRT_AVX2_INLINE void block4x16(const float *a, size_t k, const float *b, size_t ldb,
                                 const float *bias, int relu, float *c, size_t ldc, size_t rows,
                                 size_t cols) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00;
    __m256 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    const __m256i m0 = unirt_mask8(cols < 8 ? cols : 8), m1 = unirt_mask8(cols > 8 ? cols - 8 : 0);
    const int full = cols == 16;
    for (size_t t = 0; t < k; t++, a += MR, b += ldb) {
        __m256 b0, b1;
        if (full) {
            b0 = _mm256_loadu_ps(b);
            b1 = _mm256_loadu_ps(b + 8);
        } else {
            b0 = _mm256_maskload_ps(b, m0);
            b1 = _mm256_maskload_ps(b + 8, m1);
        }
        __m256 a0 = _mm256_broadcast_ss(a), a1 = _mm256_broadcast_ss(a + 1);
        c00 = _mm256_fmadd_ps(a0, b0, c00);
        c01 = _mm256_fmadd_ps(a0, b1, c01);
        c10 = _mm256_fmadd_ps(a1, b0, c10);
        c11 = _mm256_fmadd_ps(a1, b1, c11);
        __m256 a2 = _mm256_broadcast_ss(a + 2), a3 = _mm256_broadcast_ss(a + 3);
        c20 = _mm256_fmadd_ps(a2, b0, c20);
        c21 = _mm256_fmadd_ps(a2, b1, c21);
        c30 = _mm256_fmadd_ps(a3, b0, c30);
        c31 = _mm256_fmadd_ps(a3, b1, c31);
    }
#define STORE_ROW(r, lo, hi)                                    \
    if (r < rows) {                                             \
        if (bias) {                                             \
            const __m256 br = _mm256_set1_ps(bias[r]);          \
            lo = _mm256_add_ps(lo, br);                         \
            hi = _mm256_add_ps(hi, br);                         \
        }                                                       \
        if (relu) {                                             \
            lo = _mm256_max_ps(lo, _mm256_setzero_ps());        \
            hi = _mm256_max_ps(hi, _mm256_setzero_ps());        \
        }                                                       \
        if (full) {                                             \
            _mm256_storeu_ps(c + r * ldc, lo);                  \
            _mm256_storeu_ps(c + r * ldc + 8, hi);              \
        } else {                                                \
            _mm256_maskstore_ps(c + r * ldc, m0, lo);           \
            _mm256_maskstore_ps(c + r * ldc + 8, m1, hi);       \
        }                                                       \
    }
    STORE_ROW(0, c00, c01) STORE_ROW(1, c10, c11) STORE_ROW(2, c20, c21) STORE_ROW(3, c30, c31)
#undef STORE_ROW
}

UNIRT_AVX2 void unirt_conv_gemm_tile_avx2(const float *packed, size_t m, size_t k, const float *b,
                                          size_t ldb, size_t n, const float *bias, int relu,
                                          float *c, size_t ldc) {
    for (size_t j0 = 0; j0 < n; j0 += 16) {
        const size_t cols = n - j0 < 16 ? n - j0 : 16;
        for (size_t m0 = 0; m0 < m; m0 += 4) {
            /* Rows m0..m0+3 sit in block m0/MR at lane offset m0%MR. */
            const float *a = packed + (m0 / MR) * MR * k + m0 % MR;
            const size_t rows = m - m0 < 4 ? m - m0 : 4;
            block4x16(a, k, b + j0, ldb, bias ? bias + m0 : NULL, relu, c + m0 * ldc + j0, ldc,
                      rows, cols);
        }
    }
}
