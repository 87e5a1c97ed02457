import UnirtIR

/// Which activations of an int8 plan travel between int8 convolutions as u8.
///
/// An int8 convolution quantizes its input with its `input_scale`:
/// `q = clamp(round_half_even(x / s) + 128, 0, 255)`. Scales are per tensor, so
/// every int8 convolution reading the same tensor uses the same scale. When
/// every reader of a tensor is an int8 convolution reading it as input 0, and
/// the tensor is written by an int8 convolution, the writer can apply that
/// quantization in its epilogue (`unirt_gemm_u8s8*_compute_u8`,
/// `unirt_dwconv_u8s8_compute_u8`, the same float operations) and store the
/// bytes; the readers then skip their own quantization pass. The result is
/// bit-identical to the float round trip, and the tensor takes a quarter of the
/// memory traffic.
///
/// Excluded: graph outputs, tensors read by anything else (a residual input, a
/// float layer, a reshape, an observer of float values) and, after compiling,
/// tensors whose writer or a reader declined the u8 form (the plan then
/// compiles again without them).
enum Int8Chaining {
    /// Tensor name → scale, for tensors that may be stored as u8.
    static func candidates(_ graph: Graph) -> [String: Float] {
        var readers: [String: [(node: Node, index: Int)]] = [:]
        for n in graph.nodes {
            for (i, v) in n.inputs.enumerated() where !v.isEmpty { readers[v, default: []].append((n, i)) }
        }
        let outputs = Set(graph.outputs.map(\.name))
        var result: [String: Float] = [:]
        for n in graph.nodes {
            guard isInt8Conv(n), n.outputs.count == 1, let v = n.outputs.first, !v.isEmpty, !outputs.contains(v),
                  let rs = readers[v], !rs.isEmpty else { continue }
            var scale: Float? = nil
            var ok = true
            for r in rs {
                guard r.index == 0, isInt8Conv(r.node), let s = FusedConvOp.inputScale(r.node), scale == nil || scale == s else {
                    ok = false
                    break
                }
                scale = s
            }
            if ok, let scale { result[v] = scale }
        }
        return result
    }

    static func isInt8Conv(_ n: Node) -> Bool {
        n.op == .fusedConv && FusedConvOp.inputScale(n) != nil
    }
}
