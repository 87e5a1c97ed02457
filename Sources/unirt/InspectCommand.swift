import ArgumentParser
import Foundation
import UnirtCUDA
import UnirtIR
import UnirtONNX
import UnirtPlan
import UnirtRuntime

/// `unirt inspect`: what a model takes, gives and is made of.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a model's inputs, outputs, opsets, producer and operator histogram.")

    @Argument(help: "Model file (.onnx) or plan.")
    var model: String

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Option(name: .long, help: "Show shapes at batch N.")
    var batch: Int?

    @Flag(name: .long, help: "Plan execution (optimized): activation arena size, kernel per node.")
    var plan = false

    @Option(name: .long, help: "Shape for an input with symbolic dimensions, as NAME=1,3,512,512 (with --plan).")
    var shape: [String] = []

    @OptionGroup var optimization: OptimizationOptions

    struct Report: Codable {
        struct Value: Codable {
            var name: String
            var dtype: String
            var shape: [String]?
        }
        var model: String
        var producer: String
        var irVersion: Int
        var opsets: [String: Int]
        var inputs: [Value]
        var outputs: [Value]
        var defaultedInputs: Int
        var unusedInputs: Int
        var nodesInFile: Int
        var nodesAfterFolding: Int
        var weightBytes: Int
        var ops: [String: Int]
        var plan: Provenance?
        var activationScales: Int?
        /// GPU plans: the compiled kernel images stored in the plan.
        var gpuKernels: [Kernels]?

        struct Kernels: Codable {
            var architecture: String
            var bytes: Int
            var sourceSHA256: String
            /// Whether it was compiled from this unirt's kernel source (else the GPU compiles them on load).
            var current: Bool
        }
    }

    func run() throws {
        try optimization.checkArguments()
        let loaded = try ModelLoading.loadModel(model, batch: batch)
        let graph = loaded.graph
        func value(_ d: ValueDecl) -> Report.Value {
            Report.Value(name: d.name, dtype: d.dtype.rawValue, shape: d.dims?.map(\.description))
        }
        let fileOps = loaded.onnx?.fileOpHistogram ?? graph.opHistogram
        let report = Report(
            model: model, producer: graph.producer, irVersion: loaded.onnx?.irVersion ?? 0,
            opsets: loaded.onnx?.opsets ?? graph.opsets,
            inputs: graph.inputs.map(value), outputs: graph.outputs.map(value),
            defaultedInputs: graph.defaultedInputs.count, unusedInputs: graph.unusedInputs.count,
            nodesInFile: fileOps.reduce(0) { $0 + $1.1 },
            nodesAfterFolding: graph.nodes.count, weightBytes: graph.weightBytes,
            ops: Dictionary(uniqueKeysWithValues: fileOps.map { ($0.0, $0.1) }),
            plan: loaded.plan?.provenance, activationScales: loaded.plan.map { $0.activationScales.count },
            gpuKernels: loaded.plan.flatMap { p in
                p.kernelImages.isEmpty ? nil : p.kernelImages.map {
                    Report.Kernels(architecture: $0.architecture, bytes: $0.bytes.count, sourceSHA256: $0.sourceSHA256,
                                   current: $0.sourceSHA256 == CUDAModule.sourceSHA256)
                }
            })
        if plan {
            try printPlan(graph)
            return
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            enc.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        print("model:      \(model)")
        print("producer:   \(graph.producer.isEmpty ? "(none)" : graph.producer)")
        let opsetText = report.opsets.sorted { $0.key < $1.key }.map { "\($0.key.isEmpty ? "ai.onnx" : $0.key) \($0.value)" }
        if let p = loaded.plan?.provenance {
            print("plan:       \(p.precision) plan of \(p.sourceName) (sha256 \(p.sourceSHA256.prefix(16))…), unirt \(p.unirtVersion)")
            print("built for:  \(p.arch)\(p.requiredCPUFeatures.isEmpty ? "" : " with " + p.requiredCPUFeatures.joined(separator: ", "))\(p.gpuArch.map { ", GPU sm \($0)" } ?? "")\(p.batch.map { ", batch \($0)" } ?? "")")
            print("built:      \(p.createdAt) by: \(p.buildCommand)")
            for k in report.gpuKernels ?? [] {
                print("kernels:    \(k.architecture) CUBIN, \(formatBytes(k.bytes)) (source sha256 \(k.sourceSHA256.prefix(16))…"
                      + (k.current ? ", loaded instead of compiling)" : ", from another unirt: compiled again on load)"))
            }
            for t in loaded.plan?.gpuTactics ?? [] {
                print("tactics:    \(t.entries.count) timed choices (kernel variants, cuDNN algorithms) for \(t.device)")
            }
            print("optimizer:  \(p.optimization)")
            if let m = p.calibrationMethod {
                print("calibrated: \(m)\(p.calibrationSHA256.map { ", data sha256 \($0.prefix(16))…" } ?? "") — \(loaded.plan!.activationScales.count) activation scales")
            }
            if let t = p.accuracyTarget { print("accuracy:   target \(t), achieved \(p.accuracyAchieved ?? "?")") }
            let counts = Dictionary(grouping: p.layerPrecision.values, by: { $0 }).mapValues(\.count)
            print("precision:  " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            let timings = p.int8SpeedCheck?.layers ?? [:]
            for (name, prec) in p.layerPrecision.sorted(by: { $0.key < $1.key }) where prec != p.precision && timings[name] == nil {
                print("  \(name): \(prec)")
            }
            if let sc = p.int8SpeedCheck {
                print("speed:      timed at build, \(sc.threads) threads: plan \(formatMs(sc.planMs)), all fp32 \(formatMs(sc.fp32Ms)), "
                      + "every accuracy-allowed layer in int8 \(formatMs(sc.allInt8Ms))")
                for (name, t) in timings.sorted(by: { $0.key < $1.key }) {
                    print("  \(name): \(p.layerPrecision[name] ?? "fp32") (\(Int8SpeedChecker.describe(t)))")
                }
            }
            let sevenBit = loaded.plan!.graph.nodes.filter { (try? $0.int("weight_levels", default: 127)) == 63 }.count
            if sevenBit > 0 { print("weights:    7-bit (-63...63) in \(sevenBit) int8 layer(s), for AVX2 without VNNI") }
        } else {
            print("ir version: \(report.irVersion); opsets: \(opsetText.joined(separator: ", "))")
        }
        print("inputs:")
        for d in graph.inputs { print("  \(d.name)  \(d.dtype.rawValue)\(d.shapeDescription)") }
        if !graph.defaultedInputs.isEmpty {
            print("  (+\(graph.defaultedInputs.count) inputs with initializer defaults, folded as constants)")
        }
        if !graph.unusedInputs.isEmpty {
            print("  (+\(graph.unusedInputs.count) declared inputs that no node reads, ignored)")
        }
        print("outputs:")
        for d in graph.outputs { print("  \(d.name)  \(d.dtype.rawValue)\(d.shapeDescription)") }
        print("nodes:      \(report.nodesInFile) in file, \(report.nodesAfterFolding) after constant folding")
        print("weights:    \(report.weightBytes) bytes")
        print("ops:")
        for (op, n) in fileOps { print("  \(op.padding(toLength: max(op.count, 22), withPad: " ", startingAt: 0)) \(n)") }
    }

    /// Specializes the optimized graph at its declared shapes and prints the execution plan.
    func printPlan(_ graph: Graph) throws {
        let optimized = try optimization.apply(to: graph)
        let given = try ModelLoading.shapes(shape)
        var shapes: [String: [Int]] = [:]
        for d in optimized.inputs {
            if let s = given[d.name] { shapes[d.name] = s; continue }
            shapes[d.name] = try (d.dims ?? []).map { dim in
                guard let v = dim.fixedValue else {
                    throw CLIError("input '\(d.name)' has symbolic dimension '\(dim)'; give --shape \(d.name)=…")
                }
                return v
            }
        }
        let p = try Session(graph: optimized).plan(for: shapes)
        let byKernel = Dictionary(grouping: p.kernelChoices, by: \.kernel).mapValues(\.count)
        if json {
            struct PlanReport: Codable {
                var peakActivationBytes: Int
                var nodes: [[String: String]]
            }
            let r = PlanReport(peakActivationBytes: p.peakActivationBytes,
                               nodes: p.kernelChoices.map { ["name": $0.node, "op": $0.op, "kernel": $0.kernel] })
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            enc.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try enc.encode(r), as: UTF8.self))
            return
        }
        print("inputs:          " + shapes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        print("nodes:           \(optimized.nodes.count) after optimization (\(graph.nodes.count) before)")
        print("peak activations: \(formatBytes(p.peakActivationBytes)) in one arena (planned by liveness)")
        print("kernels:         " + byKernel.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        for k in p.kernelChoices {
            print("  \(k.node.padding(toLength: max(k.node.count, 36), withPad: " ", startingAt: 0)) \(k.op.padding(toLength: 22, withPad: " ", startingAt: 0)) \(k.kernel)")
        }
    }
}
