/* INT8 GEMM in the quad layout (unirt_kernels.h section 11): sizes, weight
 * packing, the portable packers and compute functions, and the dispatch to
 * the AVX-512 VNNI kernels (gemm_u8s8q_vnni.c) when the CPU has them. */
#include "gemm_u8s8q_internal.h"
#include "conv_gemm_internal.h"
#include <string.h>

enum { MR = UNIRT_GEMM_U8S8Q_MR, NR = UNIRT_GEMM_U8S8Q_NR, ZP = UNIRT_GEMM_U8S8Q_ZP };

int32_t unirt_gemm_u8s8q_native(void) {
    static int cached = -1;
    uint32_t f = unirt_cpu_features();
    const uint32_t need = UNIRT_CPU_AVX512F | UNIRT_CPU_AVX512VNNI;
    if ((f & need) != need || unirt_conv_gemm_isa_level() < 2) return 0;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known < 0) {
#if defined(__x86_64__) || defined(__i386__)
        known = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") ? 1 : 0;
#else
        known = 0;
#endif
        __atomic_store_n(&cached, known, __ATOMIC_RELAXED);
    }
    return known;
}

size_t unirt_gemm_u8s8q_weights_size(size_t m, size_t k) {
    return (m + MR - 1) / MR * unirt_gemm_q_block_bytes(k);
}

int32_t unirt_gemm_u8s8q_pack_weights(const int8_t *w, size_t m, size_t k, void *packed) {
    if (k > UNIRT_GEMM_U8S8_MAX_K) return -1;
    const size_t kq = unirt_gemm_kquads(k);
    for (size_t m0 = 0; m0 < m; m0 += MR) {
        uint8_t *block = (uint8_t *)packed + (m0 / MR) * unirt_gemm_q_block_bytes(k);
        for (size_t r = 0; r < MR; r++) {
            int32_t sum = 0;
            if (m0 + r < m)
                for (size_t col = 0; col < k; col++) sum += w[(m0 + r) * k + col];
            const int32_t corr = -ZP * sum;
            memcpy(block + r * sizeof(int32_t), &corr, sizeof corr);
        }
        int8_t *dst = (int8_t *)(block + MR * sizeof(int32_t));
        for (size_t q = 0; q < kq; q++)
            for (size_t r = 0; r < MR; r++)
                for (size_t b = 0; b < 4; b++) {
                    const size_t row = m0 + r, col = 4 * q + b;
                    *dst++ = row < m && col < k ? w[row * k + col] : 0;
                }
    }
    return 0;
}

size_t unirt_gemm_u8s8q_x_size(size_t k, size_t n) {
    return unirt_gemm_kquads(k) * unirt_gemm_round16(n) * 4;
}

/* ---- portable packers ---------------------------------------------------- */

void unirt_gemm_u8s8q_pack_x_generic(const uint8_t *x, size_t ld, size_t k, size_t n, void *packed) {
    const size_t kq = unirt_gemm_kquads(k), np = unirt_gemm_round16(n);
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t w = unirt_gemm_q_width(np, j0);
        uint8_t *panel = (uint8_t *)packed + j0 * kq * 4;
        for (size_t q = 0; q < kq; q++)
            for (size_t c = 0; c < w; c++)
                for (size_t b = 0; b < 4; b++) {
                    const size_t row = 4 * q + b, j = j0 + c;
                    panel[(q * w + c) * 4 + b] = row < k && j < n ? x[row * ld + j] : ZP;
                }
    }
}

void unirt_gemm_u8s8q_pack_x_f32_generic(const float *x, size_t ld, size_t k, size_t n, float scale,
                                         void *packed) {
    const size_t kq = unirt_gemm_kquads(k), np = unirt_gemm_round16(n);
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t w = unirt_gemm_q_width(np, j0);
        uint8_t *panel = (uint8_t *)packed + j0 * kq * 4;
        for (size_t q = 0; q < kq; q++)
            for (size_t c = 0; c < w; c++)
                for (size_t b = 0; b < 4; b++) {
                    const size_t row = 4 * q + b, j = j0 + c;
                    panel[(q * w + c) * 4 + b] =
                        row < k && j < n ? unirt_quant_u8_scalar(x[row * ld + j], scale, ZP) : ZP;
                }
    }
}

/* One im2col row (channel c, tap ky, kx) over output positions [p0, p0 + w) into dst[w]. */
void unirt_gemm_q_im2col_row(const uint8_t *x, const unirt_conv2d_geometry *g, size_t c, size_t ky,
                             size_t kx, size_t p0, size_t w, uint8_t *dst) {
    const uint8_t *xc = x + c * g->in_h * g->in_w;
    const ptrdiff_t dy = (ptrdiff_t)(ky * g->dilation_h) - (ptrdiff_t)g->pad_top;
    const ptrdiff_t dx = (ptrdiff_t)(kx * g->dilation_w) - (ptrdiff_t)g->pad_left;
    size_t i = 0;
    while (i < w) {
        const size_t pos = p0 + i, oy = pos / g->out_w, ox = pos % g->out_w;
        size_t run = g->out_w - ox;
        if (run > w - i) run = w - i;
        const ptrdiff_t iy = (ptrdiff_t)(oy * g->stride_h) + dy;
        if (iy < 0 || iy >= (ptrdiff_t)g->in_h) {
            memset(dst + i, ZP, run);
        } else {
            const uint8_t *src = xc + iy * (ptrdiff_t)g->in_w;
            const ptrdiff_t sw = (ptrdiff_t)g->stride_w, iw = (ptrdiff_t)g->in_w;
            ptrdiff_t ix = (ptrdiff_t)(ox * g->stride_w) + dx;
            size_t t = 0;
            /* Left padding, the in-bounds middle (contiguous when stride 1), right padding. */
            for (; t < run && ix < 0; t++, ix += sw) dst[i + t] = ZP;
            if (sw == 1) {
                size_t inside = ix < iw ? (size_t)(iw - ix) : 0;
                if (inside > run - t) inside = run - t;
                memcpy(dst + i + t, src + ix, inside);
                t += inside;
                ix += (ptrdiff_t)inside;
            } else {
                for (; t < run && ix < iw; t++, ix += sw) dst[i + t] = src[ix];
            }
            for (; t < run; t++) dst[i + t] = ZP;
        }
        i += run;
    }
}

void unirt_gemm_q_im2col_quad(const uint8_t *x, const unirt_conv2d_geometry *g, size_t k, size_t q, size_t p0,
                              size_t cols, size_t w, uint8_t rows[4][UNIRT_GEMM_U8S8Q_NR]) {
    const size_t kk = g->kernel_h * g->kernel_w;
    for (size_t b = 0; b < 4; b++) {
        const size_t row = 4 * q + b;
        memset(rows[b], ZP, w);
        if (row < k) unirt_gemm_q_im2col_row(x, g, row / kk, (row % kk) / g->kernel_w, row % g->kernel_w, p0, cols, rows[b]);
    }
}

void unirt_gemm_u8s8q_pack_x_conv_generic(const uint8_t *x, const unirt_conv2d_geometry *g,
                                          size_t channels, size_t pos_begin, size_t pos_end,
                                          void *packed) {
    const size_t n = pos_end - pos_begin, kk = g->kernel_h * g->kernel_w, k = channels * kk;
    const size_t kq = unirt_gemm_kquads(k), np = unirt_gemm_round16(n);
    uint8_t rows[4][NR];
    for (size_t j0 = 0; j0 < np; j0 += NR) {
        const size_t w = unirt_gemm_q_width(np, j0), cols = n - j0 < w ? n - j0 : w;
        uint8_t *panel = (uint8_t *)packed + j0 * kq * 4;
        for (size_t q = 0; q < kq; q++) {
            unirt_gemm_q_im2col_quad(x, g, k, q, pos_begin + j0, cols, w, rows);
            for (size_t c = 0; c < w; c++)
                for (size_t b = 0; b < 4; b++) panel[(q * w + c) * 4 + b] = rows[b][c];
        }
    }
}

/* ---- portable compute ----------------------------------------------------- */

static int32_t dot_q(const void *pw, const void *px, size_t k, size_t np, size_t m, size_t j) {
    const size_t kq = unirt_gemm_kquads(k);
    const uint8_t *block = (const uint8_t *)pw + (m / MR) * unirt_gemm_q_block_bytes(k);
    const int8_t *wr = (const int8_t *)(block + MR * sizeof(int32_t)) + (m % MR) * 4;
    const size_t j0 = j - j % NR, w = unirt_gemm_q_width(np, j0);
    const uint8_t *xc = (const uint8_t *)px + j0 * kq * 4 + (j - j0) * 4;
    int32_t acc;
    memcpy(&acc, block + (m % MR) * sizeof(int32_t), sizeof acc);
    for (size_t q = 0; q < kq; q++) {
        const int8_t *a = wr + q * MR * 4;
        const uint8_t *b = xc + q * w * 4;
        acc += (int32_t)a[0] * b[0] + (int32_t)a[1] * b[1] + (int32_t)a[2] * b[2] + (int32_t)a[3] * b[3];
    }
    return acc;
}

void unirt_gemm_u8s8q_compute_s32_generic(const void *pw, const void *px, size_t mb, size_t me,
                                          size_t k, size_t n, int32_t *y, size_t ldy) {
    const size_t np = unirt_gemm_round16(n);
    for (size_t m = mb; m < me; m++)
        for (size_t j = 0; j < n; j++) y[m * ldy + j] = dot_q(pw, px, k, np, m, j);
}

void unirt_gemm_u8s8q_compute_f32_generic(const void *pw, const void *px, size_t mb, size_t me,
                                          size_t k, size_t n, const float *row_scale,
                                          const unirt_epilogue *ep, float *y, size_t ldy) {
    const size_t np = unirt_gemm_round16(n);
    for (size_t m = mb; m < me; m++) {
        float *row = y + m * ldy;
        for (size_t j = 0; j < n; j++) row[j] = (float)dot_q(pw, px, k, np, m, j) * row_scale[m];
        if (ep) unirt_epilogue_row_generic(ep, m, row, ep->residual ? ep->residual + m * ldy : NULL, n);
    }
}

void unirt_gemm_u8s8q_compute_u8_generic(const void *pw, const void *px, size_t mb, size_t me,
                                         size_t k, size_t n, const float *row_scale,
                                         const unirt_epilogue *ep, float out_scale, int32_t out_zp,
                                         uint8_t *y, size_t ldy) {
    const size_t np = unirt_gemm_round16(n);
    for (size_t m = mb; m < me; m++)
        for (size_t j = 0; j < n; j++) {
            float v = (float)dot_q(pw, px, k, np, m, j) * row_scale[m];
            if (ep) v = unirt_epilogue_scalar(ep, m, v, ep->residual ? ep->residual[m * ldy + j] : 0.0f);
            y[m * ldy + j] = unirt_quant_u8_scalar(v, out_scale, out_zp);
        }
}

/* ---- dispatch -------------------------------------------------------------- */

/* Packers are exact for any data: VNNI, else AVX2, else portable. Compute: the
 * 8-bit entry points run VNNI or portable code; the 7-bit ones may also run the
 * AVX2 VPMADDUBSW kernels, which need weights in -64..63. */
#define PICK_Q(name) (unirt_gemm_u8s8q_native() ? name##_vnni : unirt_has_avx2() ? name##_avx2 : name##_generic)
#define PICK_Q8(name) (unirt_gemm_u8s8q_native() ? name##_vnni : name##_generic)

int32_t unirt_gemm_s8_fits7(const int8_t *w, size_t count) {
    for (size_t i = 0; i < count; i++)
        if (w[i] < -64 || w[i] > 63) return 0;
    return 1;
}

int32_t unirt_gemm_u8s8q7_fast(void) { return unirt_gemm_u8s8q_native() || unirt_has_avx2(); }

void unirt_gemm_u8s8q_pack_x(const uint8_t *x, size_t ld, size_t k, size_t n, void *packed) {
    PICK_Q(unirt_gemm_u8s8q_pack_x)(x, ld, k, n, packed);
}

void unirt_gemm_u8s8q_pack_x_f32(const float *x, size_t ld, size_t k, size_t n, float scale, void *packed) {
    PICK_Q(unirt_gemm_u8s8q_pack_x_f32)(x, ld, k, n, scale, packed);
}

void unirt_gemm_u8s8q_pack_x_conv(const uint8_t *x, const unirt_conv2d_geometry *g, size_t channels,
                                  size_t pos_begin, size_t pos_end, void *packed) {
    PICK_Q(unirt_gemm_u8s8q_pack_x_conv)(x, g, channels, pos_begin, pos_end, packed);
}

void unirt_gemm_u8s8q_compute_s32(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                  size_t n, int32_t *y, size_t ldy) {
    PICK_Q8(unirt_gemm_u8s8q_compute_s32)(pw, px, mb, me, k, n, y, ldy);
}

void unirt_gemm_u8s8q_compute_f32(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                  size_t n, const float *row_scale, const unirt_epilogue *ep,
                                  float *y, size_t ldy) {
    PICK_Q8(unirt_gemm_u8s8q_compute_f32)(pw, px, mb, me, k, n, row_scale, ep, y, ldy);
}

void unirt_gemm_u8s8q_compute_u8(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                 size_t n, const float *row_scale, const unirt_epilogue *ep,
                                 float out_scale, int32_t out_zero_point, uint8_t *y, size_t ldy) {
    PICK_Q8(unirt_gemm_u8s8q_compute_u8)(pw, px, mb, me, k, n, row_scale, ep, out_scale, out_zero_point, y, ldy);
}

void unirt_gemm_u8s8q7_compute_s32(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                   size_t n, int32_t *y, size_t ldy) {
    PICK_Q(unirt_gemm_u8s8q_compute_s32)(pw, px, mb, me, k, n, y, ldy);
}

void unirt_gemm_u8s8q7_compute_f32(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                   size_t n, const float *row_scale, const unirt_epilogue *ep,
                                   float *y, size_t ldy) {
    PICK_Q(unirt_gemm_u8s8q_compute_f32)(pw, px, mb, me, k, n, row_scale, ep, y, ldy);
}

void unirt_gemm_u8s8q7_compute_u8(const void *pw, const void *px, size_t mb, size_t me, size_t k,
                                  size_t n, const float *row_scale, const unirt_epilogue *ep,
                                  float out_scale, int32_t out_zero_point, uint8_t *y, size_t ldy) {
    PICK_Q(unirt_gemm_u8s8q_compute_u8)(pw, px, mb, me, k, n, row_scale, ep, out_scale, out_zero_point, y, ldy);
}
