import Foundation
import XCTest
import UnirtQuant

final class QuantReportTests: XCTestCase {
    /// A report built the way `unirt build` fills it: statistics, calibration,
    /// per-layer metrics and a planner run against a fake evaluator.
    static func sampleReport() throws -> CalibrationReport {
        let stats = ActivationStatistics()
        let data: [(String, [Float])] = [
            ("input", QuantTestData.uniform(40_000, seed: 31)),
            ("stage1/conv1: relu", QuantTestData.gaussian(40_000, sigma: 1.5, seed: 32).map { max($0, 0) }),
            ("stage2/conv3 <out>", QuantTestData.gaussianWithOutliers(40_000, seed: 33)),
            ("fc/embedding", QuantTestData.gaussian(40_000, sigma: 0.3, seed: 34).map { $0 * $0 * $0 * 8 }),
        ]
        for (n, v) in data { try stats.observeRange(name: n, values: v) }
        try stats.freezeRanges()
        for (n, v) in data { try stats.observeHistogram(name: n, values: v) }
        let calib = try stats.calibrate(method: .entropy)
        let hists = stats.histograms
        let layers = ["conv1", "conv2", "stage1/conv3", "stage2/conv1", "stage2/conv2", "stage3/conv1", "fc"]
        let scores = [0.0004, 0.0011, 0.0002, 0.006, 0.0009, 0.0031, 0.012]
        let sens = zip(layers, scores).map { MixedPrecisionPlanner.LayerSensitivity(layer: $0, score: $1) }
        let target = AccuracyTarget(metric: .cosine, minimum: 0.99)
        let plan = MixedPrecisionPlanner(target: target).plan(sensitivities: sens) { floats in
            1 - zip(layers, scores).filter { !floats.contains($0.0) }.map(\.1).reduce(0, +)
        }
        let decisions = plan.order.enumerated().map { rank, s -> CalibrationReport.Decision in
            let fb = plan.floatLayers.contains(s.layer)
            return .init(layer: s.layer, precision: fb ? "fp32" : "int8",
                         reason: fb ? "sensitivity rank \(rank + 1) (1−cos \(s.score)); target not met without it"
                                    : "target met with it quantized")
        }
        return CalibrationReport(
            summary: .init(model: "sample.onnx", method: "entropy", target: target.description,
                           achieved: String(format: "cosine=%.4f", plan.achieved), targetMet: plan.targetMet,
                           details: [("Calibration data", "sha256:4f1c…"), ("Batches", "50")]),
            tensors: calib.map { CalibrationReport.TensorEntry(calibration: $0, histogram: hists[$0.name]) },
            layers: zip(layers, scores).map { .init(layer: $0, sqnr: -10 * log10($1) + 3, cosine: 1 - $1) },
            decisions: decisions)
    }

    func testReportIsSelfContainedAndEscaped() throws {
        let html = try Self.sampleReport().html()
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 4 + 2, "4 histograms + 2 bar charts")
        for external in ["<script", "src=", "href=", "url(", "@import", "<link"] {
            XCTAssertFalse(html.contains(external), "report references external content: \(external)")
        }
        XCTAssertTrue(html.contains("stage2/conv3 &lt;out&gt;"))
        XCTAssertFalse(html.contains("<out>"))
        XCTAssertTrue(html.contains("fp32"))
        XCTAssertTrue(html.contains("(met)"))
        // Writes the page so it can be looked at; UNIRT_QUANT_REPORT picks the path.
        let path = ProcessInfo.processInfo.environment["UNIRT_QUANT_REPORT"] ?? TestSupport.tempDir() + "/report.html"
        try Self.sampleReport().write(toFile: path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
    }

    func testReportFromCacheHasNoHistograms() throws {
        let cache = CalibrationCache(method: .minmax, entries: [.init(name: "x", scale: 0.1)])
        let report = CalibrationReport(summary: .init(model: "m", method: cache.method.description),
                                       tensors: cache.entries.map { .init(cacheEntry: $0, method: cache.method) })
        let html = report.html()
        XCTAssertTrue(html.contains("No histogram"))
        XCTAssertTrue(html.contains("No per-layer"))
    }
}
