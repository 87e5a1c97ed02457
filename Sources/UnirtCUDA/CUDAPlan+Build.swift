import CCUDA
import UnirtIR
import UnirtRuntime

/// Operators whose output shares its input's memory.
let cudaAliasOps: Set<OpKind> = [.reshape, .flatten, .squeeze, .unsqueeze, .identity, .dropout]

extension CUDAPlan {
    /// Plans the arena, uploads weights and lowers every node to steps.
    func build() throws {
        let graph = specialized.graph
        let values = specialized.values
        let elem = precision.elementSize
        func info(_ name: String) -> ValueInfo { values[name] ?? ValueInfo(dtype: .f32, shape: [0]) }
        func constant(_ name: String) -> Tensor? {
            if name.isEmpty { return nil }
            if let c = graph.initializers[name] { return c }
            return specialized.inputShapes[name] == nil ? values[name]?.constant : nil
        }
        let graphOutputs = Set(graph.outputs.map(\.name))
        // BatchNormalization before a convolution folds into its filters and a bias map.
        var nodes = graph.nodes
        preConvFolds = Self.foldPreConvBatchNorms(&nodes, graphOutputs: graphOutputs, info: info, constant: constant)
        let nhwc = planLayout(nodes, graphOutputs: graphOutputs, info: info, constant: constant)
        nhwcValues = nhwc
        int8Cores = Set(nodes.filter { nhwc.contains($0.outputs.first ?? "") && runsOnInt8Cores($0, info: info, constant: constant) }
            .map(\.name))
        int8Chains = Self.int8Chains(nodes, int8Cores: int8Cores, graphOutputs: graphOutputs, nhwcValues: nhwc, info: info)
        int8EpilogueBatchNorms = Self.int8EpilogueAffines(nodes, int8Cores: int8Cores, int8Chains: int8Chains, nhwcValues: nhwc,
                                                          info: info, constant: constant)

        // Activations: every non-constant value; aliases share their root, except a
        // reshape of an NHWC tensor, which is a transposing copy into NCHW.
        var root: [String: String] = [:]
        func rootOf(_ v: String) -> String { var r = v; while let n = root[r], n != r { r = n }; return r }
        var problems: [String] = []
        for node in nodes {
            for v in node.inputs + node.outputs where !v.isEmpty && constant(v) == nil {
                let i = info(v)
                if !i.dtype.isFloating {
                    problems.append("\(node.opType) '\(node.name)': value '\(v)' is \(i.dtype.rawValue) at run time")
                }
            }
            if cudaAliasOps.contains(node.op), let x = node.inputs.first, constant(x) == nil, let y = node.outputs.first,
               nhwc.contains(x) == nhwc.contains(y) {
                root[y] = rootOf(x)
            }
        }
        if !problems.isEmpty {
            throw CUDAError(.unsupported, "the GPU backend runs float activations only: " + problems.prefix(3).joined(separator: "; "))
        }

        // Liveness per root over the step order (-1: graph inputs; nodes.count: graph outputs).
        var first: [String: Int] = [:], last: [String: Int] = [:]
        func touch(_ v: String, _ s: Int) {
            guard !v.isEmpty, constant(v) == nil else { return }
            let r = rootOf(v)
            first[r] = min(first[r] ?? s, s)
            last[r] = max(last[r] ?? s, s)
        }
        for i in graph.inputs { touch(i.name, -1) }
        for (s, node) in nodes.enumerated() {
            for v in node.inputs { touch(v, s) }
            for v in node.outputs { touch(v, s) }
            // A BatchNormalization's output written by this convolution's epilogue lives from here.
            if let bn = int8EpilogueBatchNorms[node.name] { touch(bn.outputs[0], s) }
        }
        for o in graph.outputs { touch(o.name, nodes.count) }
        let roots = first.keys.sorted()
        let requests = roots.map { r in
            // Element counts rounded to 64 so that every buffer starts 128-byte aligned in both precisions.
            MemoryPlanner.Request(size: (info(r).count + 63) / 64 * 64, first: first[r]!, last: last[r]!)
        }
        let (offsets, arenaElements) = MemoryPlanner.plan(requests)
        arenaBytes = arenaElements * elem
        let arena = try alloc(arenaBytes)
        // Start from zeros so that trial and warm-up runs never read stale NaNs.
        try libs.check(libs.driver.cuMemsetD8_v2!(arena, 0, max(arenaBytes, 256)), "clear arena")
        var offsetOf: [String: Int] = [:]
        for (i, r) in roots.enumerated() { offsetOf[r] = offsets[i] }

        var uploaded: [String: CUdeviceptr] = [:]
        /// A value's memory in its stored layout (constants uploaded on first use).
        func physical(_ name: String) throws -> CUdeviceptr {
            if let c = constant(name) {
                if let p = uploaded[name] { return p }
                let p = try upload(floats: c.floats)
                uploaded[name] = p
                return p
            }
            guard let off = offsetOf[rootOf(name)] else { preconditionFailure("value \(name) has no arena slot") }
            return arena + CUdeviceptr(off * elem)
        }
        // Layout conversions, made once per value just before its first reader that needs them.
        var nchwCopies: [String: CUdeviceptr] = [:], nhwcCopies: [String: CUdeviceptr] = [:]
        func asNCHW(_ name: String) throws -> CUdeviceptr {
            guard nhwc.contains(name) else { return try physical(name) }
            if let p = nchwCopies[name] { return p }
            let s = info(name).shape
            let p = try alloc(s.reduce(1, *) * elem)
            layoutTransposeStep(to: p, from: try physical(name), nchwShape: s, toNHWC: false)
            nchwCopies[name] = p
            return p
        }
        func asNHWC(_ name: String) throws -> CUdeviceptr {
            if nhwc.contains(name) || constant(name) != nil { return try physical(name) }
            if let p = nhwcCopies[name] { return p }
            let s = info(name).shape
            let p = try alloc(s.reduce(1, *) * elem)
            layoutTransposeStep(to: p, from: try physical(name), nchwShape: s, toNHWC: true)
            nhwcCopies[name] = p
            return p
        }

        // Pinned staging for graph inputs and outputs (float32 on the host side).
        var pinnedBytes = 0
        var ins: [(String, [Int], Int, CUdeviceptr)] = []
        currentNode = "input"
        for i in graph.inputs {
            let shape = info(i.name).shape
            let n = shape.reduce(1, *)
            let dev = try alloc(n * 4)
            ins.append((i.name, shape, pinnedBytes, dev))
            pinnedBytes += (n * 4 + 255) / 256 * 256
            launchStep("from_f32", count: n, KernelArgs([.ptr(try physical(i.name)), .ptr(dev), .i64(Int64(n))]))
        }
        inputSlots = ins

        // s8 copies of float values read by int8-core layers, one per value and scale.
        var s8Copies: [String: CUdeviceptr] = [:]
        func s8Input(_ name: String, _ scale: Float) throws -> CUdeviceptr {
            if int8Chains[name] == scale { return try physical(name) }
            let key = "\(name)|\(scale)"
            if let p = s8Copies[key] { return p }
            let n = info(name).count
            let p = try alloc(n)
            launchStep("quantize_s8", count: n / 4, KernelArgs([.ptr(p), .ptr(try asNHWC(name)), .i64(Int64(n / 4)), .f32(scale)]))
            s8Copies[key] = p
            return p
        }

        var choices: [(String, String, String)] = []
        var unsupported: [String] = []
        for node in nodes {
            currentNode = node.name
            // Operators without an NHWC kernel read NCHW copies of NHWC inputs.
            let aware = nhwc.contains(node.outputs.first ?? "")
            let ptr: (String) throws -> CUdeviceptr = aware ? physical : { v in
                node.outputs.contains(v) ? try physical(v) : try asNCHW(v)
            }
            do {
                let label = int8Cores.contains(node.name)
                    ? try lowerInt8Conv(node, info: info, constant: constant, physical: physical, nhwcInput: asNHWC, s8Input: s8Input)
                    : try lower(node, info: info, constant: constant, ptr: ptr, physical: physical, nhwcInput: asNHWC)
                choices.append((node.name, node.opType, label))
            } catch let e as CUDAError where e.code == .unsupported {
                unsupported.append(e.message)
            }
        }
        if !unsupported.isEmpty {
            throw CUDAError(.unsupported, "the GPU backend cannot run \(unsupported.count) node(s): "
                + unsupported.prefix(4).joined(separator: "; ") + (unsupported.count > 4 ? "; …" : ""))
        }
        kernelChoices = choices

        var outs: [(String, [Int], Int, CUdeviceptr)] = []
        currentNode = "output"
        for o in graph.outputs {
            let shape = info(o.name).shape
            let n = shape.reduce(1, *)
            let dev = try alloc(n * 4)
            outs.append((o.name, shape, pinnedBytes, dev))
            pinnedBytes += (n * 4 + 255) / 256 * 256
            launchStep("to_f32", count: n, KernelArgs([.ptr(dev), .ptr(try asNCHW(o.name)), .i64(Int64(n))]))
        }
        outputSlots = outs
        currentNode = ""
        var host: UnsafeMutableRawPointer?
        try libs.check(libs.driver.cuMemAllocHost_v2!(&host, max(pinnedBytes, 256)), "cuMemAllocHost(\(pinnedBytes) bytes)")
        pinned = host
        try ensureWorkspace(workspaceBytes)
    }

    /// Lowers one node to steps; returns what runs it. Throws `.unsupported` with a reason.
    /// `ptr` gives each value in the layout this node reads and writes, `physical` in its
    /// stored layout, `nhwcInput` an NHWC view of a convolution input.
    func lower(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
               ptr: (String) throws -> CUdeviceptr, physical: (String) throws -> CUdeviceptr,
               nhwcInput: (String) throws -> CUdeviceptr) throws -> String {
        func refuse(_ why: String) -> CUDAError { CUDAError(.unsupported, "\(node.opType) '\(node.name)': \(why)") }
        let out = node.outputs.first ?? ""
        let y = info(out)
        let n = y.count
        func input(_ i: Int) -> String { i < node.inputs.count ? node.inputs[i] : "" }
        typealias U = CUDAKernelSource.Unary
        func unary(_ op: U, _ a: Float = 0, _ b: Float = 0) throws -> String {
            launchStep("unary", count: n, KernelArgs([.ptr(try ptr(out)), .ptr(try ptr(input(0))), .i64(Int64(n)),
                                                      .i32(op.rawValue), .f32(a), .f32(b)]))
            return "unary"
        }
        let nhwcOut = nhwcValues.contains(out)
        func binary(_ op: CUDAKernelSource.Binary) throws -> String {
            var a = info(input(0)).shape, b = info(input(1)).shape, o = y.shape
            if nhwcOut { (a, b, o) = (Self.nhwcShape(a), Self.nhwcShape(b), Self.nhwcShape(o)) }
            let g = try CUDAPlan.broadcast(out: o, a: a, b: b)
            launchStep("binary", count: n, KernelArgs([.ptr(try ptr(out)), .ptr(try ptr(input(0))), .ptr(try ptr(input(1))),
                                                       .i64(Int64(n)), .i32(op.rawValue), .i64s(g)]))
            return "binary"
        }
        switch node.op {
        case let op where cudaAliasOps.contains(op):
            if constant(input(0)) != nil {
                // A constant reshaped into an activation: copy it in.
                launchStep("unary", count: n, KernelArgs([.ptr(try ptr(out)), .ptr(try ptr(input(0))), .i64(Int64(n)),
                                                          .i32(U.identity.rawValue), .f32(0), .f32(0)]))
                return "copy"
            }
            if nhwcValues.contains(input(0)) && !nhwcOut {
                layoutTransposeStep(to: try physical(out), from: try physical(input(0)), nchwShape: info(input(0)).shape,
                                    toNHWC: false)
                return "transpose to NCHW"
            }
            return "alias"
        case .relu: return try unary(.relu)
        case .sigmoid: return try unary(.sigmoid)
        case .tanh: return try unary(.tanh)
        case .exp: return try unary(.exp)
        case .log: return try unary(.log)
        case .sqrt: return try unary(.sqrt)
        case .neg: return try unary(.neg)
        case .abs: return try unary(.abs)
        case .reciprocal: return try unary(.reciprocal)
        case .floor: return try unary(.floor)
        case .ceil: return try unary(.ceil)
        case .hardSwish: return try unary(.hardSwish)
        case .leakyRelu: return try unary(.leakyRelu, try node.float("alpha", default: 0.01))
        case .hardSigmoid:
            return try unary(.hardSigmoid, try node.float("alpha", default: 0.2), try node.float("beta", default: 0.5))
        case .clip:
            var lo = -Float.greatestFiniteMagnitude, hi = Float.greatestFiniteMagnitude
            if node.opset < 11 {
                lo = try node.float("min", default: lo)
                hi = try node.float("max", default: hi)
            } else {
                for (i, isLow) in [(1, true), (2, false)] where !input(i).isEmpty {
                    guard let c = constant(input(i)) else { throw refuse("bound '\(input(i))' must be constant") }
                    if isLow { lo = c.floats.first ?? lo } else { hi = c.floats.first ?? hi }
                }
            }
            return try unary(.clip, lo, hi)
        case .add: return try binary(.add)
        case .sub: return try binary(.sub)
        case .mul: return try binary(.mul)
        case .div: return try binary(.div)
        case .pow: return try binary(.pow)
        case .pRelu: return try binary(.prelu)
        case .max, .min:
            guard node.inputs.count == 2 else { throw refuse("only two inputs are supported") }
            return try binary(node.op == .max ? .max : .min)
        case .batchNormalization:
            if let conv = int8EpilogueBatchNorms.first(where: { $0.value.name == node.name })?.key {
                return "in the epilogue of \(conv) → s8"
            }
            guard let affine = Self.batchNormAffine(node, constant: constant) else {
                throw refuse("scale, B, mean and var must be constant")
            }
            let (s, t) = affine
            let x = info(input(0)).shape
            let hw = nhwcOut ? 1 : x.dropFirst(2).reduce(1, *)
            if let q = int8Chains[out], nhwcOut, x[1] % 8 == 0, n < 1 << 32 {
                // Read only by int8 layers: written straight onto their s8 grid, 16 bytes in per thread.
                launchStep("channel_affine_s8_nhwc", count: n / 8, KernelArgs([
                    .ptr(try ptr(out)), .ptr(try ptr(input(0))), .ptr(try upload(floats: s, f32: true)),
                    .ptr(try upload(floats: t, f32: true)), .i64(Int64(n / 8)), .i32(Int32(x[1])), .f32(q)]))
                return "channel_affine → s8"
            }
            if let q = int8Chains[out] {
                // Read only by int8 layers: written straight onto their s8 grid.
                launchStep("channel_affine_s8", count: n / 4, KernelArgs([
                    .ptr(try ptr(out)), .ptr(try ptr(input(0))), .ptr(try upload(floats: s, f32: true)),
                    .ptr(try upload(floats: t, f32: true)), .i64(Int64(n / 4)), .i32(Int32(x[1])), .i64(Int64(hw)), .f32(q)]))
                return "channel_affine → s8"
            }
            launchStep("channel_affine", count: n, KernelArgs([
                .ptr(try ptr(out)), .ptr(try ptr(input(0))), .ptr(try upload(floats: s, f32: true)),
                .ptr(try upload(floats: t, f32: true)), .i64(Int64(n)), .i32(Int32(x.count > 1 ? x[1] : 1)), .i64(Int64(hw))]))
            return "channel_affine"
        case .conv, .fusedConv:
            return try lowerConv(node, info: info, constant: constant, ptr: ptr, nhwcInput: nhwcInput)
        case .gemm, .matMul:
            return try lowerGemm(node, info: info, constant: constant, ptr: ptr)
        case .maxPool, .averagePool:
            let x = info(input(0)).shape
            guard x.count == 4 else { throw refuse("only 2-D pooling is supported (input \(x))") }
            let w = try Pooling.geometry(node, x: x)
            let kind: Int32 = node.op == .maxPool ? 0 : (try Pooling.flag(node, "count_include_pad") ? 1 : 2)
            let a: [KernelArg] = [.ptr(try ptr(out)), .ptr(try ptr(input(0))), .i64(Int64(x[0] * x[1])),
                                  .i32(Int32(x[2])), .i32(Int32(x[3])), .i32(Int32(w.output[0])), .i32(Int32(w.output[1])),
                                  .i32(Int32(w.kernel[0])), .i32(Int32(w.kernel[1])), .i32(Int32(w.strides[0])),
                                  .i32(Int32(w.strides[1])), .i32(Int32(w.padsBegin[0])), .i32(Int32(w.padsBegin[1])),
                                  .i32(Int32(w.padsEnd[0])), .i32(Int32(w.padsEnd[1])), .i32(Int32(w.dilations[0])),
                                  .i32(Int32(w.dilations[1])), .i32(kind)]
            launchStep("pool2d", count: n, KernelArgs(a))
            return "pool2d"
        case .globalAveragePool, .globalMaxPool:
            let x = info(input(0)).shape
            let planes = x[0] * x[1], size = x.dropFirst(2).reduce(1, *)
            launchStep("global_pool", count: planes * 32, grid: (planes * 32 + 255) / 256, KernelArgs([
                .ptr(try ptr(out)), .ptr(try ptr(input(0))), .i64(Int64(planes)), .i64(Int64(size)),
                .i32(node.op == .globalAveragePool ? 0 : 1)]))
            return "global_pool"
        case .resize:
            return try lowerResize(node, info: info, constant: constant, ptr: ptr)
        case .transpose:
            let x = info(input(0)).shape
            guard x.count <= CUDAKernelSource.maxRank else { throw refuse("rank \(x.count) > \(CUDAKernelSource.maxRank)") }
            let perm = try node.ints("perm") ?? Array((0..<x.count).reversed())
            var inStrides = [Int](repeating: 1, count: x.count)
            for k in stride(from: x.count - 2, through: 0, by: -1) { inStrides[k] = inStrides[k + 1] * x[k + 1] }
            var g = [Int64](repeating: 0, count: 1 + 2 * CUDAKernelSource.maxRank)
            g[0] = Int64(x.count)
            for k in 0..<x.count {
                g[1 + k] = Int64(y.shape[k])
                g[1 + CUDAKernelSource.maxRank + k] = Int64(inStrides[perm[k]])
            }
            launchStep("transpose", count: n, KernelArgs([.ptr(try ptr(out)), .ptr(try ptr(input(0))), .i64(Int64(n)), .i64s(g)]))
            return "transpose"
        case .concat:
            let rank = y.shape.count
            let a = try node.int("axis", default: 0)
            let axis = a < 0 ? a + rank : a
            let inner = y.shape[(axis + 1)...].reduce(1, *)
            let stride = y.shape[axis] * inner
            var offset = 0
            for v in node.inputs where !v.isEmpty {
                let s = info(v).shape
                let cnt = s.reduce(1, *)
                let chunk = s[axis] * inner
                if cnt > 0 {
                    launchStep("copy_slice", count: cnt, KernelArgs([.ptr(try ptr(out)), .ptr(try ptr(v)), .i64(Int64(cnt)),
                                                                    .i64(Int64(chunk)), .i64(Int64(stride)), .i64(Int64(offset))]))
                }
                offset += chunk
            }
            return "copy_slice"
        case .pad:
            return try lowerPad(node, info: info, constant: constant, ptr: ptr)
        case .instanceNormalization:
            guard let sc = constant(input(1)), let b = constant(input(2)) else { throw refuse("scale and B must be constant") }
            let x = info(input(0)).shape
            let planes = x[0] * x[1]
            launchStep("instance_norm", count: planes * 256, grid: planes, KernelArgs([
                .ptr(try ptr(out)), .ptr(try ptr(input(0))), .ptr(try upload(floats: sc.floats, f32: true)),
                .ptr(try upload(floats: b.floats, f32: true)), .i32(Int32(x[1])), .i64(Int64(x.dropFirst(2).reduce(1, *))),
                .f32(try node.float("epsilon", default: 1e-5))]))
            return "instance_norm"
        case .reduceSum, .reduceMean, .reduceMax, .reduceMin:
            let kinds: [OpKind: (Reduction.Kind, Int32)] = [.reduceSum: (.sum, 0), .reduceMean: (.mean, 1),
                                                            .reduceMax: (.max, 2), .reduceMin: (.min, 3)]
            let (kind, code) = kinds[node.op]!
            let x = info(input(0)).shape
            var axesInput: [Int64]? = nil
            if node.opset >= kind.axesInputOpset, !input(1).isEmpty {
                guard let c = constant(input(1)) else { throw refuse("axes must be constant") }
                axesInput = c.ints
            }
            guard let axes = try Reduction.axes(node, kind, rank: x.count, axesInput: axesInput) else {
                return try unary(.identity)
            }
            guard let lo = axes.first, let hi = axes.last, hi - lo + 1 == axes.count else {
                throw refuse("only contiguous axes are supported (axes \(axes))")
            }
            let outer = x[..<lo].reduce(1, *), len = x[lo...hi].reduce(1, *), inner = x[(hi + 1)...].reduce(1, *)
            launchStep("reduce", count: outer * inner, KernelArgs([.ptr(try ptr(out)), .ptr(try ptr(input(0))), .i64(Int64(outer)),
                                                                   .i64(Int64(len)), .i64(Int64(inner)), .i32(code)]))
            return "reduce"
        default:
            throw refuse("operator not supported on the GPU")
        }
    }

    /// The `Bcast` kernel argument for a broadcasting binary op: rank, output dims,
    /// then each operand's element strides (0 on broadcast axes), each padded to
    /// `CUDAKernelSource.maxRank` entries. Leading unit axes beyond the maximum rank are dropped.
    public static func broadcast(out: [Int], a: [Int], b: [Int]) throws -> [Int64] {
        let r = CUDAKernelSource.maxRank
        // Collapse to at most maxRank axes by dropping leading 1s.
        var o = out
        while o.count > r, o.first == 1 { o.removeFirst() }
        guard o.count <= r else { throw CUDAError(.unsupported, "broadcast of rank \(out.count) > \(r)") }
        func strides(_ s: [Int]) -> [Int64] {
            var padded = [Int](repeating: 1, count: max(0, o.count - s.count)) + s
            if padded.count > o.count { padded = Array(padded.suffix(o.count)) }
            var st = [Int64](repeating: 0, count: o.count)
            var acc = 1
            for k in stride(from: o.count - 1, through: 0, by: -1) {
                st[k] = padded[k] == 1 && o[k] != 1 ? 0 : Int64(acc)
                acc *= padded[k]
            }
            return st
        }
        var g = [Int64](repeating: 0, count: 1 + 3 * r)
        g[0] = Int64(o.count)
        let sa = strides(a), sb = strides(b)
        for k in 0..<o.count {
            g[1 + k] = Int64(o[k])
            g[1 + r + k] = sa[k]
            g[1 + 2 * r + k] = sb[k]
        }
        return g
    }

    func lowerResize(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                     ptr: (String) throws -> CUdeviceptr) throws -> String {
        func refuse(_ why: String) -> CUDAError { CUDAError(.unsupported, "\(node.opType) '\(node.name)': \(why)") }
        guard node.attributes["axes"] == nil else { throw refuse("the axes attribute is not supported") }
        let x = info(node.inputs[0]).shape, y = info(node.outputs[0]).shape
        guard x.count == 4, x[0] == y[0], x[1] == y[1] else { throw refuse("only resizing the last two axes of 4-D input") }
        let cfg = try ResizeOp.config(node)
        let si = node.opset < 11 ? 1 : 2
        var scales = [Float](repeating: 1, count: 4)
        if si < node.inputs.count, let s = constant(node.inputs[si]), s.count == 4 {
            scales = s.floats
        } else {
            for a in 0..<4 { scales[a] = x[a] > 0 ? Float(y[a]) / Float(x[a]) : 1 }
        }
        var tables: [(i0: [Int32], i1: [Int32], w: [Float])] = []
        for a in [2, 3] {
            let inLen = x[a], outLen = y[a]
            var i0 = [Int32](repeating: 0, count: outLen), i1 = i0
            var w = [Float](repeating: 0, count: outLen)
            let unscaled = inLen == outLen && scales[a] == 1
            for o in 0..<outLen {
                if unscaled { i0[o] = Int32(o); i1[o] = Int32(o); continue }
                var c = Resampling.source(o, scale: scales[a], inLen: inLen, outLen: outLen, cfg.coordinates)
                if cfg.mode == .nearest {
                    let k = Resampling.nearestIndex(c, cfg.nearest, scale: scales[a], inLen: inLen)
                    i0[o] = Int32(k); i1[o] = Int32(k)
                } else {
                    if !c.isFinite { c = 0 }
                    c = min(max(c, 0), Float(inLen - 1))
                    let lo = Int(c.rounded(.down))
                    i0[o] = Int32(lo)
                    i1[o] = Int32(min(lo + 1, inLen - 1))
                    w[o] = Int(i1[o]) == lo ? 0 : c - Float(lo)
                }
            }
            tables.append((i0, i1, w))
        }
        launchStep("resize2d", count: y.reduce(1, *), KernelArgs([
            .ptr(try ptr(node.outputs[0])), .ptr(try ptr(node.inputs[0])), .i64(Int64(x[0] * x[1])),
            .i32(Int32(x[2])), .i32(Int32(x[3])), .i32(Int32(y[2])), .i32(Int32(y[3])),
            .ptr(try upload(ints: tables[0].i0)), .ptr(try upload(ints: tables[0].i1)), .ptr(try upload(floats: tables[0].w, f32: true)),
            .ptr(try upload(ints: tables[1].i0)), .ptr(try upload(ints: tables[1].i1)), .ptr(try upload(floats: tables[1].w, f32: true))]))
        return "resize2d"
    }

    func lowerPad(_ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                  ptr: (String) throws -> CUdeviceptr) throws -> String {
        func refuse(_ why: String) -> CUDAError { CUDAError(.unsupported, "\(node.opType) '\(node.name)': \(why)") }
        let x = info(node.inputs[0]).shape, y = info(node.outputs[0]).shape
        let rank = x.count
        guard rank <= CUDAKernelSource.maxRank else { throw refuse("rank \(rank) > \(CUDAKernelSource.maxRank)") }
        let modes = ["constant": Int32(0), "reflect": 1, "edge": 2]
        guard let mode = modes[try node.string("mode", default: "constant")] else { throw refuse("pad mode not supported") }
        var pads: [Int]
        var axes = Array(0..<rank)
        var value: Float = 0
        if node.opset < 11 {
            pads = try node.ints("pads") ?? []
            value = try node.float("value", default: 0)
        } else {
            guard let p = constant(node.inputs[1]) else { throw refuse("pads must be constant") }
            pads = p.ints.map { Int($0) }
            if node.inputs.count > 2, !node.inputs[2].isEmpty {
                guard let v = constant(node.inputs[2]) else { throw refuse("constant_value must be constant") }
                value = v.floats.first ?? 0
            }
            if node.inputs.count > 3, !node.inputs[3].isEmpty {
                guard let a = constant(node.inputs[3]) else { throw refuse("axes must be constant") }
                axes = a.ints.map { Int($0) < 0 ? Int($0) + rank : Int($0) }
            }
        }
        guard pads.count == 2 * axes.count else { throw refuse("pads \(pads) do not match axes \(axes)") }
        let r = CUDAKernelSource.maxRank
        var g = [Int64](repeating: 0, count: 1 + 3 * r)
        g[0] = Int64(rank)
        for k in 0..<rank { g[1 + k] = Int64(y[k]); g[1 + r + k] = Int64(x[k]) }
        for (i, a) in axes.enumerated() { g[1 + 2 * r + a] = Int64(pads[i]) }
        let n = y.reduce(1, *)
        launchStep("pad", count: n, KernelArgs([.ptr(try ptr(node.outputs[0])), .ptr(try ptr(node.inputs[0])), .i64(Int64(n)),
                                                .i64s(g), .i32(mode), .f32(value)]))
        return "pad"
    }
}
