import Foundation
import Synchronization

/// Per-model counters, gauges and histograms, rendered in the Prometheus text
/// exposition format (version 0.0.4).
///
/// Thread-safe: all state is guarded by one mutex; updates are O(buckets).
public final class MetricsRegistry: Sendable {
    /// Upper bounds of the duration histograms, in seconds.
    public static let durationBuckets: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                   0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Upper bounds of the batch-size histogram, in items.
    public static let batchBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128]

    struct Histogram {
        var bounds: [Double]
        var counts: [UInt64]
        var sum: Double = 0
        var total: UInt64 = 0
        init(_ bounds: [Double]) {
            self.bounds = bounds
            counts = [UInt64](repeating: 0, count: bounds.count)
        }
        mutating func observe(_ v: Double) {
            if let i = bounds.firstIndex(where: { v <= $0 }) { counts[i] += 1 }
            sum += v
            total += 1
        }
    }

    struct Model {
        var requests: [String: UInt64] = [:]
        var inferences: UInt64 = 0
        var executions: UInt64 = 0
        var queue = Histogram(MetricsRegistry.durationBuckets)
        var compute = Histogram(MetricsRegistry.durationBuckets)
        var batch = Histogram(MetricsRegistry.batchBuckets)
        var queueDepth: Int = 0
        var inflight: Int = 0
        /// Batched runs and items by instance device label (`cpu`, `gpu0`, …).
        var deviceExecutions: [String: UInt64] = [:]
        var deviceInferences: [String: UInt64] = [:]
        /// Instances by device label.
        var instances: [String: Int] = [:]
    }

    private let models = Mutex<[String: Model]>([:])
    /// Reads the GPUs' memory and utilization when metrics are rendered; set by
    /// the daemon when a model has GPU instances (the serving core knows no GPU API).
    private let deviceProvider = Mutex<(@Sendable () -> [DeviceStatistics])?>(nil)

    public init() {}

    /// Counts a finished request of `model` with status `code` (e.g. "OK").
    public func recordRequest(model: String, code: String) {
        models.withLock { $0[model, default: Model()].requests[code, default: 0] += 1 }
    }

    /// Records one batched run on the instance device `device` (`cpu`, `gpu0`, …):
    /// its size, compute time and each member's queue time (seconds).
    public func recordExecution(model: String, device: String = "cpu", items: Int, computeSeconds: Double,
                                queueSeconds: [Double]) {
        models.withLock {
            var m = $0[model, default: Model()]
            m.executions += 1
            m.inferences += UInt64(items)
            m.deviceExecutions[device, default: 0] += 1
            m.deviceInferences[device, default: 0] += UInt64(items)
            m.batch.observe(Double(items))
            for q in queueSeconds {
                m.queue.observe(q)
                m.compute.observe(computeSeconds)
            }
            $0[model] = m
        }
    }

    /// Sets the number of queued requests of `model`.
    public func setQueueDepth(model: String, _ depth: Int) {
        models.withLock { $0[model, default: Model()].queueDepth = depth }
    }

    /// Adds `delta` to the requests of `model` that are queued or computing.
    public func addInflight(model: String, _ delta: Int) {
        models.withLock { $0[model, default: Model()].inflight += delta }
    }

    /// Sets the instances of `model` by device label (empty when it is unloaded).
    public func setInstances(model: String, _ counts: [String: Int]) {
        models.withLock { $0[model, default: Model()].instances = counts }
    }

    /// Installs the function that reads per-GPU statistics at render time
    /// (called on the rendering thread; it should take microseconds).
    public func setDeviceStatisticsProvider(_ provider: @escaping @Sendable () -> [DeviceStatistics]) {
        deviceProvider.withLock { $0 = provider }
    }

    /// Batched runs of `model` by instance device label.
    public func executionsByDevice(model: String) -> [String: UInt64] {
        models.withLock { $0[model]?.deviceExecutions ?? [:] }
    }

    /// Per-model totals, sorted by model name.
    public func snapshot() -> [ModelStatistics] {
        models.withLock { all in
            all.keys.sorted().map { name in
                let m = all[name]!
                return ModelStatistics(name: name, requests: m.requests.values.reduce(0, +), inferences: m.inferences,
                                       executions: m.executions, queueSeconds: m.queue.sum,
                                       computeSeconds: m.compute.sum, queueDepth: m.queueDepth, inflight: m.inflight)
            }
        }
    }

    /// Every metric in Prometheus text format.
    public func render() -> String {
        let all = models.withLock { $0 }
        let devices = deviceProvider.withLock { $0 }?() ?? []
        let names = all.keys.sorted()
        var out = ""
        func header(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func num(_ v: Double) -> String {
            v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
        }
        func label(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        header("unirt_requests_total", "counter", "Finished requests by model and status code.")
        for n in names {
            for (code, v) in all[n]!.requests.sorted(by: { $0.key < $1.key }) {
                out += "unirt_requests_total{model=\"\(label(n))\",code=\"\(code)\"} \(v)\n"
            }
        }
        header("unirt_inferences_total", "counter", "Items computed (a request of batch n counts n).")
        for n in names { out += "unirt_inferences_total{model=\"\(label(n))\"} \(all[n]!.inferences)\n" }
        header("unirt_executions_total", "counter", "Batched runs; inferences/executions is the achieved batch size.")
        for n in names { out += "unirt_executions_total{model=\"\(label(n))\"} \(all[n]!.executions)\n" }
        func histogram(_ metric: String, _ help: String, _ pick: (Model) -> Histogram) {
            header(metric, "histogram", help)
            for n in names {
                let h = pick(all[n]!)
                var cumulative: UInt64 = 0
                for (i, b) in h.bounds.enumerated() {
                    cumulative += h.counts[i]
                    out += "\(metric)_bucket{model=\"\(label(n))\",le=\"\(num(b))\"} \(cumulative)\n"
                }
                out += "\(metric)_bucket{model=\"\(label(n))\",le=\"+Inf\"} \(h.total)\n"
                out += "\(metric)_sum{model=\"\(label(n))\"} \(h.sum)\n"
                out += "\(metric)_count{model=\"\(label(n))\"} \(h.total)\n"
            }
        }
        histogram("unirt_queue_duration_seconds", "Time requests spent queued.", \.queue)
        histogram("unirt_compute_duration_seconds", "Time of the batched run each request was part of.", \.compute)
        histogram("unirt_batch_size", "Items per batched run.", \.batch)
        header("unirt_queue_depth", "gauge", "Requests waiting in the queue.")
        for n in names { out += "unirt_queue_depth{model=\"\(label(n))\"} \(all[n]!.queueDepth)\n" }
        header("unirt_inflight_requests", "gauge", "Requests queued or computing.")
        for n in names { out += "unirt_inflight_requests{model=\"\(label(n))\"} \(all[n]!.inflight)\n" }
        func byDevice(_ metric: String, _ type: String, _ help: String, _ pick: (Model) -> [String: UInt64]) {
            header(metric, type, help)
            for n in names {
                for (device, v) in pick(all[n]!).sorted(by: { $0.key < $1.key }) {
                    out += "\(metric){model=\"\(label(n))\",device=\"\(device)\"} \(v)\n"
                }
            }
        }
        byDevice("unirt_model_instances", "gauge", "Instances of a model by device (cpu, gpu0, …).") {
            $0.instances.mapValues { UInt64($0) }
        }
        byDevice("unirt_instance_executions_total", "counter", "Batched runs by the device of the instance that ran them.") {
            $0.deviceExecutions
        }
        byDevice("unirt_instance_inferences_total", "counter", "Items computed by the device of the instance that ran them.") {
            $0.deviceInferences
        }
        if !devices.isEmpty {
            header("unirt_gpu_memory_used_bytes", "gauge", "GPU memory in use (total minus free, all processes), by GPU ordinal.")
            for d in devices { out += "unirt_gpu_memory_used_bytes{gpu=\"\(d.ordinal)\",name=\"\(label(d.name))\"} \(d.memoryUsedBytes)\n" }
            header("unirt_gpu_memory_total_bytes", "gauge", "GPU memory size, by GPU ordinal.")
            for d in devices { out += "unirt_gpu_memory_total_bytes{gpu=\"\(d.ordinal)\",name=\"\(label(d.name))\"} \(d.memoryTotalBytes)\n" }
            let busy = devices.filter { $0.utilization != nil }
            if !busy.isEmpty {
                header("unirt_gpu_utilization_ratio", "gauge", "Share of the last sample period in which a kernel ran (NVML), by GPU ordinal.")
                for d in busy { out += "unirt_gpu_utilization_ratio{gpu=\"\(d.ordinal)\",name=\"\(label(d.name))\"} \(d.utilization!)\n" }
            }
        }
        header("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
        out += "process_resident_memory_bytes \(Self.residentMemoryBytes())\n"
        return out
    }

    /// Resident set size from /proc/self/statm (0 where unavailable).
    public static func residentMemoryBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// One GPU's memory and utilization at render time.
public struct DeviceStatistics: Sendable, Equatable {
    /// Driver ordinal.
    public var ordinal: Int
    public var name: String
    /// Bytes in use on the device by every process (total minus free).
    public var memoryUsedBytes: Int
    public var memoryTotalBytes: Int
    /// Share of time a kernel ran over the driver's last sample period (0...1); nil where NVML is missing.
    public var utilization: Double?

    public init(ordinal: Int, name: String, memoryUsedBytes: Int, memoryTotalBytes: Int, utilization: Double?) {
        self.ordinal = ordinal
        self.name = name
        self.memoryUsedBytes = memoryUsedBytes
        self.memoryTotalBytes = memoryTotalBytes
        self.utilization = utilization
    }
}

/// Totals of one model (the Stats RPC).
public struct ModelStatistics: Sendable, Equatable {
    public var name: String
    public var requests: UInt64
    public var inferences: UInt64
    public var executions: UInt64
    /// Summed over requests, in seconds.
    public var queueSeconds: Double
    /// Summed over requests, in seconds.
    public var computeSeconds: Double
    public var queueDepth: Int
    public var inflight: Int

    public init(name: String, requests: UInt64, inferences: UInt64, executions: UInt64, queueSeconds: Double,
                computeSeconds: Double, queueDepth: Int, inflight: Int) {
        self.name = name
        self.requests = requests
        self.inferences = inferences
        self.executions = executions
        self.queueSeconds = queueSeconds
        self.computeSeconds = computeSeconds
        self.queueDepth = queueDepth
        self.inflight = inflight
    }
}
