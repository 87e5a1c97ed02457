/// `ConstantOfShape`: a tensor of the shape given by the constant int64 input,
/// filled with the one-element `value` tensor (default float32 0), of its type.
public enum ConstantOfShapeOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["value"], sinceOpset: 9,
                                        summary: "tensor of a given shape filled with one value")

    public static func validate(_ node: Node) throws {
        if let t = try node.tensor("value"), t.count != 1 {
            throw node.error(.invalidModel, "attribute 'value' must have one element, got \(t.typeDescription)")
        }
    }

    static func fillValue(_ node: Node) -> Tensor {
        ((try? node.tensor("value")) ?? nil) ?? Tensor(shape: [1], floats: [0])
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let s = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        guard let c = s.constant else {
            throw node.error(.unsupported, "input '\(node.inputs[0])' (shape) must be computable before run time")
        }
        guard !c.dtype.isFloating, c.shape.count <= 1 else {
            throw node.error(.invalidModel, "input 'shape' must be a 1-D integer tensor, got \(c.typeDescription)")
        }
        let dims = c.ints
        guard dims.allSatisfy({ $0 >= 0 }) else {
            throw node.error(.invalidModel, "shape \(dims) has a negative dimension")
        }
        let value = fillValue(node)
        guard value.count == 1 else {
            throw node.error(.invalidModel, "attribute 'value' must have one element, got \(value.typeDescription)")
        }
        return [ValueInfo(dtype: value.dtype, shape: dims.map { Int($0) })]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let value = fillValue(node)
        let shape = outputs[0].shape
        let n = shape.reduce(1, *)
        switch value.storage {
        case .float(let v):
            return [Tensor(shape: shape, floats: [Float](repeating: v.first ?? 0, count: n), dtype: value.dtype)]
        case .int(let v):
            return [Tensor(shape: shape, ints: [Int64](repeating: v.first ?? 0, count: n), dtype: value.dtype)]
        }
    }
}
