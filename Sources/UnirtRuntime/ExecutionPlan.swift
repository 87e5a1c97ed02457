import Foundation
import Synchronization
import UnirtIR

/// A graph specialized for one set of input shapes, compiled for a backend:
/// a kernel per node, every float32 activation at a fixed offset of one arena
/// (planned by liveness), reshapes as aliases that cost nothing.
///
/// Immutable once built; `execute` may run concurrently on several threads
/// (each run takes its own arena from a pool guarded by a mutex).
public final class ExecutionPlan: Sendable {
    enum Storage: Sendable {
        /// Float32 activation at this offset (in floats) of the arena.
        case arena(Int)
        /// A constant; its float copy is `constantBuffers[index]`.
        case constant(Int)
        /// A non-float32 run-time value, held as a tensor per run.
        case boxed
    }

    enum Action: Sendable {
        case compiled(CompiledKernel)
        case reference
        /// A reshape whose output shares its input's memory.
        case alias
    }

    struct Step: Sendable {
        var node: Node
        var action: Action
        var inputs: [Int?]
        var outputs: [Int?]
        var outputInfos: [ValueInfo]
    }

    public let specialized: SpecializedGraph
    let names: [String]
    let infos: [ValueInfo]
    let storage: [Storage]
    let constants: [Tensor]
    let constantBuffers: [FloatBuffer]
    let steps: [Step]
    let inputIDs: [(String, Int)]
    /// Graph inputs some compiled or alias step (or the caller) reads from the arena.
    let inputsInArena: Set<Int>
    /// The value whose buffer each value shares (itself, or the source of an alias chain).
    let rootOf: [Int]
    let outputIDs: [(String, Int)]
    /// Arena size in floats.
    public let arenaFloats: Int
    let scratchFloats: Int
    /// Peak bytes of activations live at once (the arena size).
    public var peakActivationBytes: Int { arenaFloats * 4 }
    /// Kernel chosen per node: backend name, "reference" or "alias".
    public let kernelChoices: [(node: String, op: String, kernel: String)]
    /// Activations stored as u8 between int8 convolutions (Int8Chaining); observers skip them.
    let u8Values: Set<Int>
    /// Names of the activations int8 convolutions pass to each other as u8, sorted.
    public var chainedActivations: [String] { u8Values.map { names[$0] }.sorted() }
    private let contexts = Mutex<[ExecutionContext]>([])

    /// Compiles `specialized` on `backend`; nodes the backend declines run their reference kernel.
    public init(_ specialized: SpecializedGraph, backend: any Backend, threads: Int = 1) {
        self.specialized = specialized
        let graph = specialized.graph
        var ids: [String: Int] = [:]
        var names: [String] = []
        var infos: [ValueInfo] = []
        func id(_ name: String) -> Int {
            if let i = ids[name] { return i }
            ids[name] = names.count
            names.append(name)
            infos.append(specialized.values[name] ?? ValueInfo(dtype: .f32, shape: [0]))
            return names.count - 1
        }
        for i in graph.inputs { _ = id(i.name) }
        for n in graph.nodes {
            for v in n.inputs where !v.isEmpty { _ = id(v) }
            for v in n.outputs where !v.isEmpty { _ = id(v) }
        }
        for o in graph.outputs { _ = id(o.name) }

        // Classify storage: constants, float32 activations, everything else boxed.
        var constants: [Tensor] = []
        var constantBuffers: [FloatBuffer] = []
        var kind = [Storage](repeating: .boxed, count: names.count)
        for (i, name) in names.enumerated() {
            if let c = graph.initializers[name] ?? (specialized.inputShapes[name] == nil ? infos[i].constant : nil) {
                kind[i] = .constant(constants.count)
                constants.append(c)
                constantBuffers.append(FloatBuffer(c.dtype.isFloating ? c.floats : []))
            } else if infos[i].dtype == .f32 {
                kind[i] = .arena(0)
            }
        }

        // Compile steps; reshape-like nodes on arena values become aliases. Int8
        // convolutions may pass u8 activations (Int8Chaining); when a kernel declines
        // that form, those tensors go back to float32 and the steps compile again.
        let aliasOps: Set<OpKind> = [.reshape, .flatten, .squeeze, .unsqueeze, .identity, .dropout]
        var chain = backend is CPUBackend ? Int8Chaining.candidates(graph) : [:]
        var root = Array(0..<names.count)
        var steps: [Step] = []
        var choices: [(String, String, String)] = []
        compiling: while true {
            root = Array(0..<names.count)
            steps = []
            choices = []
            for node in graph.nodes {
                let ins = node.inputs.map { $0.isEmpty ? nil : ids[$0] }
                let outs = node.outputs.map { $0.isEmpty ? nil : ids[$0] }
                let outInfos = outs.map { $0.map { infos[$0] } ?? ValueInfo(dtype: .f32, shape: [0]) }
                var action = Action.reference
                if aliasOps.contains(node.op), let i0 = ins.first ?? nil, let o0 = outs.first ?? nil,
                   case .arena = kind[i0], case .arena = kind[o0],
                   outs.dropFirst().allSatisfy({ $0 == nil }) || node.op != .dropout {
                    root[o0] = root[i0]
                    action = .alias
                } else {
                    // Run-time inputs and all outputs must be float32; constants (pads, sizes) may be any type.
                    let allF32 = ins.allSatisfy { v in
                        guard let v else { return true }
                        if case .constant = kind[v] { return true }
                        return infos[v].dtype == .f32
                    } && outs.allSatisfy { $0 == nil || infos[$0!].dtype == .f32 }
                    if allF32 {
                        var consts: [Int: Tensor] = [:]
                        for (k, v) in ins.enumerated() {
                            if let v, case .constant(let c) = kind[v] { consts[k] = constants[c] }
                        }
                        var options = CompileOptions(threads: threads, constants: consts)
                        let chained = node.inputs.first.flatMap { chain[$0] } != nil
                        options.u8Input = chained
                        options.u8OutputScale = node.outputs.first.flatMap { chain[$0] }
                        if let k = backend.compile(node, inputs: ins.map { $0.map { infos[$0] } }, outputs: outInfos,
                                                   options: options) {
                            action = .compiled(k)
                        } else if chained || options.u8OutputScale != nil {
                            for v in [node.inputs.first, node.outputs.first] { if let v { chain[v] = nil } }
                            continue compiling
                        }
                    }
                }
                let label: String
                switch action {
                case .compiled: label = backend.name
                case .reference: label = "reference"
                case .alias: label = "alias"
                }
                choices.append((node.name, node.opType, label))
                steps.append(Step(node: node, action: action, inputs: ins, outputs: outs, outputInfos: outInfos))
            }
            break
        }
        let u8Values = Set(chain.keys.compactMap { ids[$0] })

        // Lifetimes per root buffer, then one arena by liveness.
        var first = [Int](repeating: Int.max, count: names.count)
        var last = [Int](repeating: -1, count: names.count)
        for i in graph.inputs { if let v = ids[i.name] { first[root[v]] = -1 } }
        for (s, step) in steps.enumerated() {
            for v in step.outputs.compactMap({ $0 }) { first[root[v]] = min(first[root[v]], s) ; last[root[v]] = max(last[root[v]], s) }
            for v in step.inputs.compactMap({ $0 }) { last[root[v]] = max(last[root[v]], s) }
        }
        for o in graph.outputs { if let v = ids[o.name] { last[root[v]] = steps.count } }
        var requests: [MemoryPlanner.Request] = []
        var requestOf: [Int: Int] = [:]
        for v in 0..<names.count where root[v] == v {
            guard case .arena = kind[v] else { continue }
            requestOf[v] = requests.count
            requests.append(MemoryPlanner.Request(size: infos[v].count, first: first[v] == Int.max ? last[v] : first[v],
                                                  last: max(last[v], first[v] == Int.max ? last[v] : first[v])))
        }
        let (offsets, arena) = MemoryPlanner.plan(requests)
        for v in 0..<names.count {
            if case .arena = kind[v], let r = requestOf[root[v]] { kind[v] = .arena(offsets[r]) }
        }

        // Graph inputs that only reference kernels read are served from the caller's
        // tensor; the rest are copied into the arena once per run.
        var needsArena = Set<Int>()
        for step in steps {
            switch step.action {
            case .compiled, .alias: for v in step.inputs.compactMap({ $0 }) { needsArena.insert(v) }
            case .reference: break
            }
        }
        for o in graph.outputs { if let v = ids[o.name] { needsArena.insert(v) } }
        self.inputsInArena = needsArena
        self.rootOf = root
        self.names = names
        self.infos = infos
        self.storage = kind
        self.constants = constants
        self.constantBuffers = constantBuffers
        self.steps = steps
        self.inputIDs = graph.inputs.compactMap { i in ids[i.name].map { (i.name, $0) } }
        self.outputIDs = graph.outputs.compactMap { o in ids[o.name].map { (o.name, $0) } }
        self.arenaFloats = arena
        self.scratchFloats = steps.reduce(0) {
            if case .compiled(let k) = $1.action { return max($0, k.scratchFloats) }
            return $0
        }
        self.kernelChoices = choices
        self.u8Values = u8Values
    }

    /// Time spent per step, filled when profiling.
    public struct Profile: Sendable {
        public var seconds: [(node: String, op: String, kernel: String, seconds: Double)] = []
        public init() {}
    }

    /// Called with a float32 activation's name and values: once per graph input
    /// after it is copied in, and once per step output after the step ran. The
    /// buffer is only valid during the call. Used to collect calibration statistics.
    public typealias Observer = (_ name: String, _ values: UnsafeBufferPointer<Float>) -> Void

    /// Runs the plan. `inputs` must match the specialized input shapes (checked by `Session`).
    /// `observe`, when given, sees every float32 arena value (see `Observer`), on the calling thread.
    public func execute(_ inputs: [String: Tensor], profile: UnsafeMutablePointer<Profile>? = nil,
                        observe: Observer? = nil) -> [String: Tensor] {
        let ctx = contexts.withLock { $0.popLast() } ?? ExecutionContext(arena: arenaFloats, scratch: scratchFloats)
        defer { contexts.withLock { $0.append(ctx) } }
        let base = ctx.arena.pointer
        var boxed: [Int: Tensor] = [:]

        // float32 graph inputs are read in place from the caller's tensors (their arena
        // slots stay unused) unless an observer wants to see them in the arena.
        var given: [Int: Tensor] = [:]
        var direct: [(Int, [Float])] = []
        for (name, v) in inputIDs {
            guard let t = inputs[name] else { continue }
            given[v] = t
            switch storage[v] {
            case .arena(let off):
                guard inputsInArena.contains(v) || observe != nil else { continue }
                if case .float(let values) = t.storage, values.count == infos[v].count, observe == nil {
                    direct.append((v, values))
                } else if case .float(let values) = t.storage {
                    values.withUnsafeBufferPointer { (base + off).update(from: $0.baseAddress!, count: $0.count) }
                } else {
                    t.floats.withUnsafeBufferPointer { (base + off).update(from: $0.baseAddress!, count: $0.count) }
                }
            default:
                boxed[v] = t
            }
        }
        if let observe {
            for (name, v) in inputIDs { if case .arena(let off) = storage[v] { observe(name, UnsafeBufferPointer(start: base + off, count: infos[v].count)) } }
        }
        // Pointers into the caller's arrays, valid for the nested calls that run the steps.
        func withDirect(_ i: Int, _ pointers: [Int: UnsafePointer<Float>],
                        _ body: ([Int: UnsafePointer<Float>]) -> [String: Tensor]) -> [String: Tensor] {
            guard i < direct.count else { return body(pointers) }
            return direct[i].1.withUnsafeBufferPointer { buf in
                var p = pointers
                p[direct[i].0] = buf.baseAddress!
                return withDirect(i + 1, p, body)
            }
        }
        return withDirect(0, [:]) { directPointers in
            runSteps(ctx: ctx, given: given, boxed: boxed, direct: directPointers, profile: profile, observe: observe)
        }
    }

    /// The steps of one run and its outputs (see `execute`).
    private func runSteps(ctx: ExecutionContext, given: [Int: Tensor], boxed: [Int: Tensor],
                          direct: [Int: UnsafePointer<Float>], profile: UnsafeMutablePointer<Profile>?,
                          observe: Observer?) -> [String: Tensor] {
        let base = ctx.arena.pointer
        var boxed = boxed
        func tensor(_ v: Int) -> Tensor {
            if let t = given[v] { return t }
            if let p = direct[rootOf[v]] { return Tensor(shape: infos[v].shape, floats: Array(UnsafeBufferPointer(start: p, count: infos[v].count))) }
            switch storage[v] {
            case .arena(let off):
                let info = infos[v]
                return Tensor(shape: info.shape, floats: Array(UnsafeBufferPointer(start: base + off, count: info.count)))
            case .constant(let c):
                return constants[c]
            case .boxed:
                return boxed[v] ?? Tensor(zeros: infos[v].shape, dtype: infos[v].dtype)
            }
        }

        var clock = ContinuousClock.now
        for step in steps {
            switch step.action {
            case .alias:
                break
            case .compiled(let k):
                let ins: [UnsafePointer<Float>?] = step.inputs.map { v in
                    guard let v else { return nil }
                    if let p = direct[rootOf[v]] { return p }
                    switch storage[v] {
                    case .arena(let off): return UnsafePointer(base + off)
                    case .constant(let c): return UnsafePointer(constantBuffers[c].pointer)
                    case .boxed: return nil
                    }
                }
                let outs: [UnsafeMutablePointer<Float>] = step.outputs.map { v in
                    if let v, case .arena(let off) = storage[v] { return base + off }
                    return ctx.scratch.pointer
                }
                k.run(ins, outs, ctx.scratch.pointer)
            case .reference:
                let ins = step.inputs.map { $0.map(tensor) }
                let results = step.node.op.definition.reference(step.node, ins, step.outputInfos)
                for (i, v) in step.outputs.enumerated() where i < results.count {
                    guard let v else { continue }
                    switch storage[v] {
                    case .arena(let off):
                        let r = results[i]
                        if r.dtype == .f32 || r.dtype.isFloating {
                            r.floats.withUnsafeBufferPointer { (base + off).update(from: $0.baseAddress!, count: min($0.count, infos[v].count)) }
                        }
                    default:
                        boxed[v] = results[i]
                    }
                }
            }
            if let observe {
                for v in step.outputs.compactMap({ $0 }) where !u8Values.contains(v) {
                    if case .arena(let off) = storage[v] { observe(names[v], UnsafeBufferPointer(start: base + off, count: infos[v].count)) }
                }
            }
            if let profile {
                let now = ContinuousClock.now
                let d = now - clock
                clock = now
                let label: String
                switch step.action {
                case .alias: label = "alias"
                case .compiled: label = "cpu"
                case .reference: label = "reference"
                }
                profile.pointee.seconds.append((step.node.name, step.node.opType, label,
                                                Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18))
            }
        }

        var result: [String: Tensor] = [:]
        for (name, v) in outputIDs {
            var t = tensor(v)
            if t.dtype != infos[v].dtype, infos[v].dtype.isFloating { t = t.cast(to: infos[v].dtype) }
            result[name] = t
        }
        return result
    }
}

/// A 64-byte-aligned float buffer owned by one object.
final class FloatBuffer: @unchecked Sendable {
    // Written once at init; read-only afterwards, so shared reads are safe.
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        var raw: UnsafeMutableRawPointer?
        posix_memalign(&raw, 64, max(count, 16) * MemoryLayout<Float>.stride)
        pointer = raw!.bindMemory(to: Float.self, capacity: max(count, 16))
    }

    convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { if let b = $0.baseAddress { pointer.update(from: b, count: values.count) } }
    }

    deinit { free(pointer) }
}

/// The memory one run of a plan writes: arena and scratch. Used by one run at a time.
final class ExecutionContext: @unchecked Sendable {
    // Owned by whichever run popped it from the plan's pool; never shared concurrently.
    let arena: FloatBuffer
    let scratch: FloatBuffer

    init(arena: Int, scratch: Int) {
        self.arena = FloatBuffer(count: arena)
        self.scratch = FloatBuffer(count: scratch)
    }
}
