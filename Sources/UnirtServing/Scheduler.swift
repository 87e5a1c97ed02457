import Foundation
import Logging
import Synchronization
import UnirtIR

/// What a client can learn about one model (ListModels, ModelStatus).
public struct ModelDescription: Sendable {
    public enum State: String, Sendable { case loading, ready, failed }
    public var name: String
    public var version: Int64
    public var state: State
    /// Why loading failed, or why batching is off.
    public var reason: String?
    public var settings: ModelSettings
    public var inputs: [ValueDecl]
    public var outputs: [ValueDecl]
    public var batching: Bool
}

/// The models a daemon serves, by name: loading, replacing, unloading, and
/// routing requests to each model's `ModelRunner`.
///
/// Thread-safe: the model table is guarded by a mutex. `load`, `unload` and
/// `reconcile` block while models load or drain; call them off the I/O loop.
public final class Scheduler: Sendable {
    /// Builds a graph from a model path (the daemon injects its ONNX/plan loader).
    public typealias Loader = @Sendable (String) throws -> Graph
    /// Builds the compute backend of a model (tests inject a null backend).
    public typealias BackendFactory = @Sendable (_ name: String, _ settings: ModelSettings) throws -> any InferenceBackend
    /// Reads a model once and returns the function that builds its backend for
    /// one device: called once for `.cpu` (shared by every CPU instance) and
    /// once per GPU instance. The daemon injects ONNX/plan loading and the GPU
    /// backend; tests inject fakes.
    public typealias InstanceFactory = @Sendable (_ name: String, _ settings: ModelSettings) throws -> BackendMaker
    /// Builds the backend of one instance on `device`; throws when that device cannot host the model.
    public typealias BackendMaker = (_ device: InstanceDevice) throws -> any InferenceBackend

    private enum Entry {
        case loading(ModelSettings, version: Int64)
        case ready(ModelRunner)
        case failed(ModelSettings, version: Int64, reason: String)
    }

    public let metrics: MetricsRegistry
    public let clock: any ServingClock
    private let factory: InstanceFactory
    private let logger: Logger
    private let instancesOverride: Int?
    private let entries = Mutex<[String: Entry]>([:])
    private let versions = Mutex<[String: Int64]>([:])

    /// A scheduler whose models are graphs from `loader` run by `SessionBackend`
    /// on the CPU (GPU instances fall back as `load` describes).
    public convenience init(loader: @escaping Loader, clock: any ServingClock = SystemClock(), logger: Logger) {
        self.init(clock: clock, logger: logger) { name, settings in
            let graph = try loader(settings.path)
            return SessionBackend(graph: graph, maxBatchSize: settings.maxBatchSize, logger: logger)
        }
    }

    /// A scheduler with one backend per model, shared by its CPU instances
    /// (GPU instances fall back as `load` describes). `instances` overrides
    /// every model's CPU instance count; 0 starts no threads (tests that pump runners by hand).
    public convenience init(clock: any ServingClock, logger: Logger = Logger(label: "unirt.serving"), instances: Int? = nil,
                            factory: @escaping BackendFactory) {
        self.init(clock: clock, logger: logger, instances: instances, instanceFactory: { name, settings in
            let backend = try factory(name, settings)
            return { device in
                guard device == .cpu else { throw ServingError(.unavailable, "this build has no GPU backend") }
                return backend
            }
        })
    }

    /// A scheduler with per-device backends from `instanceFactory`. `instances`
    /// overrides every model's CPU instance count; 0 starts no threads (tests
    /// that pump runners by hand).
    public init(clock: any ServingClock, logger: Logger = Logger(label: "unirt.serving"), instances: Int? = nil,
                instanceFactory: @escaping InstanceFactory) {
        self.clock = clock
        self.logger = logger
        self.factory = instanceFactory
        self.instancesOverride = instances
        self.metrics = MetricsRegistry()
    }

    /// Loads (or replaces) model `name`. A replaced model keeps serving until
    /// the new one is ready, then drains its queue in the background.
    ///
    /// Instances: one CPU backend shared by `instances.cpu` threads, and one
    /// backend per GPU instance on its device. A GPU instance that cannot be
    /// created (no CUDA libraries, no such GPU, an operator the GPU cannot run)
    /// is left out, and no further instance is tried on that GPU: the model
    /// serves with the instances that remain, and one warning line says which
    /// are missing and why. A model left with no instance at all (GPU instances
    /// only, and none could be created) fails to load with UNAVAILABLE naming it.
    public func load(name: String, settings: ModelSettings) throws {
        try settings.validate(model: name)
        let version = versions.withLock { v -> Int64 in
            v[name, default: 0] += 1
            return v[name]!
        }
        entries.withLock { table in
            if case .ready = table[name] { return }
            table[name] = .loading(settings, version: version)
        }
        func fail(_ code: ServingError.Code, _ reason: String, cause: any Error) -> ServingError {
            logger.error("model '\(name)': load failed: \(reason)")
            entries.withLock { table in
                if case .ready = table[name] { return }
                table[name] = .failed(settings, version: version, reason: reason)
            }
            return ServingError(code, "model '\(name)': \(reason)", cause: cause)
        }
        let cpuCount = instancesOverride.map { $0 == 0 ? settings.cpuInstances : $0 } ?? settings.cpuInstances
        var instances: [ModelInstance] = []
        let maker: BackendMaker
        do {
            maker = try factory(name, settings)
            if cpuCount > 0 {
                let cpu = try maker(.cpu)
                instances = Array(repeating: ModelInstance(device: .cpu, backend: cpu), count: cpuCount)
            }
        } catch {
            throw fail(.invalidArgument, "\(settings.path): \(error)", cause: error)
        }
        var gpuFailures: [Int: String] = [:]  // ordinal → why
        for i in 0..<settings.gpuInstances {
            let ordinal = settings.gpuOrdinal(ofInstance: i)
            guard gpuFailures[ordinal] == nil else { continue }
            do {
                instances.append(ModelInstance(device: .gpu(ordinal), backend: try maker(.gpu(ordinal))))
            } catch {
                gpuFailures[ordinal] = "\(error)"
            }
        }
        var note: String?
        if !gpuFailures.isEmpty {
            let why = gpuFailures.sorted { $0.key < $1.key }.map { "GPU \($0.key): \($0.value)" }.joined(separator: "; ")
            let made = instances.filter(\.device.isGPU).count
            guard !instances.isEmpty else {
                throw fail(.unavailable, "asks for GPU instances only (instances.cpu = 0) and none could be created: \(why)",
                           cause: ServingError(.unavailable, why))
            }
            note = "\(settings.gpuInstances - made) of \(settings.gpuInstances) GPU instances not created (\(why)); "
                + "serving on \(describe(instances))"
            logger.warning("model '\(name)': \(note!)")
        }
        let runner = ModelRunner(name: name, version: version, settings: settings, instances: instances, clock: clock,
                                 metrics: metrics, startThreads: instancesOverride != 0, instanceNote: note)
        let old = entries.withLock { table -> ModelRunner? in
            defer { table[name] = .ready(runner) }
            if case .ready(let r) = table[name] { return r }
            return nil
        }
        let limits = Set(instances.map { "\($0.device.isGPU ? "gpu " : "")\($0.backend.maxBatchSize)" }).sorted()
        logger.info("model '\(name)' version \(version) ready (\(settings.path), \(describe(instances)), max batch \(limits.joined(separator: "/")))")
        if let old { old.drain() }
    }

    /// "2 CPU instances and 1 GPU instance (gpu0)".
    private func describe(_ instances: [ModelInstance]) -> String {
        let cpu = instances.filter { !$0.device.isGPU }.count
        let gpus = instances.filter(\.device.isGPU).map(\.device.description)
        var parts: [String] = []
        if cpu > 0 { parts.append("\(cpu) CPU instance\(cpu == 1 ? "" : "s")") }
        if !gpus.isEmpty {
            parts.append("\(gpus.count) GPU instance\(gpus.count == 1 ? "" : "s") (\(Set(gpus).sorted().joined(separator: ", ")))")
        }
        return parts.joined(separator: " and ")
    }

    /// Removes model `name` after computing what it has queued.
    public func unload(name: String) throws {
        let entry = entries.withLock { $0.removeValue(forKey: name) }
        guard let entry else { throw ServingError(.notFound, "no model named '\(name)'") }
        if case .ready(let runner) = entry { runner.drain() }
        metrics.setInstances(model: name, [:])
        logger.info("model '\(name)' unloaded")
    }

    /// Brings the loaded set to `desired`: loads new models, replaces those
    /// whose settings changed, unloads the rest. Returns one line per failure.
    @discardableResult
    public func reconcile(_ desired: [String: ModelSettings]) -> [String] {
        let current = entries.withLock { table in table.mapValues { e -> ModelSettings in
            switch e {
            case .loading(let s, _), .failed(let s, _, _): return s
            case .ready(let r): return r.settings
            }
        } }
        var failures: [String] = []
        for name in current.keys where desired[name] == nil {
            do { try unload(name: name) } catch { failures.append("\(error)") }
        }
        for (name, settings) in desired.sorted(by: { $0.key < $1.key }) {
            if let cur = current[name], cur == settings, runner(name) != nil { continue }
            do { try load(name: name, settings: settings) } catch { failures.append("\(error)") }
        }
        return failures
    }

    /// The runner serving `name`, if ready.
    public func runner(_ name: String) -> ModelRunner? {
        entries.withLock { table in
            if case .ready(let r) = table[name] { return r }
            return nil
        }
    }

    /// Queues an inference for `model`; throws NOT_FOUND, UNAVAILABLE,
    /// INVALID_ARGUMENT or RESOURCE_EXHAUSTED without calling the completion.
    public func submit(model: String, version: Int64 = 0, _ request: InferenceRequest) throws {
        let entry = entries.withLock { $0[model] }
        switch entry {
        case nil:
            throw ServingError(.notFound, "no model named '\(model)'")
        case .loading:
            throw ServingError(.unavailable, "model '\(model)' is loading")
        case .failed(_, _, let reason):
            throw ServingError(.unavailable, "model '\(model)' failed to load: \(reason)")
        case .ready(let r):
            if version != 0 && version != r.version {
                throw ServingError(.notFound, "model '\(model)' has version \(r.version), not \(version)")
            }
            try r.submit(request)
        }
    }

    /// Answers CANCELLED to every queued request of `owner` in every model.
    public func cancel(owner: UInt64) {
        let runners = entries.withLock { $0.values.compactMap { e -> ModelRunner? in
            if case .ready(let r) = e { return r }
            return nil
        } }
        for r in runners { r.cancel(owner: owner) }
    }

    /// Every model, sorted by name.
    public func describe() -> [ModelDescription] {
        entries.withLock { table in
            table.keys.sorted().map { name in
                switch table[name]! {
                case .loading(let s, let v):
                    return ModelDescription(name: name, version: v, state: .loading, reason: nil, settings: s,
                                            inputs: [], outputs: [], batching: false)
                case .failed(let s, let v, let reason):
                    return ModelDescription(name: name, version: v, state: .failed, reason: reason, settings: s,
                                            inputs: [], outputs: [], batching: false)
                case .ready(let r):
                    let notes = [r.backend.batchingDisabledReason.map { "batching disabled: \($0)" }, r.instanceNote]
                    let reason = notes.compactMap { $0 }.joined(separator: "; ")
                    return ModelDescription(name: name, version: r.version, state: .ready,
                                            reason: reason.isEmpty ? nil : reason, settings: r.settings,
                                            inputs: r.backend.inputs, outputs: r.backend.outputs,
                                            batching: r.backend.maxBatchSize > 1)
                }
            }
        }
    }

    /// Whether every model is loaded and serving.
    public var isReady: Bool {
        entries.withLock { table in table.values.allSatisfy { if case .ready = $0 { return true } else { return false } } }
    }

    /// Stops every model after computing what is queued (SIGTERM).
    public func drainAll() {
        let runners = entries.withLock { table -> [ModelRunner] in
            let rs = table.values.compactMap { e -> ModelRunner? in
                if case .ready(let r) = e { return r }
                return nil
            }
            return rs
        }
        let group = DispatchGroup()
        for r in runners {
            group.enter()
            Thread { r.drain(); group.leave() }.start()
        }
        group.wait()
    }
}
