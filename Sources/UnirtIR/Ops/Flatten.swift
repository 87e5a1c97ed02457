/// `Flatten`: reshapes to 2-D `[d0*…*d(axis-1), d(axis)*…*d(r-1)]`; `axis` may be
/// negative (counting from the back) and lies in `[-r, r]`.
public enum FlattenOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["axis"], sinceOpset: 1,
                                        summary: "reshape to 2-D around an axis")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let rank = x.shape.count
        let a = try node.int("axis", default: 1)
        let axis = a < 0 ? a + rank : a
        guard axis >= 0, axis <= rank else {
            throw node.error(.invalidModel, "axis \(a) is out of range [\(-rank), \(rank)] for input shape \(x.shape)")
        }
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[axis...].reduce(1, *)
        return [ValueInfo(dtype: x.dtype, shape: [outer, inner])]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [inputs[0]!.reshaped(outputs[0].shape)]
    }
}
