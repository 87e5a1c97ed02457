import UnirtIR

/// Who produces and who reads each value of a graph, built once per rewrite
/// round (passes rebuild it after changing the node list).
struct GraphIndex {
    /// Index in `graph.nodes` of the node producing each value.
    var producer: [String: Int] = [:]
    /// Indices of the nodes reading each value, once per input slot.
    var consumers: [String: [Int]] = [:]
    /// Names of the graph outputs.
    var graphOutputs: Set<String>

    init(_ graph: Graph) {
        graphOutputs = Set(graph.outputs.map(\.name))
        for (i, node) in graph.nodes.enumerated() {
            for o in node.outputs where !o.isEmpty { producer[o] = i }
            for name in node.inputs where !name.isEmpty { consumers[name, default: []].append(i) }
        }
    }

    /// Number of input slots that read `value`.
    func uses(_ value: String) -> Int { consumers[value]?.count ?? 0 }

    /// Whether `value` feeds exactly one input slot and is not a graph output,
    /// so the node producing it may be merged into its reader.
    func hasSingleUse(_ value: String) -> Bool {
        uses(value) == 1 && !graphOutputs.contains(value)
    }

    /// The only node reading `value`, when `hasSingleUse(value)`.
    func soleConsumer(_ value: String) -> Int? {
        hasSingleUse(value) ? consumers[value]![0] : nil
    }
}

extension Graph {
    /// The driver of the node-local rewrite passes: offers each node that
    /// `candidate` accepts to `rewrite` once, with an index of the graph as it
    /// is at that moment; after a rewrite (`true`) the index is rebuilt and the
    /// scan starts over. Returns the number of rewrites.
    mutating func rewriteToFixedPoint(where candidate: (Node) -> Bool,
                                      _ rewrite: (_ node: Int, _ graph: inout Graph, _ index: GraphIndex) throws -> Bool) rethrows -> Int {
        var rewrites = 0
        var tried = Set<String>()
        scan: while true {
            let index = GraphIndex(self)
            for (i, node) in nodes.enumerated() where candidate(node) && !tried.contains(node.name) {
                tried.insert(node.name)
                if try rewrite(i, &self, index) {
                    rewrites += 1
                    continue scan
                }
            }
            return rewrites
        }
    }

    /// Makes every node read `old` read `new` instead.
    mutating func replaceUses(of old: String, with new: String) {
        for i in nodes.indices {
            for j in nodes[i].inputs.indices where nodes[i].inputs[j] == old { nodes[i].inputs[j] = new }
        }
    }

    /// Renames value `old` everywhere: its producer, its readers and the graph outputs.
    mutating func renameValue(_ old: String, to new: String) {
        for i in nodes.indices {
            for j in nodes[i].outputs.indices where nodes[i].outputs[j] == old { nodes[i].outputs[j] = new }
            for j in nodes[i].inputs.indices where nodes[i].inputs[j] == old { nodes[i].inputs[j] = new }
        }
        for i in outputs.indices where outputs[i].name == old { outputs[i].name = new }
    }

    /// A value name not yet used by an initializer, input or node output.
    func freshName(_ base: String) -> String {
        var taken = Set(initializers.keys)
        for d in inputs + defaultedInputs + unusedInputs { taken.insert(d.name) }
        for n in nodes { taken.formUnion(n.outputs) }
        if !taken.contains(base) { return base }
        var k = 1
        while taken.contains("\(base)_\(k)") { k += 1 }
        return "\(base)_\(k)"
    }

    /// Adds a constant under a fresh name derived from `base` and returns the name.
    mutating func addInitializer(_ base: String, _ tensor: Tensor) -> String {
        let name = freshName(base)
        initializers[name] = tensor
        return name
    }

    /// The constant value of `name` when it is an initializer that callers cannot override.
    func constant(_ name: String) -> Tensor? {
        guard !name.isEmpty, let t = initializers[name] else { return nil }
        if inputs.contains(where: { $0.name == name }) { return nil }
        return t
    }

    /// Removes the nodes at `indices` and puts `replacement` (if any) where the
    /// last of them was, which keeps the order topological as long as the
    /// replacement reads only values available there.
    mutating func replaceNodes(_ indices: [Int], with replacement: Node?) {
        replaceNodes(indices, with: replacement.map { [$0] } ?? [], at: indices.max()!)
    }

    /// Removes the nodes at `indices` and puts `replacement` where node
    /// `position` was (before it, when it stays).
    mutating func replaceNodes(_ indices: [Int], with replacement: [Node], at position: Int) {
        let set = Set(indices)
        var result: [Node] = []
        result.reserveCapacity(nodes.count + replacement.count)
        for (i, n) in nodes.enumerated() {
            if i == position { result += replacement }
            if !set.contains(i) { result.append(n) }
        }
        nodes = result
    }

    /// Drops initializers that no node, graph output or defaulted input refers to.
    mutating func pruneInitializers() {
        var used = Set(nodes.flatMap(\.inputs))
        for o in outputs { used.insert(o.name) }
        for d in defaultedInputs { used.insert(d.name) }
        initializers = initializers.filter { used.contains($0.key) }
    }
}
