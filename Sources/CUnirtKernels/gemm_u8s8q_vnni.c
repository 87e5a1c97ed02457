/* AVX-512 VNNI INT8 GEMM on the quad layout (unirt_kernels.h section 11).
 *
 * Register tile: 8 rows x 48 columns = 24 zmm accumulators of 16 int32; each
 * step over 4 K values loads 3 X vectors (48 columns x 4 u8) and, per row,
 * broadcasts the row's 4 s8 weights into VPDPBUSD (u8 X first, s8 W second):
 * 24 instructions do 1536 exact multiply-adds. Panels of X are walked in the
 * outer loop so each stays in cache while every row block of W streams past.
 * The epilogue runs on the accumulators while they are in registers; it
 * computes exactly what the AVX2 and portable epilogues compute (same
 * operations in the same order, no contraction). */
#include "gemm_u8s8q_internal.h"
#include "simd_avx2.h"
#include <string.h>

#define VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))
#define VNNI_INLINE static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")))

enum { MR = UNIRT_GEMM_U8S8Q_MR, NR = UNIRT_GEMM_U8S8Q_NR, ZP = UNIRT_GEMM_U8S8Q_ZP };

/* ---- packing ---------------------------------------------------------------- */

/* 16 u8 of a row at columns [j, j + cnt), 128 elsewhere (or everywhere when row is NULL). */
VNNI_INLINE __m128i load_u8(const uint8_t *row, size_t j, size_t cnt) {
    const __m128i fill = _mm_set1_epi8((char)ZP);
    if (!row || cnt == 0) return fill;
    if (cnt >= 16) return _mm_loadu_si128((const __m128i *)(row + j));
    return _mm_mask_loadu_epi8(fill, (__mmask16)((1u << cnt) - 1), row + j);
}

VNNI void unirt_gemm_u8s8q_pack_x_vnni(const uint8_t *x, size_t ld, size_t k, size_t n, void *packed) {
    UNIRT_Q_PACK_PANELS(uint8_t, x, ld, k, n, packed, NR, load_u8);
}

/* 16 floats of a row at columns [j, j + cnt) quantized as unirt_quantize_u8 (zero point 128). */
VNNI_INLINE __m128i quant_u8(const float *row, size_t j, size_t cnt, __m512 scale) {
    if (!row || cnt == 0) return _mm_set1_epi8((char)ZP);
    __m512 v = cnt >= 16 ? _mm512_loadu_ps(row + j) : _mm512_maskz_loadu_ps((__mmask16)((1u << cnt) - 1), row + j);
    __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(v, scale), _mm512_set1_ps(-128.0f)), _mm512_set1_ps(127.0f));
    __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(q), _mm512_set1_epi32(ZP));
    return _mm512_cvtepi32_epi8(i);
}

VNNI void unirt_gemm_u8s8q_pack_x_f32_vnni(const float *x, size_t ld, size_t k, size_t n, float scale,
                                           void *packed) {
    const __m512 s = _mm512_set1_ps(scale);
#define QUANT_(row, j, cnt) quant_u8(row, j, cnt, s)
    UNIRT_Q_PACK_PANELS(float, x, ld, k, n, packed, NR, QUANT_);
#undef QUANT_
}

VNNI void unirt_gemm_u8s8q_pack_x_conv_vnni(const uint8_t *x, const unirt_conv2d_geometry *g,
                                            size_t channels, size_t pos_begin, size_t pos_end,
                                            void *packed) {
    const size_t n = pos_end - pos_begin, kk = g->kernel_h * g->kernel_w, k = channels * kk;
    if (kk == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0 && g->pad_left == 0 &&
        g->in_w == g->out_w && g->in_h == g->out_h) {
        unirt_gemm_u8s8q_pack_x_vnni(x + pos_begin, g->in_h * g->in_w, k, n, packed);
        return;
    }
    /* The im2col rows and their interleave are 128-bit work: the AVX2 packer's. */
    unirt_gemm_u8s8q_pack_x_conv_avx2(x, g, channels, pos_begin, pos_end, packed);
}

/* ---- compute ---------------------------------------------------------------- */

/* acc[r][v] = corrections + sum over quads of W block rows r x X panel vectors v. */
VNNI_INLINE void tile(const uint8_t *block, const uint8_t *xp, size_t kq, int nv, __m512i acc[MR][3]) {
    const int32_t *corr = (const int32_t *)block;
    const int32_t *wq = (const int32_t *)(block + MR * 4);
    for (int r = 0; r < MR; r++) {
        __m512i c = _mm512_set1_epi32(corr[r]);
        for (int v = 0; v < 3; v++) acc[r][v] = c;
    }
    const size_t step = (size_t)nv * 64;
    for (size_t q = 0; q < kq; q++, xp += step, wq += MR) {
        __m512i x0 = _mm512_loadu_si512((const void *)xp);
        __m512i x1 = nv > 1 ? _mm512_loadu_si512((const void *)(xp + 64)) : x0;
        __m512i x2 = nv > 2 ? _mm512_loadu_si512((const void *)(xp + 128)) : x0;
        for (int r = 0; r < MR; r++) {
            __m512i wv = _mm512_set1_epi32(wq[r]);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], x0, wv);
            if (nv > 1) acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], x1, wv);
            if (nv > 2) acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], x2, wv);
        }
    }
}

enum { OUT_S32, OUT_F32, OUT_U8 };

typedef struct {
    int kind;
    int32_t *ys;
    float *yf;
    uint8_t *yq;
    size_t ldy;
    const float *row_scale;
    const unirt_epilogue *ep;
    float out_scale;
    int32_t out_zp;
} sink;

/* The epilogue's activation on 16 values of channel c. */
VNNI_INLINE __m512 act512(const unirt_epilogue *ep, size_t c, __m512 v) {
    switch (ep->activation) {
    case UNIRT_ACT_RELU: return _mm512_max_ps(v, _mm512_setzero_ps());
    case UNIRT_ACT_PRELU:
    case UNIRT_ACT_LEAKY_RELU: {
        const float s = ep->activation == UNIRT_ACT_PRELU ? ep->slope[c] : ep->alpha;
        __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        return _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(s));
    }
    case UNIRT_ACT_NONE: return v;
    default: {
        /* Sigmoid, clip, hard sigmoid: the AVX2 code on both halves. */
        __m256 lo = unirt_act256(ep, c, _mm512_castps512_ps256(v));
        __m256 hi = unirt_act256(ep, c, _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(lo)), _mm256_castps_pd(hi), 1));
    }
    }
}

/* Writes 16 accumulator columns [j, j + cnt) of row m. */
VNNI_INLINE void emit(const sink *s, size_t m, size_t j, size_t cnt, __m512i acc) {
    const __mmask16 mask = cnt >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << cnt) - 1);
    if (s->kind == OUT_S32) {
        _mm512_mask_storeu_epi32(s->ys + m * s->ldy + j, mask, acc);
        return;
    }
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(s->row_scale[m]));
    const unirt_epilogue *ep = s->ep;
    if (ep) {
        const float *r = ep->residual ? ep->residual + m * s->ldy + j : NULL;
        __m512 rv = r ? _mm512_maskz_loadu_ps(mask, r) : _mm512_setzero_ps();
        if (ep->bias) v = _mm512_add_ps(v, _mm512_set1_ps(ep->bias[m]));
        if (r && !ep->residual_after_activation) v = _mm512_add_ps(v, rv);
        v = act512(ep, m, v);
        if (r && ep->residual_after_activation) v = _mm512_add_ps(v, rv);
    }
    if (s->kind == OUT_F32) {
        _mm512_mask_storeu_ps(s->yf + m * s->ldy + j, mask, v);
        return;
    }
    const float zf = (float)s->out_zp;
    __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(v, _mm512_set1_ps(s->out_scale)), _mm512_set1_ps(-zf)),
                             _mm512_set1_ps(255.0f - zf));
    __m512i i = _mm512_add_epi32(_mm512_cvtps_epi32(q), _mm512_set1_epi32(s->out_zp));
    _mm_mask_storeu_epi8(s->yq + m * s->ldy + j, mask, _mm512_cvtepi32_epi8(i));
}

VNNI_INLINE void run_panel(const uint8_t *pw, size_t block_bytes, const uint8_t *panel, size_t kq,
                           size_t mb, size_t me, size_t j0, size_t cols, int nv, const sink *s) {
    for (size_t m0 = mb; m0 < me; m0 += MR) {
        __m512i acc[MR][3];
        tile(pw + (m0 / MR) * block_bytes, panel, kq, nv, acc);
        for (int r = 0; r < MR && m0 + (size_t)r < me; r++)
            for (int v = 0; v < nv && (size_t)v * 16 < cols; v++) {
                size_t cnt = cols - (size_t)v * 16;
                emit(s, m0 + r, j0 + (size_t)v * 16, cnt > 16 ? 16 : cnt, acc[r][v]);
            }
    }
}

VNNI static void drive(const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n,
                       const sink *s) {
    const size_t kq = unirt_gemm_kquads(k), np = unirt_gemm_round16(n), bb = unirt_gemm_q_block_bytes(k);
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t w = unirt_gemm_q_width(np, j0);
        const size_t cols = n - j0 < w ? n - j0 : w;
        const uint8_t *panel = (const uint8_t *)px + j0 * kq * 4;
        switch (w) {
        case 48: run_panel((const uint8_t *)pw, bb, panel, kq, mb, me, j0, cols, 3, s); break;
        case 32: run_panel((const uint8_t *)pw, bb, panel, kq, mb, me, j0, cols, 2, s); break;
        default: run_panel((const uint8_t *)pw, bb, panel, kq, mb, me, j0, cols, 1, s); break;
        }
    }
}

VNNI void unirt_gemm_u8s8q_compute_s32_vnni(const void *pw, const void *px, size_t mb, size_t me,
                                            size_t k, size_t n, int32_t *y, size_t ldy) {
    sink s = {.kind = OUT_S32, .ys = y, .ldy = ldy};
    drive(pw, px, mb, me, k, n, &s);
}

VNNI void unirt_gemm_u8s8q_compute_f32_vnni(const void *pw, const void *px, size_t mb, size_t me,
                                            size_t k, size_t n, const float *row_scale,
                                            const unirt_epilogue *ep, float *y, size_t ldy) {
    sink s = {.kind = OUT_F32, .yf = y, .ldy = ldy, .row_scale = row_scale, .ep = ep};
    drive(pw, px, mb, me, k, n, &s);
}

VNNI void unirt_gemm_u8s8q_compute_u8_vnni(const void *pw, const void *px, size_t mb, size_t me,
                                           size_t k, size_t n, const float *row_scale,
                                           const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                                           uint8_t *y, size_t ldy) {
    sink s = {.kind = OUT_U8, .yq = y, .ldy = ldy, .row_scale = row_scale, .ep = ep,
              .out_scale = out_scale, .out_zp = out_zp};
    drive(pw, px, mb, me, k, n, &s);
}
