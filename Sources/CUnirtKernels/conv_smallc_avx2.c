/* Direct 3x3 convolution for few input channels (an image's first layer),
 * AVX2/FMA: the form of conv_smallc_avx512.c for 16 ymm registers.
 *
 * The input columns an output row reads are first laid out, a chunk of
 * output columns at a time, as zero-padded rows in a small buffer (stride 2:
 * split into even and odd columns), so that every tap of every step is one
 * plain load: no masks, no shuffles in the multiply loop. A step then makes
 * 6 output channels x 16 output columns in 12 accumulators (enough
 * independent chains to keep both FMA pipes busy at a latency of 4, and 15
 * of the 16 registers): per kernel tap, 2 input vectors and 6 weights
 * broadcast from the packed 16-channel blocks (taken as 6 + 6 + 4) feed 12
 * FMAs. Column groups are the outer loop, so each group's few input vectors
 * stay in L1 for the channel steps. */
#include "conv_gemm_internal.h"
#include "simd_avx2.h"

enum {
    BLOCK = 16,      /* channels per packed weight block (unirt_conv_smallc_pack_weights) */
    ROWS = 6,        /* output channels per step (at most) */
    CHUNK = 96,      /* output columns laid out at a time */
    LANES = CHUNK + 8,
};

/* The columns of one input row that output columns [ox0, ox0 + n) read, as
 * zero-padded rows: stride 1, p[j] = row[base + j] for j < n + 8 (rounded up to
 * whole vectors); stride 2, even[j] = row[base + 2j], odd[j] = row[base + 2j + 1]. */
static inline __attribute__((always_inline)) UNIRT_AVX2 void smallc_layout(const float *row, size_t w, ptrdiff_t base,
                                                                          size_t n, size_t s, float *even, float *odd) {
    const size_t vecs = (n + 7) / 8 + 1;
    for (size_t v = 0; v < vecs; v++) {
        const ptrdiff_t col = base + (ptrdiff_t)(v * 8 * s);
        if (s == 1) {
            if (col >= 0 && col + 8 <= (ptrdiff_t)w) {
                _mm256_storeu_ps(even + v * 8, _mm256_loadu_ps(row + col));
            } else {
                for (size_t j = 0; j < 8; j++) {
                    const ptrdiff_t c = col + (ptrdiff_t)j;
                    even[v * 8 + j] = c >= 0 && c < (ptrdiff_t)w ? row[c] : 0.0f;
                }
            }
        } else if (col >= 0 && col + 16 <= (ptrdiff_t)w) {
            const __m256 a = _mm256_loadu_ps(row + col), b = _mm256_loadu_ps(row + col + 8);
            /* shuffle_ps works per 128-bit lane: columns come out 0 2 8 10 4 6 12 14. */
            const __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
            _mm256_storeu_ps(even + v * 8, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8)));
            _mm256_storeu_ps(odd + v * 8, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8)));
        } else {
            for (size_t j = 0; j < 8; j++) {
                const ptrdiff_t c = col + (ptrdiff_t)(2 * j);
                even[v * 8 + j] = c >= 0 && c < (ptrdiff_t)w ? row[c] : 0.0f;
                odd[v * 8 + j] = c + 1 >= 0 && c + 1 < (ptrdiff_t)w ? row[c + 1] : 0.0f;
            }
        }
    }
}

/* G groups of 8 columns from column j of the laid-out rows, channels m0 ..
 * m0 + 3 (wq: their packed weights, BLOCK apart per tap); n of the columns
 * are stored at out (row of channel m0; plane apart per channel). */
static inline __attribute__((always_inline)) UNIRT_AVX2 void
smallc_step(const int R, const int G, const size_t s, const float *const even[], const float *const odd[], const int valid[],
            size_t in_channels, const float *wq, size_t j, size_t rows_here, const float *bias, int relu,
            float *out, size_t plane, size_t n) {
    __m256 acc[ROWS][2];
    for (int r = 0; r < R; r++)
        for (int q = 0; q < G; q++) acc[r][q] = _mm256_setzero_ps();
    for (size_t c = 0; c < in_channels; c++) {
        for (int ky = 0; ky < 3; ky++) {
            const size_t i = c * 3 + (size_t)ky;
            if (!valid[i]) continue;
            const float *wt = wq + i * 3 * BLOCK;
            for (int kx = 0; kx < 3; kx++, wt += BLOCK) {
                /* Stride 1: tap kx is column j + kx. Stride 2: taps 0, 1, 2 are
                 * even[j], odd[j], even[j + 1]. */
                const float *src = s == 1 ? even[i] + j + kx : (kx == 1 ? odd[i] + j : even[i] + j + (kx >> 1));
                __m256 v[2];
                for (int q = 0; q < G; q++) v[q] = _mm256_loadu_ps(src + q * 8);
                for (int r = 0; r < R; r++) {
                    const __m256 wr = _mm256_broadcast_ss(wt + r);
                    for (int q = 0; q < G; q++) acc[r][q] = _mm256_fmadd_ps(v[q], wr, acc[r][q]);
                }
            }
        }
    }
    for (int r = 0; r < R; r++) {
        if ((size_t)r >= rows_here) break;
        const __m256 br = _mm256_set1_ps(bias ? bias[r] : 0.0f);
        for (int q = 0; q < G; q++) {
            __m256 v = bias ? _mm256_add_ps(acc[r][q], br) : acc[r][q];
            if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
            float *dst = out + (size_t)r * plane + (size_t)q * 8;
            const size_t left = n > (size_t)q * 8 ? n - (size_t)q * 8 : 0;
            if (left >= 8) _mm256_storeu_ps(dst, v);
            else if (left > 0) _mm256_maskstore_ps(dst, unirt_mask8(left), v);
        }
    }
}

UNIRT_AVX2 void unirt_conv_smallc_compute_avx2(const float *x, size_t in_channels, const float *packed,
                                               size_t out_channels, const unirt_conv2d_geometry *g,
                                               const unirt_epilogue *ep, float *y, size_t row_begin,
                                               size_t row_end) {
    const size_t s = g->stride_w, W = g->in_w, H = g->in_h, plane = g->out_h * g->out_w;
    const size_t taps = in_channels * 9, rows = in_channels * 3;
    const int simple = !ep || (!ep->residual && (ep->activation == UNIRT_ACT_NONE || ep->activation == UNIRT_ACT_RELU));
    const int relu = simple && ep && ep->activation == UNIRT_ACT_RELU;
    const float *bias = simple && ep ? ep->bias : NULL;
    /* At most 4 channels x 3 rows (unirt_conv_smallc_supported). */
    float buf[12][2][LANES] __attribute__((aligned(32)));
    const float *even[12], *odd[12];
    int valid[12];
    for (size_t i = 0; i < rows; i++) {
        even[i] = buf[i][0];
        odd[i] = buf[i][1];
    }
    for (size_t oy = row_begin; oy < row_end; oy++) {
        for (size_t ox0 = 0; ox0 < g->out_w; ox0 += CHUNK) {
            const size_t nc = g->out_w - ox0 < CHUNK ? g->out_w - ox0 : CHUNK;
            const ptrdiff_t base = (ptrdiff_t)(ox0 * s) - (ptrdiff_t)g->pad_left;
            for (size_t c = 0; c < in_channels; c++)
                for (size_t ky = 0; ky < 3; ky++) {
                    const size_t i = c * 3 + ky;
                    const ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h) - (ptrdiff_t)g->pad_top + (ptrdiff_t)ky;
                    valid[i] = iy >= 0 && iy < (ptrdiff_t)H;
                    if (valid[i]) smallc_layout(x + (c * H + (size_t)iy) * W, W, base, nc, s, buf[i][0], buf[i][1]);
                }
            for (size_t j = 0; j < nc; j += 16) {
                const size_t n = nc - j < 16 ? nc - j : 16;
                /* Each packed block of 16 channels as steps of 6, 6 and 4. */
                for (size_t m0 = 0; m0 < out_channels;) {
                    const size_t in_block = m0 % BLOCK, rows = in_block < 12 ? ROWS : BLOCK - in_block;
                    const size_t rows_here = out_channels - m0 < rows ? out_channels - m0 : rows;
                    const float *wq = packed + (m0 / BLOCK) * taps * BLOCK + in_block;
                    float *out = y + m0 * plane + oy * g->out_w + ox0 + j;
                    const float *bq = bias ? bias + m0 : NULL;
#define STEP(R, G, S) \
    smallc_step(R, G, S, even, odd, valid, in_channels, wq, j, rows_here, bq, relu, out, plane, n)
#define STEPS(S)                                     \
    if (rows == ROWS) {                              \
        if (n > 8) STEP(ROWS, 2, S);                 \
        else STEP(ROWS, 1, S);                       \
    } else {                                         \
        if (n > 8) STEP(BLOCK - 12, 2, S);           \
        else STEP(BLOCK - 12, 1, S);                 \
    }
                    if (s == 1) {
                        STEPS(1)
                    } else {
                        STEPS(2)
                    }
#undef STEPS
#undef STEP
                    m0 += rows;
                }
            }
        }
        if (!simple) {
            void (*ep_row)(const unirt_epilogue *, size_t, float *, const float *, size_t) = unirt_epilogue_row_avx2;
            for (size_t m = 0; m < out_channels; m++) {
                const size_t off = m * plane + oy * g->out_w;
                ep_row(ep, m, y + off, ep->residual ? ep->residual + off : NULL, g->out_w);
            }
        }
    }
}
