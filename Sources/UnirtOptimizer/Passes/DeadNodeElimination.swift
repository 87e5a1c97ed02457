import UnirtIR

/// Removes nodes none of whose outputs reach a graph output.
public struct DeadNodeElimination: OptimizationPass {
    public let name = "dead-node-elimination"
    public let summary = "remove nodes whose outputs no graph output depends on"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        var live = Set(graph.outputs.map(\.name))
        var keep = [Bool](repeating: false, count: graph.nodes.count)
        // Nodes are topologically ordered, so one backward sweep finds every live node.
        for i in graph.nodes.indices.reversed() {
            let node = graph.nodes[i]
            guard node.outputs.contains(where: { !$0.isEmpty && live.contains($0) }) else { continue }
            keep[i] = true
            for name in node.inputs where !name.isEmpty { live.insert(name) }
        }
        let before = graph.nodes.count
        graph.nodes = graph.nodes.indices.filter { keep[$0] }.map { graph.nodes[$0] }
        return before - graph.nodes.count
    }
}
