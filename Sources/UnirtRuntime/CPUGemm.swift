import CBLAS
import CUnirtKernels
import UnirtIR

/// Gemm and MatMul through OpenBLAS sgemm, spread over the worker pool (ParallelBLAS);
/// the fully connected layers of int8 plans (Gemm with `input_scale`) on the int8 GEMM.
enum CPUGemm {
    static func buildGemm(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        if let scale = FusedConvOp.inputScale(node) { return buildInt8Gemm(node, inputs, outputs, options, inputScale: scale) }
        guard let a = inputs[0], let b = inputs[1], a.shape.count == 2, b.shape.count == 2 else { return nil }
        let transA = (try? node.int("transA", default: 0)) ?? 0 != 0
        let transB = (try? node.int("transB", default: 0)) ?? 0 != 0
        let alpha = (try? node.float("alpha", default: 1)) ?? 1
        let beta = (try? node.float("beta", default: 1)) ?? 1
        let m = outputs[0].shape[0], n = outputs[0].shape[1]
        let k = transA ? a.shape[0] : a.shape[1]
        let lda = a.shape[1], ldb = b.shape[1]
        // C broadcast into Y before sgemm accumulates with beta; strides computed once.
        var cStrides: [Int]? = nil
        if inputs.count > 2, let c = inputs[2], beta != 0 {
            cStrides = Shapes.broadcastStrides(c.shape, to: [m, n])
        }
        let cs = cStrides
        let threads = max(1, options.threads)
        return CompiledKernel { ins, outs, _ in
            let y = outs[0]
            var betaUsed: Float = 0
            if let cs, let c = ins[2] {
                for i in 0..<m { for j in 0..<n { y[i * n + j] = c[i * cs[0] + j * cs[1]] } }
                betaUsed = beta
            }
            if m == 1 {
                // One row: a matrix-vector product, spread over the threads by columns.
                ParallelBLAS.rowTimesMatrix(transB: transB, n: n, k: k, alpha: alpha, b: ins[1]!, ldb: ldb, x: ins[0]!,
                                            incx: transA ? lda : 1, beta: betaUsed, y: y, threads: threads)
                return
            }
            ParallelBLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ins[0]!, lda: lda,
                               b: ins[1]!, ldb: ldb, beta: betaUsed, c: y, ldc: n, threads: threads)
        }
    }

    /// Y [M, N] = A [M, K] · Bᵀ + C with B [N, K] constant (transB = 1, alpha = beta = 1, C
    /// absent or N constants): B quantized per row on the grid of `weight_levels` (what the
    /// plan stores, so the integers come back exactly), A transposed to [K][M] and quantized
    /// while packed, the product on the int8 GEMM (quad layout with VNNI or 7-bit weights,
    /// else int16 pairs; exact in int32) with `acc · s_x · s_w[n]` + C in its epilogue, rows of
    /// B spread over the threads. Declines (reference kernel) any other form.
    static func buildInt8Gemm(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions,
                              inputScale: Float) -> CompiledKernel? {
        guard let a = inputs[0], a.shape.count == 2, let w = options.constants[1], w.shape.count == 2, w.dtype == .f32,
              ((try? node.int("transA", default: 0)) ?? 1) == 0, ((try? node.int("transB", default: 0)) ?? 0) == 1,
              ((try? node.float("alpha", default: 1)) ?? 0) == 1, ((try? node.float("beta", default: 1)) ?? 0) == 1
        else { return nil }
        let m = a.shape[0], k = a.shape[1], n = w.shape[0]
        guard w.shape[1] == k, outputs[0].shape == [m, n], k <= Int(UNIRT_GEMM_U8S8_MAX_K) else { return nil }
        let hasBias = inputs.count > 2 && inputs[2] != nil
        if hasBias { guard let c = options.constants[2], c.count == n else { return nil } }
        let (q, rowScale) = CPUInt8Conv.quantizeRows(w.floats, rows: n, per: k, levels: CPUInt8Conv.weightLevels(node),
                                                     inputScale: inputScale)
        guard let weights = CPUInt8Conv.packedWeights(q, rowScale: rowScale, groups: 1, rows: n, k: k, slope: nil) else {
            return nil
        }
        let quad = weights.quad
        // Scratch: Aᵀ [K][M] floats, then the packed X, then Yᵀ [N][M] floats.
        let xBytes = quad ? unirt_gemm_u8s8q_x_size(k, m) : unirt_gemm_u8s8_x_size(k, m)
        let xFloats = (xBytes + 63) / 64 * 16
        let aT = (k * m + 15) / 16 * 16
        let mr = quad ? Int(UNIRT_GEMM_U8S8Q_MR) : Int(UNIRT_GEMM_U8S8_MR)
        let blocks = (n + mr - 1) / mr
        let threads = max(1, min(options.threads, blocks))
        return CompiledKernel(scratchFloats: aT + xFloats + n * m + 16) { ins, outs, scratch in
            let x = ins[0]!
            for i in 0..<m { for kk in 0..<k { scratch[kk * m + i] = x[i * k + kk] } }
            let px = UnsafeMutableRawPointer(scratch + aT)
            if quad {
                unirt_gemm_u8s8q_pack_x_f32(scratch, m, k, m, inputScale, px)
            } else {
                unirt_gemm_u8s8_pack_x_f32(scratch, m, k, m, inputScale, px)
            }
            let yT = UncheckedSendable(scratch + aT + xFloats), pxs = UncheckedSendable(px)
            let bias = UncheckedSendable(hasBias ? ins[2] : nil)
            weights.rowScale.withUnsafeBufferPointer { rs in
                let rsp = UncheckedSendable(rs.baseAddress!)
                parallelFor(threads, threads: threads) { range in
                    for t in range {
                        let r0 = blocks * t / threads * mr, r1 = min(n, blocks * (t + 1) / threads * mr)
                        guard r1 > r0 else { continue }
                        var ep = unirt_epilogue(bias: bias.value, residual: nil, residual_after_activation: 0,
                                                activation: Int32(UNIRT_ACT_NONE), alpha: 0, beta: 0, slope: nil)
                        if quad {
                            (weights.sevenBit ? unirt_gemm_u8s8q7_compute_f32 : unirt_gemm_u8s8q_compute_f32)(
                                weights.packed, pxs.value, r0, r1, k, m, rsp.value, &ep, yT.value, m)
                        } else {
                            unirt_gemm_u8s8_compute_f32(weights.packed, pxs.value, r0, r1, k, m, rsp.value, &ep, yT.value, m)
                        }
                    }
                }
            }
            let y = outs[0]
            for r in 0..<n { for i in 0..<m { y[i * n + r] = yT.value[r * m + i] } }
        }
    }

    static func buildMatMul(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let a = inputs[0], let b = inputs[1], a.shape.count >= 2, b.shape.count == 2 else { return nil }
        let k = b.shape[0], n = b.shape[1]
        let m = a.count / k
        let threads = max(1, options.threads)
        return CompiledKernel { ins, outs, _ in
            ParallelBLAS.sgemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ins[0]!, lda: k,
                               b: ins[1]!, ldb: n, beta: 0, c: outs[0], ldc: n, threads: threads)
        }
    }
}
