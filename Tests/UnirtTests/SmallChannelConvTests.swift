import Foundation
import XCTest
import CUnirtKernels

/// The direct 3x3 convolution for 1-4 input channels
/// (unirt_conv_smallc_compute, AVX-512 and AVX2) against a naive convolution
/// with double accumulation: strides 1 and 2, uneven and missing pads, widths
/// off the 16- and 8-column blocks, rows longer than the AVX2 kernel's chunks, output channels off the 16- and 8-channel
/// blocks, rows split as two threads would, and every epilogue kind.
final class SmallChannelConvTests: XCTestCase {
    typealias Shape = DirectConvTests.Shape

    static let shapes: [Shape] = [
        Shape(c: 3, m: 16, h: 33, w: 47, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 3, m: 16, h: 32, w: 64, k: 3, stride: 2, dilation: 1, pads: (0, 0, 1, 1)),
        Shape(c: 1, m: 20, h: 17, w: 19, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 4, m: 8, h: 9, w: 5, k: 3, stride: 1, dilation: 1, pads: (0, 2, 1, 0)),
        Shape(c: 2, m: 35, h: 14, w: 40, k: 3, stride: 2, dilation: 1, pads: (2, 1, 0, 2)),
        Shape(c: 3, m: 12, h: 3, w: 3, k: 3, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 3, m: 16, h: 10, w: 16, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 3, m: 24, h: 6, w: 26, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        // Rows longer than the AVX2 kernel's 96-column chunks, ending mid-group.
        Shape(c: 3, m: 16, h: 5, w: 401, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 2, m: 10, h: 4, w: 203, k: 3, stride: 1, dilation: 1, pads: (1, 0, 0, 1)),
    ]

    func run(_ s: Shape, x: [Float], packed: [Float], ep: UnsafePointer<unirt_epilogue>?) -> [Float] {
        var g = s.geometry
        var y = [Float](repeating: .nan, count: s.m * g.out_h * g.out_w)
        let split = Int(g.out_h) / 3
        for (rb, re) in [(0, split), (split, Int(g.out_h))] where rb < re {
            unirt_conv_smallc_compute(x, s.c, packed, s.m, &g, ep, &y, rb, re)
        }
        return y
    }

    func testSmallChannelConvMatchesReference() throws {
        var probe = Self.shapes[0].geometry
        guard unirt_conv_smallc_supported(&probe, 3, 16, 1) != 0 else {
            throw XCTSkip("no AVX2 on this CPU: the kernel is not used here")
        }
        defer { unirt_conv_gemm_limit_isa(2) }
        var tested = Set<String>()
        for level in [Int32(2), 1] {
            unirt_conv_gemm_limit_isa(level)
            guard tested.insert(String(cString: unirt_conv_gemm_isa())).inserted else { continue }
            var rng = SeededRNG(seed: 91)
            for s in Self.shapes {
                var g = s.geometry
                XCTAssertEqual(unirt_conv_smallc_supported(&g, s.c, s.m, 1), 1, "\(s)")
                let x = rng.floats(s.c * s.h * s.w, in: -2...2), w = rng.floats(s.m * s.c * 9)
                let e = DirectConvTests.EpilogueInputs(s, &rng)
                var packed = [Float](repeating: .nan, count: unirt_conv_smallc_packed_floats(s.m, s.c))
                unirt_conv_smallc_pack_weights(w, s.m, s.c, &packed)
                let (acc, mag) = DirectConvTests.reference(s, x: x, w: w)
                DirectConvTests.checkEveryEpilogue(s, e, acc: acc, magnitude: mag, label: "\(String(cString: unirt_conv_gemm_isa())) \(s)",
                                                   check: { ConvGemmTests.check($0, $1, $2, $3) }) { run(s, x: x, packed: packed, ep: $0) }
            }
        }
    }

    func testSupportedRule() {
        var g3 = Shape(c: 3, m: 16, h: 16, w: 16, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)).geometry
        var g5 = Shape(c: 3, m: 16, h: 16, w: 16, k: 5, stride: 1, dilation: 1, pads: (2, 2, 2, 2)).geometry
        var dil = Shape(c: 3, m: 16, h: 16, w: 16, k: 3, stride: 1, dilation: 2, pads: (2, 2, 2, 2)).geometry
        XCTAssertEqual(unirt_conv_smallc_supported(&g3, 8, 16, 1), 0, "8 input channels go to the GEMM")
        XCTAssertEqual(unirt_conv_smallc_supported(&g3, 3, 4, 1), 0, "4 outputs stay on the direct kernel")
        XCTAssertEqual(unirt_conv_smallc_supported(&g5, 3, 16, 1), 0, "5x5 is not taken")
        XCTAssertEqual(unirt_conv_smallc_supported(&dil, 3, 16, 1), 0, "dilation is not taken")
        XCTAssertEqual(unirt_conv_smallc_supported(&g3, 3, 16, 3), 0, "grouped conv is not taken")
    }
}
