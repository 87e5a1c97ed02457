/// `Abs`: y = |x|, elementwise, for floating-point and integer tensors
/// (integers wrap like two's complement: |-128| of an i8 stays -128).
public enum AbsOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 6, summary: "y = |x|")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        guard out[0].dtype != .bool else { throw node.error(.invalidModel, "expects a numeric input, got bool") }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let dtype = x.dtype
        return [Elementwise.map(x, float: { Swift.abs($0) }, int: { dtype.wrap($0 < 0 ? 0 &- $0 : $0) })]
    }
}
