/* AVX2 INT8 depthwise 3x3, stride 1 or 2 (the same both ways), dilation 1,
 * any pads, every plane width (the 7x7 and 14x14 layers of face models too).
 *
 * Each input row is widened once per channel into a zero-padded float row
 * holding x - zp (padding is a real 0). For stride 2 the padded row is split
 * into its even and odd columns, so the three taps of 8 outputs are plain
 * loads (even[ox], odd[ox], even[ox + 1]) instead of shuffles per tap. Eight
 * outputs then take 9 FMAs of broadcast weights. The sums stay exact: every
 * product is an integer of at most 255 * 128 and nine of them stay below
 * 2^24, so the float sum equals the int32 accumulation of the other kernels
 * bit for bit. Scale, epilogue and u8 requantization run over runs of whole
 * output rows. */
#include "simd_avx2.h"
#include <stdint.h>
#include <string.h>

enum { ROW_MAX = 2048, CHUNK = 4096, SLACK = 16, PLANE_MAX = 12288 };

/* Floats one widened row takes: padded columns [0, 8 * ceil(OW / 8) * stride + 2)
 * plus slack, as one run (stride 1) or as its even and odd halves (stride 2). */
static size_t row_floats(size_t out_w, size_t stride) {
    const size_t ow8 = (out_w + 7) / 8 * 8;
    return stride == 1 ? ow8 + 2 + SLACK : 2 * (ow8 + 1 + SLACK);
}

/* Input row iy of channel xc as floats x - zp on padded columns j = ix + pad_left,
 * zero where j is outside the image: dst[j] (stride 1), or dst[j / 2] for even j
 * and dst[half + j / 2] for odd j (stride 2). `line` is scratch of row_floats. */
UNIRT_AVX2 static void widen_row(const uint8_t *xc, const unirt_conv2d_geometry *g, ptrdiff_t iy, int32_t zp,
                                 float *dst, float *line) {
    const size_t sw = g->stride_w, n = row_floats(g->out_w, sw);
    if (iy < 0 || iy >= (ptrdiff_t)g->in_h) {
        memset(dst, 0, n * sizeof(float));
        return;
    }
    /* Padded columns the taps read. */
    const size_t ow8 = (g->out_w + 7) / 8 * 8, cols = sw == 1 ? n : 2 * (ow8 + 1) + 8;
    float *out = sw == 1 ? dst : line;
    const size_t pl = g->pad_left, end = pl + g->in_w < cols ? pl + g->in_w : cols;
    memset(out, 0, (pl < cols ? pl : cols) * sizeof(float));
    if (end < cols) memset(out + end, 0, (cols - end) * sizeof(float));
    const uint8_t *src = xc + (size_t)iy * g->in_w;
    const __m256i z = _mm256_set1_epi32(zp);
    size_t j = pl;
    for (; j + 8 <= end; j += 8) {
        const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(src + (j - pl))));
        _mm256_storeu_ps(out + j, _mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)));
    }
    for (; j < end; j++) out[j] = (float)((int32_t)src[j - pl] - zp);
    if (sw == 1) return;
    /* Split into even and odd columns, 16 at a time (cols is a multiple of 2 and
     * the halves get ow8 + 1 + slack floats each). */
    const size_t half = ow8 + 1 + SLACK;
    float *even = dst, *odd = dst + half;
    size_t k = 0;
    for (; 2 * k + 16 <= cols; k += 8) {
        const __m256 a = _mm256_loadu_ps(line + 2 * k), b = _mm256_loadu_ps(line + 2 * k + 8);
        /* shuffle_ps works per 128-bit lane: [a0 a2 b0 b2 | a4 a6 b4 b6]; the qword permute orders it. */
        const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
        _mm256_storeu_ps(even + k, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
        _mm256_storeu_ps(odd + k, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
    }
    for (; 2 * k + 1 < cols; k++) {
        even[k] = line[2 * k];
        odd[k] = line[2 * k + 1];
    }
    for (; k < half; k++) even[k] = odd[k] = 0.0f;
}

/* 8 outputs from three widened rows, starting at output column ox. */
UNIRT_AVX2_INLINE __m256 taps8(const float *const r[3], size_t sw, size_t half, size_t ox, const __m256 wv[9]) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps();
    for (int ky = 0; ky < 3; ky++) {
        const float *p = r[ky];
        __m256 t0, t1, t2;
        if (sw == 1) {
            t0 = _mm256_loadu_ps(p + ox);
            t1 = _mm256_loadu_ps(p + ox + 1);
            t2 = _mm256_loadu_ps(p + ox + 2);
        } else {
            t0 = _mm256_loadu_ps(p + ox);
            t1 = _mm256_loadu_ps(p + half + ox);
            t2 = _mm256_loadu_ps(p + ox + 1);
        }
        acc0 = _mm256_fmadd_ps(t0, wv[ky * 3], acc0);
        acc1 = _mm256_fmadd_ps(t1, wv[ky * 3 + 1], acc1);
        acc2 = _mm256_fmadd_ps(t2, wv[ky * 3 + 2], acc2);
    }
    return _mm256_add_ps(_mm256_add_ps(acc0, acc1), acc2);
}

UNIRT_AVX2 void unirt_dwconv_u8s8_compute_avx2(const uint8_t *x, int32_t xzp, const int8_t *w,
                                               const unirt_conv2d_geometry *g,
                                               const float *channel_scale, const unirt_epilogue *ep,
                                               float out_scale, int32_t out_zp, float *yf,
                                               uint8_t *yq, size_t cb, size_t ce) {
    const size_t OW = g->out_w, OH = g->out_h, sw = g->stride_w, sh = g->stride_h;
    if (g->kernel_h != 3 || g->kernel_w != 3 || sw > 2 || sh != sw || g->dilation_h != 1 || g->dilation_w != 1 ||
        OW == 0 || OW > ROW_MAX) {
        unirt_dwconv_u8s8_compute_generic(x, xzp, w, g, channel_scale, ep, out_scale, out_zp, yf, yq, cb, ce);
        return;
    }
    const size_t plane_in = g->in_h * g->in_w, plane_out = OH * OW;
    const size_t width = row_floats(OW, sw), half = (OW + 7) / 8 * 8 + 1 + SLACK;
    const size_t in_rows = (OH - 1) * sh + 3;
    /* Small planes widen every input row once per channel; larger ones keep the
     * three rows of the current output row (row t in slot t % 3). */
    const int whole = in_rows * width <= PLANE_MAX;
    const size_t rows_per_chunk = CHUNK / OW;
    float buf[PLANE_MAX > 3 * 2 * (ROW_MAX + 1 + SLACK) ? PLANE_MAX : 3 * 2 * (ROW_MAX + 1 + SLACK)];
    float line[2 * (ROW_MAX + 1) + 8 + 2 * SLACK];
    float tmp[CHUNK], last[8];
    for (size_t c = cb; c < ce; c++) {
        const uint8_t *xc = x + c * plane_in;
        __m256 wv[9];
        for (int t = 0; t < 9; t++) wv[t] = _mm256_set1_ps((float)w[c * 9 + (size_t)t]);
        const __m256 sc = _mm256_set1_ps(channel_scale[c]);
        if (whole)
            for (size_t t = 0; t < in_rows; t++)
                widen_row(xc, g, (ptrdiff_t)t - (ptrdiff_t)g->pad_top, xzp, buf + t * width, line);
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
                            widen_row(xc, g, (ptrdiff_t)t - (ptrdiff_t)g->pad_top, xzp, row, line);
                            held[t % 3] = t;
                        }
                        rp[ky] = row;
                    }
                }
                float *out = dst + r * OW;
                size_t ox = 0;
                for (; ox + 8 <= OW; ox += 8) _mm256_storeu_ps(out + ox, _mm256_mul_ps(taps8(rp, sw, half, ox, wv), sc));
                if (ox < OW) {
                    _mm256_storeu_ps(last, _mm256_mul_ps(taps8(rp, sw, half, ox, wv), sc));
                    memcpy(out + ox, last, (OW - ox) * sizeof(float));
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
