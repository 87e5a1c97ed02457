/// `Squeeze`: removes dimensions of size 1. The axes come from the `axes`
/// attribute before opset 13 and from the optional constant `axes` input from
/// opset 13; without axes every size-1 dimension is removed.
public enum SqueezeOp: Operator {
    public static let schema = OpSchema(inputs: 1...2, attributes: ["axes"], sinceOpset: 1,
                                        summary: "remove size-1 dimensions")

    public static func validate(_ node: Node) throws {
        if node.opset >= 13, node.attributes["axes"] != nil {
            throw node.error(.invalidModel, "attribute 'axes' is an input from opset 13")
        }
        if node.opset < 13, node.hasInput(1) {
            throw node.error(.invalidModel, "the 'axes' input exists from opset 13; use the attribute before that")
        }
        _ = try node.ints("axes")
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let rank = x.shape.count
        var axes: [Int]? = nil
        if node.opset < 13 {
            axes = try node.ints("axes")
        } else if node.hasInput(1), let a = inputs[1] {
            guard let c = a.constant else {
                throw node.error(.unsupported, "input '\(node.inputs[1])' (axes) must be computable before run time")
            }
            guard !c.dtype.isFloating, c.shape.count <= 1 else {
                throw node.error(.invalidModel, "input 'axes' must be a 1-D integer tensor, got \(c.typeDescription)")
            }
            // An empty axes tensor squeezes every size-1 dimension, as onnxruntime does.
            if c.count > 0 { axes = c.ints.map { Int($0) } }
        }
        guard let axes else {
            return [ValueInfo(dtype: x.dtype, shape: x.shape.filter { $0 != 1 })]
        }
        var drop = Set<Int>()
        for a in axes {
            guard rank > 0, let d = Shapes.axis(a, rank: rank) else {
                throw node.error(.invalidModel, "axis \(a) is out of range for input shape \(x.shape)")
            }
            guard !drop.contains(d) else { throw node.error(.invalidModel, "axes \(axes) repeat axis \(d)") }
            guard x.shape[d] == 1 else {
                throw node.error(.invalidModel, "cannot squeeze axis \(a) of size \(x.shape[d]) in shape \(x.shape)")
            }
            drop.insert(d)
        }
        let shape = x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        return [ValueInfo(dtype: x.dtype, shape: shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [inputs[0]!.reshaped(outputs[0].shape)]
    }
}
