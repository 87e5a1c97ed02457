import XCTest
import UnirtQuant

final class QuantPlannerTests: XCTestCase {
    /// A fake model: the metric is 1 − Σ damage of the quantized layers.
    private let damage: [String: Double] = ["conv1": 0.004, "conv2": 0.0005, "fc": 0.008, "conv3": 0.002, "conv4": 0.0001]

    private func fake(_ floatLayers: Set<String>) -> Double {
        1 - damage.keys.sorted().filter { !floatLayers.contains($0) }.map { damage[$0]! }.reduce(0, +)
    }

    private var sensitivities: [MixedPrecisionPlanner.LayerSensitivity] {
        // Layer order as in the graph; scores as measured alone.
        ["conv1", "conv2", "conv3", "conv4", "fc"].map { .init(layer: $0, score: damage[$0]!) }
    }

    func testGreedyAddsMostSensitiveUntilTargetHolds() throws {
        let planner = MixedPrecisionPlanner(target: try AccuracyTarget(parsing: "cosine=0.995"))
        var calls: [Set<String>] = []
        let plan = planner.plan(sensitivities: sensitivities) { set in calls.append(set); return fake(set) }
        // Without fc: 1 − 0.0066 = 0.9934 < 0.995; without fc and conv1: 0.9974.
        XCTAssertEqual(plan.floatLayers, ["fc", "conv1"])
        XCTAssertTrue(plan.targetMet)
        XCTAssertEqual(plan.achieved, fake(["fc", "conv1"]))
        XCTAssertEqual(calls, [[], ["fc"], ["fc", "conv1"]])
        XCTAssertEqual(plan.steps.map(\.floatLayers), [[], ["fc"], ["fc", "conv1"]])
        XCTAssertEqual(plan.order.map(\.layer), ["fc", "conv1", "conv3", "conv2", "conv4"])
    }

    func testTargetAlreadyMetNeedsOneEvaluation() {
        let planner = MixedPrecisionPlanner(target: AccuracyTarget(metric: .cosine, minimum: 0.98))
        var n = 0
        let plan = planner.plan(sensitivities: sensitivities) { n += 1; return fake($0) }
        XCTAssertEqual(n, 1)
        XCTAssertEqual(plan.floatLayers, [])
        XCTAssertTrue(plan.targetMet)
    }

    func testUnreachableTargetEndsWithAllLayersInFloat() {
        let planner = MixedPrecisionPlanner(target: AccuracyTarget(metric: .psnr, minimum: 1000))
        let plan = planner.plan(sensitivities: sensitivities) { _ in 40 }
        XCTAssertFalse(plan.targetMet)
        XCTAssertEqual(plan.floatLayers.count, 5)
        XCTAssertEqual(plan.steps.count, 6)
    }

    func testOrderKeepsTiesStableAndPutsNaNFirst() {
        let order = MixedPrecisionPlanner.order([.init(layer: "a", score: 1), .init(layer: "b", score: .nan),
                                                 .init(layer: "c", score: 1), .init(layer: "d", score: 2)])
        XCTAssertEqual(order.map(\.layer), ["b", "d", "a", "c"])
    }

    func testEvaluatorErrorsPropagate() {
        struct Boom: Error {}
        let planner = MixedPrecisionPlanner(target: AccuracyTarget(metric: .cosine, minimum: 0.99))
        XCTAssertThrowsError(try planner.plan(sensitivities: sensitivities) { s in
            if s.isEmpty { return 0.5 }
            throw Boom()
        })
    }

    func testMetrics() {
        let ref: [Float] = [1, -2, 3, -4]
        XCTAssertEqual(Sensitivity.sqnr(reference: ref, test: ref), .infinity)
        // Signal 30, noise 4 · 0.01 = 0.04 → 10·log10(750).
        XCTAssertEqual(Sensitivity.sqnr(reference: ref, test: ref.map { $0 + 0.1 }), 10 * log10(750), accuracy: 1e-4)
        XCTAssertEqual(Sensitivity.cosine(ref, ref.map { $0 * 3 }), 1, accuracy: 1e-12)
        XCTAssertEqual(Sensitivity.cosine([1, 0], [0, 1]), 0)
        XCTAssertEqual(Sensitivity.cosine([0, 0], [0, 0]), 1)
        XCTAssertEqual(Sensitivity.psnr(reference: [0.5, 0.5], test: [0.6, 0.4]), 20, accuracy: 1e-5)
    }

    func testAccuracyTargetParsing() throws {
        XCTAssertEqual(try AccuracyTarget(parsing: "cosine=0.99"), AccuracyTarget(metric: .cosine, minimum: 0.99))
        XCTAssertEqual(try AccuracyTarget(parsing: "psnr=30").metric, .psnr)
        for bad in ["cosine", "snr=3", "cosine=abc", "cosine=2"] {
            XCTAssertThrowsError(try AccuracyTarget(parsing: bad), bad)
        }
    }
}
