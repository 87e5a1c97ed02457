/* Direct 3x3 convolution for few input channels (an image's first layer),
 * AVX2/FMA: the form of conv_smallc_avx512.c for 16 ymm registers. Each step
 * makes 8 output columns of 8 output channels in 8 accumulators (the packed
 * 16-channel blocks taken in two halves); every input vector (one channel,
 * one kernel tap, 8 columns; stride-2 columns deinterleaved from two loads)
 * is multiplied by 8 weights that the FMA broadcasts from memory. Padding
 * columns come from masked loads in the chunks that reach past a row's ends,
 * plain loads elsewhere. */
#include "conv_gemm_internal.h"
#include "simd_avx2.h"

enum { BLOCK = 16, HALF = 8 };

/* Lanes of eight floats from column start that lie inside a row of w. */
UNIRT_AVX2_INLINE __m256i smallc_mask8(ptrdiff_t start, size_t w) {
    const __m256i col = _mm256_add_epi32(_mm256_set1_epi32((int)start), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_and_si256(_mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)w), col));
}

/* Eight floats from column st of row (masked: zero outside [0, w)). */
UNIRT_AVX2_INLINE __m256 smallc_load8(const float *row, ptrdiff_t st, size_t w, int masked) {
    return masked ? _mm256_maskload_ps(row + st, smallc_mask8(st, w)) : _mm256_loadu_ps(row + st);
}

/* Even (odd = 0) or odd lanes of the 16 floats from column st, in the
 * order 0 1 4 5 2 3 6 7 (of the eight outputs): the accumulators are put
 * back in order once, before the store, not every input vector. */
UNIRT_AVX2_INLINE __m256 smallc_load_strided2(const float *row, ptrdiff_t st, size_t w, int masked, int odd) {
    const __m256 a = smallc_load8(row, st, w, masked), b = smallc_load8(row, st + 8, w, masked);
    return odd ? _mm256_shuffle_ps(a, b, 0xDD) : _mm256_shuffle_ps(a, b, 0x88);
}

/* Eight columns from ox of output row oy, channels m0 .. m0+7 (wb: their
 * packed weights, BLOCK apart per tap). */
static inline __attribute__((always_inline)) UNIRT_AVX2 void
smallc_step(const int masked, const size_t s, const float *x, size_t in_channels, const float *wb, size_t m0, size_t rows_here,
            const unirt_conv2d_geometry *g, int simple, int relu, const unirt_epilogue *ep, float *y, size_t oy,
            size_t ox, size_t n) {
    const size_t W = g->in_w, H = g->in_h, plane = g->out_h * g->out_w;
    const ptrdiff_t base = (ptrdiff_t)(ox * s) - (ptrdiff_t)g->pad_left;
    __m256 acc[HALF];
    for (int r = 0; r < HALF; r++) acc[r] = _mm256_setzero_ps();
    for (size_t c = 0; c < in_channels; c++) {
        for (int ky = 0; ky < 3; ky++) {
            const ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h) - (ptrdiff_t)g->pad_top + ky;
            if (iy < 0 || iy >= (ptrdiff_t)H) continue;
            const float *row = x + (c * H + (size_t)iy) * W;
            __m256 v[3];
            if (s == 1) {
                for (int kx = 0; kx < 3; kx++) v[kx] = smallc_load8(row, base + kx, W, masked);
            } else {
                v[0] = smallc_load_strided2(row, base, W, masked, 0);
                v[1] = smallc_load_strided2(row, base, W, masked, 1);
                v[2] = smallc_load_strided2(row, base + 2, W, masked, 0);
            }
            const float *wt = wb + (c * 9 + (size_t)ky * 3) * BLOCK;
            for (int kx = 0; kx < 3; kx++, wt += BLOCK)
                for (int r = 0; r < HALF; r++) acc[r] = _mm256_fmadd_ps(v[kx], _mm256_broadcast_ss(wt + r), acc[r]);
        }
    }
    const __m256i store = unirt_mask8(n);
    /* Constant indices only, so the accumulators stay in registers. */
#define STORE_ROW(r)                                                                          \
    if ((r) < rows_here) {                                                                    \
        const size_t m = m0 + (r);                                                            \
        __m256 v = acc[r];                                                                    \
        if (s == 2) v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), 0xD8));  \
        if (simple && ep && ep->bias) v = _mm256_add_ps(v, _mm256_set1_ps(ep->bias[m]));      \
        if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());                                  \
        float *dst = y + m * plane + oy * g->out_w + ox;                                      \
        if (n == 8) _mm256_storeu_ps(dst, v);                                                 \
        else _mm256_maskstore_ps(dst, store, v);                                              \
    }
    STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5) STORE_ROW(6) STORE_ROW(7)
#undef STORE_ROW
}

UNIRT_AVX2 void unirt_conv_smallc_compute_avx2(const float *x, size_t in_channels, const float *packed,
                                               size_t out_channels, const unirt_conv2d_geometry *g,
                                               const unirt_epilogue *ep, float *y, size_t row_begin,
                                               size_t row_end) {
    const size_t s = g->stride_w, W = g->in_w;
    const size_t blocks = (out_channels + BLOCK - 1) / BLOCK, taps = in_channels * 9;
    const int simple = !ep || (!ep->residual && (ep->activation == UNIRT_ACT_NONE || ep->activation == UNIRT_ACT_RELU));
    const int relu = simple && ep && ep->activation == UNIRT_ACT_RELU;
    const ptrdiff_t pl = (ptrdiff_t)g->pad_left, reach = s == 1 ? 10 : 18; /* floats 8 outputs read */
    for (size_t oy = row_begin; oy < row_end; oy++) {
        for (size_t b = 0; b < blocks; b++) {
            for (size_t h = 0; h < 2; h++) {
                const size_t m0 = b * BLOCK + h * HALF;
                if (m0 >= out_channels) break;
                const size_t rows_here = out_channels - m0 < HALF ? out_channels - m0 : HALF;
                const float *wb = packed + b * taps * BLOCK + h * HALF;
                for (size_t ox = 0; ox < g->out_w; ox += 8) {
                    const size_t n = g->out_w - ox < 8 ? g->out_w - ox : 8;
                    const ptrdiff_t base = (ptrdiff_t)(ox * s) - pl;
                    const int inside = base >= 0 && base + reach <= (ptrdiff_t)W;
#define STEP(masked, stride) smallc_step(masked, stride, x, in_channels, wb, m0, rows_here, g, simple, relu, ep, y, oy, ox, n)
                    if (s == 1) {
                        if (inside) STEP(0, 1);
                        else STEP(1, 1);
                    } else {
                        if (inside) STEP(0, 2);
                        else STEP(1, 2);
                    }
#undef STEP
                }
            }
        }
        if (!simple) {
            void (*ep_row)(const unirt_epilogue *, size_t, float *, const float *, size_t) = unirt_epilogue_row_avx2;
            for (size_t m = 0; m < out_channels; m++) {
                const size_t off = m * g->out_h * g->out_w + oy * g->out_w;
                ep_row(ep, m, y + off, ep->residual ? ep->residual + off : NULL, g->out_w);
            }
        }
    }
}
