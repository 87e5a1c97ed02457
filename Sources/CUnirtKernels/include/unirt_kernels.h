#ifndef UNIRT_KERNELS_H
#define UNIRT_KERNELS_H
/* SIMD microkernels of the unirt CPU backend. Each kernel has an AVX2/FMA
 * version and a portable fallback; the dispatcher picks one at run time from
 * CPU detection (unirt_cpu_features). */
#include <stddef.h>
#include <stdint.h>

/* CPU feature bits. */
enum {
    UNIRT_CPU_AVX2 = 1 << 0,
    UNIRT_CPU_FMA = 1 << 1,
    UNIRT_CPU_F16C = 1 << 2,
    UNIRT_CPU_AVX512F = 1 << 3,
    UNIRT_CPU_AVX512VNNI = 1 << 4,
    UNIRT_CPU_AVXVNNI = 1 << 5,
};

/* Features of the running CPU (cached after the first call). */
uint32_t unirt_cpu_features(void);

/* Forces the portable kernels (0) or lets detection decide (1); for tests. */
void unirt_cpu_set_simd_enabled(int enabled);

#endif
