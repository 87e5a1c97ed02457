/// `Gather`: picks entries of `data` along `axis` at `indices` (any shape;
/// negative indices count from the end). The output shape is
/// `data.shape[..<axis] + indices.shape + data.shape[axis+1...]`.
public enum GatherOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, attributes: ["axis"], sinceOpset: 1,
                                        summary: "take entries along an axis at indices")

    public static func validate(_ node: Node) throws {
        _ = try node.int("axis", default: 0)
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard inputs.count == 2, let data = inputs[0], let idx = inputs[1] else {
            throw node.error(.invalidModel, "needs data and indices inputs")
        }
        let rank = data.shape.count
        let a = try node.int("axis", default: 0)
        guard rank >= 1, let axis = Shapes.axis(a, rank: rank) else {
            throw node.error(.invalidModel, "axis \(a) is out of range for data shape \(data.shape)")
        }
        guard !idx.dtype.isFloating, idx.dtype != .bool else {
            throw node.error(.invalidModel, "indices must be an integer tensor, got \(idx.dtype.rawValue)")
        }
        let n = data.shape[axis]
        if let c = idx.constant {
            for i in c.ints where i < -Int64(n) || i >= Int64(n) {
                throw node.error(.invalidModel, "index \(i) is out of range for axis \(axis) of size \(n)")
            }
        }
        let shape = Array(data.shape[..<axis]) + idx.shape + Array(data.shape[(axis + 1)...])
        return [ValueInfo(dtype: data.dtype, shape: shape)]
    }

    /// Gathers `inner`-element blocks; out-of-range indices (only possible at run time) give zeros.
    static func take<T>(_ v: [T], outer: Int, n: Int, inner: Int, indices: [Int64], zero: T) -> [T] {
        var out = [T]()
        out.reserveCapacity(outer * indices.count * inner)
        for o in 0..<outer {
            for i in indices {
                let k = i < 0 ? i + Int64(n) : i
                if k >= 0 && k < Int64(n) {
                    let start = (o * n + Int(k)) * inner
                    out.append(contentsOf: v[start..<(start + inner)])
                } else {
                    out.append(contentsOf: repeatElement(zero, count: inner))
                }
            }
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let data = inputs[0]!, idx = inputs[1]!
        let axis = Shapes.axis((try? node.int("axis", default: 0)) ?? 0, rank: data.shape.count) ?? 0
        let outer = data.shape[..<axis].reduce(1, *)
        let inner = data.shape[(axis + 1)...].reduce(1, *)
        let n = data.shape[axis]
        let shape = outputs[0].shape
        switch data.storage {
        case .float(let v):
            return [Tensor(shape: shape, floats: take(v, outer: outer, n: n, inner: inner, indices: idx.ints, zero: 0), dtype: data.dtype)]
        case .int(let v):
            return [Tensor(shape: shape, ints: take(v, outer: outer, n: n, inner: inner, indices: idx.ints, zero: 0), dtype: data.dtype)]
        }
    }
}
