import CUnirtKernels
import UnirtIR

/// 2-D pooling, resize, pad and instance normalization over NCHW float32,
/// through the SIMD kernels; each splits its channels across threads.
enum CPUPooling {
    /// Channels of all samples as one range: kernels see one sample at a time.
    static func perChannel(_ n: Int, _ c: Int, threads: Int, work: Int,
                           _ body: @escaping @Sendable (_ sample: Int, _ range: Range<Int>) -> Void) {
        for b in 0..<n {
            parallelFor(c, threads: work > 1 << 15 ? threads : 1) { r in body(b, r) }
        }
    }

    static func buildPool(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], x.shape.count == 4, node.outputs.count == 1 else { return nil }
        let out = outputs[0].shape
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let threads = options.threads
        if node.op == .globalAveragePool {
            return CompiledKernel { ins, outs, _ in
                let xp = UncheckedSendable(ins[0]!), yp = UncheckedSendable(outs[0])
                perChannel(n, c, threads: threads, work: c * h * w) { b, r in
                    unirt_global_avgpool_compute(xp.value + b * c * h * w, h * w, yp.value + b * c, r.lowerBound, r.upperBound)
                }
            }
        }
        guard let win = try? Pooling.geometry(node, x: x.shape), win.kernel.count == 2 else { return nil }
        let g = unirt_conv2d_geometry(in_h: h, in_w: w, out_h: out[2], out_w: out[3], kernel_h: win.kernel[0],
                                      kernel_w: win.kernel[1], stride_h: win.strides[0], stride_w: win.strides[1],
                                      dilation_h: win.dilations[0], dilation_w: win.dilations[1],
                                      pad_top: win.padsBegin[0], pad_left: win.padsBegin[1],
                                      pad_bottom: win.padsEnd[0], pad_right: win.padsEnd[1])
        let inPlane = h * w, outPlane = out[2] * out[3]
        let includePad = Int32((try? node.int("count_include_pad", default: 0)) ?? 0)
        let isMax = node.op == .maxPool
        return CompiledKernel { ins, outs, _ in
            let xp = UncheckedSendable(ins[0]!), yp = UncheckedSendable(outs[0])
            perChannel(n, c, threads: threads, work: c * outPlane * win.kernel[0] * win.kernel[1]) { b, r in
                withUnsafePointer(to: g) { gp in
                    if isMax {
                        unirt_maxpool_compute(xp.value + b * c * inPlane, gp, yp.value + b * c * outPlane, r.lowerBound, r.upperBound)
                    } else {
                        unirt_avgpool_compute(xp.value + b * c * inPlane, gp, includePad, yp.value + b * c * outPlane,
                                              r.lowerBound, r.upperBound)
                    }
                }
            }
        }
    }

    /// Nearest Resize/Upsample on the two spatial axes; index tables come from
    /// running the reference kernel on coordinate images, so every coordinate
    /// mode and rounding rule matches the oracle exactly.
    static func buildResize(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], x.shape.count == 4 else { return nil }
        let mode = (try? node.string("mode", default: "nearest")) ?? "nearest"
        guard mode == "nearest" else { return nil }
        let out = outputs[0].shape
        guard out[0] == x.shape[0], out[1] == x.shape[1] else { return nil }
        let (n, c, h, w, oh, ow) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], out[2], out[3])
        // Coordinate images: rows hold their row index, columns their column index.
        var probeInputs: [Tensor?] = [nil] + (1..<inputs.count).map { options.constants[$0] }
        if inputs.count > 1 {
            for i in 1..<inputs.count where inputs[i] != nil && probeInputs[i] == nil { return nil }
        }
        if node.op == .resize, inputs.count > 3, let sizes = probeInputs[3] {
            var s = sizes.ints
            guard s.count == 4 else { return nil }
            s[0] = 1; s[1] = 1
            probeInputs[3] = Tensor(shape: sizes.shape, ints: s, dtype: sizes.dtype)
        }
        func probe(_ values: [Float]) -> [Float]? {
            var ins = probeInputs
            ins[0] = Tensor(shape: [1, 1, h, w], floats: values)
            let outInfo = [ValueInfo(dtype: .f32, shape: [1, 1, oh, ow])]
            let r = node.op.definition.reference(node, ins, outInfo)
            return r.first?.shape == [1, 1, oh, ow] ? r[0].floats : nil
        }
        guard let rowsImg = probe((0..<h * w).map { Float($0 / w) }),
              let colsImg = probe((0..<h * w).map { Float($0 % w) }) else { return nil }
        let rows = (0..<oh).map { Int32(rowsImg[$0 * ow]) }
        let cols = (0..<ow).map { Int32(colsImg[$0]) }
        guard rows.allSatisfy({ $0 >= 0 && $0 < h }), cols.allSatisfy({ $0 >= 0 && $0 < w }) else { return nil }
        let threads = options.threads
        let fh = oh / h, fw = ow / w
        let integer = oh == h * fh && ow == w * fw && rows == (0..<oh).map { Int32($0 / fh) } && cols == (0..<ow).map { Int32($0 / fw) }
        return CompiledKernel { ins, outs, _ in
            let xp = UncheckedSendable(ins[0]!), yp = UncheckedSendable(outs[0])
            perChannel(n, c, threads: threads, work: c * oh * ow) { b, r in
                let xb = xp.value + b * c * h * w, yb = yp.value + b * c * oh * ow
                if integer {
                    unirt_resize_nearest_int_compute(xb, h, w, fh, fw, yb, r.lowerBound, r.upperBound)
                } else {
                    rows.withUnsafeBufferPointer { rp in
                        cols.withUnsafeBufferPointer { cp in
                            unirt_resize_nearest_table_compute(xb, h, w, rp.baseAddress, oh, cp.baseAddress, ow, yb,
                                                               r.lowerBound, r.upperBound)
                        }
                    }
                }
            }
        }
    }

    /// Pad of the two spatial axes of NCHW (constant, reflect, edge; non-negative pads).
    static func buildPad(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], x.shape.count == 4 else { return nil }
        let pads: [Int]
        var value: Float = 0
        if node.opset < 11 {
            guard let p = (try? node.ints("pads")) ?? nil else { return nil }
            pads = p
            value = (try? node.float("value", default: 0)) ?? 0
        } else {
            guard inputs.count > 1, let p = options.constants[1] else { return nil }
            pads = p.ints.map { Int($0) }
            if inputs.count > 2, inputs[2] != nil {
                guard let v = options.constants[2] else { return nil }
                value = v.floats.first ?? 0
            }
            if inputs.count > 3, inputs[3] != nil { return nil }
        }
        guard pads.count == 8, pads.allSatisfy({ $0 >= 0 }), pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0 else { return nil }
        let modeName = (try? node.string("mode", default: "constant")) ?? "constant"
        let mode: Int32
        switch modeName {
        case "constant": mode = Int32(UNIRT_PAD_CONSTANT)
        case "reflect":
            guard pads[2] < x.shape[2], pads[6] < x.shape[2], pads[3] < x.shape[3], pads[7] < x.shape[3] else { return nil }
            mode = Int32(UNIRT_PAD_REFLECT)
        case "edge": mode = Int32(UNIRT_PAD_EDGE)
        default: return nil
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let outPlane = outputs[0].shape[2] * outputs[0].shape[3]
        let threads = options.threads
        let fill = value
        return CompiledKernel { ins, outs, _ in
            let xp = UncheckedSendable(ins[0]!), yp = UncheckedSendable(outs[0])
            perChannel(n, c, threads: threads, work: c * outPlane) { b, r in
                unirt_pad2d_compute(xp.value + b * c * h * w, h, w, pads[2], pads[6], pads[3], pads[7], mode, fill,
                                    yp.value + b * c * outPlane, r.lowerBound, r.upperBound)
            }
        }
    }

    static func buildInstanceNorm(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], x.shape.count >= 3 else { return nil }
        let eps = (try? node.float("epsilon", default: 1e-5)) ?? 1e-5
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2...].reduce(1, *)
        let threads = options.threads
        return CompiledKernel { ins, outs, _ in
            let xp = UncheckedSendable(ins[0]!), yp = UncheckedSendable(outs[0])
            let sp = UncheckedSendable(ins[1]!), bp = UncheckedSendable(ins[2]!)
            perChannel(n, c, threads: threads, work: c * plane) { b, r in
                unirt_instancenorm_compute(xp.value + b * c * plane, plane, sp.value, bp.value, eps, nil,
                                           yp.value + b * c * plane, r.lowerBound, r.upperBound)
            }
        }
    }

    /// Transpose of any rank, as a strided copy.
    static func buildTranspose(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0] else { return nil }
        let rank = x.shape.count
        let perm = ((try? node.ints("perm")) ?? nil) ?? Array((0..<rank).reversed())
        guard perm.count == rank else { return nil }
        let out = outputs[0].shape
        let inStrides = Shapes.strides(x.shape)
        let strides = perm.map { inStrides[$0] }
        let total = out.reduce(1, *)
        // NCHW -> NHWC has a dedicated kernel.
        if rank == 4 && perm == [0, 2, 3, 1] {
            let (n, c, plane) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
            return CompiledKernel { ins, outs, _ in
                for b in 0..<n { unirt_transpose_to_nhwc(ins[0]! + b * c * plane, c, plane, outs[0] + b * c * plane) }
            }
        }
        return CompiledKernel { ins, outs, _ in
            let xp = ins[0]!, y = outs[0]
            var idx = [Int](repeating: 0, count: rank)
            var src = 0
            for o in 0..<total {
                y[o] = xp[src]
                var d = rank - 1
                while d >= 0 {
                    idx[d] += 1
                    src += strides[d]
                    if idx[d] < out[d] { break }
                    src -= strides[d] * out[d]
                    idx[d] = 0
                    d -= 1
                }
            }
        }
    }

    /// Concat as block copies.
    /// Split: each output a contiguous span per outer index (the inverse of Concat's copy);
    /// large ones on every thread, each copying one range of positions along all axes after `axis`.
    static func buildSplit(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], let a = try? node.int("axis", default: 0), let axis = Shapes.axis(a, rank: x.shape.count),
              outputs.reduce(0, { $0 + $1.shape[axis] }) == x.shape[axis] else { return nil }
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let spans = outputs.map { $0.shape[axis] * inner }
        let inSpan = x.shape[axis] * inner
        let sizes = outputs.map { $0.shape[axis] }
        // Large splits copy on every thread, each one range of every run of `inner`
        // values (for NCHW along channels: the same rows of every plane, the way the
        // convolutions before them split their work), not whole outputs per thread.
        let parts = x.count > 1 << 15 && inner >= 64 ? max(1, options.threads) : 1
        return CompiledKernel { ins, outs, _ in
            let xp = UncheckedSendable(ins[0]!), ys = UncheckedSendable(outs)
            parallelFor(parts, threads: parts) { r in
                for t in r {
                    let lo = inner * t / parts, hi = inner * (t + 1) / parts
                    var offset = 0
                    for (i, span) in spans.enumerated() {
                        if span > 0, i < ys.value.count {
                            for o in 0..<outer {
                                for k in 0..<sizes[i] {
                                    (ys.value[i] + o * span + k * inner + lo)
                                        .update(from: xp.value + o * inSpan + offset + k * inner + lo, count: hi - lo)
                                }
                            }
                        }
                        offset += span
                    }
                }
            }
        }
    }

    static func buildConcat(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        let out = outputs[0].shape
        guard let a = try? node.int("axis"), let axis = Shapes.axis(a, rank: out.count) else { return nil }
        let outer = out[..<axis].reduce(1, *)
        let inner = out[(axis + 1)...].reduce(1, *)
        let spans = inputs.map { ($0?.shape[axis] ?? 0) * inner }
        let outSpan = out[axis] * inner
        return CompiledKernel { ins, outs, _ in
            let y = outs[0]
            var offset = 0
            for (i, span) in spans.enumerated() {
                guard let x = ins[i], span > 0 else { continue }
                for o in 0..<outer { (y + o * outSpan + offset).update(from: x + o * span, count: span) }
                offset += span
            }
        }
    }
}
