import Foundation
import XCTest
import UnirtIR
import UnirtONNX
import UnirtOptimizer
import UnirtRuntime

/// The full level-2 pipeline, and the pipeline with each pass disabled in turn,
/// on the three real models against the ONNX Runtime references.
final class OptimizerRealModelTests: XCTestCase {
    struct Case {
        var graph: Graph
        var inputs: [String: Tensor]
        var refs: [String: Tensor]
    }

    func load(_ model: String, refs: String) throws -> Case {
        let modelPath = TestSupport.cacheDir.appendingPathComponent("models/\(model).onnx").path
        let refDir = TestSupport.cacheDir.appendingPathComponent("refs/\(refs)").path
        guard FileManager.default.fileExists(atPath: modelPath),
              FileManager.default.fileExists(atPath: refDir + "/ref") else {
            if TestSupport.requireModels { XCTFail("missing \(modelPath) or \(refDir); run make refs") }
            throw XCTSkip("models not fetched (make refs)")
        }
        return Case(graph: try ONNXModel(contentsOf: modelPath).graph,
                    inputs: try TestSupport.npyFolder(refDir + "/in"),
                    refs: try TestSupport.npyFolder(refDir + "/ref"))
    }

    func run(_ c: Case, _ optimizer: Optimizer, _ label: String) throws -> (Graph, OptimizationReport) {
        let (g, report) = try optimizer.optimize(c.graph)
        let outputs = try Session(graph: g).run(c.inputs)
        XCTAssertFalse(c.refs.isEmpty)
        for (name, ref) in c.refs {
            guard let got = outputs[name] else { XCTFail("\(label): no output \(name)"); continue }
            TestSupport.assertClose(got, ref, rtol: 1e-4, "\(label)/\(name)")
        }
        return (g, report)
    }

    func check(_ model: String, refs: String) throws {
        let c = try load(model, refs: refs)
        let (g, report) = try run(c, try Optimizer(level: .extended), "\(model) level 2")
        XCTAssertLessThan(report.nodesAfter, report.nodesBefore, model)
        print("\(model): \(report.nodesBefore) -> \(report.nodesAfter) nodes at level 2\n\(report)")
        print("\(model) ops after: \(g.opHistogram.map { "\($0.0) \($0.1)" }.joined(separator: ", "))")
        for name in Optimizer.allPassNames {
            _ = try run(c, try Optimizer(level: .extended, disabled: [name]), "\(model) without \(name)")
        }
    }

    func testYuNetOptimizedMatchesONNXRuntime() throws { try check("yunet", refs: "yunet") }
    func testSFaceOptimizedMatchesONNXRuntime() throws { try check("sface", refs: "sface") }
    func testMultistyle26OptimizedMatchesONNXRuntime() throws { try check("multistyle26", refs: "multistyle26") }
}
