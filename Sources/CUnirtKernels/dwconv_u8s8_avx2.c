/* AVX2 INT8 depthwise 3x3, stride 1 or 2 (the same both ways), dilation 1,
 * any pads, every plane width: the padded-row engine of dw3x3_rows_avx2.c
 * with the input widened to x - zp (exact, see there). Other shapes go to the
 * portable kernel. */
#include "simd_avx2.h"

UNIRT_AVX2 void unirt_dwconv_u8s8_compute_avx2(const uint8_t *x, int32_t xzp, const int8_t *w,
                                               const unirt_conv2d_geometry *g,
                                               const float *channel_scale, const unirt_epilogue *ep,
                                               float out_scale, int32_t out_zp, float *yf,
                                               uint8_t *yq, size_t cb, size_t ce) {
    if (!unirt_dw3x3_rows_supported_avx2(g)) {
        unirt_dwconv_u8s8_compute_generic(x, xzp, w, g, channel_scale, ep, out_scale, out_zp, yf, yq, cb, ce);
        return;
    }
    const unirt_dw3x3_rows_job job = {.xq = x, .zp = xzp, .wq = w, .channel_scale = channel_scale, .ep = ep,
                                      .yf = yf, .yq = yq, .out_scale = out_scale, .out_zp = out_zp};
    unirt_dw3x3_rows_avx2(&job, g, cb, ce);
}
