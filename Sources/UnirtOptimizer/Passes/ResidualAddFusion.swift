import UnirtIR

/// Fuses `Add(conv_out, z)` into the convolution's epilogue as the residual
/// input Z of a `FusedConv`, when `conv_out` has no other reader and `z` has
/// the output's shape (`ShapeFacts`; a wrong guess fails when the plan is built,
/// never silently).
///
/// A plain Conv (or FusedConv without activation) gets
/// `residual_before_activation` = 1, so a later activation fusion makes
/// Conv → Add → Relu one node; a FusedConv that already has an activation gets
/// 0 (the Add came after it). The fused node takes the Add's place.
public struct ResidualAddFusion: OptimizationPass {
    public let name = "residual-add-fusion"
    public let summary = "fuse Add(conv output, residual) into the FusedConv epilogue"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        // Values keep their shapes under these rewrites, so the facts stay valid across them.
        var facts: ShapeFacts? = nil
        return graph.rewriteToFixedPoint(where: { $0.op == .add }) { i, graph, index in
            let add = graph.nodes[i]
            guard add.inputs.count == 2, add.inputs[0] != add.inputs[1] else { return false }
            for (convSide, zSide) in [(0, 1), (1, 0)] {
                let y = add.inputs[convSide], z = add.inputs[zSide]
                guard let p = index.producer[y], index.hasSingleUse(y), graph.constant(z) == nil,
                      var f = ConvActivationFusion.asFused(graph.nodes[p]), !f.hasInput(3) else { continue }
                if facts == nil { facts = ShapeFacts(graph) }
                guard facts!.sameShape(y, z) else { continue }
                let act = (try? f.string("activation", default: "")) ?? ""
                f.attributes["residual_before_activation"] = .int(act.isEmpty ? 1 : 0)
                while f.inputs.count < 4 { f.inputs.append("") }
                f.inputs[3] = z
                f.outputs = add.outputs
                graph.replaceNodes([p, i], with: f)
                return true
            }
            return false
        }
    }
}
