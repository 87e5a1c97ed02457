import CBLAS
import UnirtIR

/// Gemm and MatMul through OpenBLAS sgemm.
enum CPUGemm {
    static func buildGemm(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
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
        return CompiledKernel { ins, outs, _ in
            let y = outs[0]
            var betaUsed: Float = 0
            if let cs, let c = ins[2] {
                for i in 0..<m { for j in 0..<n { y[i * n + j] = c[i * cs[0] + j * cs[1]] } }
                betaUsed = beta
            }
            if m == 1 {
                // One row: a matrix-vector product, which OpenBLAS spreads over its threads.
                if transB {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, ins[1], Int32(ldb),
                                ins[0], 1, betaUsed, y, 1)
                } else {
                    cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, ins[1], Int32(ldb),
                                ins[0], transA ? Int32(lda) : 1, betaUsed, y, 1)
                }
                return
            }
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, ins[0], Int32(lda), ins[1], Int32(ldb),
                        betaUsed, y, Int32(n))
        }
    }

    static func buildMatMul(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let a = inputs[0], let b = inputs[1], a.shape.count >= 2, b.shape.count == 2 else { return nil }
        let k = b.shape[0], n = b.shape[1]
        let m = a.count / k
        return CompiledKernel { ins, outs, _ in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                        1, ins[0], Int32(k), ins[1], Int32(n), 0, outs[0], Int32(n))
        }
    }
}
