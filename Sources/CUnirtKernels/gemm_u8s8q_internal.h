/* Shared by gemm_u8s8q.c (portable code, dispatch) and gemm_u8s8q_vnni.c:
 * layout helpers of the quad-layout INT8 GEMM and the per-path entry points. */
#ifndef UNIRT_GEMM_U8S8Q_INTERNAL_H
#define UNIRT_GEMM_U8S8Q_INTERNAL_H
#include "kernels_internal.h"

static inline size_t unirt_gemm_kquads(size_t k) { return (k + 3) / 4; }
static inline size_t unirt_gemm_round16(size_t n) { return (n + 15) & ~(size_t)15; }
/* Width of the panel starting at column j0 of a packed X with np (rounded) columns. */
static inline size_t unirt_gemm_q_width(size_t np, size_t j0) {
    return np - j0 < UNIRT_GEMM_U8S8Q_NR ? np - j0 : UNIRT_GEMM_U8S8Q_NR;
}
/* Bytes of one packed weight block: MR int32 corrections, then kq x MR x 4 s8. */
static inline size_t unirt_gemm_q_block_bytes(size_t k) {
    return (unirt_gemm_kquads(k) + 1) * UNIRT_GEMM_U8S8Q_MR * 4;
}

void unirt_gemm_q_im2col_row(const uint8_t *x, const unirt_conv2d_geometry *g, size_t c, size_t ky,
                             size_t kx, size_t p0, size_t w, uint8_t *dst);
/* The 4 im2col rows of quad q (rows 4q..4q+3 of K; 128 past K and past cols), positions [p0, p0 + cols). */
void unirt_gemm_q_im2col_quad(const uint8_t *x, const unirt_conv2d_geometry *g, size_t k, size_t q, size_t p0,
                              size_t cols, size_t w, uint8_t rows[4][UNIRT_GEMM_U8S8Q_NR]);

#define UNIRT_DECLARE_Q(ret, name, params) \
    ret name##_generic params;             \
    ret name##_avx2 params;                \
    ret name##_vnni params;

UNIRT_DECLARE_Q(void, unirt_gemm_u8s8q_pack_x,
                (const uint8_t *x, size_t ld, size_t k, size_t n, void *packed))
UNIRT_DECLARE_Q(void, unirt_gemm_u8s8q_pack_x_f32,
                (const float *x, size_t ld, size_t k, size_t n, float scale, void *packed))
UNIRT_DECLARE_Q(void, unirt_gemm_u8s8q_pack_x_conv,
                (const uint8_t *x, const unirt_conv2d_geometry *g, size_t channels, size_t pos_begin,
                 size_t pos_end, void *packed))
UNIRT_DECLARE_Q(void, unirt_gemm_u8s8q_compute_s32,
                (const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n, int32_t *y,
                 size_t ldy))
UNIRT_DECLARE_Q(void, unirt_gemm_u8s8q_compute_f32,
                (const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n,
                 const float *row_scale, const unirt_epilogue *ep, float *y, size_t ldy))
UNIRT_DECLARE_Q(void, unirt_gemm_u8s8q_compute_u8,
                (const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n,
                 const float *row_scale, const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                 uint8_t *y, size_t ldy))
#endif
