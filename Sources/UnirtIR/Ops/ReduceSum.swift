/// Shared implementation of `ReduceSum`, `ReduceMean`, `ReduceMax` and `ReduceMin`
/// (not an operator itself). Axes are an attribute before `axesInputOpset` and an
/// optional (constant) input from it; without axes every axis is reduced unless
/// `noop_with_empty_axes` = 1, which makes the operator an identity.
public enum Reduction {
    public enum Kind: Sendable {
        case sum, mean, max, min

        /// The opset from which axes are given as input 1 instead of an attribute.
        public var axesInputOpset: Int {
            switch self {
            case .sum: return 13
            default: return 18
            }
        }
    }

    public static let attributes = ["axes", "keepdims", "noop_with_empty_axes"]

    public static func validate(_ node: Node, _ kind: Kind) throws {
        for name in ["keepdims", "noop_with_empty_axes"] {
            let v = try node.int(name, default: name == "keepdims" ? 1 : 0)
            guard v == 0 || v == 1 else { throw node.error(.invalidModel, "attribute \(name)=\(v) must be 0 or 1") }
        }
        let since = kind.axesInputOpset
        if node.opset < since {
            if node.inputs.count > 1 {
                throw node.error(.invalidModel, "the axes input requires opset \(since) (axes is an attribute before)")
            }
            _ = try node.ints("axes")
        } else if node.attributes["axes"] != nil {
            throw node.error(.invalidModel, "attribute 'axes' was replaced by input 'axes' in opset \(since)")
        }
    }

    /// The sorted reduced axes for input `rank`, or nil when the operator is an identity.
    /// `axesInput` is the value of input 1 (nil when omitted).
    public static func axes(_ node: Node, _ kind: Kind, rank: Int, axesInput: [Int64]?) throws -> [Int]? {
        var given: [Int]
        if node.opset < kind.axesInputOpset {
            given = try node.ints("axes") ?? []
        } else {
            given = (axesInput ?? []).map { Int($0) }
            let noop = try node.int("noop_with_empty_axes", default: 0) == 1
            if given.isEmpty && noop { return nil }
        }
        if given.isEmpty { return Array(0..<rank) }
        var out: [Int] = []
        for a in given {
            guard let v = Shapes.axis(a, rank: rank), rank > 0 else {
                throw node.error(.invalidModel, "axis \(a) is out of range for rank \(rank)")
            }
            guard !out.contains(v) else { throw node.error(.invalidModel, "axis \(a) is repeated in axes \(given)") }
            out.append(v)
        }
        return out.sorted()
    }

    /// Output shape; reduced axes become 1 (keepdims) or disappear.
    public static func outputShape(_ shape: [Int], axes: [Int], keepdims: Bool) -> [Int] {
        var out: [Int] = []
        for (d, n) in shape.enumerated() {
            if axes.contains(d) { if keepdims { out.append(1) } } else { out.append(n) }
        }
        return out
    }

    public static func inferShapes(_ node: Node, _ kind: Kind, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input 'data' is missing") }
        var axesValue: [Int64]? = nil
        if inputs.count > 1, let a = inputs[1], a.count > 0 {
            guard let c = a.constant else {
                throw node.error(.unsupported, "input 'axes' ('\(node.inputs[1])') must be computable before run time")
            }
            guard a.shape.count == 1 else { throw node.error(.invalidModel, "input 'axes' must be 1-D, got \(a.shape)") }
            axesValue = c.ints
        }
        guard let ax = try axes(node, kind, rank: x.shape.count, axesInput: axesValue) else {
            return [ValueInfo(dtype: x.dtype, shape: x.shape)]
        }
        let keep = try node.int("keepdims", default: 1) == 1
        return [ValueInfo(dtype: x.dtype, shape: outputShape(x.shape, axes: ax, keepdims: keep))]
    }

    public static func reference(_ node: Node, _ kind: Kind, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let axesValue: [Int64]? = inputs.count > 1 ? inputs[1]?.ints : nil
        guard let ax = (try? axes(node, kind, rank: x.shape.count, axesInput: axesValue)) ?? nil, x.shape.count > 0 else {
            return [x.reshaped(outputs[0].shape)]
        }
        let shape = x.shape
        let rank = shape.count
        var reduced = [Bool](repeating: false, count: rank)
        for a in ax { reduced[a] = true }
        let keptShape = shape.enumerated().map { reduced[$0.offset] ? 1 : $0.element }
        let outCount = keptShape.reduce(1, *)
        var accStrides = Shapes.strides(keptShape)
        for d in 0..<rank where reduced[d] { accStrides[d] = 0 }
        let groupSize = ax.reduce(1) { $0 * shape[$1] }
        let outShape = outputs[0].shape

        if case .int(let v) = x.storage {
            let initial: Int64
            switch kind {
            case .sum, .mean: initial = 0
            case .max: initial = Int64.min
            case .min: initial = Int64.max
            }
            var acc = [Int64](repeating: initial, count: outCount)
            visit(shape, accStrides) { ia, io in
                switch kind {
                case .sum, .mean: acc[io] &+= v[ia]
                case .max: acc[io] = Swift.max(acc[io], v[ia])
                case .min: acc[io] = Swift.min(acc[io], v[ia])
                }
            }
            if kind == .mean { acc = acc.map { groupSize > 0 ? $0 / Int64(groupSize) : 0 } }
            return [Tensor(shape: outShape, ints: acc, dtype: x.dtype)]
        }

        let v = x.floats
        switch kind {
        case .sum, .mean:
            var acc = [Double](repeating: 0, count: outCount)
            visit(shape, accStrides) { ia, io in acc[io] += Double(v[ia]) }
            let div = kind == .mean ? Double(groupSize) : 1
            return [Tensor(shape: outShape, floats: acc.map { Float($0 / div) }, dtype: x.dtype)]
        case .max, .min:
            let isMax = kind == .max
            var acc = [Float](repeating: isMax ? -.infinity : .infinity, count: outCount)
            visit(shape, accStrides) { ia, io in
                let e = v[ia], a = acc[io]
                if e.isNaN || (isMax ? e > a : e < a) { acc[io] = e }
            }
            return [Tensor(shape: outShape, floats: acc, dtype: x.dtype)]
        }
    }

    /// Calls `body(inputIndex, accumulatorIndex)` for every element of `shape` in row-major
    /// order; `accStrides` maps an index to its accumulator (0 on reduced axes).
    static func visit(_ shape: [Int], _ accStrides: [Int], _ body: (Int, Int) -> Void) {
        let rank = shape.count
        let total = shape.reduce(1, *)
        guard total > 0 else { return }
        let last = rank - 1
        let n = shape[last], sl = accStrides[last]
        var idx = [Int](repeating: 0, count: rank)
        var ia = 0
        while ia < total {
            var base = 0
            for d in 0..<last { base += idx[d] * accStrides[d] }
            for j in 0..<n { body(ia + j, base + j * sl) }
            ia += n
            var d = last - 1
            while d >= 0 {
                idx[d] += 1
                if idx[d] < shape[d] { break }
                idx[d] = 0
                d -= 1
            }
        }
    }
}

/// `ReduceSum`: sum over the given axes (all by default); axes is an input from opset 13.
public enum ReduceSumOp: Operator {
    public static let schema = OpSchema(inputs: 1...2, attributes: Reduction.attributes, sinceOpset: 1,
                                        summary: "sum over axes")

    public static func validate(_ node: Node) throws { try Reduction.validate(node, .sum) }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        try Reduction.inferShapes(node, .sum, inputs)
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        Reduction.reference(node, .sum, inputs, outputs)
    }
}
