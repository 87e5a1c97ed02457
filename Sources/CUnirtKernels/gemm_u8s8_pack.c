/* Packing for the exact u8 x s8 GEMM (layouts described in unirt_kernels.h).
 * Weights are widened to int16 once at plan time; X is widened with its zero
 * point removed on every call. Shared by the AVX2 and portable kernels. */
#include "kernels_internal.h"
#include <string.h>

size_t unirt_gemm_u8s8_weights_size(size_t m, size_t k) {
    const size_t blocks = (m + UNIRT_GEMM_U8S8_MR - 1) / UNIRT_GEMM_U8S8_MR;
    return blocks * unirt_gemm_kpairs(k) * UNIRT_GEMM_U8S8_MR * 2 * sizeof(int16_t);
}

int32_t unirt_gemm_u8s8_pack_weights(const int8_t *w, size_t m, size_t k, void *packed) {
    if (k > UNIRT_GEMM_U8S8_MAX_K) return -1;
    const size_t kp = unirt_gemm_kpairs(k);
    int16_t *dst = (int16_t *)packed;
    for (size_t m0 = 0; m0 < m; m0 += UNIRT_GEMM_U8S8_MR)
        for (size_t p = 0; p < kp; p++)
            for (size_t r = 0; r < UNIRT_GEMM_U8S8_MR; r++)
                for (size_t h = 0; h < 2; h++) {
                    const size_t row = m0 + r, col = 2 * p + h;
                    *dst++ = row < m && col < k ? (int16_t)w[row * k + col] : 0;
                }
    return 0;
}

size_t unirt_gemm_u8s8_x_size(size_t k, size_t n) {
    return unirt_gemm_kpairs(k) * unirt_gemm_round8(n) * 2 * sizeof(int16_t);
}

/* Start of the panel holding column j0 (a multiple of the panel width) and its width. */
static inline int16_t *panel_at(void *packed, size_t kp, size_t np, size_t j0, size_t *width) {
    *width = np - j0 < UNIRT_GEMM_NR ? np - j0 : UNIRT_GEMM_NR;
    return (int16_t *)packed + j0 * kp * 2;
}

/* The pair layout's panels over K rows x n columns of x (row stride ld), each value
 * made int16 by VALUE(row pointer, column): pairs of rows interleaved per column,
 * zero past n and past K. */
#define PACK_PAIRS(T, VALUE)                                                            \
    do {                                                                                \
        const size_t kp = unirt_gemm_kpairs(k), np = unirt_gemm_round8(n);              \
        for (size_t j0 = 0; j0 < np; j0 += UNIRT_GEMM_NR) {                             \
            size_t w;                                                                   \
            int16_t *panel = panel_at(packed, kp, np, j0, &w);                          \
            for (size_t p = 0; p < kp; p++) {                                           \
                int16_t *dst = panel + p * w * 2;                                       \
                const T *r0 = x + 2 * p * ld, *r1 = r0 + ld;                            \
                const int has1 = 2 * p + 1 < k;                                         \
                for (size_t q = 0; q < w; q++) {                                        \
                    const size_t j = j0 + q;                                            \
                    dst[2 * q] = j < n ? VALUE(r0, j) : 0;                              \
                    dst[2 * q + 1] = j < n && has1 ? VALUE(r1, j) : 0;                  \
                }                                                                       \
            }                                                                           \
        }                                                                               \
    } while (0)

void unirt_gemm_u8s8_pack_x(const uint8_t *x, size_t ld, size_t k, size_t n, int32_t zp,
                            void *packed) {
#define U8_VALUE(r, j) (int16_t)((r)[j] - zp)
    PACK_PAIRS(uint8_t, U8_VALUE);
#undef U8_VALUE
}

void unirt_gemm_u8s8_pack_x_f32_generic(const float *x, size_t ld, size_t k, size_t n, float scale, void *packed) {
#define F32_VALUE(r, j) (int16_t)(unirt_quant_u8_scalar((r)[j], scale, 128) - 128)
    PACK_PAIRS(float, F32_VALUE);
#undef F32_VALUE
}

void unirt_gemm_u8s8_pack_x_conv(const uint8_t *x, const unirt_conv2d_geometry *g, size_t channels,
                                 int32_t zp, size_t pos_begin, size_t pos_end, void *packed) {
    const size_t n = pos_end - pos_begin, plane = g->in_h * g->in_w;
    const size_t kk = g->kernel_h * g->kernel_w, k = channels * kk;
    if (kk == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0 && g->pad_left == 0 &&
        g->in_w == g->out_w && g->in_h == g->out_h) {
        unirt_gemm_u8s8_pack_x(x + pos_begin, plane, k, n, zp, packed);
        return;
    }
    const size_t kp = unirt_gemm_kpairs(k), np = unirt_gemm_round8(n);
    for (size_t j0 = 0; j0 < np; j0 += UNIRT_GEMM_NR) {
        size_t w;
        int16_t *panel = panel_at(packed, kp, np, j0, &w);
        /* Top-left input coordinate of each column's window. */
        ptrdiff_t ybase[UNIRT_GEMM_NR], xbase[UNIRT_GEMM_NR];
        for (size_t q = 0; q < w; q++) {
            const size_t pos = pos_begin + j0 + q;
            ybase[q] = (ptrdiff_t)((pos / g->out_w) * g->stride_h) - (ptrdiff_t)g->pad_top;
            xbase[q] = (ptrdiff_t)((pos % g->out_w) * g->stride_w) - (ptrdiff_t)g->pad_left;
        }
        for (size_t row = 0; row < 2 * kp; row++) {
            int16_t *dst = panel + (row / 2) * w * 2 + (row & 1);
            if (row >= k) {
                for (size_t q = 0; q < w; q++) dst[2 * q] = 0;
                continue;
            }
            const size_t c = row / kk, ky = (row % kk) / g->kernel_w, kx = row % g->kernel_w;
            const uint8_t *xc = x + c * plane;
            const ptrdiff_t dy = (ptrdiff_t)(ky * g->dilation_h), dx = (ptrdiff_t)(kx * g->dilation_w);
            for (size_t q = 0; q < w; q++) {
                const ptrdiff_t iy = ybase[q] + dy, ix = xbase[q] + dx;
                int16_t v = 0;
                if (j0 + q < n && iy >= 0 && iy < (ptrdiff_t)g->in_h && ix >= 0 && ix < (ptrdiff_t)g->in_w)
                    v = (int16_t)(xc[iy * (ptrdiff_t)g->in_w + ix] - zp);
                dst[2 * q] = v;
            }
        }
    }
}
