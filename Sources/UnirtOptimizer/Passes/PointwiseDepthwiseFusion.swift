import UnirtIR

/// Fuses a 1×1 convolution whose output only feeds a 3×3 depthwise convolution
/// (and the 2×2 stride-2 MaxPool that may be the depthwise output's only
/// reader) into one `FusedPointwiseDepthwise`, so the CPU kernel keeps the
/// 1×1 output in a cache-sized ring of rows instead of memory.
///
/// The 1×1: Conv/FusedConv with constant weights [M, C, 1, 1] (at most
/// `maxPointwiseWeights` floats), stride 1, no padding, group 1, no residual,
/// fp32 (no `input_scale`). The depthwise:
/// Conv/FusedConv with constant weights [M, 1, 3, 3], group M, dilation 1,
/// stride 1 or 2, explicit pads, no residual, fp32. Either may carry a bias
/// and any fused activation (PRelu with a constant slope). The MaxPool: kernel
/// 2×2, stride 2, no padding, no ceil mode, no Indices output. Runs after the
/// activation and residual fusions so that it sees their final nodes.
public struct PointwiseDepthwiseFusion: OptimizationPass {
    public let name = "pointwise-depthwise-fusion"
    public let summary = "fuse 1x1 Conv -> 3x3 depthwise Conv (-> 2x2 MaxPool) into FusedPointwiseDepthwise"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        graph.rewriteToFixedPoint(where: { $0.op == .conv || $0.op == .fusedConv }) { i, graph, index in
            let dw = graph.nodes[i]
            guard dw.hasInput(0), let p = index.producer[dw.inputs[0]], index.hasSingleUse(dw.inputs[0]),
                  let channels = Self.depthwiseChannels(dw, graph),
                  Self.isPointwise(graph.nodes[p], channels: channels, graph) else { return false }
            let pw = graph.nodes[p]
            var pool: Int? = nil
            if let c = index.soleConsumer(dw.outputs[0]), Self.isPool(graph.nodes[c]) { pool = c }

            func input(_ n: Node, _ i: Int) -> String { n.hasInput(i) ? n.inputs[i] : "" }
            var inputs = [pw.inputs[0], pw.inputs[1], input(pw, 2), dw.inputs[1], input(dw, 2), input(pw, 4), input(dw, 4)]
            while inputs.count > 4, inputs.last == "" { inputs.removeLast() }
            var attrs: [String: Attribute] = [
                "strides": .ints((try? dw.ints("strides")) ?? [1, 1]),
                "pads": .ints((try? dw.ints("pads")) ?? [0, 0, 0, 0]),
                "group": .int(channels),
                "pool": .int(pool == nil ? 0 : 1),
                // The parts' names, so that splitting the node restores them.
                "pointwise_node": .string(pw.name),
                "pointwise_output": .string(pw.outputs[0]),
            ]
            if let pool {
                attrs["pool_node"] = .string(graph.nodes[pool].name)
                attrs["depthwise_output"] = .string(dw.outputs[0])
            }
            for suffix in ["activation", "activation_alpha", "activation_beta"] {
                if let v = pw.attributes[suffix] { attrs["pointwise_" + suffix] = v }
                if let v = dw.attributes[suffix] { attrs[suffix] = v }
            }
            let fused = Node(name: dw.name, op: .fusedPointwiseDepthwise, inputs: inputs,
                             outputs: pool.map { graph.nodes[$0].outputs } ?? dw.outputs, attributes: attrs, opset: dw.opset)
            graph.replaceNodes([p, i] + (pool.map { [$0] } ?? []), with: fused)
            return true
        }
    }

    /// Whether a conv node runs in fp32 without a residual and with a usable activation.
    private static func plainConv(_ n: Node, _ graph: Graph) -> Bool {
        guard n.op == .conv || n.op == .fusedConv, n.attributes["input_scale"] == nil, !n.hasInput(3),
              ((try? n.string("auto_pad", default: "NOTSET")) ?? "") == "NOTSET",
              ((try? n.ints("dilations")) ?? [1, 1]) == [1, 1] else { return false }
        if n.op == .fusedConv, ((try? n.string("activation", default: "")) ?? "") == "PRelu" {
            return n.hasInput(4) && graph.constant(n.inputs[4]) != nil
        }
        return true
    }

    /// M when `n` is a 3x3 depthwise convolution this pass takes.
    static func depthwiseChannels(_ n: Node, _ graph: Graph) -> Int? {
        guard plainConv(n, graph), n.inputs.count >= 2, let w = graph.constant(n.inputs[1]), w.shape.count == 4,
              w.shape[1] == 1, w.shape[2] == 3, w.shape[3] == 3,
              ((try? n.int("group", default: 1)) ?? 1) == w.shape[0],
              ((try? n.ints("kernel_shape")) ?? [3, 3]) == [3, 3] else { return nil }
        let strides = (try? n.ints("strides")) ?? [1, 1]
        let pads = (try? n.ints("pads")) ?? [0, 0, 0, 0]
        guard strides.count == 2, strides.allSatisfy({ $0 == 1 || $0 == 2 }), pads.count == 4,
              pads.allSatisfy({ (0...2).contains($0) }) else { return nil }
        return w.shape[0]
    }

    /// Largest 1x1 weight matrix (floats) taken: the kernel re-reads the weights
    /// for every band of rows, so they must stay in L2 (as the cache-tiled
    /// convolution GEMM's). Larger 1x1 layers (SFace's 512×512) run faster
    /// unfused, on the whole plane at once.
    public static let maxPointwiseWeights = 48 * 1024

    /// Whether `n` is a 1x1 stride-1 unpadded group-1 convolution with M outputs.
    static func isPointwise(_ n: Node, channels: Int, _ graph: Graph) -> Bool {
        guard plainConv(n, graph), n.inputs.count >= 2, let w = graph.constant(n.inputs[1]), w.shape.count == 4,
              w.shape[0] == channels, w.shape[2] == 1, w.shape[3] == 1, w.count <= maxPointwiseWeights,
              ((try? n.int("group", default: 1)) ?? 1) == 1,
              ((try? n.ints("strides")) ?? [1, 1]) == [1, 1],
              ((try? n.ints("pads")) ?? [0, 0, 0, 0]).allSatisfy({ $0 == 0 }) else { return false }
        return true
    }

    /// Whether `n` is a 2x2 stride-2 MaxPool without padding, ceil mode or Indices.
    static func isPool(_ n: Node) -> Bool {
        n.op == .maxPool && (n.outputs.count == 1 || n.outputs[1].isEmpty)
            && ((try? n.ints("kernel_shape")) ?? nil) == [2, 2]
            && ((try? n.ints("strides")) ?? nil) == [2, 2]
            && ((try? n.ints("pads")) ?? [0, 0, 0, 0]).allSatisfy({ $0 == 0 })
            && ((try? n.ints("dilations")) ?? [1, 1]) == [1, 1]
            && ((try? n.int("ceil_mode", default: 0)) ?? 0) == 0
            && ((try? n.string("auto_pad", default: "NOTSET")) ?? "") == "NOTSET"
    }
}
