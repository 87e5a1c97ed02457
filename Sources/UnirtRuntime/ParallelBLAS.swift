import CBLAS

/// OpenBLAS calls spread over unirt's worker pool.
///
/// OpenBLAS runs single-threaded inside unirt (`Session` sets it once): its
/// own threads spin after every call and would fight the pool's threads for
/// the same cores. Instead each product is cut into one slab per thread —
/// columns of C when it is wide enough, else rows — and every slab is an
/// independent single-threaded sgemm on its thread.
enum ParallelBLAS {
    /// Products smaller than this many multiply-adds run on one thread.
    static let minParallelWork = 1 << 17

    /// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C, like `cblas_sgemm`.
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
        let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
        let parts = m * n * k < minParallelWork ? 1 : min(threads, max(n / 16, m / 8, 1))
        if parts <= 1 {
            cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                        beta, c, Int32(ldc))
            return
        }
        let (sa, sb, sc) = (UncheckedSendable(a), UncheckedSendable(b), UncheckedSendable(c))
        if n >= 16 * parts {
            // Column slabs, each a multiple of 16 wide but the last.
            let step = (n / parts + 15) / 16 * 16
            parallelFor(parts, threads: parts) { r in
                for t in r {
                    let j0 = min(n, t * step), j1 = t == parts - 1 ? n : min(n, (t + 1) * step)
                    guard j0 < j1 else { continue }
                    let bj = transB ? sb.value + j0 * ldb : sb.value + j0
                    cblas_sgemm(CblasRowMajor, ta, tb, Int32(m), Int32(j1 - j0), Int32(k), alpha, sa.value, Int32(lda),
                                bj, Int32(ldb), beta, sc.value + j0, Int32(ldc))
                }
            }
        } else {
            parallelFor(m, threads: parts) { r in
                let ai = transA ? sa.value + r.lowerBound : sa.value + r.lowerBound * lda
                cblas_sgemm(CblasRowMajor, ta, tb, Int32(r.count), Int32(n), Int32(k), alpha, ai, Int32(lda),
                            sb.value, Int32(ldb), beta, sc.value + r.lowerBound * ldc, Int32(ldc))
            }
        }
    }

    /// y[n] = alpha·(x[k] · op(B)) + beta·y for one row x: B is [k][n]
    /// (`transB` false) or [n][k] (`transB` true), x read with stride `incx`.
    static func rowTimesMatrix(transB: Bool, n: Int, k: Int, alpha: Float, b: UnsafePointer<Float>, ldb: Int,
                               x: UnsafePointer<Float>, incx: Int, beta: Float, y: UnsafeMutablePointer<Float>,
                               threads: Int) {
        let parts = n * k < minParallelWork ? 1 : min(threads, max(n / 64, 1))
        let (sb, sx, sy) = (UncheckedSendable(b), UncheckedSendable(x), UncheckedSendable(y))
        parallelFor(n, threads: parts) { r in
            if transB {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(r.count), Int32(k), alpha, sb.value + r.lowerBound * ldb,
                            Int32(ldb), sx.value, Int32(incx), beta, sy.value + r.lowerBound, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(r.count), alpha, sb.value + r.lowerBound,
                            Int32(ldb), sx.value, Int32(incx), beta, sy.value + r.lowerBound, 1)
            }
        }
    }
}
