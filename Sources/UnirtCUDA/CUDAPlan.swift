import CCUDA
import Foundation
import Synchronization
import UnirtIR
import UnirtRuntime

/// Activation storage precision of a GPU plan.
public enum CUDAPrecision: String, Sendable, CaseIterable {
    /// float32 activations and weights; convolutions and GEMMs without TF32.
    case fp32
    /// IEEE half activations and weights, float accumulation, tensor cores.
    case fp16
    /// An int8 graph (`FusedConv` nodes with `input_scale`): those convolutions on int8
    /// tensor cores (s8 activations and weights, int32 accumulation, per-channel
    /// requantization in the epilogue), everything else as in an fp16 plan.
    case int8

    var elementSize: Int { self == .fp32 ? 4 : 2 }
    var isHalf: Bool { self != .fp32 }
}

/// Memory layout of the 4-D activations of a GPU plan.
public enum CUDALayout: String, Sendable, CaseIterable {
    /// NHWC for FP16 plans whose convolutions are fed mostly by convolutions and
    /// elementwise operators (few layout changes), NCHW otherwise.
    case auto
    /// Every activation NCHW, as in the model.
    case nchw
    /// FP16 plans: convolution outputs and the elementwise operators after them
    /// NHWC, converted where another operator reads them. FP32 plans stay NCHW.
    case nhwc
}

/// A specialized graph compiled for one GPU: every activation at a fixed offset
/// of one device arena planned by liveness (`MemoryPlanner`), reshapes as
/// aliases, weights uploaded once, one stream, pinned staging buffers for the
/// graph inputs and outputs, and the whole sequence of kernels captured once as
/// a CUDA graph and replayed on every run.
///
/// The plan refuses graphs with operators it cannot run (`CUDAError.unsupported`
/// lists them); there is no per-node CPU fallback yet. Thread-safe: runs are
/// serialized by a mutex (one stream, one arena); use several plans for
/// concurrent instances on one GPU.
public final class CUDAPlan: @unchecked Sendable {
    // Everything below is written during init; afterwards the device state
    // (arena, staging, stream, captured graph) is used only under `lock`.
    public let specialized: SpecializedGraph
    public let precision: CUDAPrecision
    public let device: CUDADevice
    public let module: CUDAModule
    let libs: CUDALibraries
    let stream: CUstream
    /// Device allocations owned by the plan, freed in deinit.
    var allocations: [CUdeviceptr] = []
    var pinned: UnsafeMutableRawPointer?
    /// Arena size in bytes.
    public internal(set) var arenaBytes = 0
    /// Bytes of uploaded weights.
    public internal(set) var weightBytes = 0
    /// Kernel chosen per node (op, what runs it).
    public internal(set) var kernelChoices: [(node: String, op: String, kernel: String)] = []
    /// Tactic choices by signature (`CUDAPlan+Tactics`), and how many were timed here or taken from a plan.
    var tacticEntries: [String: String] = [:]
    /// The device string the tactics are recorded under (`tacticDevice(for:)`), worked out once.
    lazy var tacticDevice = Self.tacticDevice(for: device)
    public internal(set) var tacticsTimed = 0
    public internal(set) var tacticsReused = 0
    /// Why the steps run without a CUDA graph, when capture failed.
    public internal(set) var graphNote: String?
    /// The layout requested at init.
    public let layout: CUDALayout
    /// Whether convolutions run NHWC (decided at build time from `layout`).
    public internal(set) var usesNHWC = false
    /// Layout conversions the plan runs (graph edges and operators without an NHWC kernel).
    public internal(set) var layoutConversions = 0

    /// Graph inputs: name, element count, pinned offset (bytes), device f32 staging buffer.
    var inputSlots: [(name: String, shape: [Int], pinnedOffset: Int, device: CUdeviceptr)] = []
    var outputSlots: [(name: String, shape: [Int], pinnedOffset: Int, device: CUdeviceptr)] = []
    /// The compute sequence (conversion in, nodes, conversion out), each throwing on a failed launch.
    var steps: [() throws -> Void] = []
    /// What each step runs, for `profileSteps`: "node name: kernel".
    var stepLabels: [String] = []
    /// The node being lowered, labelling the steps it appends.
    var currentNode = ""
    /// Activations stored NHWC (FP16 plans; see `planLayout`).
    var nhwcValues: Set<String> = []
    /// Int8 plans: convolutions on the int8 tensor-core kernels, and the values between them stored as s8, with their scale.
    var int8Cores: Set<String> = []
    var int8Chains: [String: Float] = [:]
    /// Int8 plans: BatchNormalizations written by the epilogue of the int8-core convolution
    /// whose output they read (see `int8EpilogueAffines`), by convolution name.
    var int8EpilogueBatchNorms: [String: Node] = [:]
    /// BatchNormalizations folded into the convolution after them, by convolution name.
    var preConvFolds: [String: CUDAPreConvFold] = [:]
    /// Memory that kernel argument packs point into, kept alive with the plan.
    var argPacks: [KernelArgs] = []
    /// cuBLASLt algorithms chosen at build time, freed in deinit.
    var algoBlobs: [UnsafeMutablePointer<cublasLtMatmulAlgo_t>] = []
    var graphExec: CUgraphExec?
    let lock = Mutex<Void>(())
    var cudnnHandle: cudnnHandle_t?
    var ltHandle: cublasLtHandle_t?
    var workspace: CUdeviceptr = 0
    var workspaceBytes = 0

    /// Compiles `specialized` for `device`.
    /// - Parameter useGraph: capture the steps as a CUDA graph (default); false runs them one by one.
    /// - Parameter layout: activation layout (FP16 plans only; FP32 plans run NCHW).
    /// - Throws: `CUDAError.unsupported` naming every operator it cannot run; `.api` when a CUDA call fails.
    public init(_ specialized: SpecializedGraph, device: CUDADevice, precision: CUDAPrecision = .fp32,
                useGraph: Bool = true, layout: CUDALayout = .auto) throws {
        // The GPU runs merged sibling convolutions as their parts, the parts of a fused
        // pointwise-depthwise node as separate steps, and a run-time instance-norm
        // scale/shift as its own Mul/Add.
        var gpuGraph = specialized
        if specialized.graph.nodes.contains(where: { $0.op == .fusedPointwiseDepthwise || $0.attributes["merged_from"] != nil }) {
            gpuGraph = try specialized.graph.splittingSiblingMerges().splittingPointwiseDepthwise()
                .specialized(inputShapes: specialized.inputShapes)
        }
        if let g = gpuGraph.splittingRuntimeInstanceNormAffine() {
            gpuGraph = try g.specialized(inputShapes: specialized.inputShapes)
        }
        self.specialized = gpuGraph
        self.precision = precision
        self.layout = layout
        self.device = device
        self.libs = device.libraries
        self.module = try CUDAModule.forDevice(device)
        try device.makeCurrent()
        var s: CUstream?
        try libs.check(libs.driver.cuStreamCreate!(&s, UInt32(UNIRT_CU_STREAM_NON_BLOCKING)), "cuStreamCreate")
        self.stream = s!
        // From here on the object is fully initialized, so a throw below still runs deinit, which frees everything.
        try build()
        try run(direct: true)  // warm-up: lazy module loads happen outside capture
        if useGraph { captureGraph() }
    }

    deinit {
        release()
        _ = libs.driver.cuStreamDestroy_v2!(stream)
    }

    private func release() {
        _ = try? device.makeCurrent()
        let d = libs.driver
        if let g = graphExec { _ = d.cuGraphExecDestroy!(g); graphExec = nil }
        for p in allocations { _ = d.cuMemFree_v2!(p) }
        allocations = []
        if let p = pinned { _ = d.cuMemFreeHost!(p); pinned = nil }
        algoBlobs.forEach { $0.deallocate() }
        algoBlobs = []
    }

    /// Allocates `bytes` of device memory owned by the plan.
    func alloc(_ bytes: Int) throws -> CUdeviceptr {
        var p: CUdeviceptr = 0
        try libs.check(libs.driver.cuMemAlloc_v2!(&p, max(bytes, 256)), "cuMemAlloc(\(bytes) bytes)")
        allocations.append(p)
        return p
    }

    /// Uploads host bytes into a new device allocation.
    func upload(_ bytes: UnsafeRawBufferPointer) throws -> CUdeviceptr {
        let p = try alloc(bytes.count)
        if bytes.count > 0 {
            try libs.check(libs.driver.cuMemcpyHtoD_v2!(p, bytes.baseAddress, bytes.count), "cuMemcpyHtoD")
        }
        weightBytes += bytes.count
        return p
    }

    /// Uploads floats in the plan's precision (or as float32 when `f32`).
    func upload(floats: [Float], f32: Bool = false) throws -> CUdeviceptr {
        if f32 || !precision.isHalf { return try floats.withUnsafeBytes { try upload($0) } }
        let halves = floats.map { Float16($0).bitPattern }
        return try halves.withUnsafeBytes { try upload($0) }
    }

    /// Uploads 32-bit integers.
    func upload(ints: [Int32]) throws -> CUdeviceptr {
        try ints.withUnsafeBytes { try upload($0) }
    }

    /// Enqueues a launch of `kernel` over `n` elements with a grid-stride grid.
    func launchStep(_ kernel: String, count n: Int, block: Int = 256, grid: Int? = nil, sharedBytes: Int = 0,
                    _ args: KernelArgs) {
        addStep(kernel, makeLaunch(kernel, count: n, block: block, grid: grid, sharedBytes: sharedBytes, args))
    }

    /// A launch of `kernel` over `n` elements with a grid-stride grid, as a step not yet enqueued.
    func makeLaunch(_ kernel: String, count n: Int, block: Int = 256, grid: Int? = nil, sharedBytes: Int = 0,
                    _ args: KernelArgs) -> () throws -> Void {
        let f = module.function(CUDAKernelSource.name(kernel, fp16: precision.isHalf))
        let blocks = grid ?? max(1, min((n + block - 1) / block, device.multiprocessors * 16))
        argPacks.append(args)
        let libs = self.libs
        let stream = self.stream
        return {
            try libs.check(libs.driver.cuLaunchKernel!(f, UInt32(blocks), 1, 1, UInt32(block), 1, 1, UInt32(sharedBytes), stream,
                                                       args.pointers, nil), "launch \(kernel)")
        }
    }

    /// Makes the shared library workspace at least `bytes` large (steps read it when they run).
    /// Only called while building, before the CUDA graph is captured: a smaller workspace
    /// it replaces is freed once the stream is idle.
    func ensureWorkspace(_ bytes: Int) throws {
        guard bytes > workspaceBytes || (bytes > 0 && workspace == 0) else { return }
        let size = max(bytes, workspaceBytes)
        if workspace != 0 {
            try libs.check(libs.driver.cuStreamSynchronize!(stream), "workspace")
            let old = workspace
            _ = libs.driver.cuMemFree_v2!(old)
            allocations.removeAll { $0 == old }
            workspace = 0
        }
        workspace = try alloc(size)
        workspaceBytes = size
    }

    /// GPU milliseconds of one run of `steps[start...]`: captured into a CUDA graph and
    /// replayed `reps` times after a warm-up (launched directly where capture fails).
    func measureSteps(from start: Int, reps: Int = 20) throws -> Double {
        let d = libs.driver
        let seq = Array(steps[start...])
        let sync = { try self.libs.check(d.cuStreamSynchronize!(self.stream), "timing a tactic") }
        for s in seq { try s() }
        try sync()
        var exec: CUgraphExec?
        if d.cuStreamBeginCapture_v2!(stream, Int32(UNIRT_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)) == 0 {
            var ok = true
            for s in seq where ok { ok = (try? s()) != nil }
            var graph: CUgraph?
            if d.cuStreamEndCapture!(stream, &graph) == 0, ok, let graph {
                if d.cuGraphInstantiateWithFlags!(&exec, graph, 0) != 0 { exec = nil }
                _ = d.cuGraphDestroy!(graph)
            }
        }
        defer { if let exec { _ = d.cuGraphExecDestroy!(exec) } }
        let once = {
            if let exec { try self.libs.check(d.cuGraphLaunch!(exec, self.stream), "timing a tactic") } else { for s in seq { try s() } }
        }
        try once()
        try sync()
        let t0 = ContinuousClock.now
        for _ in 0..<reps { try once() }
        try sync()
        let t = ContinuousClock.now - t0
        return (Double(t.components.seconds) + Double(t.components.attoseconds) * 1e-18) * 1000 / Double(reps)
    }

    /// Removes `steps[range]` (a tactic that lost).
    func dropSteps(_ range: Range<Int>) {
        steps.removeSubrange(range)
        stepLabels.removeSubrange(range)
    }

    /// Appends a compute step labelled with the node being lowered and what runs it.
    func addStep(_ what: String, _ step: @escaping () throws -> Void) {
        steps.append(step)
        stepLabels.append(currentNode.isEmpty ? what : "\(currentNode): \(what)")
    }

    /// Runs the compute steps: replays the captured graph, or launches them one by one.
    func run(direct: Bool = false) throws {
        if !direct, let g = graphExec {
            try libs.check(libs.driver.cuGraphLaunch!(g, stream), "cuGraphLaunch")
        } else {
            for s in steps { try s() }
        }
    }

    private func captureGraph() {
        let d = libs.driver
        guard d.cuStreamBeginCapture_v2!(stream, Int32(UNIRT_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)) == 0 else {
            graphNote = "stream capture could not start"
            return
        }
        var failure: String?
        do { try run(direct: true) } catch { failure = "\(error)" }
        var graph: CUgraph?
        let end = d.cuStreamEndCapture!(stream, &graph)
        defer { if let graph { _ = d.cuGraphDestroy!(graph) } }
        guard failure == nil, end == 0, let graph else {
            graphNote = "capture failed (\(failure ?? "end capture error \(end)")); steps run one by one"
            return
        }
        var exec: CUgraphExec?
        guard d.cuGraphInstantiateWithFlags!(&exec, graph, 0) == 0, let exec else {
            graphNote = "graph instantiation failed; steps run one by one"
            return
        }
        graphExec = exec
    }

    /// Number of compute steps (kernel launches and library calls) per run.
    public var stepCount: Int { steps.count }

    /// Whether runs replay a captured CUDA graph.
    public var usesGraph: Bool { graphExec != nil }

    /// Runs the plan on host tensors; inputs must have the specialized shapes.
    public func execute(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try lock.withLock { _ in
            try device.makeCurrent()
            let d = libs.driver
            for slot in inputSlots {
                guard let t = inputs[slot.name] else { throw CUDAError(.invalidInput, "missing input '\(slot.name)'") }
                guard t.shape == slot.shape else {
                    throw CUDAError(.invalidInput, "input '\(slot.name)' has shape \(t.shape); this plan was built for \(slot.shape)")
                }
                let bytes = t.count * 4
                t.floats.withUnsafeBytes { pinned!.advanced(by: slot.pinnedOffset).copyMemory(from: $0.baseAddress!, byteCount: bytes) }
                try libs.check(d.cuMemcpyHtoDAsync_v2!(slot.device, pinned!.advanced(by: slot.pinnedOffset), bytes, stream),
                               "copy input '\(slot.name)' to the GPU")
            }
            try run()
            for slot in outputSlots {
                let bytes = slot.shape.reduce(1, *) * 4
                try libs.check(d.cuMemcpyDtoHAsync_v2!(pinned!.advanced(by: slot.pinnedOffset), slot.device, bytes, stream),
                               "copy output '\(slot.name)' from the GPU")
            }
            try libs.check(d.cuStreamSynchronize!(stream), "run plan")
            var result: [String: Tensor] = [:]
            for slot in outputSlots {
                let n = slot.shape.reduce(1, *)
                let p = pinned!.advanced(by: slot.pinnedOffset).assumingMemoryBound(to: Float.self)
                result[slot.name] = Tensor(shape: slot.shape, floats: Array(UnsafeBufferPointer(start: p, count: n)))
            }
            return result
        }
    }

    /// Times every step alone: each is captured into its own CUDA graph (launched
    /// directly where capture fails), replayed `iterations` times back to back and
    /// the stream synchronized, so a step's time is its GPU time unless it is
    /// shorter than a graph launch. Returns (label, milliseconds per run) in step order.
    public func profileSteps(iterations: Int) throws -> [(label: String, ms: Double)] {
        try lock.withLock { _ in
            try device.makeCurrent()
            let d = libs.driver
            let sync = { try self.libs.check(d.cuStreamSynchronize!(self.stream), "profile") }
            try run(direct: true)
            try sync()
            var result: [(String, Double)] = []
            for (i, step) in steps.enumerated() {
                var exec: CUgraphExec?
                if d.cuStreamBeginCapture_v2!(stream, Int32(UNIRT_CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)) == 0 {
                    let ok = (try? step()) != nil
                    var graph: CUgraph?
                    if d.cuStreamEndCapture!(stream, &graph) == 0, ok, let graph {
                        if d.cuGraphInstantiateWithFlags!(&exec, graph, 0) != 0 { exec = nil }
                        _ = d.cuGraphDestroy!(graph)
                    }
                }
                defer { if let exec { _ = d.cuGraphExecDestroy!(exec) } }
                let once = { if let exec { try self.libs.check(d.cuGraphLaunch!(exec, self.stream), "profile launch") } else { try step() } }
                try once()
                try sync()
                let start = ContinuousClock.now
                for _ in 0..<max(iterations, 1) { try once() }
                try sync()
                let t = ContinuousClock.now - start
                let s = Double(t.components.seconds) + Double(t.components.attoseconds) * 1e-18
                result.append((stepLabels[i], s * 1000 / Double(max(iterations, 1))))
            }
            return result
        }
    }

    /// Replays the compute steps `iterations` times on the data already on the
    /// GPU and returns the mean seconds per run (GPU compute time, no copies).
    public func timeCompute(iterations: Int) throws -> Double {
        try lock.withLock { _ in
            try device.makeCurrent()
            try run()
            try libs.check(libs.driver.cuStreamSynchronize!(stream), "warm-up")
            let start = ContinuousClock.now
            for _ in 0..<iterations { try run() }
            try libs.check(libs.driver.cuStreamSynchronize!(stream), "timed runs")
            let d = ContinuousClock.now - start
            return (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) / Double(max(iterations, 1))
        }
    }
}

/// Kernel arguments packed for `cuLaunchKernel`: each value in its own aligned
/// allocation, and the array of pointers to them. Immutable after packing; owned
/// by the plan that launches it.
final class KernelArgs: @unchecked Sendable {
    private var storage: [UnsafeMutableRawPointer] = []
    private(set) var pointers: UnsafeMutablePointer<UnsafeMutableRawPointer?>

    init(_ values: [KernelArg]) {
        pointers = .allocate(capacity: max(values.count, 1))
        for (i, v) in values.enumerated() {
            let p: UnsafeMutableRawPointer
            switch v {
            case .ptr(let x): p = .allocate(byteCount: 8, alignment: 8); p.storeBytes(of: x, as: UInt64.self)
            case .i64(let x): p = .allocate(byteCount: 8, alignment: 8); p.storeBytes(of: x, as: Int64.self)
            case .i32(let x): p = .allocate(byteCount: 4, alignment: 4); p.storeBytes(of: x, as: Int32.self)
            case .f32(let x): p = .allocate(byteCount: 4, alignment: 4); p.storeBytes(of: x, as: Float.self)
            case .i64s(let xs):
                p = .allocate(byteCount: xs.count * 8, alignment: 8)
                xs.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            }
            storage.append(p)
            pointers[i] = p
        }
    }

    deinit {
        storage.forEach { $0.deallocate() }
        pointers.deallocate()
    }
}

/// One kernel argument by value.
enum KernelArg {
    case ptr(CUdeviceptr)
    case i64(Int64)
    case i32(Int32)
    case f32(Float)
    /// A struct made only of 64-bit integers (Bcast, Perm, PadG), in declaration order.
    case i64s([Int64])
}
