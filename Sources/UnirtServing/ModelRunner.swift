import Foundation
import Logging
import UnirtIR

/// One loaded model: its queue, batcher and instance group (one thread per
/// instance, each running one batch at a time on its instance's backend).
///
/// CPU and GPU instances share the model's one queue: whichever instance is
/// idle takes the next batch, cut to that instance's batch limit (a GPU
/// instance may take larger batches). Requests are validated by the instance
/// backend with the smallest limit, so every instance can run every request.
///
/// Thread ownership: the batcher and the `stopping`/`liveThreads` flags are
/// guarded by `condition`; instance threads wait on it for work. Backends run
/// outside the lock. Completions are called outside the lock.
public final class ModelRunner: @unchecked Sendable {
    public let name: String
    public let version: Int64
    public let settings: ModelSettings
    /// Every instance, CPU ones first; a test that pumps by hand names one by index.
    public let instances: [ModelInstance]
    /// The backend that validates requests and describes the model: the one
    /// with the smallest batch limit (a CPU one on ties).
    public let backend: any InferenceBackend
    /// Why configured instances are missing (e.g. no GPU on this machine), if any are.
    public let instanceNote: String?
    private let clock: any ServingClock
    private let metrics: MetricsRegistry
    private let condition = NSCondition()
    private var batcher: DynamicBatcher  // guarded by condition
    private var stopping = false  // guarded by condition
    private var liveThreads = 0  // guarded by condition
    /// Whether instances have different batch limits: then a new request wakes
    /// every idle instance, since the batch may be full for one and not another.
    private let mixedLimits: Bool

    /// Creates the runner and starts one thread per instance, unless
    /// `startThreads` is false (tests that drive it with `pump()` and a manual clock).
    public init(name: String, version: Int64 = 1, settings: ModelSettings, instances: [ModelInstance],
                clock: any ServingClock, metrics: MetricsRegistry, startThreads: Bool = true, instanceNote: String? = nil) {
        precondition(!instances.isEmpty, "a model runner needs at least one instance")
        self.name = name
        self.version = version
        self.settings = settings
        self.instances = instances
        self.instanceNote = instanceNote
        self.backend = instances.min { $0.backend.maxBatchSize < $1.backend.maxBatchSize }!.backend
        self.clock = clock
        self.metrics = metrics
        mixedLimits = Set(instances.map(\.backend.maxBatchSize)).count > 1
        batcher = DynamicBatcher(maxBatchSize: instances.map(\.backend.maxBatchSize).max()!,
                                 maxQueueDelayNanos: settings.maxQueueDelayMicros * 1000,
                                 maxQueueSize: settings.maxQueueSize,
                                 preferredBatchSizes: settings.preferredBatchSizes,
                                 adaptiveDelay: settings.queueDelayPolicy == .adaptive)
        metrics.setInstances(model: name, Dictionary(instances.map { ($0.device.description, 1) }, uniquingKeysWith: +))
        guard startThreads else { return }
        liveThreads = instances.count
        for (i, instance) in instances.enumerated() {
            let t = Thread { [self] in instanceLoop(i) }
            t.name = "unirt-\(name)-\(instance.device)-\(i)"
            t.start()
        }
    }

    /// A runner whose instances all share `backend` on the CPU: `instances`
    /// threads (default: the settings' CPU instances; 0 starts none, for tests
    /// that pump by hand).
    public convenience init(name: String, version: Int64 = 1, settings: ModelSettings, backend: any InferenceBackend,
                            clock: any ServingClock, metrics: MetricsRegistry, instances: Int? = nil) {
        let count = instances ?? max(1, settings.cpuInstances)
        self.init(name: name, version: version, settings: settings,
                  instances: Array(repeating: ModelInstance(device: .cpu, backend: backend), count: max(count, 1)),
                  clock: clock, metrics: metrics, startThreads: count > 0)
    }

    /// Validates and queues a request. Throws INVALID_ARGUMENT, RESOURCE_EXHAUSTED
    /// or UNAVAILABLE (draining) without calling the completion.
    public func submit(_ request: InferenceRequest) throws {
        var r = request
        try backend.validate(r.inputs)
        for o in r.requestedOutputs where !backend.outputs.contains(where: { $0.name == o }) {
            throw ServingError(.invalidArgument, "model '\(name)' has no output named '\(o)'")
        }
        let first = r.inputs.keys.sorted().first.flatMap { r.inputs[$0] }
        r.items = backend.maxBatchSize > 1 ? (first?.shape.first ?? 1) : 1
        r.batchKey = r.inputs.keys.sorted().map { "\($0):\(r.inputs[$0]!.shape.dropFirst())" }.joined(separator: ";")
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw ServingError(.unavailable, "model '\(name)' is being unloaded") }
        try batcher.enqueue(r)
        metrics.addInflight(model: name, 1)
        metrics.setQueueDepth(model: name, batcher.count)
        if mixedLimits { condition.broadcast() } else { condition.signal() }
    }

    /// Answers CANCELLED to every queued request of `owner` (a departed client).
    public func cancel(owner: UInt64) {
        condition.lock()
        let removed = batcher.remove { $0.owner == owner }
        metrics.setQueueDepth(model: name, batcher.count)
        condition.unlock()
        for r in removed { finish(r, .failure(ServingError(.cancelled, "client went away"))) }
    }

    /// Queued requests.
    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return batcher.count
    }

    /// Stops accepting, computes everything queued and returns once every
    /// instance thread has exited.
    public func drain() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while liveThreads > 0 { condition.wait() }
        condition.unlock()
        // With no threads (manual pumping) anything left is computed here.
        while pump(flush: true) {}
    }

    /// Makes one scheduling decision at the clock's current time for instance
    /// `instance` (an index into `instances`) and runs the resulting batch on
    /// the calling thread with that instance's backend. Returns whether
    /// anything was dispatched or expired. For tests with a manual clock and no threads.
    @discardableResult
    public func pump(flush: Bool = false, instance: Int = 0) -> Bool {
        let target = instances[instance]
        condition.lock()
        let d = batcher.next(now: clock.now(), flush: flush, limit: target.backend.maxBatchSize)
        metrics.setQueueDepth(model: name, batcher.count)
        condition.unlock()
        handle(d, on: target)
        return !d.batch.isEmpty || !d.expired.isEmpty
    }

    private func instanceLoop(_ index: Int) {
        let instance = instances[index]
        let limit = instance.backend.maxBatchSize
        condition.lock()
        while true {
            let now = clock.now()
            let d = batcher.next(now: now, flush: stopping, limit: limit)
            if !d.batch.isEmpty || !d.expired.isEmpty {
                metrics.setQueueDepth(model: name, batcher.count)
                // Another idle instance may take what this batch left behind.
                if !batcher.isEmpty { condition.signal() }
                condition.unlock()
                handle(d, on: instance)
                condition.lock()
                continue
            }
            if stopping { break }
            if let wake = d.wakeAt {
                let seconds = Double(wake > now ? wake - now : 0) / 1e9
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            } else {
                condition.wait()
            }
        }
        liveThreads -= 1
        condition.broadcast()
        condition.unlock()
    }

    private func handle(_ d: DynamicBatcher.Decision, on instance: ModelInstance) {
        for r in d.expired {
            finish(r, .failure(ServingError(.deadlineExceeded, "deadline passed after \(formatMicros(clock.now() &- r.arrival)) in the queue")))
        }
        if !d.batch.isEmpty { execute(d.batch, on: instance) }
    }

    private func execute(_ batch: [InferenceRequest], on instance: ModelInstance) {
        let backend = instance.backend
        let start = clock.now()
        let items = batch.reduce(0) { $0 + $1.items }
        let outputs: [String: Tensor]
        do {
            var inputs = batch[0].inputs
            if batch.count > 1 {
                for key in inputs.keys { inputs[key] = Tensor.concatenated(batch.map { $0.inputs[key]! }) }
            }
            outputs = try backend.run(inputs, items: items)
        } catch {
            let e = error as? ServingError ?? ServingError(.internal, "model '\(name)': \(error)", cause: error)
            for r in batch { finish(r, .failure(e)) }
            return
        }
        let end = clock.now()
        let compute = end &- start
        metrics.recordExecution(model: name, device: instance.device.description, items: items,
                                computeSeconds: Double(compute) / 1e9,
                                queueSeconds: batch.map { Double(start &- $0.arrival) / 1e9 })
        var offset = 0
        for r in batch {
            var selected: [String: Tensor] = [:]
            for (key, t) in outputs where r.requestedOutputs.isEmpty || r.requestedOutputs.contains(key) {
                selected[key] = batch.count > 1 && t.shape.first == items ? t.rows(offset, r.items) : t
            }
            offset += r.items
            finish(r, .success(InferenceResult(outputs: selected, queueNanos: start &- r.arrival,
                                               computeNanos: compute, batchSize: items)))
        }
    }

    private func finish(_ r: InferenceRequest, _ result: Result<InferenceResult, ServingError>) {
        metrics.addInflight(model: name, -1)
        r.completion(result)
    }

    private func formatMicros(_ ns: UInt64) -> String { "\(ns / 1000) µs" }
}
