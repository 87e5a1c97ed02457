/* Portable tile multiply of the convolution GEMM: blocks of MR rows times 16
 * columns accumulated in a local array the compiler can keep in registers. */
#include "conv_gemm_internal.h"

enum { MR = UNIRT_CONV_GEMM_MR, NR = 16 };

void unirt_conv_gemm_tile_generic(const float *packed, size_t m, size_t k, const float *b,
                                  size_t ldb, size_t n, const float *bias, int relu, float *c,
                                  size_t ldc) {
    for (size_t m0 = 0; m0 < m; m0 += MR) {
        const float *pa = packed + m0 * k;
        const size_t rows = m - m0 < MR ? m - m0 : MR;
        for (size_t j0 = 0; j0 < n; j0 += NR) {
            const size_t cols = n - j0 < NR ? n - j0 : NR;
            float acc[MR][NR] = {{0}};
            for (size_t t = 0; t < k; t++) {
                const float *bt = b + t * ldb + j0;
                const float *at = pa + t * MR;
                for (size_t r = 0; r < MR; r++)
                    for (size_t j = 0; j < cols; j++) acc[r][j] += at[r] * bt[j];
            }
            for (size_t r = 0; r < rows; r++) {
                const float add = bias ? bias[m0 + r] : 0.0f;
                for (size_t j = 0; j < cols; j++) {
                    float v = acc[r][j] + add;
                    c[(m0 + r) * ldc + j0 + j] = relu && !(v > 0.0f) ? 0.0f : v;
                }
            }
        }
    }
}
