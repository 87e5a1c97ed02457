import CBLAS
import UnirtIR

/// Gemm and MatMul through OpenBLAS sgemm, spread over the worker pool (ParallelBLAS).
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
