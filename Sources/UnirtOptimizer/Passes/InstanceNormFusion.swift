import UnirtIR

/// Recognizes instance normalization written out elementwise, as multistyle26
/// (PyTorch export) has it, and replaces it by one `InstanceNormalization` with
/// scale 1 and bias 0 (the model's per-style scale and shift that follow stay):
///
///     m = ReduceMean(x, spatial axes)   d = Sub(x, m)
///     v = ReduceMean(Pow(d, 2), spatial axes)   s = Sqrt(Add(v, eps))
///     y = Mul(d, Div(1, s))   or   y = Div(d, s)
///
/// `Mul(d, d)` in place of `Pow(d, 2)` also matches. Every intermediate must have
/// no other reader. The channel count comes from `ShapeFacts` or from the
/// filters of the Conv producing x; when neither knows it the pattern stays.
public struct InstanceNormFusion: OptimizationPass {
    public let name = "instance-norm-fusion"
    public let summary = "fuse ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div into InstanceNormalization"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        // Rewrites keep every remaining value's shape, so the facts stay valid across them.
        var facts: ShapeFacts? = nil
        return graph.rewriteToFixedPoint(where: { $0.op == .reduceMean }) { i, graph, index in
            if facts == nil { facts = ShapeFacts(graph) }
            guard let (matched, replacement) = match(i, &graph, index, facts!) else { return false }
            graph.replaceNodes(matched, with: replacement)
            return true
        }
    }

    /// The node reading `value` when it is its only reader and has operator `op`.
    private func single(_ value: String, _ op: OpKind, _ graph: Graph, _ index: GraphIndex) -> Int? {
        guard let c = index.soleConsumer(value), graph.nodes[c].op == op else { return nil }
        return c
    }

    /// The other input of a two-input node, given one of them.
    private func other(_ node: Node, than value: String) -> String? {
        guard node.inputs.count == 2 else { return nil }
        if node.inputs[0] == value { return node.inputs[1] }
        if node.inputs[1] == value { return node.inputs[0] }
        return nil
    }

    private func scalar(_ name: String, _ graph: Graph) -> Float? {
        guard let t = graph.constant(name), t.count == 1, t.dtype.isFloating else { return nil }
        return t.floats[0]
    }

    /// Whether a ReduceMean keeps dims and reduces exactly the axes 2..<rank.
    private func reducesSpatial(_ node: Node, rank: Int, _ graph: Graph) -> Bool {
        guard ((try? node.int("keepdims", default: 1)) ?? 1) == 1 else { return false }
        var axes: [Int]?
        if node.hasInput(1) {
            axes = graph.constant(node.inputs[1])?.ints.map { Int($0) }
        } else {
            axes = (try? node.ints("axes")) ?? nil
        }
        guard let axes, rank >= 3 else { return false }
        return axes.map { $0 < 0 ? $0 + rank : $0 }.sorted() == Array(2..<rank)
    }

    private func match(_ i: Int, _ graph: inout Graph, _ index: GraphIndex, _ facts: ShapeFacts) -> ([Int], Node)? {
        let mean = graph.nodes[i]
        guard mean.hasInput(0) else { return nil }
        let x = mean.inputs[0]
        // Rank and channels of x, from the probes or from a producing convolution's filters.
        var filters: [Int]? = nil
        if let p = index.producer[x], [.conv, .fusedConv].contains(graph.nodes[p].op),
           let w = graph.constant(graph.nodes[p].inputs[1]) { filters = w.shape }
        guard let rank = facts.rank(x) ?? filters?.count,
              let channels = facts.staticDim(x, 1) ?? filters?.first,
              reducesSpatial(mean, rank: rank, graph) else { return nil }

        guard let iSub = single(mean.outputs[0], .sub, graph, index),
              graph.nodes[iSub].inputs == [x, mean.outputs[0]] else { return nil }
        let d = graph.nodes[iSub].outputs[0]
        guard !index.graphOutputs.contains(d), let readers = index.consumers[d] else { return nil }

        // Square: Pow(d, 2) (d read twice in all) or Mul(d, d) (three times).
        var iSquare: Int? = nil
        for r in Set(readers) {
            let n = graph.nodes[r]
            if n.op == .pow, n.inputs.count == 2, n.inputs[0] == d, scalar(n.inputs[1], graph) == 2 { iSquare = r }
            if n.op == .mul, n.inputs == [d, d] { iSquare = r }
        }
        guard let iSquare else { return nil }
        let squareReads = graph.nodes[iSquare].op == .mul ? 2 : 1
        guard readers.count == squareReads + 1 else { return nil }

        guard let iVar = single(graph.nodes[iSquare].outputs[0], .reduceMean, graph, index),
              reducesSpatial(graph.nodes[iVar], rank: rank, graph),
              let iAdd = single(graph.nodes[iVar].outputs[0], .add, graph, index),
              let epsName = other(graph.nodes[iAdd], than: graph.nodes[iVar].outputs[0]),
              let eps = scalar(epsName, graph), eps >= 0,
              let iSqrt = single(graph.nodes[iAdd].outputs[0], .sqrt, graph, index),
              let iNext = index.soleConsumer(graph.nodes[iSqrt].outputs[0]) else { return nil }
        let s = graph.nodes[iSqrt].outputs[0]

        var matched = [i, iSub, iSquare, iVar, iAdd, iSqrt, iNext]
        let iOut: Int
        let next = graph.nodes[iNext]
        if next.op == .div, next.inputs == [d, s] {
            iOut = iNext
        } else if next.op == .div, next.inputs.count == 2, next.inputs[1] == s, scalar(next.inputs[0], graph) == 1,
                  let iMul = single(next.outputs[0], .mul, graph, index),
                  other(graph.nodes[iMul], than: next.outputs[0]) == d {
            iOut = iMul
            matched.append(iMul)
        } else {
            return nil
        }
        guard readers.contains(iOut) else { return nil }

        let dtype = graph.constant(epsName)!.dtype
        let scale = graph.addInitializer(mean.name + "_instnorm_scale",
                                         Tensor(shape: [channels], floats: [Float](repeating: 1, count: channels), dtype: dtype))
        let bias = graph.addInitializer(mean.name + "_instnorm_bias", Tensor(zeros: [channels], dtype: dtype))
        let fused = Node(name: mean.name + "_instnorm", op: .instanceNormalization,
                         inputs: [x, scale, bias], outputs: graph.nodes[iOut].outputs,
                         attributes: ["epsilon": .float(eps)], opset: mean.opset)
        return (matched, fused)
    }
}
