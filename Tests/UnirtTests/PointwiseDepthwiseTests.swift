import CUnirtKernels
import XCTest
import UnirtIR
import UnirtOptimizer
import UnirtRuntime

/// The fused 1x1 → 3x3 depthwise (→ 2x2 max pool) node: its CPU kernel
/// against the node's reference kernel (the parts run one after another) on
/// every microkernel level, over strides, pads, widths that leave vector
/// tails, odd heights, batches split across threads and every activation on
/// either stage; the pass that makes it (outputs with and without it, op
/// counts, what it must leave alone); and the split back into parts that GPU
/// plans and int8 builds use.
final class PointwiseDepthwiseTests: XCTestCase {
    var rng = SeededRNG(seed: 0x9D3)

    func tensor(_ shape: [Int], in range: ClosedRange<Float> = -1...1) -> Tensor {
        Tensor(shape: shape, floats: rng.floats(shape.reduce(1, *), in: range))
    }

    struct Case {
        var n = 1, c = 8, m = 16, h = 12, w = 12
        var strides = [1, 1], pads = [1, 1, 1, 1]
        var pool = false
        var pointwise: (String, Float, Float) = ("", 0, 0)
        var depthwise: (String, Float, Float) = ("Relu", 0, 0)
        var bias1 = true, bias2 = true
    }

    /// A graph of one FusedPointwiseDepthwise node for `k`.
    func graph(_ k: Case) -> (Graph, [String: Tensor]) {
        var inits: [String: Tensor] = ["w1": tensor([k.m, k.c, 1, 1]), "w2": tensor([k.m, 1, 3, 3])]
        var inputs = ["x", "w1", k.bias1 ? "b1" : "", "w2", k.bias2 ? "b2" : ""]
        if k.bias1 { inits["b1"] = tensor([k.m]) }
        if k.bias2 { inits["b2"] = tensor([k.m]) }
        var attrs: [String: Attribute] = ["strides": .ints(k.strides), "pads": .ints(k.pads), "group": .int(k.m),
                                          "pool": .int(k.pool ? 1 : 0)]
        for (prefix, act) in [("pointwise_", k.pointwise), ("", k.depthwise)] where !act.0.isEmpty {
            attrs[prefix + "activation"] = .string(act.0)
            attrs[prefix + "activation_alpha"] = .float(act.1)
            attrs[prefix + "activation_beta"] = .float(act.2)
        }
        if k.pointwise.0 == "PRelu" || k.depthwise.0 == "PRelu" {
            inits["s1"] = tensor([k.m, 1, 1], in: 0...0.5)
            inits["s2"] = tensor([k.m, 1, 1], in: 0...0.5)
            inputs += [k.pointwise.0 == "PRelu" ? "s1" : "", k.depthwise.0 == "PRelu" ? "s2" : ""]
        }
        while inputs.last == "" { inputs.removeLast() }
        let node = Node(name: "pwdw", op: .fusedPointwiseDepthwise, inputs: inputs, outputs: ["y"], attributes: attrs, opset: 17)
        let g = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [k.n, k.c, k.h, k.w].map(Dim.fixed))],
                      outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)], initializers: inits, nodes: [node])
        return (g, ["x": tensor([k.n, k.c, k.h, k.w], in: -2...2)])
    }

    /// Compares the CPU kernel with the reference kernel; the bound is relative
    /// to the largest output (float sums in another order, the vector exp).
    func check(_ k: Case, threads: [Int] = [1, 2], file: StaticString = #filePath, line: UInt = #line) throws {
        let (g, inputs) = graph(k)
        let ref = try Session(graph: g, backend: ReferenceBackend()).run(inputs)["y"]!
        defer { unirt_conv_gemm_limit_isa(2) }
        var tested = Set<String>()
        for level in [Int32(2), 1, 0] {
            unirt_conv_gemm_limit_isa(level)
            guard tested.insert(String(cString: unirt_conv_gemm_isa())).inserted else { continue }
            for t in threads {
                let session = Session(graph: g, threads: t)
                let got = try session.run(inputs)["y"]!
                XCTAssertEqual(got.shape, ref.shape, "\(k)", file: file, line: line)
                let scale = max(ref.floats.map(abs).max() ?? 1, 1)
                let err = zip(got.floats, ref.floats).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(err, 2e-5 * scale, "isa \(String(cString: unirt_conv_gemm_isa())) threads \(t): \(k)",
                                         file: file, line: line)
            }
        }
        // The fast kernel ran (not the reference fallback).
        let plan = try Session(graph: g, threads: 1).plan(for: inputs)
        XCTAssertEqual(plan.kernelChoices.first?.kernel, "cpu", "\(k)", file: file, line: line)
    }

    func testKernelMatchesReferenceOverGeometries() throws {
        var cases: [Case] = []
        // YuNet's shapes in miniature: "same" padding, with and without the pool.
        cases.append(Case())
        cases.append(Case(pool: true))
        // Widths off the 16-column vector, odd heights (the pool floors), one column.
        cases.append(Case(c: 5, m: 9, h: 7, w: 37, pool: true))
        cases.append(Case(c: 5, m: 9, h: 9, w: 37))
        cases.append(Case(c: 3, m: 4, h: 1, w: 1, pads: [1, 1, 1, 1]))
        cases.append(Case(c: 16, m: 24, h: 33, w: 48, pool: true))
        // Widths about the 8-column vector (masked first and last chunks, a partial pooled
        // store) and heights not a multiple of four (the four-row kernel's remainder).
        cases.append(Case(c: 3, m: 5, h: 6, w: 8))
        cases.append(Case(c: 3, m: 5, h: 5, w: 9, pool: true))
        cases.append(Case(c: 3, m: 5, h: 10, w: 10, pool: true))
        cases.append(Case(c: 3, m: 5, h: 3, w: 17))
        cases.append(Case(c: 3, m: 5, h: 13, w: 2, pool: true))
        cases.append(Case(c: 3, m: 5, h: 7, w: 26, pool: true))
        // Stride 2, uneven and missing pads (the general row kernels).
        cases.append(Case(c: 6, m: 12, h: 15, w: 21, strides: [2, 2], pads: [1, 1, 1, 1]))
        cases.append(Case(c: 6, m: 12, h: 14, w: 40, strides: [2, 2], pads: [0, 1, 1, 0]))
        cases.append(Case(c: 4, m: 8, h: 10, w: 19, strides: [1, 2], pads: [2, 0, 0, 2], pool: true))
        cases.append(Case(c: 4, m: 8, h: 10, w: 19, pads: [0, 0, 0, 0]))
        // Batches split over threads mid-sample; no biases.
        cases.append(Case(n: 3, c: 7, m: 10, h: 11, w: 16, pool: true, bias1: false, bias2: false))
        cases.append(Case(n: 2, c: 32, m: 64, h: 20, w: 20))
        // Tall narrow planes: several bands of ~1024 positions, so the ring of pointwise rows wraps.
        cases.append(Case(c: 6, m: 10, h: 131, w: 17))
        cases.append(Case(c: 5, m: 9, h: 97, w: 23, pool: true))
        cases.append(Case(c: 4, m: 8, h: 150, w: 13, strides: [2, 2], pads: [1, 1, 1, 1]))
        for k in cases { try check(k) }
    }

    func testKernelAppliesEveryActivationOnEitherStage() throws {
        let acts: [(String, Float, Float)] = [("", 0, 0), ("Relu", 0, 0), ("PRelu", 0, 0), ("LeakyRelu", 0.1, 0),
                                              ("Clip", -0.5, 0.7), ("Sigmoid", 0, 0), ("HardSigmoid", 0.3, 0.4)]
        for a in acts {
            try check(Case(c: 5, m: 8, h: 9, w: 21, pool: true, pointwise: a, depthwise: ("", 0, 0)), threads: [2])
            try check(Case(c: 5, m: 8, h: 9, w: 21, pointwise: ("Relu", 0, 0), depthwise: a), threads: [2])
        }
    }

    // MARK: the pass

    func node(_ op: OpKind, _ inputs: [String], _ output: String, _ attributes: [String: Attribute] = [:]) -> Node {
        Node(name: "n_\(output)", op: op, inputs: inputs, outputs: [output], attributes: attributes, opset: 17)
    }

    func decl(_ name: String, _ dims: String) -> ValueDecl {
        ValueDecl(name: name, dtype: .f32, dims: dims.split(separator: ",").map { Int($0).map(Dim.fixed) ?? .symbolic(String($0)) })
    }

    /// x → 1x1 Conv → 3x3 depthwise Conv → Relu [→ MaxPool 2x2/2].
    func chain(pool: Bool, extraReader: Bool = false, dwStride: Int = 1) -> Graph {
        var nodes = [node(.conv, ["x", "w1", "b1"], "p"),
                     node(.conv, ["p", "w2", "b2"], "d", ["group": .int(12), "pads": .ints([1, 1, 1, 1]),
                                                          "strides": .ints([dwStride, dwStride])]),
                     node(.relu, ["d"], pool ? "r" : "y")]
        if pool {
            nodes.append(node(.maxPool, ["r"], "y", ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]))
        }
        var outputs = [decl("y", "N,12,?,?")]
        if extraReader {
            nodes.append(node(.sigmoid, ["p"], "side"))
            outputs.append(decl("side", "N,12,?,?"))
        }
        return Graph(inputs: [decl("x", "N,6,14,18")], outputs: outputs,
                     initializers: ["w1": tensor([12, 6, 1, 1]), "b1": tensor([12]), "w2": tensor([12, 1, 3, 3]),
                                    "b2": tensor([12])],
                     nodes: nodes)
    }

    func ops(_ g: Graph) -> [String: Int] { Dictionary(uniqueKeysWithValues: g.opHistogram) }

    func optimized(_ g: Graph, disabled: Set<String> = []) throws -> Graph {
        try Optimizer(level: .extended, disabled: disabled).optimize(g).0
    }

    func assertSameOutputs(_ a: Graph, _ b: Graph, _ inputs: [String: Tensor], file: StaticString = #filePath, line: UInt = #line) throws {
        let ra = try Session(graph: a).run(inputs), rb = try Session(graph: b).run(inputs)
        for (name, t) in ra { TestSupport.assertClose(rb[name]!, t, rtol: 1e-4, name, file: file, line: line) }
    }

    func testPassFusesConvChainWithAndWithoutPool() throws {
        for (pool, stride) in [(false, 1), (true, 1), (false, 2)] {
            let g = chain(pool: pool, dwStride: stride)
            let inputs = ["x": tensor([2, 6, 14, 18], in: -2...2)]
            let fused = try optimized(g)
            XCTAssertEqual(ops(fused), ["FusedPointwiseDepthwise": 1], "pool \(pool) stride \(stride)")
            XCTAssertEqual(try fused.nodes[0].int("pool", default: -1), pool ? 1 : 0)
            XCTAssertEqual(try fused.nodes[0].string("activation", default: ""), "Relu")
            try assertSameOutputs(g, fused, inputs)
            // Turned off by name, the convolutions stay separate and the outputs still match.
            let off = try optimized(g, disabled: ["pointwise-depthwise-fusion"])
            XCTAssertEqual(ops(off)["FusedPointwiseDepthwise"], nil)
            XCTAssertEqual((ops(off)["FusedConv"] ?? 0) + (ops(off)["Conv"] ?? 0), 2)
            try assertSameOutputs(g, off, inputs)
        }
    }

    func testPassLeavesSharedPointwiseOutputAndInt8Layers() throws {
        // The 1x1 output has a second reader: fusing would hide it.
        let shared = try optimized(chain(pool: true, extraReader: true))
        XCTAssertNil(ops(shared)["FusedPointwiseDepthwise"])
        // A depthwise with a residual input is not taken.
        var g = chain(pool: false)
        g.nodes[1].op = .fusedConv
        g.nodes[1].opType = OpKind.fusedConv.rawValue
        g.nodes[1].inputs += ["x2"]
        g.inputs.append(decl("x2", "N,12,14,18"))
        var copy = g
        XCTAssertEqual(try PointwiseDepthwiseFusion().apply(to: &copy), 0)
        // An int8 layer (input_scale) is not taken.
        var q = chain(pool: false)
        q.nodes[0].op = .fusedConv
        q.nodes[0].opType = OpKind.fusedConv.rawValue
        q.nodes[0].attributes["input_scale"] = .float(0.05)
        XCTAssertEqual(try PointwiseDepthwiseFusion().apply(to: &q), 0)
    }

    func testSplitRestoresTheParts() throws {
        let g = chain(pool: true)
        let fused = try optimized(g)
        let split = fused.splittingPointwiseDepthwise()
        XCTAssertEqual(ops(split), ["FusedConv": 2, "MaxPool": 1])
        // The parts come back under the names they had (calibration caches and layer names refer to them).
        let unfused = try optimized(g, disabled: ["pointwise-depthwise-fusion"])
        XCTAssertEqual(split.nodes.map(\.name), unfused.nodes.map(\.name))
        XCTAssertEqual(split.nodes.map(\.outputs), unfused.nodes.map(\.outputs))
        let inputs = ["x": tensor([1, 6, 14, 18], in: -2...2)]
        let a = try Session(graph: fused, backend: ReferenceBackend()).run(inputs)["y"]!
        let b = try Session(graph: split, backend: ReferenceBackend()).run(inputs)["y"]!
        XCTAssertEqual(a.floats, b.floats)
    }
}
