import XCTest
import UnirtIR
import UnirtRuntime

/// Fast CPU kernels against the reference kernels (the oracle), odd shapes.
final class CPUKernelTests: XCTestCase {
    func runBoth(_ node: Node, _ inputs: [Tensor?]) throws -> (fast: Tensor, ref: Tensor) {
        try node.op.check(node)
        let infos = inputs.map { $0.map { ValueInfo(dtype: $0.dtype, shape: $0.shape) } }
        let outs = try node.op.definition.inferShapes(node, infos)
        guard let k = CPUBackend().kernel(for: node, inputs: infos) else {
            throw XCTSkip("no fast kernel for \(node.opType)")
        }
        return (k(node, inputs, outs)[0], node.op.definition.reference(node, inputs, outs)[0])
    }

    func testConvMatchesReference() throws {
        var rng = SeededRNG(seed: 42)
        // (C, M, H, W, k, stride, dilation, pad, group, autoPad)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, String)] = [
            (3, 5, 13, 13, 3, 1, 1, 1, 1, "NOTSET"), (4, 4, 9, 7, 3, 2, 1, 1, 4, "NOTSET"),
            (6, 6, 8, 8, 3, 1, 2, 2, 6, "NOTSET"), (8, 12, 7, 5, 1, 1, 1, 0, 1, "NOTSET"),
            (8, 4, 11, 11, 5, 2, 1, 0, 2, "SAME_UPPER"), (2, 3, 1, 127, 3, 1, 1, 0, 1, "SAME_LOWER"),
            (5, 7, 6, 6, 2, 2, 1, 0, 1, "VALID"), (16, 16, 10, 10, 3, 2, 1, 1, 16, "NOTSET"),
        ]
        for (c, m, h, w, k, s, d, p, g, ap) in cases {
            var attrs: [String: Attribute] = ["strides": .ints([s, s]), "dilations": .ints([d, d]), "group": .int(g)]
            if ap == "NOTSET" { attrs["pads"] = .ints([p, p, p, p]) } else { attrs["auto_pad"] = .string(ap) }
            let node = Node(name: "conv", op: .conv, inputs: ["x", "w", "b"], outputs: ["y"], attributes: attrs, opset: 13)
            let x = Tensor(shape: [2, c, h, w], floats: rng.floats(2 * c * h * w))
            let wt = Tensor(shape: [m, c / g, k, k], floats: rng.floats(m * c / g * k * k))
            let b = Tensor(shape: [m], floats: rng.floats(m))
            let (fast, ref) = try runBoth(node, [x, wt, b])
            TestSupport.assertClose(fast, ref, rtol: 1e-5, "conv c\(c) m\(m) \(h)x\(w) k\(k) s\(s) d\(d) g\(g) \(ap)")
        }
    }

    func testGemmAndMatMulMatchReference() throws {
        var rng = SeededRNG(seed: 3)
        for (ta, tb) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (m, k, n) = (13, 127, 5)
            let a = Tensor(shape: ta == 1 ? [k, m] : [m, k], floats: rng.floats(m * k))
            let b = Tensor(shape: tb == 1 ? [n, k] : [k, n], floats: rng.floats(k * n))
            let c = Tensor(shape: [n], floats: rng.floats(n))
            let node = Node(name: "gemm", op: .gemm, inputs: ["a", "b", "c"], outputs: ["y"],
                            attributes: ["transA": .int(ta), "transB": .int(tb), "alpha": .float(0.5), "beta": .float(2)], opset: 13)
            let (fast, ref) = try runBoth(node, [a, b, c])
            TestSupport.assertClose(fast, ref, rtol: 1e-5, "gemm tA\(ta) tB\(tb)")
        }
        let a = Tensor(shape: [2, 3, 13], floats: rng.floats(78))
        let b = Tensor(shape: [13, 7], floats: rng.floats(91))
        let node = Node(name: "mm", op: .matMul, inputs: ["a", "b"], outputs: ["y"], opset: 13)
        let (fast, ref) = try runBoth(node, [a, b])
        TestSupport.assertClose(fast, ref, rtol: 1e-5, "matmul")
    }
}
