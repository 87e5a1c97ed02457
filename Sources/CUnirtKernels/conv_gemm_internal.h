/* Internal declarations of the cache-tiled convolution GEMM (conv_gemm*.c):
 * the per-ISA microkernel drivers that multiply packed weights by one tile. */
#ifndef UNIRT_CONV_GEMM_INTERNAL_H
#define UNIRT_CONV_GEMM_INTERNAL_H
#include "kernels_internal.h"

/* Bits [lo, hi) of a 32-bit lane mask, clamped to [0, 32) (0 when empty):
 * the lanes of a masked load or store that fall inside a row. */
static inline uint32_t unirt_lane_range(ptrdiff_t lo, ptrdiff_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    return (hi == 32 ? 0xFFFFFFFFu : (1u << hi) - 1) & ~((1u << lo) - 1);
}

/* The lanes among the first `lanes` (up to 32) of consecutive floats from
 * row[start] that lie inside a row of in_w floats. */
static inline uint32_t unirt_row_lanes(ptrdiff_t start, size_t in_w, size_t lanes) {
    const ptrdiff_t hi = (ptrdiff_t)in_w - start;
    return unirt_lane_range(-start, hi < (ptrdiff_t)lanes ? hi : (ptrdiff_t)lanes);
}

/* Marks a function compiled for AVX-512F (+VL, FMA) regardless of the global flags. */
#define UNIRT_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma")))

/* Whether the AVX-512F kernels may run (features detected and SIMD enabled). */
static inline int unirt_has_avx512(void) {
    uint32_t f = unirt_cpu_features();
    const uint32_t need = UNIRT_CPU_AVX2 | UNIRT_CPU_FMA | UNIRT_CPU_AVX512F;
    return (f & need) == need;
}

/* c[r*ldc + j] = sum_k A[r][k] * b[k*ldb + j] (+ bias[r] when bias is not
 * NULL, then max(., 0) when relu) for rows r < m and columns j < n, A packed
 * as unirt_conv_gemm_pack_weights lays it out. c is overwritten. */
#define UNIRT_CONV_GEMM_TILE(isa)                                                        \
    void unirt_conv_gemm_tile_##isa(const float *packed, size_t m, size_t k, const float *b, \
                                    size_t ldb, size_t n, const float *bias, int relu,     \
                                    float *c, size_t ldc);
UNIRT_CONV_GEMM_TILE(generic)
UNIRT_CONV_GEMM_TILE(avx2)
UNIRT_CONV_GEMM_TILE(avx512)
#undef UNIRT_CONV_GEMM_TILE

/* The microkernel level the dispatchers use now: 2 AVX-512, 1 AVX2, 0 portable
 * (detection capped by unirt_conv_gemm_limit_isa). */
int unirt_conv_gemm_isa_level(void);

/* unirt_conv_gemm_tile_<isa> of the current level. */
void unirt_conv_gemm_multiply(const float *packed, size_t m, size_t k, const float *b, size_t ldb,
                              size_t n, const float *bias, int relu, float *c, size_t ldc);

/* One output row of a 3x3 depthwise convolution of one channel, dilation 1:
 * y[ox] = bias + sum over ky, kx of rows[ky][ox*stride + kx - pad_left] *
 * w[ky*3 + kx], then max(., 0) when relu. rows[ky] NULL is a padding row;
 * columns outside [0, in_w) are padding. stride is 1 or 2. */
#define UNIRT_DW3X3_ROW(isa)                                                                  \
    void unirt_dw3x3_row_##isa(const float *const rows[3], const float *w, size_t in_w,        \
                               size_t out_w, size_t stride, size_t pad_left, float bias,       \
                               int relu, float *y);
UNIRT_DW3X3_ROW(generic)
UNIRT_DW3X3_ROW(avx2)
UNIRT_DW3X3_ROW(avx512)
#undef UNIRT_DW3X3_ROW

/* Two rows of a stride-1 3x3 depthwise convolution with one row and column
 * of padding (in_w = out_w), the pool optionally fused (pwdw_avx512.c). */
void unirt_dw3x3_rows2_same_avx512(const float *const r[4], const float *w, size_t in_w, float bias,
                                   int relu, float *y0, float *y1, float *pooled);
/* Four rows dy .. dy+3 (r[0..5]: input rows dy-1 .. dy+4) to y[0..3], or with
 * pooled[0] != NULL only the pools of rows dy, dy+1 and dy+2, dy+3 to pooled[0], pooled[1]. */
void unirt_dw3x3_rows4_same_avx512(const float *const r[6], const float *w, size_t in_w, float bias,
                                   int relu, float *const y[4], float *const pooled[2]);
/* The same two with AVX2 (pwdw_avx2.c). */
void unirt_dw3x3_rows2_same_avx2(const float *const r[4], const float *w, size_t in_w, float bias, int relu,
                                 float *y0, float *y1, float *pooled);
void unirt_dw3x3_rows4_same_avx2(const float *const r[6], const float *w, size_t in_w, float bias, int relu,
                                 float *const y[4], float *const pooled[2]);

/* unirt_conv_smallc_compute with AVX2 (conv_smallc_avx2.c). */
void unirt_conv_smallc_compute_avx2(const float *x, size_t in_channels, const float *packed, size_t out_channels,
                                    const unirt_conv2d_geometry *g, const unirt_epilogue *ep, float *y,
                                    size_t row_begin, size_t row_end);

/* Winograd F(2x2, 3x3) (conv_winograd_avx512.c): tiles per tile row rounded
 * up to 16, and tile rows per block (V and M of one block fill the scratch of
 * unirt_winograd_scratch_floats); the same at every ISA level. */
size_t unirt_winograd_tiles_w_padded(const unirt_conv2d_geometry *g);
size_t unirt_winograd_block_rows(const unirt_conv2d_geometry *g);

/* Floats the scratch holds beyond V and M per transformed plane (one cache
 * line): conv_winograd_avx2.c starts each of the 16 planes of V and of M one
 * line further on, so that the half-line accesses of its transforms to the
 * 16 planes (a multiple of 4 KiB apart otherwise) do not all fall in the same
 * L1 sets and evict each other between the two halves of a line. */
enum { UNIRT_WINOGRAD_PLANE_PAD = 16 };

/* unirt_winograd_compute with AVX2 (conv_winograd_avx2.c). */
void unirt_winograd_compute_avx2(const float *x, size_t in_channels, const float *packed, size_t out_channels,
                                 const unirt_conv2d_geometry *g, const unirt_epilogue *ep, float *y,
                                 size_t tile_row_begin, size_t tile_row_end, float *scratch);

/* y[i] = max(a[2i], a[2i+1], b[2i], b[2i+1]) for i < n (a 2x2 stride-2 max
 * pool of two rows). */
void unirt_pool2x2_row_generic(const float *a, const float *b, size_t n, float *y);
void unirt_pool2x2_row_avx2(const float *a, const float *b, size_t n, float *y);
void unirt_pool2x2_row_avx512(const float *a, const float *b, size_t n, float *y);
#endif
