import Dispatch
import Foundation
import XCTest
import UnirtQuant

/// Deterministic calibration data shared by the quantization tests.
enum QuantTestData {
    /// Standard normal samples (Box–Muller on a seeded RNG).
    static func gaussian(_ n: Int, sigma: Float = 1, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        var out: [Float] = []
        out.reserveCapacity(n)
        while out.count < n {
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng)
            let u2 = Double.random(in: 0..<1, using: &rng)
            let r = (-2 * log(u1)).squareRoot()
            out.append(Float(r * cos(2 * .pi * u2)) * sigma)
            if out.count < n { out.append(Float(r * sin(2 * .pi * u2)) * sigma) }
        }
        return out
    }

    /// A Gaussian (σ = 1) with a few outliers at ±50.
    static func gaussianWithOutliers(_ n: Int, seed: UInt64) -> [Float] {
        var v = gaussian(n, seed: seed)
        for k in stride(from: 0, to: n, by: n / 8) { v[k] = (k / (n / 8)) % 2 == 0 ? 50 : -50 }
        return v
    }

    /// Uniform in [−1, 1].
    static func uniform(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededRNG(seed: seed)
        return rng.floats(n)
    }

    /// Calibrates one tensor's values given as a single batch.
    static func calibrate(_ values: [Float], method: CalibrationMethod) throws -> TensorCalibration {
        let stats = ActivationStatistics()
        try stats.observeRange(name: "t", values: values)
        try stats.freezeRanges()
        try stats.observeHistogram(name: "t", values: values)
        return try stats.calibrate(method: method)[0]
    }
}

final class QuantCalibrationTests: XCTestCase {
    func testBinIndexIsExactAtEdges() {
        XCTAssertEqual(TensorHistogram.binIndex(ofMagnitude: 0, max: 4), 0)
        XCTAssertEqual(TensorHistogram.binIndex(ofMagnitude: 4, max: 4), 2047)
        XCTAssertEqual(TensorHistogram.binIndex(ofMagnitude: 2, max: 4), 1024)
        XCTAssertEqual(TensorHistogram.binIndex(ofMagnitude: Float(2).nextDown, max: 4), 1023)
        XCTAssertEqual(TensorHistogram.binIndex(ofMagnitude: 9, max: 4), 2047, "above the frozen range → last bin")
        XCTAssertEqual(TensorHistogram.binIndex(ofMagnitude: 1, max: 0), 0)
    }

    func testEntropyOnGaussianWithOutliersClipsFarBelowMax() throws {
        let v = QuantTestData.gaussianWithOutliers(200_000, seed: 1)
        let c = try QuantTestData.calibrate(v, method: .entropy)
        XCTAssertEqual(c.max, 50)
        // Bulk is within ±5σ; KL must not be dragged to the outliers.
        XCTAssertLessThan(c.threshold, 0.2 * c.max, "entropy threshold \(c.threshold)")
        XCTAssertGreaterThan(c.threshold, 2.0, "entropy threshold \(c.threshold)")
        XCTAssertEqual(c.scale, c.threshold / 127)
        XCTAssertEqual(c.thresholds[.minmax], 50)
        let p = try XCTUnwrap(c.thresholds[.percentile(99.99)])
        XCTAssertGreaterThan(p, 3.3)   // 99.99% of |x| for N(0,1) ≈ 3.89
        XCTAssertLessThan(p, 4.5)
    }

    /// The MSE method's threshold gives the least actual quantization error on
    /// the data (within 2 %: it works from bin-level estimates), here where the
    /// outliers' squared error outweighs the rounding noise.
    func testMSEThresholdMinimizesActualError() throws {
        let v = QuantTestData.gaussianWithOutliers(200_000, seed: 1)
        let c = try QuantTestData.calibrate(v, method: .mse)
        func actual(_ t: Float) -> Double {
            let q = ActivationQuantizer.fakeQuantize(v, scale: t / 127)
            return zip(v, q).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(v.count)
        }
        let mine = actual(c.threshold)
        for (m, t) in c.thresholds where m != .mse {
            XCTAssertLessThanOrEqual(mine, actual(t) * 1.02, "mse T=\(c.threshold) vs \(m) T=\(t)")
        }
        for t in stride(from: Float(2), through: 50, by: 4) {
            XCTAssertLessThanOrEqual(mine, actual(t) * 1.02, "mse T=\(c.threshold) vs T=\(t)")
        }
    }

    /// A fixed histogram (a Gaussian bump of σ = 300 bins plus 42 outliers)
    /// against an independent NumPy implementation of the same procedure,
    /// which picks i = 1437 → T = 1437.5 · 8 / 2048.
    func testEntropyMatchesIndependentImplementation() {
        var bins = (0..<TensorHistogram.binCount).map { k -> UInt64 in
            UInt64((1e6 * exp(-0.5 * pow(Double(k) / 300, 2))).rounded())
        }
        bins[2040] += 37
        bins[1500] += 5
        let h = TensorHistogram(max: 8, bins: bins)
        XCTAssertEqual(ThresholdSelection.entropy(h), 5.615234375)
    }

    func testEntropyOnUniformStaysNearMax() throws {
        let c = try QuantTestData.calibrate(QuantTestData.uniform(200_000, seed: 2), method: .entropy)
        XCTAssertGreaterThan(c.threshold, 0.9 * c.max, "entropy threshold \(c.threshold) of max \(c.max)")
        XCTAssertLessThanOrEqual(c.threshold, c.max)
        XCTAssertGreaterThan(try XCTUnwrap(c.thresholds[.mse]), 0.95 * c.max)
    }

    func testPercentileInterpolatesInsideItsBin() {
        var bins = [UInt64](repeating: 0, count: TensorHistogram.binCount)
        bins[0] = 90
        bins[1000] = 10
        let h = TensorHistogram(max: 2048, bins: bins)   // bin width 1
        XCTAssertEqual(ThresholdSelection.percentile(h, 90), 1)       // end of bin 0
        XCTAssertEqual(ThresholdSelection.percentile(h, 95), 1000.5)  // halfway through bin 1000
        XCTAssertEqual(ThresholdSelection.percentile(h, 100), 1001)
        XCTAssertEqual(ThresholdSelection.threshold(h, method: .minmax), 2048)
    }

    func testAllZeroTensorGetsUnitScale() throws {
        let c = try QuantTestData.calibrate([Float](repeating: 0, count: 100), method: .entropy)
        XCTAssertEqual(c.threshold, 0)
        XCTAssertEqual(c.scale, 1)
    }

    /// The same data in different batch sizes, batch orders and threads gives
    /// bit-identical histograms and scales for every method.
    func testScalesAreIdenticalForAnyBatchingAndOrder() throws {
        let tensors: [(String, [Float])] = [
            ("gauss", QuantTestData.gaussianWithOutliers(60_000, seed: 3)),
            ("uniform", QuantTestData.uniform(60_000, seed: 4)),
            ("relu", QuantTestData.gaussian(60_000, sigma: 2, seed: 5).map { max($0, 0) }),
        ]
        func run(batch: Int, reversed: Bool, concurrent: Bool) throws -> ([String: TensorHistogram], [[UInt32]]) {
            let stats = ActivationStatistics()
            // Batches of `batch` samples; one "sample" is 100 values of each tensor.
            let forward: [Range<Int>] = stride(from: 0, to: 600, by: batch).map { $0..<min($0 + batch, 600) }
            let batches = reversed ? Array(forward.reversed()) : forward
            @Sendable func feed(_ pass: Int, _ r: Range<Int>) throws {
                for (name, v) in tensors {
                    try v[(r.lowerBound * 100)..<(r.upperBound * 100)].withUnsafeBufferPointer { buf in
                        if pass == 1 { try stats.observeRange(name: name, values: buf) }
                        else { try stats.observeHistogram(name: name, values: buf) }
                    }
                }
            }
            for pass in 1...2 {
                if concurrent {
                    let failures = QuantFailureBox()
                    DispatchQueue.concurrentPerform(iterations: batches.count) { i in
                        do { try feed(pass, batches[i]) } catch { failures.record(error) }
                    }
                    XCTAssertEqual(failures.count, 0)
                } else {
                    for r in batches { try feed(pass, r) }
                }
                if pass == 1 { try stats.freezeRanges() }
            }
            let scales = try CalibrationMethod.all().map { m in
                try stats.calibrate(method: m).map { $0.scale.bitPattern }
            }
            return (stats.histograms, scales)
        }
        let reference = try run(batch: 600, reversed: false, concurrent: false)
        for (batch, rev, conc) in [(1, false, false), (7, true, false), (64, false, true), (13, true, true)] {
            let got = try run(batch: batch, reversed: rev, concurrent: conc)
            XCTAssertEqual(got.0, reference.0, "histograms, batch \(batch) reversed \(rev) concurrent \(conc)")
            XCTAssertEqual(got.1, reference.1, "scales, batch \(batch) reversed \(rev) concurrent \(conc)")
        }
    }

    func testPhaseMisuseThrowsNamingTheTensor() throws {
        let stats = ActivationStatistics()
        XCTAssertThrowsError(try stats.observeHistogram(name: "conv1", values: [1])) { e in
            XCTAssertTrue("\(e)".contains("conv1"), "\(e)")
        }
        XCTAssertThrowsError(try stats.calibrate(method: .entropy))
        try stats.observeRange(name: "conv1", values: [1, -3, .nan, .infinity])
        XCTAssertEqual(stats.ranges["conv1"], 3)
        try stats.freezeRanges()
        XCTAssertThrowsError(try stats.freezeRanges())
        XCTAssertThrowsError(try stats.observeRange(name: "conv1", values: [1]))
        XCTAssertThrowsError(try stats.observeHistogram(name: "other", values: [1])) { e in
            XCTAssertTrue("\(e)".contains("'other'"), "\(e)")
        }
        try stats.observeHistogram(name: "conv1", values: [1, -3, .nan])
        XCTAssertEqual(stats.histograms["conv1"]?.total, 2)
        XCTAssertEqual(stats.histograms["conv1"]?.nonFiniteCount, 1)
    }

    func testMethodNamesParse() throws {
        XCTAssertEqual(try CalibrationMethod(name: "entropy"), .entropy)
        XCTAssertEqual(try CalibrationMethod(name: "percentile"), .percentile(99.99))
        XCTAssertEqual(try CalibrationMethod(name: "percentile", percentile: 99.999), .percentile(99.999))
        XCTAssertThrowsError(try CalibrationMethod(name: "percentile", percentile: 101))
        XCTAssertThrowsError(try CalibrationMethod(name: "kl"))
    }
}

/// Collects errors thrown on worker threads.
final class QuantFailureBox: @unchecked Sendable {
    // Guarded by `lock`.
    private var errors: [any Error] = []
    private let lock = NSLock()
    func record(_ e: any Error) { lock.lock(); errors.append(e); lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return errors.count }
}
