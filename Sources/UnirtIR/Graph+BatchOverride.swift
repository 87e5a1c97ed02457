extension Graph {
    /// The graph with batch dimension `n` on every runtime input.
    ///
    /// Axis 0 of each input is the batch axis. The batch axis is followed through
    /// the graph; Reshape targets that hard-code the exported batch on the batch
    /// axis are rewritten to `n`. Any node that would mix the batch axis with other
    /// axes (Reshape/Flatten across it, Gather/Concat/Slice along it, a matmul with
    /// batch on the weights) makes the override fail with an error naming the node.
    public func overridingBatch(_ n: Int) throws -> Graph {
        guard n >= 1 else { throw IRError(.invalidInput, "batch must be at least 1, got \(n)") }
        var g = self
        var axisOf: [String: Int] = [:]
        for i in g.inputs.indices {
            let decl = g.inputs[i]
            guard var dims = decl.dims, !dims.isEmpty else {
                throw IRError(.invalidInput, "cannot override batch: input '\(decl.name)' has no batch axis")
            }
            if case .fixed(let b) = dims[0], b != 1, b != n {
                throw IRError(.invalidInput, "cannot override batch: input '\(decl.name)' has fixed batch \(b)")
            }
            dims[0] = .fixed(n)
            g.inputs[i].dims = dims
            axisOf[decl.name] = 0
        }

        func refuse(_ node: Node, _ why: String) -> IRError {
            IRError(.invalidInput, "cannot override batch to \(n): node '\(node.name)' (\(node.opType)) \(why)")
        }

        for k in g.nodes.indices {
            let node = g.nodes[k]
            let carried = node.inputs.enumerated().compactMap { i, name -> (Int, Int)? in
                axisOf[name].map { (i, $0) }
            }
            guard let first = carried.first else { continue }
            let axis = first.1
            guard carried.allSatisfy({ $0.1 == axis }) else {
                throw refuse(node, "combines inputs whose batch axes differ")
            }
            var outAxis: Int? = axis
            switch node.op {
            case .shape:
                outAxis = nil // the shape value follows the batch when the graph is specialized
            case .reshape:
                guard axis == 0, first.0 == 0 else { throw refuse(node, "reshapes with the batch on axis \(axis)") }
                guard let target = g.initializers[node.inputs[1]] else {
                    // A target computed from Shape() follows the batch by itself.
                    break
                }
                var t = target.ints
                guard let t0 = t.first else { throw refuse(node, "reshapes to a scalar") }
                switch t0 {
                case 0:
                    break
                case -1 where !t.dropFirst().contains(-1):
                    break
                case 1, Int64(n):
                    t[0] = Int64(n)
                    let name = "\(node.inputs[1])__batch\(n)_\(k)"
                    g.initializers[name] = Tensor(shape: target.shape, ints: t, dtype: target.dtype)
                    g.nodes[k].inputs[1] = name
                default:
                    throw refuse(node, "reshapes the batch axis into target \(t)")
                }
            case .flatten:
                let a = try node.int("axis", default: 1)
                guard axis == 0, a != 0 else { throw refuse(node, "flattens the batch axis") }
            case .transpose:
                if let perm = try node.ints("perm") {
                    guard let p = perm.firstIndex(of: axis) else { throw refuse(node, "has an invalid perm") }
                    outAxis = p
                } else {
                    throw refuse(node, "reverses all axes, moving the batch axis")
                }
            case .matMul, .gemm:
                guard first.0 == 0, carried.count == 1, axis == 0 else {
                    throw refuse(node, "multiplies with the batch on the second operand")
                }
                if node.op == .gemm, try node.int("transA", default: 0) != 0 {
                    throw refuse(node, "transposes the batch axis (transA)")
                }
            case .concat, .softmax, .gather, .split:
                let a = try node.int("axis", default: node.op == .softmax ? (node.opset < 13 ? 1 : -1) : 0)
                if a == axis || (node.op == .softmax && node.opset < 13 && a <= axis) {
                    throw refuse(node, "works along the batch axis")
                }
                if node.op == .gather && first.0 != 0 { throw refuse(node, "gathers with batch-dependent indices") }
            case .squeeze, .unsqueeze, .reduceMean, .reduceSum, .reduceMax, .reduceMin, .slice, .expand, .pad:
                // Axis-changing ops are checked when the result is specialized below;
                // refuse the ones that touch axis 0 explicitly.
                if let axes = try node.ints("axes"), axes.contains(axis) {
                    throw refuse(node, "works along the batch axis")
                }
                if node.op == .unsqueeze || node.op == .squeeze {
                    let axes = try node.ints("axes") ?? g.initializers[node.inputs.count > 1 ? node.inputs[1] : ""]?.ints.map(Int.init) ?? []
                    if node.op == .unsqueeze { outAxis = axis + axes.filter { $0 >= 0 && $0 <= axis }.count }
                    if node.op == .squeeze { outAxis = axis - axes.filter { $0 >= 0 && $0 < axis }.count }
                }
            default:
                break
            }
            if let outAxis {
                for o in node.outputs where !o.isEmpty { axisOf[o] = outAxis }
            }
        }

        // Shapes must still agree at the new batch, and every output keep batch n.
        let check: SpecializedGraph
        do {
            check = try g.specialized()
        } catch let e as IRError {
            throw IRError(.invalidInput, "cannot override batch to \(n): \(e.message)")
        }
        for out in g.outputs {
            let shape = check.values[out.name]?.shape ?? []
            if axisOf[out.name] != nil, shape.first != n, out.dims?.first?.fixedValue == 1 {
                throw IRError(.invalidInput, "cannot override batch to \(n): output '\(out.name)' would have shape \(shape)")
            }
            if let i = g.outputs.firstIndex(where: { $0.name == out.name }), var dims = g.outputs[i].dims, !dims.isEmpty,
               axisOf[out.name] == 0 {
                dims[0] = .fixed(n)
                g.outputs[i].dims = dims
            }
        }
        return g
    }
}
