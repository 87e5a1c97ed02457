import CCUDA
import UnirtIR

/// Int8 layers of an int8 plan (`CUDAPrecision.int8`).
///
/// A `FusedConv` with `input_scale` runs on the int8 tensor-core kernels
/// (`CUDAKernelSource+Int8`) when it is a 2-D ungrouped convolution with input
/// channels a multiple of 16, output channels a multiple of 8, an activation the
/// epilogue has (none, Relu, PRelu, LeakyRelu, Clip), an NHWC output and a GPU
/// with int8 tensor cores. Its input is quantized to s8 (`quantize_s8`) unless the
/// layer before already wrote it as s8: an int8-core layer whose output feeds only
/// int8-core layers with the same input scale requantizes in its epilogue, so the
/// tensor between them exists only in int8 (see `int8Chains`). Other int8
/// layers (depthwise, few input channels) run the float kernels on the input
/// rounded to its int8 grid (`fake_quant`), as the reference does.
extension CUDAPlan {
    /// Whether `node` runs on the int8 tensor-core kernels (NHWC output not checked here).
    func runsOnInt8Cores(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?) -> Bool {
        precision == .int8 && device.hasInt8TensorCores && Self.int8CoreShapeFits(node, info: info, constant: constant)
    }

    /// Whether an int8 layer has what the int8 kernels take: a 2-D ungrouped `FusedConv` with
    /// `input_scale`, input channels a multiple of 16, output channels a multiple of 8, an
    /// epilogue activation (none, Relu, PRelu with a per-channel constant slope, LeakyRelu,
    /// Clip), a constant per-channel bias, and a residual of the output's shape.
    public static func int8CoreShapeFits(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?) -> Bool {
        guard node.op == .fusedConv, FusedConvOp.inputScale(node) != nil, node.inputs.count >= 2 else { return false }
        let x = info(node.inputs[0]).shape, y = info(node.outputs[0]).shape
        guard x.count == 4, y.count == 4, let w = constant(node.inputs[1]), w.shape.count == 4,
              ((try? node.int("group", default: 1)) ?? 1) == 1, x[1] == w.shape[1], w.shape[0] % 8 == 0,
              x[1] % 16 == 0 || int8RowChannels(channels: x[1], width: w.shape[3]) != nil else { return false }
        let act = FusedConvOp.activation(node).kind
        guard int8Activations[act] != nil else { return false }
        if act == "PRelu" { guard node.inputs.count > 4, let s = constant(node.inputs[4]), s.count == y[1] else { return false } }
        if node.inputs.count > 2, !node.inputs[2].isEmpty { guard let b = constant(node.inputs[2]), b.count == y[1] else { return false } }
        if node.inputs.count > 3, !node.inputs[3].isEmpty { guard info(node.inputs[3]).shape == y else { return false } }
        return true
    }

    /// Bytes per pixel of the s8 rows an int8 layer with few input channels reads (`quantize_rows_s8`): a
    /// layer whose C input channels are not a multiple of 16 runs as an R × 1 convolution over rows that hold,
    /// per output column, its S horizontal taps of C channels, padded to a multiple of 16 — a 3-channel 3 × 3
    /// first layer reads 16 bytes per pixel for 9 used where padding the channels alone would take 48 for 27.
    /// Nil when the taps do not fit 64 bytes (such a layer runs the float kernels on the int8 grid).
    public static func int8RowChannels(channels c: Int, width s: Int) -> Int? {
        guard c % 16 != 0, c * s <= 64 else { return nil }
        return (c * s + 15) / 16 * 16
    }

    /// Epilogue activation codes of the int8 kernels.
    static let int8Activations: [String: Int32] = ["": 0, "Relu": 1, "LeakyRelu": 4, "Clip": 5, "PRelu": 16]

    /// Values written as s8 by their producer, with their scale: outputs of int8-core
    /// layers, or of BatchNormalizations (NHWC, channels a multiple of 4), that are not
    /// graph outputs and are read only, as input 0, by int8-core layers of one input scale.
    public static func int8Chains(_ nodes: [Node], int8Cores: Set<String>, graphOutputs: Set<String>,
                                  nhwcValues: Set<String>, info: (String) -> ValueInfo) -> [String: Float] {
        var readers: [String: [Node]] = [:]
        for n in nodes { for v in Set(n.inputs) where !v.isEmpty { readers[v, default: []].append(n) } }
        var chains: [String: Float] = [:]
        for n in nodes {
            guard int8Cores.contains(n.name) || (n.op == .batchNormalization && info(n.outputs[0]).shape.count == 4
                                                   && info(n.outputs[0]).shape[1] % 4 == 0) else { continue }
            let v = n.outputs[0]
            // A reader with few channels (`int8RowChannels`) quantizes its own rows from the float value.
            guard !graphOutputs.contains(v), nhwcValues.contains(v), info(v).shape[1] % 16 == 0, let rs = readers[v], let first = rs.first,
                  let scale = FusedConvOp.inputScale(first) else { continue }
            let ok = rs.allSatisfy { r in
                int8Cores.contains(r.name) && r.inputs[0] == v && !r.inputs.dropFirst().contains(v)
                    && FusedConvOp.inputScale(r) == scale
            }
            if ok { chains[v] = scale }
        }
        return chains
    }

    /// BatchNormalizations that the epilogue of a convolution writes as a second output, by
    /// convolution name: the BatchNormalization reads the convolution's output (stored fp16,
    /// NHWC: it has other readers, such as a residual), has constant parameters, and its
    /// output is an s8 chain value (`int8Chains`). The epilogue — the int8 kernels' own, or
    /// the epilogue kernel after a float (cuDNN) convolution with output channels a multiple
    /// of 8 — applies the per-channel affine map to the fp16 value it stores and rounds onto
    /// the chain's grid, as `channel_affine_s8` would, so the separate pass over the tensor
    /// disappears. One BatchNormalization per convolution (the first in node order).
    public static func int8EpilogueAffines(_ nodes: [Node], int8Cores: Set<String>, int8Chains: [String: Float],
                                           nhwcValues: Set<String>, info: (String) -> ValueInfo,
                                           constant: (String) -> Tensor?) -> [String: Node] {
        var producer: [String: Node] = [:]
        for n in nodes {
            guard let y = n.outputs.first else { continue }
            let shape = info(y).shape
            if int8Cores.contains(n.name)
                || ((n.op == .conv || n.op == .fusedConv) && shape.count == 4 && shape[1] % 8 == 0) { producer[y] = n }
        }
        var folded: [String: Node] = [:]
        for bn in nodes where bn.op == .batchNormalization {
            guard let x = bn.inputs.first, let y = bn.outputs.first, let conv = producer[x], folded[conv.name] == nil,
                  int8Chains[x] == nil, int8Chains[y] != nil, nhwcValues.contains(x), nhwcValues.contains(y),
                  info(x).shape == info(y).shape, batchNormAffine(bn, constant: constant) != nil else { continue }
            folded[conv.name] = bn
        }
        return folded
    }

    /// The per-channel scale and shift of an inference BatchNormalization with constant
    /// parameters: y = x · s + t, s = γ / √(var + ε), t = β − mean · s.
    static func batchNormAffine(_ node: Node, constant: (String) -> Tensor?) -> (scale: [Float], shift: [Float])? {
        guard node.inputs.count >= 5, let sc = constant(node.inputs[1]), let b = constant(node.inputs[2]),
              let m = constant(node.inputs[3]), let v = constant(node.inputs[4]),
              let eps = try? node.float("epsilon", default: 1e-5) else { return nil }
        let s = zip(sc.floats, v.floats).map { $0 / ($1 + eps).squareRoot() }
        let t = (0..<s.count).map { b.floats[$0] - m.floats[$0] * s[$0] }
        return (s, t)
    }

    /// Lowers an int8-core convolution: weights quantized per output channel into
    /// [K][R][S][C] s8, the input taken as s8 (chained) or quantized, then the kernel
    /// variant that runs fastest here (timed like cuDNN's algorithms).
    func lowerInt8Conv(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                       physical: (String) throws -> CUdeviceptr, nhwcInput: (String) throws -> CUdeviceptr,
                       s8Input: (String, Float) throws -> CUdeviceptr) throws -> String {
        func input(_ i: Int) -> String { i < node.inputs.count ? node.inputs[i] : "" }
        let sx = FusedConvOp.inputScale(node)!
        let x = info(input(0)).shape, y = info(node.outputs[0]).shape
        let w = constant(input(1))!
        let win = try ConvOp.geometry(node, x: x, w: w.shape, b: nil)
        var (k, c, r, s) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        var filters = w.floats
        // Few input channels: an R × 1 convolution over s8 rows of the S taps (`int8RowChannels`).
        var rows: (channels: Int, taps: Int)?
        if let cp = Self.int8RowChannels(channels: c, width: s) {
            filters = Self.int8RowFilters(filters, k: k, c: c, r: r, s: s, rowChannels: cp)
            rows = (c, s)
            (c, s) = (cp, 1)
        }
        let (q, wScales) = Self.int8Filters(filters, k: k, c: c, r: r, s: s)
        let wPtr = try q.withUnsafeBytes { try upload($0) }
        let scalePtr = try upload(floats: wScales.map { $0 * sx }, f32: true)
        let biasPtr: CUdeviceptr = input(2).isEmpty ? 0 : try upload(floats: constant(input(2))!.floats, f32: true)
        let a = FusedConvOp.activation(node)
        let slopePtr: CUdeviceptr = a.kind == "PRelu" ? try upload(floats: constant(input(4))!.floats, f32: true) : 0
        let z: CUdeviceptr = input(3).isEmpty ? 0 : try nhwcInput(input(3))
        let before = Int32(try node.int("residual_before_activation", default: 1))
        let out = node.outputs[0]
        let outScale = int8Chains[out]
        let yPtr = try physical(out)
        var xPtr: CUdeviceptr
        if let rows {
            // The rows from the stored float input (NCHW or NHWC), quantized on the way.
            let n = x[0] * x[2] * y[3] * c
            xPtr = try alloc(n)
            launchStep("quantize_rows_s8", count: n / 16, KernelArgs([
                .ptr(xPtr), .ptr(try physical(input(0))), .i64(Int64(n / 16)), .i32(Int32(rows.channels)), .i32(Int32(x[2])),
                .i32(Int32(x[3])), .i32(Int32(y[3])), .i32(Int32(rows.taps)), .i32(Int32(win.strides[1])),
                .i32(Int32(win.dilations[1])), .i32(Int32(win.padsBegin[1])), .i32(Int32(c)),
                .i32(nhwcValues.contains(input(0)) ? 1 : 0), .f32(sx)]))
        } else {
            xPtr = try s8Input(input(0), sx)
        }
        // A BatchNormalization of the output, written as s8 beside it (`int8EpilogueAffines`).
        var second: [KernelArg] = [.ptr(0), .ptr(0), .ptr(0), .f32(1)]
        let bn = int8EpilogueBatchNorms[node.name]
        if let bn, let q = int8Chains[bn.outputs[0]], let affine = Self.batchNormAffine(bn, constant: constant) {
            second = [.ptr(try physical(bn.outputs[0])), .ptr(try upload(floats: affine.scale, f32: true)),
                      .ptr(try upload(floats: affine.shift, f32: true)), .f32(q)]
        }
        let m = y[0] * y[2] * y[3]
        // The rows' geometry: width = output width, one tap across, no horizontal stride, padding or dilation.
        let (width, strides, pads, dilations) = rows == nil
            ? (x[3], win.strides, [win.padsBegin[0], win.padsBegin[1]], win.dilations)
            : (y[3], [win.strides[0], 1], [win.padsBegin[0], 0], [win.dilations[0], 1])
        let geometry: [Int64] = [x[0], x[2], width, c, k, y[2], y[3], r, s, strides[0], strides[1],
                                 pads[0], pads[1], dilations[0], dilations[1], m, r * s * c].map { Int64($0) }
        let fitting = CUDAKernelSource.immaKernels.filter { kern in
            (kern.hopper ? device.hasWarpgroupMMA : true) && (kern.columns <= k || kern.columns == 64)
                && kern.fits(channels: c, filter: (r, s), strides: strides, dilations: dilations)
        }
        // The variant a plan built on this GPU timed for this layer signature, else all of them.
        let key = tacticSignature("int8 conv", node, info: info, constant: constant,
                                  extra: "out \(outScale != nil ? "s8" : "fp16")\(bn != nil ? " + s8" : "")")
        let recorded = fitting.count > 1 ? recordedTactic(key, valid: { name in fitting.contains { $0.name == name } }) : nil
        let candidates = recorded.map { name in fitting.filter { $0.name == name } } ?? fitting
        let libs = self.libs, stream = self.stream
        // Each candidate is one step; after each round only the fastest so far is left after `base`.
        let base = steps.count
        var bestName = "", bestMs = Double.infinity
        var timings: [String] = []
        for kern in candidates {
            var operands: [KernelArg] = [.ptr(xPtr), .ptr(wPtr)]
            if kern.tensorMaps {
                guard let maps = int8TensorMaps(x: xPtr, w: wPtr, geometry: geometry, images: x[0], rows: kern.rows,
                                                columns: kern.columns, kStep: kern.kStep) else { continue }
                operands = [.i64s(maps.input), .i64s(maps.filters)]
            }
            let args = KernelArgs(operands + [.ptr(scalePtr), .ptr(biasPtr), .ptr(z), .ptr(slopePtr), .ptr(yPtr),
                                   .i64s(geometry), .i32(Self.int8Activations[a.kind]!), .f32(a.alpha), .f32(a.beta),
                                   .i32(before), .i32(outScale != nil ? 1 : 0), .f32(outScale.map { 1 / $0 } ?? 1)] + second)
            argPacks.append(args)
            let f = module.function(kern.name)
            let (gx, gy) = kern.grid(pixels: m, images: y[0], height: y[2], width: y[3], k: k,
                                     multiprocessors: device.multiprocessors)
            addStep(kern.name) {
                try libs.check(libs.driver.cuLaunchKernel!(f, UInt32(gx), UInt32(gy), 1, UInt32(kern.threads), 1, 1, UInt32(kern.sharedBytes),
                                                           stream, args.pointers, nil), "launch \(kern.name) for \(node.name)")
            }
            guard candidates.count > 1 else { bestName = kern.name; break }
            let ms = try measureSteps(from: steps.count - 1)
            timings.append(String(format: "%@ %.4f", kern.name, ms))
            if ms < bestMs {
                if steps.count - base == 2 { dropSteps(base..<(base + 1)) }
                bestName = kern.name
                bestMs = ms
            } else {
                dropSteps((steps.count - 1)..<steps.count)
            }
        }
        guard !bestName.isEmpty else { throw CUDAError(.unsupported, "\(node.opType) '\(node.name)': no int8 kernel for this GPU") }
        if fitting.count > 1 { recordTactic(key, bestName, timed: recorded == nil) }
        let io = (rows != nil ? "s8 rows of \(c) bytes" : "s8") + (outScale != nil ? " → s8" : bn.map { " → fp16 + \($0.name) s8" } ?? " → fp16")
        return "int8 \(bestName) (\(io))" + (timings.count > 1 ? " [" + timings.joined(separator: ", ") + " ms]" : "")
            + (recorded != nil ? " (tactic from the plan)" : "")
    }

    /// Tensor maps for the TMA kernels (`tmconv_*`), as the kernels' 16-word parameters: the NHWC s8 input seen
    /// through im2col (`rows` consecutive output pixels × `kStep` channels at one filter tap per copy, zero outside
    /// the image, the convolution's strides as traversal strides) and the [K][R·S·C] s8 filters in tiles of
    /// `columns` filters × `kStep` bytes, both `kStep`-byte swizzled (64 or 128). Nil where the driver has no
    /// tensor maps or refuses the geometry (the kernel is then not a candidate). `geometry` is the kernels' `QGeom`.
    func int8TensorMaps(x: CUdeviceptr, w: CUdeviceptr, geometry g: [Int64], images: Int, rows: Int,
                        columns: Int, kStep: Int) -> (input: [Int64], filters: [Int64])? {
        guard let im2col = libs.driver.cuTensorMapEncodeIm2col, let tiled = libs.driver.cuTensorMapEncodeTiled else { return nil }
        let (h, wd, c, k, r, s) = (UInt64(g[1]), UInt64(g[2]), UInt64(g[3]), UInt64(g[4]), g[7], g[8])
        let (sh, sw, ph, pw, dh, dw, kd) = (g[9], g[10], g[11], g[12], g[13], g[14], UInt64(g[16]))
        let map = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 64)
        defer { map.deallocate() }
        func words() -> [Int64] { (0..<16).map { map.load(fromByteOffset: $0 * 8, as: Int64.self) } }
        let dims: [UInt64] = [c, wd, h, UInt64(images)], strides: [UInt64] = [c, wd * c, h * wd * c]
        let lower: [Int32] = [Int32(-pw), Int32(-ph)], upper: [Int32] = [Int32(pw - (s - 1) * dw), Int32(ph - (r - 1) * dh)]
        let steps: [UInt32] = [1, UInt32(sw), UInt32(sh), 1]
        let swizzle = Int32(kStep == 128 ? UNIRT_CU_TENSOR_MAP_SWIZZLE_128B : UNIRT_CU_TENSOR_MAP_SWIZZLE_64B)
        guard im2col(map, Int32(UNIRT_CU_TENSOR_MAP_DATA_TYPE_UINT8), 4, UnsafeMutableRawPointer(bitPattern: UInt(x)),
                     dims, strides, lower, upper, UInt32(kStep), UInt32(rows), steps, Int32(UNIRT_CU_TENSOR_MAP_INTERLEAVE_NONE),
                     swizzle, Int32(UNIRT_CU_TENSOR_MAP_L2_PROMOTION_L2_128B),
                     Int32(UNIRT_CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)) == 0 else { return nil }
        let input = words()
        let fdims: [UInt64] = [kd, k], fstrides: [UInt64] = [kd]
        let box: [UInt32] = [UInt32(kStep), UInt32(columns)], unit: [UInt32] = [1, 1]
        guard tiled(map, Int32(UNIRT_CU_TENSOR_MAP_DATA_TYPE_UINT8), 2, UnsafeMutableRawPointer(bitPattern: UInt(w)),
                    fdims, fstrides, box, unit, Int32(UNIRT_CU_TENSOR_MAP_INTERLEAVE_NONE),
                    swizzle, Int32(UNIRT_CU_TENSOR_MAP_L2_PROMOTION_L2_256B),
                    Int32(UNIRT_CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE)) == 0 else { return nil }
        return (input, words())
    }

    /// Per-output-channel symmetric int8 filters: [K, C, R, S] floats → s8 in [K][R][S][C]
    /// order and each channel's scale `max|w_k| / 127` (weights of an int8 plan already
    /// lie on that grid, so this gives back their integers).
    public static func int8Filters(_ w: [Float], k: Int, c: Int, r: Int, s: Int) -> ([Int8], [Float]) {
        var q = [Int8](repeating: 0, count: w.count)
        var scales = [Float](repeating: 0, count: k)
        let per = c * r * s
        for o in 0..<k {
            var mx: Float = 0
            for i in 0..<per { mx = max(mx, abs(w[o * per + i])) }
            let sw = mx / 127
            scales[o] = sw
            guard sw > 0 else { continue }
            for ci in 0..<c { for ri in 0..<r { for si in 0..<s {
                let v = (w[((o * c + ci) * r + ri) * s + si] / sw).rounded(.toNearestOrEven)
                q[((o * r + ri) * s + si) * c + ci] = Int8(min(max(v, -128), 127))
            } } }
        }
        return (q, scales)
    }

    /// Filters [K, C, R, S] rearranged for the R × 1 convolution over s8 rows (`int8RowChannels`):
    /// [K, Cp, R, 1] with channel s · C + c holding tap (r, s) of channel c, zero from S · C up.
    public static func int8RowFilters(_ w: [Float], k: Int, c: Int, r: Int, s: Int, rowChannels cp: Int) -> [Float] {
        var out = [Float](repeating: 0, count: k * cp * r)
        for o in 0..<k { for ci in 0..<c { for ri in 0..<r { for si in 0..<s {
            out[(o * cp + si * c + ci) * r + ri] = w[((o * c + ci) * r + ri) * s + si]
        } } } }
        return out
    }

    /// A copy of `src` (`count` activations) on the int8 grid of `scale`, for an int8
    /// layer that runs a float kernel.
    func fakeQuantized(_ src: CUdeviceptr, count n: Int, scale: Float) throws -> CUdeviceptr {
        let dst = try alloc(n * precision.elementSize)
        launchStep("fake_quant", count: n, KernelArgs([.ptr(dst), .ptr(src), .i64(Int64(n)), .f32(scale)]))
        return dst
    }
}
