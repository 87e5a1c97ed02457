/// A graph whose every value has a concrete type and shape, with all values that
/// can be computed before run time folded into constants.
public struct SpecializedGraph: Sendable {
    /// The graph; `nodes` holds only the nodes that remain to run.
    public var graph: Graph
    /// Type, shape and (for constants) value of every value, by name.
    public var values: [String: ValueInfo]

    /// Input shapes this specialization was made for.
    public var inputShapes: [String: [Int]]
}

extension Graph {
    /// Binds input shapes, runs shape inference over every node in order and,
    /// when `fold` is true, evaluates nodes whose inputs are all constant.
    ///
    /// - Parameter inputShapes: concrete shapes for the graph inputs; inputs that are not
    ///   given use their declared shape, with symbolic dimensions bound to 1.
    /// - Throws: `IRError` naming the node whose shapes do not agree.
    public func specialized(inputShapes: [String: [Int]] = [:], fold: Bool = true) throws -> SpecializedGraph {
        var values: [String: ValueInfo] = [:]
        for (name, t) in initializers { values[name] = ValueInfo(t) }
        var bound: [String: [Int]] = [:]
        for decl in inputs {
            let shape: [Int]
            if let given = inputShapes[decl.name] {
                shape = given
            } else if let dims = decl.dims {
                shape = dims.map { $0.fixedValue ?? 1 }
            } else {
                throw IRError(.invalidInput, "input '\(decl.name)' has no declared shape; give one")
            }
            bound[decl.name] = shape
            values[decl.name] = ValueInfo(dtype: decl.dtype, shape: shape)
        }
        for name in inputShapes.keys where values[name] == nil || initializers[name] != nil {
            if defaultedInputs.contains(where: { $0.name == name }) {
                throw IRError(.invalidInput, "input '\(name)' has a default in the model and is folded as a constant; it cannot be overridden")
            }
            throw IRError(.invalidInput, "model has no input named '\(name)' (inputs: \(inputs.map(\.name).joined(separator: ", ")))")
        }
        var kept: [Node] = []
        var folded = initializers
        for node in nodes {
            let infos: [ValueInfo?] = try node.inputs.enumerated().map { i, name in
                if name.isEmpty { return nil }
                guard let v = values[name] else {
                    throw node.error(.invalidModel, "input \(i) '\(name)' is not produced by any earlier node")
                }
                return v
            }
            var outs = try node.op.definition.inferShapes(node, infos)
            guard outs.count >= node.outputs.filter({ !$0.isEmpty }).count else {
                throw node.error(.internal, "shape inference returned \(outs.count) outputs")
            }
            let allConstant = infos.allSatisfy { $0 == nil || $0!.constant != nil }
            if fold && allConstant {
                let results = node.op.definition.reference(node, infos.map { $0?.constant }, outs)
                for (i, t) in results.enumerated() where i < outs.count {
                    outs[i] = ValueInfo(t)
                    if i < node.outputs.count, !node.outputs[i].isEmpty { folded[node.outputs[i]] = t }
                }
            } else {
                kept.append(node)
            }
            for (i, name) in node.outputs.enumerated() where !name.isEmpty && i < outs.count {
                values[name] = outs[i]
            }
        }
        for out in outputs where values[out.name] == nil {
            throw IRError(.invalidModel, "graph output '\(out.name)' is not produced by any node")
        }

        // Keep only constants that a remaining node or a graph output reads.
        var used = Set(kept.flatMap(\.inputs))
        for o in outputs { used.insert(o.name) }
        var g = self
        g.nodes = kept
        g.initializers = folded.filter { used.contains($0.key) && bound[$0.key] == nil }
        var outputsTyped = outputs
        for i in outputsTyped.indices {
            let v = values[outputsTyped[i].name]!
            outputsTyped[i].dtype = v.dtype
            outputsTyped[i].dims = v.shape.map { .fixed($0) }
        }
        g.outputs = outputsTyped
        return SpecializedGraph(graph: g, values: values, inputShapes: bound)
    }

    /// Evaluates constant subgraphs once and drops nodes that only fed them,
    /// keeping the inputs' declared (possibly symbolic) shapes.
    ///
    /// Only nodes whose inputs are all initializers are folded, so the result
    /// does not depend on input shapes (the importer uses this for weight chains).
    public func foldingConstants() throws -> Graph {
        var consts = initializers
        let runtimeInputs = Set(inputs.map(\.name))
        var kept: [Node] = []
        for node in nodes {
            let present = node.inputs.filter { !$0.isEmpty }
            let foldable = present.allSatisfy { consts[$0] != nil && !runtimeInputs.contains($0) }
            if foldable {
                let infos = node.inputs.map { $0.isEmpty ? nil : ValueInfo(consts[$0]!) }
                let outs = try node.op.definition.inferShapes(node, infos)
                let results = node.op.definition.reference(node, infos.map { $0?.constant }, outs)
                for (i, t) in results.enumerated() where i < node.outputs.count && !node.outputs[i].isEmpty {
                    consts[node.outputs[i]] = t
                }
            } else {
                kept.append(node)
            }
        }
        var used = Set(kept.flatMap(\.inputs))
        for o in outputs { used.insert(o.name) }
        for d in defaultedInputs { used.insert(d.name) }
        var g = self
        g.nodes = kept
        g.initializers = consts.filter { used.contains($0.key) }
        return g
    }
}
