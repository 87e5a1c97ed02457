/// `InstanceNormalization`: y = scale * (x - mean) / sqrt(variance + epsilon) + B, with
/// mean and (population) variance over the spatial positions of each [N, C] plane of
/// `X` [N, C, D1…Dn]; `scale` and `B` are per channel.
public enum InstanceNormalizationOp: Operator {
    public static let schema = OpSchema(inputs: 3...3, attributes: ["epsilon"], sinceOpset: 1,
                                        summary: "per-instance, per-channel normalization over spatial axes")

    public static func validate(_ node: Node) throws {
        let eps = try node.float("epsilon", default: 1e-5)
        guard eps.isFinite, eps >= 0 else { throw node.error(.invalidModel, "attribute epsilon=\(eps) must be a non-negative number") }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input X is missing") }
        guard x.dtype.isFloating else {
            throw node.error(.invalidModel, "InstanceNormalization requires floating-point inputs (X is \(x.dtype))")
        }
        guard x.shape.count >= 3 else { throw node.error(.invalidModel, "input X must have rank >= 3 (N, C, spatial…), got \(x.shape)") }
        let c = x.shape[1]
        for (i, name) in ["scale", "B"].enumerated() {
            guard let p = inputs[i + 1] else { throw node.error(.invalidModel, "input '\(name)' is missing") }
            guard p.shape == [c] else {
                throw node.error(.invalidModel, "input '\(name)' has shape \(p.shape), expected [\(c)] for X \(x.shape)")
            }
        }
        return [ValueInfo(dtype: x.dtype, shape: x.shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let eps = Double((try? node.float("epsilon", default: 1e-5)) ?? 1e-5)
        let scale = inputs[1]!.floats, bias = inputs[2]!.floats
        let n = x.shape[0], c = x.shape[1]
        let size = x.shape.dropFirst(2).reduce(1, *)
        var y = x.floats
        guard size > 0 else { return [Tensor(shape: x.shape, floats: y, dtype: x.dtype)] }
        for s in 0..<n {
            for ch in 0..<c {
                let base = (s * c + ch) * size
                var sum: Double = 0
                for i in base..<(base + size) { sum += Double(y[i]) }
                let mean = sum / Double(size)
                var sq: Double = 0
                for i in base..<(base + size) {
                    let d = Double(y[i]) - mean
                    sq += d * d
                }
                let inv = 1 / (sq / Double(size) + eps).squareRoot()
                let a = Double(scale[ch]) * inv, b = Double(bias[ch])
                for i in base..<(base + size) { y[i] = Float((Double(y[i]) - mean) * a + b) }
            }
        }
        return [Tensor(shape: x.shape, floats: y, dtype: x.dtype)]
    }
}
