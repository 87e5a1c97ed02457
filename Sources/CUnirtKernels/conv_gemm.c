/* Cache-tiled convolution GEMM: weight packing, the tile loop (im2col into a
 * per-thread scratch, or the input itself for 1x1 convs), the fused epilogue
 * and the rule for when to use it. The multiply itself is per ISA
 * (conv_gemm_generic.c, conv_gemm_avx2.c, conv_gemm_avx512.c). */
#include "conv_gemm_internal.h"
#include <string.h>

enum { MR = UNIRT_CONV_GEMM_MR };

/* Scratch budget of one im2col tile, in floats (256 KiB: a quarter of L2,
 * leaving room for the weights and the output tile). */
enum { TILE_BUDGET_FLOATS = 64 * 1024 };

size_t unirt_conv_gemm_packed_floats(size_t out_channels, size_t k) {
    return (out_channels + MR - 1) / MR * MR * k;
}

void unirt_conv_gemm_pack_weights(const float *w, size_t out_channels, size_t k, float *packed) {
    const size_t blocks = (out_channels + MR - 1) / MR;
    for (size_t b = 0; b < blocks; b++)
        for (size_t t = 0; t < k; t++)
            for (size_t r = 0; r < MR; r++) {
                const size_t m = b * MR + r;
                *packed++ = m < out_channels ? w[m * k + t] : 0.0f;
            }
}

size_t unirt_conv_gemm_tile(size_t k) {
    size_t n = TILE_BUDGET_FLOATS / (k ? k : 1) / 32 * 32;
    if (n < 32) n = 32;
    if (n > 512) n = 512;
    return n;
}

static int reads_input_directly(const unirt_conv2d_geometry *g) {
    return g->kernel_h == 1 && g->kernel_w == 1 && g->stride_h == 1 && g->stride_w == 1 &&
           g->pad_top == 0 && g->pad_left == 0 && g->out_h == g->in_h && g->out_w == g->in_w;
}

size_t unirt_conv_gemm_scratch_floats(const unirt_conv2d_geometry *g, size_t in_channels) {
    if (reads_input_directly(g)) return 0;
    const size_t k = in_channels * g->kernel_h * g->kernel_w;
    return k * unirt_conv_gemm_tile(k);
}

typedef void (*tile_fn)(const float *, size_t, size_t, const float *, size_t, size_t,
                        const float *, int, float *, size_t);

/* Highest microkernel allowed (relaxed atomic; tests lower it). */
static int32_t isa_limit = 2;

void unirt_conv_gemm_limit_isa(int32_t max_level) {
    __atomic_store_n(&isa_limit, max_level, __ATOMIC_RELAXED);
}

static int isa_level(void) {
    const int32_t limit = __atomic_load_n(&isa_limit, __ATOMIC_RELAXED);
    const int level = unirt_has_avx512() ? 2 : unirt_has_avx2() ? 1 : 0;
    return level < limit ? level : limit;
}

int unirt_conv_gemm_isa_level(void) { return isa_level(); }

static tile_fn pick_tile(void) {
    switch (isa_level()) {
    case 2: return unirt_conv_gemm_tile_avx512;
    case 1: return unirt_conv_gemm_tile_avx2;
    default: return unirt_conv_gemm_tile_generic;
    }
}

void unirt_conv_gemm_multiply(const float *packed, size_t m, size_t k, const float *b, size_t ldb,
                              size_t n, const float *bias, int relu, float *c, size_t ldc) {
    pick_tile()(packed, m, k, b, ldb, n, bias, relu, c, ldc);
}

const char *unirt_conv_gemm_isa(void) {
    static const char *names[] = {"generic", "avx2", "avx512"};
    return names[isa_level()];
}

void unirt_conv_gemm_compute(const float *x, size_t in_channels, const float *packed,
                             size_t out_channels, const unirt_conv2d_geometry *g,
                             const unirt_epilogue *ep, float *y, size_t pos_begin,
                             size_t pos_end, float *scratch) {
    const size_t k = in_channels * g->kernel_h * g->kernel_w;
    const size_t plane = g->out_h * g->out_w, in_plane = g->in_h * g->in_w;
    const size_t tile = unirt_conv_gemm_tile(k);
    const int direct = reads_input_directly(g);
    const tile_fn multiply = pick_tile();
    void (*row)(const unirt_epilogue *, size_t, float *, const float *, size_t) =
        unirt_has_avx2() ? unirt_epilogue_row_avx2 : unirt_epilogue_row_generic;
    /* Bias and ReLU are applied on the registers before the store; anything
     * else runs over the tile afterwards, while it is still in cache. */
    const int fused = !ep || (!ep->residual && (ep->activation == UNIRT_ACT_NONE ||
                                                ep->activation == UNIRT_ACT_RELU));
    const float *bias = fused && ep ? ep->bias : NULL;
    const int relu = fused && ep && ep->activation == UNIRT_ACT_RELU;
    for (size_t p0 = pos_begin; p0 < pos_end; p0 += tile) {
        const size_t n = pos_end - p0 < tile ? pos_end - p0 : tile;
        const float *b;
        size_t ldb;
        if (direct) {
            b = x + p0;
            ldb = in_plane;
        } else {
            unirt_im2col_compute(x, g, 0, in_channels, p0, p0 + n, scratch);
            b = scratch;
            ldb = n;
        }
        multiply(packed, out_channels, k, b, ldb, n, bias, relu, y + p0, plane);
        if (!fused)
            for (size_t m = 0; m < out_channels; m++)
                row(ep, m, y + m * plane + p0, ep->residual ? ep->residual + m * plane + p0 : NULL, n);
    }
}

int32_t unirt_conv_gemm_preferred(const unirt_conv2d_geometry *g, size_t in_channels,
                                  size_t out_channels, size_t group) {
    if (group != 1 || out_channels <= UNIRT_CONV_DIRECT_MAX_BLOCK) return 0;
    const size_t k = in_channels * g->kernel_h * g->kernel_w;
    /* Weights re-read from L2 for every 32 positions: keep them small. */
    if ((out_channels + MR - 1) / MR * MR * k > 48 * 1024) return 0;
    return 1;
}
