import Foundation
import XCTest
import UnirtIR
import UnirtONNX

/// The `unirt` executable: outputs, exit codes and one-line errors.
final class CLITests: XCTestCase {
    let bad = TestSupport.fixture("bad")

    /// Writes `t` to a temporary .npy file.
    func npy(_ t: Tensor, _ dir: String, _ name: String) -> String {
        let p = "\(dir)/\(name).npy"
        FileManager.default.createFile(atPath: p, contents: t.npyData())
        return p
    }

    func assertBadInput(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try TestSupport.unirt(args)
        XCTAssertEqual(r.status, 2, "exit code for \(args): \(r.stderr)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one-line error expected, got: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("unirt: error: "), r.stderr, file: file, line: line)
        for m in mentions {
            XCTAssertTrue(r.stderr.contains(m), "error should mention '\(m)': \(r.stderr)", file: file, line: line)
        }
    }

    func goodModel() throws -> (path: String, input: ValueDecl) {
        let path = "\(bad)/batch-ok.onnx"
        let g = try ONNXModel(contentsOf: path).graph
        return (path, g.inputs[0])
    }

    func input(for decl: ValueDecl, batch: Int = 1, dtype: DType = .f32) -> Tensor {
        var shape = decl.dims!.map { $0.fixedValue ?? 1 }
        shape[0] = batch
        let n = shape.reduce(1, *)
        if dtype.isFloating {
            return Tensor(shape: shape, floats: (0..<n).map { Float($0 % 7) * 0.25 }, dtype: dtype)
        }
        return Tensor(shape: shape, ints: [Int64](repeating: 1, count: n), dtype: dtype)
    }

    func testRunWritesEveryOutput() throws {
        let (path, decl) = try goodModel()
        let dir = TestSupport.tempDir()
        let inPath = npy(input(for: decl), dir, "x")
        let r = try TestSupport.unirt(["run", path, "--input", "\(decl.name)=\(inPath)", "--output-dir", "\(dir)/out"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let g = try ONNXModel(contentsOf: path).graph
        for o in g.outputs {
            let t = try Tensor(npyFile: "\(dir)/out/\(o.name).npy")
            XCTAssertEqual(t.shape.first, 1)
            XCTAssertTrue(r.stdout.contains("\(o.name) \(t.typeDescription) -> \(dir)/out/\(o.name).npy"), r.stdout)
        }
    }

    func testBenchJSONAndProfile() throws {
        let (path, _) = try goodModel()
        let r = try TestSupport.unirt(["bench", path, "--iterations", "5", "--warmup", "1", "--warmup-ms", "0",
                                       "--threads", "2", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let p50 = json?["p50_ms"] as? Double ?? -1, p90 = json?["p90_ms"] as? Double ?? -1
        let p99 = json?["p99_ms"] as? Double ?? -1
        XCTAssertGreaterThan(p50, 0, r.stdout)
        XCTAssertLessThanOrEqual(p50, p90)
        XCTAssertLessThanOrEqual(p90, p99)
        XCTAssertGreaterThan(json?["throughput_per_s"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(json?["peak_rss_bytes"] as? Int ?? 0, 0)
        XCTAssertEqual(json?["iterations"] as? Int, 5)
        let prof = try TestSupport.unirt(["bench", path, "--iterations", "3", "--warmup-ms", "0", "--profile"])
        XCTAssertEqual(prof.status, 0, prof.stderr)
        XCTAssertTrue(prof.stdout.contains("per operator"), prof.stdout)
        XCTAssertTrue(prof.stdout.contains("slowest nodes"), prof.stdout)
        try assertBadInput(["bench", path, "--warmup-ms=-1"], mentions: ["--warmup-ms"])
        try assertBadInput(["bench", path, "--warmup=-2"], mentions: ["--warmup"])
        try assertBadInput(["bench", path, "--opt-level", "7"], mentions: ["--opt-level"])
        try assertBadInput(["inspect", path, "--opt-level", "7"], mentions: ["--opt-level"])
    }

    func testBatchOverrideMatchesONNXRuntimeAtBatch3() throws {
        let path = "\(bad)/batch-ok.onnx"
        let refDir = "\(bad)/batch-ok-b3"
        let dir = TestSupport.tempDir()
        let inputs = try FileManager.default.contentsOfDirectory(atPath: "\(refDir)/in").filter { $0.hasSuffix(".npy") }
        var args = ["run", path, "--output-dir", dir, "--batch", "3"]
        for f in inputs { args += ["--input", "\(f.dropLast(4))=\(refDir)/in/\(f)"] }
        let r = try TestSupport.unirt(args)
        XCTAssertEqual(r.status, 0, r.stderr)
        for (name, ref) in try TestSupport.npyFolder("\(refDir)/ref") {
            TestSupport.assertClose(try Tensor(npyFile: "\(dir)/\(name).npy"), ref, "batch-ok b3 \(name)")
        }
    }

    func testInspectTextAndJSON() throws {
        let (path, decl) = try goodModel()
        let text = try TestSupport.unirt(["inspect", path])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("inputs:\n  \(decl.name)  f32[1,"), text.stdout)
        XCTAssertTrue(text.stdout.contains("ops:"), text.stdout)
        let json = try TestSupport.unirt(["inspect", path, "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        XCTAssertEqual((obj["inputs"] as! [[String: Any]])[0]["name"] as? String, decl.name)
        XCTAssertNotNil(obj["ops"] as? [String: Int])
        XCTAssertNotNil(obj["opsets"] as? [String: Int])
        let batched = try TestSupport.unirt(["inspect", path, "--json", "--batch", "5"])
        let bobj = try JSONSerialization.jsonObject(with: Data(batched.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(((bobj["inputs"] as! [[String: Any]])[0]["shape"] as! [String])[0], "5")
    }

    func testBadModelsAreOneLineErrors() throws {
        let dir = TestSupport.tempDir()
        try assertBadInput(["inspect", "\(bad)/truncated.onnx"], mentions: ["truncated.onnx", "not a valid ONNX model"])
        try assertBadInput(["inspect", "\(bad)/not-protobuf.onnx"], mentions: ["not-protobuf.onnx", "not a valid ONNX model"])
        try assertBadInput(["inspect", "\(bad)/unsupported-op.onnx"], mentions: ["unsupported-op.onnx", "node '", "opset", "not supported"])
        try assertBadInput(["inspect", "\(bad)/external-data.onnx"], mentions: ["external"])
        try assertBadInput(["inspect", "\(dir)/missing.onnx"], mentions: ["no such file"])
    }

    func testBadInputsAreOneLineErrors() throws {
        let (path, decl) = try goodModel()
        let dir = TestSupport.tempDir()
        let out = "\(dir)/out"
        // Missing required input.
        try assertBadInput(["run", path, "--output-dir", out], mentions: ["missing input '\(decl.name)'"])
        // Wrong dtype.
        let i32 = npy(input(for: decl, dtype: .i32), dir, "i32")
        try assertBadInput(["run", path, "--input", "\(decl.name)=\(i32)", "--output-dir", out], mentions: ["dtype i32", decl.name])
        // Wrong rank.
        let rank = npy(Tensor(shape: [3, 4], floats: [Float](repeating: 0, count: 12)), dir, "rank")
        try assertBadInput(["run", path, "--input", "\(decl.name)=\(rank)", "--output-dir", out], mentions: ["rank 2", decl.name])
        // Wrong shape.
        var shape = decl.dims!.map { $0.fixedValue ?? 1 }
        shape[shape.count - 1] += 1
        let wrong = npy(Tensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *))), dir, "shape")
        try assertBadInput(["run", path, "--input", "\(decl.name)=\(wrong)", "--output-dir", out], mentions: ["shape", decl.name])
        // Unknown input name.
        let good = npy(input(for: decl), dir, "good")
        try assertBadInput(["run", path, "--input", "nope=\(good)", "--input", "\(decl.name)=\(good)", "--output-dir", out], mentions: ["no input named 'nope'"])
        // Bad .npy files.
        try assertBadInput(["run", path, "--input", "\(decl.name)=\(bad)/bad-header.npy", "--output-dir", out], mentions: ["bad-header.npy"])
        try assertBadInput(["run", path, "--input", "\(decl.name)=\(bad)/wrong-dtype.npy", "--output-dir", out], mentions: ["wrong-dtype.npy"])
        // Malformed --input option.
        try assertBadInput(["run", path, "--input", "justafile.npy", "--output-dir", out], mentions: ["NAME=FILE.npy"])
        // Usage error from the parser is bad input too.
        let r = try TestSupport.unirt(["run", path])
        XCTAssertEqual(r.status, 2, r.stderr)
    }

    func testBatchOverrideThatCannotBeHonouredIsRefused() throws {
        let path = "\(bad)/batch-mixing.onnx"
        let g = try ONNXModel(contentsOf: path).graph
        let dir = TestSupport.tempDir()
        let x = npy(input(for: g.inputs[0], batch: 2), dir, "x")
        try assertBadInput(["run", path, "--input", "\(g.inputs[0].name)=\(x)", "--output-dir", dir, "--batch", "2"],
                           mentions: ["cannot override batch", "node '", "Reshape"])
        try assertBadInput(["run", path, "--input", "\(g.inputs[0].name)=\(x)", "--output-dir", dir, "--batch", "0"],
                           mentions: ["batch must be at least 1"])
    }
}
