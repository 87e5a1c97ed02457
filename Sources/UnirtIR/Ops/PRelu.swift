/// `PRelu`: y = x for x ≥ 0 and slope · x for x < 0, elementwise. `slope` is
/// broadcast unidirectionally (right-aligned, NumPy rules) to the shape of `x`,
/// e.g. `[C,1,1]` or `[1]` against `[N,C,H,W]`.
public enum PReluOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, sinceOpset: 7, summary: "y = x >= 0 ? x : slope * x")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard inputs.count == 2, let x = inputs[0], let slope = inputs[1] else {
            throw node.error(.invalidModel, "expects inputs X and slope")
        }
        guard x.dtype == slope.dtype else {
            throw node.error(.invalidModel, "input types \(x.dtype.rawValue) and \(slope.dtype.rawValue) differ")
        }
        guard Shapes.broadcast(x.shape, slope.shape) == x.shape else {
            throw node.error(.invalidModel, "slope shape \(slope.shape) does not broadcast unidirectionally to input shape \(x.shape)")
        }
        return [ValueInfo(dtype: x.dtype, shape: x.shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!, slope = inputs[1]!
        let dtype = outputs[0].dtype
        return [Elementwise.arithmetic(x, slope, shape: outputs[0].shape,
                                       float: { v, s in v < 0 ? s * v : v },
                                       int: { v, s in v < 0 ? dtype.wrap(s &* v) : v })]
    }
}
