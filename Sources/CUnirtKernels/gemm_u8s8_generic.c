/* Portable u8 x s8 GEMM over the packed operands, with the requantizing
 * epilogues. Reads the same packed layouts as the AVX2 kernel. */
#include "kernels_internal.h"

/* Exact int32 dot product of packed weight row m and packed X column j. */
static int32_t dot(const int16_t *pw, const int16_t *px, size_t kp, size_t np, size_t m, size_t j) {
    const int16_t *wr = pw + (m / UNIRT_GEMM_U8S8_MR) * kp * UNIRT_GEMM_U8S8_MR * 2 + (m % UNIRT_GEMM_U8S8_MR) * 2;
    const size_t j0 = j - j % UNIRT_GEMM_NR, width = np - j0 < UNIRT_GEMM_NR ? np - j0 : UNIRT_GEMM_NR;
    const int16_t *xc = px + j0 * kp * 2 + (j - j0) * 2;
    int32_t acc = 0;
    for (size_t p = 0; p < kp; p++) {
        const int16_t *a = wr + p * UNIRT_GEMM_U8S8_MR * 2, *b = xc + p * width * 2;
        acc += (int32_t)a[0] * b[0] + (int32_t)a[1] * b[1];
    }
    return acc;
}

void unirt_gemm_u8s8_compute_s32_generic(const void *pw, const void *px, size_t mb, size_t me,
                                         size_t k, size_t n, int32_t *y, size_t ldy) {
    const size_t kp = unirt_gemm_kpairs(k), np = unirt_gemm_round8(n);
    for (size_t m = mb; m < me; m++)
        for (size_t j = 0; j < n; j++) y[m * ldy + j] = dot(pw, px, kp, np, m, j);
}

void unirt_gemm_u8s8_compute_f32_generic(const void *pw, const void *px, size_t mb, size_t me,
                                         size_t k, size_t n, const float *row_scale,
                                         const unirt_epilogue *ep, float *y, size_t ldy) {
    const size_t kp = unirt_gemm_kpairs(k), np = unirt_gemm_round8(n);
    for (size_t m = mb; m < me; m++) {
        float *row = y + m * ldy;
        for (size_t j = 0; j < n; j++) row[j] = (float)dot(pw, px, kp, np, m, j) * row_scale[m];
        if (ep) unirt_epilogue_row_generic(ep, m, row, ep->residual ? ep->residual + m * ldy : NULL, n);
    }
}

void unirt_gemm_u8s8_compute_u8_generic(const void *pw, const void *px, size_t mb, size_t me,
                                        size_t k, size_t n, const float *row_scale,
                                        const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                                        uint8_t *y, size_t ldy) {
    const size_t kp = unirt_gemm_kpairs(k), np = unirt_gemm_round8(n);
    for (size_t m = mb; m < me; m++)
        for (size_t j = 0; j < n; j++) {
            float v = (float)dot(pw, px, kp, np, m, j) * row_scale[m];
            if (ep) v = unirt_epilogue_scalar(ep, m, v, ep->residual ? ep->residual[m * ldy + j] : 0.0f);
            y[m * ldy + j] = unirt_quant_u8_scalar(v, out_scale, out_zp);
        }
}
