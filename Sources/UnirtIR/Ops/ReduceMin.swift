/// `ReduceMin`: minimum over the given axes (all by default); axes is an input from opset 18.
public enum ReduceMinOp: Operator {
    public static let schema = OpSchema(inputs: 1...2, attributes: Reduction.attributes, sinceOpset: 1,
                                        summary: "minimum over axes")

    public static func validate(_ node: Node) throws { try Reduction.validate(node, .min) }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        try Reduction.inferShapes(node, .min, inputs)
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        Reduction.reference(node, .min, inputs, outputs)
    }
}
