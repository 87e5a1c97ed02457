/// `BatchNormalization` (inference mode): y = (x - mean) / sqrt(var + epsilon) * scale + B
/// per channel (axis 1) of `X` [N, C, …]. Training mode and the running-statistics
/// outputs are not supported.
public enum BatchNormalizationOp: Operator {
    public static let schema = OpSchema(inputs: 5...5, outputs: 1...5,
                                        attributes: ["epsilon", "momentum", "training_mode"],
                                        sinceOpset: 1, summary: "per-channel normalization with running statistics")

    public static func validate(_ node: Node) throws {
        let eps = try node.float("epsilon", default: 1e-5)
        guard eps.isFinite, eps >= 0 else { throw node.error(.invalidModel, "attribute epsilon=\(eps) must be a non-negative number") }
        _ = try node.float("momentum", default: 0.9)
        let training = try node.int("training_mode", default: 0)
        if training == 1 { throw node.error(.unsupported, "attribute training_mode=1 is not supported (inference only)") }
        guard training == 0 else { throw node.error(.invalidModel, "attribute training_mode=\(training) must be 0 or 1") }
        for (i, name) in node.outputs.enumerated().dropFirst() where !name.isEmpty {
            throw node.error(.unsupported, "output \(i) ('\(name)', training statistics) is not supported")
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input X is missing") }
        guard x.dtype.isFloating else {
            throw node.error(.invalidModel, "BatchNormalization requires floating-point inputs (X is \(x.dtype))")
        }
        guard x.shape.count >= 2 else { throw node.error(.invalidModel, "input X must have rank >= 2 (N, C, …), got \(x.shape)") }
        let c = x.shape[1]
        for (i, name) in ["scale", "B", "input_mean", "input_var"].enumerated() {
            guard let p = inputs[i + 1] else { throw node.error(.invalidModel, "input '\(name)' is missing") }
            guard p.shape == [c] else {
                throw node.error(.invalidModel, "input '\(name)' has shape \(p.shape), expected [\(c)] for X \(x.shape)")
            }
        }
        var out = [ValueInfo(dtype: x.dtype, shape: x.shape)]
        for _ in node.outputs.dropFirst() { out.append(ValueInfo(dtype: x.dtype, shape: [c])) }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let eps = (try? node.float("epsilon", default: 1e-5)) ?? 1e-5
        let scale = inputs[1]!.floats, bias = inputs[2]!.floats
        let mean = inputs[3]!.floats, variance = inputs[4]!.floats
        let n = x.shape[0], c = x.shape[1]
        let size = x.shape.dropFirst(2).reduce(1, *)
        var y = x.floats
        for ch in 0..<c {
            let a = scale[ch] / (variance[ch] + eps).squareRoot()
            let m = mean[ch], b = bias[ch]
            for s in 0..<n {
                let base = (s * c + ch) * size
                for i in base..<(base + size) { y[i] = (y[i] - m) * a + b }
            }
        }
        var result = [Tensor(shape: x.shape, floats: y, dtype: x.dtype)]
        for o in outputs.dropFirst() { result.append(Tensor(zeros: o.shape, dtype: o.dtype)) }
        return result
    }
}
