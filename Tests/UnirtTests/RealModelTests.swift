import Foundation
import XCTest
import UnirtIR
import UnirtONNX
import UnirtRuntime

/// The three shipped face models, imported unmodified, against ONNX Runtime
/// on float copies of the same weights (scripts/make-model-refs.py).
final class RealModelTests: XCTestCase {
    func check(_ model: String, refs: String, batch: Int? = nil) throws {
        let modelPath = TestSupport.cacheDir.appendingPathComponent("models/\(model).onnx").path
        let refDir = TestSupport.cacheDir.appendingPathComponent("refs/\(refs)").path
        guard FileManager.default.fileExists(atPath: modelPath),
              FileManager.default.fileExists(atPath: refDir + "/ref") else {
            if TestSupport.requireModels { XCTFail("missing \(modelPath) or \(refDir); run make refs") }
            throw XCTSkip("models not fetched (make refs)")
        }
        var graph = try ONNXModel(contentsOf: modelPath).graph
        if let batch { graph = try graph.overridingBatch(batch) }
        let inputs = try TestSupport.npyFolder(refDir + "/in")
        let outputs = try Session(graph: graph).run(inputs)
        let refsByName = try TestSupport.npyFolder(refDir + "/ref")
        XCTAssertFalse(refsByName.isEmpty)
        for (name, ref) in refsByName {
            guard let got = outputs[name] else { XCTFail("\(model): no output \(name)"); continue }
            TestSupport.assertClose(got, ref, "\(model)/\(name)")
        }
    }

    func testYuNetMatchesONNXRuntime() throws { try check("yunet", refs: "yunet") }
    func testSFaceMatchesONNXRuntime() throws { try check("sface", refs: "sface") }
    func testSFaceAtBatch4MatchesONNXRuntime() throws { try check("sface", refs: "sface_b4", batch: 4) }
    func testMultistyle26MatchesONNXRuntime() throws { try check("multistyle26", refs: "multistyle26") }
}
