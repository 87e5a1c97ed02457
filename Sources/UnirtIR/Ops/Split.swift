/// `Split`: cuts a tensor into consecutive parts along `axis`. Part sizes come
/// from the `split` attribute (before opset 13) or the constant `split` input
/// (opset 13+); opset 18 can give `num_outputs` instead (the last part may be
/// smaller); otherwise the axis is divided equally among the outputs.
public enum SplitOp: Operator {
    public static let schema = OpSchema(inputs: 1...2, outputs: 1...65536, attributes: ["axis", "split", "num_outputs"],
                                        sinceOpset: 2, summary: "cut a tensor into parts along an axis")

    public static func validate(_ node: Node) throws {
        _ = try node.int("axis", default: 0)
        if node.opset >= 13, node.attributes["split"] != nil {
            throw node.error(.invalidModel, "attribute 'split' is an input from opset 13")
        }
        if node.opset < 13, node.hasInput(1) {
            throw node.error(.invalidModel, "the 'split' input exists from opset 13; use the attribute before that")
        }
        if let n = try node.int("num_outputs") {
            guard node.opset >= 18 else {
                throw node.error(.invalidModel, "attribute 'num_outputs' exists from opset 18")
            }
            guard n >= 1 else { throw node.error(.invalidModel, "attribute num_outputs=\(n) must be positive") }
            guard n == node.outputs.count else {
                throw node.error(.invalidModel, "attribute num_outputs=\(n) does not match the \(node.outputs.count) outputs")
            }
            if node.hasInput(1) {
                throw node.error(.invalidModel, "gives both the 'split' input and attribute 'num_outputs'")
            }
        }
        if let s = try node.ints("split"), s.contains(where: { $0 < 0 }) {
            throw node.error(.invalidModel, "attribute split=\(s) has a negative size")
        }
    }

    /// Part sizes along `axis` for a dimension of size `dim`.
    static func sizes(_ node: Node, dim: Int, splitInput: ValueInfo?) throws -> [Int] {
        let parts = node.outputs.count
        var given: [Int]? = nil
        if node.opset < 13 {
            given = try node.ints("split")
        } else if node.hasInput(1), let s = splitInput {
            guard let c = s.constant else {
                throw node.error(.unsupported, "input '\(node.inputs[1])' (split) must be computable before run time")
            }
            guard !c.dtype.isFloating, c.shape.count <= 1 else {
                throw node.error(.invalidModel, "input 'split' must be a 1-D integer tensor, got \(c.typeDescription)")
            }
            if c.count > 0 { given = c.ints.map { Int($0) } }
        }
        if let given {
            guard given.count == parts else {
                throw node.error(.invalidModel, "split \(given) has \(given.count) sizes but the node has \(parts) outputs")
            }
            guard given.allSatisfy({ $0 >= 0 }), given.reduce(0, +) == dim else {
                throw node.error(.invalidModel, "split \(given) does not add up to dimension \(dim)")
            }
            return given
        }
        if node.opset >= 18, try node.int("num_outputs") != nil {
            let chunk = (dim + parts - 1) / parts
            let last = dim - chunk * (parts - 1)
            guard last >= 0 else {
                throw node.error(.invalidModel, "dimension \(dim) cannot be split into \(parts) parts of \(chunk)")
            }
            return [Int](repeating: chunk, count: parts - 1) + [last]
        }
        guard dim % parts == 0 else {
            throw node.error(.invalidModel, "dimension \(dim) does not split equally into \(parts) outputs")
        }
        return [Int](repeating: dim / parts, count: parts)
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let a = try node.int("axis", default: 0)
        guard x.shape.count >= 1, let axis = Shapes.axis(a, rank: x.shape.count) else {
            throw node.error(.invalidModel, "axis \(a) is out of range for input shape \(x.shape)")
        }
        let split = try sizes(node, dim: x.shape[axis], splitInput: inputs.count > 1 ? inputs[1] : nil)
        return split.map { s in
            var shape = x.shape
            shape[axis] = s
            return ValueInfo(dtype: x.dtype, shape: shape)
        }
    }

    static func cut<T>(_ v: [T], outer: Int, dim: Int, inner: Int, sizes: [Int]) -> [[T]] {
        var outs: [[T]] = []
        var offset = 0
        for s in sizes {
            var part = [T]()
            part.reserveCapacity(outer * s * inner)
            if s > 0 {
                for o in 0..<outer {
                    let start = (o * dim + offset) * inner
                    part.append(contentsOf: v[start..<(start + s * inner)])
                }
            }
            outs.append(part)
            offset += s
        }
        return outs
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let axis = Shapes.axis((try? node.int("axis", default: 0)) ?? 0, rank: x.shape.count) ?? 0
        let sizes = outputs.map { $0.shape[axis] }
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let dim = x.shape[axis]
        switch x.storage {
        case .float(let v):
            return zip(cut(v, outer: outer, dim: dim, inner: inner, sizes: sizes), outputs).map {
                Tensor(shape: $1.shape, floats: $0, dtype: x.dtype)
            }
        case .int(let v):
            return zip(cut(v, outer: outer, dim: dim, inner: inner, sizes: sizes), outputs).map {
                Tensor(shape: $1.shape, ints: $0, dtype: x.dtype)
            }
        }
    }
}
