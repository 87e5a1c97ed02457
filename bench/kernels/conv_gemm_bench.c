/* Cache-tiled convolution GEMM vs the other CPU paths on the layers of
 * YuNet, multistyle26 and SFace, one thread, fastest of N runs:
 * unirt_conv_gemm_compute, unirt_conv_direct_compute (where it applies) and
 * im2col tiles of 4 Mi floats + OpenBLAS sgemm + epilogue. Build and run with
 * bench/kernels/run-conv-gemm.sh [repetitions]. */
#include "unirt_kernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int reps = 9;

static void layer(const char *name, size_t c, size_t m, size_t h, size_t w, size_t k, size_t s,
                  size_t pad) {
    unirt_conv2d_geometry g = {h, w, (h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1, k, k, s, s,
                               1, 1, pad, pad, pad, pad};
    const size_t kd = c * k * k, plane = g.out_h * g.out_w;
    float *x = malloc(c * h * w * 4), *wt = malloc(m * kd * 4), *y = malloc(m * plane * 4);
    float *bias = malloc(m * 4);
    for (size_t i = 0; i < c * h * w; i++) x[i] = (float)((i * 7919) % 1000) / 1000.f - 0.5f;
    for (size_t i = 0; i < m * kd; i++) wt[i] = (float)((i * 31) % 100) / 100.f - 0.5f;
    for (size_t i = 0; i < m; i++) bias[i] = 0.1f;
    unirt_epilogue ep = {bias, NULL, 0, UNIRT_ACT_RELU, 0, 0, NULL};
    float *packed = malloc(unirt_conv_gemm_packed_floats(m, kd) * 4);
    unirt_conv_gemm_pack_weights(wt, m, kd, packed);
    float *scratch = malloc((unirt_conv_gemm_scratch_floats(&g, c) + 16) * 4);
    float *dpacked = malloc(unirt_conv_direct_packed_floats(m, c, k, k) * 4);
    unirt_conv_direct_pack_weights(wt, m, c, k, k, dpacked);
    const size_t tile = plane < (4u << 20) / kd ? plane : (4u << 20) / kd;
    float *cols = malloc(kd * tile * 4);
    double best[3] = {1e9, 1e9, 1e9};
    for (int r = 0; r < reps; r++) {
        double t = now();
        unirt_conv_gemm_compute(x, c, packed, m, &g, &ep, y, 0, plane, scratch);
        t = now() - t;
        if (t < best[0]) best[0] = t;
        if (k > 1) {
            t = now();
            unirt_conv_direct_compute(x, dpacked, &g, &ep, y, 0, m, 0, g.out_h);
            t = now() - t;
            if (t < best[1]) best[1] = t;
        }
        t = now();
        for (size_t p0 = 0; p0 < plane; p0 += tile) {
            const size_t n = plane - p0 < tile ? plane - p0 : tile;
            unirt_im2col_compute(x, &g, 0, c, p0, p0 + n, cols);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)kd, 1, wt,
                        (int)kd, cols, (int)n, 0, y + p0, (int)plane);
        }
        unirt_epilogue_apply(&ep, y, plane, 0, m, plane);
        t = now() - t;
        if (t < best[2]) best[2] = t;
    }
    const double flop = 2.0 * m * kd * plane * 1e-9;
    printf("| %s | %.2f ms (%.0f GF/s) | ", name, best[0] * 1e3, flop / best[0]);
    if (k > 1) printf("%.2f ms | ", best[1] * 1e3); else printf("- | ");
    printf("%.2f ms |\n", best[2] * 1e3);
    free(x); free(wt); free(y); free(bias); free(packed); free(scratch); free(dpacked); free(cols);
}

int main(int argc, char **argv) {
    if (argc > 1) reps = atoi(argv[1]);
    openblas_set_num_threads(1);
    printf("microkernel: %s, 1 thread, fastest of %d\n\n", unirt_conv_gemm_isa(), reps);
    printf("| layer | conv gemm | direct | im2col+sgemm |\n|---|---|---|---|\n");
    layer("YuNet Conv_0 3->16 3x3 s2 640", 3, 16, 640, 640, 3, 2, 1);
    layer("YuNet 16->16 1x1 320", 16, 16, 320, 320, 1, 1, 0);
    layer("YuNet 32->64 1x1 160", 32, 64, 160, 160, 1, 1, 0);
    layer("YuNet 64->64 1x1 80", 64, 64, 80, 80, 1, 1, 0);
    layer("multistyle26 res 32->32 3x3 128", 32, 32, 130, 130, 3, 1, 0);
    layer("multistyle26 contract 32->32 3x3 s2 256", 32, 32, 514, 514, 3, 2, 0);
    layer("multistyle26 first 3->32 9x9 512", 3, 32, 520, 520, 9, 1, 0);
    layer("SFace 64->64 3x3 56", 64, 64, 56, 56, 3, 1, 1);
    return 0;
}
