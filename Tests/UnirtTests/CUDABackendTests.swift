import Foundation
import UnirtCUDA
import UnirtIR
import UnirtRuntime
import XCTest

/// CPU-side checks of the CUDA backend: the library-missing path, the kernel
/// source and argument geometry. GPU execution is checked on a GPU machine by
/// `unirt gpu-check` (scripts/gpu-check.sh); here it is skipped with a note.
final class CUDABackendTests: XCTestCase {
    func testUnavailableLibrariesGiveAReason() throws {
        switch CUDALibraries.shared {
        case .success(let libs):
            // A GPU machine: every library resolved, versions readable.
            XCTAssertEqual(Set(libs.paths.keys), ["cuda", "nvrtc", "cublasLt", "cudnn"])
            XCTAssertNotNil(libs.versions["cudnn"])
        case .failure(let e):
            XCTAssertEqual(e.code, .libraryUnavailable)
            XCTAssertTrue(e.message.contains(".so"), e.message)
            XCTAssertTrue(e.message.contains(CUDALibraries.pathVariable), e.message)
            print("note: GPU tests skipped on this machine: \(e.message)")
        }
    }

    func testConfiguredFoldersComeFromTheEnvironment() {
        XCTAssertEqual(CUDALibraries.configuredFolders([CUDALibraries.pathVariable: "/a::/b/c"]), ["/a", "/b/c"])
        XCTAssertEqual(CUDALibraries.configuredFolders([:]), [])
    }

    func testDevicesCommandReportsWhyWithoutGPU() throws {
        let r = try TestSupport.unirt(["devices"])
        XCTAssertEqual(r.status, 0, r.stderr)
        if case .failure(let e) = CUDALibraries.shared {
            XCTAssertEqual(r.stdout, "cpu: available\nGPU backend unavailable: \(e.message)\n")
        } else {
            XCTAssertTrue(r.stdout.contains("compute capability"), r.stdout)
        }
    }

    func testKernelSourceDefinesEveryEntryPoint() {
        let src = CUDAKernelSource.source
        for k in CUDAKernelSource.kernels {
            XCTAssertTrue(src.contains("void \(k)_##S("), "kernel \(k) has no instantiated entry point")
        }
        XCTAssertEqual(CUDAKernelSource.name("unary", fp16: true), "unary_f16")
        XCTAssertTrue(src.contains("UNIRT_INSTANTIATE(float, f32)"))
        XCTAssertTrue(src.contains("UNIRT_INSTANTIATE(half_t, f16)"))
        for k in CUDAKernelSource.immaKernels {
            XCTAssertTrue(src.contains("ENTRY(\(k.name), "), "int8 kernel \(k.name) has no entry point")
            if k.haloChannels > 0 {
                // Filters, two halo buffers, the epilogue's fp32 tile; tiles of 16-row MMA fragments.
                XCTAssertEqual(k.sharedBytes, 9 * 64 * k.haloChannels + 2 * (k.tileHeight + 2) * 10 * k.haloChannels + k.rows * 256, k.name)
                XCTAssertEqual(k.rows % 16, 0, k.name)
                XCTAssertTrue(k.fits(channels: k.haloChannels, filter: (3, 3), strides: [1, 1], dilations: [1, 1]), k.name)
                XCTAssertFalse(k.fits(channels: k.haloChannels, filter: (3, 3), strides: [2, 2], dilations: [1, 1]), k.name)
                XCTAssertFalse(k.fits(channels: k.haloChannels * 2, filter: (3, 3), strides: [1, 1], dilations: [1, 1]), k.name)
                let (gx, gy) = k.grid(pixels: 4 * 56 * 56, images: 4, height: 56, width: 56, k: 128, multiprocessors: 132)
                XCTAssertEqual(gy, 2, k.name)
                XCTAssertTrue(gx >= 1 && gx <= 4 * 7 * ((56 + k.tileHeight - 1) / k.tileHeight), k.name)
            } else if k.tensorMaps {
                // The ring (stages × k-steps per stage × (rows + columns) × k-step bytes), 1 KiB to align it to the
                // swizzle's period, the stages' mbarriers; consumer warpgroups of 64 rows and a producer warp.
                XCTAssertEqual((k.sharedBytes - 1280) % ((k.rows + k.columns) * k.kStep * k.stepsPerStage), 0, k.name)
                XCTAssertLessThanOrEqual(k.sharedBytes, 227 << 10, k.name)
                XCTAssertEqual(k.threads, 2 * k.rows + 32, k.name)
                XCTAssertTrue(k.hopper && [64, 128].contains(k.kStep), k.name)
                XCTAssertEqual(k.fits(channels: 256, filter: (3, 3), strides: [2, 2], dilations: [1, 1]),
                               (256 / k.kStep * 9) % k.stepsPerStage == 0, k.name)
                XCTAssertEqual(k.fits(channels: 64, filter: (3, 3), strides: [1, 1], dilations: [1, 1]),
                               k.kStep == 64 && 9 % k.stepsPerStage == 0, k.name)
                XCTAssertEqual(k.fits(channels: 128, filter: (1, 1), strides: [1, 1], dilations: [1, 1]),
                               (128 / k.kStep) % k.stepsPerStage == 0, k.name)
                XCTAssertFalse(k.fits(channels: 48, filter: (3, 3), strides: [1, 1], dilations: [1, 1]), k.name)
                XCTAssertTrue(src.contains("TMCONV_ENTRY(\(k.name), "), k.name)
            } else {
                // The shared-memory ring: stages × (rows + columns) × row bytes.
                XCTAssertEqual(k.sharedBytes % ((k.rows + k.columns) * 64), 0, k.name)
            }
            if !k.hopper {
                XCTAssertLessThanOrEqual(k.sharedBytes, 99 << 10, "\(k.name) needs more shared memory than sm_86/89 give a block")
            }
            if k.hopper { XCTAssertGreaterThanOrEqual(k.sharedBytes, k.rows * k.columns * 4, "\(k.name): the epilogue's fp32 tile") }
        }
    }

    func testInt8FiltersGiveBackTheGridInKRSCOrder() {
        // 2 output channels, 3 input channels, 2×2 taps, already on each channel's int8 grid.
        let (k, c, r, s) = (2, 3, 2, 2)
        let scales: [Float] = [0.5 / 127, 2.0 / 127]
        var ints = [Int](repeating: 0, count: k * c * r * s)
        for i in ints.indices { ints[i] = (i * 37 % 255) - 127 }
        ints[0] = 127; ints[c * r * s] = -127  // each channel reaches ±127
        let w = ints.enumerated().map { i, q in Float(q) * scales[i / (c * r * s)] }
        let (q, sw) = CUDAPlan.int8Filters(w, k: k, c: c, r: r, s: s)
        for o in 0..<k { XCTAssertEqual(sw[o], scales[o], accuracy: scales[o] * 1e-6) }
        for o in 0..<k { for ci in 0..<c { for ri in 0..<r { for si in 0..<s {
            XCTAssertEqual(Int(q[((o * r + ri) * s + si) * c + ci]), ints[((o * c + ci) * r + ri) * s + si])
        } } } }
        // An all-zero channel has scale 0 and zero weights.
        let (qz, sz) = CUDAPlan.int8Filters([Float](repeating: 0, count: 12), k: 1, c: 3, r: 2, s: 2)
        XCTAssertEqual(sz, [0])
        XCTAssertTrue(qz.allSatisfy { $0 == 0 })
    }

    /// A few-channel int8 layer as an R × 1 convolution over s8 rows of its taps: the rows' width and the
    /// rearranged filters, checked against the convolution they replace on a small example.
    func testInt8RowsOfFewChannelLayers() {
        XCTAssertEqual(CUDAPlan.int8RowChannels(channels: 3, width: 3), 16)
        XCTAssertEqual(CUDAPlan.int8RowChannels(channels: 3, width: 7), 32)
        XCTAssertEqual(CUDAPlan.int8RowChannels(channels: 1, width: 5), 16)
        XCTAssertNil(CUDAPlan.int8RowChannels(channels: 16, width: 3), "a multiple of 16 reads NHWC directly")
        XCTAssertNil(CUDAPlan.int8RowChannels(channels: 24, width: 3), "72 bytes of taps")
        // x: 1 × 3 × 4 × 5, a 2 × 3 filter, stride (1, 2), pads (1, 1): the direct convolution against the
        // R × 1 convolution over rows built as quantize_rows_s8 builds them.
        let (k, c, r, s, h, w) = (2, 3, 2, 3, 4, 5)
        let (sh, sw, ph, pw) = (1, 2, 1, 1)
        let oh = (h + 2 * ph - r) / sh + 1, ow = (w + 2 * pw - s) / sw + 1
        let x = (0..<(c * h * w)).map { Float(($0 * 7) % 11) - 5 }
        let f = (0..<(k * c * r * s)).map { Float(($0 * 5) % 9) - 4 }
        let cp = CUDAPlan.int8RowChannels(channels: c, width: s)!
        let rf = CUDAPlan.int8RowFilters(f, k: k, c: c, r: r, s: s, rowChannels: cp)
        XCTAssertEqual(rf.count, k * cp * r)
        var rows = [Float](repeating: 0, count: h * ow * cp)
        for y in 0..<h { for o in 0..<ow { for j in 0..<(s * c) {
            let col = o * sw + j / c - pw
            if col >= 0 && col < w { rows[(y * ow + o) * cp + j] = x[((j % c) * h + y) * w + col] }
        } } }
        for o in 0..<k { for y in 0..<oh { for xo in 0..<ow {
            var direct: Float = 0, viaRows: Float = 0
            for ri in 0..<r {
                let iy = y * sh + ri - ph
                guard iy >= 0 && iy < h else { continue }
                for ci in 0..<c { for si in 0..<s {
                    let ix = xo * sw + si - pw
                    if ix >= 0 && ix < w { direct += x[(ci * h + iy) * w + ix] * f[((o * c + ci) * r + ri) * s + si] }
                } }
                for j in 0..<cp { viaRows += rows[(iy * ow + xo) * cp + j] * rf[(o * cp + j) * r + ri] }
            }
            XCTAssertEqual(direct, viaRows, "output (\(o), \(y), \(xo))")
        } } }
    }

    /// A tactic's signature holds what its timing depends on and nothing else: two layers that differ only in
    /// their names (or their weights' values) share it; a shape, layout, attribute or precision apart, they do not.
    func testTacticSignaturesIgnoreNamesOnly() {
        var shapes: [String: [Int]] = ["x": [8, 64, 56, 56], "y": [8, 64, 56, 56], "a": [8, 64, 56, 56], "b": [8, 64, 56, 56]]
        func info(_ n: String) -> ValueInfo { ValueInfo(dtype: .f32, shape: shapes[n] ?? [0]) }
        let consts = ["w": Tensor(shape: [64, 64, 3, 3], floats: [Float](repeating: 0.1, count: 64 * 64 * 9)),
                      "v": Tensor(shape: [64, 64, 3, 3], floats: [Float](repeating: -0.3, count: 64 * 64 * 9))]
        func constant(_ n: String) -> Tensor? { consts[n] }
        func conv(_ name: String, _ x: String, _ w: String, _ y: String, pads: [Int] = [1, 1, 1, 1]) -> Node {
            Node(name: name, op: .fusedConv, inputs: [x, w], outputs: [y],
                 attributes: ["pads": .ints(pads), "input_scale": .float(0.05), "activation": .string("PRelu")], opset: 1)
        }
        func sig(_ n: Node, _ p: CUDAPrecision = .int8, nhwc: Set<String> = ["x", "y", "a", "b"]) -> String {
            CUDAPlan.tacticSignature("int8 conv", n, precision: p, nhwcValues: nhwc, info: info, constant: constant)
        }
        let one = conv("block1/conv", "x", "w", "y"), two = conv("block7/conv", "a", "v", "b")
        XCTAssertEqual(sig(one), sig(two))
        XCTAssertFalse(sig(one).contains("block1"))
        XCTAssertNotEqual(sig(one), sig(conv("c", "x", "w", "y", pads: [0, 0, 0, 0])), "attributes")
        XCTAssertNotEqual(sig(one), sig(one, .fp16), "precision")
        XCTAssertNotEqual(sig(one), sig(one, nhwc: []), "layout")
        shapes["a"] = [16, 64, 56, 56]
        XCTAssertNotEqual(sig(one), sig(two), "batch")
    }

    /// cuDNN's timed algorithms as a plan records them (`algo:ms:workspace;…`), read back in order.
    func testRecordedCuDNNAlgorithmsParse() {
        let perfs = CUDAPlan.cudnnPerfs("1:0.203:0;6:0.25:4194304")
        XCTAssertEqual(perfs?.map(\.algo), [1, 6])
        XCTAssertEqual(perfs?.map(\.time), [0.203, 0.25])
        XCTAssertEqual(perfs?.map(\.memory), [0, 4194304])
        XCTAssertEqual(perfs?.map(\.status), [0, 0])
        XCTAssertNil(CUDAPlan.cudnnPerfs("1:0.2"), "a field missing: timed again")
        XCTAssertNil(CUDAPlan.cudnnPerfs("x:0.2:0"))
        XCTAssertEqual(CUDAPlan.cudnnPerfs("")?.count, 0, "cuDNN found nothing usable: the plan says so again")
    }

    /// Which int8 layers the int8 tensor-core kernels take, and which tensors between them stay s8.
    func testInt8CoreRulesAndS8Chains() {
        var shapes: [String: [Int]] = ["x": [1, 16, 8, 8], "a": [1, 16, 8, 8], "b": [1, 32, 8, 8], "c": [1, 32, 8, 8],
                                       "d": [1, 32, 8, 8], "e": [1, 32, 8, 8], "f": [1, 8, 8, 8], "x8": [1, 8, 8, 8],
                                       "x24": [1, 24, 8, 8]]
        func info(_ n: String) -> ValueInfo { ValueInfo(dtype: .f32, shape: shapes[n] ?? [0]) }
        var consts: [String: Tensor] = [:]
        func conv(_ name: String, _ x: String, _ y: String, cin: Int, cout: Int, scale: Float, act: String = "",
                  residual: String = "", group: Int = 1) -> Node {
            consts["w_" + name] = Tensor(shape: [cout, cin / group, 3, 3], floats: [Float](repeating: 0.1, count: cout * cin / group * 9))
            var attrs: [String: Attribute] = ["input_scale": .float(scale), "pads": .ints([1, 1, 1, 1]), "activation": .string(act),
                                              "group": .int(group)]
            var inputs = [x, "w_" + name, "", residual]
            if act == "PRelu" { consts["p_" + name] = Tensor(shape: [cout], floats: [Float](repeating: 0.25, count: cout)); inputs.append("p_" + name) }
            if act.isEmpty && residual.isEmpty { inputs = [x, "w_" + name] }
            attrs["kernel_shape"] = .ints([3, 3])
            return Node(name: name, op: .fusedConv, inputs: inputs, outputs: [y], attributes: attrs, opset: 1)
        }
        let bn = Node(name: "bn", op: .batchNormalization, inputs: ["x", "s", "t", "m", "v"], outputs: ["a"], opset: 15)
        let c1 = conv("c1", "a", "b", cin: 16, cout: 32, scale: 0.1, act: "PRelu")   // reads the BN output
        let c2 = conv("c2", "b", "c", cin: 32, cout: 32, scale: 0.2)                  // b also feeds c3's residual
        let c3 = conv("c3", "b", "d", cin: 32, cout: 32, scale: 0.2, residual: "b")
        let c4 = conv("c4", "c", "e", cin: 32, cout: 32, scale: 0.3, act: "Relu")
        let c5 = conv("c5", "d", "f", cin: 32, cout: 8, scale: 0.5, act: "Sigmoid")   // no such epilogue
        let c6 = conv("c6", "x8", "f", cin: 8, cout: 8, scale: 0.5)                    // 8 channels: s8 rows of 3 taps
        let c7 = conv("c7", "c", "e", cin: 32, cout: 32, scale: 0.3, group: 2)         // grouped
        let c9 = conv("c9", "x24", "f", cin: 24, cout: 8, scale: 0.5)                  // 3 taps of 24 channels: 72 bytes
        func constant(_ n: String) -> Tensor? { consts[n] }
        let fits = [bn, c1, c2, c3, c4, c5, c6, c7, c9].filter { CUDAPlan.int8CoreShapeFits($0, info: info, constant: constant) }.map(\.name)
        XCTAssertEqual(fits, ["c1", "c2", "c3", "c4", "c6"])
        // A value with channels not a multiple of 16 stays float even when only an int8 layer reads it: the
        // reader quantizes its own rows from it.
        shapes["c"] = [1, 8, 8, 8]
        XCTAssertNil(CUDAPlan.int8Chains([bn, c1, c2, c4], int8Cores: ["c1", "c2", "c4"], graphOutputs: [],
                                         nhwcValues: ["a", "b", "c", "e"], info: info)["c"])
        shapes["c"] = [1, 32, 8, 8]

        let cores: Set<String> = ["c1", "c2", "c3", "c4"]
        let all: Set<String> = ["a", "b", "c", "d", "e"]
        let chains = CUDAPlan.int8Chains([bn, c1, c2, c3, c4], int8Cores: cores, graphOutputs: ["e"], nhwcValues: all, info: info)
        XCTAssertEqual(chains["a"], 0.1, "a BatchNormalization read only by an int8 layer writes s8")
        XCTAssertNil(chains["b"], "b is also a residual input")
        XCTAssertEqual(chains["c"], 0.3, "c is read only by c4")
        XCTAssertNil(chains["e"], "graph outputs stay float")
        XCTAssertNil(chains["d"], "d has no reader here")
        // Two readers with different input scales, or an NCHW value: float.
        let c8 = conv("c8", "c", "g", cin: 32, cout: 32, scale: 0.4)
        XCTAssertNil(CUDAPlan.int8Chains([bn, c1, c2, c4, c8], int8Cores: cores.union(["c8"]), graphOutputs: [], nhwcValues: all,
                                         info: info)["c"])
        XCTAssertNil(CUDAPlan.int8Chains([bn, c1], int8Cores: cores, graphOutputs: [], nhwcValues: [], info: info)["a"])
    }

    /// Which BatchNormalizations an int8-core convolution's epilogue writes as a second, s8 output.
    func testInt8EpilogueBatchNorms() {
        let shape = [1, 16, 8, 8]
        func info(_ n: String) -> ValueInfo { ValueInfo(dtype: .f32, shape: shape) }
        var consts: [String: Tensor] = [:]
        for p in ["s", "t", "m", "v"] { consts[p] = Tensor(shape: [16], floats: [Float](repeating: 0.5, count: 16)) }
        func constant(_ n: String) -> Tensor? { consts[n] }
        func conv(_ name: String, _ x: String, _ y: String, residual: String = "") -> Node {
            Node(name: name, op: .fusedConv, inputs: [x, "w", "", residual], outputs: [y],
                 attributes: ["input_scale": .float(0.1), "pads": .ints([1, 1, 1, 1])], opset: 1)
        }
        func bn(_ name: String, _ x: String, _ y: String, mean: String = "m") -> Node {
            Node(name: name, op: .batchNormalization, inputs: [x, "s", "t", mean, "v"], outputs: [y], opset: 15)
        }
        // An IResNet block: c1's output b is a residual of c3 and, through bn2, c2's s8 input.
        let nodes = [conv("c1", "a", "b"), bn("bn2", "b", "g"), conv("c2", "g", "d"), conv("c3", "d", "e", residual: "b"),
                     bn("bn3", "e", "h"), conv("c4", "h", "i"),
                     bn("bn4", "i", "j"), conv("c5", "j", "k"), bn("bn5", "i", "l"), conv("c6", "l", "o"),
                     bn("bn6", "x", "p"), conv("c7", "p", "q"),
                     conv("c8", "q", "r"), bn("bn7", "r", "u"), Node(name: "relu", op: .relu, inputs: ["u"], outputs: ["uu"], opset: 14),
                     conv("c9", "uu", "vv"), bn("bn8", "vv", "ww", mean: "m_var"), conv("c10", "ww", "xx")]
        let cores: Set<String> = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c10"]
        let nhwc = Set(nodes.flatMap(\.outputs) + ["a", "x"])
        let chains = CUDAPlan.int8Chains(nodes, int8Cores: cores, graphOutputs: ["o"], nhwcValues: nhwc, info: info)
        XCTAssertNil(chains["b"])
        XCTAssertNotNil(chains["g"])
        let folded = CUDAPlan.int8EpilogueAffines(nodes, int8Cores: cores, int8Chains: chains, nhwcValues: nhwc, info: info,
                                                  constant: constant).mapValues(\.name)
        XCTAssertEqual(folded["c1"], "bn2", "the block's BatchNormalization is written by the convolution before it")
        XCTAssertEqual(folded["c3"], "bn3")
        XCTAssertEqual(folded["c4"], "bn4", "one BatchNormalization per convolution: the first")
        XCTAssertNil(folded["c8"], "bn7's output is read by a Relu: not an s8 chain value")
        XCTAssertNil(folded["c9"], "bn8's mean is not constant")
        XCTAssertEqual(folded.count, 3, "bn6 reads a graph input, not a convolution")
        XCTAssertTrue(CUDAPlan.int8EpilogueAffines(nodes, int8Cores: cores, int8Chains: chains, nhwcValues: [], info: info,
                                                   constant: constant).isEmpty, "NCHW values keep the separate pass")

        // A float first layer (3 input channels, not an int8 layer) followed by a block: its epilogue kernel writes bn1.
        let first = [Node(name: "f", op: .fusedConv, inputs: ["img", "w"], outputs: ["a0"], opset: 1),
                     bn("bn1", "a0", "g0"), conv("c1", "g0", "d0"), conv("c2", "d0", "e0", residual: "a0")]
        let firstNHWC = Set(first.flatMap(\.outputs))
        let firstChains = CUDAPlan.int8Chains(first, int8Cores: ["c1", "c2"], graphOutputs: ["e0"], nhwcValues: firstNHWC, info: info)
        XCTAssertEqual(CUDAPlan.int8EpilogueAffines(first, int8Cores: ["c1", "c2"], int8Chains: firstChains, nhwcValues: firstNHWC,
                                                    info: info, constant: constant).mapValues(\.name), ["f": "bn1"])
        // Output channels not a multiple of 8 (no 16-byte fp16 vectors): the separate pass stays.
        func info12(_ n: String) -> ValueInfo { ValueInfo(dtype: .f32, shape: [1, 12, 8, 8]) }
        XCTAssertTrue(CUDAPlan.int8EpilogueAffines(first, int8Cores: ["c1", "c2"], int8Chains: firstChains, nhwcValues: firstNHWC,
                                                   info: info12, constant: constant).isEmpty)
    }

    func testBroadcastGeometry() throws {
        // [2,3,4,5] + [3,1,1]: the second operand is per channel.
        let g = try CUDAPlan.broadcast(out: [2, 3, 4, 5], a: [2, 3, 4, 5], b: [3, 1, 1])
        let r = CUDAKernelSource.maxRank
        XCTAssertEqual(g[0], 4)
        XCTAssertEqual(Array(g[1...4]), [2, 3, 4, 5])
        XCTAssertEqual(Array(g[(1 + r)...(4 + r)]), [60, 20, 5, 1])
        XCTAssertEqual(Array(g[(1 + 2 * r)...(4 + 2 * r)]), [0, 1, 0, 0])
        // Scalar operand: every stride 0.
        let s = try CUDAPlan.broadcast(out: [7, 13], a: [7, 13], b: [])
        XCTAssertEqual(Array(s[(1 + 2 * r)...(2 + 2 * r)]), [0, 0])
        XCTAssertThrowsError(try CUDAPlan.broadcast(out: [2, 2, 2, 2, 2, 2, 2], a: [2, 2, 2, 2, 2, 2, 2], b: [1]))
    }

    /// BatchNormalization → Conv folded into scaled filters plus a bias (per channel, or per position when the
    /// convolution pads) against the reference kernels running the unfolded graph. Bound: 1e-5 relative to the
    /// largest |reference| output (float rounding of the reordered sums).
    func testBatchNormBeforeConvFoldsExactly() throws {
        var rng = SeededRNG(seed: 31)
        // (kernel, pads, strides, with conv bias)
        let cases: [(Int, Int, Int, Bool)] = [(3, 1, 2, true), (3, 1, 1, false), (1, 0, 2, true), (1, 0, 1, false)]
        for (k, pad, stride, withBias) in cases {
            let (n, c, m, h, w) = (2, 3, 5, 13, 11)
            var inits: [String: Tensor] = [
                "s": Tensor(shape: [c], floats: rng.floats(c, in: 0.5...1.5)), "b": Tensor(shape: [c], floats: rng.floats(c)),
                "mean": Tensor(shape: [c], floats: rng.floats(c)), "var": Tensor(shape: [c], floats: rng.floats(c, in: 0.1...2)),
                "w": Tensor(shape: [m, c, k, k], floats: rng.floats(m * c * k * k)),
            ]
            if withBias { inits["cb"] = Tensor(shape: [m], floats: rng.floats(m)) }
            let bn = Node(name: "bn", op: .batchNormalization, inputs: ["x", "s", "b", "mean", "var"], outputs: ["t"],
                          attributes: ["epsilon": .float(1e-3)], opset: 15)
            let convAttrs: [String: Attribute] = ["pads": .ints([pad, pad, pad, pad]), "strides": .ints([stride, stride]),
                                                  "kernel_shape": .ints([k, k])]
            let conv = Node(name: "conv", op: .conv, inputs: withBias ? ["t", "w", "cb"] : ["t", "w"], outputs: ["y"],
                            attributes: convAttrs, opset: 13)
            let decl = ValueDecl(name: "x", dtype: .f32, dims: [n, c, h, w].map { .fixed($0) })
            let g = Graph(inputs: [decl], outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)], initializers: inits,
                          nodes: [bn, conv])
            let x = Tensor(shape: [n, c, h, w], floats: rng.floats(n * c * h * w))
            let ref = try Session(graph: g, backend: ReferenceBackend()).run(["x": x])["y"]!

            let folds = CUDAPlan.preConvFolds(in: try g.specialized(inputShapes: ["x": x.shape]))
            let f = try XCTUnwrap(folds["conv"], "BatchNormalization before conv \(k)x\(k) pad \(pad) was not folded")
            XCTAssertEqual(f.biasMap == nil, pad == 0)
            let plain = Node(name: "conv", op: .conv, inputs: ["x", "w"], outputs: ["y"], attributes: convAttrs, opset: 13)
            let g2 = Graph(inputs: [decl], outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)],
                           initializers: ["w": f.weights], nodes: [plain])
            var got = try Session(graph: g2, backend: ReferenceBackend()).run(["x": x])["y"]!.floats
            let hw = ref.shape[2] * ref.shape[3]
            for i in 0..<got.count {
                let co = (i / hw) % m, p = i % hw
                got[i] += f.biasMap?[co * hw + p] ?? f.bias[co]
            }
            let scale = ref.floats.map(abs).max() ?? 1
            let err = zip(got, ref.floats).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(err, 1e-5 * scale, "conv \(k)x\(k) pad \(pad) stride \(stride)")
        }
    }

    func testBatchNormWithSecondReaderIsNotFolded() throws {
        let c = 2
        let inits: [String: Tensor] = ["s": Tensor(shape: [c], floats: [1, 2]), "b": Tensor(shape: [c], floats: [0, 1]),
                                       "mean": Tensor(shape: [c], floats: [0, 0]), "var": Tensor(shape: [c], floats: [1, 1]),
                                       "w": Tensor(shape: [c, c, 1, 1], floats: [1, 0, 0, 1])]
        let bn = Node(name: "bn", op: .batchNormalization, inputs: ["x", "s", "b", "mean", "var"], outputs: ["t"], opset: 15)
        let conv = Node(name: "conv", op: .conv, inputs: ["t", "w"], outputs: ["y"], opset: 13)
        let relu = Node(name: "relu", op: .relu, inputs: ["t"], outputs: ["r"], opset: 13)
        let g = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [1, c, 3, 3].map { .fixed($0) })],
                      outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil), ValueDecl(name: "r", dtype: .f32, dims: nil)],
                      initializers: inits, nodes: [bn, conv, relu])
        XCTAssertTrue(CUDAPlan.preConvFolds(in: try g.specialized()).isEmpty)
    }

    func testNHWCGeometry() throws {
        // Filters [Co, Ci, KH, KW] → [Co, KH, KW, Ci].
        let w = (0..<(2 * 3 * 2 * 2)).map(Float.init)
        let krsc = CUDAPlan.filtersKRSC(w, [2, 3, 2, 2])
        for o in 0..<2 { for c in 0..<3 { for r in 0..<2 { for q in 0..<2 {
            XCTAssertEqual(krsc[((o * 2 + r) * 2 + q) * 3 + c], w[((o * 3 + c) * 2 + r) * 2 + q])
        } } } }
        XCTAssertEqual(CUDAPlan.nhwcShape([2, 3, 4, 5]), [2, 4, 5, 3])
        XCTAssertEqual(CUDAPlan.nhwcShape([3, 1, 1]), [1, 1, 1, 3])
        // Per-channel and per-position constants read the same memory in NHWC; a full [C, H, W] one does not.
        XCTAssertTrue(CUDAPlan.keepsOrderInNHWC([3, 1, 1]))
        XCTAssertTrue(CUDAPlan.keepsOrderInNHWC([1, 1, 4, 5]))
        XCTAssertTrue(CUDAPlan.keepsOrderInNHWC([]))
        XCTAssertFalse(CUDAPlan.keepsOrderInNHWC([3, 4, 5]))
        // A per-channel slope broadcast against NHWC data: channel is the innermost axis.
        let r = CUDAKernelSource.maxRank
        let g = try CUDAPlan.broadcast(out: CUDAPlan.nhwcShape([2, 3, 4, 5]), a: CUDAPlan.nhwcShape([2, 3, 4, 5]),
                                       b: CUDAPlan.nhwcShape([3, 1, 1]))
        XCTAssertEqual(Array(g[(1 + 2 * r)...(4 + 2 * r)]), [0, 0, 0, 1])
    }
}
