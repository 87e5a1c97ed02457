import Foundation
import Logging
import UnirtIR

/// One loaded model: its queue, batcher and instance group (one thread per
/// instance, each running one batch at a time on the model's backend).
///
/// Thread ownership: the batcher and the `stopping`/`liveThreads` flags are
/// guarded by `condition`; instance threads wait on it for work. Backends run
/// outside the lock. Completions are called outside the lock.
public final class ModelRunner: @unchecked Sendable {
    public let name: String
    public let version: Int64
    public let settings: ModelSettings
    public let backend: any InferenceBackend
    private let clock: any ServingClock
    private let metrics: MetricsRegistry
    private let condition = NSCondition()
    private var batcher: DynamicBatcher  // guarded by condition
    private var stopping = false  // guarded by condition
    private var liveThreads = 0  // guarded by condition

    /// Creates the runner and starts `instances` threads (0 in tests that
    /// drive it with `pump()` and a manual clock).
    public init(name: String, version: Int64 = 1, settings: ModelSettings, backend: any InferenceBackend,
                clock: any ServingClock, metrics: MetricsRegistry, instances: Int? = nil) {
        self.name = name
        self.version = version
        self.settings = settings
        self.backend = backend
        self.clock = clock
        self.metrics = metrics
        batcher = DynamicBatcher(maxBatchSize: backend.maxBatchSize,
                                 maxQueueDelayNanos: settings.maxQueueDelayMicros * 1000,
                                 maxQueueSize: settings.maxQueueSize,
                                 preferredBatchSizes: settings.preferredBatchSizes)
        let count = instances ?? max(1, settings.cpuInstances + settings.gpuInstances)
        liveThreads = count
        for i in 0..<count {
            let t = Thread { [self] in instanceLoop() }
            t.name = "unirt-\(name)-\(i)"
            t.start()
        }
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
        condition.signal()
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

    /// Makes one scheduling decision at the clock's current time and runs the
    /// resulting batch on the calling thread. Returns whether anything was
    /// dispatched or expired. For tests with a manual clock and no threads.
    @discardableResult
    public func pump(flush: Bool = false) -> Bool {
        condition.lock()
        let d = batcher.next(now: clock.now(), flush: flush)
        metrics.setQueueDepth(model: name, batcher.count)
        condition.unlock()
        handle(d)
        return !d.batch.isEmpty || !d.expired.isEmpty
    }

    private func instanceLoop() {
        condition.lock()
        while true {
            let now = clock.now()
            let d = batcher.next(now: now, flush: stopping)
            if !d.batch.isEmpty || !d.expired.isEmpty {
                metrics.setQueueDepth(model: name, batcher.count)
                condition.unlock()
                handle(d)
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

    private func handle(_ d: DynamicBatcher.Decision) {
        for r in d.expired {
            finish(r, .failure(ServingError(.deadlineExceeded, "deadline passed after \(formatMicros(clock.now() &- r.arrival)) in the queue")))
        }
        if !d.batch.isEmpty { execute(d.batch) }
    }

    private func execute(_ batch: [InferenceRequest]) {
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
        metrics.recordExecution(model: name, items: items, computeSeconds: Double(compute) / 1e9,
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
