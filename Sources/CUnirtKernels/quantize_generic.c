/* Portable per-tensor quantization and dequantization. */
#include "kernels_internal.h"

void unirt_quantize_u8_generic(const float *x, uint8_t *y, size_t count, float scale, int32_t zp) {
    for (size_t i = 0; i < count; i++) y[i] = unirt_quant_u8_scalar(x[i], scale, zp);
}

void unirt_quantize_s8_generic(const float *x, int8_t *y, size_t count, float scale) {
    for (size_t i = 0; i < count; i++) {
        float q = x[i] / scale;
        q = q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q);
        y[i] = (int8_t)nearbyintf(q);
    }
}

void unirt_dequantize_u8_generic(const uint8_t *x, float *y, size_t count, float scale, int32_t zp) {
    for (size_t i = 0; i < count; i++) y[i] = (float)((int32_t)x[i] - zp) * scale;
}

void unirt_dequantize_s8_generic(const int8_t *x, float *y, size_t count, float scale) {
    for (size_t i = 0; i < count; i++) y[i] = (float)x[i] * scale;
}
