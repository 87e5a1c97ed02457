/// `Neg`: y = -x, elementwise, for floating-point and signed integer tensors
/// (integers wrap like two's complement).
public enum NegOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 6, summary: "y = -x")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        switch out[0].dtype {
        case .u8, .bool:
            throw node.error(.invalidModel, "expects a floating-point or signed integer input, got \(out[0].dtype.rawValue)")
        default:
            return out
        }
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let dtype = x.dtype
        return [Elementwise.map(x, float: { -$0 }, int: { dtype.wrap(0 &- $0) })]
    }
}
