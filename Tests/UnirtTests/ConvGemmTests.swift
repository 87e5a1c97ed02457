import Foundation
import XCTest
import CUnirtKernels

/// The cache-tiled convolution GEMM (unirt_conv_gemm_compute) against a
/// naive convolution with double accumulation, on every microkernel (AVX-512,
/// AVX2, portable): 1x1 convs read in place, padded/strided/dilated convs
/// through the im2col tile, output channel counts off the 8-row block, widths
/// that leave vector tails, tiles split across two position ranges as two
/// threads would, and every epilogue kind.
final class ConvGemmTests: XCTestCase {
    /// Error bound relative to Σ|x·w| + |bias| + |residual| of each output:
    /// float32 accumulation in another order (FMA) plus the vector exp.
    static let convGemmRelative = 1e-5

    typealias Shape = DirectConvTests.Shape

    static let shapes: [Shape] = [
        Shape(c: 16, m: 16, h: 13, w: 29, k: 1, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 5, m: 13, h: 3, w: 127, k: 1, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 3, m: 16, h: 13, w: 13, k: 3, stride: 2, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 7, m: 9, h: 11, w: 37, k: 3, stride: 1, dilation: 1, pads: (1, 0, 2, 1)),
        Shape(c: 4, m: 32, h: 15, w: 15, k: 3, stride: 2, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 3, m: 8, h: 12, w: 20, k: 9, stride: 1, dilation: 1, pads: (4, 4, 4, 4)),
        Shape(c: 6, m: 5, h: 10, w: 23, k: 3, stride: 3, dilation: 2, pads: (2, 1, 0, 3)),
        Shape(c: 2, m: 24, h: 1, w: 1, k: 1, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        Shape(c: 40, m: 33, h: 40, w: 41, k: 1, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
        // k = 261, past the longest column chunk the AVX2 tile copies; one partial row block.
        Shape(c: 29, m: 6, h: 5, w: 21, k: 3, stride: 1, dilation: 1, pads: (1, 1, 1, 1)),
        Shape(c: 9, m: 3, h: 7, w: 19, k: 1, stride: 1, dilation: 1, pads: (0, 0, 0, 0)),
    ]

    /// Runs the kernel over the output split into two position ranges with separate scratch.
    func run(_ s: Shape, x: [Float], packed: [Float], ep: UnsafePointer<unirt_epilogue>?) -> [Float] {
        var g = s.geometry
        let plane = g.out_h * g.out_w
        var y = [Float](repeating: .nan, count: s.m * plane)
        let per = unirt_conv_gemm_scratch_floats(&g, s.c)
        var scratch = [Float](repeating: .nan, count: max(2 * per, 1))
        let split = plane / 3
        scratch.withUnsafeMutableBufferPointer { sc in
            for (i, (pb, pe)) in [(0, split), (split, plane)].enumerated() where pb < pe {
                unirt_conv_gemm_compute(x, s.c, packed, s.m, &g, ep, &y, pb, pe, sc.baseAddress! + i * per)
            }
        }
        return y
    }

    func testConvGemmMatchesReference() {
        var rng = SeededRNG(seed: 47)
        defer { unirt_conv_gemm_limit_isa(2) }
        for s in Self.shapes {
            let k = s.c * s.k * s.k
            let x = rng.floats(s.c * s.h * s.w, in: -2...2), w = rng.floats(s.m * k)
            let e = DirectConvTests.EpilogueInputs(s, &rng)
            var packed = [Float](repeating: .nan, count: unirt_conv_gemm_packed_floats(s.m, k))
            unirt_conv_gemm_pack_weights(w, s.m, k, &packed)
            let (acc, mag) = DirectConvTests.reference(s, x: x, w: w)
            var tested = Set<String>()
            for level in [Int32(2), 1, 0] {
                unirt_conv_gemm_limit_isa(level)
                let isa = String(cString: unirt_conv_gemm_isa())
                guard tested.insert(isa).inserted else { continue }
                DirectConvTests.checkEveryEpilogue(s, e, acc: acc, magnitude: mag, label: "\(isa) \(s)",
                                                   check: { Self.check($0, $1, $2, $3) }) { run(s, x: x, packed: packed, ep: $0) }
            }
        }
    }

    func testPreferredRule() {
        func geometry(_ k: Int) -> unirt_conv2d_geometry {
            Shape(c: 1, m: 1, h: 16, w: 16, k: k, stride: 1, dilation: 1, pads: (0, 0, 0, 0)).geometry
        }
        var g3 = geometry(3), g1 = geometry(1)
        XCTAssertEqual(unirt_conv_gemm_preferred(&g3, 3, 16, 1), 1, "first layer 3->16")
        XCTAssertEqual(unirt_conv_gemm_preferred(&g1, 64, 64, 1), 1, "1x1 64->64")
        XCTAssertEqual(unirt_conv_gemm_preferred(&g3, 32, 32, 1), 1, "3x3 32->32")
        XCTAssertEqual(unirt_conv_gemm_preferred(&g3, 32, 3, 1), 0, "3 outputs stay on the direct kernel")
        XCTAssertEqual(unirt_conv_gemm_preferred(&g3, 256, 256, 1), 0, "large weights stay on sgemm")
        XCTAssertEqual(unirt_conv_gemm_preferred(&g3, 16, 16, 16), 0, "grouped conv is not handled")
    }

    /// Fails at the worst output outside `relative * max(bound, 1)` of the reference.
    static func check(_ got: [Float], _ want: [Double], _ bound: [Double], _ label: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, label, file: file, line: line)
        var worst = 0.0, worstAt = -1
        for i in 0..<min(got.count, want.count) {
            let excess = abs(Double(got[i]) - want[i]) - Self.convGemmRelative * max(bound[i], 1)
            if !(excess <= 0) && (worstAt < 0 || !(excess <= worst)) { worst = excess; worstAt = i }
        }
        if worstAt >= 0 {
            XCTFail("\(label): at \(worstAt) got \(got[worstAt]) want \(want[worstAt])", file: file, line: line)
        }
    }
}
