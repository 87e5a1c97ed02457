/* Internal declarations shared by the kernel files: the per-ISA entry points
 * the dispatchers choose between, and scalar helpers used by the portable
 * kernels and by the vector kernels' tails. */
#ifndef UNIRT_KERNELS_INTERNAL_H
#define UNIRT_KERNELS_INTERNAL_H
#include "unirt_kernels.h"
#include <math.h>

/* Marks a function compiled for AVX2+FMA regardless of the global flags. */
#define UNIRT_AVX2 __attribute__((target("avx2,fma")))

/* Whether the AVX2+FMA kernels may run (features detected and SIMD enabled). */
static inline int unirt_has_avx2(void) {
    uint32_t f = unirt_cpu_features();
    return (f & (UNIRT_CPU_AVX2 | UNIRT_CPU_FMA)) == (UNIRT_CPU_AVX2 | UNIRT_CPU_FMA);
}

/* Activation of the epilogue on one value of channel c. */
static inline float unirt_act_scalar(const unirt_epilogue *ep, size_t c, float v) {
    switch (ep->activation) {
    case UNIRT_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case UNIRT_ACT_PRELU: return v < 0.0f ? v * ep->slope[c] : v;
    case UNIRT_ACT_LEAKY_RELU: return v < 0.0f ? v * ep->alpha : v;
    case UNIRT_ACT_CLIP: return fminf(fmaxf(v, ep->alpha), ep->beta);
    case UNIRT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case UNIRT_ACT_HARDSIGMOID: return fmaxf(0.0f, fminf(1.0f, ep->alpha * v + ep->beta));
    default: return v;
    }
}

/* Full epilogue on one value: v is the accumulator, r the residual (or 0). */
static inline float unirt_epilogue_scalar(const unirt_epilogue *ep, size_t c, float v, float r) {
    if (ep->bias) v += ep->bias[c];
    if (ep->residual && !ep->residual_after_activation) v += r;
    v = unirt_act_scalar(ep, c, v);
    if (ep->residual && ep->residual_after_activation) v += r;
    return v;
}

/* Round half to even then saturate to u8 (for requantized outputs). */
static inline uint8_t unirt_quant_u8_scalar(float v, float scale, int32_t zp) {
    float q = v / scale;
    float lo = (float)(0 - zp), hi = (float)(255 - zp);
    q = q < lo ? lo : (q > hi ? hi : q);
    return (uint8_t)((int32_t)nearbyintf(q) + zp);
}

/* Epilogue over one row of `n` values of channel c (residual row r or NULL). */
void unirt_epilogue_row_generic(const unirt_epilogue *ep, size_t c, float *y, const float *r,
                                size_t n);
void unirt_epilogue_row_avx2(const unirt_epilogue *ep, size_t c, float *y, const float *r,
                             size_t n);
void unirt_quantize_u8_generic(const float *x, uint8_t *y, size_t count, float scale,
                               int32_t zero_point);
void unirt_quantize_u8_avx2(const float *x, uint8_t *y, size_t count, float scale,
                            int32_t zero_point);

/* One 3x3 depthwise call for the AVX2 padded-row engine (dw3x3_rows_avx2.c): float
 * input (xf) or u8 input with zero point (xq, zp); float (wf) or int8 (wq) weights;
 * sums times channel_scale[c] (NULL: 1), then the epilogue; float output (yf) or u8
 * requantized with out_scale / out_zp (yq). */
typedef struct {
    const float *xf;
    const uint8_t *xq;
    int32_t zp;
    const float *wf;
    const int8_t *wq;
    const float *channel_scale;
    const unirt_epilogue *ep;
    float *yf;
    uint8_t *yq;
    float out_scale;
    int32_t out_zp;
} unirt_dw3x3_rows_job;

/* 1 when the engine takes the geometry: 3x3, dilation 1, equal strides 1 or 2, rows up to 2048 outputs. */
int unirt_dw3x3_rows_supported_avx2(const unirt_conv2d_geometry *g);
/* Channels [cb, ce) of one sample. */
void unirt_dw3x3_rows_avx2(const unirt_dw3x3_rows_job *job, const unirt_conv2d_geometry *g, size_t cb, size_t ce);

/* Per-ISA entry points (same contracts as the public dispatchers). */
#define UNIRT_DECLARE_BOTH(ret, name, params) \
    ret name##_generic params;                \
    ret name##_avx2 params;

UNIRT_DECLARE_BOTH(void, unirt_epilogue_apply,
                   (const unirt_epilogue *ep, float *y, size_t ld, size_t cb, size_t ce, size_t count))
UNIRT_DECLARE_BOTH(void, unirt_dwconv_compute,
                   (const float *x, const float *w, const unirt_conv2d_geometry *g,
                    const unirt_epilogue *ep, float *y, size_t cb, size_t ce))
UNIRT_DECLARE_BOTH(void, unirt_binary_compute,
                   (int32_t op, const float *a, const float *b, float *y, size_t count))
UNIRT_DECLARE_BOTH(void, unirt_binary_channel_compute,
                   (int32_t op, const float *a, const float *b, float *y, size_t plane, size_t cb,
                    size_t ce, int32_t b_first))
UNIRT_DECLARE_BOTH(void, unirt_binary_scalar_compute,
                   (int32_t op, const float *a, float b, float *y, size_t count, int32_t b_first))
UNIRT_DECLARE_BOTH(void, unirt_unary_compute,
                   (int32_t op, const float *x, float *y, size_t count, float alpha, float beta))
UNIRT_DECLARE_BOTH(void, unirt_prelu_compute,
                   (const float *x, const float *slope, float *y, size_t plane, size_t cb, size_t ce))
UNIRT_DECLARE_BOTH(void, unirt_maxpool_compute,
                   (const float *x, const unirt_conv2d_geometry *g, float *y, size_t cb, size_t ce))
UNIRT_DECLARE_BOTH(void, unirt_global_avgpool_compute,
                   (const float *x, size_t plane, float *y, size_t cb, size_t ce))
UNIRT_DECLARE_BOTH(void, unirt_instancenorm_compute,
                   (const float *x, size_t plane, const float *scale, const float *bias,
                    float epsilon, const unirt_epilogue *ep, float *y, size_t cb, size_t ce))
UNIRT_DECLARE_BOTH(void, unirt_transpose_to_nhwc,
                   (const float *x, size_t channels, size_t plane, float *y))
UNIRT_DECLARE_BOTH(void, unirt_transpose_to_nchw,
                   (const float *x, size_t channels, size_t plane, float *y))
UNIRT_DECLARE_BOTH(void, unirt_f16_from_f32, (const float *x, uint16_t *y, size_t count))
UNIRT_DECLARE_BOTH(void, unirt_f16_to_f32, (const uint16_t *x, float *y, size_t count))
UNIRT_DECLARE_BOTH(void, unirt_quantize_s8, (const float *x, int8_t *y, size_t count, float scale))
UNIRT_DECLARE_BOTH(void, unirt_dequantize_u8,
                   (const uint8_t *x, float *y, size_t count, float scale, int32_t zero_point))
UNIRT_DECLARE_BOTH(void, unirt_dequantize_s8,
                   (const int8_t *x, float *y, size_t count, float scale))
UNIRT_DECLARE_BOTH(void, unirt_gemm_u8s8_compute_s32,
                   (const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n,
                    int32_t *y, size_t ldy))
UNIRT_DECLARE_BOTH(void, unirt_gemm_u8s8_pack_x_f32,
                   (const float *x, size_t ld, size_t k, size_t n, float scale, void *packed))
UNIRT_DECLARE_BOTH(void, unirt_gemm_u8s8_compute_f32,
                   (const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n,
                    const float *row_scale, const unirt_epilogue *ep, float *y, size_t ldy))
UNIRT_DECLARE_BOTH(void, unirt_gemm_u8s8_compute_u8,
                   (const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n,
                    const float *row_scale, const unirt_epilogue *ep, float out_scale,
                    int32_t out_zp, uint8_t *y, size_t ldy))
UNIRT_DECLARE_BOTH(void, unirt_dwconv_u8s8_compute,
                   (const uint8_t *x, int32_t xzp, const int8_t *w, const unirt_conv2d_geometry *g,
                    const float *channel_scale, const unirt_epilogue *ep, float out_scale,
                    int32_t out_zp, float *yf, uint8_t *yq, size_t cb, size_t ce))

/* The AVX-512 INT8 depthwise kernel (dwconv_u8s8_avx512.c): runs and returns 1
 * when the CPU has it and the shape is 3x3 stride 1 or 2, else returns 0. */
int32_t unirt_dwconv_u8s8_try_avx512(const uint8_t *x, int32_t xzp, const int8_t *w,
                                     const unirt_conv2d_geometry *g, const float *channel_scale,
                                     const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                                     float *yf, uint8_t *yq, size_t cb, size_t ce);

UNIRT_DECLARE_BOTH(void, unirt_conv_direct_compute,
                   (const float *x, const float *packed, const unirt_conv2d_geometry *g,
                    const unirt_epilogue *ep, float *y, size_t ob, size_t oe, size_t rb, size_t re))

/* Header of packed direct-convolution weights (unirt_conv_direct_pack_weights),
 * followed by blocks of `block` output channels laid out [C][kh][kw][block]. */
typedef struct {
    uint32_t out_channels, in_channels, kernel_h, kernel_w, block;
} unirt_conv_direct_header;
enum { UNIRT_CONV_DIRECT_HEADER = 8 }; /* floats reserved for the header */

/* Packed GEMM geometry shared by packing and both kernels. */
enum { UNIRT_GEMM_NR = 16 };
static inline size_t unirt_gemm_kpairs(size_t k) { return (k + 1) / 2; }
static inline size_t unirt_gemm_round8(size_t n) { return (n + 7) & ~(size_t)7; }
#endif
