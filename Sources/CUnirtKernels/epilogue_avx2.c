/* AVX2/FMA fused epilogue: bias, residual and activation per channel row. */
#include "simd_avx2.h"

UNIRT_AVX2 void unirt_epilogue_row_avx2(const unirt_epilogue *ep, size_t c, float *y,
                                        const float *r, size_t n) {
    /* A local copy lets the compiler keep the activation switch out of the
     * loop (stores to y cannot alias it). */
    const unirt_epilogue e = *ep;
    ep = &e;
    const __m256 b = _mm256_set1_ps(ep->bias ? ep->bias[c] : 0.0f);
    const int before = r && !ep->residual_after_activation, after = r && ep->residual_after_activation;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_add_ps(_mm256_loadu_ps(y + i), b);
        if (before) v = _mm256_add_ps(v, _mm256_loadu_ps(r + i));
        v = unirt_act256(ep, c, v);
        if (after) v = _mm256_add_ps(v, _mm256_loadu_ps(r + i));
        _mm256_storeu_ps(y + i, v);
    }
    if (i < n) {
        __m256i m = unirt_mask8(n - i);
        __m256 v = _mm256_add_ps(_mm256_maskload_ps(y + i, m), b);
        if (before) v = _mm256_add_ps(v, _mm256_maskload_ps(r + i, m));
        v = unirt_act256(ep, c, v);
        if (after) v = _mm256_add_ps(v, _mm256_maskload_ps(r + i, m));
        _mm256_maskstore_ps(y + i, m, v);
    }
}

UNIRT_AVX2 void unirt_epilogue_apply_avx2(const unirt_epilogue *ep, float *y, size_t ld,
                                          size_t cb, size_t ce, size_t count) {
    for (size_t c = cb; c < ce; c++)
        unirt_epilogue_row_avx2(ep, c, y + c * ld, ep->residual ? ep->residual + c * ld : NULL,
                                count);
}
