/* Portable fused epilogue: bias, residual and activation per channel row. */
#include "kernels_internal.h"

void unirt_epilogue_row_generic(const unirt_epilogue *ep, size_t c, float *y, const float *r,
                                size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = unirt_epilogue_scalar(ep, c, y[i], r ? r[i] : 0.0f);
}

void unirt_epilogue_apply_generic(const unirt_epilogue *ep, float *y, size_t ld, size_t cb,
                                  size_t ce, size_t count) {
    for (size_t c = cb; c < ce; c++)
        unirt_epilogue_row_generic(ep, c, y + c * ld, ep->residual ? ep->residual + c * ld : NULL,
                                   count);
}
