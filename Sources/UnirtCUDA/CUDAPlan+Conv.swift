import Foundation
import CCUDA
import UnirtIR

extension CUDAPlan {
    /// The plan's cuDNN handle, created on first use and bound to the plan's stream.
    func dnn() throws -> cudnnHandle_t {
        if let h = cudnnHandle { return h }
        var h: cudnnHandle_t?
        try libs.checkDNN(libs.cudnn.cudnnCreate!(&h), "cudnnCreate")
        try libs.checkDNN(libs.cudnn.cudnnSetStream!(h, stream), "cudnnSetStream")
        cudnnHandle = h
        return h!
    }

    /// Largest workspace a convolution algorithm may ask for.
    static let maxConvWorkspace = 256 << 20

    /// Conv / FusedConv (2-D, symmetric padding) through cuDNN, the algorithm
    /// picked by timing at build time; bias, residual and activation in one
    /// elementwise epilogue kernel.
    func lowerConv(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                   ptr: (String) throws -> CUdeviceptr) throws -> String {
        func refuse(_ why: String) -> CUDAError { CUDAError(.unsupported, "\(node.opType) '\(node.name)': \(why)") }
        func input(_ i: Int) -> String { i < node.inputs.count ? node.inputs[i] : "" }
        if node.op == .fusedConv, FusedConvOp.inputScale(node) != nil { throw refuse("int8 convolutions are not supported yet") }
        let x = info(input(0)).shape
        guard let w = constant(input(1)) else { throw refuse("weights must be constant") }
        guard x.count == 4 else { throw refuse("only 2-D convolutions are supported (input \(x))") }
        let win = try ConvOp.geometry(node, x: x, w: w.shape, b: input(2).isEmpty ? nil : info(input(2)).shape)
        guard win.padsBegin == win.padsEnd else {
            throw refuse("asymmetric padding \(win.padsBegin)/\(win.padsEnd) is not supported")
        }
        let group = try node.int("group", default: 1)
        let y = info(node.outputs[0]).shape
        let dn = libs.cudnn
        let h = try dnn()
        let dtype = Int32(precision.isHalf ? UNIRT_CUDNN_DATA_HALF : UNIRT_CUDNN_DATA_FLOAT)
        let nchw = Int32(UNIRT_CUDNN_TENSOR_NCHW)
        var xd: cudnnTensorDescriptor_t?, yd: cudnnTensorDescriptor_t?
        var wd: cudnnFilterDescriptor_t?, cd: cudnnConvolutionDescriptor_t?
        try libs.checkDNN(dn.cudnnCreateTensorDescriptor!(&xd), "cudnnCreateTensorDescriptor")
        try libs.checkDNN(dn.cudnnCreateTensorDescriptor!(&yd), "cudnnCreateTensorDescriptor")
        try libs.checkDNN(dn.cudnnCreateFilterDescriptor!(&wd), "cudnnCreateFilterDescriptor")
        try libs.checkDNN(dn.cudnnCreateConvolutionDescriptor!(&cd), "cudnnCreateConvolutionDescriptor")
        let i32 = { (v: Int) in Int32(v) }
        try libs.checkDNN(dn.cudnnSetTensor4dDescriptor!(xd, nchw, dtype, i32(x[0]), i32(x[1]), i32(x[2]), i32(x[3])), "x descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetTensor4dDescriptor!(yd, nchw, dtype, i32(y[0]), i32(y[1]), i32(y[2]), i32(y[3])), "y descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetFilter4dDescriptor!(wd, dtype, nchw, i32(w.shape[0]), i32(w.shape[1]), i32(w.shape[2]),
                                                          i32(w.shape[3])), "filter descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetConvolution2dDescriptor!(cd, i32(win.padsBegin[0]), i32(win.padsBegin[1]), i32(win.strides[0]),
                                                               i32(win.strides[1]), i32(win.dilations[0]), i32(win.dilations[1]),
                                                               Int32(UNIRT_CUDNN_CROSS_CORRELATION),
                                                               Int32(UNIRT_CUDNN_DATA_FLOAT)), "convolution descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetConvolutionGroupCount!(cd, i32(group)), "group count of \(node.name)")
        let math = precision.isHalf ? UNIRT_CUDNN_TENSOR_OP_MATH : UNIRT_CUDNN_FMA_MATH
        try libs.checkDNN(dn.cudnnSetConvolutionMathType!(cd, Int32(math)), "math type of \(node.name)")

        // Tactic selection: cuDNN times each algorithm on this shape; take the fastest that fits.
        var perf = [cudnnConvolutionFwdAlgoPerf_t](repeating: cudnnConvolutionFwdAlgoPerf_t(), count: 10)
        var returned: Int32 = 0
        try libs.checkDNN(dn.cudnnFindConvolutionForwardAlgorithm!(h, xd, wd, cd, yd, 10, &returned, &perf),
                          "timing convolution algorithms of \(node.name)")
        guard let best = perf.prefix(Int(returned)).first(where: { $0.status == 0 && $0.memory <= Self.maxConvWorkspace }) else {
            throw CUDAError(.api, "\(node.opType) '\(node.name)': cuDNN found no algorithm for input \(x), weights \(w.shape)")
        }
        let wPtr = try ptr(input(1))
        let xPtr = try ptr(input(0)), yPtr = try ptr(node.outputs[0])
        let lib = self.libs

        // Epilogue parameters: bias, residual, activation.
        var act: Int32 = 0, alpha: Float = 0, beta: Float = 0
        var residualBefore: Int32 = 1
        var slope: CUdeviceptr = 0, z: CUdeviceptr = 0, bias: CUdeviceptr = 0
        if !input(2).isEmpty { bias = try ptr(input(2)) }
        if node.op == .fusedConv {
            let a = FusedConvOp.activation(node)
            let codes: [String: Int32] = ["": 0, "Relu": 1, "Sigmoid": 2, "LeakyRelu": 4, "Clip": 5, "HardSigmoid": 6, "PRelu": 16]
            guard let code = codes[a.kind] else { throw refuse("activation \(a.kind) not supported") }
            act = code; alpha = a.alpha; beta = a.beta
            residualBefore = Int32(try node.int("residual_before_activation", default: 1))
            if !input(3).isEmpty { z = try ptr(input(3)) }
            if act == 16 {
                guard let s = constant(input(4)), s.count == y[1] else { throw refuse("PRelu slope must be a constant per channel") }
                slope = try upload(floats: s.floats)
            }
        }

        // cuDNN's fused conv + residual + bias + ReLU/identity (identity only with implicit precomputed GEMM),
        // kept only when a trial call on this shape succeeds.
        let fusable = (act == 1 || (act == 0 && best.algo == Int32(UNIRT_CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)))
            && (z == 0 || residualBefore == 1) && (bias != 0 || z != 0 || act != 0)
        if fusable, let fused = try? fusedConvStep(node: node, h: h, xd: xd!, wd: wd!, cd: cd!, yd: yd!, algo: best.algo,
                                                   workspaceNeed: best.memory, x: xPtr, w: wPtr, y: yPtr, z: z,
                                                   bias: bias, channels: y[1], relu: act == 1) {
            steps.append(fused)
            return "cudnn fused algo \(best.algo), \(String(format: "%.3f", best.time)) ms"
        }

        workspaceBytes = max(workspaceBytes, best.memory)
        let algo = best.algo
        let scalars = KernelArgs([.f32(1), .f32(0)])
        argPacks.append(scalars)
        steps.append { [unowned self] in
            try lib.checkDNN(dn.cudnnConvolutionForward!(h, scalars.pointers[0], xd, UnsafeRawPointer(bitPattern: UInt(xPtr)), wd,
                                                          UnsafeRawPointer(bitPattern: UInt(wPtr)), cd, algo,
                                                          UnsafeMutableRawPointer(bitPattern: UInt(self.workspace)),
                                                          self.workspaceBytes, scalars.pointers[1], yd,
                                                          UnsafeMutableRawPointer(bitPattern: UInt(yPtr))),
                              "convolution \(node.name)")
        }

        let algoName = "cudnn algo \(best.algo), \(String(format: "%.3f", best.time)) ms"
        guard bias != 0 || z != 0 || act != 0 else { return algoName }
        let n = y.reduce(1, *)
        launchStep("conv_epilogue", count: n, KernelArgs([
            .ptr(yPtr), .ptr(bias), .ptr(z), .ptr(slope), .i64(Int64(n)), .i32(Int32(y[1])), .i64(Int64(y[2] * y[3])),
            .i32(act), .f32(alpha), .f32(beta), .i32(residualBefore)]))
        return algoName + " + epilogue"
    }
}

extension CUDAPlan {
    /// A step running cudnnConvolutionBiasActivationForward: y = act(conv(x) + z + bias), act ReLU or identity.
    /// Runs it once now (outside any capture) and throws if cuDNN refuses this configuration.
    func fusedConvStep(node: Node, h: cudnnHandle_t, xd: cudnnTensorDescriptor_t, wd: cudnnFilterDescriptor_t,
                       cd: cudnnConvolutionDescriptor_t, yd: cudnnTensorDescriptor_t, algo: Int32, workspaceNeed: Int,
                       x: CUdeviceptr, w: CUdeviceptr, y: CUdeviceptr, z: CUdeviceptr, bias: CUdeviceptr,
                       channels: Int, relu: Bool) throws -> () throws -> Void {
        let dn = libs.cudnn
        var bd: cudnnTensorDescriptor_t?, ad: cudnnActivationDescriptor_t?
        let dtype = Int32(precision.isHalf ? UNIRT_CUDNN_DATA_HALF : UNIRT_CUDNN_DATA_FLOAT)
        try libs.checkDNN(dn.cudnnCreateTensorDescriptor!(&bd), "bias descriptor")
        try libs.checkDNN(dn.cudnnSetTensor4dDescriptor!(bd, Int32(UNIRT_CUDNN_TENSOR_NCHW), dtype, 1, Int32(channels), 1, 1),
                          "bias descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnCreateActivationDescriptor!(&ad), "activation descriptor")
        try libs.checkDNN(dn.cudnnSetActivationDescriptor!(ad, Int32(relu ? UNIRT_CUDNN_ACTIVATION_RELU : UNIRT_CUDNN_ACTIVATION_IDENTITY),
                                                           Int32(UNIRT_CUDNN_NOT_PROPAGATE_NAN), 0), "activation of \(node.name)")
        let b = bias != 0 ? bias : try upload(floats: [Float](repeating: 0, count: channels))
        let scalars = KernelArgs([.f32(1), .f32(z != 0 ? 1 : 0)])
        argPacks.append(scalars)
        let zIn = z != 0 ? z : y
        // The trial call needs its workspace now; the plan's shared one is allocated after lowering.
        let trialSpace = workspaceNeed > 0 ? try alloc(workspaceNeed) : 0
        func raw(_ p: CUdeviceptr) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(p)) }
        let lib = libs
        let name = node.name
        func call(_ space: CUdeviceptr, _ bytes: Int) throws {
            try lib.checkDNN(dn.cudnnConvolutionBiasActivationForward!(h, scalars.pointers[0], xd, raw(x), wd, raw(w), cd, algo,
                                                                       raw(space), bytes, scalars.pointers[1], yd, raw(zIn),
                                                                       bd, raw(b), ad, yd, raw(y)),
                             "fused convolution \(name)")
        }
        try call(trialSpace, workspaceNeed)
        try libs.check(libs.driver.cuStreamSynchronize!(stream), "fused convolution trial \(name)")
        workspaceBytes = max(workspaceBytes, workspaceNeed)
        return { [unowned self] in try call(self.workspace, self.workspaceBytes) }
    }
}
