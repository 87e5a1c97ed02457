/* AVX2/FMA tile multiply of the convolution GEMM: column chunks of 16 are the
 * outer loop, and each block of MR = 8 rows runs as two halves of 4 rows x 16
 * columns (8 accumulators, 2 loads and 4 broadcasts per 8 FMAs: about 90% of
 * the FMA peak from L1; 6x16 and 4x24 blocks with 12 accumulators measured no
 * faster). Column tails use masked loads and stores.
 *
 * The first 4-row block of a chunk reads the k x 16 floats of b in place and
 * copies them to a contiguous buffer that the chunk's other row blocks read.
 * Rows of b a multiple of 4 KiB apart (1x1 convs reading 160x160 or 320x320
 * planes in place, 512-column im2col tiles) map to the same L1 sets, so the
 * chunk re-read in place comes from L2 for every 4 rows; the copy costs two
 * stores per 8 FMAs in the first block only. The GEMM calls of a
 * pointwise-depthwise node of 64 -> 64 channels on 160x160 planes: 2.00 ms,
 * against 2.43 ms copying whole rows out of the planes first and 4.06 ms
 * re-reading them in place; YuNet 640 on one thread 9.07 vs 9.54 ms. */
#include "conv_gemm_internal.h"
#include "simd_avx2.h"

enum { MR = UNIRT_CONV_GEMM_MR };

/* The longest k whose chunk is copied (16 KiB of stack, half of L1); longer
 * ones are read in place. */
enum { PACK_MAX_K = 256 };

/* Rows 0..rows-1 (at most 4) of c = a * b over 16 columns. The loads of b
 * are masked unless load_full, the stores unless store_full (m0, m1: the
 * lanes of the two halves). With pack not NULL the rows of b read are also
 * stored there, 16 floats apart, all 16 lanes (masked lanes as zeros). */
UNIRT_AVX2_INLINE void block4x16(const float *a, size_t k, const float *b, size_t ldb, float *pack,
                                 const float *bias, int relu, float *c, size_t ldc, size_t rows,
                                 __m256i m0, __m256i m1, int load_full, int store_full) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00;
    __m256 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (size_t t = 0; t < k; t++, a += MR, b += ldb) {
        __m256 b0, b1;
        if (load_full) {
            b0 = _mm256_loadu_ps(b);
            b1 = _mm256_loadu_ps(b + 8);
        } else {
            b0 = _mm256_maskload_ps(b, m0);
            b1 = _mm256_maskload_ps(b + 8, m1);
        }
        if (pack) {
            _mm256_store_ps(pack + 16 * t, b0);
            _mm256_store_ps(pack + 16 * t + 8, b1);
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
        if (store_full) {                                       \
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
    float chunk[PACK_MAX_K * 16] __attribute__((aligned(32)));
    /* Only worth it when more than one row block reads the chunk. */
    const int pack = m > 4 && k <= PACK_MAX_K;
    for (size_t j0 = 0; j0 < n; j0 += 16) {
        const size_t cols = n - j0 < 16 ? n - j0 : 16;
        const int full = cols == 16;
        const __m256i m0 = unirt_mask8(cols < 8 ? cols : 8), m1 = unirt_mask8(cols > 8 ? cols - 8 : 0);
        for (size_t r0 = 0; r0 < m; r0 += 4) {
            /* Rows r0..r0+3 sit in block r0/MR at lane offset r0%MR. */
            const float *a = packed + (r0 / MR) * MR * k + r0 % MR;
            const size_t rows = m - r0 < 4 ? m - r0 : 4;
            const float *bias_r = bias ? bias + r0 : NULL;
            float *c_r = c + r0 * ldc + j0;
            /* Constant flags in each call, so every variant compiles to its own loop. */
            if (pack && r0 > 0) {
                if (full) block4x16(a, k, chunk, 16, NULL, bias_r, relu, c_r, ldc, rows, m0, m1, 1, 1);
                else block4x16(a, k, chunk, 16, NULL, bias_r, relu, c_r, ldc, rows, m0, m1, 1, 0);
            } else if (pack) {
                if (full) block4x16(a, k, b + j0, ldb, chunk, bias_r, relu, c_r, ldc, rows, m0, m1, 1, 1);
                else block4x16(a, k, b + j0, ldb, chunk, bias_r, relu, c_r, ldc, rows, m0, m1, 0, 0);
            } else {
                if (full) block4x16(a, k, b + j0, ldb, NULL, bias_r, relu, c_r, ldc, rows, m0, m1, 1, 1);
                else block4x16(a, k, b + j0, ldb, NULL, bias_r, relu, c_r, ldc, rows, m0, m1, 0, 0);
            }
        }
    }
}
