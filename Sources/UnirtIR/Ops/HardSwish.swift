/// `HardSwish`: y = x · max(0, min(1, x/6 + 1/2)), elementwise (floating-point only).
public enum HardSwishOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 14, summary: "y = x * clamp(x/6 + 0.5, 0, 1)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        guard out[0].dtype.isFloating else {
            throw node.error(.invalidModel, "expects a floating-point input, got \(out[0].dtype.rawValue)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [Elementwise.mapFloat(inputs[0]!) { x in x * Swift.max(0, Swift.min(1, x / 6 + 0.5)) }]
    }
}
