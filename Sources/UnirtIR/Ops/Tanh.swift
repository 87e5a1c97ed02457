import Foundation

/// `Tanh`: y = tanh(x), elementwise (floating-point only).
public enum TanhOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 6, summary: "y = tanh(x)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        guard out[0].dtype.isFloating else {
            throw node.error(.invalidModel, "expects a floating-point input, got \(out[0].dtype.rawValue)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [Elementwise.mapFloat(inputs[0]!) { Foundation.tanh($0) }]
    }
}
