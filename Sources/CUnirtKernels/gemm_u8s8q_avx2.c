/* AVX2 INT8 GEMM on the quad layout (unirt_kernels.h section 11), for weights
 * in -64..63 (7-bit, `unirt_gemm_s8_fits7`).
 *
 * Without VNNI, VPMADDUBSW multiplies u8 X by s8 W and adds adjacent products
 * into int16 with saturation; VPMADDWD by ones then adds the two int16 pair sums
 * of each quad into an int32 lane, and VPADDD accumulates. With 7-bit weights a
 * pair sum is at most 2 * 255 * 64 = 32640 in magnitude, so nothing saturates
 * and the result is the exact int32 sum VPDPBUSD gives: three instructions per
 * 32 multiply-adds (the int16-widened pair kernel needs two per 16), about 2x
 * the FP32 FMA rate of the same core. Full-range 8-bit weights would saturate:
 * callers check the weights first and use the pair layout otherwise.
 *
 * Register tile: 4 rows x 16 columns (8 accumulators, 2 X vectors, the weight
 * broadcast, products and the ones vector fit the 16 ymm registers; a 6 x 16
 * tile needs more and spills). The packers here are exact for any data and
 * also serve the VNNI file's im2col path (they are 128-bit work). */
#include "gemm_u8s8q_internal.h"
#include "simd_avx2.h"

enum { MR = UNIRT_GEMM_U8S8Q_MR, NR = UNIRT_GEMM_U8S8Q_NR, ZP = UNIRT_GEMM_U8S8Q_ZP, TR = 4 };

/* ---- packing ---------------------------------------------------------------- */

/* 16 u8 of a row at columns [j, j + cnt), 128 elsewhere (or everywhere when row is NULL). */
UNIRT_AVX2_INLINE __m128i load16_u8(const uint8_t *row, size_t j, size_t cnt) {
    if (row && cnt >= 16) return _mm_loadu_si128((const __m128i *)(row + j));
    uint8_t b[16];
    memset(b, ZP, sizeof b);
    if (row && cnt) memcpy(b, row + j, cnt);
    return _mm_loadu_si128((const __m128i *)b);
}

UNIRT_AVX2 void unirt_gemm_u8s8q_pack_x_avx2(const uint8_t *x, size_t ld, size_t k, size_t n, void *packed) {
    UNIRT_Q_PACK_PANELS(uint8_t, x, ld, k, n, packed, NR, load16_u8);
}

/* 16 floats of a row at columns [j, j + cnt) quantized as unirt_quantize_u8 (zero point 128). */
UNIRT_AVX2_INLINE __m128i quant16_u8(const float *row, size_t j, size_t cnt, __m256 scale) {
    if (!row || cnt == 0) return _mm_set1_epi8((char)ZP);
    float b[16];
    const float *src = row + j;
    if (cnt < 16) {
        memset(b, 0, sizeof b);
        memcpy(b, row + j, cnt * sizeof(float));
        src = b;
    }
    const __m256 lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i zp = _mm256_set1_epi32(ZP);
    const __m128i a = unirt_quant8_u8(_mm256_loadu_ps(src), scale, lo, hi, zp);
    const __m128i c = unirt_quant8_u8(_mm256_loadu_ps(src + 8), scale, lo, hi, zp);
    /* Columns past cnt become 128 (real 0), as the padding of the other packers. */
    __m128i v = _mm_unpacklo_epi64(a, c);
    if (cnt < 16) {
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)t, v);
        memset(t + cnt, ZP, 16 - cnt);
        v = _mm_loadu_si128((const __m128i *)t);
    }
    return v;
}

UNIRT_AVX2 void unirt_gemm_u8s8q_pack_x_f32_avx2(const float *x, size_t ld, size_t k, size_t n, float scale,
                                                 void *packed) {
    const __m256 s = _mm256_set1_ps(scale);
#define QUANT_(row, j, cnt) quant16_u8(row, j, cnt, s)
    UNIRT_Q_PACK_PANELS(float, x, ld, k, n, packed, NR, QUANT_);
#undef QUANT_
}

UNIRT_AVX2 void unirt_gemm_u8s8q_pack_x_conv_avx2(const uint8_t *x, const unirt_conv2d_geometry *g,
                                                  size_t channels, size_t pos_begin, size_t pos_end,
                                                  void *packed) {
    const size_t n = pos_end - pos_begin, kk = g->kernel_h * g->kernel_w, k = channels * kk;
    if (kk == 1 && g->stride_h == 1 && g->stride_w == 1 && g->pad_top == 0 && g->pad_left == 0 &&
        g->in_w == g->out_w && g->in_h == g->out_h) {
        unirt_gemm_u8s8q_pack_x_avx2(x + pos_begin, g->in_h * g->in_w, k, n, packed);
        return;
    }
    const size_t kq = unirt_gemm_kquads(k), np = unirt_gemm_round16(n);
    uint8_t rows[4][NR];
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t w = unirt_gemm_q_width(np, j0), cols = n - j0 < w ? n - j0 : w;
        uint8_t *panel = (uint8_t *)packed + j0 * kq * 4;
        for (size_t q = 0; q < kq; q++) {
            unirt_gemm_q_im2col_quad(x, g, k, q, pos_begin + j0, cols, w, rows);
            for (size_t v = 0; v < w; v += 16)
                unirt_interleave4_u8(_mm_loadu_si128((const __m128i *)(rows[0] + v)),
                                     _mm_loadu_si128((const __m128i *)(rows[1] + v)),
                                     _mm_loadu_si128((const __m128i *)(rows[2] + v)),
                                     _mm_loadu_si128((const __m128i *)(rows[3] + v)), panel + (q * w + v) * 4);
        }
    }
}

/* ---- compute ---------------------------------------------------------------- */

/* acc[r][v] = corrections + sum over quads of rows r0..r0+3 of a W block x X vectors v
 * (8 columns each; nv of the 2). */
UNIRT_AVX2_INLINE void tile(const uint8_t *block, int r0, const uint8_t *xp, size_t kq, size_t w, int nv,
                            __m256i acc[TR][2]) {
    const int32_t *corr = (const int32_t *)block + r0;
    const int32_t *wq = (const int32_t *)(block + MR * 4) + r0;
    for (int r = 0; r < TR; r++) acc[r][0] = acc[r][1] = _mm256_set1_epi32(corr[r]);
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t step = w * 4;
    for (size_t q = 0; q < kq; q++, xp += step, wq += MR) {
        const __m256i x0 = _mm256_loadu_si256((const __m256i *)xp);
        const __m256i x1 = nv > 1 ? _mm256_loadu_si256((const __m256i *)(xp + 32)) : x0;
        for (int r = 0; r < TR; r++) {
            const __m256i wv = _mm256_set1_epi32(wq[r]);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(x0, wv), ones));
            if (nv > 1)
                acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(x1, wv), ones));
        }
    }
}

UNIRT_AVX2 static void drive(const void *pw, const void *px, size_t mb, size_t me, size_t k, size_t n,
                             const unirt_gemm_sink *s) {
    const size_t kq = unirt_gemm_kquads(k), np = unirt_gemm_round16(n), bb = unirt_gemm_q_block_bytes(k);
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t w = unirt_gemm_q_width(np, j0), cols = n - j0 < w ? n - j0 : w;
        const uint8_t *panel = (const uint8_t *)px + j0 * kq * 4;
        for (size_t m0 = mb; m0 < me; m0 += TR) {
            const uint8_t *block = (const uint8_t *)pw + (m0 / MR) * bb;
            const int r0 = (int)(m0 % MR);
            /* 16 columns at a time: 4 bytes per column, so vector v starts 32 * v bytes into a quad row. */
            for (size_t c0 = 0; c0 < w && c0 < cols; c0 += 16) {
                __m256i acc[TR][2];
                const int nv = cols - c0 > 8 ? 2 : 1;
                tile(block, r0, panel + c0 * 4, kq, w, nv, acc);
                for (int r = 0; r < TR && m0 + (size_t)r < me; r++)
                    for (int v = 0; v < nv; v++) {
                        const size_t c = c0 + (size_t)v * 8, cnt = cols - c < 8 ? cols - c : 8;
                        unirt_gemm_emit8(s, m0 + (size_t)r, j0 + c, cnt, acc[r][v]);
                    }
            }
        }
    }
}

UNIRT_AVX2 void unirt_gemm_u8s8q_compute_s32_avx2(const void *pw, const void *px, size_t mb, size_t me,
                                                  size_t k, size_t n, int32_t *y, size_t ldy) {
    unirt_gemm_sink s = {.kind = UNIRT_OUT_S32, .ys = y, .ldy = ldy};
    drive(pw, px, mb, me, k, n, &s);
}

UNIRT_AVX2 void unirt_gemm_u8s8q_compute_f32_avx2(const void *pw, const void *px, size_t mb, size_t me,
                                                  size_t k, size_t n, const float *row_scale,
                                                  const unirt_epilogue *ep, float *y, size_t ldy) {
    unirt_gemm_sink s = {.kind = UNIRT_OUT_F32, .yf = y, .ldy = ldy, .row_scale = row_scale, .ep = ep};
    drive(pw, px, mb, me, k, n, &s);
}

UNIRT_AVX2 void unirt_gemm_u8s8q_compute_u8_avx2(const void *pw, const void *px, size_t mb, size_t me,
                                                 size_t k, size_t n, const float *row_scale,
                                                 const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                                                 uint8_t *y, size_t ldy) {
    unirt_gemm_sink s = {.kind = UNIRT_OUT_U8, .yq = y, .ldy = ldy, .row_scale = row_scale, .ep = ep,
                         .out_scale = out_scale, .out_zp = out_zp};
    drive(pw, px, mb, me, k, n, &s);
}
