import Foundation

/// `Sigmoid`: y = 1 / (1 + e⁻ˣ), elementwise (floating-point only).
public enum SigmoidOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, sinceOpset: 6, summary: "y = 1 / (1 + exp(-x))")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        guard out[0].dtype.isFloating else {
            throw node.error(.invalidModel, "expects a floating-point input, got \(out[0].dtype.rawValue)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [Elementwise.mapFloat(inputs[0]!, sigmoid)]
    }

    /// σ(x), evaluated so that exp never overflows to inf / inf.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }
}
