import Foundation
import XCTest
import UnirtIR
import UnirtONNX
import UnirtRuntime

/// Small graphs from other exporters (Tests/Fixtures/graphs, made by
/// scripts/make-test-graphs.py) against ONNX Runtime's outputs.
final class FixtureGraphTests: XCTestCase {
    func testEveryFixtureGraphMatchesONNXRuntime() throws {
        let root = TestSupport.fixture("graphs")
        let cases = try FileManager.default.contentsOfDirectory(atPath: root)
            .filter { FileManager.default.fileExists(atPath: "\(root)/\($0)/model.onnx") }.sorted()
        XCTAssertGreaterThanOrEqual(cases.count, 10, "expected at least 10 fixture graphs")
        for name in cases {
            let dir = "\(root)/\(name)"
            let model = try ONNXModel(contentsOf: "\(dir)/model.onnx")
            let inputs = try TestSupport.npyFolder("\(dir)/in")
            let refs = try TestSupport.npyFolder("\(dir)/ref")
            let outputs = try Session(graph: model.graph).run(inputs)
            XCTAssertEqual(Set(outputs.keys), Set(refs.keys), name)
            for (k, ref) in refs {
                guard let got = outputs[k] else { continue }
                if ref.dtype.isFloating {
                    TestSupport.assertClose(got, ref, "\(name)/\(k)")
                } else {
                    XCTAssertEqual(got.shape, ref.shape, "\(name)/\(k)")
                    XCTAssertEqual(got.ints, ref.ints, "\(name)/\(k)")
                }
            }
        }
    }

    /// Every node in the fixtures also runs through the reference kernels only,
    /// so the fast CPU kernels and the oracle are both checked against ORT.
    func testFixturesOnReferenceKernelsOnly() throws {
        let root = TestSupport.fixture("graphs")
        for name in try FileManager.default.contentsOfDirectory(atPath: root).sorted()
        where FileManager.default.fileExists(atPath: "\(root)/\(name)/model.onnx") {
            let dir = "\(root)/\(name)"
            let model = try ONNXModel(contentsOf: "\(dir)/model.onnx")
            let outputs = try Session(graph: model.graph, backend: ReferenceBackend()).run(try TestSupport.npyFolder("\(dir)/in"))
            for (k, ref) in try TestSupport.npyFolder("\(dir)/ref") where ref.dtype.isFloating {
                TestSupport.assertClose(outputs[k]!, ref, "\(name)/\(k) (reference)")
            }
        }
    }
}
