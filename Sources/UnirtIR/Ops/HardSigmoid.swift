/// `HardSigmoid`: y = max(0, min(1, alpha · x + beta)), elementwise (floating-point only).
public enum HardSigmoidOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["alpha", "beta"], sinceOpset: 6,
                                        summary: "y = clamp(alpha * x + beta, 0, 1)")

    public static func validate(_ node: Node) throws {
        for name in ["alpha", "beta"] {
            let v = try node.float(name, default: 0)
            guard v.isFinite else { throw node.error(.invalidModel, "attribute \(name)=\(v) must be finite") }
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        guard out[0].dtype.isFloating else {
            throw node.error(.invalidModel, "expects a floating-point input, got \(out[0].dtype.rawValue)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let alpha = (try? node.float("alpha", default: 0.2)) ?? 0.2
        let beta = (try? node.float("beta", default: 0.5)) ?? 0.5
        return [Elementwise.mapFloat(inputs[0]!) { x in Swift.max(0, Swift.min(1, alpha * x + beta)) }]
    }
}
