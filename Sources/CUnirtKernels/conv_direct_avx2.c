/* AVX2/FMA direct convolution for few input or few output channels.
 *
 * Register blocking: one block of OCB output channels (weights packed
 * [ic][ky][kx][OCB]) times PV vectors of 8 consecutive output pixels of one
 * row, OCB*PV <= 12 accumulators. Per tap the kernel loads PV input vectors
 * and broadcasts OCB weights, then issues OCB*PV FMAs.
 *
 * Each output row is split into columns whose taps are all inside the input
 * row (plain loads for stride 1; two loads and a deinterleave for stride 2)
 * and edge columns (left/right padding, the last partial vector, other
 * strides), where a masked gather reads padding as 0. Kernel rows that fall
 * into the top/bottom padding are skipped for the whole output row. The
 * epilogue runs on the accumulators before the single store. */
#include "simd_avx2.h"
#include <string.h>

enum { MODE_GATHER = 0, MODE_STRIDE1 = 1, MODE_STRIDE2 = 2 };

/* Even-indexed lanes of the 16 floats at p (x[p], x[p+2], ..., x[p+14]). */
UNIRT_AVX2_INLINE __m256 load_even16(const float *p) {
    __m256 a = _mm256_loadu_ps(p), b = _mm256_loadu_ps(p + 8);
    __m256 s = _mm256_shuffle_ps(a, b, 0x88);
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(s), 0xD8));
}

/* What one output row of one channel block needs. */
typedef struct {
    const float *x;        /* input sample, channel 0 */
    const float *w;        /* packed weights of this block */
    const unirt_conv2d_geometry *g;
    size_t channels;       /* input channels */
    size_t kh, kw;
    size_t ky0, ky1;       /* kernel rows inside the image for this output row */
    size_t oy;
    const unirt_epilogue *ep; /* NULL for none */
    float *y;              /* output sample, channel 0 */
    size_t m0;             /* first channel of the block */
    size_t mb, me;         /* channels to store: [mb, me) */
} row_job;

/* Accumulates PV vectors at output column ox and stores them (OCB, PV and
 * mode are constants after inlining). */
UNIRT_AVX2_INLINE void conv_tile(const row_job *j, size_t ox, const int OCB, const int PV,
                                 const int mode) {
    const unirt_conv2d_geometry *g = j->g;
    const size_t plane_in = g->in_h * g->in_w, W = g->in_w;
    const size_t sw = g->stride_w, dw = g->dilation_w, KW = j->kw;
    __m256 acc[4][4];
    _Pragma("unroll") for (int o = 0; o < OCB; o++)
        _Pragma("unroll") for (int p = 0; p < PV; p++) acc[o][p] = _mm256_setzero_ps();

    /* Gather mode: input column of each lane for kx = 0, and lanes < out_w. */
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i col0 = _mm256_setzero_si256(), live = _mm256_setzero_si256();
    if (mode == MODE_GATHER) {
        col0 = _mm256_sub_epi32(
            _mm256_mullo_epi32(_mm256_add_epi32(_mm256_set1_epi32((int32_t)ox), lane),
                               _mm256_set1_epi32((int32_t)sw)),
            _mm256_set1_epi32((int32_t)g->pad_left));
        live = _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(g->out_w - ox)), lane);
    }
    const ptrdiff_t base = (ptrdiff_t)(ox * sw) - (ptrdiff_t)g->pad_left;

    for (size_t c = 0; c < j->channels; c++) {
        for (size_t ky = j->ky0; ky < j->ky1; ky++) {
            const size_t iy = j->oy * g->stride_h + ky * g->dilation_h - g->pad_top;
            const float *row = j->x + c * plane_in + iy * W;
            const float *wt = j->w + ((c * j->kh + ky) * KW) * (size_t)OCB;
            for (size_t kx = 0; kx < KW; kx++, wt += OCB) {
                const float *p0 = row + base + (ptrdiff_t)(kx * dw);
                if (mode == MODE_GATHER) {
                    __m256i col = _mm256_add_epi32(col0, _mm256_set1_epi32((int32_t)(kx * dw)));
                    __m256i in = _mm256_and_si256(
                        _mm256_and_si256(live, _mm256_cmpgt_epi32(col, _mm256_set1_epi32(-1))),
                        _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)W), col));
                    const __m256 xv = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), row, col,
                                                               _mm256_castsi256_ps(in), 4);
                    _Pragma("unroll") for (int o = 0; o < OCB; o++)
                        acc[o][0] = _mm256_fmadd_ps(xv, _mm256_broadcast_ss(wt + o), acc[o][0]);
                } else if (OCB <= PV) {
                    /* Weights in registers, input vectors streamed: OCB*PV + OCB + 1 registers. */
                    __m256 wv[4];
                    _Pragma("unroll") for (int o = 0; o < OCB; o++) wv[o] = _mm256_broadcast_ss(wt + o);
                    _Pragma("unroll") for (int p = 0; p < PV; p++) {
                        const __m256 xv = mode == MODE_STRIDE1 ? _mm256_loadu_ps(p0 + 8 * p)
                                                               : load_even16(p0 + 16 * p);
                        _Pragma("unroll") for (int o = 0; o < OCB; o++)
                            acc[o][p] = _mm256_fmadd_ps(xv, wv[o], acc[o][p]);
                    }
                } else {
                    /* Input vectors in registers, weights streamed: OCB*PV + PV + 1. */
                    __m256 xv[4];
                    _Pragma("unroll") for (int p = 0; p < PV; p++)
                        xv[p] = mode == MODE_STRIDE1 ? _mm256_loadu_ps(p0 + 8 * p) : load_even16(p0 + 16 * p);
                    _Pragma("unroll") for (int o = 0; o < OCB; o++) {
                        const __m256 wv = _mm256_broadcast_ss(wt + o);
                        _Pragma("unroll") for (int p = 0; p < PV; p++)
                            acc[o][p] = _mm256_fmadd_ps(xv[p], wv, acc[o][p]);
                    }
                }
            }
        }
    }

    const size_t plane_out = g->out_h * g->out_w;
    const size_t n = mode == MODE_GATHER ? (g->out_w - ox < 8 ? g->out_w - ox : 8) : 8;
    const __m256i mask = unirt_mask8(n);
    _Pragma("unroll") for (int o = 0; o < OCB; o++) {
        const size_t m = j->m0 + (size_t)o;
        if (m < j->mb || m >= j->me) continue;
        const size_t at = m * plane_out + j->oy * g->out_w + ox;
        const unirt_epilogue *ep = j->ep;
        const __m256 bias = _mm256_set1_ps(ep && ep->bias ? ep->bias[m] : 0.0f);
        const float *r = ep && ep->residual ? ep->residual + at : NULL;
        const int before = r && !ep->residual_after_activation;
        const int after = r && ep->residual_after_activation;
        _Pragma("unroll") for (int p = 0; p < PV; p++) {
            __m256 v = _mm256_add_ps(acc[o][p], bias);
            if (ep) {
                if (before) v = _mm256_add_ps(v, mode == MODE_GATHER ? _mm256_maskload_ps(r, mask)
                                                                    : _mm256_loadu_ps(r + 8 * p));
                v = unirt_act256(ep, m, v);
                if (after) v = _mm256_add_ps(v, mode == MODE_GATHER ? _mm256_maskload_ps(r, mask)
                                                                   : _mm256_loadu_ps(r + 8 * p));
            }
            if (mode == MODE_GATHER) _mm256_maskstore_ps(j->y + at, mask, v);
            else _mm256_storeu_ps(j->y + at + 8 * p, v);
        }
    }
}

/* One output row of one channel block: edge vectors by gather, the interior
 * [xa, xb) in tiles of PV vectors then single vectors. */
UNIRT_AVX2_INLINE void conv_row(const row_job *j, size_t xa, size_t xb, const int OCB, const int PV) {
    const size_t ow = j->g->out_w, s = j->g->stride_w;
    size_t ox = 0;
    for (; ox < xa && ox < ow; ox += 8) conv_tile(j, ox, OCB, 1, MODE_GATHER);
    if (s == 1) {
        for (; ox + 8 * (size_t)PV <= xb; ox += 8 * (size_t)PV) conv_tile(j, ox, OCB, PV, MODE_STRIDE1);
        for (; ox + 8 <= xb; ox += 8) conv_tile(j, ox, OCB, 1, MODE_STRIDE1);
    } else if (s == 2) {
        for (; ox + 8 * (size_t)PV <= xb; ox += 8 * (size_t)PV) conv_tile(j, ox, OCB, PV, MODE_STRIDE2);
        for (; ox + 8 <= xb; ox += 8) conv_tile(j, ox, OCB, 1, MODE_STRIDE2);
    }
    for (; ox < ow; ox += 8) conv_tile(j, ox, OCB, 1, MODE_GATHER);
}

#define DEFINE_ROW(OCB, PV)                                                              \
    UNIRT_AVX2 static void conv_row_##OCB(const row_job *j, size_t xa, size_t xb) {     \
        conv_row(j, xa, xb, OCB, PV);                                                   \
    }
DEFINE_ROW(1, 4)
DEFINE_ROW(2, 4)
DEFINE_ROW(3, 4)
DEFINE_ROW(4, 3)

UNIRT_AVX2 void unirt_conv_direct_compute_avx2(const float *x, const float *packed,
                                               const unirt_conv2d_geometry *g,
                                               const unirt_epilogue *ep, float *y, size_t ob,
                                               size_t oe, size_t rb, size_t re) {
    unirt_conv_direct_header h;
    memcpy(&h, packed, sizeof h);
    const size_t OCB = h.block, taps = (size_t)h.in_channels * h.kernel_h * h.kernel_w;
    void (*row_fn)(const row_job *, size_t, size_t) =
        OCB == 1 ? conv_row_1 : OCB == 2 ? conv_row_2 : OCB == 3 ? conv_row_3 : conv_row_4;
    /* A local copy keeps the epilogue fields in registers across stores. */
    unirt_epilogue e;
    if (ep) e = *ep;

    /* Interior columns [xa, xb): every tap of the tile's loads is inside the
     * row (stride 2 reads one float past its last tap). */
    const ptrdiff_t pl = (ptrdiff_t)g->pad_left, s = (ptrdiff_t)g->stride_w;
    const ptrdiff_t reach = (ptrdiff_t)((h.kernel_w - 1) * g->dilation_w) + (s == 2 ? 1 : 0);
    size_t xa = (size_t)((pl + s - 1) / s), xb = 0;
    const ptrdiff_t last = (ptrdiff_t)g->in_w - 1 - reach + pl; /* ox*s <= last */
    if (last >= 0) xb = (size_t)(last / s) + 1;
    if (xb > g->out_w) xb = g->out_w;
    if (xb < xa || (s != 1 && s != 2)) xb = xa;

    row_job j = {.x = x, .g = g, .channels = h.in_channels, .kh = h.kernel_h, .kw = h.kernel_w,
                 .ep = ep ? &e : NULL, .y = y, .mb = ob, .me = oe};
    for (size_t oy = rb; oy < re; oy++) {
        /* Kernel rows with 0 <= oy*sh + ky*dh - pad_top < in_h. */
        const size_t top = oy * g->stride_h, dh = g->dilation_h;
        size_t ky0 = top >= g->pad_top ? 0 : (g->pad_top - top + dh - 1) / dh;
        size_t ky1 = 0;
        if (g->in_h + g->pad_top > top) ky1 = (g->in_h - 1 + g->pad_top - top) / dh + 1;
        if (ky1 > h.kernel_h) ky1 = h.kernel_h;
        j.oy = oy;
        j.ky0 = ky0;
        j.ky1 = ky1 > ky0 ? ky1 : ky0;
        for (size_t b = ob / OCB; b * OCB < oe; b++) {
            j.m0 = b * OCB;
            j.w = packed + UNIRT_CONV_DIRECT_HEADER + b * OCB * taps;
            row_fn(&j, xa, xb);
        }
    }
}
