import UnirtIR
import CBLAS

/// GEMM-based kernels for Gemm and MatMul (OpenBLAS sgemm).
enum CPUGemm {
    /// ONNX Gemm: Y = alpha * A' * B' + beta * C, A' and B' optionally transposed.
    static let gemm: Kernel = { node, inputs, outputs in
        let a = inputs[0]!, b = inputs[1]!
        let transA = (try? node.int("transA", default: 0)) ?? 0 != 0
        let transB = (try? node.int("transB", default: 0)) ?? 0 != 0
        let alpha = (try? node.float("alpha", default: 1)) ?? 1
        let beta = (try? node.float("beta", default: 1)) ?? 1
        let m = outputs[0].shape[0], n = outputs[0].shape[1]
        let k = transA ? a.shape[0] : a.shape[1]
        var y = [Float](repeating: 0, count: m * n)
        var betaUsed: Float = 0
        if let c = inputs.count > 2 ? inputs[2] : nil, beta != 0 {
            // Broadcast C into Y first, then let sgemm accumulate with beta.
            let cv = c.floats
            let st = Shapes.broadcastStrides(c.shape, to: [m, n])
            for i in 0..<m { for j in 0..<n { y[i * n + j] = cv[i * st[0] + j * st[1]] } }
            betaUsed = beta
        }
        let av = a.floats, bv = b.floats
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, av, Int32(a.shape[1]), bv, Int32(b.shape[1]),
                    betaUsed, &y, Int32(n))
        return [Tensor(shape: [m, n], floats: y)]
    }

    /// MatMul of a rank ≥ 2 activation by a 2-D matrix: one sgemm over all leading rows.
    static let matMul: Kernel = { node, inputs, outputs in
        let a = inputs[0]!, b = inputs[1]!
        let k = b.shape[0], n = b.shape[1]
        let m = a.count / k
        var y = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a.floats, Int32(k), b.floats, Int32(n), 0, &y, Int32(n))
        return [Tensor(shape: outputs[0].shape, floats: y)]
    }
}
