/// `GlobalAveragePool`: mean over all spatial positions of `X` [N, C, D1…Dn],
/// giving [N, C, 1, …, 1].
public enum GlobalAveragePoolOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 1, summary: "mean over all spatial positions")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input X is missing") }
        guard x.dtype.isFloating else {
            throw node.error(.invalidModel, "GlobalAveragePool requires floating-point inputs (X is \(x.dtype))")
        }
        guard x.shape.count >= 2 else { throw node.error(.invalidModel, "input X must have rank >= 2 (N, C, …), got \(x.shape)") }
        return [ValueInfo(dtype: x.dtype, shape: [x.shape[0], x.shape[1]] + [Int](repeating: 1, count: x.shape.count - 2))]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let planes = x.shape[0] * x.shape[1]
        let size = x.shape.dropFirst(2).reduce(1, *)
        let v = x.floats
        var y = [Float](repeating: 0, count: planes)
        for p in 0..<planes where size > 0 {
            var s: Double = 0
            for i in 0..<size { s += Double(v[p * size + i]) }
            y[p] = Float(s / Double(size))
        }
        if size == 0 { y = [Float](repeating: .nan, count: planes) }
        return [Tensor(shape: outputs[0].shape, floats: y, dtype: x.dtype)]
    }
}
