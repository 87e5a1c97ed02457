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
    /// picked by timing at build time; bias, residual and activation in cuDNN's
    /// fused call where it applies, else in one elementwise epilogue kernel.
    /// NHWC when the output is stored NHWC (filters uploaded as KRSC).
    func lowerConv(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                   ptr: (String) throws -> CUdeviceptr, nhwcInput: (String) throws -> CUdeviceptr) throws -> String {
        func refuse(_ why: String) -> CUDAError { CUDAError(.unsupported, "\(node.opType) '\(node.name)': \(why)") }
        func input(_ i: Int) -> String { i < node.inputs.count ? node.inputs[i] : "" }
        let int8Scale = node.op == .fusedConv ? FusedConvOp.inputScale(node) : nil
        if int8Scale != nil && precision != .int8 {
            throw refuse("an int8 layer needs an int8 GPU plan (unirt build --device cuda --precision int8)")
        }
        let x = info(input(0)).shape
        let fold = preConvFolds[node.name]
        guard let w = fold?.weights ?? constant(input(1)) else { throw refuse("weights must be constant") }
        guard x.count == 4 else { throw refuse("only 2-D convolutions are supported (input \(x))") }
        let win = try ConvOp.geometry(node, x: x, w: w.shape, b: input(2).isEmpty ? nil : info(input(2)).shape)
        guard win.padsBegin == win.padsEnd else {
            throw refuse("asymmetric padding \(win.padsBegin)/\(win.padsEnd) is not supported")
        }
        let group = try node.int("group", default: 1)
        let out = node.outputs[0]
        let y = info(out).shape
        let nhwc = nhwcValues.contains(out)
        let dn = libs.cudnn
        let h = try dnn()
        let format = Int32(nhwc ? UNIRT_CUDNN_TENSOR_NHWC : UNIRT_CUDNN_TENSOR_NCHW)
        let base = try convSetup(node, x: x, w: w.shape, y: y, pads: win.padsBegin, strides: win.strides,
                                 dilations: win.dilations, group: group, nhwc: nhwc)
        var setup = base
        var filters = nhwc ? Self.filtersKRSC(w.floats, w.shape) : w.floats
        var xPtr = nhwc ? try nhwcInput(input(0)) : try ptr(input(0))
        // An int8 layer the int8 kernels do not take: the float kernel on its input rounded to the int8 grid.
        if let s = int8Scale { xPtr = try fakeQuantized(xPtr, count: x.reduce(1, *), scale: s) }
        var prelude: ((CUdeviceptr) throws -> Void)? = nil
        var variant = ""
        let elem = precision.elementSize
        // NHWC input rewrites: a strided 1×1 convolution as a strided gather + stride-1 convolution (always
        // when the channels fill 16-byte vectors, else when cuDNN's timings say so), and a first layer with
        // fewer than 8 input channels zero-padded to 8 when cuDNN's timings say so (tensor-core friendly).
        if nhwc, group == 1, w.shape[2] == 1, w.shape[3] == 1, win.padsBegin.allSatisfy({ $0 == 0 }),
           win.dilations.allSatisfy({ $0 == 1 }), win.strides.contains(where: { $0 > 1 }) {
            let sub = [x[0], x[1], y[2], y[3]]
            if let alt = try? convSetup(node, x: sub, w: w.shape, y: y, pads: [0, 0], strides: [1, 1], dilations: [1, 1],
                                        group: 1, nhwc: true),
               let a = alt.usable.first, let b = base.usable.first {
                // With 16-byte vectors the gather costs about one pass; it also lets cuBLASLt run the
                // convolution as a GEMM (tried below).
                let gatherMs = x[1] % (16 / elem) == 0 ? 0 : 0.004 + Double(sub.reduce(1, *) * elem * 2) / 2.5e9
                if x[1] % (16 / elem) == 0 || Double(a.time) + gatherMs < Double(b.time) {
                    setup = alt
                    variant = " strided gather"
                    let src = xPtr
                    prelude = { dst in
                        // [N, OH, OW, C] gathered from [N, H, W, C] at the strides.
                        self.stridedGatherStep(to: dst, from: src, nhwc: x, out: [y[2], y[3]], strides: win.strides)
                    }
                    xPtr = try alloc(sub.reduce(1, *) * elem)
                }
            }
        } else if nhwc, group == 1, x[1] < 8 {
            let padded = [x[0], 8, x[2], x[3]], wPadded = [w.shape[0], 8, w.shape[2], w.shape[3]]
            if let alt = try? convSetup(node, x: padded, w: wPadded, y: y, pads: win.padsBegin, strides: win.strides,
                                        dilations: win.dilations, group: 1, nhwc: true),
               let a = alt.usable.first, let b = base.usable.first {
                let padMs = 0.004 + Double(padded.reduce(1, *) * elem + x.reduce(1, *) * elem) / 2.5e9
                if Double(a.time) + padMs < Double(b.time) {
                    setup = alt
                    variant = " channels padded to 8"
                    let src = xPtr
                    prelude = { dst in self.channelPadStep(to: dst, from: src, nhwcDims: [x[0], x[2], x[3]], channels: x[1], padded: 8) }
                    xPtr = try alloc(padded.reduce(1, *) * elem)
                    // KRSC filters with zero weights on the padded channels.
                    var wp = [Float](repeating: 0, count: filters.count / x[1] * 8)
                    for k in 0..<(filters.count / x[1]) { for c in 0..<x[1] { wp[k * 8 + c] = filters[k * x[1] + c] } }
                    filters = wp
                }
            }
        }
        // Steps from `mark` on are the cuDNN tactic; a strided gather is shared with the alternatives below.
        var mark = steps.count
        try prelude?(xPtr)
        if variant == " strided gather" { mark = steps.count }
        let (xd, wd, cd, yd) = (setup.xd, setup.wd, setup.cd, setup.yd)
        let usable = setup.usable
        guard var best = usable.first else {
            throw CUDAError(.api, "\(node.opType) '\(node.name)': cuDNN found no algorithm for input \(x), weights \(w.shape)")
        }
        let wPtr = try upload(floats: filters)
        let yPtr = try ptr(out)
        let lib = self.libs

        // Epilogue parameters: bias (per channel, or per position with a folded BatchNormalization), residual, activation.
        var act: Int32 = 0, alpha: Float = 0, beta: Float = 0
        var residualBefore: Int32 = 1
        var slope: [Float]? = nil
        var z: CUdeviceptr = 0
        var bias: [Float]? = fold?.bias
        if fold == nil, !input(2).isEmpty {
            guard let b = constant(input(2)) else { throw refuse("bias must be constant") }
            bias = b.floats
        }
        var biasMap = fold?.biasMap
        if let m = biasMap, nhwc {
            // [Co, OH, OW] → [OH, OW, Co], the order of one NHWC image.
            let (co, hw) = (y[1], y[2] * y[3])
            var t = [Float](repeating: 0, count: m.count)
            for c in 0..<co { for p in 0..<hw { t[p * co + c] = m[c * hw + p] } }
            biasMap = t
        }
        if node.op == .fusedConv {
            let a = FusedConvOp.activation(node)
            let codes: [String: Int32] = ["": 0, "Relu": 1, "Sigmoid": 2, "LeakyRelu": 4, "Clip": 5, "HardSigmoid": 6, "PRelu": 16]
            guard let code = codes[a.kind] else { throw refuse("activation \(a.kind) not supported") }
            act = code; alpha = a.alpha; beta = a.beta
            residualBefore = Int32(try node.int("residual_before_activation", default: 1))
            if !input(3).isEmpty { z = nhwc ? try nhwcInput(input(3)) : try ptr(input(3)) }
            if act == 16 {
                guard let s = constant(input(4)), s.count == y[1] else { throw refuse("PRelu slope must be a constant per channel") }
                slope = s.floats
            }
        }
        let hasBias = bias.map { $0.contains { $0 != 0 } } ?? false
        // A BatchNormalization of the output that only int8 layers read, written as s8 by the epilogue kernel or
        // the direct first-layer kernel (`int8EpilogueAffines`); cuDNN's fused call and the GEMM have no second output.
        var second: [KernelArg] = [.ptr(0), .ptr(0), .ptr(0), .f32(1)]
        let secondBN = int8EpilogueBatchNorms[node.name]
        if let bn = secondBN {
            guard nhwc, y[1] % (16 / precision.elementSize) == 0, let q = int8Chains[bn.outputs[0]],
                  let affine = Self.batchNormAffine(bn, constant: constant) else {
                throw refuse("internal: \(bn.name) cannot be written by this convolution's epilogue")
            }
            second = [.ptr(try ptr(bn.outputs[0])), .ptr(try upload(floats: affine.scale, f32: true)),
                      .ptr(try upload(floats: affine.shift, f32: true)), .f32(q)]
        }

        // cuDNN's fused conv + residual + bias + ReLU/identity runs identity only with implicit precomputed GEMM:
        // take that algorithm when it is slower than the fastest by less than an epilogue pass would cost.
        let precomp = Int32(UNIRT_CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM)
        let fusableEpilogue = biasMap == nil && (act == 1 || act == 0) && (z == 0 || residualBefore == 1)
            && (hasBias || z != 0 || act != 0) && secondBN == nil
        if fusableEpilogue, act == 0, best.algo != precomp, let p = usable.first(where: { $0.algo == precomp }) {
            let passes = z != 0 ? 3 : 2
            let epilogueMs = 0.004 + Double(y.reduce(1, *) * precision.elementSize * passes) / 2.5e9
            if p.time <= best.time + Float(epilogueMs) { best = p }
        }
        // The workspace the chosen algorithm asks for on these descriptors, in case it differs from the search's figure.
        var workspaceNeed = Int(best.memory)
        var asked = 0
        if dn.cudnnGetConvolutionForwardWorkspaceSize!(h, xd, wd, cd, yd, best.algo, &asked) == 0 {
            workspaceNeed = max(workspaceNeed, asked)
        }
        var label: String
        if fusableEpilogue, act == 1 || best.algo == precomp,
           let fused = try? fusedConvStep(node: node, h: h, xd: xd, wd: wd, cd: cd, yd: yd, format: format,
                                          algo: best.algo, workspaceNeed: workspaceNeed, x: xPtr, w: wPtr, y: yPtr, z: z,
                                          bias: bias ?? [], channels: y[1], relu: act == 1) {
            addStep("cudnn fused") { try fused() }
            label = "cudnn fused algo \(best.algo)\(nhwc ? " nhwc" : "")\(variant), \(String(format: "%.3f", best.time)) ms"
        } else {
            try ensureWorkspace(workspaceNeed)
            let algo = best.algo
            let scalars = KernelArgs([.f32(1), .f32(0)])
            argPacks.append(scalars)
            addStep("cudnn algo \(algo)") { [unowned self] in
                try lib.checkDNN(dn.cudnnConvolutionForward!(h, scalars.pointers[0], xd, UnsafeRawPointer(bitPattern: UInt(xPtr)), wd,
                                                              UnsafeRawPointer(bitPattern: UInt(wPtr)), cd, algo,
                                                              UnsafeMutableRawPointer(bitPattern: UInt(self.workspace)),
                                                              self.workspaceBytes, scalars.pointers[1], yd,
                                                              UnsafeMutableRawPointer(bitPattern: UInt(yPtr))),
                                  "convolution \(node.name)")
            }
            label = "cudnn algo \(best.algo)\(nhwc ? " nhwc" : "")\(variant), \(String(format: "%.3f", best.time)) ms"
            if hasBias || biasMap != nil || z != 0 || act != 0 || secondBN != nil {
                try epilogueStep()
                label += " + epilogue"
            }
        }

        // Own kernels for shapes cuDNN runs poorly, each timed against the cuDNN steps above (CUDA graph
        // replays at build time) and kept only when faster: a first layer with few input channels as one
        // direct-convolution kernel with the epilogue fused, and a 1×1 convolution without activation or
        // residual as a cuBLASLt GEMM with a bias epilogue.
        var alternative: (() throws -> String)? = nil
        let width = 16 / elem
        if nhwc, group == 1, x[1] <= 4, y[1] % 8 == 0, variant.isEmpty, w.shape[2] * w.shape[3] * x[1] * y[1] * 4 <= 48 << 10,
           win.dilations.allSatisfy({ $0 == 1 }), y[0] * y[2] * y[3] < Int(Int32.max) {
            alternative = { try self.smallInputConvStep(x: x, y: y, w: w, win: win, input: xPtr, output: yPtr,
                                                        inputNHWC: true, bias: bias, biasMap: biasMap, z: z, slope: slope,
                                                        act: act, alpha: alpha, beta: beta, residualBefore: residualBefore,
                                                        second: second) }
        } else if secondBN == nil, nhwc, group == 1, w.shape[2] == 1, w.shape[3] == 1, win.padsBegin.allSatisfy({ $0 == 0 }),
                  win.strides.allSatisfy({ $0 == 1 }) || variant == " strided gather", variant != " channels padded to 8",
                  act == 0, z == 0, biasMap == nil, x[1] % width == 0, y[1] % width == 0 {
            alternative = { try self.gemmConv1x1Step(node, rows: y[0] * y[2] * y[3], k: x[1], n: y[1], x: xPtr, w: wPtr,
                                                     bias: hasBias ? bias : nil, y: yPtr) }
        }
        if let alternative {
            // Timed here, or as a plan built on this GPU timed it: "own ms cudnn ms".
            let key = tacticSignature("conv alternative", node, info: info, constant: constant, extra: variant)
            let recorded = recordedTactic(key).flatMap { t -> (Double, Double)? in
                let f = t.split(separator: " ")
                guard f.count == 4, let a = Double(f[1]), let b = Double(f[3]) else { return nil }
                return (a, b)
            }
            let cudnnMs = try recorded?.1 ?? measureSteps(from: mark)
            let altMark = steps.count
            let altLabel = try alternative()
            let altMs = try recorded?.0 ?? measureSteps(from: altMark)
            recordTactic(key, "own \(altMs) cudnn \(cudnnMs)", timed: recorded == nil)
            let times = String(format: " (%.4f ms; cuDNN %.4f ms)", altMs, cudnnMs)
            if altMs < cudnnMs {
                dropSteps(mark..<altMark)
                label = altLabel + times
            } else {
                dropSteps(altMark..<steps.count)
                label += String(format: " (%.4f ms; %@ %.4f ms)", cudnnMs, altLabel, altMs)
            }
        }
        return label + (secondBN.map { " + \($0.name) s8" } ?? "")

        /// The epilogue kernel after a plain cuDNN convolution.
        func epilogueStep() throws {
            let n = y.reduce(1, *), hw = y[2] * y[3]
            let biasMode: Int32 = biasMap != nil ? 2 : (hasBias ? 1 : 0)
            let biasPtr: CUdeviceptr = biasMap != nil ? try upload(floats: biasMap!, f32: true)
                : (hasBias ? try upload(floats: bias!, f32: true) : 0)
            let slopePtr: CUdeviceptr = slope != nil ? try upload(floats: slope!, f32: true) : 0
            let width = 16 / precision.elementSize
            if nhwc, y[1] % width == 0 {
                launchStep("conv_epilogue_vec", count: n / width, KernelArgs([
                    .ptr(yPtr), .ptr(biasPtr), .i32(biasMode), .ptr(z), .ptr(slopePtr), .i64(Int64(n / width)), .i32(Int32(y[1])),
                    .i64(Int64(hw)), .i32(act), .f32(alpha), .f32(beta), .i32(residualBefore)] + second))
            } else {
                launchStep("conv_epilogue", count: n, KernelArgs([
                    .ptr(yPtr), .ptr(biasPtr), .i32(biasMode), .ptr(z), .ptr(slopePtr), .i64(Int64(n)), .i32(Int32(y[1])),
                    .i64(Int64(hw)), .i32(nhwc ? 1 : 0), .i32(act), .f32(alpha), .f32(beta), .i32(residualBefore)]))
            }
        }
    }

    /// The direct-convolution kernel for few input channels (`conv_small_nhwc`), epilogue fused; NHWC output;
    /// `second`: the s8 BatchNormalization output's pointer, scale, shift and grid (null pointer: none).
    func smallInputConvStep(x: [Int], y: [Int], w: Tensor, win: WindowGeometry.Window, input: CUdeviceptr,
                            output: CUdeviceptr, inputNHWC: Bool, bias: [Float]?, biasMap: [Float]?, z: CUdeviceptr,
                            slope: [Float]?, act: Int32, alpha: Float, beta: Float, residualBefore: Int32,
                            second: [KernelArg]) throws -> String {
        let (co, ci, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        // [Co, Ci, KH, KW] → [KH][KW][Ci][Co].
        let wf = w.floats
        var wt = [Float](repeating: 0, count: wf.count)
        for o in 0..<co { for c in 0..<ci { for r in 0..<kh { for q in 0..<kw {
            wt[((r * kw + q) * ci + c) * co + o] = wf[((o * ci + c) * kh + r) * kw + q]
        } } } }
        let biasMode: Int32 = biasMap != nil ? 2 : (bias != nil ? 1 : 0)
        let biasPtr: CUdeviceptr = biasMap != nil ? try upload(floats: biasMap!, f32: true)
            : (bias != nil ? try upload(floats: bias!, f32: true) : 0)
        let slopePtr: CUdeviceptr = slope != nil ? try upload(floats: slope!, f32: true) : 0
        let (h, wd) = (x[2], x[3])
        let strides: [Int64] = inputNHWC ? [Int64(h * wd * ci), 1, Int64(wd * ci), Int64(ci)]
            : [Int64(ci * h * wd), Int64(h * wd), Int64(wd), 1]
        let total = y[0] * y[2] * y[3] * (co / 8)
        launchStep("conv_small_nhwc", count: total, grid: max(1, min((total + 255) / 256, device.multiprocessors * 8)),
                   sharedBytes: wt.count * 4, KernelArgs([
            .ptr(output), .ptr(input), .ptr(try upload(floats: wt, f32: true)), .ptr(biasPtr), .i32(biasMode), .ptr(z),
            .ptr(slopePtr), .i32(Int32(y[0])), .i32(Int32(ci)), .i32(Int32(h)), .i32(Int32(wd)),
            .i64(strides[0]), .i64(strides[1]), .i64(strides[2]), .i64(strides[3]), .i32(Int32(co)), .i32(Int32(y[2])),
            .i32(Int32(y[3])), .i32(Int32(kh)), .i32(Int32(kw)), .i32(Int32(win.strides[0])), .i32(Int32(win.strides[1])),
            .i32(Int32(win.padsBegin[0])), .i32(Int32(win.padsBegin[1])), .i32(act), .f32(alpha), .f32(beta),
            .i32(residualBefore)] + second))
        return "direct conv (few input channels), epilogue fused"
    }
}


/// cuDNN descriptors of one convolution shape and the algorithms cuDNN timed on it, fastest first.
struct ConvSetup {
    var xd: cudnnTensorDescriptor_t
    var wd: cudnnFilterDescriptor_t
    var cd: cudnnConvolutionDescriptor_t
    var yd: cudnnTensorDescriptor_t
    /// Algorithms that ran, within the workspace limit.
    var usable: [cudnnConvolutionFwdAlgoPerf_t]
}

extension CUDAPlan {
    /// Makes the descriptors of a convolution (dims as N, C, H, W in either format) and lets cuDNN time its algorithms.
    func convSetup(_ node: Node, x: [Int], w: [Int], y: [Int], pads: [Int], strides: [Int], dilations: [Int], group: Int,
                   nhwc: Bool) throws -> ConvSetup {
        let dn = libs.cudnn
        let h = try dnn()
        let dtype = Int32(precision.isHalf ? UNIRT_CUDNN_DATA_HALF : UNIRT_CUDNN_DATA_FLOAT)
        let format = Int32(nhwc ? UNIRT_CUDNN_TENSOR_NHWC : UNIRT_CUDNN_TENSOR_NCHW)
        var xd: cudnnTensorDescriptor_t?, yd: cudnnTensorDescriptor_t?
        var wd: cudnnFilterDescriptor_t?, cd: cudnnConvolutionDescriptor_t?
        try libs.checkDNN(dn.cudnnCreateTensorDescriptor!(&xd), "cudnnCreateTensorDescriptor")
        try libs.checkDNN(dn.cudnnCreateTensorDescriptor!(&yd), "cudnnCreateTensorDescriptor")
        try libs.checkDNN(dn.cudnnCreateFilterDescriptor!(&wd), "cudnnCreateFilterDescriptor")
        try libs.checkDNN(dn.cudnnCreateConvolutionDescriptor!(&cd), "cudnnCreateConvolutionDescriptor")
        let i32 = { (v: Int) in Int32(v) }
        try libs.checkDNN(dn.cudnnSetTensor4dDescriptor!(xd, format, dtype, i32(x[0]), i32(x[1]), i32(x[2]), i32(x[3])), "x descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetTensor4dDescriptor!(yd, format, dtype, i32(y[0]), i32(y[1]), i32(y[2]), i32(y[3])), "y descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetFilter4dDescriptor!(wd, dtype, format, i32(w[0]), i32(w[1]), i32(w[2]), i32(w[3])),
                          "filter descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetConvolution2dDescriptor!(cd, i32(pads[0]), i32(pads[1]), i32(strides[0]), i32(strides[1]),
                                                               i32(dilations[0]), i32(dilations[1]),
                                                               Int32(UNIRT_CUDNN_CROSS_CORRELATION),
                                                               Int32(UNIRT_CUDNN_DATA_FLOAT)), "convolution descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnSetConvolutionGroupCount!(cd, i32(group)), "group count of \(node.name)")
        let math = precision.isHalf ? UNIRT_CUDNN_TENSOR_OP_MATH : UNIRT_CUDNN_FMA_MATH
        try libs.checkDNN(dn.cudnnSetConvolutionMathType!(cd, Int32(math)), "math type of \(node.name)")
        // Tactic selection: cuDNN times each algorithm on this shape — or a plan built on this GPU did
        // (the usable algorithms with their times and workspaces, fastest first).
        let key = ["cudnn conv", precision.rawValue, nhwc ? "nhwc" : "nchw", "\(x)", "\(w)", "\(y)", "\(pads)", "\(strides)",
                   "\(dilations)", "\(group)"].joined(separator: "|")
        if let found = recordedTactic(key), let usable = Self.cudnnPerfs(found) {
            recordTactic(key, found, timed: false)
            return ConvSetup(xd: xd!, wd: wd!, cd: cd!, yd: yd!, usable: usable)
        }
        var perf = [cudnnConvolutionFwdAlgoPerf_t](repeating: cudnnConvolutionFwdAlgoPerf_t(), count: 10)
        var returned: Int32 = 0
        try libs.checkDNN(dn.cudnnFindConvolutionForwardAlgorithm!(h, xd, wd, cd, yd, 10, &returned, &perf),
                          "timing convolution algorithms of \(node.name)")
        let usable = perf.prefix(Int(returned)).filter { $0.status == 0 && $0.memory <= Self.maxConvWorkspace }
        recordTactic(key, usable.map { "\($0.algo):\($0.time):\($0.memory)" }.joined(separator: ";"), timed: true)
        return ConvSetup(xd: xd!, wd: wd!, cd: cd!, yd: yd!, usable: Array(usable))
    }

    /// cuDNN algorithm results recorded as `algo:ms:workspace` separated by `;` (nil if malformed).
    public static func cudnnPerfs(_ text: String) -> [cudnnConvolutionFwdAlgoPerf_t]? {
        var out: [cudnnConvolutionFwdAlgoPerf_t] = []
        for item in text.split(separator: ";") {
            let f = item.split(separator: ":")
            guard f.count == 3, let algo = Int32(f[0]), let ms = Float(f[1]), let mem = Int(f[2]), mem >= 0 else { return nil }
            var p = cudnnConvolutionFwdAlgoPerf_t()
            p.algo = algo
            p.status = 0
            p.time = ms
            p.memory = mem
            out.append(p)
        }
        return out
    }

    /// Enqueues the strided gather y[n, oh, ow, :] = x[n, oh·sh, ow·sw, :] of an NHWC tensor whose NCHW shape
    /// is `nhwc` (16-byte vectors when the channels allow, else the generic strided copy).
    func stridedGatherStep(to dst: CUdeviceptr, from src: CUdeviceptr, nhwc x: [Int], out: [Int], strides: [Int]) {
        let (n, c, h, w) = (x[0], x[1], x[2], x[3])
        let width = 16 / precision.elementSize
        if c % width == 0 {
            let nvec = n * out[0] * out[1] * c / width
            launchStep("gather_nhwc_vec", count: nvec, KernelArgs([
                .ptr(dst), .ptr(src), .i64(Int64(nvec)), .i32(Int32(c / width)), .i32(Int32(out[0])), .i32(Int32(out[1])),
                .i32(Int32(h)), .i32(Int32(w)), .i32(Int32(strides[0])), .i32(Int32(strides[1]))]))
            return
        }
        let r = CUDAKernelSource.maxRank
        let dims = [n, out[0], out[1], c], src4 = [h * w * c, strides[0] * w * c, strides[1] * c, 1]
        var g = [Int64](repeating: 0, count: 1 + 2 * r)
        g[0] = 4
        for k in 0..<4 {
            g[1 + k] = Int64(dims[k])
            g[1 + r + k] = Int64(src4[k])
        }
        let total = dims.reduce(1, *)
        launchStep("transpose", count: total, KernelArgs([.ptr(dst), .ptr(src), .i64(Int64(total)), .i64s(g)]))
    }

    /// Enqueues a copy of an NHWC tensor [N, H, W, channels] into [N, H, W, padded] with zero channels after.
    func channelPadStep(to dst: CUdeviceptr, from src: CUdeviceptr, nhwcDims d: [Int], channels: Int, padded: Int) {
        let r = CUDAKernelSource.maxRank
        var g = [Int64](repeating: 0, count: 1 + 3 * r)
        g[0] = 4
        let outDims = [d[0], d[1], d[2], padded], inDims = [d[0], d[1], d[2], channels]
        for k in 0..<4 { g[1 + k] = Int64(outDims[k]); g[1 + r + k] = Int64(inDims[k]) }
        let total = outDims.reduce(1, *)
        launchStep("pad", count: total, KernelArgs([.ptr(dst), .ptr(src), .i64(Int64(total)), .i64s(g), .i32(0), .f32(0)]))
    }
}

extension CUDAPlan {
    /// A step running cudnnConvolutionBiasActivationForward: y = act(conv(x) + z + bias), act ReLU or identity.
    /// Runs it once now (outside any capture) and throws if cuDNN refuses this configuration.
    func fusedConvStep(node: Node, h: cudnnHandle_t, xd: cudnnTensorDescriptor_t, wd: cudnnFilterDescriptor_t,
                       cd: cudnnConvolutionDescriptor_t, yd: cudnnTensorDescriptor_t, format: Int32, algo: Int32,
                       workspaceNeed: Int, x: CUdeviceptr, w: CUdeviceptr, y: CUdeviceptr, z: CUdeviceptr,
                       bias: [Float], channels: Int, relu: Bool) throws -> () throws -> Void {
        let dn = libs.cudnn
        var bd: cudnnTensorDescriptor_t?, ad: cudnnActivationDescriptor_t?
        let dtype = Int32(precision.isHalf ? UNIRT_CUDNN_DATA_HALF : UNIRT_CUDNN_DATA_FLOAT)
        try libs.checkDNN(dn.cudnnCreateTensorDescriptor!(&bd), "bias descriptor")
        try libs.checkDNN(dn.cudnnSetTensor4dDescriptor!(bd, format, dtype, 1, Int32(channels), 1, 1),
                          "bias descriptor of \(node.name)")
        try libs.checkDNN(dn.cudnnCreateActivationDescriptor!(&ad), "activation descriptor")
        try libs.checkDNN(dn.cudnnSetActivationDescriptor!(ad, Int32(relu ? UNIRT_CUDNN_ACTIVATION_RELU : UNIRT_CUDNN_ACTIVATION_IDENTITY),
                                                           Int32(UNIRT_CUDNN_NOT_PROPAGATE_NAN), 0), "activation of \(node.name)")
        let b = try upload(floats: bias.isEmpty ? [Float](repeating: 0, count: channels) : bias)
        let scalars = KernelArgs([.f32(1), .f32(z != 0 ? 1 : 0)])
        argPacks.append(scalars)
        let zIn = z != 0 ? z : y
        try ensureWorkspace(workspaceNeed)
        func raw(_ p: CUdeviceptr) -> UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: UInt(p)) }
        let lib = libs
        let name = node.name
        func call(_ space: CUdeviceptr, _ bytes: Int) throws {
            try lib.checkDNN(dn.cudnnConvolutionBiasActivationForward!(h, scalars.pointers[0], xd, raw(x), wd, raw(w), cd, algo,
                                                                       raw(space), bytes, scalars.pointers[1], yd, raw(zIn),
                                                                       bd, raw(b), ad, yd, raw(y)),
                             "fused convolution \(name)")
        }
        try call(workspace, workspaceBytes)
        try libs.check(libs.driver.cuStreamSynchronize!(stream), "fused convolution trial \(name)")
        return { [unowned self] in try call(self.workspace, self.workspaceBytes) }
    }
}
