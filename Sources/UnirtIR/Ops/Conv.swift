/// Sliding-window geometry shared by `Conv`, `ConvTranspose`, `MaxPool` and
/// `AveragePool`: attribute parsing, padding resolution and valid index ranges.
public enum WindowGeometry {
    /// Resolved window of an operator over `kernel.count` spatial axes.
    public struct Window: Sendable, Equatable {
        public var kernel: [Int]
        public var strides: [Int]
        public var dilations: [Int]
        public var padsBegin: [Int]
        public var padsEnd: [Int]
        /// Output spatial shape.
        public var output: [Int]
    }

    public static let autoPadModes = ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]

    /// The `auto_pad` attribute, checked against the four ONNX values.
    public static func autoPad(_ node: Node) throws -> String {
        let v = try node.string("auto_pad", default: "NOTSET")
        guard autoPadModes.contains(v) else {
            throw node.error(.invalidModel, "attribute auto_pad='\(v)' is not one of \(autoPadModes.joined(separator: ", "))")
        }
        return v
    }

    /// An integer-list attribute with `count` values (absent or empty: all `d`), each at least `minimum`.
    public static func list(_ node: Node, _ name: String, count: Int, default d: Int, minimum: Int) throws -> [Int] {
        guard let v = try node.ints(name), !v.isEmpty else { return [Int](repeating: d, count: count) }
        guard v.count == count else {
            throw node.error(.invalidModel, "attribute '\(name)' has \(v.count) values, expected \(count)")
        }
        for x in v where x < minimum {
            throw node.error(.invalidModel, "attribute '\(name)' has invalid value \(x) (must be at least \(minimum))")
        }
        return v
    }

    /// Rank-independent attribute checks: auto_pad value, positive strides,
    /// dilations and kernel_shape, non-negative pads of even length.
    public static func validateCommon(_ node: Node) throws {
        _ = try autoPad(node)
        for name in ["strides", "dilations", "kernel_shape"] {
            if let v = try node.ints(name), let bad = v.first(where: { $0 < 1 }) {
                throw node.error(.invalidModel, "attribute '\(name)' has invalid value \(bad) (must be positive)")
            }
        }
        if let p = try node.ints("pads") {
            guard p.count % 2 == 0 else {
                throw node.error(.invalidModel, "attribute 'pads' has \(p.count) values, expected an even number")
            }
            if let bad = p.first(where: { $0 < 0 }) {
                throw node.error(.invalidModel, "attribute 'pads' has negative value \(bad)")
            }
        }
    }

    /// Floor division for a positive divisor.
    @inline(__always) public static func floorDiv(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Ceiling division for a positive divisor.
    @inline(__always) public static func ceilDiv(_ a: Int, _ b: Int) -> Int {
        -floorDiv(-a, b)
    }

    /// The indices `a` in `0..<count` with `0 <= a * stride + offset < limit`.
    @inline(__always) public static func validRange(count: Int, stride: Int, offset: Int, limit: Int) -> Range<Int> {
        let lo = Swift.max(0, ceilDiv(-offset, stride))
        let hi = Swift.min(count, floorDiv(limit - 1 - offset, stride) + 1)
        return lo < hi ? lo..<hi : 0..<0
    }

    /// Per kernel position (row-major over `window.kernel`) and spatial axis:
    /// the offset `k * dilation - padBegin` and the range of positions `a` in
    /// `0..<count[d]` for which `a * stride + offset` lies in `0..<limit[d]`.
    /// Conv iterates output positions reading the input; ConvTranspose the reverse.
    public static func taps(_ win: Window, count: [Int], limit: [Int]) -> (offsets: [Int], lo: [Int], hi: [Int]) {
        let n = win.kernel.count
        let kProd = win.kernel.reduce(1, *)
        var offs = [Int](repeating: 0, count: kProd * n)
        var lo = [Int](repeating: 0, count: kProd * n), hi = [Int](repeating: 0, count: kProd * n)
        var kidx = [Int](repeating: 0, count: n)
        for kf in 0..<kProd {
            for d in 0..<n {
                let off = kidx[d] * win.dilations[d] - win.padsBegin[d]
                let r = validRange(count: count[d], stride: win.strides[d], offset: off, limit: limit[d])
                offs[kf * n + d] = off
                lo[kf * n + d] = r.lowerBound
                hi[kf * n + d] = r.upperBound
            }
            var d = n - 1
            while d >= 0 {
                kidx[d] += 1
                if kidx[d] < win.kernel[d] { break }
                kidx[d] = 0
                d -= 1
            }
        }
        return (offs, lo, hi)
    }

    /// An output buffer of `batch × channels × plane` floats filled with the per-channel bias (or zeros).
    public static func biasFilled(batch: Int, channels: Int, plane: Int, bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: batch * channels * plane)
        if let bias {
            for b in 0..<batch {
                for oc in 0..<channels {
                    let base = (b * channels + oc) * plane
                    for i in 0..<plane { y[base + i] = bias[oc] }
                }
            }
        }
        return y
    }

    /// Geometry of a forward sliding window (Conv, MaxPool, AveragePool) over `input` spatial dims.
    /// `ceilMode` rounds the output size up, dropping windows that would start in the end padding.
    public static func window(_ node: Node, input: [Int], kernel: [Int], ceilMode: Bool = false) throws -> Window {
        let n = input.count
        guard kernel.count == n else {
            throw node.error(.invalidModel, "kernel has \(kernel.count) spatial dims but the input has \(n)")
        }
        if let bad = kernel.first(where: { $0 < 1 }) {
            throw node.error(.invalidModel, "kernel dimension \(bad) in \(kernel) must be positive")
        }
        let strides = try list(node, "strides", count: n, default: 1, minimum: 1)
        let dilations = try list(node, "dilations", count: n, default: 1, minimum: 1)
        let mode = try autoPad(node)
        var pads = [Int](repeating: 0, count: 2 * n)
        if mode == "NOTSET" {
            pads = try list(node, "pads", count: 2 * n, default: 0, minimum: 0)
        }
        var w = Window(kernel: kernel, strides: strides, dilations: dilations,
                       padsBegin: Array(pads[0..<n]), padsEnd: Array(pads[n..<(2 * n)]),
                       output: [Int](repeating: 0, count: n))
        for i in 0..<n {
            let ek = (kernel[i] - 1) * dilations[i] + 1
            if mode == "SAME_UPPER" || mode == "SAME_LOWER" {
                let out = ceilDiv(input[i], strides[i])
                let total = Swift.max(0, (out - 1) * strides[i] + ek - input[i])
                let half = total / 2
                w.padsBegin[i] = mode == "SAME_UPPER" ? half : total - half
                w.padsEnd[i] = total - w.padsBegin[i]
                w.output[i] = out
                continue
            }
            let span = input[i] + w.padsBegin[i] + w.padsEnd[i] - ek
            guard span >= 0 else {
                throw node.error(.invalidModel, "window of extent \(ek) on spatial axis \(i) is larger than the padded input (\(input[i]) + \(w.padsBegin[i]) + \(w.padsEnd[i]))")
            }
            var out = (ceilMode ? ceilDiv(span, strides[i]) : span / strides[i]) + 1
            if ceilMode && out > 1 && (out - 1) * strides[i] >= input[i] + w.padsBegin[i] { out -= 1 }
            w.output[i] = out
        }
        return w
    }
}

/// `Conv`: N-D convolution (cross-correlation) of `X` [N, C, D1…Dn] with filters
/// `W` [M, C/group, k1…kn] plus optional bias `B` [M]; supports groups (incl.
/// depthwise), strides, dilations, explicit pads and every `auto_pad` mode.
public enum ConvOp: Operator {
    public static let schema = OpSchema(inputs: 2...3,
                                        attributes: ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"],
                                        sinceOpset: 1, summary: "N-D convolution with groups, strides, dilations and padding")

    public static func validate(_ node: Node) throws {
        try WindowGeometry.validateCommon(node)
        let g = try node.int("group", default: 1)
        guard g >= 1 else { throw node.error(.invalidModel, "attribute 'group' has invalid value \(g)") }
    }

    /// Checks `X`, `W` and `B` shapes and resolves the window geometry.
    public static func geometry(_ node: Node, x: [Int], w: [Int], b: [Int]?) throws -> WindowGeometry.Window {
        guard x.count >= 3 else { throw node.error(.invalidModel, "input X must have rank >= 3 (N, C, spatial…), got \(x)") }
        guard w.count == x.count else {
            throw node.error(.invalidModel, "weight W \(w) must have the same rank as X \(x)")
        }
        let group = try node.int("group", default: 1)
        let c = x[1], m = w[0]
        guard c % group == 0 else { throw node.error(.invalidModel, "input channels \(c) are not divisible by group \(group)") }
        guard w[1] == c / group else {
            throw node.error(.invalidModel, "weight W \(w) expects \(w[1] * group) input channels (group \(group)) but X \(x) has \(c)")
        }
        guard m % group == 0, m > 0 else {
            throw node.error(.invalidModel, "output channels \(m) are not divisible by group \(group)")
        }
        let kernel = Array(w[2...])
        if let ks = try node.ints("kernel_shape"), !ks.isEmpty, ks != kernel {
            throw node.error(.invalidModel, "attribute kernel_shape \(ks) does not match the weight's spatial shape \(kernel)")
        }
        if let b {
            guard b == [m] else { throw node.error(.invalidModel, "bias B \(b) must have shape [\(m)]") }
        }
        let win = try WindowGeometry.window(node, input: Array(x[2...]), kernel: kernel)
        if win.output.contains(where: { $0 < 1 }) {
            throw node.error(.invalidModel, "output spatial shape \(win.output) is empty")
        }
        return win
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0], let w = inputs[1] else { throw node.error(.invalidModel, "needs inputs X and W") }
        guard x.dtype.isFloating, w.dtype.isFloating else {
            throw node.error(.invalidModel, "Conv requires floating-point inputs (X is \(x.dtype), W is \(w.dtype))")
        }
        let b = inputs.count > 2 ? inputs[2] : nil
        let win = try geometry(node, x: x.shape, w: w.shape, b: b?.shape)
        return [ValueInfo(dtype: x.dtype, shape: [x.shape[0], w.shape[0]] + win.output)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!, w = inputs[1]!
        let bias = inputs.count > 2 ? inputs[2] : nil
        let outShape = outputs[0].shape
        guard let win = try? geometry(node, x: x.shape, w: w.shape, b: bias?.shape) else {
            return [Tensor(zeros: outShape, dtype: outputs[0].dtype)]
        }
        let group = (try? node.int("group", default: 1)) ?? 1
        let n = win.kernel.count
        let batch = x.shape[0], c = x.shape[1], m = w.shape[0]
        let cg = c / group, mg = m / group
        let inSp = Array(x.shape[2...]), outSp = win.output
        let inPlane = inSp.reduce(1, *), outPlane = outSp.reduce(1, *)
        let kProd = win.kernel.reduce(1, *)
        let inStr = Shapes.strides(inSp), outStr = Shapes.strides(outSp)

                // Per kernel position and axis: input offset (k * d - padBegin) and the valid output range.
        let (offs, lo, hi) = WindowGeometry.taps(win, count: outSp, limit: inSp)

        let xv = x.floats, wv = w.floats
        var y = WindowGeometry.biasFilled(batch: batch, channels: m, plane: outPlane, bias: bias?.floats)
        let last = n - 1
        let sL = win.strides[last]
        var idx = [Int](repeating: 0, count: n)
        y.withUnsafeMutableBufferPointer { yb in
            xv.withUnsafeBufferPointer { xb in
                guard let yp0 = yb.baseAddress, let xp0 = xb.baseAddress else { return }  // empty tensors
                for b in 0..<batch {
                    for oc in 0..<m {
                        let g = oc / mg
                        let yBase = (b * m + oc) * outPlane
                        for icl in 0..<cg {
                            let xBase = (b * c + g * cg + icl) * inPlane
                            let wBase = (oc * cg + icl) * kProd
                            for kf in 0..<kProd {
                                let kb = kf * n
                                var empty = false
                                for d in 0..<n where lo[kb + d] >= hi[kb + d] { empty = true }
                                if empty { continue }
                                let wk = wv[wBase + kf]
                                let oLo = lo[kb + last], oHi = hi[kb + last]
                                let offL = offs[kb + last]
                                for d in 0..<last { idx[d] = lo[kb + d] }
                                while true {
                                    var oOff = 0, iOff = 0
                                    for d in 0..<last {
                                        oOff += idx[d] * outStr[d]
                                        iOff += (idx[d] * win.strides[d] + offs[kb + d]) * inStr[d]
                                    }
                                    // Output run [oLo, oHi) of this row and the input elements it reads.
                                    let yr = yp0 + (yBase + oOff + oLo)
                                    let xr = UnsafePointer(xp0) + (xBase + iOff + offL + oLo * sL)
                                    let count = oHi - oLo
                                    if sL == 1 {
                                        for o in 0..<count { yr[o] += wk * xr[o] }
                                    } else {
                                        for o in 0..<count { yr[o] += wk * xr[o * sL] }
                                    }
                                    var d = last - 1
                                    while d >= 0 {
                                        idx[d] += 1
                                        if idx[d] < hi[kb + d] { break }
                                        idx[d] = lo[kb + d]
                                        d -= 1
                                    }
                                    if d < 0 { break }
                                }
                            }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: outShape, floats: y, dtype: outputs[0].dtype)]
    }
}
