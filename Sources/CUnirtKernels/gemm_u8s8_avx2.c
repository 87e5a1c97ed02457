/* AVX2 u8 x s8 GEMM on int16-widened packed operands (see unirt_kernels.h
 * for why VPMADDWD rather than VPMADDUBSW). The register tile is 6 rows x
 * 16 columns: 12 int32 accumulators, 2 X vectors, one weight-pair broadcast
 * and one product temporary fill the 16 ymm registers exactly (a 4 x 24 tile
 * needs a 17th and spills every step). Panels of X (K/2 x 16 x 2 int16) are walked in the
 * outer loop so each stays in L1 while all row blocks of W stream past it.
 * The epilogue runs on the accumulators while they are in registers. */
#include "simd_avx2.h"
#include <string.h>

enum { MR = UNIRT_GEMM_U8S8_MR, NR = UNIRT_GEMM_NR };

/* acc[r][v] = sum over pairs of W rows r x X panel vectors v (nv of them). */
UNIRT_AVX2_INLINE void tile(const int16_t *wb, const int16_t *xp, size_t kp, int nv, __m256i acc[MR][2]) {
    for (int r = 0; r < MR; r++)
        for (int v = 0; v < 2; v++) acc[r][v] = _mm256_setzero_si256();
    const size_t step = (size_t)nv * 16;
    for (size_t p = 0; p < kp; p++, xp += step, wb += MR * 2) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)xp);
        __m256i x1 = nv > 1 ? _mm256_loadu_si256((const __m256i *)(xp + 16)) : x0;
        for (int r = 0; r < MR; r++) {
            int32_t pair;
            memcpy(&pair, wb + r * 2, 4);
            __m256i w = _mm256_set1_epi32(pair);
            acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(x0, w));
            if (nv > 1) acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(x1, w));
        }
    }
}

UNIRT_AVX2_INLINE void run_panel(const int16_t *pw, const int16_t *panel, size_t kp, size_t mb,
                                 size_t me, size_t j0, size_t cols, int nv, const unirt_gemm_sink *s) {
    for (size_t m0 = mb; m0 < me; m0 += MR) {
        __m256i acc[MR][2];
        tile(pw + (m0 / MR) * kp * MR * 2, panel, kp, nv, acc);
        for (int r = 0; r < MR && m0 + (size_t)r < me; r++)
            for (int v = 0; v < nv && (size_t)v * 8 < cols; v++) {
                size_t cnt = cols - (size_t)v * 8;
                unirt_gemm_emit8(s, m0 + r, j0 + (size_t)v * 8, cnt > 8 ? 8 : cnt, acc[r][v]);
            }
    }
}

UNIRT_AVX2 static void drive(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                             size_t n, const unirt_gemm_sink *s) {
    const size_t kp = unirt_gemm_kpairs(k), np = unirt_gemm_round8(n);
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t width = np - j0 < NR ? np - j0 : NR;
        const size_t cols = n - j0 < width ? n - j0 : width;
        const int16_t *panel = (const int16_t *)px + j0 * kp * 2;
        switch (width) {
        case 16: run_panel((const int16_t *)pw, panel, kp, mb, me, j0, cols, 2, s); break;
        default: run_panel((const int16_t *)pw, panel, kp, mb, me, j0, cols, 1, s); break;
        }
    }
}

UNIRT_AVX2 void unirt_gemm_u8s8_compute_s32_avx2(const void *pw, const void *px, size_t mb,
                                                 size_t me, size_t k, size_t n, int32_t *y,
                                                 size_t ldy) {
    unirt_gemm_sink s = {.kind = UNIRT_OUT_S32, .ys = y, .ldy = ldy};
    drive(pw, px, mb, me, k, n, &s);
}

UNIRT_AVX2 void unirt_gemm_u8s8_compute_f32_avx2(const void *pw, const void *px, size_t mb,
                                                 size_t me, size_t k, size_t n,
                                                 const float *row_scale, const unirt_epilogue *ep,
                                                 float *y, size_t ldy) {
    unirt_gemm_sink s = {.kind = UNIRT_OUT_F32, .yf = y, .ldy = ldy, .row_scale = row_scale, .ep = ep};
    drive(pw, px, mb, me, k, n, &s);
}

UNIRT_AVX2 void unirt_gemm_u8s8_compute_u8_avx2(const void *pw, const void *px, size_t mb,
                                                size_t me, size_t k, size_t n,
                                                const float *row_scale, const unirt_epilogue *ep,
                                                float out_scale, int32_t out_zp, uint8_t *y,
                                                size_t ldy) {
    unirt_gemm_sink s = {.kind = UNIRT_OUT_U8, .yq = y, .ldy = ldy, .row_scale = row_scale, .ep = ep,
              .out_scale = out_scale, .out_zp = out_zp};
    drive(pw, px, mb, me, k, n, &s);
}

/* unirt_gemm_u8s8_pack_x_f32 for a 1x1 convolution's float input: each pair of rows is
 * quantized (the same division, clamp and round-half-even as unirt_quantize_u8, minus
 * the zero point) and interleaved into int16 pairs in one pass, 8 columns per step. */
UNIRT_AVX2 void unirt_gemm_u8s8_pack_x_f32_avx2(const float *x, size_t ld, size_t k, size_t n, float scale,
                                                void *packed) {
    const size_t kp = unirt_gemm_kpairs(k), np = unirt_gemm_round8(n);
    const __m256 sv = _mm256_set1_ps(scale), lo = _mm256_set1_ps(-128.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i low16 = _mm256_set1_epi32(0xFFFF);
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t w = np - j0 < NR ? np - j0 : NR;
        int16_t *panel = (int16_t *)packed + j0 * kp * 2;
        for (size_t p = 0; p < kp; p++) {
            int16_t *dst = panel + p * w * 2;
            const float *r0 = x + 2 * p * ld, *r1 = r0 + ld;
            const int has1 = 2 * p + 1 < k;
            for (size_t q = 0; q < w; q += 8) {
                const size_t j = j0 + q;
                if (j + 8 <= n) {
                    const __m256 a = _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(_mm256_loadu_ps(r0 + j), sv), lo), hi);
                    __m256i qa = _mm256_and_si256(_mm256_cvtps_epi32(a), low16);
                    if (has1) {
                        const __m256 b = _mm256_min_ps(_mm256_max_ps(_mm256_div_ps(_mm256_loadu_ps(r1 + j), sv), lo), hi);
                        qa = _mm256_or_si256(qa, _mm256_slli_epi32(_mm256_cvtps_epi32(b), 16));
                    }
                    _mm256_storeu_si256((__m256i *)(dst + 2 * q), qa);
                } else {
                    for (size_t c = q; c < q + 8; c++) {
                        const size_t jc = j0 + c;
                        dst[2 * c] = jc < n ? (int16_t)(unirt_quant_u8_scalar(r0[jc], scale, 128) - 128) : 0;
                        dst[2 * c + 1] = jc < n && has1 ? (int16_t)(unirt_quant_u8_scalar(r1[jc], scale, 128) - 128) : 0;
                    }
                }
            }
        }
    }
}
