import CBLAS
import Dispatch
import Foundation
import UnirtIR

/// 2-D convolution over NCHW float32 (Conv and FusedConv): im2col + sgemm per
/// group in row tiles that bound the scratch buffer, 1×1 stride-1 convolutions
/// straight into sgemm, depthwise convolutions direct; then one fused epilogue
/// (bias, residual, activation).
enum CPUConv {
    /// Largest im2col tile, in floats (16 MiB).
    static let maxColumnFloats = 4 << 20

    struct Geometry: Sendable {
        var n, c, h, w, m, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft, group: Int
        var plane: Int { oh * ow }
        var cg: Int { c / group }
        var mg: Int { m / group }
        var kdim: Int { cg * kh * kw }
    }

    static func build(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], let wt = inputs[1], x.shape.count == 4, options.constants[1] != nil else { return nil }
        guard let win = try? ConvOp.geometry(node, x: x.shape, w: wt.shape, b: nil) else { return nil }
        let out = outputs[0].shape
        let g = Geometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3], m: out[1], oh: out[2], ow: out[3],
                         kh: win.kernel[0], kw: win.kernel[1], sh: win.strides[0], sw: win.strides[1],
                         dh: win.dilations[0], dw: win.dilations[1], padTop: win.padsBegin[0], padLeft: win.padsBegin[1],
                         group: (try? node.int("group", default: 1)) ?? 1)
        guard let epilogue = Epilogue(node, inputs, outputs[0].shape) else { return nil }
        let threads = max(1, options.threads)

        if g.group == g.c && g.mg == 1 {
            return CompiledKernel { ins, outs, _ in
                depthwise(ins[0]!, ins[1]!, outs[0], g, threads: threads)
                epilogue.apply(outs[0], ins, g, threads: threads)
            }
        }
        let pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padLeft == 0
            && g.oh == g.h && g.ow == g.w
        let tileRows = max(1, min(g.oh, maxColumnFloats / max(g.kdim * g.ow, 1)))
        let scratch = pointwise ? 0 : g.kdim * tileRows * g.ow
        return CompiledKernel(scratchFloats: scratch) { ins, outs, scratch in
            let x = ins[0]!, w = ins[1]!, y = outs[0]
            for b in 0..<g.n {
                for grp in 0..<g.group {
                    let xg = x + (b * g.c + grp * g.cg) * g.h * g.w
                    let wg = w + grp * g.mg * g.kdim
                    let yg = y + (b * g.m + grp * g.mg) * g.plane
                    if pointwise {
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(g.mg), Int32(g.plane), Int32(g.kdim),
                                    1, wg, Int32(g.kdim), xg, Int32(g.plane), 0, yg, Int32(g.plane))
                        continue
                    }
                    var r0 = 0
                    while r0 < g.oh {
                        let rows = min(tileRows, g.oh - r0)
                        im2col(xg, scratch, g, rowBegin: r0, rows: rows)
                        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(g.mg), Int32(rows * g.ow), Int32(g.kdim),
                                    1, wg, Int32(g.kdim), scratch, Int32(rows * g.ow), 0, yg + r0 * g.ow, Int32(g.plane))
                        r0 += rows
                    }
                }
            }
            epilogue.apply(y, ins, g, threads: threads)
        }
    }

    /// Unfolds output rows [rowBegin, rowBegin+rows) of one group into [kdim, rows·ow].
    static func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, _ g: Geometry, rowBegin: Int, rows: Int) {
        let width = rows * g.ow
        var row = 0
        for ch in 0..<g.cg {
            let xc = x + ch * g.h * g.w
            for ky in 0..<g.kh {
                for kx in 0..<g.kw {
                    let dst = col + row * width
                    let ix0 = kx * g.dw - g.padLeft
                    // Output columns whose input column is inside the image.
                    let lo = min(g.ow, max(0, (-ix0 + g.sw - 1) / g.sw))
                    let hi = max(lo, min(g.ow, (g.w - 1 - ix0) / g.sw + 1))
                    for r in 0..<rows {
                        let oy = rowBegin + r
                        let iy = oy * g.sh - g.padTop + ky * g.dh
                        let drow = dst + r * g.ow
                        if iy < 0 || iy >= g.h || ix0 + (g.w - 1) < 0 {
                            drow.update(repeating: 0, count: g.ow)
                            continue
                        }
                        let xrow = xc + iy * g.w + ix0
                        if lo > 0 { drow.update(repeating: 0, count: lo) }
                        if g.sw == 1 {
                            (drow + lo).update(from: xrow + lo, count: hi - lo)
                        } else {
                            for ox in lo..<hi { drow[ox] = xrow[ox * g.sw] }
                        }
                        if hi < g.ow { (drow + hi).update(repeating: 0, count: g.ow - hi) }
                    }
                    row += 1
                }
            }
        }
    }

    /// Depthwise convolution (one filter per channel), accumulated per kernel tap.
    static func depthwise(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                          _ g: Geometry, threads: Int) {
        let total = g.n * g.c
        parallelFor(total, threads: threads) { range in
            for nc in range {
                let ch = nc % g.c
                let xc = x + nc * g.h * g.w
                let yc = y + nc * g.plane
                let wc = w + ch * g.kh * g.kw
                yc.update(repeating: 0, count: g.plane)
                for ky in 0..<g.kh {
                    for kx in 0..<g.kw {
                        let wt = wc[ky * g.kw + kx]
                        let off = kx * g.dw - g.padLeft
                        let lo = min(g.ow, max(0, (-off + g.sw - 1) / g.sw))
                        let hi = max(lo, min(g.ow, (g.w - 1 - off) / g.sw + 1))
                        for oy in 0..<g.oh {
                            let iy = oy * g.sh - g.padTop + ky * g.dh
                            if iy < 0 || iy >= g.h { continue }
                            let xrow = xc + iy * g.w + off
                            let yrow = yc + oy * g.ow
                            if g.sw == 1 {
                                for ox in lo..<hi { yrow[ox] += wt * xrow[ox] }
                            } else {
                                for ox in lo..<hi { yrow[ox] += wt * xrow[ox * g.sw] }
                            }
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

    init?(_ node: Node, _ inputs: [ValueInfo?], _ out: [Int]) {
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

    func apply(_ y: UnsafeMutablePointer<Float>, _ ins: [UnsafePointer<Float>?], _ g: CPUConv.Geometry, threads: Int) {
        let bias = hasBias ? ins[2] : nil
        let z = residualInput.flatMap { ins[$0] }
        let slope = slopeInput.flatMap { ins[$0] }
        if bias == nil && z == nil && kind.isEmpty { return }
        let plane = g.plane, m = g.m
        let (kind, alpha, beta, first, perChannel) = (self.kind, self.alpha, self.beta, residualFirst, slopePerChannel)
        parallelFor(g.n * m, threads: threads) { range in
            for nc in range {
                let oc = nc % m
                let p = y + nc * plane
                let b = bias?[oc] ?? 0
                if let z, first {
                    let zp = z + nc * plane
                    for i in 0..<plane { p[i] += b + zp[i] }
                } else if b != 0 {
                    for i in 0..<plane { p[i] += b }
                }
                switch kind {
                case "Relu":
                    for i in 0..<plane { p[i] = max(p[i], 0) }
                case "PRelu":
                    let s = slope![perChannel ? oc : 0]
                    for i in 0..<plane { let v = p[i]; p[i] = v >= 0 ? v : v * s }
                case "LeakyRelu":
                    for i in 0..<plane { let v = p[i]; p[i] = v >= 0 ? v : v * alpha }
                case "Clip":
                    for i in 0..<plane { p[i] = min(max(p[i], alpha), beta) }
                case "":
                    break
                default:
                    for i in 0..<plane { p[i] = FusedConvOp.apply(kind, p[i], alpha, beta) }
                }
                if let z, !first {
                    let zp = z + nc * plane
                    for i in 0..<plane { p[i] += zp[i] }
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
    withoutActuallyEscaping(body) { body in
        // The ranges are disjoint, so the body's writes through raw pointers never race.
        let box = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: parts) { t in
            let lo = count * t / parts, hi = count * (t + 1) / parts
            box.value(lo..<hi)
        }
    }
}

/// Carries a value into a concurrent closure whose safety the caller guarantees.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
