/* F16C conversion, 8 values per instruction (dispatched only with F16C). */
#include "simd_avx2.h"

__attribute__((target("avx2,f16c"))) void unirt_f16_from_f32_avx2(const float *x, uint16_t *y,
                                                                   size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    if (i < count) {
        float in[8] = {0};
        uint16_t out[8];
        for (size_t j = i; j < count; j++) in[j - i] = x[j];
        _mm_storeu_si128((__m128i *)out, _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        for (size_t j = i; j < count; j++) y[j] = out[j - i];
    }
}

__attribute__((target("avx2,f16c"))) void unirt_f16_to_f32_avx2(const uint16_t *x, float *y,
                                                                 size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    if (i < count) {
        uint16_t in[8] = {0};
        float out[8];
        for (size_t j = i; j < count; j++) in[j - i] = x[j];
        _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)in)));
        for (size_t j = i; j < count; j++) y[j] = out[j - i];
    }
}
