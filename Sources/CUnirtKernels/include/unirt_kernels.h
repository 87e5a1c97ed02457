#ifndef UNIRT_KERNELS_H
#define UNIRT_KERNELS_H
/* SIMD microkernels of the unirt CPU backend.
 *
 * Every public function below is a dispatcher: it picks an AVX2/FMA(/F16C)
 * implementation when unirt_cpu_features() reports the features, else a
 * portable C fallback. Both produce the same results up to floating-point
 * reassociation (integer paths are bit-exact).
 *
 * Conventions shared by all kernels:
 *  - Activations are float32 NCHW for ONE sample: a pointer to channel 0 of the
 *    sample, channels stored one plane (H*W floats) after another. The caller
 *    loops over the batch.
 *  - Counts, sizes and indices are element counts (not bytes) unless a name
 *    says "size" (bytes).
 *  - No alignment is assumed anywhere (unaligned loads); 64-byte alignment of
 *    the arena helps only speed.
 *  - Kernels never allocate on the heap, never throw and never validate user
 *    input: the plan builder validates shapes once. Passing inconsistent
 *    sizes is a programmer error.
 *  - All kernels are reentrant and keep no state. To spread work across
 *    threads the caller splits channel (or row/position) ranges, given as
 *    half-open [begin, end) parameters; distinct ranges write disjoint output.
 *  - The caller owns every buffer; kernels only read inputs and write outputs.
 *  - In-place operation (output == input) is allowed where a comment says so.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* CPU features                                                              */

/* CPU feature bits. */
enum {
    UNIRT_CPU_AVX2 = 1 << 0,
    UNIRT_CPU_FMA = 1 << 1,
    UNIRT_CPU_F16C = 1 << 2,
    UNIRT_CPU_AVX512F = 1 << 3,
    UNIRT_CPU_AVX512VNNI = 1 << 4,
    UNIRT_CPU_AVXVNNI = 1 << 5,
};

/* Features of the running CPU (detected once, then cached); 0 while SIMD is
 * disabled with unirt_cpu_set_simd_enabled(0). Thread-safe. */
uint32_t unirt_cpu_features(void);

/* Forces the portable kernels (0) or lets detection decide (1). Meant for
 * tests comparing both paths; takes effect for calls that start afterwards. */
void unirt_cpu_set_simd_enabled(int enabled);

/* Name of the implementation the dispatchers use now: "avx2" or "generic". */
const char *unirt_kernels_isa(void);

/* ------------------------------------------------------------------------ */
/* Shared parameter blocks                                                   */

/* Activation kinds of the fused epilogue. */
enum {
    UNIRT_ACT_NONE = 0,
    UNIRT_ACT_RELU = 1,
    UNIRT_ACT_PRELU = 2,       /* per-channel slope (unirt_epilogue.slope) */
    UNIRT_ACT_LEAKY_RELU = 3,  /* x < 0 ? alpha*x : x */
    UNIRT_ACT_CLIP = 4,        /* min(max(x, alpha), beta) */
    UNIRT_ACT_SIGMOID = 5,     /* 1/(1+exp(-x)), fast exp, ~1e-6 relative */
    UNIRT_ACT_HARDSIGMOID = 6, /* max(0, min(1, alpha*x + beta)) */
};

/* What follows a convolution/GEMM: y = act(acc + bias[c] (+ residual)).
 * Pointers may be NULL when unused. `bias`, `slope` are indexed by the
 * absolute channel (output row) number. `residual` has exactly the layout of
 * the output it is applied to (same origin, same row stride). The struct is
 * read-only to the kernels and may be shared across threads. */
typedef struct unirt_epilogue {
    const float *bias;     /* [channels] or NULL */
    const float *residual; /* like the output, or NULL */
    /* 0: y = act(x + bias + residual); 1: y = act(x + bias) + residual. */
    int32_t residual_after_activation;
    int32_t activation;    /* UNIRT_ACT_* */
    float alpha;           /* leaky-relu slope, clip min, hardsigmoid alpha */
    float beta;            /* clip max, hardsigmoid beta */
    const float *slope;    /* PRelu slope per channel (expand a scalar slope) */
} unirt_epilogue;

/* Geometry of a 2-D sliding window (convolution, pooling, im2col).
 * Output positions (oy, ox) read input rows oy*stride_h - pad_top +
 * ky*dilation_h (likewise columns); positions outside [0, in) are padding.
 * Bottom/right pads are implied by out_h/out_w; pad_bottom/pad_right are only
 * read by average pooling with count_include_pad. */
typedef struct unirt_conv2d_geometry {
    size_t in_h, in_w;
    size_t out_h, out_w;
    size_t kernel_h, kernel_w;
    size_t stride_h, stride_w;     /* >= 1 */
    size_t dilation_h, dilation_w; /* >= 1 */
    size_t pad_top, pad_left;
    size_t pad_bottom, pad_right;
} unirt_conv2d_geometry;

/* ------------------------------------------------------------------------ */
/* 1. Epilogue                                                               */

/* Applies `ep` in place to rows [channel_begin, channel_end) of a block whose
 * row c starts at y + c*ld and holds `count` floats (a conv output plane, or
 * a column tile of a GEMM output). ep->residual uses the same indexing. */
void unirt_epilogue_apply(const unirt_epilogue *ep, float *y, size_t ld,
                          size_t channel_begin, size_t channel_end, size_t count);

/* ------------------------------------------------------------------------ */
/* 2. Depthwise convolution (FP32)                                           */

/* Depthwise conv (group = channels, one filter per channel) plus epilogue,
 * for channels [channel_begin, channel_end). x: [C][in_h][in_w];
 * weights: [C][kernel_h][kernel_w] (ONNX layout); y: [C][out_h][out_w].
 * Any kernel/stride/dilation/pads; 3x3 with stride 1 or 2 and dilation 1 has
 * a direct AVX2 kernel. ep may be NULL; ep->residual is laid out like y. */
void unirt_dwconv_compute(const float *x, const float *weights,
                          const unirt_conv2d_geometry *g, const unirt_epilogue *ep,
                          float *y, size_t channel_begin, size_t channel_end);

/* ------------------------------------------------------------------------ */
/* 3. im2col                                                                 */

/* Unfolds channels [channel_begin, channel_end) of x ([C][in_h][in_w]) for
 * output positions [pos_begin, pos_end) (pos = oy*out_w + ox) into `cols`, a
 * row-major matrix of ((channel_end-channel_begin)*kernel_h*kernel_w) rows and
 * (pos_end-pos_begin) columns; row ((c-channel_begin)*kernel_h + ky)*kernel_w
 * + kx, matching ONNX weights [M][C][kh][kw] read as an M x (C*kh*kw) matrix.
 * Padding reads as 0. Tiling positions keeps the buffer small. */
void unirt_im2col_compute(const float *x, const unirt_conv2d_geometry *g,
                          size_t channel_begin, size_t channel_end,
                          size_t pos_begin, size_t pos_end, float *cols);

/* Subsamples channels [channel_begin, channel_end) for a 1x1 strided conv
 * without padding: y[c-channel_begin][oy][ox] = x[c][oy*stride_h][ox*stride_w]
 * (kernel, dilation and pads of g are ignored). */
void unirt_gather_strided_compute(const float *x, const unirt_conv2d_geometry *g,
                                  size_t channel_begin, size_t channel_end, float *y);

/* ------------------------------------------------------------------------ */
/* 4. Elementwise                                                            */

enum { UNIRT_BINARY_ADD = 0, UNIRT_BINARY_SUB = 1, UNIRT_BINARY_MUL = 2, UNIRT_BINARY_DIV = 3 };

/* y[i] = a[i] op b[i] for i < count. In place allowed (y == a or y == b). */
void unirt_binary_compute(int32_t op, const float *a, const float *b, float *y, size_t count);

/* Per-channel broadcast ([1,C,1,1] against NCHW): for c in the range,
 * y[c*plane + i] = a[c*plane + i] op b[c] (b_first = 0) or b[c] op a[...]
 * (b_first = 1). In place allowed (y == a). */
void unirt_binary_channel_compute(int32_t op, const float *a, const float *b, float *y,
                                  size_t plane, size_t channel_begin, size_t channel_end,
                                  int32_t b_first);

/* y[i] = a[i] op b (b_first = 0) or b op a[i] (b_first = 1). In place allowed. */
void unirt_binary_scalar_compute(int32_t op, const float *a, float b, float *y, size_t count,
                                 int32_t b_first);

enum {
    UNIRT_UNARY_RELU = 0,
    UNIRT_UNARY_SIGMOID = 1,     /* ~1e-6 relative */
    UNIRT_UNARY_TANH = 2,        /* ~2e-6 relative */
    UNIRT_UNARY_EXP = 3,         /* ~1e-6 relative; 0 below -87.3, +inf above 88.7 */
    UNIRT_UNARY_SQRT = 4,        /* correctly rounded */
    UNIRT_UNARY_LEAKY_RELU = 5,  /* alpha = slope */
    UNIRT_UNARY_HARDSIGMOID = 6, /* max(0, min(1, alpha*x + beta)) */
    UNIRT_UNARY_CLIP = 7,        /* min(max(x, alpha), beta) */
};

/* y[i] = f(x[i]) for i < count. In place allowed. */
void unirt_unary_compute(int32_t op, const float *x, float *y, size_t count, float alpha,
                         float beta);

/* PRelu with a per-channel slope: y = x < 0 ? slope[c]*x : x over channels
 * [channel_begin, channel_end) of [C][plane]. In place allowed. */
void unirt_prelu_compute(const float *x, const float *slope, float *y, size_t plane,
                         size_t channel_begin, size_t channel_end);

/* ------------------------------------------------------------------------ */
/* 5. Pooling, resize, pad, normalization, layout                            */

/* MaxPool 2-D over channels [channel_begin, channel_end); padding never wins
 * (it is skipped). x: [C][in_h][in_w], y: [C][out_h][out_w]. */
void unirt_maxpool_compute(const float *x, const unirt_conv2d_geometry *g, float *y,
                           size_t channel_begin, size_t channel_end);

/* AveragePool 2-D. count_include_pad = 0 divides by the number of in-image
 * taps; 1 divides by the taps inside the padded image (pads included,
 * positions beyond pad_bottom/pad_right from ceil_mode excluded), as ONNX. */
void unirt_avgpool_compute(const float *x, const unirt_conv2d_geometry *g,
                           int32_t count_include_pad, float *y,
                           size_t channel_begin, size_t channel_end);

/* GlobalAveragePool: y[c] = mean of plane c, for the channel range. */
void unirt_global_avgpool_compute(const float *x, size_t plane, float *y,
                                  size_t channel_begin, size_t channel_end);

/* Nearest resize by integer factors (asymmetric coordinates, floor):
 * y[c][oy][ox] = x[c][oy/factor_h][ox/factor_w], out = in * factor. */
void unirt_resize_nearest_int_compute(const float *x, size_t in_h, size_t in_w,
                                      size_t factor_h, size_t factor_w, float *y,
                                      size_t channel_begin, size_t channel_end);

/* Nearest resize with precomputed index tables (any coordinate mode):
 * y[c][oy][ox] = x[c][row_index[oy]][col_index[ox]]; indices in range. */
void unirt_resize_nearest_table_compute(const float *x, size_t in_h, size_t in_w,
                                        const int32_t *row_index, size_t out_h,
                                        const int32_t *col_index, size_t out_w, float *y,
                                        size_t channel_begin, size_t channel_end);

enum { UNIRT_PAD_CONSTANT = 0, UNIRT_PAD_REFLECT = 1, UNIRT_PAD_EDGE = 2 };

/* Spatial pad of [C][in_h][in_w] into [C][in_h+top+bottom][in_w+left+right]
 * (non-negative pads; REFLECT needs pads < the dimension, no edge repeat). */
void unirt_pad2d_compute(const float *x, size_t in_h, size_t in_w, size_t pad_top,
                         size_t pad_bottom, size_t pad_left, size_t pad_right, int32_t mode,
                         float value, float *y, size_t channel_begin, size_t channel_end);

/* Instance normalization for channels of one sample:
 * y = (x - mean_c) / sqrt(var_c + epsilon) * scale[c] + bias[c], mean and
 * (biased) variance over the plane in two passes with double accumulation;
 * then `ep` (may be NULL; its bias is added too). In place allowed. */
void unirt_instancenorm_compute(const float *x, size_t plane, const float *scale,
                                const float *bias, float epsilon, const unirt_epilogue *ep,
                                float *y, size_t channel_begin, size_t channel_end);

/* One sample [C][plane] -> [plane][C]. Not in place. */
void unirt_transpose_to_nhwc(const float *x, size_t channels, size_t plane, float *y);
/* One sample [plane][C] -> [C][plane]. Not in place. */
void unirt_transpose_to_nchw(const float *x, size_t channels, size_t plane, float *y);

/* ------------------------------------------------------------------------ */
/* 6. Half precision                                                         */

/* float32 -> IEEE binary16 bits, round to nearest even, overflow to inf. */
void unirt_f16_from_f32(const float *x, uint16_t *y, size_t count);
/* IEEE binary16 bits -> float32 (exact). */
void unirt_f16_to_f32(const uint16_t *x, float *y, size_t count);

/* ------------------------------------------------------------------------ */
/* 7. Quantize / dequantize (per tensor)                                     */

/* y = clamp(round_half_even(x / scale) + zero_point, 0, 255). */
void unirt_quantize_u8(const float *x, uint8_t *y, size_t count, float scale,
                       int32_t zero_point);
/* Symmetric: y = clamp(round_half_even(x / scale), -127, 127). */
void unirt_quantize_s8(const float *x, int8_t *y, size_t count, float scale);
/* y = (x - zero_point) * scale. */
void unirt_dequantize_u8(const uint8_t *x, float *y, size_t count, float scale,
                         int32_t zero_point);
/* y = x * scale. */
void unirt_dequantize_s8(const int8_t *x, float *y, size_t count, float scale);

/* ------------------------------------------------------------------------ */
/* 8. INT8 GEMM: Y[M x N] = W[M x K] (s8) . (X[K x N] (u8) - zero_point)     */
/*
 * Exactness choice: VPMADDUBSW adds two u8*s8 products into a saturating
 * int16, which overflows for full-range weights (255*127*2 > 32767). We do
 * NOT reduce weights to 7 bits (that costs a bit of weight precision on
 * every layer). Instead both operands are pre-widened to int16 at pack time
 * and multiplied with VPMADDWD (int16*int16 pairs summed into int32), which
 * is exact for every s8 weight and every u8 activation. The zero point is
 * subtracted while packing X (x - zp lies in [-255, 255]), so no
 * compensation term is needed. Cost: packed weights take 2 bytes per weight
 * and X is packed once per call (O(K*N), small next to O(M*K*N)); VPMADDWD
 * does 16 MACs per instruction against 32 for VPMADDUBSW, but VPMADDUBSW
 * needs a second VPMADDWD (by ones) to widen, so the multiply-port cost per
 * MAC is the same. Accumulation is exact while K <= UNIRT_GEMM_U8S8_MAX_K.
 *
 * Layout: rows of W are output channels (conv weights [M][C][kh][kw] read as
 * M x K). Columns of X are output positions, so Y lands directly in NCHW:
 * row m of Y is channel m's plane. This "M-major" shape suits conv: the
 * epilogue's per-channel scale/bias/slope are per row, and 1x1 convs pack X
 * straight from the NCHW activation. (An N-major layout, Y = X.W^T, would
 * produce NHWC and need a transpose back; not provided.)
 * Packed W: blocks of 6 rows, each block K/2 pairs x 6 rows x 2 int16.
 * Packed X: panels of up to 16 columns, each panel K/2 pairs x width x 2 int16
 * (K rounded up to even, N up to a multiple of 8; padding is zero).
 */
enum { UNIRT_GEMM_U8S8_MR = 6, UNIRT_GEMM_U8S8_MAX_K = 65536 };

/* Bytes of packed weights for an M x K matrix. */
size_t unirt_gemm_u8s8_weights_size(size_t m, size_t k);
/* Packs s8 weights w (row-major M x K, row stride k) for the GEMM. Returns 0,
 * or -1 when k exceeds UNIRT_GEMM_U8S8_MAX_K (int32 could overflow). */
int32_t unirt_gemm_u8s8_pack_weights(const int8_t *w, size_t m, size_t k, void *packed);
/* Bytes of a packed X of K x N. */
size_t unirt_gemm_u8s8_x_size(size_t k, size_t n);
/* Packs u8 X (K rows x n columns, row stride ld) minus zero_point. */
void unirt_gemm_u8s8_pack_x(const uint8_t *x, size_t ld, size_t k, size_t n,
                            int32_t zero_point, void *packed);
/* Packs float X (K rows x n columns, row stride ld) quantized on the way: the
 * values unirt_quantize_u8(scale, zero point 128) then unirt_gemm_u8s8_pack_x(128)
 * would give, in one pass (a 1x1 convolution's float input). */
void unirt_gemm_u8s8_pack_x_f32(const float *x, size_t ld, size_t k, size_t n, float scale, void *packed);
/* Fused u8 im2col + pack: X rows are (c*kernel_h + ky)*kernel_w + kx for all
 * `channels` of x ([C][in_h][in_w] u8), columns output positions
 * [pos_begin, pos_end); padding reads as zero_point (real value 0). */
void unirt_gemm_u8s8_pack_x_conv(const uint8_t *x, const unirt_conv2d_geometry *g,
                                 size_t channels, int32_t zero_point, size_t pos_begin,
                                 size_t pos_end, void *packed);

/* Raw int32 result for rows [m_begin, m_end) (m_begin a multiple of
 * UNIRT_GEMM_U8S8_MR): y[m*ldy + j] for j < n. */
void unirt_gemm_u8s8_compute_s32(const void *packed_w, const void *packed_x, size_t m_begin,
                                 size_t m_end, size_t k, size_t n, int32_t *y, size_t ldy);
/* Requantizing epilogue to float: y[m*ldy + j] = epilogue(acc * row_scale[m])
 * where row_scale[m] = activation scale * weight scale[m]; ep may be NULL,
 * ep->residual is indexed like y. */
void unirt_gemm_u8s8_compute_f32(const void *packed_w, const void *packed_x, size_t m_begin,
                                 size_t m_end, size_t k, size_t n, const float *row_scale,
                                 const unirt_epilogue *ep, float *y, size_t ldy);
/* As _f32, then quantized for the next layer:
 * y = clamp(round_half_even(v / out_scale) + out_zero_point, 0, 255). */
void unirt_gemm_u8s8_compute_u8(const void *packed_w, const void *packed_x, size_t m_begin,
                                size_t m_end, size_t k, size_t n, const float *row_scale,
                                const unirt_epilogue *ep, float out_scale,
                                int32_t out_zero_point, uint8_t *y, size_t ldy);

/* ------------------------------------------------------------------------ */
/* 9. INT8 depthwise convolution                                             */

/* Depthwise conv of u8 activations (x - x_zero_point; padding is real 0)
 * with s8 weights [C][kh][kw]: acc (int32, exact) -> acc * channel_scale[c]
 * -> epilogue (ep may be NULL) -> float y [C][out_h][out_w]. Direct AVX2
 * kernel for 3x3, stride 1 or 2, dilation 1; other shapes use the portable one. */
void unirt_dwconv_u8s8_compute_f32(const uint8_t *x, int32_t x_zero_point,
                                   const int8_t *weights, const unirt_conv2d_geometry *g,
                                   const float *channel_scale, const unirt_epilogue *ep,
                                   float *y, size_t channel_begin, size_t channel_end);
/* As _f32, then y = clamp(round_half_even(v / out_scale) + out_zero_point, 0, 255). */
void unirt_dwconv_u8s8_compute_u8(const uint8_t *x, int32_t x_zero_point,
                                  const int8_t *weights, const unirt_conv2d_geometry *g,
                                  const float *channel_scale, const unirt_epilogue *ep,
                                  float out_scale, int32_t out_zero_point, uint8_t *y,
                                  size_t channel_begin, size_t channel_end);

/* ------------------------------------------------------------------------ */
/* 10. Direct convolution (FP32) for few input or few output channels       */
/*
 * Where im2col + sgemm is memory-bound: a first layer with 3 input channels
 * (K = C*kh*kw is short, the unfolded matrix is as large as the output) or a
 * last layer with 3 output channels (sgemm's M is too small to reuse it).
 * The kernel keeps a block of output channels times 8-pixel row vectors in
 * registers and reads the input in place: no im2col buffer, one pass over
 * the output with the epilogue fused before the store.
 *
 * Weights are packed once at plan time into an opaque float buffer that also
 * records the shape ([M][C][kh][kw]) and the channel block size. Groups are
 * not handled (call per group with the group's slice of x, weights and y).
 */

/* Output channels per register block at most; split channel ranges across
 * threads on multiples of min(M, UNIRT_CONV_DIRECT_MAX_BLOCK) so no block is
 * computed twice. */
enum { UNIRT_CONV_DIRECT_MAX_BLOCK = 4 };

/* Floats of the packed weights of an M x C x kh x kw convolution. */
size_t unirt_conv_direct_packed_floats(size_t out_channels, size_t in_channels, size_t kernel_h,
                                       size_t kernel_w);

/* Packs ONNX weights w ([M][C][kh][kw], group 1) for unirt_conv_direct_compute. */
void unirt_conv_direct_pack_weights(const float *w, size_t out_channels, size_t in_channels,
                                    size_t kernel_h, size_t kernel_w, float *packed);

/* Direct convolution of one sample plus epilogue, for output channels
 * [oc_begin, oc_end) and output rows [row_begin, row_end) (both ranges may
 * split the work across threads; M = 3 needs rows for two threads).
 * x: [C][in_h][in_w]; y: [M][out_h][out_w]; any kernel, stride, dilation and
 * pads (padding reads as 0); stride 1 and 2 along the width have fast loads,
 * other strides gather. ep may be NULL; ep->residual is laid out like y.
 * Sums are reassociated (FMA), ~1e-6 relative against a naive loop. */
void unirt_conv_direct_compute(const float *x, const float *packed,
                               const unirt_conv2d_geometry *g, const unirt_epilogue *ep, float *y,
                               size_t oc_begin, size_t oc_end, size_t row_begin, size_t row_end);

/* 1 when the direct kernel is measured faster than im2col + sgemm for this
 * convolution (group 1, not 1x1; C <= 4 or M <= UNIRT_CONV_DIRECT_MAX_BLOCK),
 * else 0. See bench/kernels/ for the numbers behind the rule. */
int32_t unirt_conv_direct_preferred(const unirt_conv2d_geometry *g, size_t in_channels,
                                    size_t out_channels, size_t group);

/* ------------------------------------------------------------------------ */
/* 11. INT8 GEMM, quad layout (AVX-512 VNNI)                                 */
/*
 * Same product as section 8, Y[M x N] = W (s8) . (X (u8) - 128), in a layout
 * for VPDPBUSD, which adds four u8*s8 products straight into an int32 lane:
 * nothing is widened and no int16 intermediate can saturate (the non-"S"
 * form only wraps on int32 overflow, which K <= UNIRT_GEMM_U8S8_MAX_K rules
 * out: 65536 * 255 * 127 < 2^31). The X zero point is fixed at 128: the
 * kernel sums raw u8 x s8 and adds the per-row correction -128 * sum_k w[m][k]
 * stored with the packed weights, so the result is exact.
 *
 * Packed W: blocks of UNIRT_GEMM_U8S8Q_MR rows, each MR int32 corrections
 * then ceil(K/4) quads x MR rows x 4 s8 (zero padded).
 * Packed X: panels of up to UNIRT_GEMM_U8S8Q_NR columns (N rounded up to 16,
 * every panel but the last full), each ceil(K/4) quads x width x 4 u8;
 * padding reads 128 (real 0).
 *
 * unirt_gemm_u8s8q_native() says whether the VNNI kernels run (AVX-512
 * F/BW/VL/VNNI reported and SIMD enabled); otherwise the same entry points
 * run portable C on the same layout, so a plan may pack once and compute
 * on either path.
 */
enum { UNIRT_GEMM_U8S8Q_MR = 8, UNIRT_GEMM_U8S8Q_NR = 48, UNIRT_GEMM_U8S8Q_ZP = 128 };

int32_t unirt_gemm_u8s8q_native(void);
/* Bytes of packed weights (with the corrections) for an M x K matrix. */
size_t unirt_gemm_u8s8q_weights_size(size_t m, size_t k);
/* Packs s8 weights (row-major M x K); 0, or -1 when k > UNIRT_GEMM_U8S8_MAX_K. */
int32_t unirt_gemm_u8s8q_pack_weights(const int8_t *w, size_t m, size_t k, void *packed);
/* Bytes of a packed X of K x N. */
size_t unirt_gemm_u8s8q_x_size(size_t k, size_t n);
/* Packs u8 X (K rows x n columns, row stride ld; zero point 128). */
void unirt_gemm_u8s8q_pack_x(const uint8_t *x, size_t ld, size_t k, size_t n, void *packed);
/* Quantizes float X (K rows x n columns, row stride ld) with
 * clamp(round_half_even(x / scale) + 128, 0, 255) (as unirt_quantize_u8)
 * and packs it, in one pass. */
void unirt_gemm_u8s8q_pack_x_f32(const float *x, size_t ld, size_t k, size_t n, float scale,
                                 void *packed);
/* Fused u8 im2col + pack, rows and padding as unirt_gemm_u8s8_pack_x_conv
 * with zero point 128. */
void unirt_gemm_u8s8q_pack_x_conv(const uint8_t *x, const unirt_conv2d_geometry *g,
                                  size_t channels, size_t pos_begin, size_t pos_end, void *packed);
/* As the section 8 compute functions (m_begin a multiple of UNIRT_GEMM_U8S8Q_MR). */
void unirt_gemm_u8s8q_compute_s32(const void *packed_w, const void *packed_x, size_t m_begin,
                                  size_t m_end, size_t k, size_t n, int32_t *y, size_t ldy);
void unirt_gemm_u8s8q_compute_f32(const void *packed_w, const void *packed_x, size_t m_begin,
                                  size_t m_end, size_t k, size_t n, const float *row_scale,
                                  const unirt_epilogue *ep, float *y, size_t ldy);
void unirt_gemm_u8s8q_compute_u8(const void *packed_w, const void *packed_x, size_t m_begin,
                                 size_t m_end, size_t k, size_t n, const float *row_scale,
                                 const unirt_epilogue *ep, float out_scale,
                                 int32_t out_zero_point, uint8_t *y, size_t ldy);
/* 7-bit weights. Without VNNI, VPMADDUBSW adds two u8 x s8 products into a
 * saturating int16; with every weight in -64..63 a pair sum stays within
 * 2 * 255 * 64 = 32640, so the AVX2 kernels below (VPMADDUBSW, VPMADDWD by
 * ones, VPADDD) are exact, at about twice the AVX2 FP32 rate.
 * unirt_gemm_s8_fits7: 1 when all `count` weights lie in -64..63.
 * unirt_gemm_u8s8q7_fast: 1 when the 7-bit entry points run SIMD kernels
 * (VNNI, or AVX2 with SIMD enabled). The unirt_gemm_u8s8q7_compute_* functions
 * compute what unirt_gemm_u8s8q_compute_* do, for weights packed from values in
 * -64..63 only (others would saturate on the AVX2 path). */
int32_t unirt_gemm_s8_fits7(const int8_t *w, size_t count);
int32_t unirt_gemm_u8s8q7_fast(void);
void unirt_gemm_u8s8q7_compute_s32(const void *packed_w, const void *packed_x, size_t m_begin,
                                   size_t m_end, size_t k, size_t n, int32_t *y, size_t ldy);
void unirt_gemm_u8s8q7_compute_f32(const void *packed_w, const void *packed_x, size_t m_begin,
                                   size_t m_end, size_t k, size_t n, const float *row_scale,
                                   const unirt_epilogue *ep, float *y, size_t ldy);
void unirt_gemm_u8s8q7_compute_u8(const void *packed_w, const void *packed_x, size_t m_begin,
                                  size_t m_end, size_t k, size_t n, const float *row_scale,
                                  const unirt_epilogue *ep, float out_scale,
                                  int32_t out_zero_point, uint8_t *y, size_t ldy);

/* ------------------------------------------------------------------------ */
/* 11. Convolution as a cache-tiled GEMM (FP32, group 1, small weights)      */
/*
 * Y[M][pos] = W[M][K] . X'[K][pos] with K = C*kh*kw, over output positions in
 * tiles of unirt_conv_gemm_tile(K) positions: a 1x1 stride-1 unpadded conv
 * reads X' straight from the NCHW input; any other conv unfolds the tile
 * (im2col) into a per-thread scratch that stays in L2. The tile is then
 * multiplied by the packed weights with a register-blocked microkernel
 * (UNIRT_CONV_GEMM_MR output channels x 32 positions on AVX-512, x 16 on
 * AVX2) and the epilogue runs on the tile while it is still in cache. Meant
 * for convolutions whose weights fit in L2 (unirt_conv_gemm_preferred); the
 * im2col + sgemm path keeps the large ones.
 */
enum { UNIRT_CONV_GEMM_MR = 8 };

/* Floats of the packed weights of an M x K convolution (rows padded to MR). */
size_t unirt_conv_gemm_packed_floats(size_t out_channels, size_t k);

/* Packs ONNX weights w ([M][C][kh][kw] read as M x K) into blocks of MR rows
 * laid out [block][k][MR] (missing rows zero). */
void unirt_conv_gemm_pack_weights(const float *w, size_t out_channels, size_t k, float *packed);

/* Output positions per tile for reduction length k. */
size_t unirt_conv_gemm_tile(size_t k);

/* Scratch floats one thread needs (0 for a 1x1 stride-1 unpadded conv). */
size_t unirt_conv_gemm_scratch_floats(const unirt_conv2d_geometry *g, size_t in_channels);

/* One sample, output positions [pos_begin, pos_end) (pos = oy*out_w + ox),
 * all M output channels, then `ep` (may be NULL; residual laid out like y).
 * x: [C][in_h][in_w]; y: [M][out_h][out_w]; scratch: this thread's
 * unirt_conv_gemm_scratch_floats floats. Disjoint position ranges may run on
 * different threads with different scratch buffers. Sums are reassociated
 * (FMA), ~1e-6 relative against a naive loop. */
void unirt_conv_gemm_compute(const float *x, size_t in_channels, const float *packed,
                             size_t out_channels, const unirt_conv2d_geometry *g,
                             const unirt_epilogue *ep, float *y, size_t pos_begin,
                             size_t pos_end, float *scratch);

/* 1 when unirt_conv_gemm_compute is measured faster than the other paths for
 * this convolution (group 1, weights small enough to stay in L2, at least 5
 * output channels), else 0. bench/results/conv-gemm.md has the numbers
 * behind it (bench/kernels/run-conv-gemm.sh measures them). */
int32_t unirt_conv_gemm_preferred(const unirt_conv2d_geometry *g, size_t in_channels,
                                  size_t out_channels, size_t group);

/* Name of the GEMM microkernel the dispatcher uses now: "avx512", "avx2" or
 * "generic". */
const char *unirt_conv_gemm_isa(void);

/* Caps the microkernels for tests comparing every path: 2 (default) lets
 * detection decide, 1 stops at AVX2 (no AVX-512: FP32 GEMM tiles, depthwise,
 * and the INT8 VNNI and AVX-512 depthwise kernels), 0 forces the portable FP32
 * tile. Takes effect for calls that start afterwards. */
void unirt_conv_gemm_limit_isa(int32_t max_level);

/* ------------------------------------------------------------------------ */
/* 12. Pointwise -> depthwise (-> max pool) in one pass over row bands       */
/*
 * y = [maxpool2x2s2](dw_ep(dw3x3(pw_ep(W1 . x)))) for a 1x1 stride-1
 * convolution (C -> M channels) whose output only feeds a 3x3 depthwise
 * convolution (stride 1 or 2, dilation 1, any pads). The pointwise output is
 * never written to memory: each thread keeps a ring of the pointwise rows
 * its band of output rows needs (M x slots x in_w floats, in L2), computes
 * new rows with the conv GEMM microkernel, runs the depthwise rows out of
 * that ring and, with pool = 1, max-pools pairs of depthwise rows as they
 * come. Padding rows/columns of the depthwise read 0 (the pointwise output,
 * bias included, exists only inside the image).
 */
typedef struct unirt_pwdw_params {
    size_t in_channels, channels; /* C (pointwise input) and M */
    const float *pw_packed;       /* unirt_conv_gemm_pack_weights of W1 (M x C) */
    const unirt_epilogue *pw_ep;  /* bias/activation of the pointwise; NULL: none; no residual */
    const float *dw_weights;      /* [M][3][3] */
    const unirt_epilogue *dw_ep;  /* bias/activation of the depthwise; NULL: none; no residual */
    unirt_conv2d_geometry dw;     /* in_h, in_w: the input plane; 3x3, stride 1 or 2 */
    int32_t pool;                 /* 1: 2x2 stride-2 max pool (floor) of the depthwise output */
} unirt_pwdw_params;

/* Output plane: the depthwise output, halved (floor) with pool. */
size_t unirt_pwdw_out_h(const unirt_pwdw_params *p);
size_t unirt_pwdw_out_w(const unirt_pwdw_params *p);

/* Scratch floats one thread needs. */
size_t unirt_pwdw_scratch_floats(const unirt_pwdw_params *p);

/* One sample, output rows [row_begin, row_end) of every channel.
 * x: [C][in_h][in_w]; y: [M][out_h][out_w]. Disjoint row ranges may run on
 * different threads with different scratch buffers. */
void unirt_pwdw_compute(const unirt_pwdw_params *p, const float *x, float *y, size_t row_begin,
                        size_t row_end, float *scratch);

/* ------------------------------------------------------------------------ */
/* 13. Direct 3x3 convolution for 1-4 input channels (AVX-512F, AVX2)         */
/*
 * A network's first layer (RGB in, 3x3, stride 1 or 2): 16 output channels x
 * 16 output columns per register block (8 x 8 on AVX2), each input vector
 * reused for 16 (8) FMAs, padding by masked loads, bias/ReLU before the store
 * (other epilogues right after each row). Only where
 * unirt_conv_smallc_supported says so.
 */
size_t unirt_conv_smallc_packed_floats(size_t out_channels, size_t in_channels);
void unirt_conv_smallc_pack_weights(const float *w, size_t out_channels, size_t in_channels, float *packed);

/* 1 when the kernel takes this convolution on this CPU (AVX-512F or AVX2, group 1,
 * 1-4 input and at least 8 output channels, 3x3, dilation 1, equal strides 1
 * or 2), else 0. */
int32_t unirt_conv_smallc_supported(const unirt_conv2d_geometry *g, size_t in_channels, size_t out_channels,
                                    size_t group);

/* One sample, output rows [row_begin, row_end), every output channel.
 * x: [C][in_h][in_w]; y: [M][out_h][out_w]; ep may be NULL. */
void unirt_conv_smallc_compute(const float *x, size_t in_channels, const float *packed, size_t out_channels,
                               const unirt_conv2d_geometry *g, const unirt_epilogue *ep, float *y,
                               size_t row_begin, size_t row_end);

/* ------------------------------------------------------------------------ */
/* 14. Winograd F(2x2, 3x3) convolution (AVX-512F, AVX2)                     */
/*
 * 3x3, stride 1, dilation 1, group 1, any pads: 2x2 output tiles, 16 GEMMs
 * over the channels on transformed 4x4 tiles (2.25x fewer multiplies than
 * direct), tiles in blocks of rows so the transformed data stays in L2, bias
 * and ReLU in the output transform. Only where unirt_winograd_supported says
 * so (no other epilogue: callers apply one after).
 */
size_t unirt_winograd_packed_floats(size_t out_channels, size_t in_channels);
void unirt_winograd_pack_weights(const float *w, size_t out_channels, size_t in_channels, float *packed);

/* 1 when the kernel takes this convolution on this CPU (AVX-512F or AVX2, 3x3
 * stride 1 dilation 1 group 1, 16+ input and output channels, at most 16384
 * weights per 3x3 position, output at least 8x8), else 0. */
int32_t unirt_winograd_supported(const unirt_conv2d_geometry *g, size_t in_channels, size_t out_channels,
                                 size_t group);

/* Rows of 2x2 output tiles: ceil(out_h / 2). */
size_t unirt_winograd_tile_rows(const unirt_conv2d_geometry *g);

/* Scratch floats one thread needs. */
size_t unirt_winograd_scratch_floats(const unirt_conv2d_geometry *g, size_t in_channels, size_t out_channels);

/* One sample, tile rows [tile_row_begin, tile_row_end) (output rows 2*begin
 * up to 2*end), every output channel; ep: bias and ReLU only (NULL: none).
 * Disjoint tile-row ranges may run on different threads with their own
 * scratch. Differs from direct summation by float rounding (~1e-6 relative
 * to sum |x*w|). */
void unirt_winograd_compute(const float *x, size_t in_channels, const float *packed, size_t out_channels,
                            const unirt_conv2d_geometry *g, const unirt_epilogue *ep, float *y,
                            size_t tile_row_begin, size_t tile_row_end, float *scratch);

#ifdef __cplusplus
}
#endif
#endif
