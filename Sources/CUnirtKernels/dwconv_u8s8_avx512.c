/* AVX-512 INT8 depthwise 3x3, stride 1 or 2, dilation 1, any pads, for every
 * plane width (the AVX2 kernel falls back to scalar taps on planes narrower
 * than 18 bytes, i.e. the 7x7 and 14x14 layers of face models).
 *
 * Each input row is widened once per channel into a zero-padded float row
 * holding x - zp (padding is real 0); 16 outputs then take 9 FMAs of
 * broadcast weights. The sums stay exact: every product is an integer of at
 * most 255 * 128 and nine of them stay below 2^24, so float holds every
 * partial sum exactly and the result equals the int32 accumulation of the
 * other kernels bit for bit. The scale, epilogue and u8 requantization are the
 * AVX2 routines the AVX2 kernel uses, over runs of whole output rows. */
#include "gemm_u8s8q_internal.h"
#include "conv_gemm_internal.h"
#include "simd_avx2.h"
#include <stdint.h>
#include <string.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma")))

enum { ROW_MAX = 2048, CHUNK = 4096, SLACK = 48, PLANE_MAX = 12288 };

/* Input row iy of channel xc as floats x - zp at dst[pl + ix], zero elsewhere in [0, width). */
AVX512 static void widen_row(const uint8_t *xc, const unirt_conv2d_geometry *g, ptrdiff_t iy, int32_t zp,
                             float *dst, size_t width) {
    if (iy < 0 || iy >= (ptrdiff_t)g->in_h) {
        memset(dst, 0, width * sizeof(float));
        return;
    }
    const size_t pl = g->pad_left, end = pl + g->in_w;
    memset(dst, 0, pl * sizeof(float));
    if (end < width) memset(dst + end, 0, (width - end) * sizeof(float));
    const uint8_t *src = xc + (size_t)iy * g->in_w;
    float *out = dst + pl;
    const __m512i z = _mm512_set1_epi32(zp);
    size_t i = 0;
    for (; i + 16 <= g->in_w; i += 16) {
        __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm512_storeu_ps(out + i, _mm512_cvtepi32_ps(_mm512_sub_epi32(v, z)));
    }
    if (i < g->in_w) {
        const __mmask16 m = (__mmask16)((1u << (g->in_w - i)) - 1);
        __m512i v = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(m, src + i));
        _mm512_mask_storeu_ps(out + i, m, _mm512_cvtepi32_ps(_mm512_sub_epi32(v, z)));
    }
}

/* 16 outputs from three widened rows (r[ky] at the first tap's column). */
AVX512 static inline __m512 taps16(const float *const r[3], size_t sw, const __m512 wv[9], __m512i even) {
    __m512 acc = _mm512_setzero_ps();
    for (int ky = 0; ky < 3; ky++) {
        const float *p = r[ky];
        if (sw == 1) {
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(p), wv[ky * 3], acc);
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(p + 1), wv[ky * 3 + 1], acc);
            acc = _mm512_fmadd_ps(_mm512_loadu_ps(p + 2), wv[ky * 3 + 2], acc);
        } else {
            /* Columns 0, 2, ..., 30 of p, p + 1 and p + 2. */
            __m512 e0 = _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
            __m512 o0 = _mm512_permutex2var_ps(_mm512_loadu_ps(p + 1), even, _mm512_loadu_ps(p + 17));
            __m512 e1 = _mm512_permutex2var_ps(_mm512_loadu_ps(p + 2), even, _mm512_loadu_ps(p + 18));
            acc = _mm512_fmadd_ps(e0, wv[ky * 3], acc);
            acc = _mm512_fmadd_ps(o0, wv[ky * 3 + 1], acc);
            acc = _mm512_fmadd_ps(e1, wv[ky * 3 + 2], acc);
        }
    }
    return acc;
}

/* Small planes widen every input row once per channel into `plane`; larger
 * ones widen the three rows of each output row into `rows`. */
AVX512 static void compute(const uint8_t *x, int32_t xzp, const int8_t *w, const unirt_conv2d_geometry *g,
                           const float *channel_scale, const unirt_epilogue *ep, float out_scale,
                           int32_t out_zp, float *yf, uint8_t *yq, size_t cb, size_t ce) {
    const size_t OW = g->out_w, OH = g->out_h, sw = g->stride_w, sh = g->stride_h;
    const size_t plane_in = g->in_h * g->in_w, plane_out = OH * OW;
    /* Padded input columns the taps read, plus room for the stride-2 loads. */
    const size_t width = (OW + 15) / 16 * 16 * sw + 2 + SLACK;
    const size_t in_rows = (OH - 1) * sh + 3;
    const int whole = in_rows * width <= PLANE_MAX;
    const size_t rows_per_chunk = CHUNK / OW;
    float buf[PLANE_MAX > 3 * (ROW_MAX * 2 + 2 + SLACK) ? PLANE_MAX : 3 * (ROW_MAX * 2 + 2 + SLACK)];
    float tmp[CHUNK];
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (size_t c = cb; c < ce; c++) {
        const uint8_t *xc = x + c * plane_in;
        __m512 wv[9];
        for (int t = 0; t < 9; t++) wv[t] = _mm512_set1_ps((float)w[c * 9 + (size_t)t]);
        const __m512 sc = _mm512_set1_ps(channel_scale[c]);
        if (whole)
            for (size_t t = 0; t < in_rows; t++)
                widen_row(xc, g, (ptrdiff_t)t - (ptrdiff_t)g->pad_top, xzp, buf + t * width, width);
        /* Row mode: padded row t lives in slot t % 3 until a later row replaces it. */
        size_t held[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
        for (size_t oy0 = 0; oy0 < OH; oy0 += rows_per_chunk) {
            const size_t nrows = OH - oy0 < rows_per_chunk ? OH - oy0 : rows_per_chunk;
            float *dst = yf ? yf + c * plane_out + oy0 * OW : tmp;
            for (size_t r = 0; r < nrows; r++) {
                const size_t oy = oy0 + r;
                const float *rp[3];
                for (int ky = 0; ky < 3; ky++) {
                    const size_t t = oy * sh + (size_t)ky;
                    if (whole) {
                        rp[ky] = buf + t * width;
                    } else {
                        float *row = buf + (t % 3) * width;
                        if (held[t % 3] != t) {
                            widen_row(xc, g, (ptrdiff_t)t - (ptrdiff_t)g->pad_top, xzp, row, width);
                            held[t % 3] = t;
                        }
                        rp[ky] = row;
                    }
                }
                float *out = dst + r * OW;
                for (size_t ox = 0; ox < OW; ox += 16) {
                    const float *at[3] = {rp[0] + ox * sw, rp[1] + ox * sw, rp[2] + ox * sw};
                    __m512 acc = taps16(at, sw, wv, even);
                    const size_t cnt = OW - ox < 16 ? OW - ox : 16;
                    _mm512_mask_storeu_ps(out + ox, (__mmask16)((1u << cnt) - 1), _mm512_mul_ps(acc, sc));
                }
            }
            const size_t count = nrows * OW;
            if (ep) {
                const float *res = ep->residual ? ep->residual + c * plane_out + oy0 * OW : NULL;
                unirt_epilogue_row_avx2(ep, c, dst, res, count);
            }
            if (!yf) unirt_quantize_u8_avx2(dst, yq + c * plane_out + oy0 * OW, count, out_scale, out_zp);
        }
    }
}

int32_t unirt_dwconv_u8s8_try_avx512(const uint8_t *x, int32_t xzp, const int8_t *w,
                                     const unirt_conv2d_geometry *g, const float *channel_scale,
                                     const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                                     float *yf, uint8_t *yq, size_t cb, size_t ce) {
    if (!unirt_gemm_u8s8q_native() || unirt_conv_gemm_isa_level() < 2 || g->kernel_h != 3 || g->kernel_w != 3 || g->stride_h != g->stride_w ||
        g->stride_w > 2 || g->dilation_h != 1 || g->dilation_w != 1 || g->out_w == 0 || g->out_w > ROW_MAX ||
        g->pad_left + g->in_w > (g->out_w + 15) / 16 * 16 * g->stride_w + 2 + SLACK)
        return 0;
    compute(x, xzp, w, g, channel_scale, ep, out_scale, out_zp, yf, yq, cb, ce);
    return 1;
}
