/* The GPU int8 convolution kernels (CUDAKernelSource+Int8.swift) against a naive int32 convolution on
 * IResNet-50's layers at batch N (default 128) and a few odd shapes: every variant must match bit for bit
 * with an s8 output (with and without an fp16 residual) and with an fp16 output plus the s8 output of a
 * following BatchNormalization; then times each (ms for s8 / fp16 / fp16 + BatchNormalization outputs).
 * Build and run with bench/kernels/run-int8-conv.sh on a GPU with sm_90a (H100, H200); exits 1 on a
 * mismatch. */
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <algorithm>
#include <cuda.h>
#include <cuda_runtime.h>
typedef unsigned short half_t;
typedef long long i64;
#define GRID_LOOP(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)
__device__ __forceinline__ float q8f(float x, float s) { return fminf(fmaxf(rintf(x * (1.f / s)), -128.f), 127.f); }
#include "int8_conv_kernels.cuh"  // extracted from the Swift source by run-int8-conv.sh

// Reference: y = prelu(acc·scale + bias + z); s8 mode → q8(y·outInv); fp16 mode → y16 and y2 = q8f(h(y16)·s2 + t2, q2).
__global__ void ref_conv(const signed char *x, const signed char *w, const float *scale, const float *bias, const half_t *z,
                         const float *slope, signed char *y8, half_t *y16, signed char *y2, const float *s2, const float *t2,
                         float q2, QGeom g, float outInv) {
    i64 total = g.M * g.K;
    GRID_LOOP(i, total) {
        int k = i % g.K; i64 m = i / g.K;
        int n = m / (g.OH * g.OW), p = m % (g.OH * g.OW), oh = p / g.OW, ow = p % g.OW;
        int acc = 0;
        for (int r = 0; r < g.R; ++r) for (int s = 0; s < g.S; ++s) {
            int ih = oh * g.sh - g.ph + r * g.dh, iw = ow * g.sw - g.pw + s * g.dw;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
            for (int c = 0; c < g.C; ++c)
                acc += (int)x[((i64)(n * g.H + ih) * g.W + iw) * g.C + c] * (int)w[((i64)(k * g.R + r) * g.S + s) * g.C + c];
        }
        float v = (float)acc * scale[k] + bias[k];
        v += z ? h2f(z[i]) : 0.f;
        v = v >= 0.f ? v : slope[k] * v;
        y8[i] = (signed char)q8(v * outInv);
        half_t h = f2h(v);
        y16[i] = h;
        y2[i] = (signed char)(int)q8f(h2f(h) * s2[k] + t2[k], q2);
    }
}

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d\n", cudaGetErrorString(e), __LINE__); exit(1); } } while (0)
typedef void (*Kern)(const signed char *, const signed char *, const float *, const float *, const half_t *, const float *, void *,
                     QGeom, int, float, float, int, int, float, signed char *, const float *, const float *, float);
// halo > 0: a halo kernel (3×3, stride 1, exactly `halo` input channels; resident blocks over TH × 8 tiles).
typedef void (*TKern)(QTensorMap, QTensorMap, const float *, const float *, const half_t *, const float *, void *, QGeom, int,
                      float, float, int, int, float, signed char *, const float *, const float *, float);
// tk: a TMA kernel (C a multiple of 128), given tensor maps of the input and the filters instead of their pointers.
struct Cfg { const char *name; Kern k; int BM, BN, T, smem, halo = 0, th = 0; TKern tk = nullptr; int kb = 0, tps = 1; };

int main(int argc, char **argv) {
    int N = argc > 1 ? atoi(argv[1]) : 128;
    Cfg cfgs[] = {{"q128x128", qconv_128x128, 128, 128, 256, 4 * 256 * 64}, {"q128x64", qconv_128x64, 128, 64, 256, 4 * 192 * 64},
                  {"q64x64", qconv_64x64, 64, 64, 128, 4 * 128 * 64}, {"wg128x64", wgconv_128x64, 128, 64, 256, 4 * 192 * 64},
                  {"wg128x64k128", wgconv_128x64k128, 128, 64, 256, 3 * 192 * 128},
                  {"wg128x64k128s4", wgconv_128x64k128s4, 128, 64, 256, 4 * 192 * 128},
                  {"wg128x128", wgconv_128x128, 128, 128, 256, 4 * 256 * 64}, {"wg128x128s6", wgconv_128x128s6, 128, 128, 256, 6 * 256 * 64},
                  {"wgk128", wgconv_128x128k128, 128, 128, 256, 3 * 256 * 128},
                  {"wg192x128k128", wgconv_192x128k128, 192, 128, 384, 3 * 320 * 128},
                  {"tm128x128s3", nullptr, 128, 128, 288, 3 * 256 * 128 + 1280, 0, 0, tmconv_128x128s3},
                  {"tm192x128s4", nullptr, 192, 128, 416, 4 * 320 * 128 + 1280, 0, 0, tmconv_192x128s4},
                  {"tm256x128s4", nullptr, 256, 128, 544, 4 * 384 * 128 + 1280, 0, 0, tmconv_256x128s4},
                  {"tm128x64k64s6", nullptr, 128, 64, 288, 6 * 192 * 64 + 1280, 0, 0, tmconv_128x64k64s6, 64},
                  {"tm128x128k64s6", nullptr, 128, 128, 288, 6 * 256 * 64 + 1280, 0, 0, tmconv_128x128k64s6, 64},
                  {"tm128x128k64t3s2", nullptr, 128, 128, 288, 6 * 256 * 64 + 1280, 0, 0, tmconv_128x128k64t3s2, 64, 3},
                  {"h64_16", hconv_c64_16x8, 128, 64, 256, 9 * 64 * 64 + 2 * 18 * 10 * 64 + 128 * 256, 64, 16},
                  {"wh64_8", whconv_c64_8x8, 64, 64, 128, 9 * 64 * 64 + 2 * 10 * 10 * 64 + 64 * 256, 64, 8},
    };
    int sms = 0; CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    for (auto &c : cfgs) {
        if (c.k) CK(cudaFuncSetAttribute(c.k, cudaFuncAttributeMaxDynamicSharedMemorySize, c.smem));
        else CK(cudaFuncSetAttribute(c.tk, cudaFuncAttributeMaxDynamicSharedMemorySize, c.smem));
    }
    // S, W, sw: filter width, input width and horizontal stride when they differ from R, H and st (the s8 rows of a
    // few-channel first layer: an R x 1 convolution over rows of the taps, 16 bytes per pixel).
    struct L { int H, C, K, R, st, count, S = 0, W = 0, sw = 0; } layers[] = {
        {112, 64, 64, 3, 1, 1}, {112, 64, 64, 3, 2, 1}, {56, 64, 64, 3, 1, 4}, {56, 64, 128, 3, 1, 1}, {56, 128, 128, 3, 2, 1},
        {28, 128, 128, 3, 1, 6}, {28, 128, 256, 3, 1, 1}, {28, 256, 256, 3, 2, 1}, {14, 256, 256, 3, 1, 26},
        {14, 256, 512, 3, 1, 1}, {14, 512, 512, 3, 2, 1}, {7, 512, 512, 3, 1, 4}, {56, 64, 128, 1, 2, 1}, {20, 16, 24, 3, 1, 1}, {9, 48, 40, 3, 2, 1},
        {13, 64, 72, 3, 1, 0}, {11, 128, 64, 3, 1, 0}, {112, 16, 64, 3, 1, 1, 1, 112, 1}, {112, 16, 64, 3, 2, 0, 1, 56, 1}};
    double total = 0, totalOps = 0; int failures = 0;
    cudaEvent_t e0, e1; cudaEventCreate(&e0); cudaEventCreate(&e1);
    // LAYER=H,C,K,R,stride keeps one layer, KERNEL=name one variant (for profilers).
    const char *onlyLayer = getenv("LAYER"), *onlyKernel = getenv("KERNEL");
    for (auto &l : layers) {
        if (onlyLayer) {
            char key[64]; snprintf(key, sizeof key, "%d,%d,%d,%d,%d%s", l.H, l.C, l.K, l.R, l.st, l.S ? ",rows" : "");
            if (strcmp(key, onlyLayer) != 0) continue;
        }
        QGeom g; g.N = N; g.H = l.H; g.W = l.W ? l.W : l.H; g.C = l.C; g.K = l.K; g.R = l.R; g.S = l.S ? l.S : l.R;
        g.sh = l.st; g.sw = l.sw ? l.sw : l.st; g.ph = g.R / 2; g.pw = g.S / 2; g.dh = g.dw = 1;
        g.OH = (g.H + 2 * g.ph - g.R) / g.sh + 1; g.OW = (g.W + 2 * g.pw - g.S) / g.sw + 1;
        g.M = (i64)N * g.OH * g.OW; g.Kd = (i64)g.R * g.S * l.C;
        if (l.H == 9) g.M -= 3;  // odd pixel count: a partial last row tile
        i64 nx = (i64)N * g.H * g.W * l.C, nw = g.K * g.Kd, ny = g.M * g.K;
        std::vector<signed char> hx(nx), hw(nw); std::vector<float> hs(g.K), hb(g.K), hp(g.K), h2s(g.K), h2t(g.K);
        std::vector<half_t> hz(ny);
        srand(1);
        for (auto &v : hx) v = (signed char)(rand() % 255 - 127);
        for (auto &v : hw) v = (signed char)(rand() % 255 - 127);
        for (int k = 0; k < g.K; ++k) {
            hs[k] = 1.f / (g.Kd * 40.f) * (1 + k % 7); hb[k] = (k % 5) * 0.3f - 0.6f; hp[k] = 0.25f;
            h2s[k] = 0.5f + 0.1f * (k % 9); h2t[k] = (k % 3) * 0.2f - 0.2f;
        }
        for (auto &v : hz) v = (half_t)(0x3800 + rand() % 512);
        signed char *dx, *dw, *dy, *dr8, *dr2, *d2; half_t *dr16; float *ds, *db, *dp, *d2s, *d2t; half_t *dz;
        CK(cudaMalloc(&dx, nx)); CK(cudaMalloc(&dw, nw)); CK(cudaMalloc(&dy, ny * 2)); CK(cudaMalloc(&dr8, ny));
        CK(cudaMalloc(&dr16, 2 * ny)); CK(cudaMalloc(&dr2, ny)); CK(cudaMalloc(&d2, ny));
        CK(cudaMalloc(&ds, 4 * g.K)); CK(cudaMalloc(&db, 4 * g.K)); CK(cudaMalloc(&dp, 4 * g.K)); CK(cudaMalloc(&dz, 2 * ny));
        CK(cudaMalloc(&d2s, 4 * g.K)); CK(cudaMalloc(&d2t, 4 * g.K));
        cudaMemcpy(dx, hx.data(), nx, cudaMemcpyHostToDevice); cudaMemcpy(dw, hw.data(), nw, cudaMemcpyHostToDevice);
        cudaMemcpy(ds, hs.data(), 4 * g.K, cudaMemcpyHostToDevice); cudaMemcpy(db, hb.data(), 4 * g.K, cudaMemcpyHostToDevice);
        cudaMemcpy(dp, hp.data(), 4 * g.K, cudaMemcpyHostToDevice); cudaMemcpy(dz, hz.data(), 2 * ny, cudaMemcpyHostToDevice);
        cudaMemcpy(d2s, h2s.data(), 4 * g.K, cudaMemcpyHostToDevice); cudaMemcpy(d2t, h2t.data(), 4 * g.K, cudaMemcpyHostToDevice);
        float outInv = 20.f, q2 = 0.05f;
        ref_conv<<<4096, 256>>>(dx, dw, ds, db, nullptr, dp, dr8, dr16, dr2, d2s, d2t, q2, g, outInv);
        CK(cudaDeviceSynchronize());
        std::vector<signed char> refn(ny);
        cudaMemcpy(refn.data(), dr8, ny, cudaMemcpyDeviceToHost);
        ref_conv<<<4096, 256>>>(dx, dw, ds, db, dz, dp, dr8, dr16, dr2, d2s, d2t, q2, g, outInv);
        CK(cudaDeviceSynchronize());
        std::vector<signed char> ref8(ny), ref2(ny), got8(ny), got2(ny); std::vector<half_t> ref16(ny), got16(ny);
        cudaMemcpy(ref8.data(), dr8, ny, cudaMemcpyDeviceToHost); cudaMemcpy(ref2.data(), dr2, ny, cudaMemcpyDeviceToHost);
        cudaMemcpy(ref16.data(), dr16, 2 * ny, cudaMemcpyDeviceToHost);
        double ops = 2.0 * g.M * g.K * g.Kd;
        double best = 1e9; const char *bestName = "";
        printf("layer H%d C%d K%d R%d s%d%s M%lld (x%d):", l.H, l.C, l.K, l.R, l.st, l.S ? " rows" : "", g.M, l.count);
        for (auto &c : cfgs) {
            if (onlyKernel && strcmp(onlyKernel, c.name) != 0) continue;
            if (c.BN > g.K && c.BN != 64) continue;
            if (c.halo && (c.halo != l.C || g.R != 3 || g.S != 3 || l.st != 1 || g.sw != 1)) continue;
            const int kb = c.kb ? c.kb : 128;
            if (c.tk && (l.C % kb != 0 || (l.C / kb * g.R * g.S) % c.tps != 0)) continue;
            QTensorMap ta{}, tb{};
            if (c.tk) {
                CUtensorMap ma, mb;
                cuuint64_t dimA[4] = {(cuuint64_t)g.C, (cuuint64_t)g.W, (cuuint64_t)g.H, (cuuint64_t)N};
                cuuint64_t strA[3] = {(cuuint64_t)g.C, (cuuint64_t)(g.W * g.C), (cuuint64_t)(g.H * g.W * g.C)};
                int lo[2] = {(int)-g.pw, (int)-g.ph}, hi[2] = {(int)(g.pw - (g.S - 1) * g.dw), (int)(g.ph - (g.R - 1) * g.dh)};
                cuuint32_t es[4] = {1, (cuuint32_t)g.sw, (cuuint32_t)g.sh, 1};
                CUresult e1 = cuTensorMapEncodeIm2col(&ma, CU_TENSOR_MAP_DATA_TYPE_UINT8, 4, dx, dimA, strA, lo, hi, kb, c.BM, es,
                                                      CU_TENSOR_MAP_INTERLEAVE_NONE, kb == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B,
                                                      CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
                cuuint64_t dimB[2] = {(cuuint64_t)g.Kd, (cuuint64_t)g.K}, strB[1] = {(cuuint64_t)g.Kd};
                cuuint32_t boxB[2] = {(cuuint32_t)kb, (cuuint32_t)c.BN}, esB[2] = {1, 1};
                CUresult e2 = cuTensorMapEncodeTiled(&mb, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, dw, dimB, strB, boxB, esB,
                                                     CU_TENSOR_MAP_INTERLEAVE_NONE, kb == 128 ? CU_TENSOR_MAP_SWIZZLE_128B : CU_TENSOR_MAP_SWIZZLE_64B,
                                                     CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
                if (e1 != CUDA_SUCCESS || e2 != CUDA_SUCCESS) { printf(" %s: tensor map %d/%d |", c.name, (int)e1, (int)e2); ++failures; continue; }
                memcpy(&ta, &ma, sizeof ta); memcpy(&tb, &mb, sizeof tb);
            }
            dim3 blocks((unsigned)((g.M + c.BM - 1) / c.BM * ((g.K + c.BN - 1) / c.BN)));
            if (c.halo) {
                int ky = (int)((g.K + 63) / 64), tiles = (int)(N * ((g.OH + c.th - 1) / c.th) * ((g.OW + 7) / 8));
                int perSM = std::max(1, std::min((228 << 10) / (c.smem + 1024), 2048 / c.T));
                blocks = dim3((unsigned)std::max(1, std::min(tiles, sms * perSM / ky)), (unsigned)ky);
            }
            auto go = [&](const half_t *zz, void *yy, int o8, float oi, signed char *y2, const float *s2p, const float *t2p, float qq) {
                if (c.tk) c.tk<<<blocks, c.T, c.smem>>>(ta, tb, ds, db, zz, dp, yy, g, 16, 0, 0, 1, o8, oi, y2, s2p, t2p, qq);
                else c.k<<<blocks, c.T, c.smem>>>(dx, dw, ds, db, zz, dp, yy, g, 16, 0, 0, 1, o8, oi, y2, s2p, t2p, qq);
            };
            // s8 output
            cudaMemset(dy, 0, ny);
            go(dz, dy, 1, outInv, nullptr, nullptr, nullptr, 1.f);
            CK(cudaDeviceSynchronize());
            cudaMemcpy(got8.data(), dy, ny, cudaMemcpyDeviceToHost);
            i64 bad8 = 0, bad16 = 0, bad2 = 0;
            for (i64 i = 0; i < ny; ++i) bad8 += got8[i] != ref8[i];
            // s8 output without a residual
            cudaMemset(dy, 0, ny);
            go(nullptr, dy, 1, outInv, nullptr, nullptr, nullptr, 1.f);
            CK(cudaDeviceSynchronize());
            cudaMemcpy(got8.data(), dy, ny, cudaMemcpyDeviceToHost);
            for (i64 i = 0; i < ny; ++i) bad8 += got8[i] != refn[i];
            // fp16 output + BatchNormalization s8
            cudaMemset(dy, 0, 2 * ny); cudaMemset(d2, 0, ny);
            go(dz, dy, 0, 1.f, d2, d2s, d2t, q2);
            CK(cudaDeviceSynchronize());
            cudaMemcpy(got16.data(), dy, 2 * ny, cudaMemcpyDeviceToHost); cudaMemcpy(got2.data(), d2, ny, cudaMemcpyDeviceToHost);
            for (i64 i = 0; i < ny; ++i) { bad16 += got16[i] != ref16[i]; bad2 += got2[i] != ref2[i]; }
            if (bad8 || bad16 || bad2) ++failures;
            float ms[3];
            for (int mode = 0; mode < 3; ++mode) {
                auto launch = [&]() {
                    if (mode == 0) go(dz, dy, 1, outInv, nullptr, nullptr, nullptr, 1.f);
                    else if (mode == 1) go(dz, dy, 0, 1.f, nullptr, nullptr, nullptr, 1.f);
                    else go(dz, dy, 0, 1.f, d2, d2s, d2t, q2);
                };
                for (int i = 0; i < 3; ++i) launch();
                cudaEventRecord(e0);
                int reps = 20;
                for (int i = 0; i < reps; ++i) launch();
                cudaEventRecord(e1); CK(cudaEventSynchronize(e1));
                cudaEventElapsedTime(&ms[mode], e0, e1); ms[mode] /= reps;
            }
            printf(" %s %.4f/%.4f/%.4fms %.0fT bad%lld/%lld/%lld |", c.name, ms[0], ms[1], ms[2], ops / ms[0] / 1e9, bad8, bad16, bad2);
            if (ms[0] < best) { best = ms[0]; bestName = c.name; }
        }
        printf(" best %s\n", bestName);
        total += best * l.count; totalOps += ops * l.count;
        cudaFree(dx); cudaFree(dw); cudaFree(dy); cudaFree(dr8); cudaFree(dr16); cudaFree(dr2); cudaFree(d2);
        cudaFree(ds); cudaFree(db); cudaFree(dp); cudaFree(dz); cudaFree(d2s); cudaFree(d2t);
    }
    printf("TOTAL conv time %.3f ms (s8 out, best per layer), %.0f TOPS; %d kernel/layer pairs not bit-exact\n", total, totalOps / total / 1e9, failures);
    return failures != 0;
}
