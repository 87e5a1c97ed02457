/* The AVX2 3x3 depthwise engine on padded rows, shared by the float
 * (dwconv_avx2.c) and INT8 (dwconv_u8s8_avx2.c) depthwise kernels: stride 1
 * or 2 (the same both ways), dilation 1, any pads, every plane width.
 *
 * Each input row is copied once per channel into a zero-padded float row (the
 * INT8 input widened to x - zp, so padding is a real 0). For stride 2 the
 * padded row is split into its even and odd columns, so the three taps of 8
 * outputs are plain loads (even[ox], odd[ox], even[ox + 1]) instead of shuffles
 * per tap; 8 outputs then take 9 FMAs of broadcast weights in three chains.
 * Every output is a vector output: narrow planes (a face model's 14x14 and 7x7
 * layers) never fall to scalar taps. INT8 sums stay exact: every product is an
 * integer of at most 255 * 128 and nine of them stay below 2^24, so the float
 * sum equals the int32 accumulation of the other kernels bit for bit. Scale,
 * epilogue and u8 requantization run over runs of whole output rows. */
#include "simd_avx2.h"

enum { ROW_MAX = 2048, CHUNK = 4096, SLACK = 16, PLANE_MAX = 12288 };

int unirt_dw3x3_rows_supported_avx2(const unirt_conv2d_geometry *g) {
    return g->kernel_h == 3 && g->kernel_w == 3 && g->stride_w <= 2 && g->stride_h == g->stride_w &&
           g->dilation_h == 1 && g->dilation_w == 1 && g->out_w > 0 && g->out_w <= ROW_MAX;
}

/* Floats one padded row takes: padded columns [0, 8 * ceil(OW / 8) * stride + 2)
 * plus slack, as one run (stride 1) or as its even and odd halves (stride 2). */
static size_t row_floats(size_t out_w, size_t stride) {
    const size_t ow8 = (out_w + 7) / 8 * 8;
    return stride == 1 ? ow8 + 2 + SLACK : 2 * (ow8 + 1 + SLACK);
}

/* n floats from s to d (n of at least 8: whole vectors, the last one overlapping). */
UNIRT_AVX2_INLINE void copy_floats(float *d, const float *s, size_t n) {
    if (n < 8) {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
        return;
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(d + i, _mm256_loadu_ps(s + i));
    if (i < n) _mm256_storeu_ps(d + n - 8, _mm256_loadu_ps(s + n - 8));
}

/* n u8 from s to d as floats s - zp (the same overlapping last vector). */
UNIRT_AVX2_INLINE void widen_u8(float *d, const uint8_t *s, size_t n, int32_t zp) {
    const __m256i z = _mm256_set1_epi32(zp);
    if (n < 8) {
        for (size_t i = 0; i < n; i++) d[i] = (float)((int32_t)s[i] - zp);
        return;
    }
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(d + i, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(s + i))), z)));
    if (i < n)
        _mm256_storeu_ps(d + n - 8, _mm256_cvtepi32_ps(_mm256_sub_epi32(
                                        _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(s + n - 8))), z)));
}

/* Input row iy of channel c on padded columns j = ix + pad_left: dst[j] (stride 1), or
 * dst[j / 2] for even j and dst[half + j / 2] for odd j (stride 2, through `line`).
 * Writes only the image's columns (zeros for a row outside the image): the padding
 * columns of dst and line were zeroed once per call and nothing else writes them. */
UNIRT_AVX2 static void fill_row(const unirt_dw3x3_rows_job *jb, size_t c, const unirt_conv2d_geometry *g,
                                ptrdiff_t iy, float *dst, float *line) {
    const size_t sw = g->stride_w, ow8 = (g->out_w + 7) / 8 * 8;
    /* Padded columns the taps read. */
    const size_t cols = sw == 1 ? row_floats(g->out_w, 1) : 2 * (ow8 + 1) + 8;
    float *out = sw == 1 ? dst : line;
    const size_t pl = g->pad_left < cols ? g->pad_left : cols, end = pl + g->in_w < cols ? pl + g->in_w : cols;
    if (iy < 0 || iy >= (ptrdiff_t)g->in_h) {
        for (size_t j = pl; j < end; j++) out[j] = 0.0f;
    } else if (end > pl) {
        const size_t at = (c * g->in_h + (size_t)iy) * g->in_w;
        if (jb->xf) copy_floats(out + pl, jb->xf + at, end - pl);
        else widen_u8(out + pl, jb->xq + at, end - pl, jb->zp);
    }
    if (sw == 1) return;
    /* Split into even and odd columns, 16 at a time (the tail stays zero from the once-per-call clear). */
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
}

/* 8 outputs from three padded rows, starting at output column ox. */
UNIRT_AVX2_INLINE __m256 taps8(const float *const r[3], size_t sw, size_t half, size_t ox, const __m256 wv[9]) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps();
    for (int ky = 0; ky < 3; ky++) {
        const float *p = r[ky];
        const __m256 t0 = _mm256_loadu_ps(p + ox);
        const __m256 t1 = _mm256_loadu_ps(sw == 1 ? p + ox + 1 : p + half + ox);
        const __m256 t2 = _mm256_loadu_ps(sw == 1 ? p + ox + 2 : p + ox + 1);
        acc0 = _mm256_fmadd_ps(t0, wv[ky * 3], acc0);
        acc1 = _mm256_fmadd_ps(t1, wv[ky * 3 + 1], acc1);
        acc2 = _mm256_fmadd_ps(t2, wv[ky * 3 + 2], acc2);
    }
    return _mm256_add_ps(_mm256_add_ps(acc0, acc1), acc2);
}

UNIRT_AVX2 void unirt_dw3x3_rows_avx2(const unirt_dw3x3_rows_job *jb, const unirt_conv2d_geometry *g, size_t cb,
                                      size_t ce) {
    const size_t OW = g->out_w, OH = g->out_h, sw = g->stride_w, sh = g->stride_h;
    const size_t plane_out = OH * OW;
    const size_t width = row_floats(OW, sw), half = (OW + 7) / 8 * 8 + 1 + SLACK;
    const size_t in_rows = (OH - 1) * sh + 3;
    /* Small planes fill every input row once per channel; larger ones keep the
     * three rows of the current output row (row t in slot t % 3). */
    const int whole = in_rows * width <= PLANE_MAX;
    const size_t rows_per_chunk = CHUNK / OW;
    float buf[PLANE_MAX > 3 * 2 * (ROW_MAX + 1 + SLACK) ? PLANE_MAX : 3 * 2 * (ROW_MAX + 1 + SLACK)];
    float line[2 * (ROW_MAX + 1) + 8 + 2 * SLACK];
    float tmp[CHUNK], last[8];
    /* Padding columns are zero for the whole call; fill_row writes only image columns. */
    memset(buf, 0, (whole ? in_rows : 3) * width * sizeof(float));
    memset(line, 0, sizeof line);
    for (size_t c = cb; c < ce; c++) {
        __m256 wv[9];
        for (int t = 0; t < 9; t++) wv[t] = _mm256_set1_ps(jb->wf ? jb->wf[c * 9 + (size_t)t] : (float)jb->wq[c * 9 + (size_t)t]);
        const __m256 sc = _mm256_set1_ps(jb->channel_scale ? jb->channel_scale[c] : 1.0f);
        if (whole)
            for (size_t t = 0; t < in_rows; t++)
                fill_row(jb, c, g, (ptrdiff_t)t - (ptrdiff_t)g->pad_top, buf + t * width, line);
        size_t held[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
        for (size_t oy0 = 0; oy0 < OH; oy0 += rows_per_chunk) {
            const size_t nrows = OH - oy0 < rows_per_chunk ? OH - oy0 : rows_per_chunk;
            float *dst = jb->yf ? jb->yf + c * plane_out + oy0 * OW : tmp;
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
                            fill_row(jb, c, g, (ptrdiff_t)t - (ptrdiff_t)g->pad_top, row, line);
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
            const unirt_epilogue *ep = jb->ep;
            if (ep) {
                const float *res = ep->residual ? ep->residual + c * plane_out + oy0 * OW : NULL;
                unirt_epilogue_row_avx2(ep, c, dst, res, count);
            }
            if (!jb->yf) unirt_quantize_u8_avx2(dst, jb->yq + c * plane_out + oy0 * OW, count, jb->out_scale, jb->out_zp);
        }
    }
}
