import UnirtIR

/// Removes data movement that cancels out:
/// - `Transpose` of a `Transpose`: when the permutations compose to the
///   identity the pair is bypassed, otherwise it becomes one Transpose;
/// - `Reshape` of a `Reshape`: the second reads the first's input (when its
///   constant target has no 0 that would copy from the intermediate shape);
/// - a `Reshape` whose input already has the target shape (statically known).
///
/// The first node of a pair stays while something else reads it (dead-node
/// elimination removes it otherwise).
public struct TransposeReshapeCancellation: OptimizationPass {
    public let name = "transpose-reshape-cancellation"
    public let summary = "cancel inverse Transpose pairs, collapse Reshape chains, drop no-op Reshapes"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        var rewrites = 0
        var tried = Set<String>()
        var facts: ShapeFacts? = nil
        while true {
            let index = GraphIndex(graph)
            var changed = false
            for (i, node) in graph.nodes.enumerated() where !tried.contains(node.name) {
                switch node.op {
                case .transpose:
                    changed = cancelTranspose(i, &graph, index)
                case .reshape:
                    changed = collapseReshape(i, &graph, index)
                    if !changed {
                        if facts == nil { facts = ShapeFacts(graph) }
                        changed = dropNoOpReshape(i, &graph, index, facts!)
                    }
                default:
                    break
                }
                if changed {
                    rewrites += 1
                    break
                }
                tried.insert(node.name)
            }
            if !changed { return rewrites }
        }
    }

    /// Drops node `i`, whose output equals its input `x`, rewiring readers.
    private func bypass(_ i: Int, _ graph: inout Graph, _ index: GraphIndex) -> Bool {
        let node = graph.nodes[i]
        let x = node.inputs[0], y = node.outputs[0]
        // A graph output keeps its name; only bypass when it is not one.
        guard !index.graphOutputs.contains(y) else { return false }
        graph.replaceNodes([i], with: nil)
        graph.replaceUses(of: y, with: x)
        return true
    }

    private func cancelTranspose(_ i: Int, _ graph: inout Graph, _ index: GraphIndex) -> Bool {
        let second = graph.nodes[i]
        guard second.hasInput(0), let p = index.producer[second.inputs[0]] else { return false }
        let first = graph.nodes[p]
        guard first.op == .transpose, first.hasInput(0) else { return false }
        // nil: no perm attribute (reverse the axes); validation already checked its type.
        let p1: [Int]? = try? first.ints("perm"), p2: [Int]? = try? second.ints("perm")
        let composed: [Int]?
        switch (p1, p2) {
        case (nil, nil):
            composed = nil  // two reversals cancel at any rank
        case let (a?, b?) where a.count == b.count:
            // Output axis j of the pair is input axis a[b[j]].
            composed = b.map { a[$0] }
        default:
            return false
        }
        let isIdentity = composed.map { $0 == Array(0..<$0.count) } ?? true
        if isIdentity {
            guard !index.graphOutputs.contains(second.outputs[0]) else { return false }
            var n = second
            n.inputs[0] = first.inputs[0]
            graph.nodes[i] = n
            return bypass(i, &graph, index)
        }
        var n = second
        n.inputs[0] = first.inputs[0]
        n.attributes["perm"] = .ints(composed!)
        graph.nodes[i] = n
        return true
    }

    private func collapseReshape(_ i: Int, _ graph: inout Graph, _ index: GraphIndex) -> Bool {
        let second = graph.nodes[i]
        guard second.inputs.count == 2, let p = index.producer[second.inputs[0]],
              graph.nodes[p].op == .reshape, let target = graph.constant(second.inputs[1]) else { return false }
        let allowZero = ((try? second.int("allowzero", default: 0)) ?? 0) == 1
        guard allowZero || !target.ints.contains(0) else { return false }
        graph.nodes[i].inputs[0] = graph.nodes[p].inputs[0]
        return true
    }

    private func dropNoOpReshape(_ i: Int, _ graph: inout Graph, _ index: GraphIndex, _ facts: ShapeFacts) -> Bool {
        let node = graph.nodes[i]
        guard node.inputs.count == 2, let target = graph.constant(node.inputs[1]),
              let shape = facts.staticShape(node.inputs[0]),
              let resolved = try? ReshapeOp.resolve(node, input: shape, target: target.ints),
              resolved == shape else { return false }
        return bypass(i, &graph, index)
    }
}
