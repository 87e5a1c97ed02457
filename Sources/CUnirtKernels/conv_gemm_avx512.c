/* AVX-512F tile multiply of the convolution GEMM: blocks of MR = 8 rows x 32
 * columns (16 zmm accumulators, 2 loads and 8 broadcasts per 16 FMAs, inside
 * the 32 zmm registers); column tails use k-masks. Column chunks are the
 * outer loop so one chunk of the tile (k x 32 floats) is reused from L1 by
 * every row block. */
#include "conv_gemm_internal.h"
#include <immintrin.h>

enum { MR = UNIRT_CONV_GEMM_MR };

#define UNIRT_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512vl,avx2,fma")))

#define ROW_FMA(r)                                            \
    {                                                         \
        const __m512 ar = _mm512_set1_ps(a[r]);               \
        acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);       \
        acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);       \
    }

UNIRT_AVX512_INLINE void block8x32(const float *a, size_t k, const float *b, size_t ldb,
                                   const float *bias, int relu, float *c, size_t ldc, size_t rows,
                                   __mmask16 k0, __mmask16 k1, int full, int prefetch) {
    __m512 acc[MR][2];
#define ZERO_ROW(r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    ZERO_ROW(0) ZERO_ROW(1) ZERO_ROW(2) ZERO_ROW(3) ZERO_ROW(4) ZERO_ROW(5) ZERO_ROW(6) ZERO_ROW(7)
#undef ZERO_ROW
    for (size_t t = 0; t < k; t++, a += MR, b += ldb) {
        __m512 b0, b1;
        if (full) {
            b0 = _mm512_loadu_ps(b);
            b1 = _mm512_loadu_ps(b + 16);
        } else {
            b0 = _mm512_maskz_loadu_ps(k0, b);
            b1 = _mm512_maskz_loadu_ps(k1, b + 16);
        }
        if (prefetch) {
            /* The next column chunk of a row read in place (a 1x1 conv):
             * far-apart rows are too many streams for the hardware prefetcher. */
            _mm_prefetch((const char *)(b + 32), _MM_HINT_T0);
            _mm_prefetch((const char *)(b + 48), _MM_HINT_T0);
        }
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5) ROW_FMA(6) ROW_FMA(7)
    }
    /* Constant indices only, so the accumulators stay in registers. */
#define STORE_ROW(r)                                                    \
    if (r < rows) {                                                     \
        if (bias) {                                                     \
            const __m512 br = _mm512_set1_ps(bias[r]);                  \
            acc[r][0] = _mm512_add_ps(acc[r][0], br);                   \
            acc[r][1] = _mm512_add_ps(acc[r][1], br);                   \
        }                                                               \
        if (relu) {                                                     \
            acc[r][0] = _mm512_max_ps(acc[r][0], _mm512_setzero_ps());  \
            acc[r][1] = _mm512_max_ps(acc[r][1], _mm512_setzero_ps());  \
        }                                                               \
        if (full) {                                                     \
            _mm512_storeu_ps(c + r * ldc, acc[r][0]);                   \
            _mm512_storeu_ps(c + r * ldc + 16, acc[r][1]);              \
        } else {                                                        \
            _mm512_mask_storeu_ps(c + r * ldc, k0, acc[r][0]);          \
            _mm512_mask_storeu_ps(c + r * ldc + 16, k1, acc[r][1]);     \
        }                                                               \
    }
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5) STORE_ROW(6)
    STORE_ROW(7)
#undef STORE_ROW
}

UNIRT_AVX512 void unirt_conv_gemm_tile_avx512(const float *packed, size_t m, size_t k,
                                              const float *b, size_t ldb, size_t n,
                                              const float *bias, int relu, float *c, size_t ldc) {
    const int pf = ldb > 4096;
    size_t j0 = 0;
    for (; j0 + 32 <= n; j0 += 32)
        for (size_t m0 = 0; m0 < m; m0 += MR)
            block8x32(packed + m0 * k, k, b + j0, ldb, bias ? bias + m0 : NULL, relu,
                      c + m0 * ldc + j0, ldc,
                      m - m0 < MR ? m - m0 : MR, 0xFFFF, 0xFFFF, 1, pf && m0 == 0);
    if (j0 < n) {
        const size_t cols = n - j0;
        const __mmask16 k0 = (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
        const __mmask16 k1 = (__mmask16)(cols <= 16 ? 0 : cols >= 32 ? 0xFFFF : (1u << (cols - 16)) - 1);
        for (size_t m0 = 0; m0 < m; m0 += MR)
            block8x32(packed + m0 * k, k, b + j0, ldb, bias ? bias + m0 : NULL, relu,
                      c + m0 * ldc + j0, ldc,
                      m - m0 < MR ? m - m0 : MR, k0, k1, 0, 0);
    }
}
