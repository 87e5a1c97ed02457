/// `ConvTranspose`: N-D transposed convolution (the gradient of Conv with respect
/// to its input) of `X` [N, C, D1…Dn] with `W` [C, M/group, k1…kn] plus optional
/// bias `B` [M]; supports strides, dilations, groups, pads, output_padding,
/// output_shape and every `auto_pad` mode.
public enum ConvTransposeOp: Operator {
    public static let schema = OpSchema(inputs: 2...3,
                                        attributes: ["auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                                                     "output_shape", "pads", "strides"],
                                        sinceOpset: 1, summary: "N-D transposed convolution with groups, strides and padding")

    public static func validate(_ node: Node) throws {
        try WindowGeometry.validateCommon(node)
        let g = try node.int("group", default: 1)
        guard g >= 1 else { throw node.error(.invalidModel, "attribute 'group' has invalid value \(g)") }
        if let op = try node.ints("output_padding"), let bad = op.first(where: { $0 < 0 }) {
            throw node.error(.invalidModel, "attribute 'output_padding' has negative value \(bad)")
        }
        if let os = try node.ints("output_shape"), let bad = os.first(where: { $0 < 1 }) {
            throw node.error(.invalidModel, "attribute 'output_shape' has invalid value \(bad)")
        }
    }

    /// Checks `X`, `W` and `B` shapes and resolves kernel, strides, dilations, the
    /// (possibly negative, when derived from output_shape) pads and the output spatial shape.
    public static func geometry(_ node: Node, x: [Int], w: [Int], b: [Int]?) throws -> WindowGeometry.Window {
        guard x.count >= 3 else { throw node.error(.invalidModel, "input X must have rank >= 3 (N, C, spatial…), got \(x)") }
        guard w.count == x.count else {
            throw node.error(.invalidModel, "weight W \(w) must have the same rank as X \(x)")
        }
        let group = try node.int("group", default: 1)
        let c = x[1]
        guard w[0] == c, c % group == 0 else {
            throw node.error(.invalidModel, "weight W \(w) must have X's \(c) channels first, divisible by group \(group)")
        }
        guard w[1] >= 1 else { throw node.error(.invalidModel, "weight W \(w) has no output channels") }
        let m = w[1] * group
        let n = x.count - 2
        let kernel = Array(w[2...])
        if let ks = try node.ints("kernel_shape"), !ks.isEmpty, ks != kernel {
            throw node.error(.invalidModel, "attribute kernel_shape \(ks) does not match the weight's spatial shape \(kernel)")
        }
        if let b {
            guard b == [m] else { throw node.error(.invalidModel, "bias B \(b) must have shape [\(m)]") }
        }
        if let bad = kernel.first(where: { $0 < 1 }) {
            throw node.error(.invalidModel, "kernel dimension \(bad) in \(kernel) must be positive")
        }
        let input = Array(x[2...])
        let strides = try WindowGeometry.list(node, "strides", count: n, default: 1, minimum: 1)
        let dilations = try WindowGeometry.list(node, "dilations", count: n, default: 1, minimum: 1)
        let outPad = try WindowGeometry.list(node, "output_padding", count: n, default: 0, minimum: 0)
        let mode = try WindowGeometry.autoPad(node)
        var requested: [Int]? = nil
        if let os = try node.ints("output_shape"), !os.isEmpty {
            if os.count == n { requested = os }
            else if os.count == n + 2 { requested = Array(os[2...]) }
            else { throw node.error(.invalidModel, "attribute 'output_shape' has \(os.count) values, expected \(n)") }
        }
        var pads = [Int](repeating: 0, count: 2 * n)
        if requested == nil && mode == "NOTSET" {
            pads = try WindowGeometry.list(node, "pads", count: 2 * n, default: 0, minimum: 0)
        }
        var win = WindowGeometry.Window(kernel: kernel, strides: strides, dilations: dilations,
                                        padsBegin: Array(pads[0..<n]), padsEnd: Array(pads[n..<(2 * n)]),
                                        output: [Int](repeating: 0, count: n))
        for i in 0..<n {
            let ek = (kernel[i] - 1) * dilations[i] + 1
            let full = strides[i] * (input[i] - 1) + outPad[i] + ek
            // A requested size, or input * stride for SAME_*; the total padding may be
            // negative (the output extends past the last kernel tap) and is split with
            // floor division: SAME_UPPER puts the smaller half first, the others the larger.
            let target: Int? = requested?[i] ?? (mode == "SAME_UPPER" || mode == "SAME_LOWER" ? input[i] * strides[i] : nil)
            if let target {
                let total = full - target
                let half = WindowGeometry.floorDiv(total, 2)
                win.padsBegin[i] = mode == "SAME_UPPER" ? half : total - half
                win.padsEnd[i] = total - win.padsBegin[i]
                win.output[i] = target
            } else {
                win.output[i] = full - win.padsBegin[i] - win.padsEnd[i]
            }
        }
        if win.output.contains(where: { $0 < 1 }) {
            throw node.error(.invalidModel, "output spatial shape \(win.output) is empty")
        }
        return win
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0], let w = inputs[1] else { throw node.error(.invalidModel, "needs inputs X and W") }
        guard x.dtype.isFloating, w.dtype.isFloating else {
            throw node.error(.invalidModel, "ConvTranspose requires floating-point inputs (X is \(x.dtype), W is \(w.dtype))")
        }
        let b = inputs.count > 2 ? inputs[2] : nil
        let win = try geometry(node, x: x.shape, w: w.shape, b: b?.shape)
        let group = try node.int("group", default: 1)
        return [ValueInfo(dtype: x.dtype, shape: [x.shape[0], w.shape[1] * group] + win.output)]
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
        let batch = x.shape[0], c = x.shape[1]
        let cg = c / group, mg = w.shape[1], m = mg * group
        let inSp = Array(x.shape[2...]), outSp = win.output
        let inPlane = inSp.reduce(1, *), outPlane = outSp.reduce(1, *)
        let kProd = win.kernel.reduce(1, *)
        let inStr = Shapes.strides(inSp), outStr = Shapes.strides(outSp)

                // Per kernel position and axis: output offset (k * d - padBegin) and the valid input range.
        let (offs, lo, hi) = WindowGeometry.taps(win, count: inSp, limit: outSp)

        let xv = x.floats, wv = w.floats
        var y = WindowGeometry.biasFilled(batch: batch, channels: m, plane: outPlane, bias: bias?.floats)
        let last = n - 1
        let sL = win.strides[last]
        var idx = [Int](repeating: 0, count: n)
        y.withUnsafeMutableBufferPointer { yb in
            xv.withUnsafeBufferPointer { xb in
                guard let yp0 = yb.baseAddress, let xp0 = xb.baseAddress else { return }  // empty tensors
                for b in 0..<batch {
                    for ic in 0..<c {
                        let g = ic / cg
                        let xBase = (b * c + ic) * inPlane
                        for ocl in 0..<mg {
                            let yBase = (b * m + g * mg + ocl) * outPlane
                            let wBase = (ic * mg + ocl) * kProd
                            for kf in 0..<kProd {
                                let kb = kf * n
                                var empty = false
                                for d in 0..<n where lo[kb + d] >= hi[kb + d] { empty = true }
                                if empty { continue }
                                let wk = wv[wBase + kf]
                                let iLo = lo[kb + last], iHi = hi[kb + last]
                                let offL = offs[kb + last]
                                for d in 0..<last { idx[d] = lo[kb + d] }
                                while true {
                                    var oOff = 0, iOff = 0
                                    for d in 0..<last {
                                        iOff += idx[d] * inStr[d]
                                        oOff += (idx[d] * win.strides[d] + offs[kb + d]) * outStr[d]
                                    }
                                    // Input run [iLo, iHi) of this row and the output elements it feeds.
                                    let yr = yp0 + (yBase + oOff + offL + iLo * sL)
                                    let xr = UnsafePointer(xp0) + (xBase + iOff + iLo)
                                    let count = iHi - iLo
                                    if sL == 1 {
                                        for i in 0..<count { yr[i] += wk * xr[i] }
                                    } else {
                                        for i in 0..<count { yr[i * sL] += wk * xr[i] }
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
