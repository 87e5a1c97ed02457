/// `LeakyRelu`: y = x for x ≥ 0 and alpha · x for x < 0, elementwise (floating-point only).
public enum LeakyReluOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["alpha"], sinceOpset: 6,
                                        summary: "y = x >= 0 ? x : alpha * x")

    public static func validate(_ node: Node) throws {
        let alpha = try node.float("alpha", default: 0.01)
        guard alpha.isFinite else { throw node.error(.invalidModel, "attribute alpha=\(alpha) must be finite") }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        guard out[0].dtype.isFloating else {
            throw node.error(.invalidModel, "expects a floating-point input, got \(out[0].dtype.rawValue)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let alpha = (try? node.float("alpha", default: 0.01)) ?? 0.01
        return [Elementwise.mapFloat(inputs[0]!) { x in x < 0 ? alpha * x : x }]
    }
}
