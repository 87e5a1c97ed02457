/* AVX2/FMA elementwise kernels. Each loop does 8 lanes per step and a masked
 * step for the tail, so every lane goes through the same vector code. */
#include "simd_avx2.h"

UNIRT_AVX2_INLINE __m256 binary256(int32_t op, __m256 a, __m256 b) {
    switch (op) {
    case UNIRT_BINARY_ADD: return _mm256_add_ps(a, b);
    case UNIRT_BINARY_SUB: return _mm256_sub_ps(a, b);
    case UNIRT_BINARY_MUL: return _mm256_mul_ps(a, b);
    default: return _mm256_div_ps(a, b);
    }
}

/* One loop body per op so the switch is resolved outside the loop. A and B
 * name operand loaders: A##_F loads a full vector at i, A##_M the masked tail. */
#define BINARY_LOOP(OP, A, B)                                                        \
    do {                                                                             \
        size_t i = 0;                                                                \
        for (; i + 8 <= count; i += 8)                                               \
            _mm256_storeu_ps(y + i, binary256(OP, A##_F(i), B##_F(i)));              \
        if (i < count) {                                                             \
            __m256i m = unirt_mask8(count - i);                                      \
            _mm256_maskstore_ps(y + i, m, binary256(OP, A##_M(i), B##_M(i)));        \
        }                                                                            \
    } while (0)

#define LOAD_A_F(i) _mm256_loadu_ps(a + (i))
#define LOAD_A_M(i) _mm256_maskload_ps(a + (i), m)
#define LOAD_B_F(i) _mm256_loadu_ps(b + (i))
#define LOAD_B_M(i) _mm256_maskload_ps(b + (i), m)
#define SPLAT_B_F(i) bv
#define SPLAT_B_M(i) bv

UNIRT_AVX2 void unirt_binary_compute_avx2(int32_t op, const float *a, const float *b, float *y,
                                          size_t count) {
    switch (op) {
    case UNIRT_BINARY_ADD: BINARY_LOOP(UNIRT_BINARY_ADD, LOAD_A, LOAD_B); break;
    case UNIRT_BINARY_SUB: BINARY_LOOP(UNIRT_BINARY_SUB, LOAD_A, LOAD_B); break;
    case UNIRT_BINARY_MUL: BINARY_LOOP(UNIRT_BINARY_MUL, LOAD_A, LOAD_B); break;
    default: BINARY_LOOP(UNIRT_BINARY_DIV, LOAD_A, LOAD_B); break;
    }
}

UNIRT_AVX2 void unirt_binary_scalar_compute_avx2(int32_t op, const float *a, float b, float *y,
                                                 size_t count, int32_t b_first) {
    const __m256 bv = _mm256_set1_ps(b);
    if (b_first) {
        switch (op) {
        case UNIRT_BINARY_ADD: BINARY_LOOP(UNIRT_BINARY_ADD, SPLAT_B, LOAD_A); break;
        case UNIRT_BINARY_SUB: BINARY_LOOP(UNIRT_BINARY_SUB, SPLAT_B, LOAD_A); break;
        case UNIRT_BINARY_MUL: BINARY_LOOP(UNIRT_BINARY_MUL, SPLAT_B, LOAD_A); break;
        default: BINARY_LOOP(UNIRT_BINARY_DIV, SPLAT_B, LOAD_A); break;
        }
    } else {
        switch (op) {
        case UNIRT_BINARY_ADD: BINARY_LOOP(UNIRT_BINARY_ADD, LOAD_A, SPLAT_B); break;
        case UNIRT_BINARY_SUB: BINARY_LOOP(UNIRT_BINARY_SUB, LOAD_A, SPLAT_B); break;
        case UNIRT_BINARY_MUL: BINARY_LOOP(UNIRT_BINARY_MUL, LOAD_A, SPLAT_B); break;
        default: BINARY_LOOP(UNIRT_BINARY_DIV, LOAD_A, SPLAT_B); break;
        }
    }
}

UNIRT_AVX2 void unirt_binary_channel_compute_avx2(int32_t op, const float *a, const float *b,
                                                  float *y, size_t plane, size_t cb, size_t ce,
                                                  int32_t b_first) {
    for (size_t c = cb; c < ce; c++)
        unirt_binary_scalar_compute_avx2(op, a + c * plane, b[c], y + c * plane, plane, b_first);
}

UNIRT_AVX2_INLINE __m256 unary256(int32_t op, __m256 x, float alpha, float beta) {
    switch (op) {
    case UNIRT_UNARY_RELU: return _mm256_max_ps(x, _mm256_setzero_ps());
    case UNIRT_UNARY_SIGMOID: return unirt_sigmoid256(x);
    case UNIRT_UNARY_TANH: return unirt_tanh256(x);
    case UNIRT_UNARY_EXP: return unirt_exp256(x);
    case UNIRT_UNARY_SQRT: return _mm256_sqrt_ps(x);
    case UNIRT_UNARY_LEAKY_RELU: {
        __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
        return _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(alpha)), neg);
    }
    case UNIRT_UNARY_HARDSIGMOID: {
        __m256 t = _mm256_fmadd_ps(x, _mm256_set1_ps(alpha), _mm256_set1_ps(beta));
        return _mm256_max_ps(_mm256_setzero_ps(), _mm256_min_ps(_mm256_set1_ps(1.0f), t));
    }
    default: return _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(alpha)), _mm256_set1_ps(beta));
    }
}

#define UNARY_CASE(OP)                                                                       \
    case OP: {                                                                               \
        size_t i = 0;                                                                        \
        for (; i + 8 <= count; i += 8)                                                       \
            _mm256_storeu_ps(y + i, unary256(OP, _mm256_loadu_ps(x + i), alpha, beta));      \
        if (i < count) {                                                                     \
            __m256i m = unirt_mask8(count - i);                                              \
            _mm256_maskstore_ps(y + i, m, unary256(OP, _mm256_maskload_ps(x + i, m), alpha, beta)); \
        }                                                                                    \
        break;                                                                               \
    }

UNIRT_AVX2 void unirt_unary_compute_avx2(int32_t op, const float *x, float *y, size_t count,
                                         float alpha, float beta) {
    switch (op) {
        UNARY_CASE(UNIRT_UNARY_RELU)
        UNARY_CASE(UNIRT_UNARY_SIGMOID)
        UNARY_CASE(UNIRT_UNARY_TANH)
        UNARY_CASE(UNIRT_UNARY_EXP)
        UNARY_CASE(UNIRT_UNARY_SQRT)
        UNARY_CASE(UNIRT_UNARY_LEAKY_RELU)
        UNARY_CASE(UNIRT_UNARY_HARDSIGMOID)
    default: UNARY_CASE(UNIRT_UNARY_CLIP)
    }
}

UNIRT_AVX2 void unirt_prelu_compute_avx2(const float *x, const float *slope, float *y, size_t plane,
                                         size_t cb, size_t ce) {
    for (size_t c = cb; c < ce; c++)
        unirt_unary_compute_avx2(UNIRT_UNARY_LEAKY_RELU, x + c * plane, y + c * plane, plane,
                                 slope[c], 0.0f);
}
