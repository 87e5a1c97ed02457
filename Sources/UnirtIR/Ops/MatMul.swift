/// `MatMul`: matrix product with NumPy semantics: 1-D operands are promoted to a
/// row (first) or column (second) vector and the added dimension is removed from
/// the result; leading (batch) dimensions broadcast.
public enum MatMulOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, sinceOpset: 1, summary: "NumPy matmul (batched, broadcasting)")

    /// Shapes of one product: batch shape, M, K, N, each operand's batch shape and the output shape.
    public struct Plan: Sendable {
        public var batch: [Int], aBatch: [Int], bBatch: [Int]
        public var m: Int, k: Int, n: Int
        public var output: [Int]
    }

    public static func plan(_ node: Node, a: [Int], b: [Int]) throws -> Plan {
        guard !a.isEmpty, !b.isEmpty else {
            throw node.error(.invalidModel, "inputs must have rank >= 1, got \(a) and \(b)")
        }
        let a2 = a.count == 1 ? [1, a[0]] : a
        let b2 = b.count == 1 ? [b[0], 1] : b
        let m = a2[a2.count - 2], k = a2[a2.count - 1]
        let k2 = b2[b2.count - 2], n = b2[b2.count - 1]
        guard k == k2 else {
            throw node.error(.invalidModel, "inner dimensions of \(a) and \(b) differ (\(k) vs \(k2))")
        }
        let aBatch = Array(a2.dropLast(2)), bBatch = Array(b2.dropLast(2))
        guard let batch = Shapes.broadcast(aBatch, bBatch) else {
            throw node.error(.invalidModel, "batch dimensions of \(a) and \(b) do not broadcast")
        }
        let out = batch + (a.count == 1 ? [] : [m]) + (b.count == 1 ? [] : [n])
        return Plan(batch: batch, aBatch: aBatch, bBatch: bBatch, m: m, k: k, n: n, output: out)
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let a = inputs[0], let b = inputs[1] else { throw node.error(.invalidModel, "needs inputs A and B") }
        guard a.dtype.isFloating == b.dtype.isFloating else {
            throw node.error(.invalidModel, "input types \(a.dtype) and \(b.dtype) differ")
        }
        return [ValueInfo(dtype: a.dtype, shape: try plan(node, a: a.shape, b: b.shape).output)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let a = inputs[0]!, b = inputs[1]!
        guard let p = try? plan(node, a: a.shape, b: b.shape) else {
            return [Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype)]
        }
        let mk = p.m * p.k, kn = p.k * p.n, mn = p.m * p.n
        let sa = Shapes.broadcastStrides(p.aBatch, to: p.batch).map { $0 * mk }
        let sb = Shapes.broadcastStrides(p.bBatch, to: p.batch).map { $0 * kn }
        let total = p.batch.reduce(1, *) * mn
        if a.dtype.isFloating {
            let av = a.floats, bv = b.floats
            var c = [Float](repeating: 0, count: total)
            // Empty operands (k = 0 or an empty result) leave c at zero.
            if total > 0 && p.k > 0 {
                c.withUnsafeMutableBufferPointer { cp in
                    av.withUnsafeBufferPointer { ap in
                        bv.withUnsafeBufferPointer { bp in
                            let c0 = cp.baseAddress!, a0 = ap.baseAddress!, b0 = bp.baseAddress!
                            Elementwise.forEachBroadcast(p.batch, sa, sb) { o, ia, ib in
                                for i in 0..<p.m {
                                    let cRow = c0 + (o * mn + i * p.n)
                                    let aRow = a0 + (ia + i * p.k)
                                    for kk in 0..<p.k {
                                        let x = aRow[kk]
                                        let bRow = b0 + (ib + kk * p.n)
                                        for j in 0..<p.n { cRow[j] += x * bRow[j] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return [Tensor(shape: p.output, floats: c, dtype: a.dtype)]
        }
        let av = a.ints, bv = b.ints
        var c = [Int64](repeating: 0, count: total)
        Elementwise.forEachBroadcast(p.batch, sa, sb) { o, ia, ib in
            for i in 0..<p.m {
                for j in 0..<p.n {
                    var s: Int64 = 0
                    for kk in 0..<p.k { s &+= av[ia + i * p.k + kk] &* bv[ib + kk * p.n + j] }
                    c[o * mn + i * p.n + j] = s
                }
            }
        }
        return [Tensor(shape: p.output, ints: c, dtype: a.dtype)]
    }
}
