/// The int8 convolution kernels (appended to the float kernels in `CUDAKernelSource.source`).
///
/// Implicit-GEMM convolution on tensor cores: NHWC s8 activations (zero point 0),
/// s8 weights in [K][R][S][C] order, int32 accumulation, and a float epilogue that
/// applies the per-output-channel scale `s_x · s_w[k]`, bias, residual (fp16 NHWC),
/// activation, then stores s8 on the next layer's grid or fp16 — and, beside fp16, optionally the
/// per-channel affine map of that fp16 value on an s8 grid (a BatchNormalization folded in). Rows of the GEMM are
/// output pixels, columns output channels, the reduction runs over (r, s, c) in
/// 16-byte chunks (C is a multiple of 16), loaded with cp.async into a multi-stage
/// ring of XOR-swizzled shared-memory tiles; out-of-image taps are zero-filled.
///
/// - `qconv_BMxBN` (sm_80+): warp-level `mma.sync` m16n8k32, fragments by `ldmatrix`.
/// - `wgconv_128xBN[...]` (sm_90a): warpgroup `wgmma` m64nBNk32 reading both operands
///   straight from shared memory through 64- or 128-byte swizzle descriptors.
///
/// Both epilogues stage the block's fp32 tile in the (then idle) shared-memory ring and read
/// the residual and write the outputs 8 channels (16 or 8 bytes) of a pixel at a time.
///
/// Products are exact in int32, so every variant gives the same accumulator as the
/// reference; which one a layer uses is decided by timing at plan build time.
extension CUDAKernelSource {
    /// The mma.sync variants: name, block tile (rows, columns), threads, dynamic shared bytes.
    public static let immaKernels: [CUDAInt8Kernel] = [
        CUDAInt8Kernel(name: "qconv_128x128", rows: 128, columns: 128, threads: 256, sharedBytes: 4 * 256 * 64, hopper: false),
        CUDAInt8Kernel(name: "qconv_128x64", rows: 128, columns: 64, threads: 256, sharedBytes: 4 * 192 * 64, hopper: false),
        CUDAInt8Kernel(name: "qconv_64x64", rows: 64, columns: 64, threads: 128, sharedBytes: 4 * 128 * 64, hopper: false),
        CUDAInt8Kernel(name: "wgconv_128x64", rows: 128, columns: 64, threads: 256, sharedBytes: 4 * 192 * 64, hopper: true),
        CUDAInt8Kernel(name: "wgconv_128x64k128", rows: 128, columns: 64, threads: 256, sharedBytes: 3 * 192 * 128, hopper: true),
        CUDAInt8Kernel(name: "wgconv_128x64k128s4", rows: 128, columns: 64, threads: 256, sharedBytes: 4 * 192 * 128, hopper: true),
        CUDAInt8Kernel(name: "wgconv_128x128", rows: 128, columns: 128, threads: 256, sharedBytes: 4 * 256 * 64, hopper: true),
        CUDAInt8Kernel(name: "wgconv_128x128s6", rows: 128, columns: 128, threads: 256, sharedBytes: 6 * 256 * 64, hopper: true),
        CUDAInt8Kernel(name: "wgconv_128x128k128", rows: 128, columns: 128, threads: 256, sharedBytes: 3 * 256 * 128, hopper: true),
    ]

    static let int8Source = #"""
// NHWC s8 activations, [K][R][S][C] s8 weights, int32 accumulation, float epilogue.
struct QGeom { i64 N, H, W, C, K, OH, OW, R, S, sh, sw, ph, pw, dh, dw, M, Kd; };

__device__ __forceinline__ unsigned smem_addr(const void *p) {
    unsigned r; asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p)); return r;
}
__device__ __forceinline__ void cp_async16(unsigned dst, const void *src, bool valid) {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" :: "r"(dst), "l"(src), "r"(valid ? 16 : 0));
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;");
#endif
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;" :: "n"(N));
#endif
}
__device__ __forceinline__ void ldsm4(unsigned addr, unsigned &a, unsigned &b, unsigned &c, unsigned &d) {
#if __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(a), "=r"(b), "=r"(c), "=r"(d) : "r"(addr));
#endif
}
__device__ __forceinline__ void mma_s8(int *c, const unsigned *a, const unsigned *b) {
#if __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
// Rows of 64 bytes (four 16-byte chunks), chunks XOR-swizzled by row pair: ldmatrix reads conflict-free.
__device__ __forceinline__ int swz(int row, int ch) { return row * 64 + ((ch ^ ((row >> 1) & 3)) << 4); }

__device__ __forceinline__ float h2f(half_t h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ half_t f2h(float v) { half_t h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v)); return h; }
__device__ __forceinline__ int q8(float v) { return (int)fminf(fmaxf(rintf(v), -128.f), 127.f); }


// act: 0 none, 1 relu, 4 leaky (alpha), 5 clip (alpha, beta), 16 prelu (slope p).
__device__ __forceinline__ float qact(float v, int act, float alpha, float beta, float p) {
    switch (act) {
    case 1: return fmaxf(v, 0.f);
    case 4: return v >= 0.f ? v : alpha * v;
    case 5: return fminf(fmaxf(v, alpha), beta);
    case 16: return v >= 0.f ? v : p * v;
    default: return v;
    }
}

// A second output beside an fp16 one: the per-channel affine map of the stored fp16 value, on the s8 grid of
// q2 (a BatchNormalization whose output only int8 layers read), rounded as `channel_affine_s8` rounds it.
struct QAffine { signed char *y; const float *scale, *shift; float q; };

// Where acc · scale + bias of (row, col) lies in the epilogue's fp32 tile: rows of BN floats, 8-float groups
// XOR-swizzled by row, so that a half-warp's 64-bit stores of an MMA fragment (4 rows × 8 floats) hit 32 banks.
template <int BN> __device__ __forceinline__ int tile_at(int row, int col) { return row * BN + (col ^ ((row & 3) << 3)); }

// The second half of the int8 epilogue, after the block's BM × BN tile of acc · scale + bias went to shared memory:
// residual, activation, then s8 (× outInv) or fp16 (and s8 through `a2`), 8 channels of one pixel per thread and
// pass, so that the residual is read and the outputs written in 16-byte (fp16) or 8-byte (s8) pieces. The residuals
// of all passes are loaded first, to have them in flight together. K is a multiple of 8.
template <int BM, int BN, int T>
__device__ __forceinline__ void qepilogue(const float *tile, int bm, int bn, int M, int K, const half_t *z,
                                          const float *slope, void *y, int act, float alpha, float beta,
                                          int residualBefore, int outInt8, float outInv, const QAffine &a2) {
    constexpr int CPR8 = BN / 8, RPASS = T / CPR8, PASSES = BM / RPASS;
    const int c8 = (threadIdx.x % CPR8) * 8, k8 = bn + c8, row0 = threadIdx.x / CPR8;
    if (k8 >= K) return;
    uint4 zr[PASSES];
#pragma unroll
    for (int i = 0; i < PASSES; ++i) {
        const int m = bm + row0 + i * RPASS;
        zr[i] = z && m < M ? *(const uint4 *)(z + (i64)m * K + k8) : make_uint4(0u, 0u, 0u, 0u);
    }
    float p[8], s2[8], t2[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        p[i] = slope ? slope[k8 + i] : 0.f;
        s2[i] = a2.y ? a2.scale[k8 + i] : 0.f;
        t2[i] = a2.y ? a2.shift[k8 + i] : 0.f;
    }
#pragma unroll
    for (int pass = 0; pass < PASSES; ++pass) {
        const int row = row0 + pass * RPASS, m = bm + row;
        if (m >= M) break;
        const float4 *src = (const float4 *)(tile + tile_at<BN>(row, c8));
        const float4 lo = src[0], hi = src[1];
        float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
        const unsigned zw[4] = {zr[pass].x, zr[pass].y, zr[pass].z, zr[pass].w};
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            // Without a residual this adds +0 (−0 becomes +0), as the pair-wise epilogue before it did.
            const float zi = h2f((half_t)(i & 1 ? zw[i >> 1] >> 16 : zw[i >> 1] & 0xffff));
            if (residualBefore) v[i] += zi;
            v[i] = qact(v[i], act, alpha, beta, p[i]);
            if (!residualBefore) v[i] += zi;
        }
        const i64 o = (i64)m * K + k8;
        if (outInt8) {
            unsigned q[2] = {0u, 0u};
#pragma unroll
            for (int i = 0; i < 8; ++i) q[i >> 2] |= ((unsigned)q8(v[i] * outInv) & 0xffu) << (8 * (i & 3));
            *(uint2 *)((signed char *)y + o) = make_uint2(q[0], q[1]);
            continue;
        }
        half_t h[8];
#pragma unroll
        for (int i = 0; i < 8; ++i) h[i] = f2h(v[i]);
        *(uint4 *)((half_t *)y + o) = make_uint4((unsigned)h[0] | ((unsigned)h[1] << 16), (unsigned)h[2] | ((unsigned)h[3] << 16),
                                                 (unsigned)h[4] | ((unsigned)h[5] << 16), (unsigned)h[6] | ((unsigned)h[7] << 16));
        if (a2.y) {
            unsigned q[2] = {0u, 0u};
#pragma unroll
            for (int i = 0; i < 8; ++i) q[i >> 2] |= ((unsigned)(int)q8f(h2f(h[i]) * s2[i] + t2[i], a2.q) & 0xffu) << (8 * (i & 3));
            *(uint2 *)(a2.y + o) = make_uint2(q[0], q[1]);
        }
    }
}

// y = act(acc · scale[k] + bias[k] (+ z)) (+ z), stored as s8 (× outInv) or fp16.
// act: 0 none, 1 relu, 4 leaky (alpha), 5 clip (alpha, beta), 16 prelu (slope[k]).
template <int BM, int BN, int WM, int WN, int STAGES>
__device__ __forceinline__ void qconv_k(const signed char *__restrict__ x, const signed char *__restrict__ w,
                                        const float *__restrict__ scale, const float *__restrict__ bias,
                                        const half_t *__restrict__ z, const float *__restrict__ slope, void *y,
                                        QGeom g64, int act, float alpha, float beta, int residualBefore,
                                        int outInt8, float outInv, QAffine a2) {
    constexpr int T = WM * WN * 32;
    constexpr int MT = BM / WM / 16, NT = BN / WN / 8;
    constexpr int APT = BM * 4 / T, BPT = BN * 4 / T;
    static_assert(STAGES * (BM + BN) * 64 >= BM * BN * 4, "the epilogue's fp32 tile must fit in the ring");
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char *sA = smem, *sB = smem + STAGES * BM * 64;
    const int H = (int)g64.H, W = (int)g64.W, C = (int)g64.C, K = (int)g64.K, OH = (int)g64.OH, OW = (int)g64.OW;
    const int R = (int)g64.R, S = (int)g64.S, Kd = (int)g64.Kd, M = (int)g64.M;
    const int ntiles = (K + BN - 1) / BN;
    const int bm = (blockIdx.x / ntiles) * BM, bn = (blockIdx.x % ntiles) * BN;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm0 = (warp / WN) * (BM / WM), wn0 = (warp % WN) * (BN / WN);
    const int ch = tid & 3;

    // Per-thread A rows: output pixel → input origin.
    int ih0[APT], iw0[APT]; i64 nb[APT];
    for (int j = 0; j < APT; ++j) {
        int m = bm + (tid >> 2) + j * (T / 4);
        if (m < M) {
            int n = m / (OH * OW), p = m % (OH * OW);
            ih0[j] = (p / OW) * (int)g64.sh - (int)g64.ph; iw0[j] = (p % OW) * (int)g64.sw - (int)g64.pw;
            nb[j] = (i64)n * H * W * C;
        } else { ih0[j] = -1 << 28; iw0[j] = 0; nb[j] = 0; }
    }
    // This thread's chunk position in the reduction (r, s, c), advanced 64 bytes per tile.
    int kd = ch * 16, c = kd % C, rs = kd / C, r = rs / S, s = rs % S;
    const int KT = (Kd + 63) / 64;
    const int dh = (int)g64.dh, dw = (int)g64.dw;

    auto load = [&](int stage, int kt) {
        unsigned char *a = sA + stage * BM * 64, *b = sB + stage * BN * 64;
        const bool kval = kd < Kd;
        for (int j = 0; j < APT; ++j) {
            int row = (tid >> 2) + j * (T / 4);
            int ih = ih0[j] + r * dh, iw = iw0[j] + s * dw;
            bool v = kval && (unsigned)ih < (unsigned)H && (unsigned)iw < (unsigned)W;
            const signed char *src = v ? x + nb[j] + ((i64)ih * W + iw) * C + c : x;
            cp_async16(smem_addr(a + swz(row, ch)), src, v);
        }
        for (int j = 0; j < BPT; ++j) {
            int row = (tid >> 2) + j * (T / 4);
            bool v = kval && bn + row < K;
            const signed char *src = v ? w + (i64)(bn + row) * Kd + kd : w;
            cp_async16(smem_addr(b + swz(row, ch)), src, v);
        }
        kd += 64; c += 64;
        while (c >= C) { c -= C; if (++s == S) { s = 0; ++r; } }
    };

    int acc[MT][NT][4];
    for (int i = 0; i < MT; ++i) for (int j = 0; j < NT; ++j) for (int q = 0; q < 4; ++q) acc[i][j][q] = 0;

    for (int st = 0; st < STAGES - 1; ++st) { if (st < KT) load(st, st); cp_async_commit(); }
    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        { int nk = kt + STAGES - 1; if (nk < KT) load(nk % STAGES, nk); cp_async_commit(); }
        const int stage = kt % STAGES;
        const unsigned aBase = smem_addr(sA + stage * BM * 64), bBase = smem_addr(sB + stage * BN * 64);
#pragma unroll
        for (int ks = 0; ks < 2; ++ks) {
            unsigned af[MT][4], bf[NT][2];
#pragma unroll
            for (int i = 0; i < MT; ++i) {
                int row = wm0 + i * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
                ldsm4(aBase + swz(row, 2 * ks + (lane >> 4)), af[i][0], af[i][1], af[i][2], af[i][3]);
            }
#pragma unroll
            for (int j = 0; j < NT; j += 2) {
                int row = wn0 + j * 8 + (lane & 7) + (lane >> 4) * 8;
                ldsm4(bBase + swz(row, 2 * ks + ((lane >> 3) & 1)), bf[j][0], bf[j][1], bf[j + 1][0], bf[j + 1][1]);
            }
#pragma unroll
            for (int i = 0; i < MT; ++i)
#pragma unroll
                for (int j = 0; j < NT; ++j) mma_s8(acc[i][j], af[i], bf[j]);
        }
    }
    cp_async_wait<0>();
    __syncthreads();  // the ring is free: it takes the fp32 tile

    float *tile = (float *)smem;
    const int gq = lane >> 2, tq = lane & 3;
#pragma unroll
    for (int j = 0; j < NT; ++j) {
        const int col = wn0 + j * 8 + tq * 2, k = bn + col;
        if (k >= K) continue;
        const float sc0 = scale[k], sc1 = scale[k + 1];
        const float b0 = bias ? bias[k] : 0.f, b1 = bias ? bias[k + 1] : 0.f;
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
            for (int hrow = 0; hrow < 2; ++hrow) {
                const int row = wm0 + i * 16 + gq + hrow * 8;
                *(float2 *)(tile + tile_at<BN>(row, col)) =
                    make_float2((float)acc[i][j][hrow * 2] * sc0 + b0, (float)acc[i][j][hrow * 2 + 1] * sc1 + b1);
            }
    }
    __syncthreads();
    qepilogue<BM, BN, T>(tile, bm, bn, M, K, z, slope, y, act, alpha, beta, residualBefore, outInt8, outInv, a2);
}

#define QCONV_ENTRY(NAME, BM, BN, WM, WN, ST) \
extern "C" __global__ void __launch_bounds__(WM * WN * 32) NAME(const signed char *x, const signed char *w, const float *scale, \
    const float *bias, const half_t *z, const float *slope, void *y, QGeom g, int act, float alpha, float beta, \
    int residualBefore, int outInt8, float outInv, signed char *y2, const float *scale2, const float *shift2, float q2) { \
    qconv_k<BM, BN, WM, WN, ST>(x, w, scale, bias, z, slope, y, g, act, alpha, beta, residualBefore, outInt8, outInv, \
                                QAffine{y2, scale2, shift2, q2}); }
QCONV_ENTRY(qconv_128x128, 128, 128, 2, 4, 4)
QCONV_ENTRY(qconv_128x64, 128, 64, 4, 2, 4)
QCONV_ENTRY(qconv_64x64, 64, 64, 2, 2, 4)

__device__ __forceinline__ void wgmma_n64(int *d, unsigned long long da, unsigned long long db) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{ .reg .pred p; setp.ne.b32 p, %34, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p; }\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31])
        : "l"(da), "l"(db), "r"(1));
#endif
}
__device__ __forceinline__ void wgmma_n128(int *d, unsigned long long da, unsigned long long db) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{ .reg .pred p; setp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p; }\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]),
          "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]),
          "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]),
          "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
          "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
        : "l"(da), "l"(db), "r"(1));
#endif
}
// K-major shared-memory operand, rows of KB bytes (64: 64-byte swizzle, 128: 128-byte swizzle); 8-row groups 8·KB apart.
template <int KB> __device__ __forceinline__ unsigned long long wg_desc(unsigned addr) {
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | (1ull << 16) | ((unsigned long long)(KB * 8 / 16) << 32) |
           ((KB == 128 ? 1ull : 2ull) << 62);
}
template <int KB> __device__ __forceinline__ int swzk(int row, int ch) {
    return KB == 128 ? row * 128 + ((ch ^ (row & 7)) << 4) : row * 64 + ((ch ^ ((row >> 1) & 3)) << 4);
}
__device__ __forceinline__ void wg_fence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#endif
}
__device__ __forceinline__ void wg_commit() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
#endif
}
template <int N> __device__ __forceinline__ void wg_wait() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("wgmma.wait_group.sync.aligned %0;" :: "n"(N) : "memory");
#endif
}
__device__ __forceinline__ void proxy_fence() {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
}
__device__ __forceinline__ void reg_fence(int &r) { asm volatile("" : "+r"(r) :: "memory"); }

template <int BN> __device__ __forceinline__ void wgmma_bn(int *d, unsigned long long da, unsigned long long db);
template <> __device__ __forceinline__ void wgmma_bn<64>(int *d, unsigned long long da, unsigned long long db) { wgmma_n64(d, da, db); }
template <> __device__ __forceinline__ void wgmma_bn<128>(int *d, unsigned long long da, unsigned long long db) { wgmma_n128(d, da, db); }

// Block: 128 output pixels × BN output channels, two warpgroups of 64 pixels each.
template <int BN, int STAGES, int KB>
__device__ __forceinline__ void wgconv_k(const signed char *__restrict__ x, const signed char *__restrict__ w,
                                         const float *__restrict__ scale, const float *__restrict__ bias,
                                         const half_t *__restrict__ z, const float *__restrict__ slope, void *y,
                                         QGeom g64, int act, float alpha, float beta, int residualBefore,
                                         int outInt8, float outInv, QAffine a2) {
    constexpr int BM = 128, T = 256, CPR = KB / 16, RPP = T / CPR, APT = BM / RPP, BPT = BN / RPP, D = STAGES - 2;
    static_assert(STAGES * (BM + BN) * KB >= BM * BN * 4, "the epilogue's fp32 tile must fit in the ring");
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char *sA = smem, *sB = smem + STAGES * BM * KB;
    const int H = (int)g64.H, W = (int)g64.W, C = (int)g64.C, K = (int)g64.K, OH = (int)g64.OH, OW = (int)g64.OW;
    const int S = (int)g64.S, Kd = (int)g64.Kd, M = (int)g64.M;
    const int ntiles = (K + BN - 1) / BN;
    const int bm = (blockIdx.x / ntiles) * BM, bn = (blockIdx.x % ntiles) * BN;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wg = warp >> 2;
    const int ch = tid % CPR;

    int ih0[APT], iw0[APT]; i64 nb[APT];
    for (int j = 0; j < APT; ++j) {
        int m = bm + tid / CPR + j * RPP;
        if (m < M) {
            int n = m / (OH * OW), p = m % (OH * OW);
            ih0[j] = (p / OW) * (int)g64.sh - (int)g64.ph; iw0[j] = (p % OW) * (int)g64.sw - (int)g64.pw;
            nb[j] = (i64)n * H * W * C;
        } else { ih0[j] = -1 << 28; iw0[j] = 0; nb[j] = 0; }
    }
    int kd = ch * 16, c = kd % C, rs = kd / C, r = rs / S, s = rs % S;
    const int KT = (Kd + KB - 1) / KB;
    const int dh = (int)g64.dh, dw = (int)g64.dw;
    auto load = [&](int stage) {
        unsigned char *a = sA + stage * BM * KB, *b = sB + stage * BN * KB;
        const bool kval = kd < Kd;
        for (int j = 0; j < APT; ++j) {
            int row = tid / CPR + j * RPP;
            int ih = ih0[j] + r * dh, iw = iw0[j] + s * dw;
            bool v = kval && (unsigned)ih < (unsigned)H && (unsigned)iw < (unsigned)W;
            const signed char *src = v ? x + nb[j] + ((i64)ih * W + iw) * C + c : x;
            cp_async16(smem_addr(a + swzk<KB>(row, ch)), src, v);
        }
        for (int j = 0; j < BPT; ++j) {
            int row = tid / CPR + j * RPP;
            bool v = kval && bn + row < K;
            const signed char *src = v ? w + (i64)(bn + row) * Kd + kd : w;
            cp_async16(smem_addr(b + swzk<KB>(row, ch)), src, v);
        }
        kd += KB; c += KB;
        while (c >= C) { c -= C; if (++s == S) { s = 0; ++r; } }
    };

    int acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0;
    for (int st = 0; st < D; ++st) { if (st < KT) load(st); cp_async_commit(); }
    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<D - 1>();
        proxy_fence();
        __syncthreads();
        if (kt + D < KT) load((kt + D) % STAGES);
        cp_async_commit();
        const int stage = kt % STAGES;
        const unsigned aBase = smem_addr(sA + stage * BM * KB + wg * 64 * KB), bBase = smem_addr(sB + stage * BN * KB);
        wg_fence();
#pragma unroll
        for (int ks = 0; ks < KB / 32; ++ks) wgmma_bn<BN>(acc, wg_desc<KB>(aBase + ks * 32), wg_desc<KB>(bBase + ks * 32));
        wg_commit();
        wg_wait<1>();
    }
    wg_wait<0>();
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) reg_fence(acc[i]);
    cp_async_wait<0>();
    __syncthreads();  // both warpgroups are done with the ring: it takes the fp32 tile

    float *tile = (float *)smem;
    const int gq = lane >> 2, tq = lane & 3;
    const int trow = wg * 64 + (warp & 3) * 16 + gq;
#pragma unroll
    for (int j = 0; j < BN / 8; ++j) {
        const int col = j * 8 + tq * 2, k = bn + col;
        if (k >= K) continue;
        const float sc0 = scale[k], sc1 = scale[k + 1];
        const float b0 = bias ? bias[k] : 0.f, b1 = bias ? bias[k + 1] : 0.f;
#pragma unroll
        for (int hrow = 0; hrow < 2; ++hrow)
            *(float2 *)(tile + tile_at<BN>(trow + hrow * 8, col)) =
                make_float2((float)acc[j * 4 + hrow * 2] * sc0 + b0, (float)acc[j * 4 + hrow * 2 + 1] * sc1 + b1);
    }
    __syncthreads();
    qepilogue<BM, BN, T>(tile, bm, bn, M, K, z, slope, y, act, alpha, beta, residualBefore, outInt8, outInv, a2);
}
#define WGCONV_ENTRY(NAME, BN, ST, KB) \
extern "C" __global__ void __launch_bounds__(256) NAME(const signed char *x, const signed char *w, const float *scale, \
    const float *bias, const half_t *z, const float *slope, void *y, QGeom g, int act, float alpha, float beta, \
    int residualBefore, int outInt8, float outInv, signed char *y2, const float *scale2, const float *shift2, float q2) { \
    wgconv_k<BN, ST, KB>(x, w, scale, bias, z, slope, y, g, act, alpha, beta, residualBefore, outInt8, outInv, \
                         QAffine{y2, scale2, shift2, q2}); }
WGCONV_ENTRY(wgconv_128x64, 64, 4, 64)
WGCONV_ENTRY(wgconv_128x64k128, 64, 3, 128)
WGCONV_ENTRY(wgconv_128x64k128s4, 64, 4, 128)
WGCONV_ENTRY(wgconv_128x128, 128, 4, 64)
WGCONV_ENTRY(wgconv_128x128s6, 128, 6, 64)
WGCONV_ENTRY(wgconv_128x128k128, 128, 3, 128)
"""#
}

/// One int8 convolution kernel variant.
public struct CUDAInt8Kernel: Sendable {
    public let name: String
    /// Output pixels and output channels per block.
    public let rows, columns: Int
    public let threads: Int
    /// Dynamic shared memory per block (above 48 KiB needs the function attribute).
    public let sharedBytes: Int
    /// Needs sm_90a's warpgroup MMA (compute capability 9.0 exactly).
    public let hopper: Bool
}
