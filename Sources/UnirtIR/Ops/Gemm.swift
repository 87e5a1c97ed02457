/// `Gemm`: Y = alpha * A' * B' + beta * C, where A' and B' are A and B optionally
/// transposed (`transA`, `transB`) and the optional C is unidirectionally
/// broadcast to [M, N].
///
/// `input_scale` and `weight_levels` (set only by `unirt build --precision int8` on
/// CPU plans, as on `FusedConv`): A is quantized to u8 with zero point 128 and this
/// symmetric scale, B holds weights on their per-output-column grid; the reference
/// multiplies the fake-quantized A in float.
public enum GemmOp: Operator {
    public static let schema = OpSchema(inputs: 2...3, attributes: ["alpha", "beta", "transA", "transB", "input_scale", "weight_levels"],
                                        sinceOpset: 1, summary: "general matrix multiply: alpha*A'B' + beta*C")

    public static func validate(_ node: Node) throws {
        for name in ["transA", "transB"] {
            let v = try node.int(name, default: 0)
            guard v == 0 || v == 1 else { throw node.error(.invalidModel, "attribute \(name)=\(v) must be 0 or 1") }
        }
        _ = try node.float("alpha", default: 1)
        _ = try node.float("beta", default: 1)
        if node.attributes["input_scale"] != nil {
            let s = try node.float("input_scale", default: 0)
            guard s.isFinite, s > 0 else { throw node.error(.invalidModel, "attribute input_scale=\(s) must be a finite number > 0") }
        }
        if node.attributes["weight_levels"] != nil {
            let l = try node.int("weight_levels", default: 127)
            guard (1...127).contains(l) else { throw node.error(.invalidModel, "attribute weight_levels=\(l) must be in 1...127") }
        }
    }

    /// M, K, N after applying the transposes; checks shapes.
    public static func dims(_ node: Node, a: [Int], b: [Int], c: [Int]?) throws -> (m: Int, k: Int, n: Int) {
        guard a.count == 2, b.count == 2 else {
            throw node.error(.invalidModel, "inputs A \(a) and B \(b) must be 2-D")
        }
        let ta = try node.int("transA", default: 0) == 1, tb = try node.int("transB", default: 0) == 1
        let m = ta ? a[1] : a[0], k = ta ? a[0] : a[1]
        let k2 = tb ? b[1] : b[0], n = tb ? b[0] : b[1]
        guard k == k2 else {
            throw node.error(.invalidModel, "inner dimensions differ: A \(a) (transA \(ta ? 1 : 0)) and B \(b) (transB \(tb ? 1 : 0))")
        }
        if let c {
            let target = [m, n]
            var ok = c.count <= 2
            if ok {
                for (i, d) in c.enumerated() {
                    let t = target[i + 2 - c.count]
                    if d != t && d != 1 { ok = false }
                }
            }
            guard ok else { throw node.error(.invalidModel, "input C \(c) does not broadcast to [\(m), \(n)]") }
        }
        return (m, k, n)
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let a = inputs[0], let b = inputs[1] else { throw node.error(.invalidModel, "needs inputs A and B") }
        guard a.dtype.isFloating, b.dtype.isFloating else {
            throw node.error(.unsupported, "only floating-point Gemm is supported (A is \(a.dtype), B is \(b.dtype))")
        }
        let c = inputs.count > 2 ? inputs[2] : nil
        if let c, !c.dtype.isFloating {
            throw node.error(.unsupported, "only floating-point Gemm is supported (C is \(c.dtype))")
        }
        let d = try dims(node, a: a.shape, b: b.shape, c: c?.shape)
        return [ValueInfo(dtype: a.dtype, shape: [d.m, d.n])]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let a = inputs[0]!, b = inputs[1]!
        let c = inputs.count > 2 ? inputs[2] : nil
        guard let d = try? dims(node, a: a.shape, b: b.shape, c: c?.shape) else {
            return [Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype)]
        }
        let m = d.m, k = d.k, n = d.n
        let ta = ((try? node.int("transA", default: 0)) ?? 0) == 1
        let tb = ((try? node.int("transB", default: 0)) ?? 0) == 1
        let alpha = (try? node.float("alpha", default: 1)) ?? 1
        let beta = (try? node.float("beta", default: 1)) ?? 1
        var av = a.floats
        let bv = b.floats
        if let s = FusedConvOp.inputScale(node) { av = av.map { FusedConvOp.fakeQuantize($0, scale: s) } }
        // Element (i, kk) of A' is at i * aI + kk * aK; element (kk, j) of B' at kk * bK + j * bJ.
        let aI = ta ? 1 : k, aK = ta ? m : 1
        let bK = tb ? 1 : n, bJ = tb ? k : 1
        var y = [Float](repeating: 0, count: m * n)
        // Empty operands (k = 0 or an empty result) leave the product at zero.
        if k > 0 && m * n > 0 {
            y.withUnsafeMutableBufferPointer { yp in
                av.withUnsafeBufferPointer { ap in
                    bv.withUnsafeBufferPointer { bp in
                        let y0 = yp.baseAddress!, b0 = bp.baseAddress!
                        for i in 0..<m {
                            let yRow = y0 + i * n
                            for kk in 0..<k {
                                let x = ap[i * aI + kk * aK]
                                let bRow = b0 + kk * bK
                                if bJ == 1 {
                                    for j in 0..<n { yRow[j] += x * bRow[j] }
                                } else {
                                    for j in 0..<n { yRow[j] += x * bRow[j * bJ] }
                                }
                            }
                            for j in 0..<n { yRow[j] *= alpha }
                        }
                    }
                }
            }
        }
        if let c {
            let cv = c.floats
            let st = Shapes.broadcastStrides(c.shape, to: [m, n])
            for i in 0..<m {
                for j in 0..<n { y[i * n + j] += beta * cv[i * st[0] + j * st[1]] }
            }
        }
        return [Tensor(shape: [m, n], floats: y, dtype: a.dtype)]
    }
}
