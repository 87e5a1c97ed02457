import Foundation
import XCTest
import CUnirtKernels

/// The direct convolution kernel (unirt_conv_direct_compute) against a naive
/// Swift convolution with double accumulation, on the AVX2 dispatch and forced
/// onto the portable fallback: odd widths (1, 13, 127) for vector tails, every
/// channel-block remainder, asymmetric pads, stride 2 and 3, dilation 2, every
/// epilogue kind, and channel/row ranges split as two threads would.
final class DirectConvTests: XCTestCase {
    /// Error bound relative to Σ|x·w| + |bias| + |residual| of each output:
    /// float32 accumulation in a different order (FMA) plus the vector exp.
    static let directConvRelative = 1e-5

    /// One convolution shape: channels in/out, input size, kernel, stride, dilation, pads (top, left, bottom, right).
    struct Shape: CustomStringConvertible {
        var c, m, h, w, k, stride, dilation: Int
        var pads: (Int, Int, Int, Int)
        var description: String { "c\(c) m\(m) \(h)x\(w) k\(k) s\(stride) d\(dilation) p\(pads)" }

        var geometry: unirt_conv2d_geometry {
            let ek = (k - 1) * dilation + 1
            return unirt_conv2d_geometry(
                in_h: h, in_w: w, out_h: (h + pads.0 + pads.2 - ek) / stride + 1,
                out_w: (w + pads.1 + pads.3 - ek) / stride + 1, kernel_h: k, kernel_w: k,
                stride_h: stride, stride_w: stride, dilation_h: dilation, dilation_w: dilation,
                pad_top: pads.0, pad_left: pads.1, pad_bottom: pads.2, pad_right: pads.3)
        }
    }

    static let shapes: [Shape] = [
        Shape(c: 3, m: 16, h: 13, w: 13, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 3, m: 5, h: 9, w: 127, k: 3, stride: 2, dilation: 1, pads: (1, 0, 2, 1)),
        Shape(c: 1, m: 4, h: 5, w: 1, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 2, m: 3, h: 7, w: 13, k: 5, stride: 1, dilation: 1, pads: (2, 0, 1, 3)),
        Shape(c: 5, m: 3, h: 11, w: 127, k: 9, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 16, m: 2, h: 11, w: 40, k: 3, stride: 1, dilation: 2, pads: (2, 2, 2, 2)),
        Shape(c: 3, m: 1, h: 8, w: 61, k: 3, stride: 2, dilation: 2, pads: (0, 3, 1, 0)),
        Shape(c: 4, m: 7, h: 10, w: 29, k: 3, stride: 3, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 3, m: 8, h: 4, w: 70, k: 9, stride: 1, dilation: 1, pads: (4, 4, 4, 4)),
    ]

    /// Activation kind with its alpha/beta, in the epilogue's terms.
    static let activations: [(kind: Int32, alpha: Float, beta: Float)] = [
        (Int32(UNIRT_ACT_NONE), 0, 0), (Int32(UNIRT_ACT_RELU), 0, 0), (Int32(UNIRT_ACT_PRELU), 0, 0),
        (Int32(UNIRT_ACT_LEAKY_RELU), 0.1, 0), (Int32(UNIRT_ACT_CLIP), -0.5, 0.7),
        (Int32(UNIRT_ACT_SIGMOID), 0, 0), (Int32(UNIRT_ACT_HARDSIGMOID), 0.2, 0.5),
    ]

    static func activate(_ kind: Int32, _ alpha: Double, _ beta: Double, _ v: Double, slope: Double) -> Double {
        switch Int(kind) {
        case UNIRT_ACT_RELU: return max(v, 0)
        case UNIRT_ACT_PRELU: return v < 0 ? v * slope : v
        case UNIRT_ACT_LEAKY_RELU: return v < 0 ? v * alpha : v
        case UNIRT_ACT_CLIP: return min(max(v, alpha), beta)
        case UNIRT_ACT_SIGMOID: return 1 / (1 + Foundation.exp(-v))
        case UNIRT_ACT_HARDSIGMOID: return max(0, min(1, alpha * v + beta))
        default: return v
        }
    }

    /// Naive convolution: (accumulator, Σ|x·w|) per output, [M][out_h][out_w].
    static func reference(_ s: Shape, x: [Float], w: [Float]) -> (acc: [Double], magnitude: [Double]) {
        let g = s.geometry
        let plane = g.out_h * g.out_w
        var acc = [Double](repeating: 0, count: s.m * plane), mag = acc
        for m in 0..<s.m {
            for oy in 0..<g.out_h {
                for ox in 0..<g.out_w {
                    var a = 0.0, b = 0.0
                    for c in 0..<s.c {
                        for ky in 0..<s.k {
                            let iy = oy * s.stride + ky * s.dilation - s.pads.0
                            guard iy >= 0, iy < s.h else { continue }
                            for kx in 0..<s.k {
                                let ix = ox * s.stride + kx * s.dilation - s.pads.1
                                guard ix >= 0, ix < s.w else { continue }
                                let t = Double(x[(c * s.h + iy) * s.w + ix]) * Double(w[((m * s.c + c) * s.k + ky) * s.k + kx])
                                a += t
                                b += abs(t)
                            }
                        }
                    }
                    acc[m * plane + oy * g.out_w + ox] = a
                    mag[m * plane + oy * g.out_w + ox] = b
                }
            }
        }
        return (acc, mag)
    }

    /// Runs the kernel over the output split into two channel ranges and two
    /// row ranges, as a caller spreading it over threads would.
    func runDirect(_ s: Shape, x: [Float], packed: [Float], ep: UnsafePointer<unirt_epilogue>?) -> [Float] {
        var g = s.geometry
        let plane = g.out_h * g.out_w
        var y = [Float](repeating: .nan, count: s.m * plane)
        let block = min(s.m, Int(UNIRT_CONV_DIRECT_MAX_BLOCK))
        // One split on a block multiple, one off it (a block then runs twice but stores disjoint channels).
        let mSplit = s.m > block ? block : s.m / 2
        let rowSplit = g.out_h / 2
        for (mb, me) in [(0, mSplit), (mSplit, s.m)] where mb < me {
            for (rb, re) in [(0, rowSplit), (rowSplit, g.out_h)] where rb < re {
                unirt_conv_direct_compute(x, packed, &g, ep, &y, mb, me, rb, re)
            }
        }
        return y
    }

    func testDirectConvMatchesReference() {
        var rng = SeededRNG(seed: 31)
        defer { unirt_cpu_set_simd_enabled(1) }
        for s in Self.shapes {
            let x = rng.floats(s.c * s.h * s.w, in: -2...2), w = rng.floats(s.m * s.c * s.k * s.k)
            let e = EpilogueInputs(s, &rng)
            var packed = [Float](repeating: .nan, count: unirt_conv_direct_packed_floats(s.m, s.c, s.k, s.k))
            unirt_conv_direct_pack_weights(w, s.m, s.c, s.k, s.k, &packed)
            let (acc, mag) = Self.reference(s, x: x, w: w)
            for simd in [Int32(1), 0] {
                unirt_cpu_set_simd_enabled(simd)
                let isa = String(cString: unirt_kernels_isa())
                Self.checkEveryEpilogue(s, e, acc: acc, magnitude: mag, label: "\(isa) \(s)",
                                        check: { check($0, $1, $2, $3) }) { runDirect(s, x: x, packed: packed, ep: $0) }
            }
        }
    }

    /// Per-channel bias and PRelu slope and a residual for a shape's output, drawn from `rng`.
    struct EpilogueInputs {
        var bias: [Float], slope: [Float], residual: [Float]

        init(_ s: Shape, _ rng: inout SeededRNG) {
            let g = s.geometry
            bias = rng.floats(s.m)
            slope = rng.floats(s.m, in: 0...0.5)
            residual = rng.floats(s.m * g.out_h * g.out_w)
        }
    }

    /// Checks `run` without an epilogue and with every activation in each residual mode
    /// (none, before the activation, after it) against the reference sums `acc`.
    static func checkEveryEpilogue(_ s: Shape, _ e: EpilogueInputs, acc: [Double], magnitude mag: [Double], label: String,
                                   check: ([Float], [Double], [Double], String) -> Void,
                                   run: (UnsafePointer<unirt_epilogue>?) -> [Float]) {
        let g = s.geometry
        let plane = g.out_h * g.out_w
        check(run(nil), acc, mag, "\(label) no epilogue")
        for act in activations {
            for mode in 0...2 {
                let want = (0..<acc.count).map { i -> Double in
                    let m = i / plane
                    var v = acc[i] + Double(e.bias[m])
                    if mode == 1 { v += Double(e.residual[i]) }
                    v = activate(act.kind, Double(act.alpha), Double(act.beta), v, slope: Double(e.slope[m]))
                    if mode == 2 { v += Double(e.residual[i]) }
                    return v
                }
                let bound = (0..<acc.count).map { mag[$0] + abs(Double(e.bias[$0 / plane])) + abs(Double(e.residual[$0])) }
                let got = e.bias.withUnsafeBufferPointer { b in
                    e.slope.withUnsafeBufferPointer { sl in
                        e.residual.withUnsafeBufferPointer { r in
                            var ep = unirt_epilogue(
                                bias: b.baseAddress, residual: mode == 0 ? nil : r.baseAddress,
                                residual_after_activation: mode == 2 ? 1 : 0, activation: act.kind,
                                alpha: act.alpha, beta: act.beta, slope: sl.baseAddress)
                            return run(&ep)
                        }
                    }
                }
                check(got, want, bound, "\(label) act \(act.kind) residual mode \(mode)")
            }
        }
    }

    func testPreferredRule() {
        func geometry(_ k: Int) -> unirt_conv2d_geometry {
            Shape(c: 1, m: 1, h: 16, w: 16, k: k, stride: 1, dilation: 1, pads: (0, 0, 0, 0)).geometry
        }
        var g3 = geometry(3), g1 = geometry(1)
        XCTAssertEqual(unirt_conv_direct_preferred(&g3, 3, 16, 1), 1, "first layer 3->16")
        XCTAssertEqual(unirt_conv_direct_preferred(&g3, 32, 3, 1), 1, "last layer 32->3")
        XCTAssertEqual(unirt_conv_direct_preferred(&g3, 64, 64, 1), 0, "wide layer stays on sgemm")
        XCTAssertEqual(unirt_conv_direct_preferred(&g1, 3, 3, 1), 0, "1x1 stays on sgemm")
        XCTAssertEqual(unirt_conv_direct_preferred(&g3, 3, 3, 3), 0, "grouped conv is not handled")
    }

    /// Fails at the worst output outside `relative * max(bound, 1)` of the reference.
    func check(_ got: [Float], _ want: [Double], _ bound: [Double], _ label: String,
               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, label, file: file, line: line)
        var worst = 0.0, worstAt = -1
        for i in 0..<min(got.count, want.count) {
            let excess = abs(Double(got[i]) - want[i]) - Self.directConvRelative * max(bound[i], 1)
            if !(excess <= 0) && (worstAt < 0 || !(excess <= worst)) { worst = excess; worstAt = i }
        }
        if worstAt >= 0 {
            XCTFail("\(label): at \(worstAt) got \(got[worstAt]) want \(want[worstAt])", file: file, line: line)
        }
    }
}
