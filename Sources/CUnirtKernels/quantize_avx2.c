/* AVX2 per-tensor quantization and dequantization, 8 values per step.
 * Values are clamped in float before conversion so out-of-range inputs
 * saturate instead of wrapping; cvtps rounds half to even (default MXCSR). */
#include "simd_avx2.h"

UNIRT_AVX2 void unirt_quantize_u8_avx2(const float *x, uint8_t *y, size_t count, float scale,
                                       int32_t zp) {
    const __m256 s = _mm256_set1_ps(scale);
    const __m256 lo = _mm256_set1_ps((float)(0 - zp)), hi = _mm256_set1_ps((float)(255 - zp));
    const __m256i z = _mm256_set1_epi32(zp);
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storel_epi64((__m128i *)(y + i), unirt_quant8_u8(_mm256_loadu_ps(x + i), s, lo, hi, z));
    for (; i < count; i++) y[i] = unirt_quant_u8_scalar(x[i], scale, zp);
}

UNIRT_AVX2 void unirt_quantize_s8_avx2(const float *x, int8_t *y, size_t count, float scale) {
    const __m256 s = _mm256_set1_ps(scale), lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 q = _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), s), lo), hi);
        __m256i v = _mm256_cvtps_epi32(q);
        __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(y + i), _mm_packs_epi16(w, w));
    }
    if (i < count) unirt_quantize_s8_generic(x + i, y + i, count - i, scale);
}

UNIRT_AVX2 void unirt_dequantize_u8_avx2(const uint8_t *x, float *y, size_t count, float scale,
                                         int32_t zp) {
    const __m256 s = _mm256_set1_ps(scale);
    const __m256i z = _mm256_set1_epi32(zp);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
    }
    if (i < count) unirt_dequantize_u8_generic(x + i, y + i, count - i, scale, zp);
}

UNIRT_AVX2 void unirt_dequantize_s8_avx2(const int8_t *x, float *y, size_t count, float scale) {
    const __m256 s = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(v), s));
    }
    if (i < count) unirt_dequantize_s8_generic(x + i, y + i, count - i, scale);
}
