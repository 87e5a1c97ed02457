import Foundation
import Synchronization
import UnirtIR
import UnirtServing
import XCTest

/// A backend that computes nothing: each output row is the first input row doubled; counts runs.
final class NullBackend: InferenceBackend, @unchecked Sendable {
    let inputs = [ValueDecl(name: "x", dtype: .f32, dims: [.symbolic("N"), .fixed(2)])]
    let outputs = [ValueDecl(name: "y", dtype: .f32, dims: [.symbolic("N"), .fixed(2)])]
    let maxBatchSize: Int
    let batchingDisabledReason: String? = nil
    let runs = Mutex<[Int]>([])
    init(maxBatchSize: Int) { self.maxBatchSize = maxBatchSize }
    func validate(_ inputs: [String: Tensor]) throws {
        guard let x = inputs["x"], x.shape.count == 2, x.shape[1] == 2 else {
            throw ServingError(.invalidArgument, "input 'x' must be f32[N,2]")
        }
    }
    func run(_ inputs: [String: Tensor], items: Int) throws -> [String: Tensor] {
        runs.withLock { $0.append(items) }
        let x = inputs["x"]!
        return ["y": Tensor(shape: x.shape, floats: x.floats.map { $0 * 2 })]
    }
}

/// Collects completions by request id. Thread-safe.
final class Completions: Sendable {
    let results = Mutex<[UInt64: Result<InferenceResult, ServingError>]>([:])
    func callback(_ id: UInt64) -> @Sendable (Result<InferenceResult, ServingError>) -> Void {
        { r in self.results.withLock { $0[id] = r } }
    }
    func code(_ id: UInt64) -> ServingError.Code? {
        results.withLock { r in
            guard let v = r[id] else { return nil }
            if case .failure(let e) = v { return e.code }
            return nil
        }
    }
    func output(_ id: UInt64) -> [Float]? {
        results.withLock { r in
            if case .success(let v) = r[id] { return v.outputs["y"]?.floats }
            return nil
        }
    }
    var count: Int { results.withLock { $0.count } }
}

final class ServingTests: XCTestCase {
    func request(_ id: UInt64, _ value: Float, clock: ManualClock, done: Completions, deadline: UInt64? = nil,
                 owner: UInt64 = 0) -> InferenceRequest {
        InferenceRequest(id: id, owner: owner, inputs: ["x": Tensor(shape: [1, 2], floats: [value, value + 1])],
                         arrival: clock.now(), deadline: deadline, completion: done.callback(id))
    }

    func makeRunner(maxBatch: Int = 4, delayMicros: UInt64 = 100, queue: Int = 8, preferred: [Int] = [],
                    policy: ModelSettings.QueueDelayPolicy = .adaptive, clock: ManualClock) -> (ModelRunner, NullBackend) {
        let backend = NullBackend(maxBatchSize: maxBatch)
        var settings = ModelSettings(path: "null", maxBatchSize: maxBatch, maxQueueDelayMicros: delayMicros,
                                     maxQueueSize: queue, preferredBatchSizes: preferred)
        settings.queueDelayPolicy = policy
        let runner = ModelRunner(name: "null", settings: settings, backend: backend, clock: clock,
                                 metrics: MetricsRegistry(), instances: 0)
        return (runner, backend)
    }

    func testBatchWaitsForDelayThenDispatchesTogether() throws {
        let clock = ManualClock(1_000)
        let done = Completions()
        let (runner, backend) = makeRunner(clock: clock)
        try runner.submit(request(1, 1, clock: clock, done: done))
        clock.advance(10_000)
        try runner.submit(request(2, 3, clock: clock, done: done))
        XCTAssertFalse(runner.pump(), "batch is not full and the delay has not passed")
        clock.advance(90_000)
        XCTAssertTrue(runner.pump())
        XCTAssertEqual(backend.runs.withLock { $0 }, [2])
        XCTAssertEqual(done.output(1), [2, 4])
        XCTAssertEqual(done.output(2), [6, 8])
    }

    /// Sparse arrivals (1 ms apart, 100 µs delay): once the gap is known, a lone
    /// request goes at once under the adaptive policy and waits out the delay under the fixed one.
    func testAdaptiveDelaySkipsTheWaitWhenArrivalsAreSparse() throws {
        for policy in [ModelSettings.QueueDelayPolicy.adaptive, .fixed] {
            let clock = ManualClock(1_000)
            let done = Completions()
            let (runner, backend) = makeRunner(policy: policy, clock: clock)
            try runner.submit(request(1, 1, clock: clock, done: done))
            XCTAssertFalse(runner.pump(), "\(policy): no arrival rate known yet, the first request waits")
            clock.advance(100_000)
            XCTAssertTrue(runner.pump())
            for id in 2...4 {
                clock.advance(900_000)
                try runner.submit(request(UInt64(id), 1, clock: clock, done: done))
                if policy == .adaptive {
                    XCTAssertTrue(runner.pump(), "request \(id): next arrival expected after the delay, no wait")
                } else {
                    XCTAssertFalse(runner.pump(), "request \(id): fixed policy waits")
                    clock.advance(100_000)
                    XCTAssertTrue(runner.pump())
                }
            }
            XCTAssertEqual(backend.runs.withLock { $0 }, [1, 1, 1, 1], "\(policy)")
        }
    }

    /// Dense arrivals (10 µs apart, 100 µs delay): the adaptive policy still waits and fills batches.
    func testAdaptiveDelayStillBatchesDenseArrivals() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, backend) = makeRunner(maxBatch: 4, clock: clock)
        for id in 1...4 {
            try runner.submit(request(UInt64(id), 1, clock: clock, done: done))
            if id < 4 { XCTAssertFalse(runner.pump(), "request \(id): more arrivals expected within the delay") }
            clock.advance(10_000)
        }
        XCTAssertTrue(runner.pump())
        XCTAssertEqual(backend.runs.withLock { $0 }, [4])
    }

    func testFullBatchDispatchesAtOnceAndSplitsInOrder() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, backend) = makeRunner(maxBatch: 3, clock: clock)
        for i in 1...5 { try runner.submit(request(UInt64(i), Float(i), clock: clock, done: done)) }
        XCTAssertTrue(runner.pump())
        XCTAssertEqual(backend.runs.withLock { $0 }, [3])
        XCTAssertFalse(runner.pump(), "two left, waiting for the delay")
        clock.advance(100_000)
        XCTAssertTrue(runner.pump())
        XCTAssertEqual(backend.runs.withLock { $0 }, [3, 2])
        for i in 1...5 { XCTAssertEqual(done.output(UInt64(i)), [Float(i) * 2, Float(i + 1) * 2]) }
    }

    func testPreferredBatchSizeDispatchesEarly() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, backend) = makeRunner(maxBatch: 8, preferred: [2], clock: clock)
        try runner.submit(request(1, 1, clock: clock, done: done))
        XCTAssertFalse(runner.pump())
        try runner.submit(request(2, 1, clock: clock, done: done))
        XCTAssertTrue(runner.pump())
        XCTAssertEqual(backend.runs.withLock { $0 }, [2])
    }

    func testQueueBoundRefusesWithResourceExhausted() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, _) = makeRunner(maxBatch: 8, queue: 2, clock: clock)
        try runner.submit(request(1, 1, clock: clock, done: done))
        try runner.submit(request(2, 1, clock: clock, done: done))
        XCTAssertThrowsError(try runner.submit(request(3, 1, clock: clock, done: done))) { e in
            XCTAssertEqual((e as? ServingError)?.code, .resourceExhausted)
        }
        XCTAssertEqual(runner.queueDepth, 2)
    }

    func testExpiredRequestIsNeverComputed() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, backend) = makeRunner(maxBatch: 4, delayMicros: 1_000, clock: clock)
        try runner.submit(request(1, 1, clock: clock, done: done, deadline: clock.now() + 50_000))
        try runner.submit(request(2, 1, clock: clock, done: done))
        clock.advance(60_000)
        XCTAssertTrue(runner.pump(), "the expired request is answered")
        XCTAssertEqual(done.code(1), .deadlineExceeded)
        XCTAssertEqual(backend.runs.withLock { $0 }, [])
        clock.advance(1_000_000)
        XCTAssertTrue(runner.pump())
        XCTAssertEqual(backend.runs.withLock { $0 }, [1])
        XCTAssertNotNil(done.output(2))
    }

    func testCancelRemovesOnlyTheOwnersRequests() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, backend) = makeRunner(clock: clock)
        try runner.submit(request(1, 1, clock: clock, done: done, owner: 7))
        try runner.submit(request(2, 1, clock: clock, done: done, owner: 8))
        runner.cancel(owner: 7)
        XCTAssertEqual(done.code(1), .cancelled)
        clock.advance(1_000_000)
        runner.pump()
        XCTAssertEqual(backend.runs.withLock { $0 }, [1])
        XCTAssertNotNil(done.output(2))
    }

    func testDrainComputesEverythingQueued() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, backend) = makeRunner(maxBatch: 2, delayMicros: 10_000_000, clock: clock)
        for i in 1...3 { try runner.submit(request(UInt64(i), 1, clock: clock, done: done)) }
        runner.drain()
        XCTAssertEqual(done.count, 3)
        XCTAssertEqual(backend.runs.withLock { $0 }, [2, 1])
        XCTAssertThrowsError(try runner.submit(request(4, 1, clock: clock, done: done))) { e in
            XCTAssertEqual((e as? ServingError)?.code, .unavailable)
        }
    }

    func testInvalidInputIsRefusedAtSubmission() {
        let clock = ManualClock()
        let done = Completions()
        let (runner, _) = makeRunner(clock: clock)
        let bad = InferenceRequest(id: 1, inputs: ["x": Tensor(shape: [1, 3], floats: [1, 2, 3])], arrival: 0,
                                   completion: done.callback(1))
        XCTAssertThrowsError(try runner.submit(bad)) { e in XCTAssertEqual((e as? ServingError)?.code, .invalidArgument) }
    }

    func testSchedulerThreadsServeManyConcurrentRequests() throws {
        let done = Completions()
        let backend = NullBackend(maxBatchSize: 4)
        let scheduler = Scheduler(clock: SystemClock()) { _, _ in backend }
        try scheduler.load(name: "m", settings: ModelSettings(path: "null", maxBatchSize: 4, maxQueueDelayMicros: 2_000,
                                                              cpuInstances: 2))
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            let r = InferenceRequest(id: UInt64(i), inputs: ["x": Tensor(shape: [1, 2], floats: [Float(i), 0])],
                                     arrival: scheduler.clock.now(), completion: done.callback(UInt64(i)))
            try! scheduler.submit(model: "m", r)
        }
        scheduler.drainAll()
        XCTAssertEqual(done.count, 64)
        for i in 0..<64 { XCTAssertEqual(done.output(UInt64(i)), [Float(i) * 2, 0]) }
        let stats = scheduler.metrics.snapshot().first { $0.name == "m" }!
        XCTAssertEqual(stats.inferences, 64)
        XCTAssertEqual(stats.inflight, 0)
        XCTAssertThrowsError(try scheduler.submit(model: "nope", InferenceRequest(id: 0, inputs: [:], arrival: 0) { _ in })) { e in
            XCTAssertEqual((e as? ServingError)?.code, .notFound)
        }
    }

    func testMetricsRenderPrometheusText() {
        let m = MetricsRegistry()
        m.recordRequest(model: "a", code: "OK")
        m.recordExecution(model: "a", items: 3, computeSeconds: 0.002, queueSeconds: [0.001, 0.001, 0.0005])
        let text = m.render()
        XCTAssertTrue(text.contains("unirt_requests_total{model=\"a\",code=\"OK\"} 1\n"))
        XCTAssertTrue(text.contains("unirt_inferences_total{model=\"a\"} 3\n"))
        XCTAssertTrue(text.contains("unirt_executions_total{model=\"a\"} 1\n"))
        XCTAssertTrue(text.contains("unirt_batch_size_bucket{model=\"a\",le=\"4\"} 1\n"))
        XCTAssertTrue(text.contains("unirt_queue_duration_seconds_count{model=\"a\"} 3\n"))
        XCTAssertTrue(text.contains("process_resident_memory_bytes "))
    }
}
