/// `Greater`: the elementwise comparison a > b with NumPy broadcasting; both inputs
/// have the same element type and the output is `bool`.
public enum GreaterOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, sinceOpset: 7, summary: "y = a > b (broadcasting, bool output)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.broadcastShapes(node, inputs, resultType: .bool)
        if let a = inputs[0], let b = inputs[1], a.dtype != b.dtype {
            throw node.error(.invalidModel, "input types \(a.dtype.rawValue) and \(b.dtype.rawValue) differ")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let a = inputs[0]!, b = inputs[1]!
        let shape = outputs[0].shape
        var out = [Int64](repeating: 0, count: shape.reduce(1, *))
        let sa = Shapes.broadcastStrides(a.shape, to: shape)
        let sb = Shapes.broadcastStrides(b.shape, to: shape)
        switch (a.storage, b.storage) {
        case (.int(let va), .int(let vb)):
            Elementwise.forEachBroadcast(shape, sa, sb) { o, i, j in out[o] = va[i] > vb[j] ? 1 : 0 }
        default:
            let va = a.floats, vb = b.floats
            Elementwise.forEachBroadcast(shape, sa, sb) { o, i, j in out[o] = va[i] > vb[j] ? 1 : 0 }
        }
        return [Tensor(shape: shape, ints: out, dtype: .bool)]
    }
}
