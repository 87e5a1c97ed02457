/* AVX2 INT8 depthwise 3x3, stride 1 or 2, dilation 1, any pads. 16 outputs
 * per step: the three column taps are widened to int16 (minus the zero point;
 * for stride 2 the even and odd bytes of 32 loaded ones are split into int16
 * lanes by mask and shift),
 * taps 0/1 interleaved and tap 2 paired with zero, and VPMADDWD sums tap
 * pairs into int32 exactly ((x - zp) * w fits int16: |255 * 128| < 2^15).
 * Borders use scalar taps. Each output row is scaled, run through the
 * epilogue and stored as float or requantized to u8. Other shapes go to the
 * portable kernel. */
#include "simd_avx2.h"

static inline int32_t point(const uint8_t *xc, int32_t zp, const int8_t *wc,
                            const unirt_conv2d_geometry *g, size_t oy, size_t ox) {
    int32_t acc = 0;
    for (int ky = 0; ky < 3; ky++) {
        ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + (size_t)ky) - (ptrdiff_t)g->pad_top;
        if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
        for (int kx = 0; kx < 3; kx++) {
            ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w + (size_t)kx) - (ptrdiff_t)g->pad_left;
            if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
            acc += ((int32_t)xc[iy * (ptrdiff_t)g->in_w + ix] - zp) * wc[ky * 3 + kx];
        }
    }
    return acc;
}

UNIRT_AVX2_INLINE __m256i widen16(const uint8_t *p, __m256i zp) {
    return _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p)), zp);
}

/* Bytes p[0], p[2], ..., p[30] (odd = 0) or p[1], ..., p[31] (odd = 1) as
 * int16 minus zp, in order. */
UNIRT_AVX2_INLINE __m256i widen16_stride2(const uint8_t *p, int odd, __m256i zp) {
    __m256i v = _mm256_loadu_si256((const __m256i *)p);
    v = odd ? _mm256_srli_epi16(v, 8) : _mm256_and_si256(v, _mm256_set1_epi16(0xFF));
    return _mm256_sub_epi16(v, zp);
}

UNIRT_AVX2 void unirt_dwconv_u8s8_compute_avx2(const uint8_t *x, int32_t xzp, const int8_t *w,
                                               const unirt_conv2d_geometry *g,
                                               const float *channel_scale, const unirt_epilogue *ep,
                                               float out_scale, int32_t out_zp, float *yf,
                                               uint8_t *yq, size_t cb, size_t ce) {
    if (g->kernel_h != 3 || g->kernel_w != 3 || g->stride_h > 2 || g->stride_w > 2 ||
        g->dilation_h != 1 || g->dilation_w != 1) {
        unirt_dwconv_u8s8_compute_generic(x, xzp, w, g, channel_scale, ep, out_scale, out_zp, yf, yq, cb, ce);
        return;
    }
    const size_t plane_in = g->in_h * g->in_w, plane_out = g->out_h * g->out_w, OW = g->out_w;
    const ptrdiff_t W = (ptrdiff_t)g->in_w, pl = (ptrdiff_t)g->pad_left;
    const size_t sw = g->stride_w;
    /* Bytes read from the first tap of 16 outputs: 18 (stride 1), 34 (stride 2). */
    const ptrdiff_t reach = sw == 1 ? 18 : 34;
    const __m256i zp16 = _mm256_set1_epi16((int16_t)xzp);
    float tmp[OW > 0 ? OW : 1]; /* one output row before requantization */
    for (size_t c = cb; c < ce; c++) {
        const uint8_t *xc = x + c * plane_in;
        const int8_t *wc = w + c * 9;
        __m256i w01[3], w2[3];
        for (int ky = 0; ky < 3; ky++) {
            w01[ky] = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)(int16_t)wc[ky * 3 + 1] << 16) |
                                                  (uint16_t)(int16_t)wc[ky * 3]));
            w2[ky] = _mm256_set1_epi32((int32_t)(uint16_t)(int16_t)wc[ky * 3 + 2]);
        }
        const float sc = channel_scale[c];
        const __m256 scv = _mm256_set1_ps(sc);
        for (size_t oy = 0; oy < g->out_h; oy++) {
            float *row = yf ? yf + c * plane_out + oy * OW : tmp;
            const uint8_t *rows[3];
            int valid[3];
            for (int ky = 0; ky < 3; ky++) {
                ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + (size_t)ky) - (ptrdiff_t)g->pad_top;
                valid[ky] = iy >= 0 && iy < (ptrdiff_t)g->in_h;
                rows[ky] = xc + (valid[ky] ? iy * W : 0);
            }
            /* First output whose leftmost tap is inside the row. */
            const size_t first = ((size_t)pl + sw - 1) / sw;
            const size_t vb = first < OW ? first : OW;
            size_t ve = vb;
            for (size_t ox = vb; ox + 16 <= OW && (ptrdiff_t)(ox * sw) - pl + reach <= W; ox += 16) {
                const ptrdiff_t base = (ptrdiff_t)(ox * sw) - pl;
                __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
                for (int ky = 0; ky < 3; ky++) {
                    if (!valid[ky]) continue;
                    const uint8_t *p = rows[ky] + base;
                    __m256i a, b, d;
                    if (sw == 1) {
                        a = widen16(p, zp16), b = widen16(p + 1, zp16), d = widen16(p + 2, zp16);
                    } else {
                        a = widen16_stride2(p, 0, zp16), b = widen16_stride2(p, 1, zp16);
                        d = widen16_stride2(p + 2, 0, zp16);
                    }
                    __m256i z = _mm256_setzero_si256();
                    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w01[ky]));
                    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w01[ky]));
                    lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(d, z), w2[ky]));
                    hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(d, z), w2[ky]));
                }
                /* unpack works per 128-bit lane: lo = outputs 0-3, 8-11; hi = 4-7, 12-15. */
                __m256i o0 = _mm256_permute2x128_si256(lo, hi, 0x20), o1 = _mm256_permute2x128_si256(lo, hi, 0x31);
                _mm256_storeu_ps(row + ox, _mm256_mul_ps(_mm256_cvtepi32_ps(o0), scv));
                _mm256_storeu_ps(row + ox + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(o1), scv));
                ve = ox + 16;
            }
            for (size_t ox = 0; ox < vb; ox++) row[ox] = (float)point(xc, xzp, wc, g, oy, ox) * sc;
            for (size_t ox = ve; ox < OW; ox++) row[ox] = (float)point(xc, xzp, wc, g, oy, ox) * sc;
            if (ep) {
                const float *r = ep->residual ? ep->residual + c * plane_out + oy * OW : NULL;
                unirt_epilogue_row_avx2(ep, c, row, r, OW);
            }
            if (!yf) unirt_quantize_u8_avx2(row, yq + c * plane_out + oy * OW, OW, out_scale, out_zp);
        }
    }
}
