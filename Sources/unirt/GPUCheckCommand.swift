import ArgumentParser
import Foundation
import UnirtCUDA
import UnirtIR
import UnirtRuntime

/// `unirt gpu-check`: runs models on the GPU and compares them with reference outputs.
///
/// Each `--case MODEL=REFDIR` names an ONNX file and a folder holding `in/<input>.npy`
/// and `ref/<output>.npy` (as written by scripts/make-refs). FP32 plans must be within
/// `--fp32-tolerance` relative L2 error of every reference output; FP16 plans are
/// reported with their relative error and cosine similarity (checked against
/// `--fp16-cosine` for outputs named in `--embedding`). INT8 runs need an int8 plan
/// as the case's model (`unirt build --device cuda --precision int8`): each output is
/// compared with the reference (`--int8-cosine` on embeddings) and with the same
/// int8 graph run on the CPU (`--int8-parity-cosine` on embeddings).
struct GPUCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-check",
        abstract: "Check GPU plans against reference outputs and time them (needs a GPU).")

    @Option(name: .long, help: "A model and its reference folder, as MODEL.onnx=REFDIR (repeatable).")
    var `case`: [String] = []

    @Option(name: .long, help: "Precisions to check.")
    var precision: [String] = ["fp32", "fp16"]

    @Option(name: .long, help: "Largest relative L2 error allowed for FP32 plans.")
    var fp32Tolerance: Double = 1e-3

    @Option(name: .long, help: "Smallest cosine similarity allowed for FP16 plans on embedding outputs.")
    var fp16Cosine: Double = 0.9999

    @Option(name: .long, help: "Smallest cosine similarity allowed for INT8 plans on embedding outputs against the FP32 reference.")
    var int8Cosine: Double = 0.99

    @Option(name: .long, help: "Smallest per-sample cosine similarity allowed for INT8 plans on embedding outputs of several samples.")
    var int8MinCosine: Double = 0.98

    @Option(name: .long, help: "Smallest cosine similarity allowed between an INT8 GPU plan and the same int8 graph on the CPU (embeddings).")
    var int8ParityCosine: Double = 0.995

    @Option(name: .long, help: "Output names checked by cosine similarity in FP16 (repeatable).")
    var embedding: [String] = ["fc1"]

    @Option(name: .long, help: "Timed replays per plan.")
    var iterations: Int = 50

    @Option(name: .long, help: "GPU ordinal.")
    var gpu: Int = 0

    @Flag(name: .long, help: "Run steps one by one instead of replaying a CUDA graph.")
    var noGraph = false

    @Option(name: .long, help: "Activation layout of FP16 plans: auto, nchw or nhwc.")
    var layout: String = "auto"

    @OptionGroup var optimization: OptimizationOptions

    func run() throws {
        guard let layout = CUDALayout(rawValue: layout) else { throw CLIError("--layout '\(self.layout)': expected auto, nchw or nhwc") }
        let device: CUDADevice
        do { device = try CUDADevice.device(gpu) } catch let e as CUDAError {
            print("SKIP gpu-check: GPU backend unavailable: \(e.message)")
            return
        }
        print("device: \(device.name), sm_\(device.computeCapability.major)\(device.computeCapability.minor)")
        var failures = 0
        for spec in self.case {
            guard let eq = spec.firstIndex(of: "=") else { throw CLIError("--case '\(spec)': expected MODEL.onnx=REFDIR") }
            let model = String(spec[..<eq]), refDir = String(spec[spec.index(after: eq)...])
            let (_, loaded) = try ModelLoading.load(model, batch: nil)
            let graph = try optimization.apply(to: loaded)
            var inputs: [String: Tensor] = [:]
            for decl in graph.inputs {
                inputs[decl.name] = try Tensor(npyFile: "\(refDir)/in/\(ModelLoading.fileName(for: decl.name)).npy")
            }
            let spec = try graph.specialized(inputShapes: inputs.mapValues(\.shape))
            let int8Graph = graph.nodes.contains { $0.op == .fusedConv && FusedConvOp.inputScale($0) != nil }
            for p in precision {
                guard let prec = CUDAPrecision(rawValue: p) else { throw CLIError("--precision '\(p)': expected fp32, fp16 or int8") }
                let label = "\((model as NSString).lastPathComponent) \(p)"
                guard (prec == .int8) == int8Graph else {
                    print("SKIP \(label): \(int8Graph ? "an int8 plan runs as int8 only" : "int8 needs an int8 plan (unirt build --device cuda --precision int8)")")
                    continue
                }
                // The same int8 graph on the CPU, for parity of the int8 kernels.
                let cpuOutputs = prec == .int8 ? try Session(graph: graph, threads: 0).run(inputs) : [:]
                let plan: CUDAPlan
                let t0 = Date()
                do {
                    plan = try CUDAPlan(spec, device: device, precision: prec, useGraph: !noGraph, layout: layout)
                } catch let e as CUDAError {
                    print("FAIL \(label): \(e.message)")
                    failures += 1
                    continue
                }
                let buildSeconds = Date().timeIntervalSince(t0)
                let outputs = try plan.execute(inputs)
                var ok = true
                var parts: [String] = []
                for out in graph.outputs {
                    let refPath = "\(refDir)/ref/\(ModelLoading.fileName(for: out.name)).npy"
                    guard FileManager.default.fileExists(atPath: refPath), let got = outputs[out.name] else { continue }
                    let ref = try Tensor(npyFile: refPath)
                    let (rel, cos) = Self.compare(got.floats, ref.floats)
                    let isEmbedding = embedding.contains(out.name)
                    var pass: Bool
                    switch prec {
                    case .fp32: pass = rel <= fp32Tolerance
                    case .fp16: pass = isEmbedding ? cos >= fp16Cosine : true
                    case .int8: pass = isEmbedding ? cos >= int8Cosine : true
                    }
                    var rowsPart = ""
                    if isEmbedding, ref.shape.count == 2, ref.shape[0] > 1, got.count == ref.count {
                        // One embedding per sample: the mean and worst per-sample cosine.
                        let d = ref.shape[1]
                        let rows = (0..<ref.shape[0]).map { i in
                            Self.compare(Array(got.floats[i * d..<(i + 1) * d]), Array(ref.floats[i * d..<(i + 1) * d])).1
                        }
                        let mean = rows.reduce(0, +) / Double(rows.count), worst = rows.min()!
                        if prec == .int8 { pass = mean >= int8Cosine && worst >= int8MinCosine }
                        rowsPart = String(format: " per-sample cos mean %.6f min %.6f (%d samples)", mean, worst, rows.count)
                    }
                    var cpuPart = ""
                    if let cpu = cpuOutputs[out.name] {
                        let (crel, ccos) = Self.compare(got.floats, cpu.floats)
                        if isEmbedding && ccos < int8ParityCosine { pass = false }
                        cpuPart = String(format: " (vs CPU int8: rel %.2e cos %.6f)", crel, ccos)
                    }
                    if !pass { ok = false }
                    parts.append("\(out.name) rel \(String(format: "%.2e", rel)) cos \(String(format: "%.6f", cos))\(rowsPart)\(cpuPart)\(pass ? "" : " (over bar)")")
                }
                let ms = try plan.timeCompute(iterations: iterations) * 1000
                if !ok { failures += 1 }
                print("\(ok ? "PASS" : "FAIL") \(label): \(String(format: "%.3f", ms)) ms/run (graph: \(plan.usesGraph ? "yes" : "no: \(plan.graphNote ?? "")")), build \(String(format: "%.1f", buildSeconds)) s, arena \(plan.arenaBytes >> 10) KiB, \(plan.usesNHWC ? "NHWC, \(plan.layoutConversions) layout conversion(s)" : "NCHW")")
                print("    " + parts.joined(separator: "; "))
                var kinds: [String: Int] = [:]
                for c in plan.kernelChoices {
                    // "cudnn algo 1, 0.012 ms + epilogue" → "cudnn + epilogue"; sizes and timings dropped.
                    let words = c.kernel.split(separator: " ")
                    let key = words.first.map(String.init).map { w in
                        w == "cudnn" ? (words.dropFirst().first == "fused" ? "cudnn fused" : "cudnn") + (c.kernel.hasSuffix("epilogue") ? " + epilogue" : "") : w
                    } ?? c.kernel
                    kinds[key, default: 0] += 1
                }
                print("    kernels: " + kinds.sorted { $0.value > $1.value }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// Relative L2 error ‖a − b‖ / ‖b‖ and cosine similarity of two vectors.
    static func compare(_ a: [Float], _ b: [Float]) -> (Double, Double) {
        var d = 0.0, nb = 0.0, na = 0.0, dot = 0.0
        for i in 0..<min(a.count, b.count) {
            let x = Double(a[i]), y = Double(b[i])
            if !x.isFinite { return (.infinity, 0) }
            d += (x - y) * (x - y); nb += y * y; na += x * x; dot += x * y
        }
        return ((d / max(nb, 1e-30)).squareRoot(), dot / max((na * nb).squareRoot(), 1e-30))
    }
}

/// `unirt gpu-bench`: GPU compute time of a model at several batch sizes and precisions.
struct GPUBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpu-bench",
        abstract: "Time a model's GPU plans (CUDA graph replays) at several batch sizes (needs a GPU).")

    @Argument(help: "Model file (.onnx).")
    var model: String

    @Option(name: .long, parsing: .upToNextOption, help: "Batch sizes.")
    var batch: [Int] = [1, 8, 32, 128]

    @Option(name: .long, parsing: .upToNextOption, help: "Precisions.")
    var precision: [String] = ["fp32", "fp16"]

    @Option(name: .long, help: "Timed replays per plan.")
    var iterations: Int = 100

    @Option(name: .long, help: "GPU ordinal.")
    var gpu: Int = 0

    @Flag(name: .long, help: "Print JSON lines.")
    var json = false

    @Option(name: .long, parsing: .upToNextOption, help: "Activation layouts of FP16 plans (auto, nchw, nhwc).")
    var layout: [String] = ["auto"]

    @Flag(name: .long, help: "Also time every step alone and print where the time goes.")
    var profile = false

    @Option(name: .long, help: "Int8 plan of the same model (unirt build --precision int8), timed for --precision int8 at each batch size.")
    var int8Plan: String?

    @OptionGroup var optimization: OptimizationOptions

    func run() throws {
        if precision.contains("int8") && int8Plan == nil {
            throw CLIError("--precision int8: give the model's int8 plan with --int8-plan PLAN (unirt build --device cuda --precision int8)")
        }
        let layouts = try layout.map { l in
            guard let v = CUDALayout(rawValue: l) else { throw CLIError("--layout '\(l)': expected auto, nchw or nhwc") }
            return v
        }
        let device: CUDADevice
        do { device = try CUDADevice.device(gpu) } catch let e as CUDAError {
            print("SKIP gpu-bench: GPU backend unavailable: \(e.message)")
            return
        }
        for b in batch {
            let (_, loaded) = try ModelLoading.load(model, batch: b)
            let graph = try optimization.apply(to: loaded)
            let spec = try graph.specialized()
            var inputs: [String: Tensor] = [:]
            var rng = SystemRandomNumberGenerator()
            for decl in graph.inputs {
                let shape = spec.inputShapes[decl.name] ?? []
                inputs[decl.name] = Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) })
            }
            for p in precision {
                guard let prec = CUDAPrecision(rawValue: p) else { throw CLIError("--precision '\(p)': expected fp32, fp16 or int8") }
                var planSpec = spec
                if prec == .int8, let int8Plan {
                    planSpec = try optimization.apply(to: try ModelLoading.load(int8Plan, batch: b).1).specialized()
                }
                for lay in prec == .fp16 ? layouts : [prec == .int8 ? .auto : .nchw] {
                    let plan = try CUDAPlan(planSpec, device: device, precision: prec, layout: lay)
                    let start = Date()
                    _ = try plan.execute(inputs)
                    let hostMs = Date().timeIntervalSince(start) * 1000
                    let ms = try plan.timeCompute(iterations: iterations) * 1000
                    let layoutName = plan.usesNHWC ? "nhwc" : "nchw"
                    if json {
                        print("{\"engine\": \"unirt\", \"precision\": \"\(p)\", \"layout\": \"\(layoutName)\", \"batch\": \(b), \"ms\": \(ms), \"host_latency_ms\": \(hostMs), \"graph\": \(plan.usesGraph), \"steps\": \(plan.stepCount)}")
                    } else {
                        print("unirt \(p) \(layoutName) batch \(b): \(String(format: "%.3f", ms)) ms (\(String(format: "%.0f", Double(b) / ms * 1000)) img/s), host latency \(String(format: "%.3f", hostMs)) ms, \(plan.stepCount) steps")
                    }
                    if profile { try Self.printProfile(plan, label: "\(p) \(layoutName) batch \(b)") }
                }
            }
        }
    }

    /// Prints the steps' times grouped by what runs them, then the slowest steps.
    static func printProfile(_ plan: CUDAPlan, label: String) throws {
        let rows = try plan.profileSteps(iterations: 20)
        let total = rows.reduce(0) { $0 + $1.ms }
        var byKind: [String: (ms: Double, count: Int)] = [:]
        for r in rows {
            let kind = r.label.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? r.label
            byKind[kind, default: (0, 0)].ms += r.ms
            byKind[kind, default: (0, 0)].count += 1
        }
        print("profile \(label): \(rows.count) steps, \(String(format: "%.3f", total)) ms summed one by one")
        for (k, v) in byKind.sorted(by: { $0.value.ms > $1.value.ms }) {
            print("    \(k) ×\(v.count): \(String(format: "%.3f", v.ms)) ms")
        }
        for r in rows.sorted(by: { $0.ms > $1.ms }).prefix(12) {
            print("    slow: \(r.label) \(String(format: "%.4f", r.ms)) ms")
        }
        for c in plan.kernelChoices where c.kernel.contains("ms;") {
            print("    tactic: \(c.node): \(c.kernel)")
        }
    }
}
