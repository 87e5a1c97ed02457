/// The CUDA C source of unirt's own GPU kernels, compiled with NVRTC once per
/// device architecture (see `CUDAModule`).
///
/// Every kernel is a template over the activation storage type `T` (`float`, or
/// `half_t`, IEEE binary16 held in an `unsigned short`) and computes in float. The
/// `UNIRT_INSTANTIATE` macro emits one `extern "C"` entry point per type, named
/// `<kernel>_f32` and `<kernel>_f16`; `CUDAKernelSource.name(_:fp16:)` builds the
/// name. Index arithmetic is 64-bit; grids are 1-D grid-stride loops unless noted.
public enum CUDAKernelSource {
    /// The kernels every plan may launch, by base name.
    public static let kernels = ["unary", "binary", "conv_epilogue", "conv_epilogue_vec", "gather_nhwc_vec", "conv_small_nhwc",
                                 "channel_affine", "channel_affine_s8", "channel_affine_s8_nhwc", "pool2d", "global_pool",
                                 "resize2d", "transpose", "copy_slice", "pad", "instance_norm", "reduce",
                                 "to_f32", "from_f32", "fake_quant", "quantize_s8", "quantize_rows_s8"]

    /// The entry point of `kernel` for the given storage type.
    public static func name(_ kernel: String, fp16: Bool) -> String { kernel + (fp16 ? "_f16" : "_f32") }

    /// Unary operation codes of the `unary` kernel and the activation codes of `conv_epilogue`.
    public enum Unary: Int32, Sendable {
        case identity = 0, relu, sigmoid, tanh, leakyRelu, clip, hardSigmoid, hardSwish, exp, log, sqrt, neg, abs,
             reciprocal, floor, ceil, prelu
    }

    /// Binary operation codes of the `binary` kernel.
    public enum Binary: Int32, Sendable {
        case add = 0, sub, mul, div, max, min, pow, prelu
    }

    /// Maximum tensor rank of the broadcast, transpose and pad kernels.
    public static let maxRank = 6

    /// Everything NVRTC compiles: the float kernels, then the int8 convolutions.
    public static let source = floatSource + int8Source

    static let floatSource = #"""
typedef unsigned short half_t;
typedef long long i64;
#define MAXR 6

__device__ __forceinline__ float ld(const float *p, i64 i) { return p[i]; }
__device__ __forceinline__ float ld(const half_t *p, i64 i) {
    half_t h = p[i]; float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f;
}
__device__ __forceinline__ void st(float *p, i64 i, float v) { p[i] = v; }
__device__ __forceinline__ void st(half_t *p, i64 i, float v) {
    half_t h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v)); p[i] = h;
}

// The symmetric int8 grid of scale s: clamp(round_half_even(x · (1/s)), -128, 127) — one multiply per value
// once the reciprocal is hoisted.
__device__ __forceinline__ float q8f(float x, float s) { return fminf(fmaxf(rintf(x * (1.f / s)), -128.f), 127.f); }

#define GRID_LOOP(i, n) for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)blockDim.x * gridDim.x)

__device__ __forceinline__ float act(int op, float v, float a, float b) {
    switch (op) {
    case 0: return v;
    case 1: return v > 0.f ? v : 0.f;
    case 2: return 1.f / (1.f + __expf(-v));
    case 3: return tanhf(v);
    case 4: return v >= 0.f ? v : a * v;
    case 5: return fminf(fmaxf(v, a), b);
    case 6: return fminf(fmaxf(a * v + b, 0.f), 1.f);
    case 7: return v * fminf(fmaxf(v / 6.f + 0.5f, 0.f), 1.f);
    case 8: return expf(v);
    case 9: return logf(v);
    case 10: return sqrtf(v);
    case 11: return -v;
    case 12: return fabsf(v);
    case 13: return 1.f / v;
    case 14: return floorf(v);
    case 15: return ceilf(v);
    }
    return v;
}

template <class T> __device__ void unary_k(T *y, const T *x, i64 n, int op, float a, float b) {
    GRID_LOOP(i, n) st(y, i, act(op, ld(x, i), a, b));
}

/* Broadcast geometry: output dims and each operand's element strides (0 on broadcast axes). */
struct Bcast { i64 rank; i64 d[MAXR]; i64 sa[MAXR]; i64 sb[MAXR]; };

__device__ __forceinline__ float binop(int op, float a, float b) {
    switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return fmaxf(a, b);
    case 5: return fminf(a, b);
    case 6: return powf(a, b);
    case 7: return a >= 0.f ? a : a * b;
    }
    return 0.f;
}

template <class T> __device__ void binary_k(T *y, const T *a, const T *b, i64 n, int op, Bcast g) {
    GRID_LOOP(i, n) {
        i64 r = i, ia = 0, ib = 0;
        for (int k = (int)g.rank - 1; k >= 0; --k) {
            i64 c = r % g.d[k]; r /= g.d[k];
            ia += c * g.sa[k]; ib += c * g.sb[k];
        }
        st(y, i, binop(op, ld(a, ia), ld(b, ib)));
    }
}

/* After a convolution: y = act(y + bias (+ z)) (+ z). biasMode 0: none; 1: one float per channel;
 * 2: one float per output position and channel, in the activation's layout (index i mod C·hw).
 * Channel c = i mod C (nhwc) or (i / hw) mod C. op 16 is PRelu with one float slope per channel. */
__device__ __forceinline__ float epilogue_value(float v, float bias, float zv, bool hasZ, float slope, int op,
                                                float a, float b, int before) {
    v += bias;
    if (hasZ && before) v += zv;
    if (op == 16) v = v >= 0.f ? v : v * slope;
    else v = act(op, v, a, b);
    if (hasZ && !before) v += zv;
    return v;
}

template <class T> __device__ void conv_epilogue_k(T *y, const float *bias, int biasMode, const T *z,
                                                   const float *slope, i64 n, int C, i64 hw, int nhwc, int op,
                                                   float a, float b, int before) {
    const i64 chw = (i64)C * hw;
    GRID_LOOP(i, n) {
        int c = nhwc ? (int)(i % C) : (int)((i / hw) % C);
        float bv = biasMode == 1 ? bias[c] : (biasMode == 2 ? bias[i % chw] : 0.f);
        st(y, i, epilogue_value(ld(y, i), bv, z ? ld(z, i) : 0.f, z != nullptr, op == 16 ? slope[c] : 0.f, op, a, b,
                                before));
    }
}

/* The same epilogue over 16-byte vectors of an NHWC tensor: C a multiple of the vector width (16 / sizeof(T)),
 * y and z 16-byte aligned; nvec = n / width. */
struct alignas(16) Vec16 { unsigned int w[4]; };

template <class T> __device__ void conv_epilogue_vec_k(T *y, const float *bias, int biasMode, const T *z,
                                                       const float *slope, i64 nvec, int C, i64 hw, int op,
                                                       float a, float b, int before, signed char *y2,
                                                       const float *s2, const float *t2, float q2) {
    constexpr int V = 16 / sizeof(T);
    const i64 chw = (i64)C * hw;
    GRID_LOOP(j, nvec) {
        const i64 i0 = j * V;
        Vec16 yv = reinterpret_cast<const Vec16 *>(y)[j];
        Vec16 zv = {{0u, 0u, 0u, 0u}};
        if (z) zv = reinterpret_cast<const Vec16 *>(z)[j];
        const int c0 = (int)(i0 % C);
        const i64 m0 = i0 % chw;
        T *ye = reinterpret_cast<T *>(&yv);
        const T *ze = reinterpret_cast<const T *>(&zv);
#pragma unroll
        for (int k = 0; k < V; ++k) {
            float bv = biasMode == 1 ? bias[c0 + k] : (biasMode == 2 ? bias[m0 + k] : 0.f);
            st(ye, k, epilogue_value(ld(ye, k), bv, ld(ze, k), z != nullptr, op == 16 ? slope[c0 + k] : 0.f, op, a, b,
                                     before));
        }
        reinterpret_cast<Vec16 *>(y)[j] = yv;
        if (y2) {
            // A BatchNormalization of the stored value on the s8 grid q2, rounded as channel_affine_s8_nhwc rounds it.
            unsigned q[V / 4] = {};
#pragma unroll
            for (int k = 0; k < V; ++k)
                q[k / 4] |= ((unsigned)(int)q8f(ld(ye, k) * s2[c0 + k] + t2[c0 + k], q2) & 0xffu) << (8 * (k % 4));
#pragma unroll
            for (int k = 0; k < V / 4; ++k) reinterpret_cast<unsigned *>(y2 + i0)[k] = q[k];
        }
    }
}

template <class T> __device__ void channel_affine_k(T *y, const T *x, const float *scale, const float *shift, i64 n,
                                                    int C, i64 hw) {
    GRID_LOOP(i, n) {
        int c = (int)((i / hw) % C);
        st(y, i, ld(x, i) * scale[c] + shift[c]);
    }
}

// Eight consecutive values from 16-byte-aligned memory (two 16-byte loads for float, one for half).
__device__ __forceinline__ void ld8(const float *p, i64 i, float *v) {
    float4 a = ((const float4 *)(p + i))[0], b = ((const float4 *)(p + i))[1];
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}
__device__ __forceinline__ void ld8(const half_t *p, i64 i, float *v) {
    uint4 u = *(const uint4 *)(p + i);
    unsigned w[4] = {u.x, u.y, u.z, u.w};
    for (int k = 0; k < 4; ++k) {
        half_t lo = (half_t)(w[k] & 0xffff), hi = (half_t)(w[k] >> 16);
        asm("cvt.f32.f16 %0, %1;" : "=f"(v[2 * k]) : "h"(lo));
        asm("cvt.f32.f16 %0, %1;" : "=f"(v[2 * k + 1]) : "h"(hi));
    }
}

// NHWC BatchNormalization written as s8 on the grid of scale q, 8 channels per thread (C % 8 == 0, 8·n8 < 2^32).
template <class T> __device__ void channel_affine_s8_nhwc_k(signed char *y, const T *x, const float *scale,
                                                            const float *shift, i64 n8, int C, float q) {
    GRID_LOOP(i, n8) {
        int c = (int)((unsigned)(8 * i) % (unsigned)C);  // 32-bit: the caller keeps 8·n8 below 2^32
        float v[8];
        ld8(x, 8 * i, v);
        unsigned lo = 0, hi = 0;
        for (int k = 0; k < 4; ++k) {
            lo |= ((unsigned)(int)q8f(v[k] * scale[c + k] + shift[c + k], q) & 0xffu) << (8 * k);
            hi |= ((unsigned)(int)q8f(v[k + 4] * scale[c + k + 4] + shift[c + k + 4], q) & 0xffu) << (8 * k);
        }
        ((uint2 *)y)[i] = make_uint2(lo, hi);
    }
}

// The same, written as s8 on the grid of scale q (the input of an int8 layer); 4 values per thread, C % 4 == 0.
template <class T> __device__ void channel_affine_s8_k(signed char *y, const T *x, const float *scale, const float *shift,
                                                       i64 n4, int C, i64 hw, float q) {
    GRID_LOOP(i, n4) {
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            i64 j = 4 * i + k;
            int c = (int)((j / hw) % C);
            v |= ((unsigned)(int)q8f(ld(x, j) * scale[c] + shift[c], q) & 0xffu) << (8 * k);
        }
        ((unsigned *)y)[i] = v;
    }
}

/* y[n, oh, ow, :] = x[n, oh·sh, ow·sw, :] for NHWC tensors, 16 bytes per thread; CV = channels / (16 / sizeof(T)). */
template <class T> __device__ void gather_nhwc_vec_k(T *y, const T *x, i64 nvec, int CV, int OH, int OW, int H, int W,
                                                     int sh, int sw) {
    GRID_LOOP(j, nvec) {
        i64 p = j / CV; int cv = (int)(j % CV);
        int ow = (int)(p % OW); i64 t = p / OW; int oh = (int)(t % OH); i64 n = t / OH;
        i64 src = ((n * H + (i64)oh * sh) * W + (i64)ow * sw) * CV + cv;
        reinterpret_cast<Vec16 *>(y)[j] = reinterpret_cast<const Vec16 *>(x)[src];
    }
}

/* Direct convolution for few input channels (a first layer) with the conv epilogue fused: x read through
 * strides (sn, sc, sh, sw: NCHW or NHWC), y NHWC [N, OH, OW, Co]; w float [KH][KW][Ci][Co] copied to dynamic
 * shared memory; one thread per output pixel and 8 consecutive output channels (Co a multiple of 8). */
template <class T> __device__ void conv_small_nhwc_k(T *y, const T *x, const float *w, const float *bias, int biasMode,
                                                     const T *z, const float *slope, int N, int Ci, int H, int W,
                                                     i64 sn, i64 sc, i64 sh, i64 sw, int Co, int OH, int OW, int KH,
                                                     int KW, int strh, int strw, int padh, int padw, int op, float a,
                                                     float b, int before, signed char *y2, const float *s2,
                                                     const float *t2, float q2) {
    // One thread: one output pixel × 8 output channels. The channel group is the slow index, so the threads of a
    // warp take neighbouring pixels of one group and read the same filter values (shared-memory broadcasts, two
    // 16-byte reads per input value). N·OH·OW < 2^31 (the caller checks), so pixel arithmetic is 32-bit.
    extern __shared__ float4 ws4[];
    const float *ws = reinterpret_cast<const float *>(ws4);
    const int taps = KH * KW * Ci;
    for (int i = threadIdx.x; i < taps * Co; i += blockDim.x) reinterpret_cast<float *>(ws4)[i] = w[i];
    __syncthreads();
    const int P = N * OH * OW;
    const i64 total = (i64)P * (Co / 8), chw = (i64)Co * OH * OW;
    GRID_LOOP(j, total) {
        const int g = (int)(j / P), p = (int)(j - (i64)g * P);
        const int ow = p % OW, t = p / OW, oh = t % OH, n = t / OH;
        const T *xn = x + n * sn;
        float acc[8];
#pragma unroll
        for (int k = 0; k < 8; ++k) acc[k] = 0.f;
        for (int r = 0; r < KH; ++r) {
            const int ih = oh * strh - padh + r;
            if (ih < 0 || ih >= H) continue;
            for (int q = 0; q < KW; ++q) {
                const int iw = ow * strw - padw + q;
                if (iw < 0 || iw >= W) continue;
                const T *xp = xn + ih * sh + iw * sw;
                const float4 *wr = reinterpret_cast<const float4 *>(ws + ((r * KW + q) * Ci) * Co + g * 8);
                for (int c = 0; c < Ci; ++c) {
                    const float xv = ld(xp, c * sc);
                    const float4 w0 = wr[c * (Co / 4)], w1 = wr[c * (Co / 4) + 1];
                    acc[0] += xv * w0.x; acc[1] += xv * w0.y; acc[2] += xv * w0.z; acc[3] += xv * w0.w;
                    acc[4] += xv * w1.x; acc[5] += xv * w1.y; acc[6] += xv * w1.z; acc[7] += xv * w1.w;
                }
            }
        }
        Vec16 buf[sizeof(T) * 8 / 16];
        T *o = reinterpret_cast<T *>(buf);
        const i64 i0 = (i64)p * Co + g * 8;
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            const i64 i = i0 + k;
            const int c = g * 8 + k;
            float bv = biasMode == 1 ? bias[c] : (biasMode == 2 ? bias[i % chw] : 0.f);
            st(o, k, epilogue_value(acc[k], bv, z ? ld(z, i) : 0.f, z != nullptr, op == 16 ? slope[c] : 0.f, op, a, b,
                                    before));
        }
#pragma unroll
        for (int v = 0; v < (int)(sizeof(T) * 8 / 16); ++v) reinterpret_cast<Vec16 *>(y + i0)[v] = buf[v];
        if (y2) {
            // A BatchNormalization of the stored value on the s8 grid q2, rounded as channel_affine_s8_nhwc rounds it.
            unsigned lo = 0, hi = 0;
#pragma unroll
            for (int k = 0; k < 4; ++k) {
                lo |= ((unsigned)(int)q8f(ld(o, k) * s2[g * 8 + k] + t2[g * 8 + k], q2) & 0xffu) << (8 * k);
                hi |= ((unsigned)(int)q8f(ld(o, k + 4) * s2[g * 8 + k + 4] + t2[g * 8 + k + 4], q2) & 0xffu) << (8 * k);
            }
            *reinterpret_cast<uint2 *>(y2 + i0) = make_uint2(lo, hi);
        }
    }
}

/* kind: 0 max, 1 average counting padding (clipped to the padded input), 2 average over covered inputs. */
template <class T> __device__ void pool2d_k(T *y, const T *x, i64 planes, int H, int W, int OH, int OW, int kh,
                                            int kw, int sh, int sw, int ph, int pw, int pe_h, int pe_w, int dh,
                                            int dw, int kind) {
    i64 n = planes * OH * OW;
    GRID_LOOP(i, n) {
        int ow = (int)(i % OW); int oh = (int)((i / OW) % OH); i64 p = i / ((i64)OW * OH);
        const i64 base = p * H * W;
        float m = -3.402823466e38f, s = 0.f; int cnt = 0;
        int h0 = oh * sh - ph, w0 = ow * sw - pw;
        for (int a = 0; a < kh; ++a) {
            int h = h0 + a * dh;
            if (h < 0 || h >= H) continue;
            for (int b = 0; b < kw; ++b) {
                int w = w0 + b * dw;
                if (w < 0 || w >= W) continue;
                float v = ld(x, base + (i64)h * W + w);
                m = fmaxf(m, v); s += v; ++cnt;
            }
        }
        float r;
        if (kind == 0) r = m;
        else if (kind == 2) r = cnt > 0 ? s / cnt : 0.f;
        else {
            int hs = max(h0, -ph), he = min(h0 + (kh - 1) * dh + 1, H + pe_h);
            int ws = max(w0, -pw), we = min(w0 + (kw - 1) * dw + 1, W + pe_w);
            int area = ((he - hs + dh - 1) / dh) * ((we - ws + dw - 1) / dw);
            r = area > 0 ? s / area : 0.f;
        }
        st(y, i, r);
    }
}

/* One warp per plane; kind 0 average, 1 max. */
template <class T> __device__ void global_pool_k(T *y, const T *x, i64 planes, i64 size, int kind) {
    i64 warp = ((i64)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x & 31;
    if (warp >= planes) return;
    const i64 base = warp * size;
    float acc = kind == 0 ? 0.f : -3.402823466e38f;
    for (i64 j = lane; j < size; j += 32) { float v = ld(x, base + j); acc = kind == 0 ? acc + v : fmaxf(acc, v); }
    for (int o = 16; o > 0; o >>= 1) {
        float v = __shfl_down_sync(0xffffffffu, acc, o);
        acc = kind == 0 ? acc + v : fmaxf(acc, v);
    }
    if (lane == 0) st(y, warp, kind == 0 ? acc / (float)size : acc);
}

/* Separable 2-D resampling over the last two axes with host-made tables:
 * y[p, o, q] = lerp(lerp(x[p, h0[o], w0[q]], x[p, h0[o], w1[q]]), …) with weights hw[o], ww[q]. */
template <class T> __device__ void resize2d_k(T *y, const T *x, i64 planes, int H, int W, int OH, int OW,
                                              const int *h0, const int *h1, const float *hw, const int *w0,
                                              const int *w1, const float *ww) {
    i64 n = planes * OH * OW;
    GRID_LOOP(i, n) {
        int q = (int)(i % OW); int o = (int)((i / OW) % OH); i64 p = i / ((i64)OW * OH);
        const i64 base = p * H * W;
        float bh = hw[o], bw = ww[q];
        i64 r0 = base + (i64)h0[o] * W, r1 = base + (i64)h1[o] * W;
        float top = ld(x, r0 + w0[q]) * (1.f - bw) + ld(x, r0 + w1[q]) * bw;
        float bot = ld(x, r1 + w0[q]) * (1.f - bw) + ld(x, r1 + w1[q]) * bw;
        st(y, i, top * (1.f - bh) + bot * bh);
    }
}

/* Output dims and, per output axis, the input stride of the axis it comes from. */
struct Perm { i64 rank; i64 d[MAXR]; i64 s[MAXR]; };

template <class T> __device__ void transpose_k(T *y, const T *x, i64 n, Perm g) {
    GRID_LOOP(i, n) {
        i64 r = i, src = 0;
        for (int k = (int)g.rank - 1; k >= 0; --k) { i64 c = r % g.d[k]; r /= g.d[k]; src += c * g.s[k]; }
        st(y, i, ld(x, src));
    }
}

/* x viewed as [outer, chunk] is written to y viewed as [outer, stride] at column offset. */
template <class T> __device__ void copy_slice_k(T *y, const T *x, i64 n, i64 chunk, i64 stride, i64 offset) {
    GRID_LOOP(i, n) { i64 o = i / chunk, c = i % chunk; st(y, o * stride + offset + c, ld(x, i)); }
}

/* Pad geometry: output dims, input dims, begin amounts (negative crops). mode: 0 constant, 1 reflect, 2 edge. */
struct PadG { i64 rank; i64 od[MAXR]; i64 id[MAXR]; i64 b[MAXR]; };

template <class T> __device__ void pad_k(T *y, const T *x, i64 n, PadG g, int mode, float value) {
    GRID_LOOP(i, n) {
        i64 r = i, src = 0, mul = 1; bool inside = true;
        for (int k = (int)g.rank - 1; k >= 0; --k) {
            i64 c = r % g.od[k]; r /= g.od[k];
            i64 s = c - g.b[k], L = g.id[k];
            if (s < 0 || s >= L) {
                if (mode == 0) inside = false;
                else if (mode == 2) s = s < 0 ? 0 : L - 1;
                else if (L == 1) s = 0;
                else {
                    i64 period = 2 * (L - 1);
                    s = s % period; if (s < 0) s += period;
                    if (s >= L) s = period - s;
                }
            }
            src += s * mul; mul *= L;
        }
        st(y, i, inside ? ld(x, src) : value);
    }
}

/* One block (256 threads) per [n, c] plane: mean, then variance, then normalize. */
template <class T> __device__ void instance_norm_k(T *y, const T *x, const float *scale, const float *bias, int C,
                                                   i64 size, float eps) {
    __shared__ float red[256];
    i64 plane = blockIdx.x; int c = (int)(plane % C);
    const i64 base = plane * size;
    float s = 0.f;
    for (i64 j = threadIdx.x; j < size; j += blockDim.x) s += ld(x, base + j);
    red[threadIdx.x] = s; __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) { if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o]; __syncthreads(); }
    float mean = red[0] / (float)size; __syncthreads();
    float q = 0.f;
    for (i64 j = threadIdx.x; j < size; j += blockDim.x) { float d = ld(x, base + j) - mean; q += d * d; }
    red[threadIdx.x] = q; __syncthreads();
    for (int o = blockDim.x / 2; o > 0; o >>= 1) { if (threadIdx.x < o) red[threadIdx.x] += red[threadIdx.x + o]; __syncthreads(); }
    float inv = rsqrtf(red[0] / (float)size + eps);
    float a = scale[c] * inv, b = bias[c] - mean * a;
    for (i64 j = threadIdx.x; j < size; j += blockDim.x) st(y, base + j, ld(x, base + j) * a + b);
}

/* x viewed as [outer, len, inner] reduced over len. kind: 0 sum, 1 mean, 2 max, 3 min. */
template <class T> __device__ void reduce_k(T *y, const T *x, i64 outer, i64 len, i64 inner, int kind) {
    GRID_LOOP(i, outer * inner) {
        i64 o = i / inner, t = i % inner;
        float acc = kind == 2 ? -3.402823466e38f : (kind == 3 ? 3.402823466e38f : 0.f);
        for (i64 j = 0; j < len; ++j) {
            float v = ld(x, (o * len + j) * inner + t);
            acc = kind == 2 ? fmaxf(acc, v) : (kind == 3 ? fminf(acc, v) : acc + v);
        }
        st(y, i, kind == 1 ? acc / (float)len : acc);
    }
}

template <class T> __device__ void to_f32_k(float *y, const T *x, i64 n) { GRID_LOOP(i, n) y[i] = ld(x, i); }

// x on the int8 grid and back (the input of an int8 layer run by a float kernel).
template <class T> __device__ void fake_quant_k(T *y, const T *x, i64 n, float s) { GRID_LOOP(i, n) st(y, i, q8f(ld(x, i), s) * s); }
// x as s8 values; 4 per thread (n is a multiple of 4).
template <class T> __device__ void quantize_s8_k(signed char *y, const T *x, i64 n4, float s) {
    GRID_LOOP(i, n4) {
        unsigned v = 0;
        for (int q = 0; q < 4; ++q) v |= ((unsigned)(int)q8f(ld(x, 4 * i + q), s) & 0xffu) << (8 * q);
        ((unsigned *)y)[i] = v;
    }
}
/* The input of an int8 layer with few channels (C not a multiple of 16) as s8 rows for an R x 1 convolution:
   y[n][h][ow][s * C + c] = x at (n, c, h, ow * sw + s * dw - pw) on the int8 grid, zero outside the image and
   for s * C + c >= S * C, Cp (a multiple of 16) bytes per pixel; x NCHW or NHWC. 16 bytes per thread: one
   pixel's position worked out once, consecutive threads reading consecutive columns. */
template <class T> __device__ void quantize_rows_s8_k(signed char *y, const T *x, i64 n16, int C, int H, int W, int OW,
                                                     int S, int sw, int dw, int pw, int Cp, int nhwc, float s) {
    const int G = Cp / 16;
    const i64 plane = (i64)H * W;
    GRID_LOOP(i, n16) {
        const i64 pix = i / G, nh = pix / OW;
        const int k0 = (int)(i - pix * G) * 16, ow = (int)(pix - nh * OW), h = (int)(nh % H);
        const i64 n = nh / H;
        const T *row = nhwc ? x + (n * H + h) * W * C : x + n * C * plane + (i64)h * W;
        int tap = k0 / C, c = k0 - tap * C;
        unsigned v[4] = {0u, 0u, 0u, 0u};
#pragma unroll
        for (int q = 0; q < 16; ++q) {
            const int w = ow * sw + tap * dw - pw;
            if (tap < S && (unsigned)w < (unsigned)W) {
                const float f = ld(row, nhwc ? (i64)w * C + c : c * plane + w);
                v[q >> 2] |= ((unsigned)(int)q8f(f, s) & 0xffu) << (8 * (q & 3));
            }
            if (++c == C) { c = 0; ++tap; }
        }
        ((uint4 *)y)[i] = make_uint4(v[0], v[1], v[2], v[3]);
    }
}
template <class T> __device__ void from_f32_k(T *y, const float *x, i64 n) { GRID_LOOP(i, n) st(y, i, x[i]); }

#define UNIRT_INSTANTIATE(T, S)                                                                                   \
extern "C" __global__ void unary_##S(T *y, const T *x, i64 n, int op, float a, float b) { unary_k(y, x, n, op, a, b); } \
extern "C" __global__ void binary_##S(T *y, const T *a, const T *b, i64 n, int op, Bcast g) { binary_k(y, a, b, n, op, g); } \
extern "C" __global__ void conv_epilogue_##S(T *y, const float *bias, int biasMode, const T *z, const float *slope, \
    i64 n, int C, i64 hw, int nhwc, int op, float a, float b, int before) \
    { conv_epilogue_k(y, bias, biasMode, z, slope, n, C, hw, nhwc, op, a, b, before); } \
extern "C" __global__ void conv_epilogue_vec_##S(T *y, const float *bias, int biasMode, const T *z, const float *slope, \
    i64 nvec, int C, i64 hw, int op, float a, float b, int before, signed char *y2, const float *s2, const float *t2, \
    float q2) { conv_epilogue_vec_k(y, bias, biasMode, z, slope, nvec, C, hw, op, a, b, before, y2, s2, t2, q2); } \
extern "C" __global__ void gather_nhwc_vec_##S(T *y, const T *x, i64 nvec, int CV, int OH, int OW, int H, int W, \
    int sh, int sw) { gather_nhwc_vec_k(y, x, nvec, CV, OH, OW, H, W, sh, sw); } \
extern "C" __global__ void conv_small_nhwc_##S(T *y, const T *x, const float *w, const float *bias, int biasMode, \
    const T *z, const float *slope, int N, int Ci, int H, int W, i64 sn, i64 sc, i64 sh, i64 sw, int Co, int OH, \
    int OW, int KH, int KW, int strh, int strw, int padh, int padw, int op, float a, float b, int before, \
    signed char *y2, const float *s2, const float *t2, float q2) \
    { conv_small_nhwc_k(y, x, w, bias, biasMode, z, slope, N, Ci, H, W, sn, sc, sh, sw, Co, OH, OW, KH, KW, strh, strw, \
                        padh, padw, op, a, b, before, y2, s2, t2, q2); } \
extern "C" __global__ void channel_affine_##S(T *y, const T *x, const float *sc, const float *sh, i64 n, int C, i64 hw) \
    { channel_affine_k(y, x, sc, sh, n, C, hw); } \
extern "C" __global__ void channel_affine_s8_nhwc_##S(signed char *y, const T *x, const float *sc, const float *sh, \
    i64 n8, int C, float q) { channel_affine_s8_nhwc_k(y, x, sc, sh, n8, C, q); } \
extern "C" __global__ void channel_affine_s8_##S(signed char *y, const T *x, const float *sc, const float *sh, i64 n4, int C, \
    i64 hw, float q) { channel_affine_s8_k(y, x, sc, sh, n4, C, hw, q); } \
extern "C" __global__ void pool2d_##S(T *y, const T *x, i64 planes, int H, int W, int OH, int OW, int kh, int kw, \
    int sh, int sw, int ph, int pw, int peh, int pew, int dh, int dw, int kind) \
    { pool2d_k(y, x, planes, H, W, OH, OW, kh, kw, sh, sw, ph, pw, peh, pew, dh, dw, kind); } \
extern "C" __global__ void global_pool_##S(T *y, const T *x, i64 planes, i64 size, int kind) { global_pool_k(y, x, planes, size, kind); } \
extern "C" __global__ void resize2d_##S(T *y, const T *x, i64 planes, int H, int W, int OH, int OW, const int *h0, \
    const int *h1, const float *hw, const int *w0, const int *w1, const float *ww) \
    { resize2d_k(y, x, planes, H, W, OH, OW, h0, h1, hw, w0, w1, ww); } \
extern "C" __global__ void transpose_##S(T *y, const T *x, i64 n, Perm g) { transpose_k(y, x, n, g); } \
extern "C" __global__ void copy_slice_##S(T *y, const T *x, i64 n, i64 chunk, i64 stride, i64 offset) \
    { copy_slice_k(y, x, n, chunk, stride, offset); } \
extern "C" __global__ void pad_##S(T *y, const T *x, i64 n, PadG g, int mode, float value) { pad_k(y, x, n, g, mode, value); } \
extern "C" __global__ void instance_norm_##S(T *y, const T *x, const float *sc, const float *b, int C, i64 size, float eps) \
    { instance_norm_k(y, x, sc, b, C, size, eps); } \
extern "C" __global__ void reduce_##S(T *y, const T *x, i64 outer, i64 len, i64 inner, int kind) { reduce_k(y, x, outer, len, inner, kind); } \
extern "C" __global__ void to_f32_##S(float *y, const T *x, i64 n) { to_f32_k(y, x, n); } \
extern "C" __global__ void from_f32_##S(T *y, const float *x, i64 n) { from_f32_k(y, x, n); } \
extern "C" __global__ void fake_quant_##S(T *y, const T *x, i64 n, float s) { fake_quant_k(y, x, n, s); } \
extern "C" __global__ void quantize_s8_##S(signed char *y, const T *x, i64 n4, float s) { quantize_s8_k(y, x, n4, s); } \
extern "C" __global__ void quantize_rows_s8_##S(signed char *y, const T *x, i64 n16, int C, int H, int W, int OW, int S, \
    int sw, int dw, int pw, int Cp, int nhwc, float s) { quantize_rows_s8_k(y, x, n16, C, H, W, OW, S, sw, dw, pw, Cp, nhwc, s); }

UNIRT_INSTANTIATE(float, f32)
UNIRT_INSTANTIATE(half_t, f16)
"""#
}
