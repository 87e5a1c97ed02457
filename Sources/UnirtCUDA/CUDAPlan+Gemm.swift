import CCUDA
import UnirtIR

extension CUDAPlan {
    /// The plan's cuBLASLt handle, created on first use.
    func lt() throws -> cublasLtHandle_t {
        if let h = ltHandle { return h }
        var h: cublasLtHandle_t?
        try libs.checkLt(libs.cublasLt.cublasLtCreate!(&h), "cublasLtCreate")
        ltHandle = h
        return h!
    }

    /// Workspace offered to cuBLASLt's heuristic.
    static let gemmWorkspace = 32 << 20

    /// Gemm and 2-D-weight MatMul through cuBLASLt with float accumulation; a
    /// bias vector rides the BIAS epilogue, any other C is expanded to [M, N].
    ///
    /// Row-major Y[M,N] = A'[M,K]·B'[K,N] is computed as column-major
    /// Yᵀ[N,M] = B'ᵀ·A'ᵀ, so cuBLASLt's A is the model's B and vice versa.
    func lowerGemm(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                   ptr: (String) throws -> CUdeviceptr) throws -> String {
        func refuse(_ why: String) -> CUDAError { CUDAError(.unsupported, "\(node.opType) '\(node.name)': \(why)") }
        let aShape = info(node.inputs[0]).shape, bShape = info(node.inputs[1]).shape
        var m: Int, k: Int, n: Int, transA = false, transB = false
        var alpha: Float = 1, beta: Float = 1
        if node.op == .matMul {
            guard bShape.count == 2, aShape.count >= 2 else { throw refuse("only [..., M, K] × [K, N] is supported") }
            k = aShape.last!; m = aShape.dropLast().reduce(1, *); n = bShape[1]
        } else {
            transA = try node.int("transA", default: 0) == 1
            transB = try node.int("transB", default: 0) == 1
            (m, k, n) = try GemmOp.dims(node, a: aShape, b: bShape, c: node.inputs.count > 2 && !node.inputs[2].isEmpty ? info(node.inputs[2]).shape : nil)
            alpha = try node.float("alpha", default: 1)
            beta = try node.float("beta", default: 1)
        }
        let api = libs.cublasLt
        let h = try lt()
        let dtype = Int32(precision.isHalf ? UNIRT_CUDA_R_16F : UNIRT_CUDA_R_32F)
        var desc: cublasLtMatmulDesc_t?
        try libs.checkLt(api.cublasLtMatmulDescCreate!(&desc, Int32(UNIRT_CUBLAS_COMPUTE_32F),
                                                       Int32(UNIRT_CUDA_R_32F)), "matmul descriptor of \(node.name)")
        func set<T>(_ attr: Int32, _ v: T) throws {
            var v = v
            try libs.checkLt(api.cublasLtMatmulDescSetAttribute!(desc, attr, &v, MemoryLayout<T>.size), "matmul attribute \(attr) of \(node.name)")
        }
        let opN = Int32(UNIRT_CUBLAS_OP_N), opT = Int32(UNIRT_CUBLAS_OP_T)
        try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_TRANSA), transB ? opT : opN)
        try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_TRANSB), transA ? opT : opN)
        func layout(rows: Int, cols: Int) throws -> cublasLtMatrixLayout_t {
            var l: cublasLtMatrixLayout_t?
            try libs.checkLt(api.cublasLtMatrixLayoutCreate!(&l, dtype, UInt64(rows), UInt64(cols), Int64(rows)), "matrix layout of \(node.name)")
            return l!
        }
        // Column-major views of the row-major operands.
        let la = try layout(rows: bShape[1], cols: bShape[0])
        let lb = try layout(rows: transA ? m : k, cols: transA ? k : m)
        let ld = try layout(rows: n, cols: m)

        var cPtr: CUdeviceptr = 0
        var betaUsed: Float = 0
        let cName = node.op == .gemm && node.inputs.count > 2 ? node.inputs[2] : ""
        if !cName.isEmpty {
            guard let c = constant(cName) else { throw refuse("C must be constant") }
            let cs = c.shape
            if cs == [n] || cs == [1, n] {
                let bias = try upload(floats: c.floats.map { $0 * beta })
                try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_EPILOGUE), Int32(UNIRT_CUBLASLT_EPILOGUE_BIAS))
                try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_BIAS_POINTER), UInt64(bias))
            } else {
                // Broadcast C to [M, N] once, at build time.
                let v = c.floats
                let rows = cs.count == 2 ? cs[0] : 1, cols = cs.last ?? 1
                var full = [Float](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n { full[i * n + j] = v[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)] } }
                cPtr = try upload(floats: full)
                betaUsed = beta
            }
        }
        let algo = try matmulAlgorithm(h, desc, la, lb, ld, node: node, shape: "\(m)×\(k)×\(n)")
        let scalars = KernelArgs([.f32(alpha), .f32(betaUsed)])
        argPacks.append(scalars)
        let aPtr = try ptr(node.inputs[0]), bPtr = try ptr(node.inputs[1]), yPtr = try ptr(node.outputs[0])
        let cIn = cPtr != 0 ? cPtr : yPtr
        let lib = self.libs, stream = self.stream
        func raw(_ p: CUdeviceptr) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(p)) }
        addStep("cublasLt") { [unowned self] in
            try lib.checkLt(api.cublasLtMatmul!(h, desc, scalars.pointers[0], raw(bPtr), la, raw(aPtr), lb, scalars.pointers[1],
                                                 raw(cIn), ld, raw(yPtr), ld, algo, raw(self.workspace), self.workspaceBytes, stream),
                             "GEMM \(node.name)")
        }
        return "cublasLt \(m)×\(k)×\(n)"
    }

    /// cuBLASLt's first heuristic algorithm for a matmul (D laid out like C) within the plan's
    /// GEMM workspace; the workspace grows to what it needs and the algorithm lives as long as the plan.
    private func matmulAlgorithm(_ h: cublasLtHandle_t?, _ desc: cublasLtMatmulDesc_t?, _ la: cublasLtMatrixLayout_t?,
                                 _ lb: cublasLtMatrixLayout_t?, _ ld: cublasLtMatrixLayout_t?, node: Node,
                                 shape: String) throws -> UnsafeMutablePointer<cublasLtMatmulAlgo_t> {
        let api = libs.cublasLt
        var pref: cublasLtMatmulPreference_t?
        try libs.checkLt(api.cublasLtMatmulPreferenceCreate!(&pref), "matmul preference")
        var wsLimit = UInt64(Self.gemmWorkspace)
        try libs.checkLt(api.cublasLtMatmulPreferenceSetAttribute!(pref, Int32(UNIRT_CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES),
                                                                   &wsLimit, 8), "matmul preference workspace")
        var result = cublasLtMatmulHeuristicResult_t()
        var count: Int32 = 0
        try libs.checkLt(api.cublasLtMatmulAlgoGetHeuristic!(h, desc, la, lb, ld, ld, pref, 1, &result, &count),
                         "choosing a GEMM algorithm for \(node.name)")
        guard count > 0 else { throw CUDAError(.api, "\(node.opType) '\(node.name)': cuBLASLt has no algorithm for \(shape)") }
        try ensureWorkspace(result.workspaceSize)
        let algo = UnsafeMutablePointer<cublasLtMatmulAlgo_t>.allocate(capacity: 1)
        algo.initialize(to: result.algo)
        algoBlobs.append(algo)
        return algo
    }

    /// A 1×1 convolution over NHWC data as one GEMM: Y[rows, n] = X[rows, k] · W[n, k]ᵀ (+ bias per
    /// output channel through cuBLASLt's BIAS epilogue), with `w` the filters [n, k] in the plan's
    /// precision. In column-major terms Yᵀ[n, rows] = op_T(W view [k, n]) · X view [k, rows].
    func gemmConv1x1Step(_ node: Node, rows: Int, k: Int, n: Int, x: CUdeviceptr, w: CUdeviceptr, bias: [Float]?,
                         y: CUdeviceptr) throws -> String {
        let api = libs.cublasLt
        let h = try lt()
        let dtype = Int32(precision.isHalf ? UNIRT_CUDA_R_16F : UNIRT_CUDA_R_32F)
        var desc: cublasLtMatmulDesc_t?
        try libs.checkLt(api.cublasLtMatmulDescCreate!(&desc, Int32(UNIRT_CUBLAS_COMPUTE_32F), Int32(UNIRT_CUDA_R_32F)),
                         "matmul descriptor of \(node.name)")
        func set<T>(_ attr: Int32, _ v: T) throws {
            var v = v
            try libs.checkLt(api.cublasLtMatmulDescSetAttribute!(desc, attr, &v, MemoryLayout<T>.size), "matmul attribute \(attr) of \(node.name)")
        }
        try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_TRANSA), Int32(UNIRT_CUBLAS_OP_T))
        try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_TRANSB), Int32(UNIRT_CUBLAS_OP_N))
        if let bias {
            let b = try upload(floats: bias)
            try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_EPILOGUE), Int32(UNIRT_CUBLASLT_EPILOGUE_BIAS))
            try set(Int32(UNIRT_CUBLASLT_MATMUL_DESC_BIAS_POINTER), UInt64(b))
        }
        func layout(rows r: Int, cols c: Int) throws -> cublasLtMatrixLayout_t {
            var l: cublasLtMatrixLayout_t?
            try libs.checkLt(api.cublasLtMatrixLayoutCreate!(&l, dtype, UInt64(r), UInt64(c), Int64(r)), "matrix layout of \(node.name)")
            return l!
        }
        let la = try layout(rows: k, cols: n), lb = try layout(rows: k, cols: rows), ld = try layout(rows: n, cols: rows)
        let algo = try matmulAlgorithm(h, desc, la, lb, ld, node: node, shape: "\(rows)×\(k)×\(n)")
        let scalars = KernelArgs([.f32(1), .f32(0)])
        argPacks.append(scalars)
        let lib = self.libs, stream = self.stream
        func raw(_ p: CUdeviceptr) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(p)) }
        addStep("cublasLt 1x1") { [unowned self] in
            try lib.checkLt(api.cublasLtMatmul!(h, desc, scalars.pointers[0], raw(w), la, raw(x), lb, scalars.pointers[1],
                                                 raw(y), ld, raw(y), ld, algo, raw(self.workspace), self.workspaceBytes, stream),
                             "GEMM \(node.name)")
        }
        return "cublasLt 1x1 as \(rows)×\(k)×\(n) GEMM"
    }
}
