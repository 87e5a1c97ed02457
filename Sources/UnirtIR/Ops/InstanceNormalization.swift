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

extension SpecializedGraph {
    /// The graph with every `InstanceNormalization` whose scale or B is not a
    /// constant (the optimizer folds a run-time per-channel Mul/Add into them)
    /// written as `InstanceNormalization(x, 1, 0)` followed by that Mul and Add
    /// over [1, C, 1, …] views of the scale and B, for backends whose kernel
    /// takes constant affine parameters. nil when there is none.
    public func splittingRuntimeInstanceNormAffine() -> Graph? {
        func isConstant(_ name: String) -> Bool { graph.initializers[name] != nil || values[name]?.constant != nil }
        let targets = graph.nodes.filter {
            $0.op == .instanceNormalization && $0.inputs.count == 3 && !(isConstant($0.inputs[1]) && isConstant($0.inputs[2]))
        }
        guard !targets.isEmpty else { return nil }
        var g = graph
        var nodes: [Node] = []
        for n in graph.nodes {
            guard n.op == .instanceNormalization, n.inputs.count == 3, let x = values[n.inputs[0]],
                  x.shape.count >= 3, !(isConstant(n.inputs[1]) && isConstant(n.inputs[2])) else {
                nodes.append(n)
                continue
            }
            let c = x.shape[1], y = n.outputs[0]
            let view = [1, c] + [Int](repeating: 1, count: x.shape.count - 2)
            let ones = y + "/unit_scale", zeros = y + "/zero_bias", shape = y + "/channel_view"
            g.initializers[ones] = Tensor(shape: [c], floats: [Float](repeating: 1, count: c))
            g.initializers[zeros] = Tensor(shape: [c], floats: [Float](repeating: 0, count: c))
            g.initializers[shape] = Tensor(shape: [view.count], ints: view.map(Int64.init), dtype: .i64)
            var norm = n
            norm.inputs = [n.inputs[0], ones, zeros]
            norm.outputs = [y + "/normalized"]
            nodes.append(norm)
            nodes.append(Node(name: n.name + "/scale_view", op: .reshape, inputs: [n.inputs[1], shape],
                              outputs: [y + "/scale_view"], opset: max(n.opset, 5)))
            nodes.append(Node(name: n.name + "/bias_view", op: .reshape, inputs: [n.inputs[2], shape],
                              outputs: [y + "/bias_view"], opset: max(n.opset, 5)))
            nodes.append(Node(name: n.name + "/scale", op: .mul, inputs: [y + "/normalized", y + "/scale_view"],
                              outputs: [y + "/scaled"], opset: n.opset))
            nodes.append(Node(name: n.name + "/shift", op: .add, inputs: [y + "/scaled", y + "/bias_view"],
                              outputs: [y], opset: n.opset))
        }
        g.nodes = nodes
        return g
    }
}
