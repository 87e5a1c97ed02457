/// `Relu`: y = max(x, 0).
public enum ReluOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, summary: "y = max(x, 0)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        try Elementwise.sameAsInput(node, inputs)
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [Elementwise.map(inputs[0]!, float: { max($0, 0) }, int: { max($0, 0) })]
    }
}
