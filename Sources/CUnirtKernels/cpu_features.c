#include "unirt_kernels.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* Both flags are read and written with relaxed atomics: detection is
 * idempotent, so racing first calls store the same value. */
static int simd_enabled = 1;

void unirt_cpu_set_simd_enabled(int enabled) { __atomic_store_n(&simd_enabled, enabled, __ATOMIC_RELAXED); }

uint32_t unirt_cpu_features(void) {
    static int cached = -1;
    if (!__atomic_load_n(&simd_enabled, __ATOMIC_RELAXED)) return 0;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known >= 0) return (uint32_t)known;
    uint32_t f = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        int osxsave = (c >> 27) & 1;
        if ((c >> 12) & 1) f |= UNIRT_CPU_FMA;
        if ((c >> 29) & 1) f |= UNIRT_CPU_F16C;
        if (osxsave) {
            unsigned xlo, xhi;
            __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
            int ymm = (xlo & 6) == 6;
            int zmm = (xlo & 0xe6) == 0xe6;
            if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
                if (ymm && ((b >> 5) & 1)) f |= UNIRT_CPU_AVX2;
                if (zmm && ((b >> 16) & 1)) f |= UNIRT_CPU_AVX512F;
                if (zmm && ((c >> 11) & 1)) f |= UNIRT_CPU_AVX512VNNI;
            }
            if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
                if (ymm && ((a >> 4) & 1)) f |= UNIRT_CPU_AVXVNNI;
            }
            if (!ymm) f &= ~(uint32_t)(UNIRT_CPU_FMA | UNIRT_CPU_F16C);
        }
    }
#endif
    /* UNIRT_CPU_ISA caps what the kernels use: "avx2" (no AVX-512) or "generic" (no SIMD). */
    const char *cap = getenv("UNIRT_CPU_ISA");
    if (cap && strcmp(cap, "avx2") == 0) f &= ~(uint32_t)(UNIRT_CPU_AVX512F | UNIRT_CPU_AVX512VNNI);
    if (cap && strcmp(cap, "generic") == 0) f = 0;
    __atomic_store_n(&cached, (int)f, __ATOMIC_RELAXED);
    return f;
}

const char *unirt_kernels_isa(void) {
    const uint32_t need = UNIRT_CPU_AVX2 | UNIRT_CPU_FMA;
    return (unirt_cpu_features() & need) == need ? "avx2" : "generic";
}
