import UnirtIR

/// Merges convolutions that read the same input with the same geometry and
/// activations (a detector's score, box and landmark heads on one feature map)
/// into one convolution over the concatenated output channels, followed by a
/// `Split` on the channel axis that gives each original output back under its
/// name. The input is then read once, and one GEMM fills whole register blocks
/// where a 1- or 4-channel head alone would leave most of each block empty.
///
/// Takes `FusedConv` (group 1, no residual, fp32) and `FusedPointwiseDepthwise`
/// siblings whose weights, biases and PRelu slopes are constant; runs after the
/// fusions that make those nodes. The merged node carries `merged_from` (the
/// output channel count of each part) so that backends without a Split kernel
/// can cut it apart again (`Graph.splittingSiblingMerges`).
public struct SiblingConvMerge: OptimizationPass {
    public let name = "sibling-conv-merge"
    public let summary = "merge convolutions of one input with equal geometry into one, then Split by channel"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        var rewrites = 0
        while true {
            var groups: [String: [Int]] = [:]
            var order: [String] = []
            for (i, n) in graph.nodes.enumerated() {
                guard let key = Self.key(n, graph) else { continue }
                if groups[key] == nil { order.append(key) }
                groups[key, default: []].append(i)
            }
            guard let members = order.lazy.compactMap({ groups[$0] }).first(where: { $0.count >= 2 }),
                  let merged = Self.merge(members.map { graph.nodes[$0] }, &graph) else { return rewrites }
            // The merged node and its Split take the first member's place: they read only
            // the shared input and constants, and every member's reader comes later.
            graph.replaceNodes(members, with: merged, at: members.min()!)
            rewrites += 1
        }
    }

    /// Attributes that must be equal for two nodes to merge (everything but names).
    static let sharedAttributes = ["kernel_shape", "strides", "pads", "dilations", "auto_pad", "activation",
                                   "activation_alpha", "activation_beta", "pointwise_activation",
                                   "pointwise_activation_alpha", "pointwise_activation_beta", "pool"]

    /// A grouping key for a node that may merge with its siblings, or nil.
    static func key(_ n: Node, _ graph: Graph) -> String? {
        guard n.hasInput(0), n.outputs.count == 1, n.attributes["input_scale"] == nil,
              n.attributes["merged_from"] == nil else { return nil }
        switch n.op {
        case .fusedConv:
            guard ((try? n.int("group", default: 1)) ?? 1) == 1, !n.hasInput(3) else { return nil }
        case .fusedPointwiseDepthwise:
            break
        default:
            return nil
        }
        guard let (weights, biases, slopes) = n.op.perOutputChannelInputs else { return nil }
        for i in weights + biases + slopes where n.hasInput(i) {
            guard let t = graph.constant(n.inputs[i]), t.dtype == .f32 else { return nil }
        }
        var parts = [n.op.rawValue, n.inputs[0]]
        for i in weights {
            guard let w = graph.constant(n.inputs[i]), w.shape.count == 4 else { return nil }
            parts.append("\(w.shape.dropFirst())")
        }
        for a in sharedAttributes { parts.append("\(a)=\(n.attributes[a].map { "\($0)" } ?? "-")") }
        return parts.joined(separator: "|")
    }

    /// The merged node and the Split, or nil when a constant does not concatenate.
    static func merge(_ members: [Node], _ graph: inout Graph) -> [Node]? {
        let first = members[0]
        guard let (weights, biases, slopes) = first.op.perOutputChannelInputs else { return nil }
        let counts = members.map { graph.constant($0.inputs[1])!.shape[0] }
        let total = counts.reduce(0, +)
        var merged = first
        merged.name = graph.freshName(first.name + "_merged")
        var inputs = first.inputs
        while inputs.count <= (slopes.max() ?? 0) { inputs.append("") }
        // Concatenated constants by input index; a bias or slope no member has stays absent.
        var added: [Int: Tensor] = [:]
        for i in weights {
            let ts = members.map { graph.constant($0.inputs[i])! }
            added[i] = Tensor(shape: [total] + Array(ts[0].shape.dropFirst()), floats: ts.flatMap(\.floats))
        }
        for i in biases + slopes {
            guard members.contains(where: { $0.hasInput(i) }) else { continue }
            var values: [Float] = []
            for (m, n) in zip(members, counts) {
                guard m.hasInput(i) else {
                    // A missing bias is zero; a missing slope would be a different activation.
                    guard biases.contains(i) else { return nil }
                    values += [Float](repeating: 0, count: n)
                    continue
                }
                let t = graph.constant(m.inputs[i])!
                guard t.count == n || t.count == 1 else { return nil }
                values += t.count == n ? t.floats : [Float](repeating: t.floats[0], count: n)
            }
            added[i] = Tensor(shape: slopes.contains(i) ? [total, 1, 1] : [total], floats: values)
        }
        for (i, t) in added.sorted(by: { $0.key < $1.key }) { inputs[i] = graph.addInitializer(merged.name + "_in\(i)", t) }
        while inputs.count > 2, inputs.last == "" { inputs.removeLast() }
        merged.inputs = inputs
        if first.op == .fusedPointwiseDepthwise { merged.attributes["group"] = .int(total) }
        // The parts' names no longer describe the merged node.
        for a in ["pointwise_node", "pointwise_output", "pool_node", "depthwise_output"] { merged.attributes[a] = nil }
        merged.attributes["merged_from"] = .ints(counts)
        let out = graph.freshName(first.outputs[0] + "_merged")
        merged.outputs = [out]
        let sizes = graph.addInitializer(merged.name + "_split", Tensor(shape: [counts.count], ints: counts.map(Int64.init), dtype: .i64))
        let split = Node(name: graph.freshName(first.name + "_split"), op: .split, inputs: [out, sizes],
                         outputs: members.map { $0.outputs[0] }, attributes: ["axis": .int(1)], opset: max(first.opset, 13))
        return [merged, split]
    }
}
