import XCTest
import UnirtIR
import UnirtOptimizer
import UnirtRuntime

/// The sibling merge: convolutions of one input with equal geometry become one
/// convolution and a Split (outputs unchanged, op counts), what it must leave
/// alone, and the cut back into parts that GPU plans use.
final class SiblingConvMergeTests: XCTestCase {
    var rng = SeededRNG(seed: 0x51B)

    func tensor(_ shape: [Int], in range: ClosedRange<Float> = -1...1) -> Tensor {
        Tensor(shape: shape, floats: rng.floats(shape.reduce(1, *), in: range))
    }

    func node(_ op: OpKind, _ inputs: [String], _ output: String, _ attributes: [String: Attribute] = [:]) -> Node {
        Node(name: "n_\(output)", op: op, inputs: inputs, outputs: [output], attributes: attributes, opset: 17)
    }

    func decl(_ name: String, _ dims: String) -> ValueDecl {
        ValueDecl(name: name, dtype: .f32, dims: dims.split(separator: ",").map { Int($0).map(Dim.fixed) ?? .symbolic(String($0)) })
    }

    func ops(_ g: Graph) -> [String: Int] { Dictionary(uniqueKeysWithValues: g.opHistogram) }

    /// Detector heads: from one feature map, 1x1 → 3x3 depthwise heads of 1, 4 and 10
    /// channels (one without biases) and two 3x3 convolutions of 2 and 6 channels with ReLU.
    func heads() -> Graph {
        var inits: [String: Tensor] = [:]
        var nodes: [Node] = [node(.relu, ["x"], "f")]
        var outputs: [ValueDecl] = []
        for (k, m) in [1, 4, 10].enumerated() {
            inits["pw\(k)"] = tensor([m, 8, 1, 1])
            inits["dw\(k)"] = tensor([m, 1, 3, 3])
            inits["pb\(k)"] = tensor([m])
            inits["db\(k)"] = tensor([m])
            let bias = k != 1
            nodes.append(node(.conv, ["f", "pw\(k)"] + (bias ? ["pb\(k)"] : []), "p\(k)"))
            nodes.append(node(.conv, ["p\(k)", "dw\(k)"] + (bias ? ["db\(k)"] : []), "h\(k)",
                              ["group": .int(m), "pads": .ints([1, 1, 1, 1])]))
            outputs.append(decl("h\(k)", "N,\(m),12,12"))
        }
        for (k, m) in [2, 6].enumerated() {
            inits["w\(k)"] = tensor([m, 8, 3, 3])
            inits["b\(k)"] = tensor([m])
            nodes.append(node(.conv, ["f", "w\(k)", "b\(k)"], "c\(k)", ["pads": .ints([1, 1, 1, 1])]))
            nodes.append(node(.relu, ["c\(k)"], "r\(k)"))
            outputs.append(decl("r\(k)", "N,\(m),12,12"))
        }
        return Graph(inputs: [decl("x", "N,8,12,12")], outputs: outputs, initializers: inits, nodes: nodes)
    }

    func run(_ g: Graph, _ inputs: [String: Tensor], reference: Bool = false) throws -> [String: Tensor] {
        try Session(graph: g, backend: reference ? ReferenceBackend() as any Backend : CPUBackend()).run(inputs)
    }

    func testHeadsMergeIntoOneConvolutionEach() throws {
        let g = heads()
        let inputs = ["x": tensor([2, 8, 12, 12], in: -2...2)]
        let merged = try Optimizer(level: .extended).optimize(g).0
        XCTAssertEqual(ops(merged), ["Relu": 1, "FusedPointwiseDepthwise": 1, "FusedConv": 1, "Split": 2])
        let want = try run(g, inputs, reference: true)
        for (name, got) in try run(merged, inputs) { TestSupport.assertClose(got, want[name]!, rtol: 1e-4, name) }
        // Turned off by name: five separate convolutions, same outputs.
        let off = try Optimizer(level: .extended, disabled: ["sibling-conv-merge"]).optimize(g).0
        XCTAssertNil(ops(off)["Split"])
        XCTAssertEqual((ops(off)["FusedPointwiseDepthwise"] ?? 0) + (ops(off)["FusedConv"] ?? 0), 5)
        // Cut back into parts (GPU plans): no Split, same outputs on the reference kernels.
        let parts = merged.splittingSiblingMerges()
        XCTAssertNil(ops(parts)["Split"])
        XCTAssertEqual((ops(parts)["FusedPointwiseDepthwise"] ?? 0) + (ops(parts)["FusedConv"] ?? 0), 5)
        for (name, got) in try run(parts, inputs, reference: true) { TestSupport.assertClose(got, want[name]!, rtol: 1e-4, name) }
    }

    func testDifferentGeometryOrInputStaysApart() throws {
        var g = heads()
        // Give the second 3x3 conv other pads: it no longer matches its sibling.
        let i = g.nodes.firstIndex { $0.outputs == ["c1"] }!
        g.nodes[i].attributes["pads"] = .ints([1, 1, 1, 1])
        g.nodes[i].attributes["strides"] = .ints([2, 2])
        g.outputs[4] = decl("r1", "N,6,6,6")
        let merged = try Optimizer(level: .extended).optimize(g).0
        XCTAssertEqual(ops(merged)["FusedConv"], 2)
        XCTAssertEqual(ops(merged)["Split"], 1)
        let inputs = ["x": tensor([1, 8, 12, 12], in: -2...2)]
        let want = try run(g, inputs, reference: true)
        for (name, got) in try run(merged, inputs) { TestSupport.assertClose(got, want[name]!, rtol: 1e-4, name) }
    }
}
