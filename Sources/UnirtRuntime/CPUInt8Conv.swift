import CUnirtKernels
import Dispatch
import UnirtIR

/// INT8 convolution for `FusedConv` nodes of int8 plans (those carrying `input_scale`).
///
/// Two GEMM layouts, chosen when the kernel is built:
/// - **quad** (`unirt_gemm_u8s8q_*`, when `unirt_gemm_u8s8q_native()`: AVX-512
///   VNNI): u8 activations and s8 weights multiplied by VPDPBUSD, four products
///   per int32 lane with no int16 intermediate. Also on AVX2 when every weight
///   is 7-bit (−64…63, plans built with `--int8-weight-bits 7`): VPMADDUBSW's
///   int16 pair sums cannot saturate then (`unirt_gemm_u8s8q7_*`).
/// - **pair** (`unirt_gemm_u8s8_*`, AVX2 or portable, 8-bit weights): operands
///   widened to int16 and multiplied by VPMADDWD (exact; see unirt_kernels.h section 8).
///
/// In either layout a 1×1 stride-1 convolution quantizes its float input while
/// packing it (one pass, no u8 copy); other convolutions quantize the input to
/// u8 first and pack im2col tiles from it.
///
/// Per call the input is quantized to u8 (zero point 128, the node's symmetric
/// scale) unless the previous int8 layer already wrote it as u8
/// (`CompileOptions.u8Input`, see `Int8Chaining`; with `u8OutputScale` this
/// layer writes u8 for the next one); each group's output positions are cut into tiles, each tile is packed
/// and multiplied by the weights packed once at build time, and the epilogue
/// applies `acc · s_x · s_w[c]`, bias, residual and activation while the
/// accumulators are in registers. Depthwise convolutions use
/// `unirt_dwconv_u8s8_compute_f32`. Products are exact in int32, so the result
/// equals the reference's fake-quantized float convolution up to float rounding
/// of the accumulation.
///
/// Weights: per-output-channel symmetric scale `max|w_c| / L` recomputed from
/// the constant float weights, L = the node's `weight_levels` (127, or 63 for
/// 7-bit weights); an int8 plan stores weights already on that grid, so
/// requantizing them gives back the stored integers.
///
/// Threads: tiles (sample × group × position tile) are spread over
/// `options.threads`, each worker packing into its own slice of the scratch
/// buffer; when there are fewer tiles than threads, one tile is packed and its
/// rows are split into blocks of the layout's row block.
enum CPUInt8Conv {
    /// Target size of one packed X tile, in bytes (stays in L2 while the weights stream past).
    static let tileBytes = 192 << 10

    struct Shape: Sendable {
        var n, c, h, w, m, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft, padBottom, padRight, group: Int
        var plane: Int { oh * ow }
        var cg: Int { c / group }
        var mg: Int { m / group }
        var kdim: Int { cg * kh * kw }
        var depthwise: Bool { group == c && mg == 1 }
        var pointwise: Bool {
            kh == 1 && kw == 1 && sh == 1 && sw == 1 && padTop == 0 && padLeft == 0 && oh == h && ow == w
        }
        var geometry: unirt_conv2d_geometry {
            unirt_conv2d_geometry(in_h: h, in_w: w, out_h: oh, out_w: ow, kernel_h: kh, kernel_w: kw,
                                  stride_h: sh, stride_w: sw, dilation_h: dh, dilation_w: dw,
                                  pad_top: padTop, pad_left: padLeft, pad_bottom: padBottom, pad_right: padRight)
        }
    }

    /// Packed weights and per-row scales, built once and only read afterwards.
    final class Weights: @unchecked Sendable {
        // Written in init only; kernels read them concurrently.
        let packed: UnsafeMutableRawPointer
        let groupStride: Int
        /// Quad layout (VNNI, or AVX2 with 7-bit weights) rather than int16 pairs.
        let quad: Bool
        /// Every weight in −64…63: the quad layout's 7-bit entry points (AVX2 VPMADDUBSW without VNNI).
        let sevenBit: Bool
        let rowScale: [Float]
        let slope: [Float]?

        init(bytes: Int, groupStride: Int, quad: Bool, sevenBit: Bool, rowScale: [Float], slope: [Float]?) {
            packed = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 64), alignment: 64)
            self.groupStride = groupStride
            self.quad = quad
            self.sevenBit = sevenBit
            self.rowScale = rowScale
            self.slope = slope
        }

        deinit { packed.deallocate() }
    }

    static func build(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let inScale = FusedConvOp.inputScale(node), let x = inputs[0], let wt = inputs[1],
              x.shape.count == 4, wt.shape.count == 4, let wConst = options.constants[1] else { return nil }
        guard let win = try? ConvOp.geometry(node, x: x.shape, w: wt.shape, b: nil) else { return nil }
        let out = outputs[0].shape
        let s = Shape(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], m: out[1], oh: out[2], ow: out[3],
                      kh: win.kernel[0], kw: win.kernel[1], sh: win.strides[0], sw: win.strides[1],
                      dh: win.dilations[0], dw: win.dilations[1], padTop: win.padsBegin[0], padLeft: win.padsBegin[1],
                      padBottom: win.padsEnd[0], padRight: win.padsEnd[1],
                      group: (try? node.int("group", default: 1)) ?? 1)
        guard s.kdim <= Int(UNIRT_GEMM_U8S8_MAX_K) else { return nil }

        // Epilogue description; the per-call pointers are filled in by `run`.
        let (kind, alpha, beta) = FusedConvOp.activation(node)
        guard let activation = Epilogue.activationCode(kind) else { return nil }
        let hasBias = inputs.count > 2 && inputs[2] != nil
        let hasResidual = inputs.count > 3 && inputs[3] != nil
        let residualAfter: Int32 = ((try? node.int("residual_before_activation", default: 1)) ?? 1) != 0 ? 0 : 1
        // PRelu slope: per channel from the input at run time, or a constant expanded now.
        var expandedSlope: [Float]? = nil
        var slopeFromInput = false
        if kind == "PRelu" {
            guard inputs.count > 4, let sv = inputs[4] else { return nil }
            if sv.count == s.m {
                let padded = [Int](repeating: 1, count: max(0, 4 - sv.shape.count)) + sv.shape
                guard padded.count == 4, padded[1] == s.m else { return nil }
                slopeFromInput = true
            } else if sv.count == 1, let c = options.constants[4] {
                expandedSlope = [Float](repeating: c.floats[0], count: s.m)
            } else {
                return nil
            }
        }

        // Quantize and pack the weights per group, on the grid the plan was built with.
        let wf = wConst.floats
        guard wf.count == s.m * s.kdim else { return nil }
        let (q, rowScale) = quantizeRows(wf, rows: s.m, per: s.kdim, levels: weightLevels(node), inputScale: inScale)
        let weights: Weights
        if s.depthwise {
            weights = Weights(bytes: q.count, groupStride: 0, quad: false, sevenBit: false, rowScale: rowScale,
                              slope: expandedSlope)
            q.withUnsafeBytes { weights.packed.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        } else {
            guard let packed = packedWeights(q, rowScale: rowScale, groups: s.group, rows: s.mg, k: s.kdim,
                                             slope: expandedSlope) else { return nil }
            weights = packed
        }
        let quad = weights.quad

        // Scratch: the whole batch's u8 input (unless a 1x1 convolution packs
        // straight from the float input), then one packed-X tile per thread.
        let threads = max(1, options.threads)
        let u8Input = options.u8Input, outScale = options.u8OutputScale
        let packFromFloat = s.pointwise && !u8Input
        let inputBytes = packFromFloat || u8Input ? 0 : (s.n * s.c * s.h * s.w + 63) / 64 * 64
        let tile = tileWidth(s, quad: quad)
        let xSize = quad ? unirt_gemm_u8s8q_x_size(s.kdim, tile) : unirt_gemm_u8s8_x_size(s.kdim, tile)
        let tileBytes = (xSize + 63) / 64 * 64
        let scratchBytes = inputBytes + (s.depthwise ? 0 : threads * tileBytes)

        let slopeInput = slopeFromInput
        return CompiledKernel(scratchFloats: scratchBytes / 4 + 16) { ins, outs, scratch in
            let template = unirt_epilogue(bias: nil, residual: nil, residual_after_activation: residualAfter,
                                          activation: activation, alpha: alpha, beta: beta, slope: nil)
            let raw = UnsafeMutableRawPointer(scratch)
            // A chained input is already u8 (Int8Chaining); otherwise it is quantized into scratch.
            let xq = u8Input ? UnsafeMutableRawPointer(mutating: ins[0]!).assumingMemoryBound(to: UInt8.self)
                             : raw.assumingMemoryBound(to: UInt8.self)
            let y: Output = outScale.map { .u8(UnsafeMutableRawPointer(outs[0]).assumingMemoryBound(to: UInt8.self), $0) }
                ?? .f32(outs[0])
            var ep = template
            ep.bias = hasBias ? ins[2] : nil
            let residual = hasResidual ? ins[3] : nil
            let total = s.n * s.c * s.h * s.w
            if !packFromFloat && !u8Input {
                // Quantize the input in chunks of whole cache lines.
                let chunks = min(threads, max(1, total / 4096))
                forEachSlot(chunks, threads: threads) { t in
                    let lo = total * t / chunks / 64 * 64, hi = t == chunks - 1 ? total : total * (t + 1) / chunks / 64 * 64
                    if hi > lo { unirt_quantize_u8(ins[0]! + lo, xq + lo, hi - lo, inScale, 128) }
                }
            }
            weights.withSlope(slopeInput ? ins[4] : nil) { slope in
                ep.slope = slope
                if s.depthwise {
                    runDepthwise(s, weights, xq, &ep, residual, y, threads: threads)
                } else {
                    let source: GemmSource = packFromFloat ? .float(ins[0]!, inScale) : .u8(xq)
                    runGemm(s, weights, source, &ep, residual, y, scratch: raw + inputBytes, tileBytes: tileBytes,
                            tile: tile, threads: threads)
                }
            }
        }
    }

    /// The largest |q| of a layer's weight grid (`weight_levels`: 127 for 8-bit weights, 63 for 7-bit ones).
    static func weightLevels(_ node: Node) -> Float {
        Float(max(1, min(127, (try? node.int("weight_levels", default: 127)) ?? 127)))
    }

    /// Rows of `w` (`rows` × `per` floats) on their symmetric grid: scale `max|w_r| / levels`
    /// (1 for an all-zero row), integers round-half-even in −levels…levels; the row scales
    /// times `inputScale`, as the epilogue applies them.
    static func quantizeRows(_ w: [Float], rows: Int, per: Int, levels: Float, inputScale: Float) -> (q: [Int8], rowScale: [Float]) {
        var q = [Int8](repeating: 0, count: rows * per)
        var rowScale = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            let base = r * per
            var mx: Float = 0
            for i in 0..<per { mx = max(mx, abs(w[base + i])) }
            let ws: Float = mx > 0 ? mx / levels : 1
            for i in 0..<per { q[base + i] = Int8(min(max((w[base + i] / ws).rounded(.toNearestOrEven), -levels), levels)) }
            rowScale[r] = inputScale * ws
        }
        return (q, rowScale)
    }

    /// `groups` GEMM weight matrices (`rows` × `k` each, consecutive in `q`) packed in the layout
    /// that runs fastest here: quad with VNNI, or with 7-bit weights (every value in −64…63) on
    /// AVX2 (VPMADDUBSW, exact for them); int16 pairs otherwise. Nil when K is too long.
    static func packedWeights(_ q: [Int8], rowScale: [Float], groups: Int, rows: Int, k: Int, slope: [Float]?) -> Weights? {
        let sevenBit = unirt_gemm_s8_fits7(q, q.count) != 0
        let quad = unirt_gemm_u8s8q_native() != 0 || sevenBit && unirt_gemm_u8s8q7_fast() != 0
        let size = quad ? unirt_gemm_u8s8q_weights_size(rows, k) : unirt_gemm_u8s8_weights_size(rows, k)
        let stride = (size + 63) / 64 * 64
        let weights = Weights(bytes: stride * groups, groupStride: stride, quad: quad, sevenBit: sevenBit,
                              rowScale: rowScale, slope: slope)
        for g in 0..<groups {
            let rc = q.withUnsafeBufferPointer {
                quad ? unirt_gemm_u8s8q_pack_weights($0.baseAddress! + g * rows * k, rows, k, weights.packed + g * stride)
                     : unirt_gemm_u8s8_pack_weights($0.baseAddress! + g * rows * k, rows, k, weights.packed + g * stride)
            }
            if rc != 0 { return nil }
        }
        return weights
    }

    /// Output positions per packed tile, holding about `tileBytes` of packed X: a multiple
    /// of 16 (pair layout) or of the 48-column panel (quad layout).
    static func tileWidth(_ s: Shape, quad: Bool) -> Int {
        let perColumn = quad ? max(1, (s.kdim + 3) / 4 * 4) : max(1, (s.kdim + 1) / 2 * 4)
        let unit = quad ? Int(UNIRT_GEMM_U8S8Q_NR) : 16
        let width = max(unit, tileBytes / perColumn / unit * unit)
        return min(width, (s.plane + 15) / 16 * 16)
    }

    /// Where a convolution writes: float32, or u8 quantized with this scale (zero point 128) for the next int8 layer.
    enum Output {
        case f32(UnsafeMutablePointer<Float>)
        case u8(UnsafeMutablePointer<UInt8>, Float)
    }

    /// Where a GEMM convolution reads its input: u8 already quantized, or float quantized while packing.
    enum GemmSource {
        case u8(UnsafeMutablePointer<UInt8>)
        case float(UnsafePointer<Float>, Float)
    }

    static func runDepthwise(_ s: Shape, _ w: Weights, _ xq: UnsafeMutablePointer<UInt8>, _ ep: inout unirt_epilogue,
                             _ residual: UnsafePointer<Float>?, _ y: Output, threads: Int) {
        var g = s.geometry
        let template = ep
        let items = s.n * s.c
        let wq = UnsafePointer(w.packed.assumingMemoryBound(to: Int8.self))
        w.rowScale.withUnsafeBufferPointer { rs in
            let rsp = rs.baseAddress!
            forEachSlot(min(threads, items), threads: threads) { t in
                let parts = min(threads, items)
                let lo = items * t / parts, hi = items * (t + 1) / parts
                var i = lo
                while i < hi {
                    // A run of channels of one sample.
                    let b = i / s.c, c0 = i % s.c, c1 = min(s.c, c0 + (hi - i))
                    var e = template
                    e.residual = residual.map { $0 + b * s.m * s.plane }
                    let xb = xq + b * s.c * s.h * s.w, yoff = b * s.m * s.plane
                    switch y {
                    case .f32(let yf):
                        unirt_dwconv_u8s8_compute_f32(xb, 128, wq, &g, rsp, &e, yf + yoff, c0, c1)
                    case .u8(let yq, let scale):
                        unirt_dwconv_u8s8_compute_u8(xb, 128, wq, &g, rsp, &e, scale, 128, yq + yoff, c0, c1)
                    }
                    i += c1 - c0
                }
            }
        }
    }

    static func runGemm(_ s: Shape, _ w: Weights, _ source: GemmSource, _ ep: inout unirt_epilogue,
                        _ residual: UnsafePointer<Float>?, _ y: Output,
                        scratch: UnsafeMutableRawPointer, tileBytes: Int, tile: Int, threads: Int) {
        let template = ep
        let tilesPerPlane = (s.plane + tile - 1) / tile
        let items = s.n * s.group * tilesPerPlane
        let mr = w.quad ? Int(UNIRT_GEMM_U8S8Q_MR) : Int(UNIRT_GEMM_U8S8_MR)
        w.rowScale.withUnsafeBufferPointer { rs in
            let rsp = rs.baseAddress!
            // One (sample, group, tile): pack into `px`, multiply rows [r0, r1) of the group.
            func item(_ i: Int, _ px: UnsafeMutableRawPointer, rows: Range<Int>?, pack: Bool) {
                let t = i % tilesPerPlane, grp = (i / tilesPerPlane) % s.group, b = i / (tilesPerPlane * s.group)
                let p0 = t * tile, cols = min(tile, s.plane - p0)
                let offset = (b * s.c + grp * s.cg) * s.h * s.w
                if pack {
                    switch source {
                    case .float(let xf, let scale):
                        if w.quad {
                            unirt_gemm_u8s8q_pack_x_f32(xf + offset + p0, s.plane, s.kdim, cols, scale, px)
                        } else {
                            unirt_gemm_u8s8_pack_x_f32(xf + offset + p0, s.plane, s.kdim, cols, scale, px)
                        }
                    case .u8(let xq):
                        let xg = xq + offset
                        var g = s.geometry
                        switch (w.quad, s.pointwise) {
                        case (true, true): unirt_gemm_u8s8q_pack_x(xg + p0, s.plane, s.kdim, cols, px)
                        case (true, false): unirt_gemm_u8s8q_pack_x_conv(xg, &g, s.cg, p0, p0 + cols, px)
                        case (false, true): unirt_gemm_u8s8_pack_x(xg + p0, s.plane, s.kdim, cols, 128, px)
                        case (false, false): unirt_gemm_u8s8_pack_x_conv(xg, &g, s.cg, 128, p0, p0 + cols, px)
                        }
                    }
                }
                let rowBase = grp * s.mg
                let yoff = (b * s.m + rowBase) * s.plane + p0
                var e = template
                e.bias = template.bias.map { $0 + rowBase }
                e.slope = template.slope.map { $0 + rowBase }
                e.residual = residual.map { $0 + yoff }
                let r = rows ?? 0..<s.mg
                let pw = w.packed + grp * w.groupStride
                switch (y, w.quad) {
                case (.f32(let yf), true):
                    (w.sevenBit ? unirt_gemm_u8s8q7_compute_f32 : unirt_gemm_u8s8q_compute_f32)(
                        pw, px, r.lowerBound, r.upperBound, s.kdim, cols, rsp + rowBase, &e, yf + yoff, s.plane)
                case (.f32(let yf), false):
                    unirt_gemm_u8s8_compute_f32(pw, px, r.lowerBound, r.upperBound, s.kdim, cols, rsp + rowBase, &e,
                                                yf + yoff, s.plane)
                case (.u8(let yq, let scale), true):
                    (w.sevenBit ? unirt_gemm_u8s8q7_compute_u8 : unirt_gemm_u8s8q_compute_u8)(
                        pw, px, r.lowerBound, r.upperBound, s.kdim, cols, rsp + rowBase, &e, scale, 128, yq + yoff, s.plane)
                case (.u8(let yq, let scale), false):
                    unirt_gemm_u8s8_compute_u8(pw, px, r.lowerBound, r.upperBound, s.kdim, cols, rsp + rowBase, &e,
                                               scale, 128, yq + yoff, s.plane)
                }
            }
            let blocks = (s.mg + mr - 1) / mr
            if items >= threads || blocks < 2 || threads == 1 {
                let parts = min(threads, items)
                forEachSlot(parts, threads: threads) { t in
                    let px = scratch + t * tileBytes
                    for i in items * t / parts..<items * (t + 1) / parts { item(i, px, rows: nil, pack: true) }
                }
            } else {
                // Few tiles: pack each once, split its rows into blocks of MR.
                for i in 0..<items {
                    item(i, scratch, rows: 0..<0, pack: true)
                    let parts = min(threads, blocks)
                    forEachSlot(parts, threads: threads) { t in
                        let r0 = blocks * t / parts * mr, r1 = min(s.mg, blocks * (t + 1) / parts * mr)
                        if r1 > r0 { item(i, scratch, rows: r0..<r1, pack: false) }
                    }
                }
            }
        }
    }

    /// Runs `body(slot)` for slots 0..<count, spread over `threads` with `parallelFor`.
    /// Distinct slots write disjoint memory (the callers' ranges are disjoint).
    static func forEachSlot(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        parallelFor(count, threads: threads) { range in
            for t in range { body(t) }
        }
    }
}

/// What the int8 kernels of this machine offer, for the builder's choices.
public enum Int8Kernels {
    /// Whether the AVX-512 VNNI GEMM runs (quad layout; see CPUInt8Conv).
    public static var vnni: Bool { unirt_gemm_u8s8q_native() != 0 }
}

extension CPUInt8Conv.Weights {
    /// Calls `body` with the PRelu slope pointer: the run-time input, the expanded constant, or nil.
    func withSlope(_ input: UnsafePointer<Float>?, _ body: (UnsafePointer<Float>?) -> Void) {
        if let input { return body(input) }
        if let slope { return slope.withUnsafeBufferPointer { body($0.baseAddress) } }
        body(nil)
    }
}
