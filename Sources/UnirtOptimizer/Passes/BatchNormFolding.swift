import UnirtIR

/// Folds an inference `BatchNormalization` into the `Conv`, `FusedConv` (without
/// activation or residual) or `Gemm` that feeds it, when that output has no
/// other reader and the weights and statistics are constants.
///
/// With a = scale / sqrt(var + eps): conv filters m are scaled by a[m] and the
/// bias becomes (B - mean)·a + bias. For Gemm (Y = alpha·A·B' + beta·C, the BN
/// over its N columns, as SFace ends with) column j of B' is scaled by a[j]
/// (row j of B when transB = 1) and C becomes a·(beta·C - mean) + bias with beta = 1;
/// C must be constant and constant along rows.
public struct BatchNormFolding: OptimizationPass {
    public let name = "batchnorm-folding"
    public let summary = "fold BatchNormalization into the preceding Conv, FusedConv or Gemm weights"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        graph.rewriteToFixedPoint(where: { $0.op == .batchNormalization }) { i, graph, index in
            guard let (p, replacement) = fold(graph.nodes[i], graph: &graph, index) else { return false }
            graph.replaceNodes([p, i], with: replacement)
            return true
        }
    }

    /// Per-channel multiplier a and offset (bias - mean·a), or nil when not constant.
    private func affine(_ bn: Node, _ graph: Graph) -> (a: [Float], b: [Float])? {
        guard bn.inputs.count == 5, bn.outputs.dropFirst().allSatisfy(\.isEmpty),
              let scale = graph.constant(bn.inputs[1]), let bias = graph.constant(bn.inputs[2]),
              let mean = graph.constant(bn.inputs[3]), let variance = graph.constant(bn.inputs[4]),
              scale.dtype.isFloating else { return nil }
        let c = scale.count
        guard c > 0, bias.count == c, mean.count == c, variance.count == c,
              let eps = try? bn.float("epsilon", default: 1e-5) else { return nil }
        let s = scale.floats, bv = bias.floats, m = mean.floats, v = variance.floats
        var a = [Float](repeating: 0, count: c), b = a
        for ch in 0..<c {
            a[ch] = s[ch] / (v[ch] + eps).squareRoot()
            b[ch] = bv[ch] - m[ch] * a[ch]
        }
        return (a, b)
    }

    private func fold(_ bn: Node, graph: inout Graph, _ index: GraphIndex) -> (Int, Node)? {
        guard bn.hasInput(0), let p = index.producer[bn.inputs[0]], index.hasSingleUse(bn.inputs[0]),
              let (a, b) = affine(bn, graph) else { return nil }
        var node = graph.nodes[p]
        switch node.op {
        case .conv, .fusedConv:
            if node.op == .fusedConv {
                let act = (try? node.string("activation", default: "")) ?? ""
                guard act.isEmpty, !node.hasInput(3) else { return nil }
            }
            guard let w = graph.constant(node.inputs[1]), w.shape.first == a.count, w.dtype.isFloating else { return nil }
            var bias = [Float](repeating: 0, count: a.count)
            if node.hasInput(2) {
                guard let b0 = graph.constant(node.inputs[2]), b0.count == a.count else { return nil }
                bias = b0.floats
            }
            var wv = w.floats
            let per = w.count / a.count
            for m in 0..<a.count {
                for k in (m * per)..<((m + 1) * per) { wv[k] *= a[m] }
                bias[m] = bias[m] * a[m] + b[m]
            }
            while node.inputs.count < 3 { node.inputs.append("") }
            node.inputs[1] = graph.addInitializer(bn.name + "_folded_W", Tensor(shape: w.shape, floats: wv, dtype: w.dtype))
            node.inputs[2] = graph.addInitializer(bn.name + "_folded_B", Tensor(shape: [a.count], floats: bias, dtype: w.dtype))
        case .gemm:
            guard let w = graph.constant(node.inputs[1]), w.shape.count == 2, w.dtype.isFloating,
                  let tb = try? node.int("transB", default: 0), let beta = try? node.float("beta", default: 1)
            else { return nil }
            let n = a.count
            guard (tb == 1 ? w.shape[0] : w.shape[1]) == n else { return nil }
            var c = [Float](repeating: 0, count: n)
            if node.hasInput(2) {
                guard let c0 = graph.constant(node.inputs[2]) else { return nil }
                let cv = c0.floats
                // Only C that is the same for every row (the rows are the batch).
                if c0.count == 1 {
                    c = [Float](repeating: cv[0], count: n)
                } else if c0.count == n, c0.shape.last == n {
                    c = cv
                } else {
                    return nil
                }
            }
            var wv = w.floats
            let k = w.count / n
            for j in 0..<n {
                for kk in 0..<k {
                    let at = tb == 1 ? j * k + kk : kk * n + j
                    wv[at] *= a[j]
                }
                c[j] = a[j] * beta * c[j] + b[j]
            }
            while node.inputs.count < 3 { node.inputs.append("") }
            node.inputs[1] = graph.addInitializer(bn.name + "_folded_B", Tensor(shape: w.shape, floats: wv, dtype: w.dtype))
            node.inputs[2] = graph.addInitializer(bn.name + "_folded_C", Tensor(shape: [n], floats: c, dtype: w.dtype))
            node.attributes["beta"] = .float(1)
        default:
            return nil
        }
        node.outputs = [bn.outputs[0]]
        return (p, node)
    }
}
