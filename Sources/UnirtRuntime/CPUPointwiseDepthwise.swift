import CUnirtKernels
import UnirtIR

/// `FusedPointwiseDepthwise` over NCHW float32: `unirt_pwdw_compute` on bands
/// of output rows, the rows of all samples split evenly over the threads (each
/// with its own ring buffer). Declines (reference kernel) when a weight, bias
/// or slope is not constant or a shape is outside what the kernel takes.
enum CPUPointwiseDepthwise {
    static func build(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], x.shape.count == 4, let w1 = options.constants[1], let w2 = options.constants[3],
              w1.dtype == .f32, w2.dtype == .f32, w1.shape.count == 4, w2.shape.count == 4,
              let shapes = try? FusedPointwiseDepthwiseOp.stageShapes(node, inputs) else { return nil }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let m = w1.shape[0]
        let dwShape = shapes[1].shape
        let strides = ((try? node.ints("strides")) ?? nil) ?? [1, 1]
        let pads = ((try? node.ints("pads")) ?? nil) ?? [0, 0, 0, 0]
        guard w1.shape == [m, c, 1, 1], strides.count == 2, pads.count == 4, strides.allSatisfy({ $0 == 1 || $0 == 2 }),
              outputs[0].shape == shapes[2].shape else { return nil }

        /// A per-channel constant (bias or slope), a scalar slope expanded; nil when absent.
        func channelConstant(_ i: Int) -> FloatBuffer?? {
            guard node.hasInput(i) else { return .some(nil) }
            guard let t = options.constants[i], t.dtype == .f32, t.count == m || t.count == 1 else { return nil }
            let buf = FloatBuffer(count: m)
            let v = t.floats
            for k in 0..<m { buf.pointer[k] = v.count == 1 ? v[0] : v[k] }
            return .some(buf)
        }
        guard let b1 = channelConstant(2), let b2 = channelConstant(4), let s1 = channelConstant(5),
              let s2 = channelConstant(6) else { return nil }

        func activation(prefix: String) -> (code: Int32, alpha: Float, beta: Float)? {
            var renamed = node
            for name in ["activation", "activation_alpha", "activation_beta"] {
                renamed.attributes[name] = node.attributes[prefix + name]
            }
            let (kind, alpha, beta) = FusedConvOp.activation(renamed)
            guard let code = Epilogue.activationCode(kind) else { return nil }
            return (code, alpha, beta)
        }
        guard let a1 = activation(prefix: "pointwise_"), let a2 = activation(prefix: "") else { return nil }
        if a1.code == Int32(UNIRT_ACT_PRELU) && s1 == nil || a2.code == Int32(UNIRT_ACT_PRELU) && s2 == nil { return nil }

        let packed = FloatBuffer(count: unirt_conv_gemm_packed_floats(m, c))
        w1.floats.withUnsafeBufferPointer { unirt_conv_gemm_pack_weights($0.baseAddress, m, c, packed.pointer) }
        let dwWeights = FloatBuffer(count: m * 9)
        w2.floats.withUnsafeBufferPointer { dwWeights.pointer.update(from: $0.baseAddress!, count: m * 9) }
        let keep = [packed, dwWeights] + [b1, b2, s1, s2].compactMap { $0 }

        let pool: Int32 = ((try? node.int("pool", default: 0)) ?? 0) == 1 ? 1 : 0
        let geometry = unirt_conv2d_geometry(in_h: h, in_w: w, out_h: dwShape[2], out_w: dwShape[3], kernel_h: 3, kernel_w: 3,
                                             stride_h: strides[0], stride_w: strides[1], dilation_h: 1, dilation_w: 1,
                                             pad_top: pads[0], pad_left: pads[1], pad_bottom: pads[2], pad_right: pads[3])
        let pwEp = unirt_epilogue(bias: b1.map { UnsafePointer($0.pointer) }, residual: nil, residual_after_activation: 0,
                                  activation: a1.code, alpha: a1.alpha, beta: a1.beta,
                                  slope: s1.map { UnsafePointer($0.pointer) })
        let dwEp = unirt_epilogue(bias: b2.map { UnsafePointer($0.pointer) }, residual: nil, residual_after_activation: 0,
                                  activation: a2.code, alpha: a2.alpha, beta: a2.beta,
                                  slope: s2.map { UnsafePointer($0.pointer) })
        let epilogues = UnsafeMutablePointer<unirt_epilogue>.allocate(capacity: 2)
        epilogues[0] = pwEp
        epilogues[1] = dwEp
        let params = UnsafeMutablePointer<unirt_pwdw_params>.allocate(capacity: 1)
        params.pointee = unirt_pwdw_params(in_channels: c, channels: m, pw_packed: packed.pointer, pw_ep: epilogues,
                                           dw_weights: dwWeights.pointer, dw_ep: epilogues + 1, dw: geometry, pool: pool)
        let owner = ParamsOwner(params: params, epilogues: epilogues, buffers: keep)

        let outH = unirt_pwdw_out_h(params), outW = unirt_pwdw_out_w(params)
        guard outH == outputs[0].shape[2], outW == outputs[0].shape[3] else { return nil }
        let perThread = unirt_pwdw_scratch_floats(params)
        let totalRows = n * outH
        let parts = max(1, min(options.threads, totalRows))
        let inPlane = c * h * w, outPlane = m * outH * outW
        return CompiledKernel(scratchFloats: perThread * parts) { ins, outs, scratch in
            let x = UncheckedSendable(ins[0]!), y = UncheckedSendable(outs[0]), sc = UncheckedSendable(scratch)
            parallelFor(parts, threads: parts) { r in
                for t in r {
                    // Rows [begin, end) of all samples' output rows, one sample at a time.
                    var row = totalRows * t / parts
                    let end = totalRows * (t + 1) / parts
                    while row < end {
                        let sample = row / outH, first = row % outH
                        let last = min(outH, first + (end - row))
                        unirt_pwdw_compute(owner.params, x.value + sample * inPlane, y.value + sample * outPlane,
                                           first, last, sc.value + t * perThread)
                        row += last - first
                    }
                }
            }
        }
    }

    /// Keeps the kernel's parameter block and the constants it points to alive
    /// for as long as the compiled kernel.
    final class ParamsOwner: @unchecked Sendable {
        // Written once at build time; read-only afterwards.
        let params: UnsafeMutablePointer<unirt_pwdw_params>
        let epilogues: UnsafeMutablePointer<unirt_epilogue>
        let buffers: [FloatBuffer]

        init(params: UnsafeMutablePointer<unirt_pwdw_params>, epilogues: UnsafeMutablePointer<unirt_epilogue>,
             buffers: [FloatBuffer]) {
            self.params = params
            self.epilogues = epilogues
            self.buffers = buffers
        }

        deinit {
            params.deallocate()
            epilogues.deallocate()
        }
    }
}
