import Foundation
import XCTest
import CUnirtKernels

/// Winograd F(2x2, 3x3) (unirt_winograd_compute, AVX-512 and AVX2) against a
/// naive convolution with double accumulation, within ConvGemmTests'
/// convGemmRelative bound: with and without padding, uneven and odd pads, odd
/// output sizes (partial tiles), widths off the 16- and 8-tile vectors and
/// under one vector, every output width from 8 to 40, channel counts off the 8-row GEMM block, several blocks
/// of tile rows, tile rows split as two threads would, and every epilogue the
/// kernel takes (none, bias, ReLU, bias and ReLU).
final class WinogradConvTests: XCTestCase {
    typealias Shape = DirectConvTests.Shape

    static let shapes: [Shape] = [
        Shape(c: 32, m: 32, h: 34, w: 34, k: 3, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 16, m: 24, h: 37, w: 29, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 20, m: 17, h: 9, w: 70, k: 3, stride: 1, dilation: 1, pads: (2, 0, 1, 2)),
        Shape(c: 64, m: 16, h: 15, w: 8, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 19, m: 33, h: 13, w: 13, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        // Odd left pad, 251 columns (126 tiles: 4 tile rows a block), 6 tile rows.
        Shape(c: 17, m: 16, h: 12, w: 250, k: 3, stride: 1, dilation: 1, pads: (0, 3, 1, 0)),
        // 40 tile rows of 10 tiles: two blocks of tile rows.
        Shape(c: 16, m: 20, h: 80, w: 20, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 24, m: 16, h: 11, w: 18, k: 3, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        // Right pad 2 and an odd output width: the last tile's second column
        // reads the first padding column (in the upper 8 of 16 loaded, AVX2).
        Shape(c: 16, m: 16, h: 12, w: 29, k: 3, stride: 1, dilation: 1, pads: (0, 0, 1, 2)),
        Shape(c: 18, m: 16, h: 9, w: 44, k: 3, stride: 1, dilation: 1, pads: (2, 3, 2, 2)),
    ]

    /// Every output width from 8 to 40 (each remainder of the 16- and 32-column
    /// stores), left and right pads 0-2 varying with it.
    static let widthSweep: [Shape] = (8...40).map { ow in
        let pl = ow % 3, pr = ow / 3 % 3
        return Shape(c: 16, m: 16, h: 9, w: ow + 2 - pl - pr, k: 3, stride: 1, dilation: 1, pads: (1, pl, 0, pr))
    }

    /// Output of the kernel, tile rows split at a third as two threads would.
    func run(_ s: Shape, x: [Float], packed: [Float], ep: UnsafePointer<unirt_epilogue>?) -> [Float] {
        var g = s.geometry
        var y = [Float](repeating: .nan, count: s.m * g.out_h * g.out_w)
        let per = unirt_winograd_scratch_floats(&g, s.c, s.m)
        let rows = unirt_winograd_tile_rows(&g)
        var scratch = [Float](repeating: .nan, count: 2 * per)
        scratch.withUnsafeMutableBufferPointer { sc in
            for (i, (rb, re)) in [(0, rows / 3), (rows / 3, rows)].enumerated() where rb < re {
                unirt_winograd_compute(x, s.c, packed, s.m, &g, ep, &y, rb, re, sc.baseAddress! + i * per)
            }
        }
        return y
    }

    func testWinogradMatchesReference() throws {
        var probe = Self.shapes[0].geometry
        guard unirt_winograd_supported(&probe, 32, 32, 1) != 0 else {
            throw XCTSkip("no AVX2 on this CPU: the kernel is not used here")
        }
        defer { unirt_conv_gemm_limit_isa(2) }
        var tested = Set<String>()
        for level in [Int32(2), 1] {
            unirt_conv_gemm_limit_isa(level)
            let isa = String(cString: unirt_conv_gemm_isa())
            guard tested.insert(isa).inserted else { continue }
            var rng = SeededRNG(seed: 2203)
            for s in Self.shapes + Self.widthSweep {
                var g = s.geometry
                XCTAssertEqual(unirt_winograd_supported(&g, s.c, s.m, 1), 1, "\(isa) \(s)")
                let plane = g.out_h * g.out_w
                let x = rng.floats(s.c * s.h * s.w, in: -2...2), w = rng.floats(s.m * s.c * 9), bias = rng.floats(s.m)
                var packed = [Float](repeating: .nan, count: unirt_winograd_packed_floats(s.m, s.c))
                unirt_winograd_pack_weights(w, s.m, s.c, &packed)
                let (acc, mag) = DirectConvTests.reference(s, x: x, w: w)
                for (withBias, relu) in [(false, false), (true, false), (false, true), (true, true)] {
                    let y = bias.withUnsafeBufferPointer { b -> [Float] in
                        if !withBias && !relu { return run(s, x: x, packed: packed, ep: nil) }
                        var ep = unirt_epilogue(bias: withBias ? b.baseAddress : nil, residual: nil,
                                                residual_after_activation: 0,
                                                activation: relu ? Int32(UNIRT_ACT_RELU) : Int32(UNIRT_ACT_NONE),
                                                alpha: 0, beta: 0, slope: nil)
                        return run(s, x: x, packed: packed, ep: &ep)
                    }
                    let b = { (i: Int) in withBias ? Double(bias[i / plane]) : 0 }
                    let want = (0..<acc.count).map { i -> Double in relu ? max(acc[i] + b(i), 0) : acc[i] + b(i) }
                    let bound = (0..<acc.count).map { mag[$0] + abs(b($0)) }
                    ConvGemmTests.check(y, want, bound, "\(isa) \(s) bias \(withBias) relu \(relu)")
                }
            }
        }
    }

    func testSupportedRule() {
        defer { unirt_conv_gemm_limit_isa(2) }
        var g = Shape(c: 32, m: 32, h: 16, w: 16, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)).geometry
        XCTAssertEqual(unirt_winograd_supported(&g, 32, 32, 1), 0, "stride 2 is not taken")
        var g1 = Shape(c: 32, m: 32, h: 16, w: 16, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)).geometry
        XCTAssertEqual(unirt_winograd_supported(&g1, 8, 32, 1), 0, "few input channels stay direct")
        XCTAssertEqual(unirt_winograd_supported(&g1, 512, 512, 1), 0, "large weights stay on the GEMM path")
        XCTAssertEqual(unirt_winograd_supported(&g1, 32, 32, 2), 0, "grouped conv is not taken")
        unirt_conv_gemm_limit_isa(0)
        XCTAssertEqual(unirt_winograd_supported(&g1, 32, 32, 1), 0, "no SIMD: the portable paths run")
    }
}
