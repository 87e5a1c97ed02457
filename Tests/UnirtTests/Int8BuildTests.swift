import Foundation
import XCTest
import UnirtIR
import UnirtPlan
import UnirtQuant

/// `unirt build --precision int8` end to end through the CLI on a small
/// fixture graph: it runs, stays near FP32, rebuilds bit-identically from its
/// calibration cache, and `unirt report` renders the result. Builds that check
/// int8 layers or compare two builds turn the speed check off: on this tiny graph
/// it may keep any layer in FP32, and its choice depends on the machine's load.
final class Int8BuildTests: XCTestCase {
    /// Cosine of the int8 plan's output to the FP32 model's, on samples not used for calibration.
    static let fixtureCosineBound = 0.995

    let model = TestSupport.fixture("graphs/sface_like/model.onnx")

    /// Writes `count` seeded samples of the fixture's input [1, 3, 15, 15] as .npy files.
    func writeSamples(_ dir: String, count: Int, seed: UInt64) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var rng = SeededRNG(seed: seed)
        for i in 0..<count {
            let t = Tensor(shape: [1, 3, 15, 15], floats: rng.floats(3 * 225, in: 0...255))
            try t.npyData().write(to: URL(fileURLWithPath: "\(dir)/sample\(String(format: "%03d", i)).npy"))
        }
    }

    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.unirt(args)
        XCTAssertEqual(r.status, 0, "unirt \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    func testInt8BuildRunsNearFP32() throws {
        let tmp = TestSupport.tempDir()
        try writeSamples(tmp + "/calib", count: 12, seed: 1)
        try writeSamples(tmp + "/val", count: 4, seed: 2)
        let plan = tmp + "/m.plan"
        let built = try run(["build", model, "-o", plan, "--precision", "int8", "--int8-min-reduction", "1", "--calib", tmp + "/calib",
                             "--accuracy-target", "cosine=0.99", "--no-int8-speed-check"])
        XCTAssertTrue(built.stdout.contains("int8"), built.stdout)
        for i in 0..<4 {
            let input = "data=\(tmp)/val/sample\(String(format: "%03d", i)).npy"
            _ = try run(["run", plan, "--input", input, "--output-dir", tmp + "/q\(i)"])
            _ = try run(["run", model, "--input", input, "--output-dir", tmp + "/f\(i)"])
            let q = try Tensor(npyFile: tmp + "/q\(i)/fc1.npy"), f = try Tensor(npyFile: tmp + "/f\(i)/fc1.npy")
            let cos = Sensitivity.cosine(f.floats, q.floats)
            XCTAssertGreaterThan(cos, Self.fixtureCosineBound, "sample \(i): int8 vs fp32 cosine")
        }
        let loaded = try PlanFile.read(plan, target: nil)
        XCTAssertEqual(loaded.provenance.precision, "int8")
        XCTAssertTrue(loaded.provenance.layerPrecision.values.contains("int8"))
        XCTAssertNotNil(loaded.provenance.calibrationSHA256)
        XCTAssertTrue(loaded.graph.nodes.contains { $0.attributes["input_scale"] != nil })
    }

    /// `--int8-weight-bits 7`: weights on the 63-level grid, recorded per layer, and the same
    /// plan runs on the AVX2 kernels (VPMADDUBSW, exact for 7-bit weights) and on the
    /// detected ones, both near FP32. A bit count other than 7 or 8 is refused.
    func testSevenBitWeightPlansRunOnEveryKernelPath() throws {
        let tmp = TestSupport.tempDir()
        try writeSamples(tmp + "/calib", count: 8, seed: 5)
        try writeSamples(tmp + "/val", count: 2, seed: 6)
        let plan = tmp + "/m7.plan"
        let built = try run(["build", model, "-o", plan, "--precision", "int8", "--int8-min-reduction", "1", "--calib", tmp + "/calib",
                             "--int8-weight-bits", "7", "--no-int8-speed-check"])
        XCTAssertTrue(built.stdout.contains("7-bit"), built.stdout)
        let loaded = try PlanFile.read(plan, target: nil)
        let int8Layers = loaded.graph.nodes.filter { $0.attributes["input_scale"] != nil }
        XCTAssertFalse(int8Layers.isEmpty)
        for n in int8Layers {
            XCTAssertEqual(try n.int("weight_levels", default: 127), 63, n.name)
            guard let w = loaded.graph.initializers[n.inputs[1]] else { continue }
            let per = w.count / w.shape[0]
            for c in 0..<w.shape[0] {
                let row = Array(w.floats[c * per..<(c + 1) * per])
                let scale = row.map(abs).max()! / 63
                guard scale > 0 else { continue }
                XCTAssertTrue(row.allSatisfy { abs($0 / scale - ($0 / scale).rounded()) < 1e-3 }, "\(n.name) channel \(c) off the 7-bit grid")
            }
        }
        XCTAssertTrue(try run(["inspect", plan]).stdout.contains("7-bit"))
        let input = "data=\(tmp)/val/sample000.npy"
        _ = try run(["run", model, "--input", input, "--output-dir", tmp + "/f"])
        let avx2 = try TestSupport.unirt(["run", plan, "--input", input, "--output-dir", tmp + "/a"], environment: ["UNIRT_CPU_ISA": "avx2"])
        XCTAssertEqual(avx2.status, 0, avx2.stderr)
        _ = try run(["run", plan, "--input", input, "--output-dir", tmp + "/d"])
        let f = try Tensor(npyFile: tmp + "/f/fc1.npy").floats
        let a = try Tensor(npyFile: tmp + "/a/fc1.npy").floats, d = try Tensor(npyFile: tmp + "/d/fc1.npy").floats
        XCTAssertGreaterThan(Sensitivity.cosine(f, a), Self.fixtureCosineBound, "7-bit int8 on AVX2 vs fp32")
        XCTAssertGreaterThan(Sensitivity.cosine(f, d), Self.fixtureCosineBound, "7-bit int8 on detected kernels vs fp32")

        let bad = try TestSupport.unirt(["build", model, "-o", tmp + "/x.plan", "--precision", "int8", "--calib", tmp + "/calib",
                                         "--int8-weight-bits", "6"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--int8-weight-bits: 6 is not 7 or 8"), bad.stderr)
    }

    func testCalibrationCacheRoundTripGivesIdenticalPlan() throws {
        let tmp = TestSupport.tempDir()
        try writeSamples(tmp + "/calib", count: 8, seed: 3)
        let args = ["build", model, "-o", tmp + "/m.plan", "--precision", "int8", "--int8-min-reduction", "1", "--calib", tmp + "/calib",
                    "--calib-method", "percentile", "--calib-cache", tmp + "/calib.cache", "--no-int8-speed-check"]
        let first = try run(args)
        XCTAssertTrue(first.stdout.contains("wrote calibration cache"), first.stdout)
        let a = try PlanFile.read(tmp + "/m.plan", target: nil)
        let second = try run(args)
        XCTAssertFalse(second.stdout.contains("wrote calibration cache"), "second build must read the cache")
        let b = try PlanFile.read(tmp + "/m.plan", target: nil)
        XCTAssertEqual(stamped(a), stamped(b), "plans differ beyond their timestamp")
        let cache = try CalibrationCache(contentsOfFile: tmp + "/calib.cache")
        XCTAssertEqual(cache.method, .percentile(99.99))
        // Without the data, the cache alone rebuilds the same scales and weights.
        _ = try run(["build", model, "-o", tmp + "/c.plan", "--precision", "int8", "--int8-min-reduction", "1", "--calib-cache", tmp + "/calib.cache",
                     "--no-int8-speed-check"])
        let c = try PlanFile.read(tmp + "/c.plan", target: nil)
        XCTAssertEqual(c.activationScales, a.activationScales)
        XCTAssertEqual(c.weightEncodings, a.weightEncodings)
    }

    /// `--refine-scales`: each refined input scale is the calibrated one (from the cache) times one of the
    /// searched factors, at least one moves on this fixture (min-max scales leave the int8 grid coarse), the
    /// same data gives the same scales again, the plan stays near FP32 on samples not used for calibration, the
    /// statistics mark what moved, and without calibration data the flag is refused.
    func testRefinedScalesComeFromTheSearchGrid() throws {
        let tmp = TestSupport.tempDir()
        try writeSamples(tmp + "/calib", count: 8, seed: 6)
        try writeSamples(tmp + "/val", count: 3, seed: 7)
        let args = ["build", model, "-o", tmp + "/r.plan", "--precision", "int8", "--int8-min-reduction", "1", "--calib", tmp + "/calib",
                    "--calib-method", "minmax", "--calib-cache", tmp + "/calib.cache", "--calib-stats", tmp + "/stats.json",
                    "--refine-scales", "--no-int8-speed-check"]
        let built = try run(args)
        XCTAssertTrue(built.stdout.contains("input scales"), built.stdout)
        let cache = try CalibrationCache(contentsOfFile: tmp + "/calib.cache")
        let plan = try PlanFile.read(tmp + "/r.plan", target: nil)
        var moved = 0
        for (name, scale) in plan.activationScales {
            let base = try XCTUnwrap(cache.scales[name], name)
            let factor = scale / base
            XCTAssertTrue([1, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.25].contains { abs(factor - $0) < 1e-5 }, "\(name): factor \(factor)")
            if abs(factor - 1) > 1e-5 { moved += 1 }
        }
        XCTAssertGreaterThan(moved, 0, built.stdout)
        let stats = try String(contentsOfFile: tmp + "/stats.json", encoding: .utf8)
        XCTAssertTrue(stats.contains("\"refined\""), "the statistics mark refined scales")
        _ = try run(args)
        XCTAssertEqual(try PlanFile.read(tmp + "/r.plan", target: nil).activationScales, plan.activationScales, "deterministic")
        for i in 0..<3 {
            let input = "data=\(tmp)/val/sample\(String(format: "%03d", i)).npy"
            _ = try run(["run", tmp + "/r.plan", "--input", input, "--output-dir", tmp + "/q\(i)"])
            _ = try run(["run", model, "--input", input, "--output-dir", tmp + "/f\(i)"])
            let q = try Tensor(npyFile: tmp + "/q\(i)/fc1.npy"), f = try Tensor(npyFile: tmp + "/f\(i)/fc1.npy")
            XCTAssertGreaterThan(Sensitivity.cosine(f.floats, q.floats), Self.fixtureCosineBound, "sample \(i)")
        }
        let refused = try TestSupport.unirt(["build", model, "-o", tmp + "/x.plan", "--precision", "int8", "--int8-min-reduction", "1",
                                             "--calib-cache", tmp + "/calib.cache", "--refine-scales"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--refine-scales needs calibration data"), refused.stderr)
    }

    func testReportWritesHTML() throws {
        let tmp = TestSupport.tempDir()
        try writeSamples(tmp + "/calib", count: 6, seed: 4)
        _ = try run(["build", model, "-o", tmp + "/m.plan", "--precision", "int8", "--int8-min-reduction", "1", "--calib", tmp + "/calib",
                     "--calib-cache", tmp + "/calib.cache", "--accuracy-target", "cosine=0.999"])
        let fromCache = try run(["report", tmp + "/calib.cache", "-o", tmp + "/cache.html"])
        XCTAssertTrue(fromCache.stdout.hasPrefix("wrote \(tmp)/cache.html"), fromCache.stdout)
        let fromPlan = try run(["report", tmp + "/m.plan", "--stats", tmp + "/calib.cache.stats.json", "-o", tmp + "/plan.html"])
        XCTAssertTrue(fromPlan.stdout.contains("decisions"), fromPlan.stdout)
        for page in ["cache.html", "plan.html"] {
            let html = try String(contentsOfFile: tmp + "/" + page, encoding: .utf8)
            XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"), page)
            XCTAssertTrue(html.contains("<svg"), "\(page) has charts")
            XCTAssertFalse(html.contains("<script"), "\(page) is self-contained without scripts")
        }
        let bad = try TestSupport.unirt(["report", model, "-o", tmp + "/x.html"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("neither a unirt plan nor a calibration cache"), bad.stderr)
    }

    /// The plan re-encoded with a fixed timestamp: equal bytes mean equal plans but for `createdAt`.
    func stamped(_ p: Plan) -> Data {
        var q = p
        q.provenance.createdAt = ""
        return PlanFile.encode(q)
    }
}
