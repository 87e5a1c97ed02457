/* AVX2/FMA vector helpers shared by the *_avx2.c files (static inline, each
 * compiled for avx2+fma through UNIRT_AVX2; never called without AVX2). */
#ifndef UNIRT_SIMD_AVX2_H
#define UNIRT_SIMD_AVX2_H
#include "kernels_internal.h"
#include <immintrin.h>
#include <string.h>

#define UNIRT_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* Lane mask selecting the first n (0..8) lanes, for masked loads/stores. */
UNIRT_AVX2_INLINE __m256i unirt_mask8(size_t n) {
    static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(table + 8 - n));
}

/* Even-indexed (odd = 0) or odd-indexed lanes of the 16 floats at p (stride-2 taps). */
UNIRT_AVX2_INLINE __m256 unirt_load_strided2(const float *p, int odd) {
    const __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    const __m256 s = odd ? _mm256_shuffle_ps(a, b, 0xDD) : _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xD8));
}

/* exp(x): x = n*ln2 + r with |r| <= ln2/2 (two-constant reduction), e^r by
 * its degree-7 Taylor polynomial (truncation < 6e-9), times 2^n through the
 * exponent bits. About 1e-7 relative; 0 below -87.3, +inf above 88.7. */
UNIRT_AVX2_INLINE __m256 unirt_exp256(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.72283f), lo = _mm256_set1_ps(-87.33654f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    /* n is in [-126, 128]; split 2^n = 2^(n/2) * 2^(n - n/2) to reach 2^128. */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    p = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    p = _mm256_andnot_ps(under, p);
    return _mm256_blendv_ps(p, _mm256_set1_ps(INFINITY), over);
}

/* 1 / (1 + exp(-x)) with an exact division. */
UNIRT_AVX2_INLINE __m256 unirt_sigmoid256(__m256 x) {
    __m256 e = unirt_exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/* tanh: odd Taylor polynomial below |x| = 0.0625 (where 1 - e^-2x cancels),
 * else sign(x) * (1 - e) / (1 + e) with e = exp(-2|x|). */
UNIRT_AVX2_INLINE __m256 unirt_tanh256(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 e = unirt_exp256(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 big = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    __m256 x2 = _mm256_mul_ps(ax, ax);
    __m256 p = _mm256_set1_ps(-17.0f / 315.0f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.0f / 15.0f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.0f / 3.0f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, x2), ax, ax);
    __m256 t = _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.0625f), _CMP_LT_OQ));
    return _mm256_or_ps(t, _mm256_and_ps(x, sign));
}

/* The epilogue's activation on 8 values of channel c. */
UNIRT_AVX2_INLINE __m256 unirt_act256(const unirt_epilogue *ep, size_t c, __m256 v) {
    switch (ep->activation) {
    case UNIRT_ACT_RELU: return _mm256_max_ps(v, _mm256_setzero_ps());
    case UNIRT_ACT_PRELU:
    case UNIRT_ACT_LEAKY_RELU: {
        float s = ep->activation == UNIRT_ACT_PRELU ? ep->slope[c] : ep->alpha;
        __m256 neg = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LT_OQ);
        return _mm256_blendv_ps(v, _mm256_mul_ps(v, _mm256_set1_ps(s)), neg);
    }
    case UNIRT_ACT_CLIP:
        return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(ep->alpha)), _mm256_set1_ps(ep->beta));
    case UNIRT_ACT_SIGMOID: return unirt_sigmoid256(v);
    case UNIRT_ACT_HARDSIGMOID: {
        __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(ep->alpha), _mm256_set1_ps(ep->beta));
        return _mm256_max_ps(_mm256_setzero_ps(), _mm256_min_ps(_mm256_set1_ps(1.0f), t));
    }
    default: return v;
    }
}

/* Round half to even and saturate 8 floats to u8 in the low 8 bytes. */
UNIRT_AVX2_INLINE __m128i unirt_quant8_u8(__m256 v, __m256 scale, __m256 lo, __m256 hi,
                                          __m256i zp) {
    __m256 q = _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(v, scale), lo), hi);
    __m256i i = _mm256_add_epi32(_mm256_cvtps_epi32(q), zp);
    __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
    return _mm_packus_epi16(w, w);
}

/* Where an int8 GEMM driver writes: int32, float, or u8 requantized. */
enum { UNIRT_OUT_S32, UNIRT_OUT_F32, UNIRT_OUT_U8 };

typedef struct {
    int kind;
    int32_t *ys;
    float *yf;
    uint8_t *yq;
    size_t ldy;
    const float *row_scale;
    const unirt_epilogue *ep; /* NULL: none */
    float out_scale;
    int32_t out_zp;
} unirt_gemm_sink;

/* Writes 8 accumulator columns [j, j + cnt) of row m; full vectors use
 * plain loads/stores (masked moves are slow on some cores). */
UNIRT_AVX2_INLINE void unirt_gemm_emit8(const unirt_gemm_sink *s, size_t m, size_t j, size_t cnt, __m256i acc) {
    const int full = cnt == 8;
    const __m256i mask = unirt_mask8(cnt);
    if (s->kind == UNIRT_OUT_S32) {
        int32_t *dst = s->ys + m * s->ldy + j;
        if (full) _mm256_storeu_si256((__m256i *)dst, acc);
        else _mm256_maskstore_epi32((int *)dst, mask, acc);
        return;
    }
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), _mm256_set1_ps(s->row_scale[m]));
    const unirt_epilogue *ep = s->ep;
    if (ep) {
        const float *r = ep->residual ? ep->residual + m * s->ldy + j : NULL;
        __m256 rv = _mm256_setzero_ps();
        if (r) rv = full ? _mm256_loadu_ps(r) : _mm256_maskload_ps(r, mask);
        if (ep->bias) v = _mm256_add_ps(v, _mm256_set1_ps(ep->bias[m]));
        if (r && !ep->residual_after_activation) v = _mm256_add_ps(v, rv);
        v = unirt_act256(ep, m, v);
        if (r && ep->residual_after_activation) v = _mm256_add_ps(v, rv);
    }
    if (s->kind == UNIRT_OUT_F32) {
        float *dst = s->yf + m * s->ldy + j;
        if (full) _mm256_storeu_ps(dst, v);
        else _mm256_maskstore_ps(dst, mask, v);
        return;
    }
    const float zf = (float)s->out_zp;
    __m128i q = unirt_quant8_u8(v, _mm256_set1_ps(s->out_scale), _mm256_set1_ps(-zf),
                                _mm256_set1_ps(255.0f - zf), _mm256_set1_epi32(s->out_zp));
    uint8_t *dst = s->yq + m * s->ldy + j;
    if (full) {
        _mm_storel_epi64((__m128i *)dst, q);
    } else {
        uint8_t bytes[16];
        _mm_storeu_si128((__m128i *)bytes, q);
        memcpy(dst, bytes, cnt);
    }
}

/* Interleaves 16 columns of 4 rows (r0..r3, 16 u8 each) into 16 x 4 u8 at dst
 * (the quad layout's column order: each column's 4 K values together). */
UNIRT_AVX2_INLINE void unirt_interleave4_u8(__m128i r0, __m128i r1, __m128i r2, __m128i r3, uint8_t *dst) {
    __m128i a = _mm_unpacklo_epi8(r0, r1), b = _mm_unpackhi_epi8(r0, r1);
    __m128i c = _mm_unpacklo_epi8(r2, r3), d = _mm_unpackhi_epi8(r2, r3);
    _mm_storeu_si128((__m128i *)dst, _mm_unpacklo_epi16(a, c));
    _mm_storeu_si128((__m128i *)(dst + 16), _mm_unpackhi_epi16(a, c));
    _mm_storeu_si128((__m128i *)(dst + 32), _mm_unpacklo_epi16(b, d));
    _mm_storeu_si128((__m128i *)(dst + 48), _mm_unpackhi_epi16(b, d));
}

/* The quad layout's panel walk over a K x n matrix X (row stride ld) of element
 * type T: for every quad of rows and 16 columns, LOAD(row, j, cnt) gives the 16
 * u8 of one row at columns [j, j + cnt) (128 past cnt, and everywhere for a NULL
 * row past K), and the four are interleaved into the panel. NR is the panel width. */
#define UNIRT_Q_PACK_PANELS(T, x, ld, k, n, packed, NR, LOAD)                                              \
    do {                                                                                                  \
        const size_t kq_ = unirt_gemm_kquads(k), np_ = unirt_gemm_round16(n);                               \
        for (size_t j0_ = 0; j0_ < np_; j0_ += (NR)) {                                                      \
            const size_t w_ = unirt_gemm_q_width(np_, j0_);                                                 \
            uint8_t *panel_ = (uint8_t *)(packed) + j0_ * kq_ * 4;                                          \
            for (size_t q_ = 0; q_ < kq_; q_++) {                                                           \
                const T *r_[4];                                                                             \
                for (int b_ = 0; b_ < 4; b_++)                                                              \
                    r_[b_] = 4 * q_ + (size_t)b_ < (k) ? (x) + (4 * q_ + (size_t)b_) * (ld) : NULL;          \
                for (size_t v_ = 0; v_ < w_; v_ += 16) {                                                    \
                    const size_t j_ = j0_ + v_, c_ = j_ < (n) ? ((n) - j_ < 16 ? (n) - j_ : 16) : 0;        \
                    unirt_interleave4_u8(LOAD(r_[0], j_, c_), LOAD(r_[1], j_, c_), LOAD(r_[2], j_, c_),      \
                                         LOAD(r_[3], j_, c_), panel_ + (q_ * w_ + v_) * 4);                 \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

#endif
