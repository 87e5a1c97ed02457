import UnirtIR

/// Folds a `Pad` into the `Conv` (or `FusedConv`) that is its only reader when
/// it pads with the constant 0 on the spatial axes only, by adding its amounts
/// to the convolution's `pads` (the convolution must use explicit padding).
public struct PadConvFolding: OptimizationPass {
    public let name = "pad-conv-folding"
    public let summary = "fold constant-zero spatial Pad into the following Conv's pads"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        graph.rewriteToFixedPoint(where: { $0.op == .pad }) { i, graph, index in
            let pad = graph.nodes[i]
            guard pad.hasInput(0), let c = index.soleConsumer(pad.outputs[0]),
                  let conv = fold(pad, into: graph.nodes[c], graph) else { return false }
            graph.nodes[c] = conv
            graph.replaceNodes([i], with: nil)
            return true
        }
    }

    /// Begin/end amounts per axis of a constant-zero Pad, or nil.
    private func amounts(_ pad: Node, rank: Int, _ graph: Graph) -> (begin: [Int], end: [Int])? {
        guard ((try? pad.string("mode", default: "constant")) ?? "") == "constant" else { return nil }
        var pads: [Int]
        var axes = Array(0..<rank)
        if pad.opset < 11 {
            guard let p = try? pad.ints("pads"), let v = try? pad.float("value", default: 0), v == 0 else { return nil }
            pads = p
        } else {
            guard let p = graph.constant(pad.inputs[1]) else { return nil }
            pads = p.ints.map { Int($0) }
            if pad.hasInput(2) {
                guard let v = graph.constant(pad.inputs[2]), v.floats.allSatisfy({ $0 == 0 }) else { return nil }
            }
            if pad.hasInput(3) {
                guard let a = graph.constant(pad.inputs[3]) else { return nil }
                axes = a.ints.map { Int($0) < 0 ? Int($0) + rank : Int($0) }
            }
        }
        guard pads.count == 2 * axes.count, axes.allSatisfy({ (0..<rank).contains($0) }) else { return nil }
        var begin = [Int](repeating: 0, count: rank), end = begin
        for (k, a) in axes.enumerated() {
            begin[a] = pads[k]
            end[a] = pads[k + axes.count]
        }
        return (begin, end)
    }

    private func fold(_ pad: Node, into conv: Node, _ graph: Graph) -> Node? {
        guard conv.op == .conv || conv.op == .fusedConv, conv.inputs.first == pad.outputs[0],
              conv.inputs.dropFirst().allSatisfy({ $0 != pad.outputs[0] }),
              ((try? conv.string("auto_pad", default: "NOTSET")) ?? "") == "NOTSET",
              let w = graph.constant(conv.inputs[1]), w.shape.count >= 3 else { return nil }
        let rank = w.shape.count, spatial = rank - 2
        guard let (begin, end) = amounts(pad, rank: rank, graph),
              begin[0] == 0, begin[1] == 0, end[0] == 0, end[1] == 0,
              (begin + end).allSatisfy({ $0 >= 0 }) else { return nil }
        var pads = ((try? conv.ints("pads")) ?? nil) ?? []
        if pads.isEmpty { pads = [Int](repeating: 0, count: 2 * spatial) }
        guard pads.count == 2 * spatial else { return nil }
        for d in 0..<spatial {
            pads[d] += begin[d + 2]
            pads[d + spatial] += end[d + 2]
        }
        var n = conv
        n.inputs[0] = pad.inputs[0]
        n.attributes["pads"] = .ints(pads)
        return n
    }
}
