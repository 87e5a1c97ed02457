/* Direct 3x3 convolution for few input channels (an image's first layer:
 * 3 -> 16 channels, stride 2), AVX-512F. Each step makes 16 output columns
 * of 16 output channels in 16 zmm accumulators: every input vector (one
 * channel, one kernel tap, 16 columns; stride-2 columns deinterleaved from
 * two loads, padding by zero-masked loads) is multiplied by 16 weights that
 * the FMA broadcasts from memory. No im2col, so the input is read once from
 * memory per output row and the output tile never leaves the registers
 * before bias and ReLU. */
#include "conv_gemm_internal.h"
#include <immintrin.h>

enum { BLOCK = 16 };

size_t unirt_conv_smallc_packed_floats(size_t out_channels, size_t in_channels) {
    return (out_channels + BLOCK - 1) / BLOCK * in_channels * 9 * BLOCK;
}

void unirt_conv_smallc_pack_weights(const float *w, size_t out_channels, size_t in_channels, float *packed) {
    const size_t blocks = (out_channels + BLOCK - 1) / BLOCK, taps = in_channels * 9;
    for (size_t b = 0; b < blocks; b++)
        for (size_t t = 0; t < taps; t++)
            for (size_t r = 0; r < BLOCK; r++) {
                const size_t m = b * BLOCK + r;
                *packed++ = m < out_channels ? w[m * taps + t] : 0.0f;
            }
}

int32_t unirt_conv_smallc_supported(const unirt_conv2d_geometry *g, size_t in_channels, size_t out_channels,
                                    size_t group) {
    /* AVX-512 here, AVX2 in conv_smallc_avx2.c. */
    if (unirt_conv_gemm_isa_level() < 1) return 0;
    return group == 1 && in_channels >= 1 && in_channels <= 4 && out_channels >= 8 && g->kernel_h == 3 &&
           g->kernel_w == 3 && g->dilation_h == 1 && g->dilation_w == 1 && g->stride_h == g->stride_w &&
           (g->stride_w == 1 || g->stride_w == 2);
}


static UNIRT_AVX512 void smallc_compute_avx512(const float *x, size_t in_channels, const float *packed,
                                               size_t out_channels, const unirt_conv2d_geometry *g,
                                               const unirt_epilogue *ep, float *y, size_t row_begin,
                                               size_t row_end) {
    const size_t s = g->stride_w, W = g->in_w, H = g->in_h, plane = g->out_h * g->out_w;
    const ptrdiff_t pl = (ptrdiff_t)g->pad_left, pt = (ptrdiff_t)g->pad_top;
    const size_t blocks = (out_channels + BLOCK - 1) / BLOCK, taps = in_channels * 9;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const int simple = !ep || (!ep->residual && (ep->activation == UNIRT_ACT_NONE || ep->activation == UNIRT_ACT_RELU));
    const int relu = simple && ep && ep->activation == UNIRT_ACT_RELU;
    void (*ep_row)(const unirt_epilogue *, size_t, float *, const float *, size_t) =
        unirt_has_avx2() ? unirt_epilogue_row_avx2 : unirt_epilogue_row_generic;
    for (size_t oy = row_begin; oy < row_end; oy++) {
        /* The input rows the next output row adds (stride_h of them per channel,
         * at most 2 x 4): the 3 x C row streams are more than the hardware
         * prefetcher follows. Found once per row; each 16-column step below
         * prefetches its columns of them. */
        const float *ahead[8];
        size_t n_ahead = 0;
        if (oy + 1 < row_end)
            for (size_t c = 0; c < in_channels; c++)
                for (size_t k = 3 - g->stride_h; k < 3; k++) {
                    const ptrdiff_t iy = (ptrdiff_t)((oy + 1) * g->stride_h) - pt + (ptrdiff_t)k;
                    if (iy >= 0 && iy < (ptrdiff_t)H && n_ahead < 8) ahead[n_ahead++] = x + (c * H + (size_t)iy) * W;
                }
        for (size_t b = 0; b < blocks; b++) {
            const float *wb = packed + b * taps * BLOCK;
            const size_t rows_here = out_channels - b * BLOCK < BLOCK ? out_channels - b * BLOCK : BLOCK;
            for (size_t ox = 0; ox < g->out_w; ox += 16) {
                const size_t n = g->out_w - ox < 16 ? g->out_w - ox : 16;
                __m512 acc[BLOCK];
                for (int r = 0; r < BLOCK; r++) acc[r] = _mm512_setzero_ps();
                const ptrdiff_t base = (ptrdiff_t)(ox * s) - pl;
                /* Prefetches never fault, so the few past a row's end need no test. */
                if (b == 0) {
                    const ptrdiff_t lo = base > 0 ? base : 0;
                    for (size_t a = 0; a < n_ahead; a++) {
                        _mm_prefetch((const char *)(ahead[a] + lo), _MM_HINT_T0);
                        if (s == 2) _mm_prefetch((const char *)(ahead[a] + lo + 16), _MM_HINT_T0);
                    }
                }
                for (size_t c = 0; c < in_channels; c++) {
                    for (int ky = 0; ky < 3; ky++) {
                        const ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h) - pt + ky;
                        if (iy < 0 || iy >= (ptrdiff_t)H) continue;
                        const float *row = x + (c * H + (size_t)iy) * W;
                        __m512 v[3];
                        if (s == 1) {
                            for (int kx = 0; kx < 3; kx++) {
                                const ptrdiff_t st = base + kx;
                                v[kx] = _mm512_maskz_loadu_ps((__mmask16)unirt_row_lanes(st, W, n), row + st);
                            }
                        } else {
                            const uint32_t ma = unirt_row_lanes(base, W, 2 * n), mb = unirt_row_lanes(base + 2, W, 2 * n);
                            const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)ma, row + base);
                            const __m512 a1 = _mm512_maskz_loadu_ps((__mmask16)(ma >> 16), row + base + 16);
                            const __m512 b0 = _mm512_maskz_loadu_ps((__mmask16)mb, row + base + 2);
                            const __m512 b1 = _mm512_maskz_loadu_ps((__mmask16)(mb >> 16), row + base + 18);
                            v[0] = _mm512_permutex2var_ps(a0, even, a1);
                            v[1] = _mm512_permutex2var_ps(a0, odd, a1);
                            v[2] = _mm512_permutex2var_ps(b0, even, b1);
                        }
                        const float *wt = wb + (c * 9 + (size_t)ky * 3) * BLOCK;
                        for (int kx = 0; kx < 3; kx++, wt += BLOCK)
                            for (int r = 0; r < BLOCK; r++) acc[r] = _mm512_fmadd_ps(v[kx], _mm512_set1_ps(wt[r]), acc[r]);
                    }
                }
                const __mmask16 store = (__mmask16)unirt_lane_range(0, (ptrdiff_t)n);
                /* Constant indices only, so the accumulators stay in registers. */
#define STORE_ROW(r)                                                                          \
    if ((r) < rows_here) {                                                                    \
        const size_t m = b * BLOCK + (r);                                                     \
        __m512 v = acc[r];                                                                    \
        if (simple && ep && ep->bias) v = _mm512_add_ps(v, _mm512_set1_ps(ep->bias[m]));      \
        if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());                                  \
        _mm512_mask_storeu_ps(y + m * plane + oy * g->out_w + ox, store, v);                  \
    }
                STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
                STORE_ROW(6) STORE_ROW(7) STORE_ROW(8) STORE_ROW(9) STORE_ROW(10) STORE_ROW(11)
                STORE_ROW(12) STORE_ROW(13) STORE_ROW(14) STORE_ROW(15)
#undef STORE_ROW
            }
            if (!simple)
                for (size_t r = 0; r < rows_here; r++) {
                    const size_t m = b * BLOCK + r, off = m * plane + oy * g->out_w;
                    ep_row(ep, m, y + off, ep->residual ? ep->residual + off : NULL, g->out_w);
                }
        }
    }
}

void unirt_conv_smallc_compute(const float *x, size_t in_channels, const float *packed, size_t out_channels,
                               const unirt_conv2d_geometry *g, const unirt_epilogue *ep, float *y,
                               size_t row_begin, size_t row_end) {
    if (unirt_conv_gemm_isa_level() >= 2)
        smallc_compute_avx512(x, in_channels, packed, out_channels, g, ep, y, row_begin, row_end);
    else
        unirt_conv_smallc_compute_avx2(x, in_channels, packed, out_channels, g, ep, y, row_begin, row_end);
}
