/// `Unsqueeze`: inserts dimensions of size 1 at `axes`, which count in the
/// output's rank (negative from the back). The axes come from the `axes`
/// attribute before opset 13 and from the required constant `axes` input from opset 13.
public enum UnsqueezeOp: Operator {
    public static let schema = OpSchema(inputs: 1...2, attributes: ["axes"], sinceOpset: 1,
                                        summary: "insert size-1 dimensions")

    public static func validate(_ node: Node) throws {
        if node.opset >= 13 {
            if node.attributes["axes"] != nil {
                throw node.error(.invalidModel, "attribute 'axes' is an input from opset 13")
            }
            guard node.hasInput(1) else { throw node.error(.invalidModel, "input 'axes' is required from opset 13") }
        } else {
            if node.hasInput(1) {
                throw node.error(.invalidModel, "the 'axes' input exists from opset 13; use the attribute before that")
            }
            guard try node.ints("axes") != nil else { throw node.error(.invalidModel, "attribute 'axes' is required") }
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let axes: [Int]
        if node.opset < 13 {
            guard let a = try node.ints("axes") else { throw node.error(.invalidModel, "attribute 'axes' is required") }
            axes = a
        } else {
            guard node.hasInput(1), inputs.count > 1, let a = inputs[1] else {
                throw node.error(.invalidModel, "input 'axes' is required from opset 13")
            }
            guard let c = a.constant else {
                throw node.error(.unsupported, "input '\(node.inputs[1])' (axes) must be computable before run time")
            }
            guard !c.dtype.isFloating, c.shape.count <= 1 else {
                throw node.error(.invalidModel, "input 'axes' must be a 1-D integer tensor, got \(c.typeDescription)")
            }
            axes = c.ints.map { Int($0) }
        }
        let outRank = x.shape.count + axes.count
        var ones = Set<Int>()
        for a in axes {
            guard let d = Shapes.axis(a, rank: outRank), outRank > 0 else {
                throw node.error(.invalidModel, "axis \(a) is out of range for output rank \(outRank)")
            }
            guard !ones.contains(d) else { throw node.error(.invalidModel, "axes \(axes) repeat axis \(d)") }
            ones.insert(d)
        }
        var shape: [Int] = []
        var next = 0
        for d in 0..<outRank {
            if ones.contains(d) {
                shape.append(1)
            } else {
                shape.append(x.shape[next])
                next += 1
            }
        }
        return [ValueInfo(dtype: x.dtype, shape: shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [inputs[0]!.reshaped(outputs[0].shape)]
    }
}
