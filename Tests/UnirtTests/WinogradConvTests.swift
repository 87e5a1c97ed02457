import Foundation
import XCTest
import CUnirtKernels

/// Winograd F(2x2, 3x3) (unirt_winograd_compute, AVX-512 only) against a naive
/// convolution with double accumulation: with and without padding, uneven
/// pads, odd output sizes (partial tiles), widths off the 16-tile vector,
/// channel counts off the 8-row GEMM block, tile rows split as two threads
/// would, with bias and ReLU.
final class WinogradConvTests: XCTestCase {
    typealias Shape = DirectConvTests.Shape

    static let shapes: [Shape] = [
        Shape(c: 32, m: 32, h: 34, w: 34, k: 3, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 16, m: 24, h: 37, w: 29, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 20, m: 17, h: 9, w: 70, k: 3, stride: 1, dilation: 1, pads: (2, 0, 1, 2)),
        Shape(c: 64, m: 16, h: 15, w: 8, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
    ]

    func testWinogradMatchesReference() throws {
        var probe = Self.shapes[0].geometry
        guard unirt_winograd_supported(&probe, 32, 32, 1) != 0 else {
            throw XCTSkip("no AVX-512F on this CPU: the kernel is not used here")
        }
        var rng = SeededRNG(seed: 2203)
        for s in Self.shapes {
            var g = s.geometry
            XCTAssertEqual(unirt_winograd_supported(&g, s.c, s.m, 1), 1, "\(s)")
            let plane = g.out_h * g.out_w
            let x = rng.floats(s.c * s.h * s.w, in: -2...2), w = rng.floats(s.m * s.c * 9), bias = rng.floats(s.m)
            var packed = [Float](repeating: .nan, count: unirt_winograd_packed_floats(s.m, s.c))
            unirt_winograd_pack_weights(w, s.m, s.c, &packed)
            let (acc, mag) = DirectConvTests.reference(s, x: x, w: w)
            let per = unirt_winograd_scratch_floats(&g, s.c, s.m)
            let rows = unirt_winograd_tile_rows(&g)
            for relu in [false, true] {
                var y = [Float](repeating: .nan, count: s.m * plane)
                var scratch = [Float](repeating: .nan, count: 2 * per)
                bias.withUnsafeBufferPointer { b in
                    var ep = unirt_epilogue(bias: b.baseAddress, residual: nil, residual_after_activation: 0,
                                            activation: relu ? Int32(UNIRT_ACT_RELU) : Int32(UNIRT_ACT_NONE),
                                            alpha: 0, beta: 0, slope: nil)
                    scratch.withUnsafeMutableBufferPointer { sc in
                        for (i, (rb, re)) in [(0, rows / 3), (rows / 3, rows)].enumerated() where rb < re {
                            unirt_winograd_compute(x, s.c, packed, s.m, &g, &ep, &y, rb, re, sc.baseAddress! + i * per)
                        }
                    }
                }
                let want = (0..<acc.count).map { i -> Double in
                    let v = acc[i] + Double(bias[i / plane])
                    return relu ? max(v, 0) : v
                }
                let bound = (0..<acc.count).map { mag[$0] + abs(Double(bias[$0 / plane])) }
                ConvGemmTests.check(y, want, bound, "\(s) relu \(relu)")
            }
        }
    }

    func testSupportedRule() {
        var g = Shape(c: 32, m: 32, h: 16, w: 16, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)).geometry
        XCTAssertEqual(unirt_winograd_supported(&g, 32, 32, 1), 0, "stride 2 is not taken")
        var g1 = Shape(c: 32, m: 32, h: 16, w: 16, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)).geometry
        XCTAssertEqual(unirt_winograd_supported(&g1, 8, 32, 1), 0, "few input channels stay direct")
        XCTAssertEqual(unirt_winograd_supported(&g1, 512, 512, 1), 0, "large weights stay on the GEMM path")
        XCTAssertEqual(unirt_winograd_supported(&g1, 32, 32, 2), 0, "grouped conv is not taken")
    }
}
