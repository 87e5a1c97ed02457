extension Graph {
    /// The graph with every merged convolution (`merged_from`, made by the
    /// optimizer's sibling merge) and the `Split` reading it cut back into one
    /// convolution per part, each with its slice of the weights, biases and
    /// slopes and writing that part's output directly (for backends without a
    /// Split kernel). Parts are named after the merged node (`NAME#i`).
    public func splittingSiblingMerges() -> Graph {
        guard nodes.contains(where: { $0.attributes["merged_from"] != nil }) else { return self }
        var readers: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() { for v in n.inputs where !v.isEmpty { readers[v, default: []].append(i) } }
        let outputsOfGraph = Set(outputs.map(\.name))
        var g = self
        var replaced: [Int: [Node]] = [:]
        var dropped = Set<Int>()
        for (i, n) in nodes.enumerated() {
            guard case .ints(let counts)? = n.attributes["merged_from"], n.outputs.count == 1,
                  !outputsOfGraph.contains(n.outputs[0]), let r = readers[n.outputs[0]], r.count == 1,
                  nodes[r[0]].op == .split, nodes[r[0]].outputs.count == counts.count else { continue }
            let split = nodes[r[0]]
            guard let inputs = n.op.perOutputChannelInputs else { continue }
            let (weights, vectors) = (inputs.weights, inputs.biases + inputs.slopes)
            var parts: [Node] = []
            var start = 0
            for (k, count) in counts.enumerated() {
                var part = n
                part.name = "\(n.name)#\(k)"
                part.attributes["merged_from"] = nil
                if n.op == .fusedPointwiseDepthwise { part.attributes["group"] = .int(count) }
                for idx in weights + vectors where n.hasInput(idx) {
                    guard let t = initializers[n.inputs[idx]] else { continue }
                    let inner = t.count / max(t.shape.first ?? 1, 1)
                    let slice = Array(t.floats[(start * inner)..<((start + count) * inner)])
                    let name = "\(n.inputs[idx])#\(k)"
                    g.initializers[name] = Tensor(shape: [count] + Array(t.shape.dropFirst()), floats: slice)
                    part.inputs[idx] = name
                }
                part.outputs = [split.outputs[k]]
                parts.append(part)
                start += count
            }
            replaced[i] = parts
            dropped.insert(r[0])
        }
        g.nodes = nodes.enumerated().flatMap { i, n -> [Node] in
            if dropped.contains(i) { return [] }
            return replaced[i] ?? [n]
        }
        return g
    }
}

extension OpKind {
    /// For the fused convolutions: which inputs hold one entry (or one filter, along
    /// axis 0) per output channel — weights, biases, PRelu slopes. nil for other ops.
    public var perOutputChannelInputs: (weights: [Int], biases: [Int], slopes: [Int])? {
        switch self {
        case .fusedConv: return ([1], [2], [4])
        case .fusedPointwiseDepthwise: return ([1, 3], [2, 4], [5, 6])
        default: return nil
        }
    }
}
