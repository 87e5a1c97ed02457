/* Portable elementwise kernels: binary (same shape, per channel, scalar),
 * unary activations and math, PRelu. */
#include "kernels_internal.h"

static inline float binary_op(int32_t op, float a, float b) {
    switch (op) {
    case UNIRT_BINARY_ADD: return a + b;
    case UNIRT_BINARY_SUB: return a - b;
    case UNIRT_BINARY_MUL: return a * b;
    default: return a / b;
    }
}

void unirt_binary_compute_generic(int32_t op, const float *a, const float *b, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = binary_op(op, a[i], b[i]);
}

void unirt_binary_scalar_compute_generic(int32_t op, const float *a, float b, float *y, size_t count,
                                         int32_t b_first) {
    if (b_first) for (size_t i = 0; i < count; i++) y[i] = binary_op(op, b, a[i]);
    else for (size_t i = 0; i < count; i++) y[i] = binary_op(op, a[i], b);
}

void unirt_binary_channel_compute_generic(int32_t op, const float *a, const float *b, float *y,
                                          size_t plane, size_t cb, size_t ce, int32_t b_first) {
    for (size_t c = cb; c < ce; c++)
        unirt_binary_scalar_compute_generic(op, a + c * plane, b[c], y + c * plane, plane, b_first);
}

static inline float unary_op(int32_t op, float x, float alpha, float beta) {
    switch (op) {
    case UNIRT_UNARY_RELU: return x > 0.0f ? x : 0.0f;
    case UNIRT_UNARY_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case UNIRT_UNARY_TANH: return tanhf(x);
    case UNIRT_UNARY_EXP: return expf(x);
    case UNIRT_UNARY_SQRT: return sqrtf(x);
    case UNIRT_UNARY_LEAKY_RELU: return x < 0.0f ? x * alpha : x;
    case UNIRT_UNARY_HARDSIGMOID: return fmaxf(0.0f, fminf(1.0f, alpha * x + beta));
    default: return fminf(fmaxf(x, alpha), beta);
    }
}

void unirt_unary_compute_generic(int32_t op, const float *x, float *y, size_t count, float alpha,
                                 float beta) {
    for (size_t i = 0; i < count; i++) y[i] = unary_op(op, x[i], alpha, beta);
}

void unirt_prelu_compute_generic(const float *x, const float *slope, float *y, size_t plane,
                                 size_t cb, size_t ce) {
    for (size_t c = cb; c < ce; c++) {
        const float s = slope[c];
        for (size_t i = 0; i < plane; i++) {
            float v = x[c * plane + i];
            y[c * plane + i] = v < 0.0f ? v * s : v;
        }
    }
}
