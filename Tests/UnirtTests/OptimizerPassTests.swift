import XCTest
import UnirtIR
import UnirtOptimizer
import UnirtRuntime

/// Each optimizer pass on a small graph built here: outputs with and without
/// the pass agree, and the operator counts show the rewrite happened.
final class OptimizerPassTests: XCTestCase {
    var rng = SeededRNG(seed: 0x0517)

    func tensor(_ shape: [Int], in range: ClosedRange<Float> = -1...1) -> Tensor {
        Tensor(shape: shape, floats: rng.floats(shape.reduce(1, *), in: range))
    }

    func node(_ op: OpKind, _ inputs: [String], _ output: String, _ attributes: [String: Attribute] = [:],
              opset: Int = 17) -> Node {
        Node(name: "n_\(output)", op: op, inputs: inputs, outputs: [output], attributes: attributes, opset: opset)
    }

    /// A float value declaration; `dims` like "N,3,13,13" (names are symbolic).
    func decl(_ name: String, _ dims: String) -> ValueDecl {
        ValueDecl(name: name, dtype: .f32, dims: dims.split(separator: ",").map { Int($0).map(Dim.fixed) ?? .symbolic(String($0)) })
    }

    func ops(_ g: Graph) -> [String: Int] { Dictionary(uniqueKeysWithValues: g.opHistogram) }

    /// Runs `passes` over `graph`, compares outputs on `inputs` and returns the
    /// rewritten graph and the rewrites of the first pass.
    @discardableResult
    func check(_ graph: Graph, _ passes: [any OptimizationPass], inputs: [String: Tensor], cleanup: Bool = true,
               rtol: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line) throws -> (Graph, Int) {
        let expected = try Session(graph: graph).run(inputs)
        var g = graph
        var first = -1
        for p in passes {
            let n = try p.apply(to: &g)
            if first < 0 { first = n }
        }
        if cleanup { _ = try DeadNodeElimination().apply(to: &g) }
        let got = try Session(graph: g).run(inputs)
        for (name, ref) in expected {
            guard let t = got[name] else { XCTFail("no output \(name)", file: file, line: line); continue }
            TestSupport.assertClose(t, ref, rtol: rtol, name, file: file, line: line)
        }
        return (g, first)
    }

    func testConstantFoldingEvaluatesConstantNodes() throws {
        let g = Graph(inputs: [decl("x", "N,4")], outputs: [decl("y", "N,4")],
                      initializers: ["a": tensor([4]), "b": tensor([4]), "e": tensor([1])],
                      nodes: [node(.add, ["a", "b"], "c"), node(.exp, ["e"], "ee"), node(.mul, ["c", "ee"], "k"),
                              node(.mul, ["x", "k"], "y")])
        let (out, n) = try check(g, [ConstantFolding()], inputs: ["x": tensor([3, 4])])
        XCTAssertEqual(n, 3)
        XCTAssertEqual(ops(out), ["Mul": 1])
    }

    func testDeadNodeEliminationDropsUnreadNodes() throws {
        let g = Graph(inputs: [decl("x", "2,5")], outputs: [decl("y", "2,5")], initializers: [:],
                      nodes: [node(.sigmoid, ["x"], "s"), node(.tanh, ["s"], "t"), node(.relu, ["x"], "y")])
        var out = g
        XCTAssertEqual(try DeadNodeElimination().apply(to: &out), 2)
        XCTAssertEqual(ops(out), ["Relu": 1])
        try check(g, [DeadNodeElimination()], inputs: ["x": tensor([2, 5])])
    }

    func testIdentityAndDropoutAreRemovedEvenBeforeAGraphOutput() throws {
        let dropout = Node(name: "drop", op: .dropout, inputs: ["r"], outputs: ["y", "mask"], opset: 13)
        let g = Graph(inputs: [decl("x", "N,6")], outputs: [decl("y", "N,6")],
                      initializers: [:],
                      nodes: [node(.identity, ["x"], "i"), node(.relu, ["i"], "r"), dropout])
        let (out, n) = try check(g, [IdentityElimination()], inputs: ["x": tensor([3, 6])], cleanup: false)
        XCTAssertEqual(n, 2)
        XCTAssertEqual(ops(out), ["Relu": 1])
        XCTAssertEqual(out.nodes[0].outputs, ["y"])
    }

    func testIdentityBetweenInputAndOutputStays() throws {
        let g = Graph(inputs: [decl("x", "2")], outputs: [decl("y", "2")], initializers: [:],
                      nodes: [node(.identity, ["x"], "y")])
        var out = g
        XCTAssertEqual(try IdentityElimination().apply(to: &out), 0)
        XCTAssertEqual(ops(out), ["Identity": 1])
    }

    func bn(_ c: Int, input: String, output: String) -> (Node, [String: Tensor]) {
        let params = ["bn_s": tensor([c], in: 0.5...1.5), "bn_b": tensor([c]), "bn_m": tensor([c]),
                      "bn_v": tensor([c], in: 0.1...2)]
        return (Node(name: "bn", op: .batchNormalization, inputs: [input, "bn_s", "bn_b", "bn_m", "bn_v"],
                     outputs: [output], attributes: ["epsilon": .float(1e-3)], opset: 15), params)
    }

    func testBatchNormFoldsIntoConvWithAndWithoutBias() throws {
        for withBias in [true, false] {
            let (b, params) = bn(5, input: "c", output: "y")
            var inits = params.merging(["w": tensor([5, 3, 3, 3])]) { a, _ in a }
            if withBias { inits["cb"] = tensor([5]) }
            let conv = node(.conv, withBias ? ["x", "w", "cb"] : ["x", "w"], "c",
                            ["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])])
            let g = Graph(inputs: [decl("x", "N,3,13,13")], outputs: [decl("y", "N,5,7,7")],
                          initializers: inits, nodes: [conv, b])
            let (out, n) = try check(g, [BatchNormFolding()], inputs: ["x": tensor([2, 3, 13, 13])])
            XCTAssertEqual(n, 1)
            XCTAssertEqual(ops(out), ["Conv": 1])
        }
    }

    func testBatchNormFoldsIntoGemmWithEitherTransB() throws {
        for transB in [0, 1] {
            let (b, params) = bn(4, input: "g", output: "y")
            let inits = params.merging(["B": tensor(transB == 1 ? [4, 7] : [7, 4]), "C": tensor([1, 4])]) { a, _ in a }
            let gemm = node(.gemm, ["x", "B", "C"], "g", ["transB": .int(transB), "alpha": .float(0.7), "beta": .float(1.3)])
            let g = Graph(inputs: [decl("x", "N,7")], outputs: [decl("y", "N,4")],
                          initializers: inits, nodes: [gemm, b])
            let (out, n) = try check(g, [BatchNormFolding()], inputs: ["x": tensor([3, 7])])
            XCTAssertEqual(n, 1)
            XCTAssertEqual(ops(out), ["Gemm": 1])
        }
    }

    func testBatchNormStaysWhenConvOutputHasAnotherReader() throws {
        let (b, params) = bn(5, input: "c", output: "y")
        let g = Graph(inputs: [decl("x", "1,3,6,6")], outputs: [decl("y", "1,5,4,4"), decl("c", "1,5,4,4")],
                      initializers: params.merging(["w": tensor([5, 3, 3, 3])]) { a, _ in a },
                      nodes: [node(.conv, ["x", "w"], "c"), b])
        var out = g
        XCTAssertEqual(try BatchNormFolding().apply(to: &out), 0)
    }

    func testEachActivationFusesIntoFusedConv() throws {
        let acts: [(OpKind, [String], [String: Attribute], Int)] = [
            (.relu, [], [:], 17),
            (.pRelu, ["slope"], [:], 17),
            (.leakyRelu, [], ["alpha": .float(0.2)], 17),
            (.clip, ["lo", "hi"], [:], 17),
            (.clip, [], ["min": .float(-0.3), "max": .float(0.4)], 9),
            (.sigmoid, [], [:], 17),
            (.hardSigmoid, [], ["alpha": .float(0.3), "beta": .float(0.4)], 17),
        ]
        for (op, extra, attrs, opset) in acts {
            let inits = ["w": tensor([6, 4, 3, 3]), "b": tensor([6]), "slope": tensor([6, 1, 1]),
                         "lo": Tensor(shape: [], floats: [-0.2]), "hi": Tensor(shape: [], floats: [0.5])]
            let g = Graph(inputs: [decl("x", "N,4,11,9")], outputs: [decl("y", "N,6,11,9")],
                          initializers: inits,
                          nodes: [node(.conv, ["x", "w", "b"], "c", ["pads": .ints([1, 1, 1, 1])]),
                                  node(op, ["c"] + extra, "y", attrs, opset: opset)])
            let (out, n) = try check(g, [ConvActivationFusion()], inputs: ["x": tensor([2, 4, 11, 9], in: -3...3)])
            XCTAssertEqual(n, 1, "\(op)")
            XCTAssertEqual(ops(out), ["FusedConv": 1], "\(op)")
        }
    }

    func residualGraph(addFirst: Bool) -> Graph {
        // x [N, 4, 9, 9]; the 3×3 conv with pads 1 keeps the shape, so x is the residual.
        let conv = node(.conv, ["x", "w", "b"], "c", ["pads": .ints([1, 1, 1, 1])])
        let nodes = addFirst
            ? [conv, node(.add, ["x", "c"], "a"), node(.relu, ["a"], "y")]
            : [conv, node(.relu, ["c"], "r"), node(.add, ["r", "x"], "y")]
        return Graph(inputs: [decl("x", "N,4,9,9")], outputs: [decl("y", "N,4,9,9")],
                     initializers: ["w": tensor([4, 4, 3, 3]), "b": tensor([4])], nodes: nodes)
    }

    func testResidualAddBeforeActivationFuses() throws {
        let (out, n) = try check(residualGraph(addFirst: true), [ResidualAddFusion(), ConvActivationFusion()],
                                 inputs: ["x": tensor([2, 4, 9, 9])])
        XCTAssertEqual(n, 1)
        XCTAssertEqual(ops(out), ["FusedConv": 1])
        XCTAssertEqual(try out.nodes[0].int("residual_before_activation", default: -1), 1)
    }

    func testResidualAddAfterActivationFuses() throws {
        let (out, n) = try check(residualGraph(addFirst: false), [ConvActivationFusion(), ResidualAddFusion()],
                                 inputs: ["x": tensor([2, 4, 9, 9])])
        XCTAssertEqual(n, 1)
        XCTAssertEqual(ops(out), ["FusedConv": 1])
        XCTAssertEqual(try out.nodes[0].int("residual_before_activation", default: -1), 0)
    }

    func testResidualAddWithBroadcastOperandStays() throws {
        // The Add broadcasts a [N, 4, 1, 1] value: not a residual of the output's shape.
        let g = Graph(inputs: [decl("x", "1,4,5,5")], outputs: [decl("y", "1,4,5,5")],
                      initializers: ["w": tensor([4, 4, 1, 1])],
                      nodes: [node(.conv, ["x", "w"], "c"), node(.reduceMean, ["x"], "m", ["axes": .ints([2, 3])]),
                              node(.add, ["c", "m"], "y")])
        var out = g
        XCTAssertEqual(try ResidualAddFusion().apply(to: &out), 0)
    }

    func testTransposeAndReshapeChainsCancel() throws {
        let shape = { (v: [Int64]) in Tensor(shape: [v.count], ints: v) }
        let g = Graph(inputs: [decl("x", "2,3,4,5")], outputs: [decl("y", "6,20"), decl("z", "2,5,3,4")],
                      initializers: ["s1": shape([2, 60]), "s2": shape([6, -1]), "s3": shape([6, 20])],
                      nodes: [node(.transpose, ["x"], "t1", ["perm": .ints([0, 2, 3, 1])]),
                              node(.transpose, ["t1"], "t2", ["perm": .ints([0, 3, 1, 2])]),
                              node(.relu, ["t2"], "r"),
                              node(.reshape, ["r", "s1"], "a"),
                              node(.reshape, ["a", "s2"], "b"),
                              node(.reshape, ["b", "s3"], "c"),
                              node(.sigmoid, ["c"], "y"),
                              node(.transpose, ["r"], "u1", ["perm": .ints([0, 2, 3, 1])]),
                              node(.transpose, ["u1"], "z", ["perm": .ints([0, 2, 3, 1])])])
        let (out, n) = try check(g, [TransposeReshapeCancellation()], inputs: ["x": tensor([2, 3, 4, 5])])
        XCTAssertEqual(n, 4)
        XCTAssertEqual(ops(out), ["Relu": 1, "Reshape": 1, "Sigmoid": 1, "Transpose": 1])
        XCTAssertEqual(try out.nodes.first { $0.op == .transpose }!.ints("perm"), [0, 3, 1, 2])
    }

    func instanceNormGraph(divForm: Bool) -> Graph {
        let spatial: [Int64] = [2, 3]
        var nodes = [node(.conv, ["x", "w"], "c", ["pads": .ints([1, 1, 1, 1])]),
                     node(.reduceMean, ["c"], "m", ["axes": .ints(spatial.map(Int.init)), "keepdims": .int(1)]),
                     node(.sub, ["c", "m"], "d"),
                     node(.pow, ["d", "two"], "q"),
                     node(.reduceMean, ["q"], "v", ["axes": .ints([2, 3])]),
                     node(.add, ["v", "eps"], "ve"),
                     node(.sqrt, ["ve"], "s")]
        nodes += divForm ? [node(.div, ["d", "s"], "n")]
                         : [node(.div, ["one", "s"], "inv"), node(.mul, ["d", "inv"], "n")]
        nodes += [node(.mul, ["n", "gamma"], "g"), node(.add, ["g", "beta"], "y")]
        return Graph(inputs: [decl("x", "1,3,h,w")],
                     outputs: [decl("y", "1,5,h,w")],
                     initializers: ["w": tensor([5, 3, 3, 3]), "two": Tensor(shape: [], floats: [2]),
                                    "eps": Tensor(shape: [], floats: [1e-5]), "one": Tensor(shape: [], floats: [1]),
                                    "gamma": tensor([1, 5, 1, 1]), "beta": tensor([1, 5, 1, 1])],
                     nodes: nodes)
    }

    func testInstanceNormPatternFuses() throws {
        for divForm in [false, true] {
            let (out, n) = try check(instanceNormGraph(divForm: divForm), [InstanceNormFusion()],
                                     inputs: ["x": tensor([1, 3, 7, 10], in: 0...4)])
            XCTAssertEqual(n, 1)
            XCTAssertEqual(ops(out), ["Conv": 1, "InstanceNormalization": 1, "Mul": 1, "Add": 1])
        }
    }

    func testInstanceNormAffineFoldsIntoScaleAndBias() throws {
        // Constant scale and shift, and run-time ones (graph inputs, as multistyle26 computes them).
        for runtime in [false, true] {
            var g = instanceNormGraph(divForm: true)
            var inputs = ["x": tensor([1, 3, 7, 10], in: 0...4)]
            if runtime {
                for name in ["gamma", "beta"] {
                    inputs[name] = g.initializers.removeValue(forKey: name)
                    g.inputs.append(decl(name, "1,5,1,1"))
                }
            }
            let (out, n) = try check(g, [InstanceNormFusion(), InstanceNormAffineFusion()], inputs: inputs)
            XCTAssertEqual(n, 1)
            XCTAssertEqual(ops(out), ["Conv": 1, "InstanceNormalization": 1, "Reshape": 2], "runtime \(runtime)")
            // A backend that needs constant affine parameters gets the Mul/Add back, same outputs.
            let spec = try out.specialized(inputShapes: ["x": [1, 3, 7, 10]])
            let split = spec.splittingRuntimeInstanceNormAffine()
            XCTAssertEqual(split == nil, !runtime)
            if let split {
                XCTAssertEqual(ops(split)["Mul"], 1)
                let a = try Session(graph: out, backend: ReferenceBackend()).run(inputs)["y"]!
                let b = try Session(graph: split, backend: ReferenceBackend()).run(inputs)["y"]!
                TestSupport.assertClose(b, a, rtol: 1e-5, "split")
            }
        }
        // A scale that is not per channel stays a Mul.
        var g = instanceNormGraph(divForm: true)
        g.initializers["gamma"] = tensor([1, 5, 1, 10])
        g.outputs = [decl("y", "1,5,h,10")]
        let (out, _) = try check(g, [InstanceNormFusion(), InstanceNormAffineFusion()], inputs: ["x": tensor([1, 3, 7, 10], in: 0...4)])
        XCTAssertEqual(ops(out)["Mul"], 1)
    }

    func testZeroPadFoldsIntoConv() throws {
        let g = Graph(inputs: [decl("x", "N,3,8,8")], outputs: [decl("y", "N,4,10,10")],
                      initializers: ["w": tensor([4, 3, 3, 3]), "p": Tensor(shape: [8], ints: [0, 0, 1, 2, 0, 0, 2, 1])],
                      nodes: [node(.pad, ["x", "p"], "xp"), node(.conv, ["xp", "w"], "y", ["pads": .ints([1, 1, 0, 0])])])
        let (out, n) = try check(g, [PadConvFolding()], inputs: ["x": tensor([2, 3, 8, 8])])
        XCTAssertEqual(n, 1)
        XCTAssertEqual(ops(out), ["Conv": 1])
        XCTAssertEqual(try out.nodes[0].ints("pads"), [2, 3, 2, 1])
    }

    func testReflectPadStays() throws {
        let g = Graph(inputs: [decl("x", "1,3,8,8")], outputs: [decl("y", "1,4,8,8")],
                      initializers: ["w": tensor([4, 3, 3, 3]), "p": Tensor(shape: [8], ints: [0, 0, 1, 1, 0, 0, 1, 1])],
                      nodes: [node(.pad, ["x", "p"], "xp", ["mode": .string("reflect")]), node(.conv, ["xp", "w"], "y")])
        var out = g
        XCTAssertEqual(try PadConvFolding().apply(to: &out), 0)
    }

    func testUnknownPassNameListsValidNames() {
        XCTAssertThrowsError(try Optimizer(level: .extended, disabled: ["no-such-pass"])) { e in
            let err = e as? OptimizerError
            XCTAssertEqual(err?.code, .unknownPass)
            XCTAssertTrue(err?.message.contains("batchnorm-folding") ?? false, "\(e)")
        }
    }

    func testLevelsAndReport() throws {
        let g = residualGraph(addFirst: true)
        let (same, none) = try Optimizer(level: .none).optimize(g)
        XCTAssertEqual(same.nodes.count, 3)
        XCTAssertTrue(none.entries.isEmpty)
        let (basic, _) = try Optimizer(level: .basic).optimize(g)
        XCTAssertEqual(ops(basic), ["Conv": 1, "Add": 1, "Relu": 1])
        let (ext, report) = try Optimizer(level: .extended).optimize(g)
        XCTAssertEqual(ops(ext), ["FusedConv": 1])
        XCTAssertEqual(report.nodesBefore, 3)
        XCTAssertEqual(report.nodesAfter, 1)
        XCTAssertEqual(report.entries.map(\.pass), Pipelines.passes(for: .extended).map(\.name))
        let (kept, _) = try Optimizer(level: .extended, disabled: ["residual-add-fusion"]).optimize(g)
        XCTAssertEqual(ops(kept), ["Conv": 1, "Add": 1, "Relu": 1])
        XCTAssertEqual(Set(Optimizer.allPassNames).count, 12)
    }
}
