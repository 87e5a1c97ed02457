import XCTest
import UnirtQuant

final class QuantWeightTests: XCTestCase {
    /// |w − q·s| ≤ s/2 for every weight (plus one float rounding of q·s), q within ±levels,
    /// and each channel's largest |w| maps to ±levels.
    func testPerChannelErrorBound() {
        var rng = SeededRNG(seed: 11)
        let cases: [([Int], Int)] = [([13, 3, 3, 5], 0), ([17, 13], 1), ([1, 127], 0), ([7], 0)]
        for quantizer in [WeightQuantizer.int8, WeightQuantizer.int7] {
            for (shape, axis) in cases {
                let n = shape.reduce(1, *)
                // Channels of very different magnitudes.
                let w = rng.floats(n).enumerated().map { i, x in x * Float(1 + (i % 5)) * 0.01 }
                let q = quantizer.quantize(w, shape: shape, channelAxis: axis)
                XCTAssertEqual(q.scales.count, shape[axis])
                let back = q.dequantized()
                let inner = shape[(axis + 1)...].reduce(1, *)
                var hitLimit = Set<Int>()
                for i in 0..<n {
                    let c = (i / inner) % shape[axis]
                    let s = q.scales[c]
                    let bound = s / 2 + abs(back[i]).ulp
                    XCTAssertLessThanOrEqual(abs(w[i] - back[i]), bound, "\(shape) axis \(axis) element \(i)")
                    XCTAssertLessThanOrEqual(abs(Int(q.values[i])), quantizer.levels)
                    if abs(Int(q.values[i])) == quantizer.levels { hitLimit.insert(c) }
                }
                XCTAssertEqual(hitLimit.count, shape[axis], "every channel's max reaches ±\(quantizer.levels)")
            }
        }
    }

    func testRoundHalfToEvenAndZeroChannel() {
        // Channel 0: max 127 → scale 1, so the values sit exactly on halves.
        let w: [Float] = [127, 2.5, 3.5, -2.5, 0, 0, 0, 0]
        let q = WeightQuantizer.int8.quantize(w, shape: [2, 4])
        XCTAssertEqual(q.scales, [1, 1])
        XCTAssertEqual(q.values, [127, 2, 4, -2, 0, 0, 0, 0])
        let q7 = WeightQuantizer.int7.quantize([63, -63, 1.5, -0.5], shape: [1, 4])
        XCTAssertEqual(q7.scales, [1])
        XCTAssertEqual(q7.values, [63, -63, 2, 0])
    }

    func testActivationQuantizerSaturates() {
        XCTAssertEqual(ActivationQuantizer.quantize(1000, scale: 0.5), 127)
        XCTAssertEqual(ActivationQuantizer.quantize(-1000, scale: 0.5), -127)
        XCTAssertEqual(ActivationQuantizer.quantize(1.25, scale: 0.5), 2)   // 2.5 → 2 (half to even)
        XCTAssertEqual(ActivationQuantizer.quantize(.nan, scale: 0.5), 0)
        XCTAssertEqual(ActivationQuantizer.fakeQuantize([0.3, 100], scale: 0.5), [0.5, 63.5])
    }
}
