import ArgumentParser
import Foundation
import UnirtIR
import UnirtRuntime

/// `unirt bench`: latency percentiles, throughput and memory of one model.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure latency (p50/p90/p99), throughput and memory of a model on the CPU or a GPU.")

    @Argument(help: "Model file (.onnx or plan).")
    var model: String

    @Option(name: .long, help: "Run on cpu or cuda (default: cuda for plans built with --device cuda, else cpu). On the GPU a run includes the host copies.")
    var device: ComputeDevice?

    @Option(name: .long, help: "GPU ordinal (cuda).")
    var gpu: Int = 0

    @Option(name: .long, help: "Batch size (overrides the exported batch dimension).")
    var batch: Int?

    @Option(name: .long, help: "Threads for unirt's kernels and OpenBLAS (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Timed iterations.")
    var iterations: Int = 50

    @Option(name: .long, help: "Untimed warm-up iterations.")
    var warmup: Int = 5

    @Option(name: .customLong("warmup-ms"),
            help: ArgumentHelp("Keep warming up until this many milliseconds have passed, too.",
                               discussion: "Like trtexec's warm-up time: short runs otherwise include start-up effects (first-touch page faults, cold caches, clock ramp-up)."))
    var warmupMilliseconds: Int = 200

    @Option(name: .long, help: "An input tensor as NAME=FILE.npy; inputs not given get seeded random data.")
    var input: [String] = []

    @Option(name: .long, help: "Shape for an input with symbolic dimensions, as NAME=1,3,512,512.")
    var shape: [String] = []

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    @Flag(name: .long, help: "Show where time goes, per operator and per node.")
    var profile = false

    @OptionGroup var optimization: OptimizationOptions

    /// Checked in `run` rather than `validate`: ArgumentParser wraps what `validate`
    /// throws, so it would not reach the one-line error report.
    func checkArguments() throws {
        guard iterations >= 1 else { throw CLIError("--iterations must be at least 1") }
        guard warmup >= 0 else { throw CLIError("--warmup must not be negative") }
        guard warmupMilliseconds >= 0 else { throw CLIError("--warmup-ms must not be negative") }
        guard threads >= 1 else { throw CLIError("--threads must be at least 1") }
        try optimization.checkArguments()
    }

    func run() throws {
        try checkArguments()
        let loaded = try ModelLoading.loadModel(model, batch: batch)
        let graph = try optimization.apply(to: loaded.graph)
        var inputs = try ModelLoading.inputs(input)
        let shapes = try ModelLoading.shapes(shape)
        var rng = SplitMix(seed: 0x5eed)
        for decl in graph.inputs where inputs[decl.name] == nil {
            var dims: [Int]
            if let s = shapes[decl.name] {
                dims = s
            } else if let declared = decl.dims {
                dims = try declared.enumerated().map { i, d in
                    if let f = d.fixedValue { return f }
                    if i == 0 { return batch ?? 1 }
                    throw CLIError("input '\(decl.name)' has symbolic dimension '\(d)'; give --shape \(decl.name)=…")
                }
            } else {
                throw CLIError("input '\(decl.name)' has no declared shape; give --shape \(decl.name)=…")
            }
            if let batch, !dims.isEmpty, shapes[decl.name] == nil { dims[0] = batch }
            inputs[decl.name] = rng.tensor(dtype: decl.dtype, shape: dims)
        }
        let feed = inputs.filter { name, _ in graph.inputs.contains { $0.name == name } }
        let itemsPerRun = graph.inputs.first.flatMap { feed[$0.name]?.shape.first } ?? 1
        // One run, and what the result reports about the plan: CPU execution plan or GPU plan.
        let runOnce: () throws -> Void
        let activationBytes: Int, nodes: Int, referenceNodes: Int
        var prof = ExecutionPlan.Profile()
        let onGPU = GPUPlans.device(for: loaded, requested: device) == .cuda
        var gpuKernels = ""
        if onGPU {
            try Session(graph: graph, threads: 1).validate(inputs)
            let plan = try GPUPlans.plan(graph, inputs: feed, precision: try GPUPlans.precision(for: loaded),
                                         device: try GPUPlans.device(gpu))
            gpuKernels = plan.module.origin.description
                + "; tactics: \(plan.tacticsReused) from the plan, \(plan.tacticsTimed) timed"
            runOnce = { _ = try plan.execute(feed) }
            (activationBytes, nodes, referenceNodes) = (plan.arenaBytes, plan.kernelChoices.count, 0)
        } else {
            let plan = try Session(graph: graph, threads: threads).plan(for: inputs)
            let profiling = profile
            runOnce = {
                if profiling {
                    _ = withUnsafeMutablePointer(to: &prof) { plan.execute(feed, profile: $0) }
                } else {
                    _ = plan.execute(feed)
                }
            }
            (activationBytes, nodes, referenceNodes) = (plan.peakActivationBytes, plan.kernelChoices.count,
                                                        plan.kernelChoices.filter { $0.kernel == "reference" }.count)
        }

        let warmStart = ContinuousClock.now
        var warmRuns = 0
        while warmRuns < warmup || ContinuousClock.now - warmStart < .milliseconds(warmupMilliseconds) {
            try runOnce()
            warmRuns += 1
        }
        prof = ExecutionPlan.Profile()  // the profile covers the timed runs only
        var times: [Double] = []
        let progress = ProgressBar(total: iterations, enabled: !json && isatty(2) != 0)
        let start = ContinuousClock.now
        for i in 0..<iterations {
            let t0 = ContinuousClock.now
            try runOnce()
            times.append((ContinuousClock.now - t0).seconds)
            progress.update(i + 1, elapsed: (ContinuousClock.now - start).seconds)
        }
        progress.finish()
        let sorted = times.sorted()
        func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((p / 100 * Double(sorted.count - 1)).rounded()))] * 1000 }
        let mean = times.reduce(0, +) / Double(times.count)
        let result = BenchResult(model: model, batch: itemsPerRun, threads: threads, iterations: iterations,
                                 p50_ms: pct(50), p90_ms: pct(90), p99_ms: pct(99), mean_ms: mean * 1000,
                                 throughput_per_s: Double(itemsPerRun) / mean,
                                 peak_activation_bytes: activationBytes, peak_rss_bytes: peakRSS(),
                                 nodes: nodes, reference_nodes: referenceNodes)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } else {
            print("model:        \(model)")
            print("batch:        \(itemsPerRun)   \(onGPU ? "device: GPU \(gpu)" : "threads: \(threads)")   iterations: \(iterations) (+\(warmRuns) warm-up)")
            print(String(format: "latency:      p50 %.3f ms   p90 %.3f ms   p99 %.3f ms   mean %.3f ms",
                         result.p50_ms, result.p90_ms, result.p99_ms, result.mean_ms))
            print(String(format: "throughput:   %.1f items/s", result.throughput_per_s))
            print("memory:       peak activations \(formatBytes(result.peak_activation_bytes)), peak RSS \(formatBytes(result.peak_rss_bytes))")
            print("kernels:      \(result.nodes) nodes, \(result.reference_nodes) on reference kernels"
                  + (gpuKernels.isEmpty ? "" : "; GPU kernels \(gpuKernels)"))
        }
        if profile && !onGPU { printProfile(prof, iterations: iterations) }
    }

    func printProfile(_ prof: ExecutionPlan.Profile, iterations: Int) {
        var byOp: [String: Double] = [:]
        var byNode: [String: (String, String, Double)] = [:]
        for e in prof.seconds {
            byOp["\(e.op) [\(e.kernel)]", default: 0] += e.seconds
            let prev = byNode[e.node]?.2 ?? 0
            byNode[e.node] = (e.op, e.kernel, prev + e.seconds)
        }
        let total = byOp.values.reduce(0, +)
        print("\nper operator (ms per run, share):")
        for (op, s) in byOp.sorted(by: { $0.value > $1.value }) {
            print(String(format: "  %-34@ %9.3f  %5.1f%%", op as NSString, s * 1000 / Double(iterations), 100 * s / total))
        }
        print("\nslowest nodes (ms per run):")
        for (name, v) in byNode.sorted(by: { $0.value.2 > $1.value.2 }).prefix(15) {
            print(String(format: "  %-40@ %-20@ %9.3f", name as NSString, "\(v.0) [\(v.1)]" as NSString, v.2 * 1000 / Double(iterations)))
        }
    }
}

/// What `unirt bench --json` prints.
struct BenchResult: Codable {
    var model: String
    var batch: Int
    var threads: Int
    var iterations: Int
    var p50_ms: Double
    var p90_ms: Double
    var p99_ms: Double
    var mean_ms: Double
    var throughput_per_s: Double
    var peak_activation_bytes: Int
    var peak_rss_bytes: Int
    var nodes: Int
    var reference_nodes: Int
}

/// Peak resident set size of this process, in bytes: VmHWM where /proc has
/// it (Linux's ru_maxrss also counts the parent's peak when a large process
/// spawned this one), else ru_maxrss.
func peakRSS() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
        return kib * 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024
}

func formatBytes(_ n: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return String(format: u == 0 ? "%.0f %@" : "%.1f %@", v, units[u])
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// A one-line progress bar on stderr, shown only after the run has taken a second.
final class ProgressBar {
    let total: Int
    let enabled: Bool
    var shown = false

    init(total: Int, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int, elapsed: Double) {
        guard enabled, elapsed > 1 else { return }
        shown = true
        let width = 30
        let filled = width * done / max(total, 1)
        let eta = elapsed / Double(done) * Double(total - done)
        let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + "] \(done)/\(total)  eta \(Int(eta.rounded()))s "
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// Seeded random inputs (SplitMix64), so runs are comparable.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func tensor(dtype: DType, shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        if dtype.isFloating {
            return Tensor(shape: shape, floats: (0..<n).map { _ in Float(next() >> 40) / Float(1 << 24) }, dtype: dtype)
        }
        return Tensor(shape: shape, ints: (0..<n).map { _ in Int64(next() % 2) }, dtype: dtype)
    }
}
