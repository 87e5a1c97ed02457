import ArgumentParser
import Foundation
import Synchronization
import UnirtClient
import UnirtIR

/// `unirt perf`: measures a hosted model under load, like Triton's perf_analyzer.
struct PerfCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf",
        abstract: "Measure throughput and latency of a model hosted by unirtd.",
        discussion: """
            Concurrency mode keeps N requests in flight (one connection per client thread) for each N in \
            --concurrency. Rate mode sends requests with Poisson arrivals at each rate in --rate. Each step \
            reports throughput, client latency p50/p90/p99, and the daemon's average queue and compute time \
            per request (from Stats).
            """)

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: "Model name (required unless --method health).")
    var model: String = ""

    @Option(name: .long, help: "RPC to time: infer, or health (the empty round trip; no model needed).")
    var method: String = "infer"

    @Flag(name: .long, help: "Pass inputs and outputs through a shared-memory region per client instead of inline (inputs are written into it once).")
    var sharedMemory = false

    @Option(name: .long, help: "An input as NAME=FILE.npy; without any, zero tensors of the model's declared shapes are sent.")
    var input: [String] = []

    @Option(name: .long, parsing: .upToNextOption, help: "Concurrency levels to sweep.")
    var concurrency: [Int] = [1, 2, 4, 8]

    @Option(name: .long, parsing: .upToNextOption, help: "Request rates (per second) with Poisson arrivals, instead of --concurrency.")
    var rate: [Double] = []

    @Option(name: .long, help: "Seconds per step.")
    var duration: Double = 3

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    struct Step: Codable {
        var mode: String
        var level: Double
        var requests: Int
        var errors: Int
        var throughput: Double
        var p50Ms: Double
        var p90Ms: Double
        var p99Ms: Double
        var serverQueueMs: Double
        var serverComputeMs: Double
        var batchSize: Double
    }

    func run() throws {
        guard duration > 0 else { throw CLIError("--duration must be positive") }
        guard ["infer", "health"].contains(method) else { throw CLIError("--method: '\(method)' is not infer or health") }
        guard method == "health" || !model.isEmpty else { throw CLIError("--model is required with --method infer") }
        let probe = try daemon.connect()
        defer { probe.close() }
        try makeCall(probe)()  // warm-up (plans are built on first use)
        var steps: [Step] = []
        if rate.isEmpty {
            for c in concurrency {
                guard c >= 1 else { throw CLIError("--concurrency: \(c) must be at least 1") }
                steps.append(try measure(probe, mode: "concurrency", level: Double(c)) { record in
                    try closedLoop(clients: c, record: record)
                })
            }
        } else {
            for r in rate {
                guard r > 0 else { throw CLIError("--rate: \(r) must be positive") }
                steps.append(try measure(probe, mode: "rate", level: r) { record in
                    try poisson(rate: r, record: record)
                })
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(steps), as: UTF8.self))
        } else {
            print("mode         level   req/s      p50 ms   p90 ms   p99 ms   queue ms  compute ms  batch  errors")
            for s in steps {
                print(String(format: "%-11@ %6.1f %8.1f %9.3f %8.3f %8.3f %10.3f %11.3f %6.2f %7d",
                             s.mode as NSString, s.level, s.throughput, s.p50Ms, s.p90Ms, s.p99Ms,
                             s.serverQueueMs, s.serverComputeMs, s.batchSize, s.errors))
            }
        }
    }

    /// One timed request on `client`, as --method and --shared-memory ask.
    private func makeCall(_ client: DaemonClient) throws -> @Sendable () throws -> Void {
        let model = self.model
        if method == "health" { return { _ = try client.health() } }
        let inputs = try input.isEmpty ? zeroInputs(client.modelStatus(model)) : ModelLoading.inputs(input)
        guard sharedMemory else { return { _ = try client.infer(model: model, inputs: inputs) } }
        // Inputs first, outputs after them: room for outputs several times the inputs' size.
        let inputBytes = inputs.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
        let region = try client.registerRegion(size: 4 * inputBytes + (4 << 20))
        // The inputs are written into the region once, as a producer that builds its
        // tensors there would; each request then sends only references.
        var request = RPCRequest(method: .infer)
        request.model = model
        var offset = 0
        for (name, t) in inputs.sorted(by: { $0.key < $1.key }) {
            request.inputs.append(try region.write(t, name: name, at: offset))
            offset += t.count * t.dtype.byteSize
        }
        request.outputRegion = ShmRef(region: region.id, offset: UInt64(offset), length: UInt64(region.size - offset))
        let shared = request
        return { for t in try client.checked(shared).outputs { _ = try region.read(t) } }
    }

    private func zeroInputs(_ m: ModelInfo) throws -> [String: Tensor] {
        var r: [String: Tensor] = [:]
        for t in m.inputs {
            guard t.shape.allSatisfy({ $0 >= 0 }) else {
                throw CLIError("input '\(t.name)' has dynamic shape \(t.shape); pass --input \(t.name)=FILE.npy")
            }
            r[t.name] = Tensor(zeros: t.shape.map(Int.init), dtype: t.dtype)
        }
        return r
    }

    /// Latencies (seconds) and error count collected by the load generators.
    final class Samples: @unchecked Sendable {
        private let lock = NSLock()
        private var latencies: [Double] = []  // guarded by lock
        private var errors = 0  // guarded by lock
        func add(_ seconds: Double?) {
            lock.lock(); defer { lock.unlock() }
            if let s = seconds { latencies.append(s) } else { errors += 1 }
        }
        func take() -> ([Double], Int) {
            lock.lock(); defer { lock.unlock() }
            return (latencies, errors)
        }
    }

    private func measure(_ probe: DaemonClient, mode: String, level: Double,
                         _ body: (Samples) throws -> Void) throws -> Step {
        let before = model.isEmpty ? nil : try probe.stats().models.first { $0.name == model }
        let samples = Samples()
        let start = Date()
        try body(samples)
        let elapsed = Date().timeIntervalSince(start)
        let after = model.isEmpty ? nil : try probe.stats().models.first { $0.name == model }
        let (lat, errors) = samples.take()
        let sorted = lat.sorted()
        func pct(_ p: Double) -> Double {
            sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))] * 1000
        }
        var queue = 0.0, compute = 0.0, batch = 0.0
        if let a = after {
            let b = before ?? ModelStatistics(name: model, requests: 0, inferences: 0, executions: 0, queueSeconds: 0,
                                              computeSeconds: 0, queueDepth: 0, inflight: 0)
            let n = Double(a.inferences - b.inferences)
            if n > 0 {
                queue = (a.queueSeconds - b.queueSeconds) / n * 1000
                compute = (a.computeSeconds - b.computeSeconds) / n * 1000
            }
            let e = Double(a.executions - b.executions)
            batch = e > 0 ? n / e : 0
        }
        return Step(mode: mode, level: level, requests: lat.count, errors: errors,
                    throughput: Double(lat.count) / elapsed, p50Ms: pct(0.5), p90Ms: pct(0.9), p99Ms: pct(0.99),
                    serverQueueMs: queue, serverComputeMs: compute, batchSize: batch)
    }

    private func closedLoop(clients: Int, record: Samples) throws {
        let end = Date().addingTimeInterval(duration)
        let connections = try (0..<clients).map { _ in try daemon.connect() }
        let calls = try connections.map { try makeCall($0) }
        // One thread per client: concurrentPerform would cap the width at the core count.
        let group = DispatchGroup()
        for i in 0..<clients {
            group.enter()
            Thread {
                while Date() < end {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let ok = (try? calls[i]()) != nil
                    record.add(ok ? Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 : nil)
                }
                group.leave()
            }.start()
        }
        group.wait()
        for c in connections { c.close() }
    }

    private func poisson(rate: Double, record: Samples) throws {
        let client = try daemon.connect()
        defer { client.close() }
        let call = try makeCall(client)
        let group = DispatchGroup()
        let queue = DispatchQueue(label: "unirt.perf", attributes: .concurrent)
        var rng = SystemRandomNumberGenerator()
        let start = DispatchTime.now().uptimeNanoseconds
        var next = 0.0
        while next < duration {
            next += -log(Double.random(in: Double.ulpOfOne..<1, using: &rng)) / rate
            let due = start + UInt64(next * 1e9)
            let now = DispatchTime.now().uptimeNanoseconds
            if due > now { usleep(UInt32((due - now) / 1000)) }
            group.enter()
            queue.async {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let ok = (try? call()) != nil
                record.add(ok ? Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 : nil)
                group.leave()
            }
        }
        group.wait()
    }
}
