/// `Identity`: the output is the input, unchanged (any element type).
public enum IdentityOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 1, summary: "y = x")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        try Elementwise.sameAsInput(node, inputs)
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [inputs[0]!]
    }
}
