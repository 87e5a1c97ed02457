/// `ReduceMean`: mean (arithmetic average) over the given axes (all by default); axes is an input from opset 18.
public enum ReduceMeanOp: Operator {
    public static let schema = OpSchema(inputs: 1...2, attributes: Reduction.attributes, sinceOpset: 1,
                                        summary: "mean (arithmetic average) over axes")

    public static func validate(_ node: Node) throws { try Reduction.validate(node, .mean) }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        try Reduction.inferShapes(node, .mean, inputs)
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        Reduction.reference(node, .mean, inputs, outputs)
    }
}
