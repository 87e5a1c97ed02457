/* Public entry points: each picks the AVX2 kernel when the CPU has AVX2+FMA
 * (F16C for half conversion) and SIMD is enabled, else the portable one.
 * Kernels with a single portable implementation (pure data movement) are
 * defined directly in their files and do not appear here. */
#include "kernels_internal.h"

#define PICK(name) (unirt_has_avx2() ? name##_avx2 : name##_generic)

void unirt_epilogue_apply(const unirt_epilogue *ep, float *y, size_t ld, size_t cb, size_t ce,
                          size_t count) {
    PICK(unirt_epilogue_apply)(ep, y, ld, cb, ce, count);
}

void unirt_dwconv_compute(const float *x, const float *w, const unirt_conv2d_geometry *g,
                          const unirt_epilogue *ep, float *y, size_t cb, size_t ce) {
    PICK(unirt_dwconv_compute)(x, w, g, ep, y, cb, ce);
}

void unirt_binary_compute(int32_t op, const float *a, const float *b, float *y, size_t count) {
    PICK(unirt_binary_compute)(op, a, b, y, count);
}

void unirt_binary_channel_compute(int32_t op, const float *a, const float *b, float *y,
                                  size_t plane, size_t cb, size_t ce, int32_t b_first) {
    PICK(unirt_binary_channel_compute)(op, a, b, y, plane, cb, ce, b_first);
}

void unirt_binary_scalar_compute(int32_t op, const float *a, float b, float *y, size_t count,
                                 int32_t b_first) {
    PICK(unirt_binary_scalar_compute)(op, a, b, y, count, b_first);
}

void unirt_unary_compute(int32_t op, const float *x, float *y, size_t count, float alpha,
                         float beta) {
    PICK(unirt_unary_compute)(op, x, y, count, alpha, beta);
}

void unirt_prelu_compute(const float *x, const float *slope, float *y, size_t plane, size_t cb,
                         size_t ce) {
    PICK(unirt_prelu_compute)(x, slope, y, plane, cb, ce);
}

void unirt_maxpool_compute(const float *x, const unirt_conv2d_geometry *g, float *y, size_t cb,
                           size_t ce) {
    PICK(unirt_maxpool_compute)(x, g, y, cb, ce);
}

void unirt_global_avgpool_compute(const float *x, size_t plane, float *y, size_t cb, size_t ce) {
    PICK(unirt_global_avgpool_compute)(x, plane, y, cb, ce);
}

void unirt_instancenorm_compute(const float *x, size_t plane, const float *scale, const float *bias,
                                float epsilon, const unirt_epilogue *ep, float *y, size_t cb,
                                size_t ce) {
    PICK(unirt_instancenorm_compute)(x, plane, scale, bias, epsilon, ep, y, cb, ce);
}

void unirt_transpose_to_nhwc(const float *x, size_t channels, size_t plane, float *y) {
    PICK(unirt_transpose_to_nhwc)(x, channels, plane, y);
}

void unirt_transpose_to_nchw(const float *x, size_t channels, size_t plane, float *y) {
    PICK(unirt_transpose_to_nchw)(x, channels, plane, y);
}

static inline int has_f16c(void) {
    return unirt_has_avx2() && (unirt_cpu_features() & UNIRT_CPU_F16C);
}

void unirt_f16_from_f32(const float *x, uint16_t *y, size_t count) {
    (has_f16c() ? unirt_f16_from_f32_avx2 : unirt_f16_from_f32_generic)(x, y, count);
}

void unirt_f16_to_f32(const uint16_t *x, float *y, size_t count) {
    (has_f16c() ? unirt_f16_to_f32_avx2 : unirt_f16_to_f32_generic)(x, y, count);
}

void unirt_quantize_u8(const float *x, uint8_t *y, size_t count, float scale, int32_t zero_point) {
    PICK(unirt_quantize_u8)(x, y, count, scale, zero_point);
}

void unirt_quantize_s8(const float *x, int8_t *y, size_t count, float scale) {
    PICK(unirt_quantize_s8)(x, y, count, scale);
}

void unirt_dequantize_u8(const uint8_t *x, float *y, size_t count, float scale, int32_t zero_point) {
    PICK(unirt_dequantize_u8)(x, y, count, scale, zero_point);
}

void unirt_dequantize_s8(const int8_t *x, float *y, size_t count, float scale) {
    PICK(unirt_dequantize_s8)(x, y, count, scale);
}

void unirt_gemm_u8s8_compute_s32(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                 size_t n, int32_t *y, size_t ldy) {
    PICK(unirt_gemm_u8s8_compute_s32)(pw, px, mb, me, k, n, y, ldy);
}

void unirt_gemm_u8s8_pack_x_f32(const float *x, size_t ld, size_t k, size_t n, float scale, void *packed) {
    PICK(unirt_gemm_u8s8_pack_x_f32)(x, ld, k, n, scale, packed);
}

void unirt_gemm_u8s8_compute_f32(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                 size_t n, const float *row_scale, const unirt_epilogue *ep,
                                 float *y, size_t ldy) {
    PICK(unirt_gemm_u8s8_compute_f32)(pw, px, mb, me, k, n, row_scale, ep, y, ldy);
}

void unirt_gemm_u8s8_compute_u8(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                size_t n, const float *row_scale, const unirt_epilogue *ep,
                                float out_scale, int32_t out_zero_point, uint8_t *y, size_t ldy) {
    PICK(unirt_gemm_u8s8_compute_u8)(pw, px, mb, me, k, n, row_scale, ep, out_scale,
                                     out_zero_point, y, ldy);
}

void unirt_dwconv_u8s8_compute_f32(const uint8_t *x, int32_t x_zero_point, const int8_t *weights,
                                   const unirt_conv2d_geometry *g, const float *channel_scale,
                                   const unirt_epilogue *ep, float *y, size_t cb, size_t ce) {
    if (unirt_dwconv_u8s8_try_avx512(x, x_zero_point, weights, g, channel_scale, ep, 1.0f, 0, y, NULL, cb, ce))
        return;
    PICK(unirt_dwconv_u8s8_compute)(x, x_zero_point, weights, g, channel_scale, ep, 1.0f, 0, y,
                                    NULL, cb, ce);
}

void unirt_dwconv_u8s8_compute_u8(const uint8_t *x, int32_t x_zero_point, const int8_t *weights,
                                  const unirt_conv2d_geometry *g, const float *channel_scale,
                                  const unirt_epilogue *ep, float out_scale, int32_t out_zero_point,
                                  uint8_t *y, size_t cb, size_t ce) {
    if (unirt_dwconv_u8s8_try_avx512(x, x_zero_point, weights, g, channel_scale, ep, out_scale, out_zero_point,
                                     NULL, y, cb, ce))
        return;
    PICK(unirt_dwconv_u8s8_compute)(x, x_zero_point, weights, g, channel_scale, ep, out_scale,
                                    out_zero_point, NULL, y, cb, ce);
}

void unirt_conv_direct_compute(const float *x, const float *packed, const unirt_conv2d_geometry *g,
                               const unirt_epilogue *ep, float *y, size_t ob, size_t oe, size_t rb,
                               size_t re) {
    PICK(unirt_conv_direct_compute)(x, packed, g, ep, y, ob, oe, rb, re);
}
