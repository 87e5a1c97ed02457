import Foundation
import XCTest
import UnirtIR
import UnirtPlan

/// The int8 builder's speed check (`unirt build --precision int8`, on by default for CPU plans):
/// a layer whose int8 form is slower than FP32 on this machine falls back with its times recorded,
/// one that is faster stays int8, and `--no-int8-speed-check` keeps every candidate in int8.
final class Int8SpeedCheckTests: XCTestCase {
    /// A model of two inputs, one layer each, with a wide margin each way (measured 2026-11 on a
    /// 2-core EPYC, AVX2 and AVX-512 VNNI kernels, 2 threads):
    /// - `expand`: a 1×1 convolution of 1 input channel to 32 on 256×256. Its int8 form quantizes the
    ///   input and runs a GEMM of reduction 1 (padded to the kernel's 4) with the same output traffic:
    ///   0.92 ms against 0.41–0.52 ms in FP32.
    /// - `fc`: a 4096 × 4096 fully connected layer at batch 1, bound by reading its weights: 16 MiB of
    ///   int8 (within the 32 MiB L3) against 64 MiB of FP32, 1.0–1.4 ms against 2.0–2.3 ms.
    func writeModel(_ dir: String) throws -> String {
        var rng = SeededRNG(seed: 11)
        var m = TestONNXModel()
        m.inputs = [("image", [1, 1, 256, 256]), ("embedding", [1, 4096])]
        m.outputs = ["features", "logits"]
        m.initializers = [("expand_w", [32, 1, 1, 1], rng.floats(32)), ("expand_b", [32], rng.floats(32, in: -0.1...0.1)),
                          ("fc_w", [4096, 4096], rng.floats(4096 * 4096, in: -0.03...0.03)), ("fc_b", [4096], rng.floats(4096, in: -0.1...0.1))]
        m.nodes = [.init(name: "expand", op: "Conv", inputs: ["image", "expand_w", "expand_b"], outputs: ["features"],
                         ints: ["kernel_shape": [1, 1]]),
                   .init(name: "fc", op: "Gemm", inputs: ["embedding", "fc_w", "fc_b"], outputs: ["logits"], int: ["transB": 1])]
        let path = dir + "/two_layers.onnx"
        try m.data().write(to: URL(fileURLWithPath: path))
        for (name, shape) in m.inputs {
            try FileManager.default.createDirectory(atPath: "\(dir)/calib/\(name)", withIntermediateDirectories: true)
            for i in 0..<2 {
                let t = Tensor(shape: shape, floats: rng.floats(shape.reduce(1, *), in: 0...1))
                try t.npyData().write(to: URL(fileURLWithPath: "\(dir)/calib/\(name)/\(i).npy"))
            }
        }
        return path
    }

    func testSlowerInt8LayerFallsBackWithItsTimes() throws {
        let tmp = TestSupport.tempDir()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: tmp) }  // a 64 MiB model and two 16 MiB plans
        let model = try writeModel(tmp)
        // One thread: a kernel split over threads waits at its barrier for a thread the scheduler
        // has parked, so on a machine busy with other work the times of a parallel run say more
        // about the load than about the kernels.
        let args = [model, "--precision", "int8", "--int8-min-reduction", "1", "--calib", tmp + "/calib", "--int8-speed-threads", "1"]
        let built = try TestSupport.unirt(["build", "-o", tmp + "/m.plan"] + args)
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertTrue(built.stdout.contains("expand: fp32 (int8 "), built.stdout)
        XCTAssertTrue(built.stdout.contains("fc: int8 (int8 "), built.stdout)

        let plan = try PlanFile.read(tmp + "/m.plan", target: nil)
        XCTAssertEqual(plan.provenance.layerPrecision["expand"], "fp32")
        XCTAssertEqual(plan.provenance.layerPrecision["fc"], "int8")
        XCTAssertNil(plan.graph.nodes.first { $0.name == "expand" }?.attributes["input_scale"], "expand runs in FP32")
        let check = try XCTUnwrap(plan.provenance.int8SpeedCheck)
        let expand = try XCTUnwrap(check.layers["expand"]), fc = try XCTUnwrap(check.layers["fc"])
        XCTAssertGreaterThan(expand.int8Ms, expand.fp32Ms)
        XCTAssertLessThan(fc.int8Ms, fc.fp32Ms)
        XCTAssertLessThan(check.planMs, check.fp32Ms, "the plan as written runs faster than all FP32")
        XCTAssertEqual(check.threads, 1)

        let inspect = try TestSupport.unirt(["inspect", tmp + "/m.plan"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("expand: fp32 (int8 "), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("speed:"), inspect.stdout)

        // Without the check every candidate is int8 and nothing is timed.
        let off = try TestSupport.unirt(["build", "-o", tmp + "/off.plan", "--no-int8-speed-check"] + args)
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertFalse(off.stdout.contains("speed check"), off.stdout)
        let unchecked = try PlanFile.read(tmp + "/off.plan", target: nil)
        XCTAssertEqual(unchecked.provenance.layerPrecision["expand"], "int8")
        XCTAssertEqual(unchecked.provenance.layerPrecision["fc"], "int8")
        XCTAssertNil(unchecked.provenance.int8SpeedCheck)
    }

    /// `--timing-cache`: the first build times and writes its outcome, a rebuild with the same key reads
    /// it (same layer choice and times, no timing), another thread count is timed and added; a file that
    /// is not a timing cache is refused with one line naming it.
    func testTimingCacheReplaysTheLayerChoice() throws {
        let tmp = TestSupport.tempDir()
        addTeardownBlock { try? FileManager.default.removeItem(atPath: tmp) }
        let model = try writeModel(tmp)
        let cache = tmp + "/timing.json"
        let args = [model, "--precision", "int8", "--int8-min-reduction", "1", "--calib", tmp + "/calib", "--timing-cache", cache]
        let first = try TestSupport.unirt(["build", "-o", tmp + "/a.plan", "--int8-speed-threads", "1"] + args)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stdout.contains("speed check (1 threads)"), first.stdout)
        XCTAssertFalse(first.stdout.contains("from the timing cache"), first.stdout)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cache))) as? [String: Any])
        XCTAssertEqual(json["format"] as? String, "unirt-int8-timing-cache")
        XCTAssertEqual((json["entries"] as? [String: Any])?.count, 1)

        let again = try TestSupport.unirt(["build", "-o", tmp + "/b.plan", "--int8-speed-threads", "1"] + args)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("from the timing cache \(cache)"), again.stdout)
        let a = try PlanFile.read(tmp + "/a.plan", target: nil), b = try PlanFile.read(tmp + "/b.plan", target: nil)
        XCTAssertEqual(a.provenance.layerPrecision, b.provenance.layerPrecision)
        XCTAssertEqual(a.provenance.int8SpeedCheck, b.provenance.int8SpeedCheck, "the times recorded are the cached ones")
        XCTAssertEqual(a.provenance.layerPrecision["expand"], "fp32")

        let other = try TestSupport.unirt(["build", "-o", tmp + "/c.plan", "--int8-speed-threads", "2"] + args)
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertTrue(other.stdout.contains("speed check (2 threads)"), other.stdout)
        let grown = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cache))) as? [String: Any])
        XCTAssertEqual((grown["entries"] as? [String: Any])?.count, 2)

        let unchecked = try TestSupport.unirt(["build", "-o", tmp + "/u.plan", "--no-int8-speed-check"] + args)
        XCTAssertEqual(unchecked.status, 0, unchecked.stderr)
        XCTAssertTrue(unchecked.stdout.contains("--timing-cache \(cache) is not used"), unchecked.stdout)

        try Data("{\"format\": \"something else\"}".utf8).write(to: URL(fileURLWithPath: cache))
        let bad = try TestSupport.unirt(["build", "-o", tmp + "/d.plan", "--int8-speed-threads", "1"] + args)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--timing-cache \(cache): not a unirt int8 timing cache"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1, bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/d.plan"))
    }
}
