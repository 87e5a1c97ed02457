import UnirtIR

/// Removes `Identity` nodes and inference-mode `Dropout` nodes whose mask is
/// unused: readers of the output read the input instead. When the output is a
/// graph output, the input's producer is renamed to write it directly; an
/// identity between a graph input (or constant) and a graph output stays.
public struct IdentityElimination: OptimizationPass {
    public let name = "identity-elimination"
    public let summary = "remove Identity and inference Dropout, rewiring their readers"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        var rewrites = 0
        var skip = Set<String>()
        while true {
            let index = GraphIndex(graph)
            guard let i = graph.nodes.indices.first(where: { isRemovable(graph.nodes[$0], index) && !skip.contains(graph.nodes[$0].name) })
            else { return rewrites }
            let node = graph.nodes[i]
            let x = node.inputs[0], y = node.outputs[0]
            if !index.graphOutputs.contains(y) {
                graph.replaceNodes([i], with: nil)
                graph.replaceUses(of: y, with: x)
            } else if index.producer[x] != nil, !index.graphOutputs.contains(x) {
                graph.replaceNodes([i], with: nil)
                graph.renameValue(x, to: y)
            } else {
                skip.insert(node.name)
                continue
            }
            rewrites += 1
        }
    }

    private func isRemovable(_ node: Node, _ index: GraphIndex) -> Bool {
        guard node.hasInput(0), !node.outputs.isEmpty, !node.outputs[0].isEmpty else { return false }
        switch node.op {
        case .identity:
            return true
        case .dropout:
            // The mask output must not be read (it is not the input).
            let mask = node.outputs.count > 1 ? node.outputs[1] : ""
            return mask.isEmpty || (index.uses(mask) == 0 && !index.graphOutputs.contains(mask))
        default:
            return false
        }
    }
}
