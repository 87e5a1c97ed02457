import UnirtIR

/// Fuses an activation that is the only reader of a `Conv` output into a
/// `FusedConv` (or into a `FusedConv` that has no activation yet, including one
/// with a residual added before the activation).
///
/// Activations: Relu, PRelu (constant slope, input 4), LeakyRelu, Clip (constant
/// bounds), Sigmoid, HardSigmoid. The fused node takes the activation's place
/// and writes its output.
public struct ConvActivationFusion: OptimizationPass {
    public let name = "conv-activation-fusion"
    public let summary = "fuse Conv + Relu/PRelu/LeakyRelu/Clip/Sigmoid/HardSigmoid into FusedConv"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        graph.rewriteToFixedPoint(where: { _ in true }) { i, graph, index in
            let act = graph.nodes[i]
            guard act.hasInput(0), let p = index.producer[act.inputs[0]], index.hasSingleUse(act.inputs[0]),
                  let fused = fuse(graph.nodes[p], act, graph) else { return false }
            graph.replaceNodes([p, i], with: fused)
            return true
        }
    }

    /// The conv node as a FusedConv with its activation not yet set, or nil.
    static func asFused(_ conv: Node) -> Node? {
        switch conv.op {
        case .conv:
            var f = conv
            f.op = .fusedConv
            f.opType = OpKind.fusedConv.rawValue
            return f
        case .fusedConv:
            return conv
        default:
            return nil
        }
    }

    private func fuse(_ conv: Node, _ act: Node, _ graph: Graph) -> Node? {
        guard var f = Self.asFused(conv), act.outputs.count == 1 else { return nil }
        if conv.op == .fusedConv {
            let existing = (try? conv.string("activation", default: "")) ?? ""
            let sumFirst = ((try? conv.int("residual_before_activation", default: 1)) ?? 1) != 0
            // A residual added after the activation would have to move behind the new one.
            guard existing.isEmpty, sumFirst || !conv.hasInput(3) else { return nil }
        }
        var alpha: Float? = nil, beta: Float? = nil
        switch act.op {
        case .relu, .sigmoid:
            break
        case .leakyRelu:
            guard let a = try? act.float("alpha", default: 0.01) else { return nil }
            alpha = a
        case .hardSigmoid:
            guard let a = try? act.float("alpha", default: 0.2), let b = try? act.float("beta", default: 0.5) else { return nil }
            alpha = a
            beta = b
        case .clip:
            var lo = -Float.greatestFiniteMagnitude, hi = Float.greatestFiniteMagnitude
            if act.opset < 11 {
                guard let l = try? act.float("min", default: lo), let h = try? act.float("max", default: hi) else { return nil }
                lo = l
                hi = h
            } else {
                if act.hasInput(1) {
                    guard let t = graph.constant(act.inputs[1]), t.count == 1 else { return nil }
                    lo = t.floats[0]
                }
                if act.hasInput(2) {
                    guard let t = graph.constant(act.inputs[2]), t.count == 1 else { return nil }
                    hi = t.floats[0]
                }
            }
            alpha = lo
            beta = hi
        case .pRelu:
            guard act.inputs.count == 2, graph.constant(act.inputs[1]) != nil else { return nil }
            while f.inputs.count < 4 { f.inputs.append("") }
            f.inputs.append(act.inputs[1])
        default:
            return nil
        }
        f.attributes["activation"] = .string(act.op.rawValue)
        if let alpha { f.attributes["activation_alpha"] = .float(alpha) }
        if let beta { f.attributes["activation_beta"] = .float(beta) }
        f.outputs = act.outputs
        return f
    }
}
