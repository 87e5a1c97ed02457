import UnirtIR

/// A graph specialized for one set of input shapes, with a kernel chosen for
/// every node and the point after which each activation is no longer needed.
///
/// Immutable once built; safe to share between threads.
public struct ExecutionPlan: Sendable {
    struct Step: Sendable {
        var node: Node
        var kernel: Kernel
        var outputs: [ValueInfo]
        /// Values whose last reader is this step; released after it runs.
        var releases: [String]
    }

    public let specialized: SpecializedGraph
    let steps: [Step]
    /// Largest sum of live activation bytes at any step (at f32/i64 storage sizes).
    public let peakActivationBytes: Int
    /// Kernel chosen per node: backend name or "reference".
    public let kernelChoices: [(node: String, kernel: String)]

    /// Plans `specialized` on `backend`, falling back to reference kernels.
    public init(_ specialized: SpecializedGraph, backend: any Backend) {
        self.specialized = specialized
        let graph = specialized.graph
        let values = specialized.values
        var lastUse: [String: Int] = [:]
        for (i, node) in graph.nodes.enumerated() {
            for name in node.inputs where !name.isEmpty { lastUse[name] = i }
        }
        let keep = Set(graph.outputs.map(\.name)).union(graph.inputs.map(\.name)).union(graph.initializers.keys)
        var steps: [Step] = []
        var choices: [(String, String)] = []
        var live = 0, peak = 0
        func bytes(_ name: String) -> Int {
            guard let v = values[name] else { return 0 }
            return v.count * (v.dtype.isFloating ? 4 : 8)
        }
        var releasedAt: [Int: [String]] = [:]
        for (name, i) in lastUse where !keep.contains(name) { releasedAt[i, default: []].append(name) }
        for (i, node) in graph.nodes.enumerated() {
            let infos = node.inputs.map { $0.isEmpty ? nil : values[$0] }
            let outs = node.outputs.map { values[$0] ?? ValueInfo(dtype: .f32, shape: [0]) }
            let fast = backend.kernel(for: node, inputs: infos)
            let kernel = fast ?? { n, ins, outs in n.op.definition.reference(n, ins, outs) }
            choices.append((node.name, fast == nil ? "reference" : backend.name))
            steps.append(Step(node: node, kernel: kernel, outputs: outs, releases: releasedAt[i] ?? []))
            for o in node.outputs where !o.isEmpty { live += bytes(o) }
            peak = max(peak, live)
            for r in releasedAt[i] ?? [] where values[r]?.constant == nil { live -= bytes(r) }
            // Outputs nobody reads die at once.
            for o in node.outputs where !o.isEmpty && lastUse[o] == nil && !keep.contains(o) { live -= bytes(o) }
        }
        self.steps = steps
        self.peakActivationBytes = peak
        self.kernelChoices = choices
    }

    /// Runs the plan. `inputs` must match `specialized.inputShapes` (checked by `Session`).
    public func execute(_ inputs: [String: Tensor]) -> [String: Tensor] {
        // The activation arena: live tensors by name, each released after its last reader.
        var arena: [String: Tensor] = specialized.graph.initializers
        for (k, v) in inputs { arena[k] = v }
        for step in steps {
            let ins = step.node.inputs.map { $0.isEmpty ? nil : arena[$0] }
            let outs = step.kernel(step.node, ins, step.outputs)
            for (i, name) in step.node.outputs.enumerated() where !name.isEmpty && i < outs.count {
                arena[name] = outs[i]
            }
            for name in step.releases { arena[name] = nil }
        }
        var result: [String: Tensor] = [:]
        for out in specialized.graph.outputs {
            result[out.name] = arena[out.name] ?? specialized.values[out.name]?.constant
        }
        return result
    }
}
