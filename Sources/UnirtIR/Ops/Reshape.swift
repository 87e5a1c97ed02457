/// `Reshape`: the same data with a new shape. In the target, 0 copies the input
/// dimension (unless `allowzero` = 1) and one -1 is inferred.
public enum ReshapeOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, attributes: ["allowzero"], sinceOpset: 5,
                                        summary: "same data, new shape (0 copies, -1 infers)")

    public static func validate(_ node: Node) throws {
        let z = try node.int("allowzero", default: 0)
        guard z == 0 || z == 1 else { throw node.error(.invalidModel, "allowzero must be 0 or 1") }
    }

    /// Resolves the target shape against the input shape.
    public static func resolve(_ node: Node, input: [Int], target: [Int64]) throws -> [Int] {
        let allowZero = try node.int("allowzero", default: 0) == 1
        var out = [Int](repeating: 0, count: target.count)
        var inferred: Int? = nil
        for (i, t) in target.enumerated() {
            if t == -1 {
                guard inferred == nil else { throw node.error(.invalidModel, "shape has more than one -1") }
                inferred = i
                out[i] = 1
            } else if t == 0 && !allowZero {
                guard i < input.count else { throw node.error(.invalidModel, "shape copies dimension \(i) that the input \(input) lacks") }
                out[i] = input[i]
            } else if t < 0 {
                throw node.error(.invalidModel, "shape has invalid dimension \(t)")
            } else {
                out[i] = Int(t)
            }
        }
        let total = input.reduce(1, *)
        if let k = inferred {
            let rest = out.reduce(1, *)
            guard rest > 0, total % rest == 0 else {
                throw node.error(.invalidModel, "cannot reshape \(input) to \(target)")
            }
            out[k] = total / rest
        }
        guard out.reduce(1, *) == total else {
            throw node.error(.invalidModel, "cannot reshape \(input) (\(total) elements) to \(target)")
        }
        return out
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0], let s = inputs[1] else { throw node.error(.invalidModel, "needs data and shape inputs") }
        guard let target = s.constant else {
            throw node.error(.unsupported, "shape input '\(node.inputs[1])' must be computable before run time")
        }
        return [ValueInfo(dtype: x.dtype, shape: try resolve(node, input: x.shape, target: target.ints))]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [inputs[0]!.reshaped(outputs[0].shape)]
    }
}
