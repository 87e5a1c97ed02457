/* Internal declarations of the cache-tiled convolution GEMM (conv_gemm*.c):
 * the per-ISA microkernel drivers that multiply packed weights by one tile. */
#ifndef UNIRT_CONV_GEMM_INTERNAL_H
#define UNIRT_CONV_GEMM_INTERNAL_H
#include "kernels_internal.h"

/* Marks a function compiled for AVX-512F (+VL, FMA) regardless of the global flags. */
#define UNIRT_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

/* Whether the AVX-512F kernels may run (features detected and SIMD enabled). */
static inline int unirt_has_avx512(void) {
    uint32_t f = unirt_cpu_features();
    const uint32_t need = UNIRT_CPU_AVX2 | UNIRT_CPU_FMA | UNIRT_CPU_AVX512F;
    return (f & need) == need;
}

/* c[r*ldc + j] = sum_k A[r][k] * b[k*ldb + j] (+ bias[r] when bias is not
 * NULL, then max(., 0) when relu) for rows r < m and columns j < n, A packed
 * as unirt_conv_gemm_pack_weights lays it out. c is overwritten. */
#define UNIRT_CONV_GEMM_TILE(isa)                                                        \
    void unirt_conv_gemm_tile_##isa(const float *packed, size_t m, size_t k, const float *b, \
                                    size_t ldb, size_t n, const float *bias, int relu,     \
                                    float *c, size_t ldc);
UNIRT_CONV_GEMM_TILE(generic)
UNIRT_CONV_GEMM_TILE(avx2)
UNIRT_CONV_GEMM_TILE(avx512)
#undef UNIRT_CONV_GEMM_TILE
#endif
