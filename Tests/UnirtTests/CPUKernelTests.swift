import XCTest
import UnirtIR
import UnirtRuntime

/// Fast CPU kernels against the reference kernels (the oracle), odd shapes.
final class CPUKernelTests: XCTestCase {
    /// Runs a one-node graph whose inputs named in `constants` are initializers,
    /// on the CPU backend and on reference kernels only; asserts the CPU kernel was used.
    func runBoth(_ node: Node, inputs: [String: Tensor], constants: [String: Tensor] = [:],
                 threads: Int = 2, file: StaticString = #filePath, line: UInt = #line) throws -> (fast: Tensor, ref: Tensor) {
        let decls = node.inputs.filter { !$0.isEmpty && constants[$0] == nil }.map {
            ValueDecl(name: $0, dtype: .f32, dims: inputs[$0]!.shape.map { .fixed($0) })
        }
        let g = Graph(inputs: decls, outputs: [ValueDecl(name: node.outputs[0], dtype: .f32, dims: nil)],
                      initializers: constants, nodes: [node])
        let fastSession = Session(graph: g, backend: CPUBackend(), threads: threads)
        let plan = try fastSession.plan(for: inputs)
        XCTAssertEqual(plan.kernelChoices.first?.kernel, "cpu", "\(node.opType) should use the CPU kernel", file: file, line: line)
        let fast = try fastSession.run(inputs)[node.outputs[0]]!
        let ref = try Session(graph: g, backend: ReferenceBackend()).run(inputs)[node.outputs[0]]!
        return (fast, ref)
    }

    func testConvMatchesReference() throws {
        var rng = SeededRNG(seed: 42)
        // (C, M, H, W, k, stride, dilation, pad, group, autoPad)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, String)] = [
            (3, 5, 13, 13, 3, 1, 1, 1, 1, "NOTSET"), (4, 4, 9, 7, 3, 2, 1, 1, 4, "NOTSET"),
            (6, 6, 8, 8, 3, 1, 2, 2, 6, "NOTSET"), (8, 12, 7, 5, 1, 1, 1, 0, 1, "NOTSET"),
            (8, 4, 11, 11, 5, 2, 1, 0, 2, "SAME_UPPER"), (2, 3, 1, 127, 3, 1, 1, 0, 1, "SAME_LOWER"),
            (5, 7, 6, 6, 2, 2, 1, 0, 1, "VALID"), (16, 16, 10, 10, 3, 2, 1, 1, 16, "NOTSET"),
            (3, 4, 40, 33, 9, 1, 1, 4, 1, "NOTSET"),
        ]
        for (c, m, h, w, k, s, d, p, g, ap) in cases {
            var attrs: [String: Attribute] = ["strides": .ints([s, s]), "dilations": .ints([d, d]), "group": .int(g)]
            if ap == "NOTSET" { attrs["pads"] = .ints([p, p, p, p]) } else { attrs["auto_pad"] = .string(ap) }
            let node = Node(name: "conv", op: .conv, inputs: ["x", "w", "b"], outputs: ["y"], attributes: attrs, opset: 13)
            let x = Tensor(shape: [2, c, h, w], floats: rng.floats(2 * c * h * w))
            let wt = Tensor(shape: [m, c / g, k, k], floats: rng.floats(m * c / g * k * k))
            let b = Tensor(shape: [m], floats: rng.floats(m))
            let (fast, ref) = try runBoth(node, inputs: ["x": x], constants: ["w": wt, "b": b])
            TestSupport.assertClose(fast, ref, rtol: 1e-5, "conv c\(c) m\(m) \(h)x\(w) k\(k) s\(s) d\(d) g\(g) \(ap)")
        }
    }

    func testFusedConvEpiloguesMatchReference() throws {
        var rng = SeededRNG(seed: 5)
        let acts: [(String, [String: Attribute])] = [
            ("Relu", [:]), ("LeakyRelu", ["activation_alpha": .float(0.1)]),
            ("Clip", ["activation_alpha": .float(-0.5), "activation_beta": .float(0.5)]),
            ("Sigmoid", [:]), ("HardSigmoid", [:]), ("PRelu", [:]), ("", [:]),
        ]
        for (act, extra) in acts {
            for residualFirst in [1, 0] {
                for group in [1, 6] {
                    var attrs: [String: Attribute] = ["pads": .ints([1, 1, 1, 1]), "group": .int(group), "activation": .string(act),
                                                      "residual_before_activation": .int(residualFirst)]
                    for (k, v) in extra { attrs[k] = v }
                    let node = Node(name: "fc", op: .fusedConv, inputs: ["x", "w", "b", "z", act == "PRelu" ? "s" : ""],
                                    outputs: ["y"], attributes: attrs, opset: 13)
                    let x = Tensor(shape: [1, 6, 13, 7], floats: rng.floats(6 * 91))
                    let z = Tensor(shape: [1, 6, 13, 7], floats: rng.floats(6 * 91))
                    var consts = ["w": Tensor(shape: [6, 6 / group, 3, 3], floats: rng.floats(54 * 6 / group)),
                                  "b": Tensor(shape: [6], floats: rng.floats(6))]
                    if act == "PRelu" { consts["s"] = Tensor(shape: [6, 1, 1], floats: rng.floats(6)) }
                    let (fast, ref) = try runBoth(node, inputs: ["x": x, "z": z], constants: consts)
                    TestSupport.assertClose(fast, ref, rtol: 1e-5, "fused \(act) residualFirst \(residualFirst) group \(group)")
                }
            }
        }
    }

    func testGemmAndMatMulMatchReference() throws {
        var rng = SeededRNG(seed: 3)
        for (ta, tb, m) in [(0, 0, 13), (1, 0, 13), (0, 1, 13), (1, 1, 13), (0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 1, 1)] {
            let (k, n) = (127, 5)
            let a = Tensor(shape: ta == 1 ? [k, m] : [m, k], floats: rng.floats(m * k))
            let b = Tensor(shape: tb == 1 ? [n, k] : [k, n], floats: rng.floats(k * n))
            let c = Tensor(shape: [n], floats: rng.floats(n))
            let node = Node(name: "gemm", op: .gemm, inputs: ["a", "b", "c"], outputs: ["y"],
                            attributes: ["transA": .int(ta), "transB": .int(tb), "alpha": .float(0.5), "beta": .float(2)], opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["a": a], constants: ["b": b, "c": c])
            TestSupport.assertClose(fast, ref, rtol: 1e-5, "gemm tA\(ta) tB\(tb) m\(m)")
        }
        let a = Tensor(shape: [2, 3, 13], floats: rng.floats(78))
        let b = Tensor(shape: [13, 7], floats: rng.floats(91))
        let node = Node(name: "mm", op: .matMul, inputs: ["a", "b"], outputs: ["y"], opset: 13)
        let (fast, ref) = try runBoth(node, inputs: ["a": a], constants: ["b": b])
        TestSupport.assertClose(fast, ref, rtol: 1e-5, "matmul")
    }

    func testElementwiseMatchReference() throws {
        var rng = SeededRNG(seed: 9)
        let x = Tensor(shape: [2, 5, 3, 127], floats: rng.floats(2 * 5 * 381))
        let shapes: [[Int]] = [[2, 5, 3, 127], [1, 5, 1, 1], [5, 1, 1], [1], [127], [3, 127]]
        for op in [OpKind.add, .sub, .mul, .div] {
            for s in shapes {
                let b = Tensor(shape: s, floats: rng.floats(s.reduce(1, *)).map { $0 + 2 })
                for swap in [false, true] {
                    let node = Node(name: "e", op: op, inputs: swap ? ["b", "x"] : ["x", "b"], outputs: ["y"], opset: 13)
                    let (fast, ref) = try runBoth(node, inputs: ["x": x], constants: ["b": b])
                    TestSupport.assertClose(fast, ref, rtol: 1e-6, "\(op.rawValue) \(s) swap \(swap)")
                }
            }
        }
        for op in [OpKind.relu, .sigmoid, .leakyRelu, .hardSigmoid] {
            let node = Node(name: "u", op: op, inputs: ["x"], outputs: ["y"], opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": x])
            TestSupport.assertClose(fast, ref, rtol: 1e-6, op.rawValue)
        }
        let prelu = Node(name: "p", op: .pRelu, inputs: ["x", "s"], outputs: ["y"], opset: 13)
        let (fast, ref) = try runBoth(prelu, inputs: ["x": x], constants: ["s": Tensor(shape: [5, 1, 1], floats: rng.floats(5))])
        TestSupport.assertClose(fast, ref, rtol: 1e-6, "prelu")
        let bn = Node(name: "bn", op: .batchNormalization, inputs: ["x", "g", "b", "m", "v"], outputs: ["y"], opset: 13)
        let consts = ["g": Tensor(shape: [5], floats: rng.floats(5)), "b": Tensor(shape: [5], floats: rng.floats(5)),
                      "m": Tensor(shape: [5], floats: rng.floats(5)), "v": Tensor(shape: [5], floats: rng.floats(5).map { abs($0) + 0.1 })]
        let (f2, r2) = try runBoth(bn, inputs: ["x": x], constants: consts)
        TestSupport.assertClose(f2, r2, rtol: 1e-5, "batchnorm")
    }

    /// Split, copied on one thread (small) and on two (large), along channels and rows.
    func testSplitMatchesReference() throws {
        var rng = SeededRNG(seed: 23)
        for (shape, axis, sizes) in [([1, 16, 80, 80], 1, [1, 4, 1, 10]), ([2, 5, 13, 11], 1, [2, 3]),
                                     ([1, 3, 97, 131], 2, [40, 57]), ([2, 6, 9, 7], 3, [3, 4])] {
            let x = Tensor(shape: shape, floats: rng.floats(shape.reduce(1, *)))
            let outs = sizes.indices.map { "y\($0)" }
            let node = Node(name: "s", op: .split, inputs: ["x", "sizes"], outputs: outs, attributes: ["axis": .int(axis)], opset: 13)
            let g = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: shape.map { .fixed($0) })],
                          outputs: outs.map { ValueDecl(name: $0, dtype: .f32, dims: nil) },
                          initializers: ["sizes": Tensor(shape: [sizes.count], ints: sizes.map(Int64.init))], nodes: [node])
            let fastSession = Session(graph: g, backend: CPUBackend(), threads: 2)
            XCTAssertEqual(try fastSession.plan(for: ["x": x]).kernelChoices.first?.kernel, "cpu")
            let fast = try fastSession.run(["x": x])
            let ref = try Session(graph: g, backend: ReferenceBackend()).run(["x": x])
            for o in outs { TestSupport.assertClose(fast[o]!, ref[o]!, rtol: 0, "split \(shape) axis \(axis) \(o)") }
        }
    }

    func testPoolingResizePadNormMatchReference() throws {
        var rng = SeededRNG(seed: 17)
        let x = Tensor(shape: [2, 5, 13, 11], floats: rng.floats(2 * 5 * 143))
        let pools: [(OpKind, [String: Attribute])] = [
            (.maxPool, ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])]),
            (.maxPool, ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2]), "ceil_mode": .int(1)]),
            (.averagePool, ["kernel_shape": .ints([3, 3]), "pads": .ints([1, 0, 1, 2]), "count_include_pad": .int(0)]),
            (.averagePool, ["kernel_shape": .ints([3, 2]), "strides": .ints([2, 1]), "pads": .ints([1, 1, 1, 1]), "count_include_pad": .int(1)]),
            (.globalAveragePool, [:]),
        ]
        for (op, attrs) in pools {
            let node = Node(name: "p", op: op, inputs: ["x"], outputs: ["y"], attributes: attrs, opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": x])
            TestSupport.assertClose(fast, ref, rtol: 1e-5, "\(op.rawValue) \(attrs.keys.sorted())")
        }
        // 2x2 stride-2 max pool over rows wide enough for its vector path (8 outputs
        // per step), odd widths and heights, with and without padding.
        let wide = Tensor(shape: [1, 3, 9, 53], floats: rng.floats(3 * 9 * 53))
        for pads in [[0, 0, 0, 0], [1, 1, 1, 1], [0, 1, 1, 0]] {
            let node = Node(name: "p", op: .maxPool, inputs: ["x"], outputs: ["y"],
                            attributes: ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2]), "pads": .ints(pads)], opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": wide])
            TestSupport.assertClose(fast, ref, rtol: 0, "maxPool 2x2/2 pads \(pads)")
        }
        let resizes: [([String: Attribute], Tensor?, Tensor?)] = [
            (["mode": .string("nearest"), "coordinate_transformation_mode": .string("asymmetric"), "nearest_mode": .string("floor")],
             Tensor(shape: [4], floats: [1, 1, 2, 2]), nil),
            (["mode": .string("nearest"), "coordinate_transformation_mode": .string("half_pixel"), "nearest_mode": .string("round_prefer_floor")],
             Tensor(shape: [4], floats: [1, 1, 1.7, 0.6]), nil),
            (["mode": .string("nearest")], nil, Tensor(shape: [4], ints: [2, 5, 20, 7])),
        ]
        for (attrs, scales, sizes) in resizes {
            var consts: [String: Tensor] = [:]
            if let scales { consts["s"] = scales }
            if let sizes { consts["z"] = sizes }
            let node = Node(name: "r", op: .resize, inputs: ["x", "", scales == nil ? "" : "s", sizes == nil ? "" : "z"].reversedTrimmed,
                            outputs: ["y"], attributes: attrs, opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": x], constants: consts)
            TestSupport.assertClose(fast, ref, rtol: 0, "resize \(attrs)")
        }
        for mode in ["reflect", "edge", "constant"] {
            let pads = Tensor(shape: [8], ints: [0, 0, 3, 1, 0, 0, 2, 4])
            let node = Node(name: "pad", op: .pad, inputs: ["x", "p", "v"], outputs: ["y"], attributes: ["mode": .string(mode)], opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": x], constants: ["p": pads, "v": Tensor(shape: [], floats: [0.5])])
            TestSupport.assertClose(fast, ref, rtol: 0, "pad \(mode)")
        }
        let norm = Node(name: "in", op: .instanceNormalization, inputs: ["x", "s", "b"], outputs: ["y"], attributes: ["epsilon": .float(1e-3)], opset: 13)
        let (f1, r1) = try runBoth(norm, inputs: ["x": x], constants: ["s": Tensor(shape: [5], floats: rng.floats(5)), "b": Tensor(shape: [5], floats: rng.floats(5))])
        TestSupport.assertClose(f1, r1, rtol: 1e-5, "instance norm")
        for perm in [[0, 2, 3, 1], [0, 3, 1, 2], [1, 0, 3, 2]] {
            let node = Node(name: "t", op: .transpose, inputs: ["x"], outputs: ["y"], attributes: ["perm": .ints(perm)], opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": x])
            TestSupport.assertClose(fast, ref, rtol: 0, "transpose \(perm)")
        }
        for axis in [1, 3, -2] {
            let node = Node(name: "c", op: .concat, inputs: ["x", "k"], outputs: ["y"], attributes: ["axis": .int(axis)], opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": x], constants: ["k": x])
            TestSupport.assertClose(fast, ref, rtol: 0, "concat axis \(axis)")
        }
        for op in [OpKind.tanh, .exp, .sqrt] {
            let pos = Tensor(shape: x.shape, floats: x.floats.map { abs($0) + 0.01 })
            let node = Node(name: "u", op: op, inputs: ["x"], outputs: ["y"], opset: 13)
            let (fast, ref) = try runBoth(node, inputs: ["x": pos])
            TestSupport.assertClose(fast, ref, rtol: 4e-6, op.rawValue)
        }
    }

    func testMemoryPlannerNeverOverlapsLiveBuffers() {
        var rng = SeededRNG(seed: 1)
        var reqs: [MemoryPlanner.Request] = []
        for _ in 0..<200 {
            let a = Int.random(in: 0..<100, using: &rng), len = Int.random(in: 0..<20, using: &rng)
            reqs.append(.init(size: Int.random(in: 1..<5000, using: &rng), first: a, last: a + len))
        }
        let (off, size) = MemoryPlanner.plan(reqs)
        for i in reqs.indices {
            XCTAssertLessThanOrEqual(off[i] + reqs[i].size, size)
            XCTAssertEqual(off[i] % MemoryPlanner.alignment, 0)
            for j in reqs.indices where j > i {
                let live = reqs[i].first <= reqs[j].last && reqs[j].first <= reqs[i].last
                let mem = off[i] < off[j] + reqs[j].size && off[j] < off[i] + reqs[i].size
                XCTAssertFalse(live && mem, "buffers \(i) and \(j) overlap")
            }
        }
        XCTAssertLessThan(size, reqs.reduce(0) { $0 + $1.size + 16 })
    }
}

private extension Array where Element == String {
    /// Drops trailing empty (omitted optional) input names.
    var reversedTrimmed: [String] {
        var a = self
        while a.last == "" { a.removeLast() }
        return a
    }
}
