/// `Mul`: elementwise product a · b with NumPy broadcasting; both inputs have
/// the same element type (integers wrap like two's complement).
public enum MulOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, sinceOpset: 7, summary: "y = a * b (broadcasting)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.broadcastShapes(node, inputs)
        if let a = inputs[0], let b = inputs[1], a.dtype != b.dtype {
            throw node.error(.invalidModel, "input types \(a.dtype.rawValue) and \(b.dtype.rawValue) differ")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let dtype = outputs[0].dtype
        return [Elementwise.arithmetic(inputs[0]!, inputs[1]!, shape: outputs[0].shape,
                                       float: *, int: { dtype.wrap($0 &* $1) })]
    }
}
