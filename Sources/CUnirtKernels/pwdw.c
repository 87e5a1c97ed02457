/* Pointwise -> depthwise (-> 2x2 max pool) over row bands: the band loop, the
 * ring of pointwise rows and the portable row kernels. The vector row kernels
 * are in pwdw_avx2.c and pwdw_avx512.c; the pointwise rows go through the
 * conv GEMM microkernel (conv_gemm*.c). */
#include "conv_gemm_internal.h"
#include <string.h>

/* Pointwise positions one band should give the GEMM at least (a few dozen of
 * its 32-column chunks), so narrow images still get long GEMM calls and the
 * band loop's fixed costs spread over more rows. 1024 measured 1.5-3.5%
 * faster than 256 on YuNet (512 in between), SFace and multistyle26 unchanged;
 * the ring stays within L2 (YuNet's largest: 10 rows x 160 x 64 floats). */
enum { BAND_POSITIONS = 1024 };

size_t unirt_pwdw_out_h(const unirt_pwdw_params *p) {
    return p->pool ? p->dw.out_h / 2 : p->dw.out_h;
}

size_t unirt_pwdw_out_w(const unirt_pwdw_params *p) {
    return p->pool ? p->dw.out_w / 2 : p->dw.out_w;
}

/* Output rows per band. */
static size_t band_rows(const unirt_pwdw_params *p) {
    const size_t per_row = (p->pool ? 2 : 1) * p->dw.stride_h * p->dw.in_w;
    const size_t r = (BAND_POSITIONS + per_row - 1) / (per_row ? per_row : 1);
    /* Even without the pool, so the two-row depthwise kernel gets whole pairs. */
    return p->pool ? (r ? r : 1) : (r + 1) / 2 * 2;
}

/* Ring slots: the pointwise rows one band reads. */
static size_t ring_slots(const unirt_pwdw_params *p) {
    return (band_rows(p) * (p->pool ? 2 : 1) - 1) * p->dw.stride_h + 3;
}

/* Row stride of the packed input rows: a whole number of cache lines plus
 * one, so that the channels do not all map to the same L1 sets. */
static size_t packed_ld(const unirt_pwdw_params *p) {
    return (ring_slots(p) * p->dw.in_w + 15) / 16 * 16 + 16;
}

size_t unirt_pwdw_scratch_floats(const unirt_pwdw_params *p) {
    /* Two depthwise rows for the pool, each rounded up to a whole cache line. */
    const size_t row = (p->dw.out_w + 15) / 16 * 16;
    const size_t n = p->channels * ring_slots(p) * p->dw.in_w + 2 * row + p->in_channels * packed_ld(p) +
                     p->dw.in_w;
    return (n + 15) / 16 * 16;
}

typedef void (*dw_row_fn)(const float *const[3], const float *, size_t, size_t, size_t, size_t,
                          float, int, float *);
typedef void (*pool_row_fn)(const float *, const float *, size_t, float *);

static int simple_epilogue(const unirt_epilogue *ep) {
    return !ep || ep->activation == UNIRT_ACT_NONE || ep->activation == UNIRT_ACT_RELU;
}

void unirt_pwdw_compute(const unirt_pwdw_params *p, const float *x, float *y, size_t row_begin,
                        size_t row_end, float *scratch) {
    const unirt_conv2d_geometry *g = &p->dw;
    const size_t M = p->channels, C = p->in_channels, H = g->in_h, W = g->in_w;
    const size_t f = p->pool ? 2 : 1, sh = g->stride_h;
    const size_t out_h = unirt_pwdw_out_h(p), out_w = unirt_pwdw_out_w(p), out_plane = out_h * out_w;
    const size_t R = band_rows(p), S = ring_slots(p);
    float *ring = scratch;
    float *tmp[2] = {ring + M * S * W, ring + M * S * W + (g->out_w + 15) / 16 * 16};
    /* The input rows of one GEMM call, copied out of the planes: planes a
     * multiple of 4 KiB apart put every channel's row in the same L1 sets
     * (160x160 and 320x320 floats do), and the portable tile re-reads each
     * column chunk in place for every few output channels. The AVX2 tile
     * copies each chunk to a contiguous buffer itself (YuNet 640, one
     * thread: 9.07 ms, 9.54 ms with the rows copied here), and the 8-row
     * AVX-512 tile, which also prefetches the next chunk of rows read in
     * place, is faster reading the planes directly (8.3 vs 8.9 ms). */
    float *packed_x = tmp[1] + (g->out_w + 15) / 16 * 16;
    const size_t ldx = packed_ld(p);
    const size_t plane_bytes_mod = H * W * sizeof(float) % 4096;
    const int level = unirt_conv_gemm_isa_level();
    const int copy_rows = level == 0 && (plane_bytes_mod < 256 || plane_bytes_mod > 4096 - 256);

    const dw_row_fn dw_row = level == 2 ? unirt_dw3x3_row_avx512
                             : level == 1 ? unirt_dw3x3_row_avx2
                                          : unirt_dw3x3_row_generic;
    const pool_row_fn pool_row = level == 2 ? unirt_pool2x2_row_avx512
                                 : level == 1 ? unirt_pool2x2_row_avx2
                                              : unirt_pool2x2_row_generic;
    void (*ep_row)(const unirt_epilogue *, size_t, float *, const float *, size_t) =
        unirt_has_avx2() ? unirt_epilogue_row_avx2 : unirt_epilogue_row_generic;

    /* Bias and ReLU ride on the kernels' stores; other activations run over
     * the row right after, while it is in L1. */
    const int pw_simple = simple_epilogue(p->pw_ep), dw_simple = simple_epilogue(p->dw_ep);
    const float *pw_bias = pw_simple && p->pw_ep ? p->pw_ep->bias : NULL;
    const int pw_relu = pw_simple && p->pw_ep && p->pw_ep->activation == UNIRT_ACT_RELU;
    const float *dw_bias = dw_simple && p->dw_ep ? p->dw_ep->bias : NULL;
    const int dw_relu = dw_simple && p->dw_ep && p->dw_ep->activation == UNIRT_ACT_RELU;

    /* The common "same" 3x3 (stride 1, one row and column of padding)
     * runs four or two rows at a time with the pool fused (AVX-512 or AVX2). */
    const int same = level >= 1 && dw_simple && sh == 1 && g->stride_w == 1 && g->pad_top == 1 &&
                     g->pad_left == 1 && g->out_w == W && g->out_h == H;
    float *zero_row = packed_x + C * ldx;
    memset(zero_row, 0, W * sizeof(float));
    ptrdiff_t rowoff[S];

    if (row_end > out_h) row_end = out_h;
    ptrdiff_t done = PTRDIFF_MIN; /* pointwise rows below this are in the ring */
    for (size_t r0 = row_begin; r0 < row_end; r0 += R) {
        const size_t r1 = r0 + R < row_end ? r0 + R : row_end;
        const size_t dy0 = r0 * f, dy1 = r1 * f;
        /* Pointwise rows this band reads: [lo, hi), clipped to the image. */
        const ptrdiff_t lo = (ptrdiff_t)(dy0 * sh) - (ptrdiff_t)g->pad_top;
        const ptrdiff_t hi = (ptrdiff_t)((dy1 - 1) * sh) - (ptrdiff_t)g->pad_top + 3;
        ptrdiff_t i = lo > 0 ? lo : 0;
        if (i < done) i = done;
        const ptrdiff_t end = hi < (ptrdiff_t)H ? hi : (ptrdiff_t)H;
        /* Row i goes to slot i % S, overwriting row i - S < lo, which no
         * later band reads. Chunks stop where the ring wraps. */
        while (i < end) {
            const size_t slot = (size_t)i % S;
            size_t n = (size_t)(end - i);
            if (n > S - slot) n = S - slot;
            float *dst = ring + slot * W;
            if (copy_rows) {
                for (size_t c = 0; c < C; c++)
                    memcpy(packed_x + c * ldx, x + c * H * W + (size_t)i * W, n * W * sizeof(float));
                unirt_conv_gemm_multiply(p->pw_packed, M, C, packed_x, ldx, n * W, pw_bias, pw_relu, dst, S * W);
            } else {
                unirt_conv_gemm_multiply(p->pw_packed, M, C, x + (size_t)i * W, H * W, n * W, pw_bias, pw_relu, dst,
                                         S * W);
            }
            if (!pw_simple)
                for (size_t m = 0; m < M; m++) ep_row(p->pw_ep, m, dst + m * S * W, NULL, n * W);
            i += (ptrdiff_t)n;
        }
        if (end > done) done = end;
        /* Start loading the input rows the next band multiplies while this
         * band's depthwise rows run: one stream per channel is more than
         * the hardware prefetcher follows. */
        if (r1 < row_end) {
            const ptrdiff_t next_hi = hi + (ptrdiff_t)((dy1 - dy0) * sh);
            const ptrdiff_t pf_end = next_hi < (ptrdiff_t)H ? next_hi : (ptrdiff_t)H;
            if (pf_end > end) {
                const size_t count = (size_t)(pf_end - end) * W;
                for (size_t c = 0; c < C; c++) {
                    const char *row = (const char *)(x + c * H * W + (size_t)end * W);
                    for (size_t off = 0; off < count * sizeof(float); off += 64) __builtin_prefetch(row + off, 0, 3);
                }
            }
        }

        /* Ring offset of each pointwise row lo + k this band reads; -1 for padding. */
        size_t slot = (size_t)(lo > 0 ? lo : 0) % S;
        for (ptrdiff_t k = 0; k < hi - lo; k++) {
            const ptrdiff_t iy = lo + k;
            if (iy < 0 || iy >= (ptrdiff_t)H) {
                rowoff[k] = -1;
                continue;
            }
            rowoff[k] = (ptrdiff_t)(slot * W);
            slot = slot + 1 == S ? 0 : slot + 1;
        }
        const ptrdiff_t rows_in_band = hi - lo;

        for (size_t m = 0; m < M; m++) {
            const float *ringm = ring + m * S * W;
            const float *wm = p->dw_weights + m * 9;
            const float bias = dw_bias ? dw_bias[m] : 0.0f;
            if (same) {
                size_t dy = dy0;
                /* Four rows at a time (each input row loaded once for the
                 * four), what is left (fewer than four rows) two at a time. */
                for (; dy + 4 <= dy1; dy += 4) {
                    const float *rows[6];
                    for (int i = 0; i < 6; i++) {
                        const ptrdiff_t k = (ptrdiff_t)(dy - dy0) + i;
                        rows[i] = k < rows_in_band && rowoff[k] >= 0 ? ringm + rowoff[k] : zero_row;
                    }
                    float *const y0 = y + m * out_plane + dy * out_w;
                    float *const ys[4] = {y0, y0 + out_w, y0 + 2 * out_w, y0 + 3 * out_w};
                    float *const pooled[2] = {p->pool ? y + m * out_plane + (dy / 2) * out_w : NULL,
                                              p->pool ? y + m * out_plane + (dy / 2 + 1) * out_w : NULL};
                    if (level == 2)
                        unirt_dw3x3_rows4_same_avx512(rows, wm, W, bias, dw_relu, ys, pooled);
                    else
                        unirt_dw3x3_rows4_same_avx2(rows, wm, W, bias, dw_relu, ys, pooled);
                }
                for (; dy < dy1; dy += 2) {
                    const float *rows[4];
                    for (int i = 0; i < 4; i++) {
                        const ptrdiff_t k = (ptrdiff_t)(dy - dy0) + i;
                        rows[i] = k < rows_in_band && rowoff[k] >= 0 ? ringm + rowoff[k] : zero_row;
                    }
                    const int pair = dy + 1 < dy1;
                    float *y0 = y + m * out_plane + dy * out_w;
                    float *pooled = p->pool ? y + m * out_plane + (dy / 2) * out_w : NULL;
                    if (level == 2)
                        unirt_dw3x3_rows2_same_avx512(rows, wm, W, bias, dw_relu, y0, pair ? y0 + out_w : tmp[1], pooled);
                    else
                        unirt_dw3x3_rows2_same_avx2(rows, wm, W, bias, dw_relu, y0, pair ? y0 + out_w : tmp[1], pooled);
                }
                continue;
            }
            for (size_t dy = dy0; dy < dy1; dy++) {
                const float *rows[3];
                for (int ky = 0; ky < 3; ky++) {
                    const ptrdiff_t k = (ptrdiff_t)((dy - dy0) * sh) + ky;
                    rows[ky] = rowoff[k] >= 0 ? ringm + rowoff[k] : NULL;
                }
                float *dst = p->pool ? tmp[dy & 1] : y + m * out_plane + dy * out_w;
                dw_row(rows, wm, W, g->out_w, g->stride_w, g->pad_left, bias, dw_relu, dst);
                if (!dw_simple) ep_row(p->dw_ep, m, dst, NULL, g->out_w);
                if (p->pool && (dy & 1)) pool_row(tmp[0], tmp[1], out_w, y + m * out_plane + (dy / 2) * out_w);
            }
        }
    }
}

void unirt_dw3x3_row_generic(const float *const rows[3], const float *w, size_t in_w, size_t out_w,
                             size_t stride, size_t pad_left, float bias, int relu, float *y) {
    for (size_t ox = 0; ox < out_w; ox++) {
        float acc = 0.0f;
        for (int ky = 0; ky < 3; ky++) {
            if (!rows[ky]) continue;
            for (int kx = 0; kx < 3; kx++) {
                const ptrdiff_t ix = (ptrdiff_t)(ox * stride + kx) - (ptrdiff_t)pad_left;
                if (ix < 0 || ix >= (ptrdiff_t)in_w) continue;
                acc += rows[ky][ix] * w[ky * 3 + kx];
            }
        }
        acc += bias;
        y[ox] = relu && acc < 0.0f ? 0.0f : acc;
    }
}

void unirt_pool2x2_row_generic(const float *a, const float *b, size_t n, float *y) {
    for (size_t i = 0; i < n; i++) {
        float m = a[2 * i];
        if (a[2 * i + 1] > m) m = a[2 * i + 1];
        if (b[2 * i] > m) m = b[2 * i];
        if (b[2 * i + 1] > m) m = b[2 * i + 1];
        y[i] = m;
    }
}
