/* AVX2/FMA direct depthwise 3x3 convolution, stride 1 or 2, dilation 1,
 * arbitrary pads. Planes narrower than NARROW outputs (a face model's 28x28,
 * 14x14 and 7x7 layers, where the borders would be most of the row) run the
 * padded-row engine of dw3x3_rows_avx2.c: every output a vector output. Wider
 * ones read the rows in place: each output row is split into a left border, a
 * vector interior where all three column taps are inside the row (8 outputs
 * per step), and a right border done with scalar taps (no copy, which costs
 * more than two scalar outputs there). Rows whose taps fall in the top/bottom
 * padding simply skip those kernel rows. */
#include "simd_avx2.h"

/* Output widths below this take the padded-row engine. */
enum { NARROW = 64 };

/* Scalar output at (oy, ox) of one channel, skipping padded taps. */
static inline float dw3x3_point(const float *xc, const float *wc, const unirt_conv2d_geometry *g,
                                size_t oy, size_t ox) {
    float acc = 0.0f;
    for (int ky = 0; ky < 3; ky++) {
        ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky) - (ptrdiff_t)g->pad_top;
        if (iy < 0 || iy >= (ptrdiff_t)g->in_h) continue;
        for (int kx = 0; kx < 3; kx++) {
            ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w + kx) - (ptrdiff_t)g->pad_left;
            if (ix < 0 || ix >= (ptrdiff_t)g->in_w) continue;
            acc += xc[iy * (ptrdiff_t)g->in_w + ix] * wc[ky * 3 + kx];
        }
    }
    return acc;
}

UNIRT_AVX2 static void dw3x3_channel(const float *xc, const float *wc, const unirt_conv2d_geometry *g,
                                     float *yc) {
    const size_t s = g->stride_w, W = g->in_w;
    const ptrdiff_t pl = (ptrdiff_t)g->pad_left;
    /* Interior: ox*s - pl >= 0 and the widest load stays inside the row. */
    size_t x0 = (size_t)((pl + (ptrdiff_t)s - 1) / (ptrdiff_t)s);
    const size_t reach = s == 1 ? 10 : 18; /* floats read from ox*s - pl for 8 outputs */
    __m256 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm256_set1_ps(wc[i]);
    for (size_t oy = 0; oy < g->out_h; oy++) {
        float *yr = yc + oy * g->out_w;
        const float *rows[3];
        int valid[3];
        for (int ky = 0; ky < 3; ky++) {
            ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h + ky) - (ptrdiff_t)g->pad_top;
            valid[ky] = iy >= 0 && iy < (ptrdiff_t)g->in_h;
            rows[ky] = valid[ky] ? xc + iy * (ptrdiff_t)W : xc;
        }
        size_t ox = 0;
        for (; ox < x0 && ox < g->out_w; ox++) yr[ox] = dw3x3_point(xc, wc, g, oy, ox);
        for (; ox + 8 <= g->out_w && (ptrdiff_t)(ox * s) - pl + (ptrdiff_t)reach <= (ptrdiff_t)W; ox += 8) {
            const ptrdiff_t base = (ptrdiff_t)(ox * s) - pl;
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            for (int ky = 0; ky < 3; ky++) {
                if (!valid[ky]) continue;
                const float *p = rows[ky] + base;
                if (s == 1) {
                    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p), wv[ky * 3], acc0);
                    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 1), wv[ky * 3 + 1], acc1);
                    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 2), wv[ky * 3 + 2], acc0);
                } else {
                    acc0 = _mm256_fmadd_ps(unirt_load_strided2(p, 0), wv[ky * 3], acc0);
                    acc1 = _mm256_fmadd_ps(unirt_load_strided2(p, 1), wv[ky * 3 + 1], acc1);
                    acc0 = _mm256_fmadd_ps(unirt_load_strided2(p + 2, 0), wv[ky * 3 + 2], acc0);
                }
            }
            _mm256_storeu_ps(yr + ox, _mm256_add_ps(acc0, acc1));
        }
        for (; ox < g->out_w; ox++) yr[ox] = dw3x3_point(xc, wc, g, oy, ox);
    }
}

UNIRT_AVX2 void unirt_dwconv_compute_avx2(const float *x, const float *w,
                                          const unirt_conv2d_geometry *g, const unirt_epilogue *ep,
                                          float *y, size_t cb, size_t ce) {
    if (g->kernel_h != 3 || g->kernel_w != 3 || g->dilation_h != 1 || g->dilation_w != 1 ||
        g->stride_w > 2 || g->stride_h > 2) {
        unirt_dwconv_compute_generic(x, w, g, ep, y, cb, ce);
        return;
    }
    if (g->out_w < NARROW && unirt_dw3x3_rows_supported_avx2(g)) {
        const unirt_dw3x3_rows_job job = {.xf = x, .wf = w, .ep = ep, .yf = y};
        unirt_dw3x3_rows_avx2(&job, g, cb, ce);
        return;
    }
    const size_t plane_in = g->in_h * g->in_w, plane_out = g->out_h * g->out_w;
    for (size_t c = cb; c < ce; c++) {
        float *yc = y + c * plane_out;
        dw3x3_channel(x + c * plane_in, w + c * 9, g, yc);
        /* The plane is still in cache: apply the epilogue now. */
        if (ep) unirt_epilogue_row_avx2(ep, c, yc, ep->residual ? ep->residual + c * plane_out : NULL, plane_out);
    }
}
