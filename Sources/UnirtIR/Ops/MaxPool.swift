/// Shared pieces of `MaxPool` and `AveragePool` (not an operator itself).
public enum Pooling {
    public enum Kind: Sendable {
        case max
        /// `countIncludePad`: divide by the window size clipped to the padded input
        /// instead of the number of input elements covered.
        case average(countIncludePad: Bool)
    }

    /// Checks a 0/1 flag attribute.
    public static func flag(_ node: Node, _ name: String) throws -> Bool {
        let v = try node.int(name, default: 0)
        guard v == 0 || v == 1 else { throw node.error(.invalidModel, "attribute \(name)=\(v) must be 0 or 1") }
        return v == 1
    }

    /// Attribute checks common to both pools.
    public static func validate(_ node: Node) throws {
        try WindowGeometry.validateCommon(node)
        guard let k = try node.ints("kernel_shape"), !k.isEmpty else {
            throw node.error(.invalidModel, "attribute 'kernel_shape' is required")
        }
        _ = try flag(node, "ceil_mode")
    }

    /// Window geometry of a pool over `x` [N, C, D1…Dn].
    public static func geometry(_ node: Node, x: [Int]) throws -> WindowGeometry.Window {
        guard x.count >= 3 else { throw node.error(.invalidModel, "input X must have rank >= 3 (N, C, spatial…), got \(x)") }
        guard let kernel = try node.ints("kernel_shape"), !kernel.isEmpty else {
            throw node.error(.invalidModel, "attribute 'kernel_shape' is required")
        }
        guard kernel.count == x.count - 2 else {
            throw node.error(.invalidModel, "kernel_shape \(kernel) has \(kernel.count) dims but X \(x) has \(x.count - 2) spatial dims")
        }
        let win = try WindowGeometry.window(node, input: Array(x[2...]), kernel: kernel,
                                            ceilMode: try flag(node, "ceil_mode"))
        if win.output.contains(where: { $0 < 1 }) {
            throw node.error(.invalidModel, "output spatial shape \(win.output) is empty")
        }
        return win
    }

    /// `v` rounded toward zero and clamped to the range of the integer type `t` (NaN gives 0).
    public static func clampToInt(_ v: Float, _ t: DType) -> Int64 {
        let range: (Double, Double)
        switch t {
        case .i8: range = (-128, 127)
        case .u8: range = (0, 255)
        case .i16: range = (-32768, 32767)
        case .i32: range = (-2147483648, 2147483647)
        case .bool: range = (0, 1)
        default: range = (-9.2e18, 9.2e18)
        }
        guard !v.isNaN else { return 0 }
        return Int64(Swift.min(Swift.max(Double(v), range.0), range.1))
    }

    /// Pools every [N, C] plane of `xv` (shape `x`) into the window's output shape.
    public static func run(_ xv: [Float], shape x: [Int], window win: WindowGeometry.Window, kind: Kind) -> [Float] {
        let n = win.kernel.count
        let planes = x[0] * x[1]
        let inSp = Array(x[2...]), outSp = win.output
        let inPlane = inSp.reduce(1, *), outPlane = outSp.reduce(1, *)
        let inStr = Shapes.strides(inSp)
        // Per axis and output index: first input position, valid kernel range and padded count.
        var start = [[Int]](), kLo = [[Int]](), kHi = [[Int]](), padCount = [[Int]]()
        for d in 0..<n {
            var s = [Int](), l = [Int](), h = [Int](), p = [Int]()
            for o in 0..<outSp[d] {
                let st = o * win.strides[d] - win.padsBegin[d]
                let r = WindowGeometry.validRange(count: win.kernel[d], stride: win.dilations[d], offset: st, limit: inSp[d])
                let rp = WindowGeometry.validRange(count: win.kernel[d], stride: win.dilations[d], offset: st + win.padsBegin[d],
                                                   limit: inSp[d] + win.padsBegin[d] + win.padsEnd[d])
                s.append(st); l.append(r.lowerBound); h.append(r.upperBound); p.append(rp.count)
            }
            start.append(s); kLo.append(l); kHi.append(h); padCount.append(p)
        }
        var y = [Float](repeating: 0, count: planes * outPlane)
        var oIdx = [Int](repeating: 0, count: n)
        var kIdx = [Int](repeating: 0, count: n)
        xv.withUnsafeBufferPointer { xp in
            for p in 0..<planes {
                let xBase = p * inPlane
                for d in 0..<n { oIdx[d] = 0 }
                for of in 0..<outPlane {
                    var empty = false
                    var validCount = 1, paddedCount = 1
                    for d in 0..<n {
                        let o = oIdx[d]
                        if kLo[d][o] >= kHi[d][o] { empty = true }
                        validCount *= kHi[d][o] - kLo[d][o]
                        paddedCount *= padCount[d][o]
                        kIdx[d] = kLo[d][o]
                    }
                    var acc: Float
                    switch kind {
                    case .max: acc = -Float.greatestFiniteMagnitude
                    case .average: acc = 0
                    }
                    if !empty {
                        while true {
                            var i = xBase
                            for d in 0..<n { i += (start[d][oIdx[d]] + kIdx[d] * win.dilations[d]) * inStr[d] }
                            let v = xp[i]
                            switch kind {
                            case .max: if v > acc || v.isNaN { acc = v }
                            case .average: acc += v
                            }
                            var d = n - 1
                            while d >= 0 {
                                kIdx[d] += 1
                                if kIdx[d] < kHi[d][oIdx[d]] { break }
                                kIdx[d] = kLo[d][oIdx[d]]
                                d -= 1
                            }
                            if d < 0 { break }
                        }
                    }
                    if case .average(let includePad) = kind {
                        let count = includePad ? paddedCount : validCount
                        acc = count > 0 ? acc / Float(count) : 0
                    }
                    y[p * outPlane + of] = acc
                    var d = n - 1
                    while d >= 0 {
                        oIdx[d] += 1
                        if oIdx[d] < outSp[d] { break }
                        oIdx[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return y
    }
}

/// `MaxPool`: maximum over N-D sliding windows of `X` [N, C, D1…Dn] with
/// kernel_shape, strides, pads, auto_pad, dilations and ceil_mode. Padding never
/// wins the maximum. The optional `Indices` output is not supported.
public enum MaxPoolOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, outputs: 1...2,
                                        attributes: ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                                                     "storage_order", "strides"],
                                        sinceOpset: 1, summary: "max over sliding windows")

    public static func validate(_ node: Node) throws {
        try Pooling.validate(node)
        let so = try node.int("storage_order", default: 0)
        if so == 1 { throw node.error(.unsupported, "attribute storage_order=1 (column-major Indices) is not supported") }
        guard so == 0 else { throw node.error(.invalidModel, "attribute storage_order=\(so) must be 0 or 1") }
        if node.outputs.count > 1 && !node.outputs[1].isEmpty {
            throw node.error(.unsupported, "the Indices output is not supported")
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input X is missing") }
        let win = try Pooling.geometry(node, x: x.shape)
        let y = ValueInfo(dtype: x.dtype, shape: [x.shape[0], x.shape[1]] + win.output)
        if node.outputs.count > 1 {
            return [y, ValueInfo(dtype: .i64, shape: y.shape)]
        }
        return [y]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        var result: [Tensor] = []
        if let win = try? Pooling.geometry(node, x: x.shape) {
            let y = Pooling.run(x.floats, shape: x.shape, window: win, kind: .max)
            if x.dtype.isFloating {
                result.append(Tensor(shape: outputs[0].shape, floats: y, dtype: x.dtype))
            } else {
                // Integer (e.g. uint8) data: the maximum is one of the inputs, exact in Float for 8/16-bit types.
                result.append(Tensor(shape: outputs[0].shape, ints: y.map { Pooling.clampToInt($0, x.dtype) }, dtype: x.dtype))
            }
        } else {
            result.append(Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype))
        }
        for o in outputs.dropFirst() { result.append(Tensor(zeros: o.shape, dtype: o.dtype)) }
        return result
    }
}
