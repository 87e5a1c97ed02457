/// `AveragePool`: mean over N-D sliding windows of `X` [N, C, D1…Dn] with
/// kernel_shape, strides, pads, auto_pad, dilations (opset 19) and ceil_mode.
/// `count_include_pad` = 0 divides by the covered input elements, 1 by the
/// window size clipped to the padded input.
public enum AveragePoolOp: Operator {
    public static let schema = OpSchema(inputs: 1...1,
                                        attributes: ["auto_pad", "ceil_mode", "count_include_pad", "dilations",
                                                     "kernel_shape", "pads", "strides"],
                                        sinceOpset: 1, summary: "mean over sliding windows")

    public static func validate(_ node: Node) throws {
        try Pooling.validate(node)
        _ = try Pooling.flag(node, "count_include_pad")
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input X is missing") }
        guard x.dtype.isFloating else {
            throw node.error(.invalidModel, "AveragePool requires floating-point inputs (X is \(x.dtype))")
        }
        let win = try Pooling.geometry(node, x: x.shape)
        return [ValueInfo(dtype: x.dtype, shape: [x.shape[0], x.shape[1]] + win.output)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        guard let win = try? Pooling.geometry(node, x: x.shape) else {
            return [Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype)]
        }
        let include = (try? Pooling.flag(node, "count_include_pad")) ?? false
        let y = Pooling.run(x.floats, shape: x.shape, window: win, kind: .average(countIncludePad: include))
        return [Tensor(shape: outputs[0].shape, floats: y, dtype: x.dtype)]
    }
}
