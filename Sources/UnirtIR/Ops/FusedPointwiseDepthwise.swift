/// `FusedPointwiseDepthwise` (unirt-internal, made by the optimizer, never read
/// from ONNX): a 1×1 convolution whose output feeds only a 3×3 depthwise
/// convolution, optionally followed by a 2×2 stride-2 max pool, as one node so
/// that the CPU kernel never writes the 1×1 output to memory.
///
/// `Y = [MaxPool 2×2/2](act(dwconv(act_p(conv1x1(X, W1) + B1), W2) + B2))`.
/// Inputs: X, W1 [M, C, 1, 1], B1 (optional), W2 [M, 1, 3, 3], B2 (optional),
/// slope1 and slope2 (optional, PRelu slopes of each stage, per channel).
/// Attributes: `strides`, `pads` of the depthwise convolution (dilation 1,
/// group = M); `pointwise_activation`, `pointwise_activation_alpha`,
/// `pointwise_activation_beta` and `activation`, `activation_alpha`,
/// `activation_beta` (as `FusedConv`); `pool` (1: 2×2 stride-2 max pool,
/// no padding, floor). The reference kernel runs the parts one after another.
public enum FusedPointwiseDepthwiseOp: Operator {
    public static let schema = OpSchema(
        inputs: 4...7,
        attributes: ["strides", "pads", "group", "pointwise_activation", "pointwise_activation_alpha",
                     "pointwise_activation_beta", "activation", "activation_alpha", "activation_beta", "pool",
                     "pointwise_node", "pointwise_output", "pool_node", "depthwise_output", "merged_from"],
        sinceOpset: 1, summary: "1x1 Conv -> 3x3 depthwise Conv (-> 2x2 MaxPool) in one node (optimizer output)")

    public static func validate(_ node: Node) throws {
        for (input, what) in [(0, "X"), (1, "W1"), (3, "W2")] where !node.hasInput(input) {
            throw node.error(.invalidModel, "input \(what) (\(input)) is missing")
        }
        let parts = parts(of: node)
        try FusedConvOp.validate(parts.pointwise)
        try FusedConvOp.validate(parts.depthwise)
        let pool = try node.int("pool", default: 0)
        guard pool == 0 || pool == 1 else { throw node.error(.invalidModel, "attribute pool=\(pool) must be 0 or 1") }
    }

    /// The nodes this one stands for, in order: a 1×1 `FusedConv`, a 3×3
    /// depthwise `FusedConv` (this node's name) and, with `pool` = 1, a
    /// `MaxPool`. The other nodes and the intermediate values get the names
    /// they had before the fusion (`pointwise_node`, `pointwise_output`,
    /// `pool_node`, `depthwise_output`), so calibration caches and layer
    /// names stay the same; without them, names derived from this node's.
    public static func parts(of node: Node) -> (pointwise: Node, depthwise: Node, pool: Node?) {
        func input(_ i: Int) -> String { node.hasInput(i) ? node.inputs[i] : "" }
        func trimmed(_ names: [String]) -> [String] {
            var n = names
            while n.count > 2, n.last == "" { n.removeLast() }
            return n
        }
        func activation(prefix: String) -> [String: Attribute] {
            var a: [String: Attribute] = [:]
            for (from, to) in [("activation", "activation"), ("activation_alpha", "activation_alpha"),
                               ("activation_beta", "activation_beta")] {
                if let v = node.attributes[prefix + from] { a[to] = v }
            }
            return a
        }
        func name(_ attribute: String, _ fallback: String) -> String {
            let v = (try? node.string(attribute, default: "")) ?? ""
            return v.isEmpty ? fallback : v
        }
        let y = node.outputs.first ?? ""
        let pooled = ((try? node.int("pool", default: 0)) ?? 0) == 1
        let mid = name("pointwise_output", y + "/pointwise")
        let dwOut = pooled ? name("depthwise_output", y + "/depthwise") : y

        var pwAttrs = activation(prefix: "pointwise_")
        pwAttrs["kernel_shape"] = .ints([1, 1])
        pwAttrs["strides"] = .ints([1, 1])
        pwAttrs["pads"] = .ints([0, 0, 0, 0])
        let pointwise = Node(name: name("pointwise_node", node.name + "/pointwise"), op: .fusedConv,
                             inputs: trimmed([input(0), input(1), input(2), "", input(5)]), outputs: [mid],
                             attributes: pwAttrs, opset: node.opset)

        var dwAttrs = activation(prefix: "")
        dwAttrs["kernel_shape"] = .ints([3, 3])
        for name in ["strides", "pads", "group"] { if let v = node.attributes[name] { dwAttrs[name] = v } }
        let depthwise = Node(name: node.name, op: .fusedConv,
                             inputs: trimmed([mid, input(3), input(4), "", input(6)]), outputs: [dwOut],
                             attributes: dwAttrs, opset: node.opset)

        let pool = pooled
            ? Node(name: name("pool_node", node.name + "/pool"), op: .maxPool, inputs: [dwOut], outputs: [y],
                   attributes: ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2]), "pads": .ints([0, 0, 0, 0])],
                   opset: node.opset)
            : nil
        return (pointwise, depthwise, pool)
    }

    /// Shapes of the pointwise output, the depthwise output and Y.
    public static func stageShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        func input(_ i: Int) -> ValueInfo? { i < inputs.count ? inputs[i] : nil }
        let parts = parts(of: node)
        guard let w1 = input(1), w1.shape.count == 4, w1.shape[2] == 1, w1.shape[3] == 1 else {
            throw node.error(.invalidModel, "W1 must be [M, C, 1, 1]")
        }
        guard let w2 = input(3), w2.shape.count == 4, w2.shape[0] == w1.shape[0], w2.shape[1] == 1,
              w2.shape[2] == 3, w2.shape[3] == 3 else {
            throw node.error(.invalidModel, "W2 must be [M, 1, 3, 3] with M = \(w1.shape[0])")
        }
        guard (try node.int("group", default: 1)) == w1.shape[0] else {
            throw node.error(.invalidModel, "attribute group must equal the channel count \(w1.shape[0])")
        }
        let mid = try FusedConvOp.inferShapes(parts.pointwise, [input(0), w1, input(2), nil, input(5)])[0]
        let dw = try FusedConvOp.inferShapes(parts.depthwise, [mid, w2, input(4), nil, input(6)])[0]
        guard let pool = parts.pool else { return [mid, dw, dw] }
        return [mid, dw, try MaxPoolOp.inferShapes(pool, [dw])[0]]
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        [try stageShapes(node, inputs)[2]]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        func input(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        let parts = parts(of: node)
        guard let shapes = try? stageShapes(node, inputs.map { $0.map(ValueInfo.init) }) else {
            return [Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype)]
        }
        let mid = FusedConvOp.reference(parts.pointwise, [input(0), input(1), input(2), nil, input(5)], [shapes[0]])[0]
        let dw = FusedConvOp.reference(parts.depthwise, [mid, input(3), input(4), nil, input(6)], [shapes[1]])[0]
        guard let pool = parts.pool else { return [dw] }
        return MaxPoolOp.reference(pool, [dw], [shapes[2]])
    }
}

extension Graph {
    /// The graph with every `FusedPointwiseDepthwise` node replaced by the
    /// nodes it stands for (for backends and passes that work per convolution).
    public func splittingPointwiseDepthwise() -> Graph {
        guard nodes.contains(where: { $0.op == .fusedPointwiseDepthwise }) else { return self }
        var g = self
        g.nodes = nodes.flatMap { n -> [Node] in
            guard n.op == .fusedPointwiseDepthwise else { return [n] }
            let p = FusedPointwiseDepthwiseOp.parts(of: n)
            return [p.pointwise, p.depthwise] + (p.pool.map { [$0] } ?? [])
        }
        return g
    }
}
