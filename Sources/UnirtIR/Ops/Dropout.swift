/// `Dropout` in inference mode: the output is the input. The optional `mask`
/// output is all ones (`bool` from opset 10, the input's type before). Before
/// opset 12 the ratio is an attribute; from 12 `ratio` and `training_mode` are
/// optional inputs, and training mode (a dropout with random masks) is refused.
public enum DropoutOp: Operator {
    public static let schema = OpSchema(inputs: 1...3, outputs: 1...2, attributes: ["ratio", "seed"], sinceOpset: 7,
                                        summary: "inference: y = x (mask all true)")

    public static func validate(_ node: Node) throws {
        if node.opset < 12 && node.inputs.count > 1 {
            throw node.error(.invalidModel, "has \(node.inputs.count) inputs; ratio is an attribute before opset 12")
        }
        // Both only matter for training: checked for type, otherwise ignored.
        _ = try node.float("ratio", default: 0.5)
        _ = try node.int("seed")
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        if node.hasInput(2) {
            guard inputs.count > 2, let mode = inputs[2] else {
                throw node.error(.invalidModel, "input 'training_mode' is missing")
            }
            guard let value = mode.constant else {
                throw node.error(.unsupported, "input 'training_mode' must be computable before run time")
            }
            guard value.count == 1 else {
                throw node.error(.invalidModel, "input 'training_mode' must be a scalar, got shape \(value.shape)")
            }
            guard value.ints[0] == 0 else {
                throw node.error(.unsupported, "training_mode=true is not supported (inference only)")
            }
        }
        var out = [ValueInfo(dtype: x.dtype, shape: x.shape)]
        if node.outputs.count > 1 {
            out.append(ValueInfo(dtype: node.opset < 10 ? x.dtype : .bool, shape: x.shape))
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        var out = [inputs[0]!]
        if outputs.count > 1 {
            let m = outputs[1]
            out.append(m.dtype.isFloating
                ? Tensor(shape: m.shape, floats: [Float](repeating: 1, count: m.count), dtype: m.dtype)
                : Tensor(shape: m.shape, ints: [Int64](repeating: 1, count: m.count), dtype: m.dtype))
        }
        return out
    }
}
