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
        CUDAInt8Kernel(name: "wgconv_192x128k128", rows: 192, columns: 128, threads: 384, sharedBytes: 3 * 320 * 128, hopper: true),
        // Ring + 1 KiB to align it to the 128-byte swizzle's period + the stages' mbarriers.
        CUDAInt8Kernel(tensorMaps: "tmconv_128x128s3", rows: 128, columns: 128, kStep: 128, stages: 3),
        CUDAInt8Kernel(tensorMaps: "tmconv_192x128s4", rows: 192, columns: 128, kStep: 128, stages: 4),
        CUDAInt8Kernel(tensorMaps: "tmconv_256x128s4", rows: 256, columns: 128, kStep: 128, stages: 4),
        CUDAInt8Kernel(tensorMaps: "tmconv_128x64k64s6", rows: 128, columns: 64, kStep: 64, stages: 6),
        CUDAInt8Kernel(tensorMaps: "tmconv_128x128k64s6", rows: 128, columns: 128, kStep: 64, stages: 6),
        CUDAInt8Kernel(tensorMaps: "tmconv_128x128k64t3s2", rows: 128, columns: 128, kStep: 64, stages: 2, stepsPerStage: 3),
        CUDAInt8Kernel(haloChannels: 64, tileHeight: 16, threads: 256, warpgroupMMA: false),
        CUDAInt8Kernel(haloChannels: 64, tileHeight: 8, threads: 128, warpgroupMMA: true),
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

// A second output beside an fp16 one: the per-channel affine map of the stored fp16 value, on the s8 grid of
// q2 (a BatchNormalization whose output only int8 layers read), rounded as `channel_affine_s8` rounds it.
struct QAffine { signed char *y; const float *scale, *shift; float q; };

// Where acc · scale + bias of (row, col) lies in the epilogue's fp32 tile: rows of BN floats, 8-float groups
// XOR-swizzled by row, so that a half-warp's 64-bit stores of an MMA fragment (4 rows × 8 floats) hit 32 banks.
template <int BN> __device__ __forceinline__ int tile_at(int row, int col) { return row * BN + (col ^ ((row & 3) << 3)); }

// The second half of the int8 epilogue, after the block's BM × BN tile of acc · scale + bias went to shared memory:
// residual, activation, then s8 (× outInv) or fp16 (and s8 through `a2`), 8 channels of one pixel per thread and
// pass, so that the residual is read and the outputs written in 16-byte (fp16) or 8-byte (s8) pieces. The residuals
// of all passes are loaded first, to have them in flight together. K is a multiple of 8. `pixel(row)` is the output
// pixel (GEMM row) of tile row `row`, or −1 where the tile runs past the output.
template <int BM, int BN, int T, class Pixel>
__device__ __forceinline__ void qepilogue(const float *tile, Pixel pixel, int bn, int K, const half_t *z,
                                          const float *slope, void *y, int act, float alpha, float beta,
                                          int residualBefore, int outInt8, float outInv, const QAffine &a2) {
    constexpr int CPR8 = BN / 8, RPASS = T / CPR8, PASSES = BM / RPASS;
    const int c8 = (threadIdx.x % CPR8) * 8, k8 = bn + c8, row0 = threadIdx.x / CPR8;
    if (k8 >= K) return;
    uint4 zr[PASSES];
#pragma unroll
    for (int i = 0; i < PASSES; ++i) {
        const int m = pixel(row0 + i * RPASS);
        zr[i] = z && m >= 0 ? *(const uint4 *)(z + (i64)m * K + k8) : make_uint4(0u, 0u, 0u, 0u);
    }
    // The activation (0 none, 1 relu, 4 leaky with alpha, 5 clip to [alpha, beta], 16 prelu with slope[k]) as
    // v >= 0 ? v : neg · v clamped to [floor_, ceil_], without a branch per value (each thread's 8 channels are fixed).
    float neg[8], s2[8], t2[8];
    const float floor_ = act == 1 ? 0.f : (act == 5 ? alpha : -3.402823466e38f), ceil_ = act == 5 ? beta : 3.402823466e38f;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        neg[i] = act == 16 ? slope[k8 + i] : (act == 4 ? alpha : 1.f);
        s2[i] = a2.y ? a2.scale[k8 + i] : 0.f;
        t2[i] = a2.y ? a2.shift[k8 + i] : 0.f;
    }
    const float q2inv = 1.f / a2.q;
#pragma unroll
    for (int pass = 0; pass < PASSES; ++pass) {
        const int row = row0 + pass * RPASS, m = pixel(row);
        if (m < 0) continue;
        const float4 *src = (const float4 *)(tile + tile_at<BN>(row, c8));
        const float4 lo = src[0], hi = src[1];
        float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
        const unsigned zw[4] = {zr[pass].x, zr[pass].y, zr[pass].z, zr[pass].w};
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            // Without a residual this adds +0 (−0 becomes +0), as the pair-wise epilogue before it did.
            const float zi = z ? h2f((half_t)(i & 1 ? zw[i >> 1] >> 16 : zw[i >> 1] & 0xffff)) : 0.f;
            if (residualBefore) v[i] += zi;
            v[i] = fminf(fmaxf(v[i] >= 0.f ? v[i] : neg[i] * v[i], floor_), ceil_);
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
            for (int i = 0; i < 8; ++i) q[i >> 2] |= ((unsigned)q8((h2f(h[i]) * s2[i] + t2[i]) * q2inv) & 0xffu) << (8 * (i & 3));
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
    qepilogue<BM, BN, T>(tile, [=](int row) { return bm + row < M ? bm + row : -1; }, bn, K, z, slope, y, act, alpha, beta,
                         residualBefore, outInt8, outInv, a2);
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

// A warpgroup's m64nBN accumulators (this thread's share, in wgmma's fragment order), as acc · scale[k] + bias[k],
// into rows wg · 64 … of the epilogue's fp32 tile.
template <int BN>
__device__ __forceinline__ void wg_stage_tile(const int *acc, float *tile, int wg, int bn, int K, const float *__restrict__ scale,
                                              const float *__restrict__ bias) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, gq = lane >> 2, tq = lane & 3;
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
}

// Block: 64 · NWG output pixels × BN output channels, NWG warpgroups of 64 pixels each (three warpgroups make
// tiles that fill one wave on layers whose 128-pixel tiles leave a wave half empty).
template <int BN, int STAGES, int KB, int NWG>
__device__ __forceinline__ void wgconv_k(const signed char *__restrict__ x, const signed char *__restrict__ w,
                                         const float *__restrict__ scale, const float *__restrict__ bias,
                                         const half_t *__restrict__ z, const float *__restrict__ slope, void *y,
                                         QGeom g64, int act, float alpha, float beta, int residualBefore,
                                         int outInt8, float outInv, QAffine a2) {
    constexpr int BM = 64 * NWG, T = 128 * NWG, CPR = KB / 16, RPP = T / CPR, APT = BM / RPP, BPT = (BN + RPP - 1) / RPP;
    constexpr int D = STAGES - 2;
    static_assert(STAGES * (BM + BN) * KB >= BM * BN * 4, "the epilogue's fp32 tile must fit in the ring");
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char *sA = smem, *sB = smem + STAGES * BM * KB;
    const int H = (int)g64.H, W = (int)g64.W, C = (int)g64.C, K = (int)g64.K, OH = (int)g64.OH, OW = (int)g64.OW;
    const int S = (int)g64.S, Kd = (int)g64.Kd, M = (int)g64.M;
    const int ntiles = (K + BN - 1) / BN;
    const int bm = (blockIdx.x / ntiles) * BM, bn = (blockIdx.x % ntiles) * BN;
    const int tid = threadIdx.x, wg = tid >> 7;
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
            if (BN % RPP != 0 && row >= BN) break;
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
    wg_stage_tile<BN>(acc, tile, wg, bn, K, scale, bias);
    __syncthreads();
    qepilogue<BM, BN, T>(tile, [=](int row) { return bm + row < M ? bm + row : -1; }, bn, K, z, slope, y, act, alpha, beta,
                         residualBefore, outInt8, outInv, a2);
}
#define WGCONV_ENTRY(NAME, BN, ST, KB, NWG) \
extern "C" __global__ void __launch_bounds__(128 * NWG) NAME(const signed char *x, const signed char *w, const float *scale, \
    const float *bias, const half_t *z, const float *slope, void *y, QGeom g, int act, float alpha, float beta, \
    int residualBefore, int outInt8, float outInv, signed char *y2, const float *scale2, const float *shift2, float q2) { \
    wgconv_k<BN, ST, KB, NWG>(x, w, scale, bias, z, slope, y, g, act, alpha, beta, residualBefore, outInt8, outInv, \
                         QAffine{y2, scale2, shift2, q2}); }
WGCONV_ENTRY(wgconv_128x64, 64, 4, 64, 2)
WGCONV_ENTRY(wgconv_128x64k128, 64, 3, 128, 2)
WGCONV_ENTRY(wgconv_128x64k128s4, 64, 4, 128, 2)
WGCONV_ENTRY(wgconv_128x128, 128, 4, 64, 2)
WGCONV_ENTRY(wgconv_128x128s6, 128, 6, 64, 2)
WGCONV_ENTRY(wgconv_128x128k128, 128, 3, 128, 2)
WGCONV_ENTRY(wgconv_192x128k128, 128, 3, 128, 3)

// Pipeline barriers (sm_90): a stage's "full" mbarrier completes when its tiles have landed, its "empty" one when
// the consumers' MMAs reading it have retired; the consumer warpgroups sync among themselves on barrier 1.
__device__ __forceinline__ void mbar_init(unsigned a, unsigned count) {
#if __CUDA_ARCH__ >= 900
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" :: "r"(a), "r"(count) : "memory");
#endif
}
__device__ __forceinline__ void mbar_arrive(unsigned a) {
#if __CUDA_ARCH__ >= 900
    asm volatile("{ .reg .b64 st; mbarrier.arrive.shared::cta.b64 st, [%0]; }" :: "r"(a) : "memory");
#endif
}
__device__ __forceinline__ void mbar_wait(unsigned a, unsigned parity) {
#if __CUDA_ARCH__ >= 900
    asm volatile("{ .reg .pred p;\n"
                 "WAIT:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
                 "@!p bra WAIT;\n"
                 "}" :: "r"(a), "r"(parity) : "memory");
#endif
}
__device__ __forceinline__ void consumer_sync(int threads) { asm volatile("bar.sync 1, %0;" :: "r"(threads) : "memory"); }

// TMA form (sm_90a): one producer thread fetches each k-step's tiles with the tensor copy engine — A through an
// im2col tensor map of the NHWC input (BM consecutive output pixels at one filter tap, KB channels each, zero
// outside the image), B through a tiled map of the [K][R·S·C] filters — both KB-byte swizzled (KB = 64 or 128) as
// the MMAs read them, completing on the stage's mbarrier. C must be a multiple of KB; k-steps run channel chunk
// by chunk through the taps; a stage holds TPS consecutive k-steps (each its own pair of tiles), so that the
// pipeline's waits and releases are paid once per TPS steps where a k-step alone is little work (64-byte steps).
struct __align__(64) QTensorMap { unsigned long long words[16]; };
__device__ __forceinline__ void mbar_expect_tx(unsigned a, unsigned bytes) {
#if __CUDA_ARCH__ >= 900
    asm volatile("{ .reg .b64 st; mbarrier.arrive.expect_tx.shared::cta.b64 st, [%0], %1; }" :: "r"(a), "r"(bytes) : "memory");
#endif
}
__device__ __forceinline__ void tma_im2col4(unsigned dst, const QTensorMap &map, int c, int w, int h, int n, unsigned bar,
                                            unsigned short offW, unsigned short offH) {
#if __CUDA_ARCH__ >= 900
    asm volatile("cp.async.bulk.tensor.4d.shared::cluster.global.im2col.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], [%6], {%7, %8};"
                 :: "r"(dst), "l"((unsigned long long)&map), "r"(c), "r"(w), "r"(h), "r"(n), "r"(bar), "h"(offW), "h"(offH) : "memory");
#endif
}
__device__ __forceinline__ void tma_tile2(unsigned dst, const QTensorMap &map, int x0, int x1, unsigned bar) {
#if __CUDA_ARCH__ >= 900
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];"
                 :: "r"(dst), "l"((unsigned long long)&map), "r"(x0), "r"(x1), "r"(bar) : "memory");
#endif
}

template <int BN, int STAGES, int NWG, int KB, int TPS>
__device__ __forceinline__ void tmconv_k(const QTensorMap &ta, const QTensorMap &tb, const float *__restrict__ scale,
                                         const float *__restrict__ bias, const half_t *__restrict__ z,
                                         const float *__restrict__ slope, void *y, QGeom g64, int act, float alpha,
                                         float beta, int residualBefore, int outInt8, float outInv, QAffine a2) {
    constexpr int BM = 64 * NWG, TC = 128 * NWG;
    constexpr int RING = STAGES * TPS * (BM + BN) * KB;
    static_assert(RING >= BM * BN * 4, "the epilogue's fp32 tile must fit in the ring");
    extern __shared__ __align__(128) unsigned char smem_raw[];
    // The swizzles repeat every 1024 bytes at most: the ring starts on such a boundary.
    unsigned char *smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
    unsigned char *sA = smem, *sB = smem + STAGES * TPS * BM * KB;
    const unsigned full0 = smem_addr(smem + RING), empty0 = full0 + 8 * STAGES;
    const int K = (int)g64.K, M = (int)g64.M, C = (int)g64.C, R = (int)g64.R, S = (int)g64.S;
    const int ntiles = (K + BN - 1) / BN;
    const int bm = (blockIdx.x / ntiles) * BM, bn = (blockIdx.x % ntiles) * BN;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wg = warp >> 2;
    const int taps = R * S, KT = C / KB * taps / TPS;  // stages' worth of k-steps
    if (tid == 0) {
        for (int st = 0; st < STAGES; ++st) { mbar_init(full0 + 8 * st, 1); mbar_init(empty0 + 8 * st, NWG * 4); }
#if __CUDA_ARCH__ >= 900
        asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
#endif
    }
    __syncthreads();

    if (tid >= TC) {
        if (tid == TC) {
            const int OH = (int)g64.OH, OW = (int)g64.OW;
            const int n = bm / (OH * OW), p = bm % (OH * OW);
            const int h0 = (p / OW) * (int)g64.sh - (int)g64.ph, w0 = (p % OW) * (int)g64.sw - (int)g64.pw;
            const int dh = (int)g64.dh, dw = (int)g64.dw;
            for (int kt = 0; kt < KT; ++kt) {
                const int st = kt % STAGES;
                if (kt >= STAGES) mbar_wait(empty0 + 8 * st, (kt / STAGES - 1) & 1);
                const unsigned bar = full0 + 8 * st;
                mbar_expect_tx(bar, TPS * (BM + BN) * KB);
#pragma unroll
                for (int u = 0; u < TPS; ++u) {
                    const int step = kt * TPS + u, cc = step / taps * KB, t = step % taps;
                    tma_im2col4(smem_addr(sA + (st * TPS + u) * BM * KB), ta, cc, w0, h0, n, bar,
                                (unsigned short)((t % S) * dw), (unsigned short)((t / S) * dh));
                    tma_tile2(smem_addr(sB + (st * TPS + u) * BN * KB), tb, t * C + cc, bn, bar);
                }
            }
        }
        return;
    }

    int acc[BN / 2];
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) acc[i] = 0;
    for (int kt = 0; kt < KT; ++kt) {
        const int st = kt % STAGES;
        mbar_wait(full0 + 8 * st, (kt / STAGES) & 1);
        wg_fence();
#pragma unroll
        for (int u = 0; u < TPS; ++u) {
            const unsigned aBase = smem_addr(sA + (st * TPS + u) * BM * KB + wg * 64 * KB);
            const unsigned bBase = smem_addr(sB + (st * TPS + u) * BN * KB);
#pragma unroll
            for (int ks = 0; ks < KB / 32; ++ks) wgmma_bn<BN>(acc, wg_desc<KB>(aBase + ks * 32), wg_desc<KB>(bBase + ks * 32));
        }
        wg_commit();
        wg_wait<1>();
        if (kt > 0 && lane == 0) mbar_arrive(empty0 + 8 * ((kt - 1) % STAGES));
    }
    wg_wait<0>();
#pragma unroll
    for (int i = 0; i < BN / 2; ++i) reg_fence(acc[i]);
    consumer_sync(TC);

    float *tile = (float *)smem;
    wg_stage_tile<BN>(acc, tile, wg, bn, K, scale, bias);
    consumer_sync(TC);
    qepilogue<BM, BN, TC>(tile, [=](int row) { return bm + row < M ? bm + row : -1; }, bn, K, z, slope, y, act, alpha, beta,
                          residualBefore, outInt8, outInv, a2);
}
#define TMCONV_ENTRY(NAME, BN, ST, NWG, KB, TPS) \
extern "C" __global__ void __launch_bounds__(128 * NWG + 32) NAME(const __grid_constant__ QTensorMap ta, \
    const __grid_constant__ QTensorMap tb, const float *scale, const float *bias, const half_t *z, const float *slope, \
    void *y, QGeom g, int act, float alpha, float beta, int residualBefore, int outInt8, float outInv, signed char *y2, \
    const float *scale2, const float *shift2, float q2) { \
    tmconv_k<BN, ST, NWG, KB, TPS>(ta, tb, scale, bias, z, slope, y, g, act, alpha, beta, residualBefore, outInt8, outInv, \
                          QAffine{y2, scale2, shift2, q2}); }
TMCONV_ENTRY(tmconv_128x128s3, 128, 3, 2, 128, 1)
TMCONV_ENTRY(tmconv_192x128s4, 128, 4, 3, 128, 1)
TMCONV_ENTRY(tmconv_256x128s4, 128, 4, 4, 128, 1)
TMCONV_ENTRY(tmconv_128x64k64s6, 64, 6, 2, 64, 1)
TMCONV_ENTRY(tmconv_128x128k64s6, 128, 6, 2, 64, 1)
TMCONV_ENTRY(tmconv_128x128k64t3s2, 128, 2, 2, 64, 3)

// 3×3 convolutions with stride 1 and dilation 1 on CC input channels (64 or a multiple of 128): the input
// pixels a tile needs are loaded once and read by all nine taps, where the implicit GEMMs above gather each
// pixel nine times. A block keeps the [tap][64 output channels][CC] filters of its column tile (blockIdx.y) in
// shared memory and walks output tiles of TH × 8 pixels (blockIdx.x, stepping gridDim.x); a tile's
// (TH + 2) × 10 input pixels (zero outside the image) are loaded by cp.async into one of two buffers while the
// tile before is computed. ldmatrix takes a row address per lane, so a tap's A fragment is the halo read at
// that tap's offset. Rows of CC bytes are XOR-swizzled in 16-byte chunks so that eight consecutive pixels (or
// filter rows) land in eight different bank groups — the layout the wgmma swizzle descriptors expect, too.
// - mma.sync (WGMMA false): warps WM × WN, each (BM / WM) pixels × (BN / WN) channels.
// - wgmma (sm_90a; WN = 1, a warp per 16 pixels): each warpgroup takes 64 pixels × 64 channels with A in
//   registers (loaded by ldmatrix G steps ahead of the MMAs that read them) and B straight from the resident
//   filters through a descriptor. Its accumulators lie in the same order as the mma.sync ones with MT = 1.
template <int CC> __device__ __forceinline__ int hswz(int row, int ch) {
    return CC == 64 ? row * 64 + ((ch ^ ((row >> 1) & 3)) << 4) : row * CC + ((ch ^ (row & 7)) << 4);
}
__device__ __forceinline__ void wgmma_n64_rs(int *d, const unsigned *a, unsigned long long db) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    asm volatile("{ .reg .pred p; setp.ne.b32 p, %37, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n64k32.s32.s8.s8 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p; }\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(1));
#endif
}
template <int CC, int TH, int WM, int WN, bool WGMMA>
__device__ __forceinline__ void hconv_k(const signed char *__restrict__ x, const signed char *__restrict__ w,
                                        const float *__restrict__ scale, const float *__restrict__ bias,
                                        const half_t *__restrict__ z, const float *__restrict__ slope, void *y,
                                        QGeom g64, int act, float alpha, float beta, int residualBefore,
                                        int outInt8, float outInv, QAffine a2) {
    constexpr int TW = 8, BM = TH * TW, BN = 64, T = WM * WN * 32, HW = TW + 2, HP = (TH + 2) * HW, CPP = CC / 16;
    constexpr int MT = BM / WM / 16, NT = BN / WN / 8, WBYTES = 9 * BN * CC, HBYTES = HP * CC, STEPS = 9 * CC / 32, G = 3;
    static_assert(HBYTES % 128 == 0 && MT >= 1 && NT % 2 == 0, "tile shape");
    static_assert(!WGMMA || (WN == 1 && MT == 1 && STEPS % G == 0), "a warpgroup takes 64 pixels × 64 channels");
    extern __shared__ __align__(128) unsigned char smem[];
    unsigned char *sW = smem, *sH = smem + WBYTES;
    float *tile = (float *)(smem + WBYTES + 2 * HBYTES);
    const int H = (int)g64.H, W = (int)g64.W, K = (int)g64.K, OH = (int)g64.OH, OW = (int)g64.OW, Kd = (int)g64.Kd;
    const int ph = (int)g64.ph, pw = (int)g64.pw;
    const int tilesX = (OW + TW - 1) / TW, perImage = tilesX * ((OH + TH - 1) / TH), ntiles = (int)g64.N * perImage;
    const int bn = blockIdx.y * BN, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm0 = (warp / WN) * (BM / WM), wn0 = (warp % WN) * (BN / WN);
    int t = blockIdx.x;
    if (t >= ntiles) return;

    for (int i = tid; i < 9 * BN * CPP; i += T) {
        const int ch = i % CPP, n = (i / CPP) % BN, tap = i / (CPP * BN);
        const bool v = bn + n < K;
        cp_async16(smem_addr(sW + tap * BN * CC + hswz<CC>(n, ch)), v ? w + (i64)(bn + n) * Kd + tap * CC + ch * 16 : w, v);
    }
    auto loadHalo = [&](int buf, int ti) {
        const int n = ti / perImage, p = ti % perImage, iy0 = (p / tilesX) * TH - ph, ix0 = (p % tilesX) * TW - pw;
        unsigned char *h = sH + buf * HBYTES;
        for (int i = tid; i < HP * CPP; i += T) {
            const int ch = i % CPP, hp = i / CPP, iy = iy0 + hp / HW, ix = ix0 + hp % HW;
            const bool v = (unsigned)iy < (unsigned)H && (unsigned)ix < (unsigned)W;
            cp_async16(smem_addr(h + hswz<CC>(hp, ch)), v ? x + (((i64)n * H + iy) * W + ix) * CC + ch * 16 : x, v);
        }
    };
    loadHalo(0, t);
    cp_async_commit();

    // This lane's ldmatrix rows: halo pixel of tap (0, 0) for each A fragment, filter row for each B pair.
    int hp0[MT];
#pragma unroll
    for (int i = 0; i < MT; ++i) {
        const int p = wm0 + i * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        hp0[i] = (p / TW) * HW + p % TW;
    }
    const int aChunk = lane >> 4, bChunk = (lane >> 3) & 1, bRow = wn0 + (lane & 7) + (lane >> 4) * 8;
    const int gq = lane >> 2, tq = lane & 3;
    float sc[NT][2], bi[NT][2];
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const int k = bn + wn0 + j * 8 + tq * 2 + e;
            sc[j][e] = k < K ? scale[k] : 0.f;
            bi[j][e] = k < K && bias ? bias[k] : 0.f;
        }

    for (int buf = 0; t < ntiles; t += gridDim.x, buf ^= 1) {
        if (t + (int)gridDim.x < ntiles) loadHalo(buf ^ 1, t + gridDim.x);
        cp_async_commit();
        cp_async_wait<1>();
        if (WGMMA) proxy_fence();
        __syncthreads();
        const unsigned hBase = smem_addr(sH + buf * HBYTES), wBase = smem_addr(sW);
        int acc[MT][NT][4];
#pragma unroll
        for (int i = 0; i < MT; ++i)
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int q = 0; q < 4; ++q) acc[i][j][q] = 0;
        if constexpr (WGMMA) {
            unsigned af[2][G][4];
            auto loadA = [&](int b) {
#pragma unroll
                for (int i = 0; i < G; ++i) {
                    const int st = b * G + i, tap = st / (CC / 32), ks = st % (CC / 32);
                    ldsm4(hBase + hswz<CC>(hp0[0] + (tap / 3) * HW + tap % 3, 2 * ks + aChunk), af[b & 1][i][0],
                          af[b & 1][i][1], af[b & 1][i][2], af[b & 1][i][3]);
                }
            };
            loadA(0);
#pragma unroll
            for (int b = 0; b < STEPS / G; ++b) {
                wg_fence();
#pragma unroll
                for (int i = 0; i < G; ++i) {
                    const int st = b * G + i, tap = st / (CC / 32), ks = st % (CC / 32);
                    wgmma_n64_rs(&acc[0][0][0], af[b & 1][i], wg_desc<(CC == 64 ? 64 : 128)>(wBase + tap * BN * CC + ks * 32));
                }
                wg_commit();
                if (b + 1 < STEPS / G) { wg_wait<1>(); loadA(b + 1); }
            }
            wg_wait<0>();
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int q = 0; q < 4; ++q) reg_fence(acc[0][j][q]);
        } else {
#pragma unroll 1
            for (int tap = 0; tap < 9; ++tap) {
                const int shift = (tap / 3) * HW + tap % 3;
#pragma unroll
                for (int ks = 0; ks < CC / 32; ++ks) {
                    unsigned af[MT][4], bf[NT][2];
#pragma unroll
                    for (int i = 0; i < MT; ++i)
                        ldsm4(hBase + hswz<CC>(hp0[i] + shift, 2 * ks + aChunk), af[i][0], af[i][1], af[i][2], af[i][3]);
#pragma unroll
                    for (int j = 0; j < NT; j += 2)
                        ldsm4(wBase + tap * BN * CC + hswz<CC>(bRow + j * 8, 2 * ks + bChunk), bf[j][0], bf[j][1],
                              bf[j + 1][0], bf[j + 1][1]);
#pragma unroll
                    for (int i = 0; i < MT; ++i)
#pragma unroll
                        for (int j = 0; j < NT; ++j) mma_s8(acc[i][j], af[i], bf[j]);
                }
            }
        }
#pragma unroll
        for (int j = 0; j < NT; ++j) {
            const int col = wn0 + j * 8 + tq * 2;
#pragma unroll
            for (int i = 0; i < MT; ++i)
#pragma unroll
                for (int hrow = 0; hrow < 2; ++hrow)
                    *(float2 *)(tile + tile_at<BN>(wm0 + i * 16 + gq + hrow * 8, col)) =
                        make_float2((float)acc[i][j][hrow * 2] * sc[j][0] + bi[j][0],
                                    (float)acc[i][j][hrow * 2 + 1] * sc[j][1] + bi[j][1]);
        }
        __syncthreads();
        const int n = t / perImage, p = t % perImage, oy0 = (p / tilesX) * TH, ox0 = (p % tilesX) * TW;
        qepilogue<BM, BN, T>(tile, [=](int row) {
            const int oy = oy0 + row / TW, ox = ox0 + row % TW;
            return oy < OH && ox < OW ? (n * OH + oy) * OW + ox : -1;
        }, bn, K, z, slope, y, act, alpha, beta, residualBefore, outInt8, outInv, a2);
    }
    cp_async_wait<0>();
}
#define HCONV_ENTRY(NAME, CC, TH, WM, WN, WGMMA) \
extern "C" __global__ void __launch_bounds__(WM * WN * 32) NAME(const signed char *x, const signed char *w, const float *scale, \
    const float *bias, const half_t *z, const float *slope, void *y, QGeom g, int act, float alpha, float beta, \
    int residualBefore, int outInt8, float outInv, signed char *y2, const float *scale2, const float *shift2, float q2) { \
    hconv_k<CC, TH, WM, WN, WGMMA>(x, w, scale, bias, z, slope, y, g, act, alpha, beta, residualBefore, outInt8, outInv, \
                                   QAffine{y2, scale2, shift2, q2}); }
HCONV_ENTRY(hconv_c64_16x8, 64, 16, 4, 2, false)
HCONV_ENTRY(whconv_c64_8x8, 64, 8, 4, 1, true)
"""#
}

/// One int8 convolution kernel variant.
public struct CUDAInt8Kernel: Sendable {
    public let name: String
    /// Output pixels and output channels per block (per tile for the halo kernels).
    public let rows, columns: Int
    public let threads: Int
    /// Dynamic shared memory per block (above 48 KiB needs the function attribute).
    public let sharedBytes: Int
    /// Runs on compute capability 9.0 only: needs sm_90a's warpgroup MMA, or more shared memory than the 99 KiB
    /// sm_86/89 give a block.
    public let hopper: Bool
    /// The input channels of a halo kernel (`hconv_*`: 3×3, stride 1, dilation 1, exactly this many input
    /// channels; blocks stay resident and walk tiles of `tileHeight` × 8 output pixels); 0 for the implicit GEMMs.
    public let haloChannels: Int
    public let tileHeight: Int
    /// Takes tensor maps of its input and filters (`tmconv_*`: the copy engine gathers the tiles; input channels a
    /// multiple of `kStep`) in place of their pointers.
    public let tensorMaps: Bool
    /// Bytes of the reduction per k-step of a TMA kernel (64 or 128: the swizzle of its tiles), and k-steps per
    /// pipeline stage (the reduction's length in k-steps must be a multiple of it).
    public let kStep: Int
    public let stepsPerStage: Int

    init(name: String, rows: Int, columns: Int, threads: Int, sharedBytes: Int, hopper: Bool) {
        (self.name, self.rows, self.columns, self.threads, self.sharedBytes, self.hopper) = (name, rows, columns, threads, sharedBytes, hopper)
        (haloChannels, tileHeight, tensorMaps, kStep, stepsPerStage) = (0, 0, false, 0, 1)
    }

    /// A TMA kernel: `rows` / 64 consumer warpgroups and a producer warp.
    init(tensorMaps name: String, rows: Int, columns: Int, kStep: Int, stages: Int, stepsPerStage: Int = 1) {
        (self.name, self.rows, self.columns, threads, hopper) = (name, rows, columns, 2 * rows + 32, true)
        sharedBytes = stages * stepsPerStage * (rows + columns) * kStep + 1024 + 256
        (haloChannels, tileHeight, tensorMaps, self.kStep, self.stepsPerStage) = (0, 0, true, kStep, stepsPerStage)
    }

    init(haloChannels c: Int, tileHeight th: Int, threads: Int, warpgroupMMA: Bool) {
        name = (warpgroupMMA ? "whconv" : "hconv") + "_c\(c)_\(th)x8"
        (rows, columns, self.threads, haloChannels, tileHeight, tensorMaps, kStep, stepsPerStage) = (th * 8, 64, threads, c, th, false, 0, 1)
        // Filters [9][64][C], two halo buffers of (th + 2) × 10 pixels, the epilogue's fp32 tile.
        sharedBytes = 9 * 64 * c + 2 * (th + 2) * 10 * c + th * 8 * 64 * 4
        hopper = warpgroupMMA || sharedBytes > 99 << 10
    }

    /// Whether this kernel takes a convolution of this geometry (input channels, filter, strides, dilations).
    public func fits(channels: Int, filter: (Int, Int), strides: [Int], dilations: [Int]) -> Bool {
        if tensorMaps { return channels % kStep == 0 && (channels / kStep * filter.0 * filter.1) % stepsPerStage == 0 }
        return haloChannels == 0 || (channels == haloChannels && filter == (3, 3) && strides == [1, 1] && dilations == [1, 1])
    }

    /// Grid (x, y) for `pixels` output pixels in `images` images of `height` × `width`, `k` output channels, on
    /// `multiprocessors` SMs: one block per tile for the implicit GEMMs; for the halo kernels as many resident
    /// blocks as shared memory allows (228 KiB per SM, 1 KiB reserved per block), split over the column tiles.
    public func grid(pixels: Int, images: Int, height: Int, width: Int, k: Int, multiprocessors: Int) -> (Int, Int) {
        let columnTiles = (k + columns - 1) / columns
        guard haloChannels > 0 else { return ((pixels + rows - 1) / rows * columnTiles, 1) }
        let tiles = images * ((height + tileHeight - 1) / tileHeight) * ((width + 7) / 8)
        let perSM = max(1, min((228 << 10) / (sharedBytes + 1024), 2048 / threads))
        return (max(1, min(tiles, multiprocessors * perSM / columnTiles)), columnTiles)
    }
}
