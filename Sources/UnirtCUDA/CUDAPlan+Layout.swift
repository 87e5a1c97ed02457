import CCUDA
import UnirtIR

/// Operators with one activation input that run on NHWC data unchanged (elementwise,
/// or per channel with the channel passed to the kernel).
let cudaNHWCUnaryOps: Set<OpKind> = [.relu, .sigmoid, .tanh, .exp, .log, .sqrt, .neg, .abs, .reciprocal, .floor, .ceil,
                                     .hardSwish, .leakyRelu, .hardSigmoid, .clip, .identity, .dropout,
                                     .batchNormalization]
/// Broadcasting binary operators that run on NHWC data with permuted broadcast strides.
let cudaNHWCBinaryOps: Set<OpKind> = [.add, .sub, .mul, .div, .pow, .pRelu, .max, .min]

/// A BatchNormalization folded into the convolution that alone reads it.
///
/// With BN(x) = s·x + t per input channel and zero padding applied after the BN,
/// conv(pad(s·x + t)) = conv'(pad(x)) + B, where conv' has its filters scaled by s
/// over input channels and B[co, oh, ow] = bias[co] + Σ W[co, ci, kh, kw]·t[ci] over
/// the taps that fall inside the input at (oh, ow). B depends on the position only
/// near the borders; without padding it is one value per output channel.
public struct CUDAPreConvFold: Sendable {
    /// Folded filters, [Co, Ci, KH, KW].
    public var weights: Tensor
    /// Bias per output channel (used when `biasMap` is nil).
    public var bias: [Float]
    /// Bias per output channel and position, [Co, OH, OW], when the convolution pads.
    public var biasMap: [Float]?
}

extension CUDAPlan {
    /// The BatchNormalizations a plan of `specialized` folds into the convolution
    /// after them, by convolution name (what `build` does, without a GPU).
    public static func preConvFolds(in specialized: SpecializedGraph) -> [String: CUDAPreConvFold] {
        let graph = specialized.graph
        var nodes = graph.nodes
        return foldPreConvBatchNorms(&nodes, graphOutputs: Set(graph.outputs.map(\.name)),
                                     info: { specialized.values[$0] ?? ValueInfo(dtype: .f32, shape: [0]) },
                                     constant: { name in
                                         if name.isEmpty { return nil }
                                         if let c = graph.initializers[name] { return c }
                                         return specialized.inputShapes[name] == nil ? specialized.values[name]?.constant : nil
                                     })
    }

    /// Removes every BatchNormalization whose output only feeds input 0 of one
    /// ungrouped float Conv / FusedConv, and returns the folds by convolution name;
    /// the convolution then reads the BatchNormalization's input.
    static func foldPreConvBatchNorms(_ nodes: inout [Node], graphOutputs: Set<String>, info: (String) -> ValueInfo,
                                      constant: (String) -> Tensor?) -> [String: CUDAPreConvFold] {
        var readers: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() {
            for v in Set(n.inputs) where !v.isEmpty { readers[v, default: []].append(i) }
        }
        var folds: [String: CUDAPreConvFold] = [:]
        var removed = Set<Int>()
        for (i, bn) in nodes.enumerated() where bn.op == .batchNormalization {
            guard bn.inputs.count == 5, let v = bn.outputs.first, !graphOutputs.contains(v),
                  bn.outputs.dropFirst().allSatisfy(\.isEmpty), let users = readers[v], users.count == 1,
                  let ci = users.first, ci > i, constant(bn.inputs[0]) == nil else { continue }
            var conv = nodes[ci]
            guard conv.op == .conv || (conv.op == .fusedConv && FusedConvOp.inputScale(conv) == nil),
                  conv.inputs.first == v, !conv.inputs.dropFirst().contains(v), folds[conv.name] == nil,
                  conv.inputs.count > 1, let w = constant(conv.inputs[1]), w.shape.count == 4,
                  (try? conv.int("group", default: 1)) == 1,
                  let sc = constant(bn.inputs[1]), let sb = constant(bn.inputs[2]), let mean = constant(bn.inputs[3]),
                  let variance = constant(bn.inputs[4]), let eps = try? bn.float("epsilon", default: 1e-5) else { continue }
            let x = info(bn.inputs[0]).shape
            let (co, cin, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
            guard x.count == 4, x[1] == cin, sc.count == cin, sb.count == cin, mean.count == cin, variance.count == cin else { continue }
            let biasName = conv.inputs.count > 2 ? conv.inputs[2] : ""
            var bias = [Float](repeating: 0, count: co)
            if !biasName.isEmpty {
                guard let b = constant(biasName), b.count == co else { continue }
                bias = b.floats
            }
            guard let win = try? ConvOp.geometry(conv, x: x, w: w.shape, b: biasName.isEmpty ? nil : [co]),
                  win.padsBegin == win.padsEnd else { continue }
            let scv = sc.floats, sbv = sb.floats, mv = mean.floats, vv = variance.floats
            var s = [Float](repeating: 0, count: cin), t = s
            for c in 0..<cin {
                s[c] = scv[c] / (vv[c] + eps).squareRoot()
                t[c] = sbv[c] - mv[c] * s[c]
            }
            // Scale the filters; wt[co, kh, kw] = Σ_ci W·t, the shift each tap contributes.
            var wf = w.floats
            var wt = [Float](repeating: 0, count: co * kh * kw)
            for o in 0..<co {
                for c in 0..<cin {
                    for r in 0..<(kh * kw) {
                        let idx = (o * cin + c) * kh * kw + r
                        wt[o * kh * kw + r] += wf[idx] * t[c]
                        wf[idx] *= s[c]
                    }
                }
            }
            var fold = CUDAPreConvFold(weights: Tensor(shape: w.shape, floats: wf), bias: bias, biasMap: nil)
            if win.padsBegin.allSatisfy({ $0 == 0 }) {
                for o in 0..<co { fold.bias[o] += wt[(o * kh * kw)..<((o + 1) * kh * kw)].reduce(0, +) }
            } else {
                let (oh, ow) = (win.output[0], win.output[1])
                // Which taps fall inside the input, per output row and column.
                func inside(_ out: Int, _ len: Int, _ k: Int, _ axis: Int) -> [[Bool]] {
                    (0..<out).map { o in
                        (0..<k).map { r in
                            let p = o * win.strides[axis] - win.padsBegin[axis] + r * win.dilations[axis]
                            return p >= 0 && p < len
                        }
                    }
                }
                let rows = inside(oh, x[2], kh, 0), cols = inside(ow, x[3], kw, 1)
                var map = [Float](repeating: 0, count: co * oh * ow)
                for o in 0..<co {
                    for a in 0..<oh {
                        for b in 0..<ow {
                            var acc = bias[o]
                            for r in 0..<kh where rows[a][r] {
                                for q in 0..<kw where cols[b][q] { acc += wt[(o * kh + r) * kw + q] }
                            }
                            map[(o * oh + a) * ow + b] = acc
                        }
                    }
                }
                fold.biasMap = map
            }
            folds[conv.name] = fold
            conv.inputs[0] = bn.inputs[0]
            nodes[ci] = conv
            removed.insert(i)
        }
        if !removed.isEmpty {
            nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        }
        return folds
    }

    /// The 4-D activations stored NHWC: outputs of 2-D convolutions, and of the
    /// elementwise operators whose activation inputs are all NHWC. Empty for FP32
    /// plans, for `.nchw`, and for `.auto` when the plan has grouped (depthwise)
    /// convolutions, which cuDNN runs slower NHWC than NCHW in FP16, or would need
    /// more layout conversions than a quarter of its convolutions (at least two are
    /// allowed: one at the input, one at the output).
    func planLayout(_ nodes: [Node], graphOutputs: Set<String>, info: (String) -> ValueInfo,
                    constant: (String) -> Tensor?) -> Set<String> {
        guard precision.isHalf, layout != .nchw else { return [] }
        var nhwc = Set<String>()
        var convs = 0, grouped = 0, int8Layers = 0
        for node in nodes {
            guard let out = node.outputs.first, !out.isEmpty, info(out).shape.count == 4 else { continue }
            let acts = node.inputs.filter { !$0.isEmpty && constant($0) == nil }
            switch node.op {
            case .conv, .fusedConv:
                guard info(node.inputs[0]).shape.count == 4,
                      precision == .int8 || !(node.op == .fusedConv && FusedConvOp.inputScale(node) != nil) else { continue }
                if runsOnInt8Cores(node, info: info, constant: constant) { int8Layers += 1 }
                convs += 1
                if ((try? node.int("group", default: 1)) ?? 1) != 1 { grouped += 1 }
                nhwc.insert(out)
            case let op where cudaNHWCUnaryOps.contains(op):
                if acts.count == 1, acts[0] == node.inputs[0], nhwc.contains(acts[0]) { nhwc.insert(out) }
            case let op where cudaNHWCBinaryOps.contains(op):
                guard node.inputs.count == 2, !acts.isEmpty else { continue }
                let ok = node.inputs.allSatisfy { v in
                    if let c = constant(v) { return c.shape.count <= 4 && Self.keepsOrderInNHWC(c.shape) }
                    return nhwc.contains(v) && info(v).shape == info(out).shape
                }
                if ok { nhwc.insert(out) }
            default:
                break
            }
        }
        // Count the conversions this layout needs.
        var toNHWC = Set<String>(), toNCHW = Set<String>()
        for node in nodes {
            let out = node.outputs.first ?? ""
            if (node.op == .conv || node.op == .fusedConv) && nhwc.contains(out) {
                for k in [0, 3] where k < node.inputs.count {
                    let v = node.inputs[k]
                    if !v.isEmpty, constant(v) == nil, !nhwc.contains(v) { toNHWC.insert(v) }
                }
            } else if !nhwc.contains(out) {
                for v in node.inputs where nhwc.contains(v) { toNCHW.insert(v) }
            }
        }
        for o in graphOutputs where nhwc.contains(o) { toNCHW.insert(o) }
        let conversions = toNHWC.count + toNCHW.count
        // Int8 tensor-core layers need NHWC, so an int8 plan that has them keeps it.
        if layout == .auto && int8Layers == 0 && (grouped > 0 || conversions > max(2, convs / 4)) { return [] }
        usesNHWC = convs > 0
        layoutConversions = conversions
        return nhwc
    }

    /// Whether a constant broadcast against an NHWC activation reads the same
    /// memory order as its NCHW shape: padded to 4-D, its channel axis or both
    /// spatial axes have size 1.
    public static func keepsOrderInNHWC(_ shape: [Int]) -> Bool {
        let s = nchw4(shape)
        return s[1] == 1 || s[2] * s[3] == 1
    }

    /// A shape of rank ≤ 4 padded with leading ones to [N, C, H, W].
    static func nchw4(_ shape: [Int]) -> [Int] { [Int](repeating: 1, count: max(0, 4 - shape.count)) + shape }

    /// The NHWC order [N, H, W, C] of a shape of rank ≤ 4 read as [N, C, H, W].
    public static func nhwcShape(_ shape: [Int]) -> [Int] {
        let s = nchw4(shape)
        return [s[0], s[2], s[3], s[1]]
    }

    /// Enqueues a copy of a 4-D tensor between NCHW and NHWC; `shape` is its NCHW shape.
    func layoutTransposeStep(to dst: CUdeviceptr, from src: CUdeviceptr, nchwShape s: [Int], toNHWC: Bool) {
        let r = CUDAKernelSource.maxRank
        let (n, c, h, w) = (s[0], s[1], s[2], s[3])
        var g = [Int64](repeating: 0, count: 1 + 2 * r)
        g[0] = 4
        // Output dims, then for each output axis the source stride of that axis.
        let dims = toNHWC ? [n, h, w, c] : [n, c, h, w]
        let strides = toNHWC ? [c * h * w, w, 1, h * w] : [h * w * c, 1, w * c, c]
        for k in 0..<4 {
            g[1 + k] = Int64(dims[k])
            g[1 + r + k] = Int64(strides[k])
        }
        let total = n * c * h * w
        launchStep("transpose", count: total, KernelArgs([.ptr(dst), .ptr(src), .i64(Int64(total)), .i64s(g)]))
    }

    /// [Co, Ci, KH, KW] filters reordered to [Co, KH, KW, Ci] (cuDNN's NHWC filter layout).
    public static func filtersKRSC(_ w: [Float], _ s: [Int]) -> [Float] {
        let (co, ci, kh, kw) = (s[0], s[1], s[2], s[3])
        var out = [Float](repeating: 0, count: w.count)
        for o in 0..<co {
            for c in 0..<ci {
                for r in 0..<kh {
                    for q in 0..<kw { out[((o * kh + r) * kw + q) * ci + c] = w[((o * ci + c) * kh + r) * kw + q] }
                }
            }
        }
        return out
    }
}
