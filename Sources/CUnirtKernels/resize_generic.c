/* Nearest-neighbour resize (integer factors, index tables) and 2-D padding.
 * Pure data movement: the compiler's vectorized copies are as fast as hand
 * intrinsics here, so there is one portable version. */
#include "kernels_internal.h"
#include <string.h>

void unirt_resize_nearest_int_compute(const float *x, size_t in_h, size_t in_w, size_t fh,
                                      size_t fw, float *y, size_t cb, size_t ce) {
    const size_t out_w = in_w * fw, out_plane = in_h * fh * out_w;
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * in_h * in_w;
        float *yc = y + c * out_plane;
        for (size_t iy = 0; iy < in_h; iy++) {
            float *row = yc + iy * fh * out_w;
            const float *src = xc + iy * in_w;
            if (fw == 2) {
                for (size_t ix = 0; ix < in_w; ix++) row[2 * ix] = row[2 * ix + 1] = src[ix];
            } else {
                for (size_t ix = 0; ix < in_w; ix++)
                    for (size_t r = 0; r < fw; r++) row[ix * fw + r] = src[ix];
            }
            for (size_t r = 1; r < fh; r++) memcpy(row + r * out_w, row, out_w * sizeof(float));
        }
    }
}

void unirt_resize_nearest_table_compute(const float *x, size_t in_h, size_t in_w,
                                        const int32_t *row_index, size_t out_h,
                                        const int32_t *col_index, size_t out_w, float *y,
                                        size_t cb, size_t ce) {
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * in_h * in_w;
        float *yc = y + c * out_h * out_w;
        for (size_t oy = 0; oy < out_h; oy++) {
            float *row = yc + oy * out_w;
            if (oy > 0 && row_index[oy] == row_index[oy - 1]) {
                memcpy(row, row - out_w, out_w * sizeof(float));
                continue;
            }
            const float *src = xc + (size_t)row_index[oy] * in_w;
            for (size_t ox = 0; ox < out_w; ox++) row[ox] = src[col_index[ox]];
        }
    }
}

/* Source index of padded coordinate i (may be negative or >= n). */
static inline ptrdiff_t pad_source(ptrdiff_t i, ptrdiff_t n, int32_t mode) {
    if (i >= 0 && i < n) return i;
    if (mode == UNIRT_PAD_EDGE) return i < 0 ? 0 : n - 1;
    if (mode == UNIRT_PAD_REFLECT) {
        if (n == 1) return 0;
        ptrdiff_t period = 2 * (n - 1);
        i %= period;
        if (i < 0) i += period;
        return i < n ? i : period - i;
    }
    return -1;
}

void unirt_pad2d_compute(const float *x, size_t in_h, size_t in_w, size_t pt, size_t pb, size_t pl,
                         size_t pr, int32_t mode, float value, float *y, size_t cb, size_t ce) {
    const size_t out_h = in_h + pt + pb, out_w = in_w + pl + pr;
    for (size_t c = cb; c < ce; c++) {
        const float *xc = x + c * in_h * in_w;
        float *yc = y + c * out_h * out_w;
        for (size_t oy = 0; oy < out_h; oy++) {
            float *row = yc + oy * out_w;
            ptrdiff_t sy = pad_source((ptrdiff_t)oy - (ptrdiff_t)pt, (ptrdiff_t)in_h, mode);
            if (sy < 0) {
                for (size_t ox = 0; ox < out_w; ox++) row[ox] = value;
                continue;
            }
            const float *src = xc + (size_t)sy * in_w;
            for (size_t ox = 0; ox < pl; ox++) {
                ptrdiff_t sx = pad_source((ptrdiff_t)ox - (ptrdiff_t)pl, (ptrdiff_t)in_w, mode);
                row[ox] = sx < 0 ? value : src[sx];
            }
            memcpy(row + pl, src, in_w * sizeof(float));
            for (size_t ox = pl + in_w; ox < out_w; ox++) {
                ptrdiff_t sx = pad_source((ptrdiff_t)ox - (ptrdiff_t)pl, (ptrdiff_t)in_w, mode);
                row[ox] = sx < 0 ? value : src[sx];
            }
        }
    }
}
