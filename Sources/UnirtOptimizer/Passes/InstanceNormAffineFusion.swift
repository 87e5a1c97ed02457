import UnirtIR

/// Folds a per-channel scale and shift that follow an `InstanceNormalization`
/// with unit scale and zero bias into its own `scale` and `B` inputs:
///
///     InstanceNormalization(x, 1, 0) → Mul(·, g) → Add(·, b)
///     becomes InstanceNormalization(x, Reshape(g, [C]), Reshape(b, [C]))
///
/// (either step may be missing; operands in either order). g and b need not be
/// constant — multistyle26 computes its per-style scale and shift from the
/// `style_weights` input — but must be per channel: shape [1, C, 1, 1] or
/// [C, 1, 1] by `ShapeFacts` (extra leading or trailing ones allowed as long as
/// they broadcast to the channel axis of an NCHW tensor). The normalized
/// tensor is then written once instead of three times.
public struct InstanceNormAffineFusion: OptimizationPass {
    public let name = "instance-norm-affine-fusion"
    public let summary = "fold a per-channel Mul/Add after InstanceNormalization(x, 1, 0) into its scale and B"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        var facts: ShapeFacts? = nil
        return graph.rewriteToFixedPoint(where: { $0.op == .instanceNormalization }) { i, graph, index in
            let norm = graph.nodes[i]
            guard norm.inputs.count == 3, let s = graph.constant(norm.inputs[1]), let b = graph.constant(norm.inputs[2]),
                  s.shape.count == 1, s.floats.allSatisfy({ $0 == 1 }), b.floats.allSatisfy({ $0 == 0 }) else { return false }
            let channels = s.count
            if facts == nil { facts = ShapeFacts(graph) }
            guard let rank = facts!.rank(norm.outputs[0]), rank >= 3 else { return false }

            /// The other operand of `op` reading `value` alone, when it is per channel.
            func step(_ value: String, _ op: OpKind) -> (node: Int, operand: String)? {
                guard let c = index.soleConsumer(value), graph.nodes[c].op == op, graph.nodes[c].inputs.count == 2 else { return nil }
                let n = graph.nodes[c]
                let operand = n.inputs[0] == value ? n.inputs[1] : n.inputs[0]
                guard operand != value, let shape = facts!.staticShape(operand),
                      Self.isPerChannel(shape, channels: channels, rank: rank) else { return nil }
                return (c, operand)
            }
            let mul = step(norm.outputs[0], .mul)
            let add = step(mul.map { graph.nodes[$0.node].outputs[0] } ?? norm.outputs[0], .add)
            guard mul != nil || add != nil else { return false }

            var replaced = [i]
            var nodes: [Node] = []
            var fused = norm
            let shape = graph.addInitializer(norm.name + "_channels", Tensor(shape: [1], ints: [Int64(channels)], dtype: .i64))
            for (found, slot) in [(mul, 1), (add, 2)] {
                guard let found else { continue }
                let flat = graph.freshName(found.operand + "_per_channel")
                nodes.append(Node(name: graph.freshName(graph.nodes[found.node].name + "_reshape"), op: .reshape,
                                  inputs: [found.operand, shape], outputs: [flat], opset: max(norm.opset, 5)))
                fused.inputs[slot] = flat
                replaced.append(found.node)
            }
            fused.outputs = graph.nodes[replaced.max()!].outputs
            nodes.append(fused)
            // The new nodes go where the last matched node was: every operand exists by then.
            graph.replaceNodes(replaced, with: nodes, at: replaced.max()!)
            return true
        }
    }

    /// Whether `shape` broadcasts against an NCHW-like tensor of `rank` as one value per channel.
    static func isPerChannel(_ shape: [Int], channels: Int, rank: Int) -> Bool {
        guard shape.count <= rank else { return false }
        let padded = [Int](repeating: 1, count: rank - shape.count) + shape
        return padded[1] == channels && padded.enumerated().allSatisfy { $0.offset == 1 || $0.element == 1 }
    }
}
