/* Weight packing for the direct convolution, and the rule that says when the
 * direct kernel beats im2col + sgemm. Shared by both implementations (the
 * packed layout does not depend on the ISA). */
#include "kernels_internal.h"
#include <string.h>

/* Output channels per block: every block keeps its channels' accumulators
 * in registers, so small M uses blocks of exactly M (no wasted lanes). */
static size_t direct_block_channels(size_t out_channels) {
    return out_channels < UNIRT_CONV_DIRECT_MAX_BLOCK ? out_channels : UNIRT_CONV_DIRECT_MAX_BLOCK;
}

size_t unirt_conv_direct_packed_floats(size_t out_channels, size_t in_channels, size_t kernel_h,
                                       size_t kernel_w) {
    const size_t ocb = direct_block_channels(out_channels);
    const size_t blocks = (out_channels + ocb - 1) / ocb;
    return UNIRT_CONV_DIRECT_HEADER + blocks * ocb * in_channels * kernel_h * kernel_w;
}

void unirt_conv_direct_pack_weights(const float *w, size_t out_channels, size_t in_channels,
                                    size_t kernel_h, size_t kernel_w, float *packed) {
    const size_t ocb = direct_block_channels(out_channels);
    const size_t taps = in_channels * kernel_h * kernel_w;
    const size_t blocks = (out_channels + ocb - 1) / ocb;
    unirt_conv_direct_header h = {(uint32_t)out_channels, (uint32_t)in_channels,
                                  (uint32_t)kernel_h, (uint32_t)kernel_w, (uint32_t)ocb};
    memset(packed, 0, UNIRT_CONV_DIRECT_HEADER * sizeof(float));
    memcpy(packed, &h, sizeof h);
    float *dst = packed + UNIRT_CONV_DIRECT_HEADER;
    /* [block][ic][ky][kx][ocb]: the ocb weights of one tap sit together, so
     * the kernel broadcasts them from consecutive addresses. */
    for (size_t b = 0; b < blocks; b++)
        for (size_t t = 0; t < taps; t++)
            for (size_t o = 0; o < ocb; o++) {
                const size_t m = b * ocb + o;
                *dst++ = m < out_channels ? w[m * taps + t] : 0.0f;
            }
}

int32_t unirt_conv_direct_preferred(const unirt_conv2d_geometry *g, size_t in_channels,
                                    size_t out_channels, size_t group) {
    if (group != 1 || g->kernel_h * g->kernel_w == 1) return 0;
    /* Few input channels: im2col's K = C*kh*kw is short and the copy dominates. */
    if (in_channels <= 4) return 1;
    /* Few output channels: sgemm's M is too small to reuse the unfolded columns. */
    if (out_channels <= UNIRT_CONV_DIRECT_MAX_BLOCK) return 1;
    return 0;
}
