/* Direct convolution (unirt_conv_direct_compute) against im2col + OpenBLAS
 * sgemm + epilogue (the CPU backend's general path) on the small-channel
 * layers of the real models, at 1 and 2 threads. Build and run with
 * bench/kernels/run.sh. Prints one line per layer and thread count:
 * fastest milliseconds of each path, GFLOP/s and the speedup. */
#include "unirt_kernels.h"
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int);

typedef struct {
    const char *name;
    size_t c, m, h, w, k, stride, pad;
    int32_t activation;
} layer;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Everything one run needs; threads split [0, parts) of some dimension. */
typedef struct {
    const layer *l;
    unirt_conv2d_geometry g;
    const float *x, *w, *packed;
    unirt_epilogue ep;
    float *y, *cols;
    size_t tile, p0, n;
    int threads, split_rows;
} ctx;

typedef struct { ctx *c; int t; void (*fn)(ctx *, int); } task;

static void *run_task(void *p) {
    task *t = p;
    t->fn(t->c, t->t);
    return NULL;
}

static void parallel(ctx *c, void (*fn)(ctx *, int)) {
    pthread_t th[8];
    task ts[8];
    for (int t = 0; t < c->threads; t++) ts[t] = (task){c, t, fn};
    for (int t = 1; t < c->threads; t++) pthread_create(&th[t], NULL, run_task, &ts[t]);
    run_task(&ts[0]);
    for (int t = 1; t < c->threads; t++) pthread_join(th[t], NULL);
}

static void im2col_part(ctx *c, int t) {
    size_t cb = c->l->c * t / c->threads, ce = c->l->c * (t + 1) / c->threads;
    unirt_im2col_compute(c->x, &c->g, cb, ce, c->p0, c->p0 + c->n, c->cols + cb * c->l->k * c->l->k * c->n);
}

static void epilogue_part(ctx *c, int t) {
    size_t plane = c->g.out_h * c->g.out_w;
    size_t mb = c->l->m * t / c->threads, me = c->l->m * (t + 1) / c->threads;
    unirt_epilogue_apply(&c->ep, c->y, plane, mb, me, plane);
}

static void gemm_path(ctx *c) {
    const size_t kdim = c->l->c * c->l->k * c->l->k, plane = c->g.out_h * c->g.out_w;
    for (size_t p0 = 0; p0 < plane; p0 += c->tile) {
        c->p0 = p0;
        c->n = plane - p0 < c->tile ? plane - p0 : c->tile;
        parallel(c, im2col_part);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->l->m, (int)c->n, (int)kdim, 1,
                    c->w, (int)kdim, c->cols, (int)c->n, 0, c->y + p0, (int)plane);
    }
    parallel(c, epilogue_part);
}

static void direct_part(ctx *c, int t) {
    if (c->split_rows) {
        size_t rb = c->g.out_h * t / c->threads, re = c->g.out_h * (t + 1) / c->threads;
        unirt_conv_direct_compute(c->x, c->packed, &c->g, &c->ep, c->y, 0, c->l->m, rb, re);
    } else {
        /* Channel split on block multiples. */
        size_t blk = c->l->m < UNIRT_CONV_DIRECT_MAX_BLOCK ? c->l->m : UNIRT_CONV_DIRECT_MAX_BLOCK;
        size_t nb = (c->l->m + blk - 1) / blk;
        size_t mb = nb * t / c->threads * blk, me = nb * (t + 1) / c->threads * blk;
        if (me > c->l->m) me = c->l->m;
        unirt_conv_direct_compute(c->x, c->packed, &c->g, &c->ep, c->y, mb, me, 0, c->g.out_h);
    }
}

static void direct_path(ctx *c) { parallel(c, direct_part); }

static double time_median(ctx *c, void (*fn)(ctx *), int reps) {
    double t[64];
    fn(c);
    for (int i = 0; i < reps; i++) {
        double a = now_ms();
        fn(c);
        t[i] = now_ms() - a;
    }
    qsort(t, reps, sizeof(double), cmp_double);
    return t[0]; /* fastest: the machine is shared, so slower runs measure others */
}

static float frand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

int main(int argc, char **argv) {
    const layer layers[] = {
        {"yunet conv0 3->16 3x3 s2 640", 3, 16, 640, 640, 3, 2, 1, UNIRT_ACT_RELU},
        {"multistyle first 3->32 9x9 512", 3, 32, 520, 520, 9, 1, 0, UNIRT_ACT_NONE},
        {"multistyle last 32->3 9x9 512", 32, 3, 520, 520, 9, 1, 0, UNIRT_ACT_NONE},
    };
    int reps = argc > 1 ? atoi(argv[1]) : 9;
    if (reps > 64) reps = 64;
    printf("isa %s, %d repetitions, best-of ms\n", unirt_kernels_isa(), reps);
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const layer *l = &layers[li];
        unirt_conv2d_geometry g = {l->h, l->w, (l->h + 2 * l->pad - l->k) / l->stride + 1,
                                   (l->w + 2 * l->pad - l->k) / l->stride + 1, l->k, l->k, l->stride,
                                   l->stride, 1, 1, l->pad, l->pad, l->pad, l->pad};
        const size_t plane = g.out_h * g.out_w, kdim = l->c * l->k * l->k;
        float *x = malloc(l->c * l->h * l->w * 4), *w = malloc(l->m * kdim * 4);
        float *bias = malloc(l->m * 4), *y0 = malloc(l->m * plane * 4), *y1 = malloc(l->m * plane * 4);
        unsigned s = 7;
        for (size_t i = 0; i < l->c * l->h * l->w; i++) x[i] = frand(&s);
        for (size_t i = 0; i < l->m * kdim; i++) w[i] = frand(&s) * 0.1f;
        for (size_t i = 0; i < l->m; i++) bias[i] = frand(&s);
        float *packed = malloc(unirt_conv_direct_packed_floats(l->m, l->c, l->k, l->k) * 4);
        unirt_conv_direct_pack_weights(w, l->m, l->c, l->k, l->k, packed);
        size_t tile = (4u << 20) / kdim;
        if (tile > plane) tile = plane;
        float *cols = malloc(kdim * tile * 4);
        const double gflop = 2.0 * l->m * plane * kdim / 1e9;
        for (int threads = 1; threads <= 2; threads++) {
            openblas_set_num_threads(threads);
            ctx c = {.l = l, .g = g, .x = x, .w = w, .packed = packed, .cols = cols, .tile = tile,
                     .threads = threads,
                     .ep = {.bias = bias, .activation = l->activation}};
            c.y = y0;
            double tg = time_median(&c, gemm_path, reps);
            c.y = y1;
            c.split_rows = 1;
            double tr = time_median(&c, direct_path, reps);
            double tc = tr;
            if (threads > 1 && l->m > UNIRT_CONV_DIRECT_MAX_BLOCK) {
                c.split_rows = 0;
                tc = time_median(&c, direct_path, reps);
            }
            double worst = 0;
            for (size_t i = 0; i < l->m * plane; i++) {
                double d = fabs((double)y1[i] - y0[i]) / fmax(fabs((double)y0[i]), 1e-3);
                if (d > worst) worst = d;
            }
            printf("%-32s T=%d  im2col+sgemm %8.2f ms (%5.1f GF/s)  direct rows %8.2f ms (%5.1f GF/s)"
                   "  direct channels %8.2f ms  speedup %.2fx  max rel diff %.1e\n",
                   l->name, threads, tg, gflop / tg * 1e3, tr, gflop / tr * 1e3, tc,
                   tg / (tr < tc ? tr : tc), worst);
        }
        free(x); free(w); free(bias); free(y0); free(y1); free(packed); free(cols);
    }
    return 0;
}
