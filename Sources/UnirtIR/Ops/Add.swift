/// `Add`: elementwise sum with NumPy broadcasting.
public enum AddOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, summary: "y = a + b (broadcasting)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        try Elementwise.broadcastShapes(node, inputs)
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [Elementwise.arithmetic(inputs[0]!, inputs[1]!, shape: outputs[0].shape, float: +, int: &+)]
    }
}
