/// `Concat`: joins tensors of equal rank and type along `axis` (negative counts
/// from the back); all other dimensions must agree.
public enum ConcatOp: Operator {
    public static let schema = OpSchema(inputs: 1...65536, attributes: ["axis"], sinceOpset: 4,
                                        summary: "join tensors along an axis")

    public static func validate(_ node: Node) throws {
        guard try node.int("axis") != nil else {
            throw node.error(.invalidModel, "attribute 'axis' is required")
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let infos: [ValueInfo] = try inputs.enumerated().map { i, v in
            guard let v else { throw node.error(.invalidModel, "input \(i) is missing") }
            return v
        }
        guard let first = infos.first else { throw node.error(.invalidModel, "needs at least one input") }
        let rank = first.shape.count
        guard rank >= 1 else { throw node.error(.invalidModel, "cannot concatenate scalars") }
        let a = try node.int("axis", default: 0)
        guard let axis = Shapes.axis(a, rank: rank) else {
            throw node.error(.invalidModel, "axis \(a) is out of range for rank \(rank)")
        }
        var shape = first.shape
        shape[axis] = 0
        for (i, v) in infos.enumerated() {
            guard v.dtype == first.dtype else {
                throw node.error(.invalidModel, "input \(i) has type \(v.dtype.rawValue) but input 0 has \(first.dtype.rawValue)")
            }
            guard v.shape.count == rank else {
                throw node.error(.invalidModel, "input \(i) has shape \(v.shape) but input 0 has rank \(rank)")
            }
            for d in 0..<rank where d != axis && v.shape[d] != first.shape[d] {
                throw node.error(.invalidModel, "input \(i) has shape \(v.shape), which does not match \(first.shape) outside axis \(axis)")
            }
            shape[axis] += v.shape[axis]
        }
        return [ValueInfo(dtype: first.dtype, shape: shape)]
    }

    /// Concatenates row-major blocks: each part holds `outer` rows of `rowLengths[k]` elements.
    static func join<T>(_ parts: [[T]], outer: Int, rowLengths: [Int], total: Int) -> [T] {
        var out = [T]()
        out.reserveCapacity(total)
        for o in 0..<outer {
            for (k, p) in parts.enumerated() {
                let len = rowLengths[k]
                if len > 0 { out.append(contentsOf: p[(o * len)..<((o + 1) * len)]) }
            }
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let xs = inputs.map { $0! }
        let shape = outputs[0].shape
        let dtype = outputs[0].dtype
        let axis = Shapes.axis((try? node.int("axis", default: 0)) ?? 0, rank: shape.count) ?? 0
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        let rows = xs.map { $0.shape[axis] * inner }
        let total = shape.reduce(1, *)
        if dtype.isFloating {
            return [Tensor(shape: shape, floats: join(xs.map(\.floats), outer: outer, rowLengths: rows, total: total), dtype: dtype)]
        }
        return [Tensor(shape: shape, ints: join(xs.map(\.ints), outer: outer, rowLengths: rows, total: total), dtype: dtype)]
    }
}
