import CBLAS
import CUnirtKernels
import Dispatch
import Foundation
import UnirtIR

/// 2-D convolution over NCHW float32 (Conv and FusedConv): depthwise
/// convolutions direct; 3×3 stride-1 with 16+ channels as Winograd F(2×2, 3×3)
/// on AVX-512 and AVX2 (`unirt_winograd_compute`); 3×3 over 1–4 input channels direct on AVX-512 and AVX2
/// (`unirt_conv_smallc_compute`); small weights through the cache-tiled GEMM
/// (`unirt_conv_gemm_compute`, epilogue fused, position tiles spread over the
/// threads); 1–4 output channels direct; the rest im2col + sgemm per group in
/// row tiles that bound the scratch buffer (1×1 stride-1 straight into sgemm),
/// then one fused epilogue (bias, residual, activation).
enum CPUConv {
    /// Largest im2col tile, in floats (16 MiB).
    static let maxColumnFloats = 4 << 20

    struct Geometry: Sendable {
        var n, c, h, w, m, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft, group: Int
        var plane: Int { oh * ow }
        var cg: Int { c / group }
        var mg: Int { m / group }
        var kdim: Int { cg * kh * kw }
        var padBottom = 0, padRight = 0

        /// The same geometry for the C kernels.
        var cGeometry: unirt_conv2d_geometry {
            unirt_conv2d_geometry(in_h: h, in_w: w, out_h: oh, out_w: ow, kernel_h: kh, kernel_w: kw,
                                  stride_h: sh, stride_w: sw, dilation_h: dh, dilation_w: dw,
                                  pad_top: padTop, pad_left: padLeft, pad_bottom: padBottom, pad_right: padRight)
        }
    }

    static func build(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], let wt = inputs[1], x.shape.count == 4, options.constants[1] != nil else { return nil }
        guard let win = try? ConvOp.geometry(node, x: x.shape, w: wt.shape, b: nil) else { return nil }
        let out = outputs[0].shape
        let g = Geometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], m: out[1], oh: out[2], ow: out[3],
                         kh: win.kernel[0], kw: win.kernel[1], sh: win.strides[0], sw: win.strides[1],
                         dh: win.dilations[0], dw: win.dilations[1], padTop: win.padsBegin[0], padLeft: win.padsBegin[1],
                         group: (try? node.int("group", default: 1)) ?? 1,
                         padBottom: win.padsEnd[0], padRight: win.padsEnd[1])
        guard let epilogue = Epilogue(node, inputs, outputs[0].shape) else { return nil }
        let threads = max(1, options.threads)

        let cgeo = g.cGeometry
        var directGeometry = cgeo
        if g.group == g.c && g.mg == 1 {
            return CompiledKernel { ins, outs, _ in
                let x = ins[0]!, w = ins[1]!, y = outs[0]
                epilogue.withC(ins) { ep in
                    let cep = UncheckedSendable(ep)
                    for b in 0..<g.n {
                        let xb = x + b * g.c * g.h * g.w, yb = y + b * g.m * g.plane
                        parallelFor(g.c, threads: threads) { r in
                            var e = cep.value.pointee
                            if let z = e.residual { e.residual = z + b * g.m * g.plane }
                            withUnsafePointer(to: e) { ep in
                                withUnsafePointer(to: cgeo) { gp in
                                    unirt_dwconv_compute(xb, w, gp, ep, yb, r.lowerBound, r.upperBound)
                                }
                            }
                        }
                    }
                }
            }
        }
        // 3x3 stride 1 with 16+ channels: Winograd F(2x2, 3x3) when the epilogue is bias and/or ReLU.
        if let w = options.constants[1], epilogue.residualInput == nil, epilogue.kind.isEmpty || epilogue.kind == "Relu",
           unirt_winograd_supported(&directGeometry, g.c, g.m, g.group) != 0 {
            let packed = FloatBuffer(count: unirt_winograd_packed_floats(g.m, g.c))
            w.floats.withUnsafeBufferPointer { unirt_winograd_pack_weights($0.baseAddress, g.m, g.c, packed.pointer) }
            let perThread = (unirt_winograd_scratch_floats(&directGeometry, g.c, g.m) + 15) / 16 * 16
            let tileRows = unirt_winograd_tile_rows(&directGeometry)
            let parts = max(1, min(threads, tileRows))
            return perSample(g, cgeo, epilogue, count: parts, threads: parts, scratchFloats: perThread * parts) { x, y, ep, gp, r, sc in
                for t in r {
                    unirt_winograd_compute(x, g.c, packed.pointer, g.m, gp, ep, y, tileRows * t / parts,
                                           tileRows * (t + 1) / parts, sc + t * perThread)
                }
            }
        }
        // 1-4 input channels, 3x3 (a first layer): direct (16 channels x 16 columns per register block; 8 x 8 on AVX2).
        if let w = options.constants[1], unirt_conv_smallc_supported(&directGeometry, g.c, g.m, g.group) != 0 {
            let packed = FloatBuffer(count: unirt_conv_smallc_packed_floats(g.m, g.c))
            w.floats.withUnsafeBufferPointer { unirt_conv_smallc_pack_weights($0.baseAddress, g.m, g.c, packed.pointer) }
            return perSample(g, cgeo, epilogue, count: g.oh, threads: threads) { x, y, ep, gp, r, _ in
                unirt_conv_smallc_compute(x, g.c, packed.pointer, g.m, gp, ep, y, r.lowerBound, r.upperBound)
            }
        }
        // Small weights: a cache-tiled GEMM with the epilogue fused beats im2col + sgemm.
        if let w = options.constants[1], unirt_conv_gemm_preferred(&directGeometry, g.c, g.m, g.group) != 0 {
            let k = g.kdim
            let packed = FloatBuffer(count: unirt_conv_gemm_packed_floats(g.m, k))
            w.floats.withUnsafeBufferPointer { unirt_conv_gemm_pack_weights($0.baseAddress, g.m, k, packed.pointer) }
            let perThread = unirt_conv_gemm_scratch_floats(&directGeometry, g.c)
            // Whole tiles per thread, so no thread gets a sliver.
            let parts = max(1, min(threads, g.plane / max(unirt_conv_gemm_tile(k), 1)))
            return perSample(g, cgeo, epilogue, count: parts, threads: parts, scratchFloats: perThread * parts) { x, y, ep, gp, r, sc in
                for t in r {
                    unirt_conv_gemm_compute(x, g.c, packed.pointer, g.m, gp, ep, y, g.plane * t / parts,
                                            g.plane * (t + 1) / parts, sc + t * perThread)
                }
            }
        }
        // Few input or output channels: direct convolution beats im2col + sgemm.
        if g.group == 1, let w = options.constants[1],
           unirt_conv_direct_preferred(&directGeometry, g.c, g.m, g.group) != 0 {
            let packed = FloatBuffer(count: unirt_conv_direct_packed_floats(g.m, g.c, g.kh, g.kw))
            w.floats.withUnsafeBufferPointer { unirt_conv_direct_pack_weights($0.baseAddress, g.m, g.c, g.kh, g.kw, packed.pointer) }
            return perSample(g, cgeo, epilogue, count: g.oh, threads: threads) { x, y, ep, gp, r, _ in
                unirt_conv_direct_compute(x, packed.pointer, gp, ep, y, 0, g.m, r.lowerBound, r.upperBound)
            }
        }
        let pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padLeft == 0
            && g.oh == g.h && g.ow == g.w
        let tilePositions = max(16, min(g.plane, maxColumnFloats / max(g.kdim, 1)))
        let scratch = pointwise ? 0 : g.kdim * tilePositions
        return CompiledKernel(scratchFloats: scratch) { ins, outs, scratch in
            let x = ins[0]!, w = ins[1]!, y = outs[0]
            for b in 0..<g.n {
                for grp in 0..<g.group {
                    let xg = x + (b * g.c + grp * g.cg) * g.h * g.w
                    let wg = w + grp * g.mg * g.kdim
                    let yg = y + (b * g.m + grp * g.mg) * g.plane
                    if pointwise {
                        ParallelBLAS.sgemm(transA: false, transB: false, m: g.mg, n: g.plane, k: g.kdim, alpha: 1,
                                           a: wg, lda: g.kdim, b: xg, ldb: g.plane, beta: 0, c: yg, ldc: g.plane,
                                           threads: threads)
                        continue
                    }
                    var p0 = 0
                    while p0 < g.plane {
                        let n = min(tilePositions, g.plane - p0)
                        // im2col of this tile, split across threads by channel.
                        let cols = UncheckedSendable(scratch)
                        parallelFor(g.cg, threads: n * g.kdim > 1 << 15 ? threads : 1) { r in
                            withUnsafePointer(to: cgeo) { gp in
                                unirt_im2col_compute(xg, gp, r.lowerBound, r.upperBound, p0, p0 + n,
                                                     cols.value + r.lowerBound * g.kh * g.kw * n)
                            }
                        }
                        ParallelBLAS.sgemm(transA: false, transB: false, m: g.mg, n: n, k: g.kdim, alpha: 1,
                                           a: wg, lda: g.kdim, b: scratch, ldb: n, beta: 0, c: yg + p0, ldc: g.plane,
                                           threads: threads)
                        p0 += n
                    }
                }
            }
            epilogue.apply(y, ins, g, threads: threads)
        }
    }

}

extension CPUConv {
    /// One sample's share of a kernel: input and output of the sample, the
    /// epilogue with its residual moved to the sample, the geometry, a range of
    /// `0..<count`, and the scratch buffer.
    typealias SampleBody = @Sendable (_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                      _ ep: UnsafePointer<unirt_epilogue>, _ geometry: UnsafePointer<unirt_conv2d_geometry>,
                                      _ range: Range<Int>, _ scratch: UnsafeMutablePointer<Float>) -> Void

    /// A kernel that runs `body` for every sample over `0..<count` split into
    /// at most `threads` ranges on the worker pool.
    static func perSample(_ g: Geometry, _ cgeo: unirt_conv2d_geometry, _ epilogue: Epilogue, count: Int, threads: Int,
                          scratchFloats: Int = 0, _ body: @escaping SampleBody) -> CompiledKernel {
        CompiledKernel(scratchFloats: scratchFloats) { ins, outs, scratch in
            let x = ins[0]!, y = outs[0]
            let sc = UncheckedSendable(scratch)
            epilogue.withC(ins) { ep in
                let cep = UncheckedSendable(ep)
                for b in 0..<g.n {
                    let xb = UncheckedSendable(x + b * g.c * g.h * g.w), yb = UncheckedSendable(y + b * g.m * g.plane)
                    parallelFor(count, threads: threads) { r in
                        var e = cep.value.pointee
                        if let z = e.residual { e.residual = z + b * g.m * g.plane }
                        withUnsafePointer(to: e) { ep in
                            withUnsafePointer(to: cgeo) { gp in body(xb.value, yb.value, ep, gp, r, sc.value) }
                        }
                    }
                }
            }
        }
    }
}

/// Bias, residual and activation applied in place after a convolution.
struct Epilogue: Sendable {
    var hasBias: Bool
    var residualInput: Int?
    var residualFirst: Bool
    var kind: String
    var alpha: Float
    var beta: Float
    /// PRelu slope input, when it is per channel (count M or 1).
    var slopeInput: Int?
    var slopePerChannel: Bool
    /// Output channels.
    var channels: Int

    init?(_ node: Node, _ inputs: [ValueInfo?], _ out: [Int]) {
        channels = out[1]
        hasBias = inputs.count > 2 && inputs[2] != nil
        residualInput = inputs.count > 3 && inputs[3] != nil ? 3 : nil
        residualFirst = ((try? node.int("residual_before_activation", default: 1)) ?? 1) != 0
        if node.op == .fusedConv {
            (kind, alpha, beta) = FusedConvOp.activation(node)
        } else {
            (kind, alpha, beta) = ("", 0, 0)
        }
        slopeInput = nil
        slopePerChannel = false
        if kind == "PRelu" {
            guard inputs.count > 4, let s = inputs[4] else { return nil }
            // Per channel: every axis but the channel axis is 1 once right-aligned to NCHW.
            let padded = [Int](repeating: 1, count: max(0, 4 - s.shape.count)) + s.shape
            guard padded.count == 4, padded[0] == 1, padded[2] == 1, padded[3] == 1,
                  padded[1] == out[1] || padded[1] == 1 else { return nil }
            slopeInput = 4
            slopePerChannel = padded[1] == out[1]
        }
    }

    /// The C epilogue's code for a fused activation name ("" is none); nil for a name it lacks.
    static func activationCode(_ kind: String) -> Int32? {
        switch kind {
        case "": return Int32(UNIRT_ACT_NONE)
        case "Relu": return Int32(UNIRT_ACT_RELU)
        case "PRelu": return Int32(UNIRT_ACT_PRELU)
        case "LeakyRelu": return Int32(UNIRT_ACT_LEAKY_RELU)
        case "Clip": return Int32(UNIRT_ACT_CLIP)
        case "Sigmoid": return Int32(UNIRT_ACT_SIGMOID)
        case "HardSigmoid": return Int32(UNIRT_ACT_HARDSIGMOID)
        default: return nil
        }
    }

    /// The C epilogue for one run; `slope` expanded to per channel when scalar.
    func withC<R>(_ ins: [UnsafePointer<Float>?], _ body: (UnsafePointer<unirt_epilogue>) -> R) -> R {
        let act = Self.activationCode(kind) ?? Int32(UNIRT_ACT_NONE)
        var slope = slopeInput.flatMap { ins[$0] }
        var expanded: [Float] = []
        if let s = slope, !slopePerChannel {
            expanded = [Float](repeating: s[0], count: channels)
            slope = nil
        }
        return expanded.withUnsafeBufferPointer { ex in
            let ep = unirt_epilogue(bias: hasBias ? ins[2] : nil, residual: residualInput.flatMap { ins[$0] },
                                    residual_after_activation: residualFirst ? 0 : 1, activation: act,
                                    alpha: alpha, beta: beta, slope: slope ?? (ex.isEmpty ? nil : ex.baseAddress))
            return withUnsafePointer(to: ep) { body($0) }
        }
    }

    var isIdentity: Bool { !hasBias && residualInput == nil && kind.isEmpty }

    func apply(_ y: UnsafeMutablePointer<Float>, _ ins: [UnsafePointer<Float>?], _ g: CPUConv.Geometry, threads: Int) {
        if isIdentity { return }
        withC(ins) { ep in
            let cep = UncheckedSendable(ep)
            for b in 0..<g.n {
                let yb = y + b * g.m * g.plane
                parallelFor(g.m, threads: g.m * g.plane > 1 << 14 ? threads : 1) { r in
                    var e = cep.value.pointee
                    if let z = e.residual { e.residual = z + b * g.m * g.plane }
                    withUnsafePointer(to: e) { unirt_epilogue_apply($0, yb, g.plane, r.lowerBound, r.upperBound, g.plane) }
                }
            }
        }
    }
}

/// Runs `body` over `0..<count` split into at most `threads` contiguous ranges.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    if threads <= 1 || count < 2 {
        body(0..<count)
        return
    }
    let parts = min(threads, count)
    // The ranges are disjoint, so the body's writes through raw pointers never race.
    WorkerPool.shared.run(parts: parts) { t in
        body(count * t / parts..<count * (t + 1) / parts)
    }
}

/// Carries a value into a concurrent closure whose safety the caller guarantees.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
