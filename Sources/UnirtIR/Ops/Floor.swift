/// `Floor`: y = floor(x), the largest integer value not greater than x, elementwise (floating-point only).
public enum FloorOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 6, summary: "y = floor(x)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        guard out[0].dtype.isFloating else {
            throw node.error(.invalidModel, "expects a floating-point input, got \(out[0].dtype.rawValue)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [Elementwise.mapFloat(inputs[0]!) { $0.rounded(.down) }]
    }
}
