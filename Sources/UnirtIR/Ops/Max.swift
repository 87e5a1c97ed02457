/// `Max`: the elementwise maximum of 1…N inputs of one element type, with NumPy
/// broadcasting across all of them. A NaN in any input gives NaN.
public enum MaxOp: Operator {
    public static let schema = OpSchema(inputs: 1...Int.max, sinceOpset: 8, summary: "y = max(x0, x1, …) (variadic, broadcasting)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let first = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        var shape = first.shape
        for (i, input) in inputs.enumerated().dropFirst() {
            guard let v = input else { throw node.error(.invalidModel, "input \(i) is missing") }
            guard v.dtype == first.dtype else {
                throw node.error(.invalidModel, "input \(i) has type \(v.dtype.rawValue), expected \(first.dtype.rawValue)")
            }
            guard let s = Shapes.broadcast(shape, v.shape) else {
                throw node.error(.invalidModel, "input shapes do not broadcast: \(shape) and \(v.shape) (input \(i))")
            }
            shape = s
        }
        return [ValueInfo(dtype: first.dtype, shape: shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        var acc = inputs[0]!
        for input in inputs.dropFirst() {
            let b = input!
            let shape = Shapes.broadcast(acc.shape, b.shape)!
            acc = Elementwise.arithmetic(acc, b, shape: shape,
                                         float: { x, y in x.isNaN || y.isNaN ? .nan : (y > x ? y : x) },
                                         int: { x, y in y > x ? y : x })
        }
        return [acc]
    }
}
