/* Winograd F(2x2, 3x3) convolution, AVX2/FMA: the form of
 * conv_winograd_avx512.c for 8-lane registers, with the same packed weights,
 * scratch size and tile rows padded to 16 tiles (unirt_winograd_tiles_w_padded),
 * so a plan's packing and scratch hold at either ISA level. Blocks are at most
 * BLOCK_TILES tiles (never more tile rows than unirt_winograd_block_rows, which
 * sizes the scratch), and each of the 16 transformed planes of V and M starts
 * UNIRT_WINOGRAD_PLANE_PAD floats after the previous one ends: without it the
 * planes are a multiple of 4 KiB apart, the 16 half-line stores (loads) of a
 * transform step all land in one L1 set, and each line is fetched twice
 * (32 -> 32 channels, 128 x 128: 2.59 ms without, 1.87 with). The 16 GEMMs
 * run on the AVX2 convolution GEMM microkernel.
 *
 * The transforms work on 8 tiles per vector. Stride-2 columns come from two
 * loads by one in-lane shuffle_ps, which leaves the tiles in the order
 * 0 1 4 5 2 3 6 7; the order of the GEMM's columns within a group of 8 does
 * not matter, and in the output transform unpacklo/unpackhi of the two
 * output columns of those tiles give output columns 0..7 and 8..15 in order,
 * so no lane-crossing permute is needed on either side. Loads that reach
 * past a row (padding, the last tiles) are masked; so are stores past the
 * last output column. */
#include "conv_gemm_internal.h"
#include "simd_avx2.h"

/* Blocks of 128 tiles: 32 -> 32 channels on 128 x 128 outputs take 1.73 ms
 * (one thread, AMD EPYC with 1 MiB of L2 a core) against 1.80 with 256 and
 * 1.87 with the AVX-512 kernel's 512. */
enum { XI = 16, VEC = 8, BLOCK_TILES = 128, PAD = UNIRT_WINOGRAD_PLANE_PAD };

/* Lanes [lo, hi) of 8 consecutive floats as a maskload/maskstore mask. */
UNIRT_AVX2_INLINE __m256i lane_mask(ptrdiff_t lo, ptrdiff_t hi) {
    const uint32_t bits = unirt_lane_range(lo, hi < 8 ? hi : 8) & 0xFFu;
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), bit), bit);
}

/* Columns 2j + 0..3 of one input row for the 8 tiles of a group, as
 * d[k][lane] = row[base + 2 * tile + k] with the tiles in shuffle order, then
 * transformed along the row: e = d B (e0 = d0 - d2, e1 = d1 + d2,
 * e2 = d2 - d1, e3 = d1 - d3). masked: base .. base + 17 is not all inside the
 * row, m[0..3]: the lanes of the four loads. */
UNIRT_AVX2_INLINE void row_transform(const float *row, ptrdiff_t base, int masked, const __m256i m[4], __m256 e[4]) {
    __m256 a0, a1, b0, b1;
    if (masked) {
        a0 = _mm256_maskload_ps(row + base, m[0]);
        a1 = _mm256_maskload_ps(row + base + 8, m[1]);
        b0 = _mm256_maskload_ps(row + base + 2, m[2]);
        b1 = _mm256_maskload_ps(row + base + 10, m[3]);
    } else {
        a0 = _mm256_loadu_ps(row + base);
        a1 = _mm256_loadu_ps(row + base + 8);
        b0 = _mm256_loadu_ps(row + base + 2);
        b1 = _mm256_loadu_ps(row + base + 10);
    }
    const __m256 d0 = _mm256_shuffle_ps(a0, a1, 0x88), d1 = _mm256_shuffle_ps(a0, a1, 0xDD);
    const __m256 d2 = _mm256_shuffle_ps(b0, b1, 0x88), d3 = _mm256_shuffle_ps(b0, b1, 0xDD);
    e[0] = _mm256_sub_ps(d0, d2);
    e[1] = _mm256_add_ps(d1, d2);
    e[2] = _mm256_sub_ps(d2, d1);
    e[3] = _mm256_sub_ps(d1, d3);
}

/* V[xi][c][tile] for channel c's tile rows [ty0, ty1): per group of 8 tiles,
 * rows 0..3 of the 4x4 input patch through row_transform, then the column
 * transform B^T (V[0] = E0 - E2, V[1] = E1 + E2, V[2] = E2 - E1,
 * V[3] = E1 - E3), written as soon as each is known to keep few registers live. */
UNIRT_AVX2_INLINE void input_transform(const float *xc, const unirt_conv2d_geometry *g, size_t ty0, size_t ty1,
                                       size_t twp, size_t stride, float *v) {
    const size_t H = g->in_h, W = g->in_w;
    const ptrdiff_t pt = (ptrdiff_t)g->pad_top, pl = (ptrdiff_t)g->pad_left;
    const __m256 zero = _mm256_setzero_ps();
    for (size_t ty = ty0; ty < ty1; ty++) {
        const ptrdiff_t iy0 = (ptrdiff_t)(2 * ty) - pt;
        const float *rows[4];
        for (int i = 0; i < 4; i++) {
            const ptrdiff_t iy = iy0 + i;
            rows[i] = iy >= 0 && iy < (ptrdiff_t)H ? xc + (size_t)iy * W : NULL;
        }
        for (size_t tx0 = 0; tx0 < twp; tx0 += VEC) {
            const ptrdiff_t base = (ptrdiff_t)(2 * tx0) - pl;
            const int masked = base < 0 || base + 18 > (ptrdiff_t)W;
            __m256i m[4];
            if (masked) {
                const ptrdiff_t hi = (ptrdiff_t)W - base;
                m[0] = lane_mask(-base, hi);
                m[1] = lane_mask(-base - 8, hi - 8);
                m[2] = lane_mask(-base - 2, hi - 2);
                m[3] = lane_mask(-base - 10, hi - 10);
            } else {
                m[0] = m[1] = m[2] = m[3] = _mm256_setzero_si256();
            }
            __m256 e1[4], e2[4], e[4];
            if (rows[1]) row_transform(rows[1], base, masked, m, e1);
            else e1[0] = e1[1] = e1[2] = e1[3] = zero;
            if (rows[2]) row_transform(rows[2], base, masked, m, e2);
            else e2[0] = e2[1] = e2[2] = e2[3] = zero;
            float *dst = v + (ty - ty0) * twp + tx0;
            if (rows[0]) row_transform(rows[0], base, masked, m, e);
            else e[0] = e[1] = e[2] = e[3] = zero;
            for (int k = 0; k < 4; k++) _mm256_storeu_ps(dst + (size_t)(0 * 4 + k) * stride, _mm256_sub_ps(e[k], e2[k]));
            if (rows[3]) row_transform(rows[3], base, masked, m, e);
            else e[0] = e[1] = e[2] = e[3] = zero;
            for (int k = 0; k < 4; k++) _mm256_storeu_ps(dst + (size_t)(3 * 4 + k) * stride, _mm256_sub_ps(e1[k], e[k]));
            for (int k = 0; k < 4; k++) {
                _mm256_storeu_ps(dst + (size_t)(1 * 4 + k) * stride, _mm256_add_ps(e1[k], e2[k]));
                _mm256_storeu_ps(dst + (size_t)(2 * 4 + k) * stride, _mm256_sub_ps(e2[k], e1[k]));
            }
        }
    }
}

/* Output channel m's tile rows [ty0, ty1) from Mo[xi][m][tile] (src: channel
 * m's first tile, stride: floats between xi): Y = A^T M A, plus bias, then
 * ReLU, stored to ym (the channel's out_h x out_w plane). */
UNIRT_AVX2_INLINE void output_transform(const float *src, size_t stride, const unirt_conv2d_geometry *g,
                                        size_t ty0, size_t ty1, size_t twp, __m256 bias, int relu, float *ym) {
    const size_t OH = g->out_h, OW = g->out_w;
    const __m256 zero = _mm256_setzero_ps();
    for (size_t ty = ty0; ty < ty1; ty++)
        for (size_t tx0 = 0; tx0 < twp; tx0 += VEC) {
            const size_t col = 2 * tx0;
            if (col >= OW) break;
            const float *s0 = src + (ty - ty0) * twp + tx0;
            __m256 s[2][4];
            for (int q = 0; q < 4; q++) {
                const __m256 m0 = _mm256_loadu_ps(s0 + (size_t)(0 * 4 + q) * stride);
                const __m256 m1 = _mm256_loadu_ps(s0 + (size_t)(1 * 4 + q) * stride);
                const __m256 m2 = _mm256_loadu_ps(s0 + (size_t)(2 * 4 + q) * stride);
                const __m256 m3 = _mm256_loadu_ps(s0 + (size_t)(3 * 4 + q) * stride);
                s[0][q] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
                s[1][q] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
            }
            for (int r = 0; r < 2; r++) {
                const size_t oy = 2 * ty + (size_t)r;
                if (oy >= OH) break;
                __m256 y0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(s[r][0], s[r][1]), s[r][2]), bias);
                __m256 y1 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(s[r][1], s[r][2]), s[r][3]), bias);
                if (relu) {
                    y0 = _mm256_max_ps(y0, zero);
                    y1 = _mm256_max_ps(y1, zero);
                }
                /* Tiles in shuffle order 0 1 4 5 2 3 6 7: columns 0..7, then 8..15. */
                const __m256 lo = _mm256_unpacklo_ps(y0, y1), hi = _mm256_unpackhi_ps(y0, y1);
                float *dst = ym + oy * OW + col;
                if (col + 16 <= OW) {
                    _mm256_storeu_ps(dst, lo);
                    _mm256_storeu_ps(dst + 8, hi);
                } else {
                    const size_t left = OW - col;
                    _mm256_maskstore_ps(dst, unirt_mask8(left < 8 ? left : 8), lo);
                    if (left > 8) _mm256_maskstore_ps(dst + 8, unirt_mask8(left - 8), hi);
                }
            }
        }
}

UNIRT_AVX2 void unirt_winograd_compute_avx2(const float *x, size_t in_channels, const float *packed,
                                            size_t out_channels, const unirt_conv2d_geometry *g,
                                            const unirt_epilogue *ep, float *y, size_t tile_row_begin,
                                            size_t tile_row_end, float *scratch) {
    const size_t C = in_channels, M = out_channels, H = g->in_h, W = g->in_w;
    const size_t OH = g->out_h, OW = g->out_w;
    const size_t twp = unirt_winograd_tiles_w_padded(g);
    /* At most BLOCK_TILES tiles a block (never more rows than the scratch holds). */
    size_t R = unirt_winograd_block_rows(g);
    if (R * twp > BLOCK_TILES) R = BLOCK_TILES / twp ? BLOCK_TILES / twp : 1;
    const size_t per = unirt_conv_gemm_packed_floats(M, C);
    const int relu = ep && ep->activation == UNIRT_ACT_RELU;
    if (tile_row_end > unirt_winograd_tile_rows(g)) tile_row_end = unirt_winograd_tile_rows(g);

    for (size_t ty0 = tile_row_begin; ty0 < tile_row_end; ty0 += R) {
        const size_t ty1 = ty0 + R < tile_row_end ? ty0 + R : tile_row_end;
        const size_t nb = (ty1 - ty0) * twp;
        const size_t sv = C * nb + PAD, sm = M * nb + PAD;
        float *V = scratch, *Mo = scratch + XI * sv;
        for (size_t c = 0; c < C; c++) input_transform(x + c * H * W, g, ty0, ty1, twp, sv, V + c * nb);
        for (size_t xi = 0; xi < XI; xi++)
            unirt_conv_gemm_tile_avx2(packed + xi * per, M, C, V + xi * sv, nb, nb, NULL, 0, Mo + xi * sm, nb);
        for (size_t m = 0; m < M; m++)
            output_transform(Mo + m * nb, sm, g, ty0, ty1, twp, _mm256_set1_ps(ep && ep->bias ? ep->bias[m] : 0.0f),
                             relu, y + m * OH * OW);
    }
}
