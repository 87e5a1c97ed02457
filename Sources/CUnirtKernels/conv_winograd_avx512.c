/* Winograd F(2x2, 3x3) convolution (stride 1, dilation 1, group 1), AVX-512F,
 * and what the AVX2 form (conv_winograd_avx2.c) shares with it: weight
 * packing, the supported() rule, blocks and scratch, the ISA dispatch.
 *
 * Each 2x2 output tile comes from a 4x4 input patch d: V = B^T d B, then for
 * each of the 16 positions xi of the 4x4 transformed tile one GEMM over the
 * channels, M_xi = U_xi . V_xi with U = G g G^T the transformed filters, then
 * Y = A^T M A. 16 multiplies per tile and channel pair instead of 36 (2.25x
 * fewer), the rest additions. Tiles are processed in blocks of tile rows so
 * that V and M (16 x channels x tiles) stay in L2; the transforms run on 16
 * tiles per vector (stride-2 columns deinterleaved from two loads, padding by
 * zero-masked loads) and the GEMMs on the convolution GEMM microkernel.
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 */
#include "conv_gemm_internal.h"
#include <immintrin.h>

enum { XI = 16, TILE_VEC = 16, BLOCK_TILES = 512 };

size_t unirt_winograd_tiles_w_padded(const unirt_conv2d_geometry *g) {
    const size_t tw = (g->out_w + 1) / 2;
    return (tw + TILE_VEC - 1) / TILE_VEC * TILE_VEC;
}

size_t unirt_winograd_tile_rows(const unirt_conv2d_geometry *g) { return (g->out_h + 1) / 2; }

size_t unirt_winograd_block_rows(const unirt_conv2d_geometry *g) {
    const size_t r = BLOCK_TILES / unirt_winograd_tiles_w_padded(g);
    return r ? r : 1;
}

size_t unirt_winograd_packed_floats(size_t out_channels, size_t in_channels) {
    return XI * unirt_conv_gemm_packed_floats(out_channels, in_channels);
}

void unirt_winograd_pack_weights(const float *w, size_t out_channels, size_t in_channels, float *packed) {
    const size_t per = unirt_conv_gemm_packed_floats(out_channels, in_channels);
    const size_t MR = UNIRT_CONV_GEMM_MR, blocks = (out_channels + MR - 1) / MR;
    /* U[xi] = (G g G^T)[r][q] for xi = 4r + q, as an M x C matrix laid out
     * like unirt_conv_gemm_pack_weights: [row block][c][row in block]. */
    for (size_t xi = 0; xi < XI; xi++) {
        const size_t r = xi / 4, q = xi % 4;
        float *u = packed + xi * per;
        for (size_t b = 0; b < blocks; b++)
            for (size_t c = 0; c < in_channels; c++)
                for (size_t i = 0; i < MR; i++) {
                    const size_t m = b * MR + i;
                    float v = 0.0f;
                    if (m < out_channels) {
                        const float *g = w + (m * in_channels + c) * 9;
                        float gg[3]; /* (G g)[r][k] */
                        for (int k = 0; k < 3; k++) {
                            const float a = g[k], e = g[3 + k], f = g[6 + k];
                            gg[k] = r == 0 ? a : r == 1 ? 0.5f * (a + e + f) : r == 2 ? 0.5f * (a - e + f) : f;
                        }
                        v = q == 0 ? gg[0] : q == 1 ? 0.5f * (gg[0] + gg[1] + gg[2])
                          : q == 2 ? 0.5f * (gg[0] - gg[1] + gg[2]) : gg[2];
                    }
                    u[(b * in_channels + c) * MR + i] = v;
                }
    }
}

int32_t unirt_winograd_supported(const unirt_conv2d_geometry *g, size_t in_channels, size_t out_channels,
                                 size_t group) {
    if (unirt_conv_gemm_isa_level() < 1) return 0;
    return group == 1 && g->kernel_h == 3 && g->kernel_w == 3 && g->stride_h == 1 && g->stride_w == 1 &&
           g->dilation_h == 1 && g->dilation_w == 1 && in_channels >= 16 && out_channels >= 16 &&
           in_channels * out_channels <= 16384 && g->out_h >= 8 && g->out_w >= 8;
}

size_t unirt_winograd_scratch_floats(const unirt_conv2d_geometry *g, size_t in_channels, size_t out_channels) {
    const size_t nb = unirt_winograd_block_rows(g) * unirt_winograd_tiles_w_padded(g);
    return XI * ((in_channels + out_channels) * nb + 2 * UNIRT_WINOGRAD_PLANE_PAD);
}


static UNIRT_AVX512 void winograd_compute_avx512(const float *x, size_t in_channels, const float *packed,
                                                 size_t out_channels, const unirt_conv2d_geometry *g,
                                                 const unirt_epilogue *ep, float *y, size_t tile_row_begin,
                                                 size_t tile_row_end, float *scratch) {
    const size_t C = in_channels, M = out_channels, H = g->in_h, W = g->in_w;
    const size_t OH = g->out_h, OW = g->out_w, TWp = unirt_winograd_tiles_w_padded(g),
                 R = unirt_winograd_block_rows(g);
    const size_t per = unirt_conv_gemm_packed_floats(M, C);
    const ptrdiff_t pt = (ptrdiff_t)g->pad_top, pl = (ptrdiff_t)g->pad_left;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512i inter_lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i inter_hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const int relu = ep && ep->activation == UNIRT_ACT_RELU;
    const __m512 zero = _mm512_setzero_ps();
    if (tile_row_end > unirt_winograd_tile_rows(g)) tile_row_end = unirt_winograd_tile_rows(g);

    for (size_t ty0 = tile_row_begin; ty0 < tile_row_end; ty0 += R) {
        const size_t ty1 = ty0 + R < tile_row_end ? ty0 + R : tile_row_end;
        const size_t nb = (ty1 - ty0) * TWp;
        /* Each transformed plane starts a cache line after the previous one ends, so the 16
         * planes do not fall in the same L1 sets. */
        const size_t sv = C * nb + UNIRT_WINOGRAD_PLANE_PAD, sm = M * nb + UNIRT_WINOGRAD_PLANE_PAD;
        float *V = scratch, *Mo = scratch + XI * sv;

        /* Input transform: V[xi][c][tile]. */
        for (size_t c = 0; c < C; c++) {
            const float *xc = x + c * H * W;
            for (size_t ty = ty0; ty < ty1; ty++)
                for (size_t tx0 = 0; tx0 < TWp; tx0 += TILE_VEC) {
                    const ptrdiff_t base = (ptrdiff_t)(2 * tx0) - pl;
                    const uint32_t ma = unirt_row_lanes(base, W, 32), mb = unirt_row_lanes(base + 2, W, 32);
                    __m512 d[4][4];
                    for (int i = 0; i < 4; i++) {
                        const ptrdiff_t iy = (ptrdiff_t)(2 * ty) - pt + i;
                        if (iy < 0 || iy >= (ptrdiff_t)H) {
                            d[i][0] = d[i][1] = d[i][2] = d[i][3] = zero;
                            continue;
                        }
                        const float *row = xc + (size_t)iy * W;
                        const __m512 a0 = _mm512_maskz_loadu_ps((__mmask16)ma, row + base);
                        const __m512 a1 = _mm512_maskz_loadu_ps((__mmask16)(ma >> 16), row + base + 16);
                        const __m512 b0 = _mm512_maskz_loadu_ps((__mmask16)mb, row + base + 2);
                        const __m512 b1 = _mm512_maskz_loadu_ps((__mmask16)(mb >> 16), row + base + 18);
                        d[i][0] = _mm512_permutex2var_ps(a0, even, a1);
                        d[i][1] = _mm512_permutex2var_ps(a0, odd, a1);
                        d[i][2] = _mm512_permutex2var_ps(b0, even, b1);
                        d[i][3] = _mm512_permutex2var_ps(b0, odd, b1);
                    }
                    __m512 t[4][4];
                    for (int j = 0; j < 4; j++) {
                        t[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
                        t[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
                        t[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
                        t[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
                    }
                    float *dst = V + c * nb + (ty - ty0) * TWp + tx0;
                    for (int r = 0; r < 4; r++) {
                        _mm512_storeu_ps(dst + (size_t)(r * 4 + 0) * sv, _mm512_sub_ps(t[r][0], t[r][2]));
                        _mm512_storeu_ps(dst + (size_t)(r * 4 + 1) * sv, _mm512_add_ps(t[r][1], t[r][2]));
                        _mm512_storeu_ps(dst + (size_t)(r * 4 + 2) * sv, _mm512_sub_ps(t[r][2], t[r][1]));
                        _mm512_storeu_ps(dst + (size_t)(r * 4 + 3) * sv, _mm512_sub_ps(t[r][1], t[r][3]));
                    }
                }
        }

        /* One GEMM per xi: Mo[xi] (M x nb) = U[xi] (M x C) . V[xi] (C x nb). */
        for (size_t xi = 0; xi < XI; xi++)
            unirt_conv_gemm_multiply(packed + xi * per, M, C, V + xi * sv, nb, nb, NULL, 0, Mo + xi * sm, nb);

        /* Output transform, bias and ReLU, 16 tiles at a time. */
        for (size_t m = 0; m < M; m++) {
            const __m512 bias = _mm512_set1_ps(ep && ep->bias ? ep->bias[m] : 0.0f);
            float *ym = y + m * OH * OW;
            for (size_t ty = ty0; ty < ty1; ty++)
                for (size_t tx0 = 0; tx0 < TWp; tx0 += TILE_VEC) {
                    const float *src = Mo + m * nb + (ty - ty0) * TWp + tx0;
                    __m512 s[2][4];
                    for (int q = 0; q < 4; q++) {
                        const __m512 m0 = _mm512_loadu_ps(src + (size_t)(0 * 4 + q) * sm);
                        const __m512 m1 = _mm512_loadu_ps(src + (size_t)(1 * 4 + q) * sm);
                        const __m512 m2 = _mm512_loadu_ps(src + (size_t)(2 * 4 + q) * sm);
                        const __m512 m3 = _mm512_loadu_ps(src + (size_t)(3 * 4 + q) * sm);
                        s[0][q] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
                        s[1][q] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
                    }
                    for (int r = 0; r < 2; r++) {
                        const size_t oy = 2 * ty + (size_t)r;
                        if (oy >= OH) break;
                        __m512 y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s[r][0], s[r][1]), s[r][2]), bias);
                        __m512 y1 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s[r][1], s[r][2]), s[r][3]), bias);
                        if (relu) {
                            y0 = _mm512_max_ps(y0, zero);
                            y1 = _mm512_max_ps(y1, zero);
                        }
                        const ptrdiff_t col = (ptrdiff_t)(2 * tx0);
                        const uint32_t mk = unirt_lane_range(0, (ptrdiff_t)OW - col);
                        float *dst = ym + oy * OW + (size_t)col;
                        _mm512_mask_storeu_ps(dst, (__mmask16)mk, _mm512_permutex2var_ps(y0, inter_lo, y1));
                        _mm512_mask_storeu_ps(dst + 16, (__mmask16)(mk >> 16), _mm512_permutex2var_ps(y0, inter_hi, y1));
                    }
                }
        }
    }
}

void unirt_winograd_compute(const float *x, size_t in_channels, const float *packed, size_t out_channels,
                            const unirt_conv2d_geometry *g, const unirt_epilogue *ep, float *y,
                            size_t tile_row_begin, size_t tile_row_end, float *scratch) {
    if (unirt_conv_gemm_isa_level() >= 2)
        winograd_compute_avx512(x, in_channels, packed, out_channels, g, ep, y, tile_row_begin, tile_row_end, scratch);
    else
        unirt_winograd_compute_avx2(x, in_channels, packed, out_channels, g, ep, y, tile_row_begin, tile_row_end,
                                    scratch);
}
