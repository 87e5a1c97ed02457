import ArgumentParser
import Foundation
import UnirtCUDA
import UnirtIR
import UnirtONNX
import UnirtPlan
import UnirtRuntime

/// `unirt build`: an optimized FP32/FP16/INT8 plan from an ONNX model.
struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an optimized plan (fp32, fp16 or int8) from an ONNX model.",
        discussion: """
            With --device cuda the graph is compiled once on the GPU to check that it runs there, \
            and the plan records the GPU's compute capability and the CUDA library versions; other machines \
            refuse it with the command that rebuilds it. `unirt run`, `unirt bench` and unirtd run such plans on the GPU.
            """)

    enum Precision: String, ExpressibleByArgument, CaseIterable {
        case fp32, fp16, int8
    }

    @Argument(help: "Source model (.onnx).")
    var model: String

    @Option(name: .shortAndLong, help: "Plan file to write.")
    var output: String

    @Option(name: .long, help: "Precision: fp32, fp16 or int8.")
    var precision: Precision = .fp32

    @Option(name: .long, help: "Build at batch N (overrides the exported batch dimension).")
    var batch: Int?

    @Option(name: .long, help: "Target device: cpu or cuda.")
    var device: ComputeDevice = .cpu

    @Option(name: .long, help: "GPU ordinal the plan is built and checked on (--device cuda).")
    var gpu: Int = 0

    @OptionGroup var optimization: OptimizationOptions

    @OptionGroup var calibration: CalibrationOptions

    func run() throws {
        guard let data = FileManager.default.contents(atPath: model) else {
            throw CLIError("\(model): cannot read file")
        }
        var gpuDevice: CUDADevice?
        if device == .cuda {
            gpuDevice = try GPUPlans.device(gpu)
        }
        let onnx = try ONNXModel(data: data, label: model)
        var graph = onnx.graph
        if let batch { graph = try graph.overridingBatch(batch) }
        let unoptimized = graph
        graph = try optimization.apply(to: graph)

        var layerPrecision: [String: String] = [:]
        var encodings: [String: WeightEncoding] = [:]
        var scales: [String: Float] = [:]
        var calibrationMethod: String? = nil
        var calibrationHash: String? = nil
        var achieved: String? = nil
        var speedCheck: Int8SpeedCheck? = nil
        var required: [String] = []
        let computeOps: Set<OpKind> = [.conv, .fusedConv, .fusedPointwiseDepthwise, .gemm, .matMul, .convTranspose]
        switch precision {
        case .fp32:
            for n in graph.nodes where computeOps.contains(n.op) { layerPrecision[n.name] = "fp32" }
        case .fp16:
            for n in graph.nodes where computeOps.contains(n.op) {
                layerPrecision[n.name] = "fp16"
                // Weights: input 1, and W2 (input 3) of a fused pointwise-depthwise node.
                for i in n.op == .fusedPointwiseDepthwise ? [1, 3] : [1] {
                    if n.inputs.count > i, let w = graph.initializers[n.inputs[i]], w.dtype == .f32 { encodings[n.inputs[i]] = .f16 }
                }
            }
            if CPUInfo.features.contains("f16c") && device == .cpu { required.append("f16c") }
        case .int8:
            let levels = try calibration.weightLevels(gpu: device == .cuda)
            if let cache = calibration.timingCache, device == .cuda || !calibration.int8SpeedCheck {
                let why = device == .cuda ? "GPU plans time their kernels when they are built" : "--no-int8-speed-check"
                print("note: --timing-cache \(cache) is not used: no int8 speed check runs (\(why))")
            }
            // GPU plans run few-channel first layers on the int8 tensor cores too.
            let gpuRows: @Sendable (Int, Int) -> Bool = { CUDAPlan.int8RowChannels(channels: $0, width: $1) != nil }
            let result = try Int8Builder(graph: graph, reference: unoptimized, options: calibration, batch: batch,
                                         weightLevels: levels, quantizeGemm: device != .cuda,
                                         smallConvCandidate: device == .cuda ? gpuRows : nil,
                                         speedCheck: device == .cpu && calibration.int8SpeedCheck,
                                         modelSHA256: SHA256.hex(data)).build()
            graph = result.graph
            layerPrecision = result.layerPrecision
            encodings = result.encodings
            scales = result.activationScales
            calibrationMethod = result.method
            calibrationHash = result.calibrationSHA256
            achieved = result.achieved
            speedCheck = result.speedCheck
            required = result.requiredFeatures
        }

        var kernelImages: [KernelImage] = []
        var tactics: [GPUTactics] = []
        if let gpuDevice {
            // Compile once now so that a graph the GPU cannot run is refused here, not where it is deployed.
            let spec = try graph.specialized()
            let gpuPlan = try CUDAPlan(spec, device: gpuDevice, precision: CUDAPrecision(rawValue: precision.rawValue) ?? .fp32)
            // The kernels just compiled for this GPU and the tactics just timed on it go into the plan: loading it
            // there skips NVRTC and the timing, and picks the same kernels.
            kernelImages = [try CUDAModule.forDevice(gpuDevice).image]
            tactics = [gpuPlan.tactics]
            print("tactics: \(gpuPlan.tacticsTimed) timed on this GPU and stored in the plan")
        }
        let provenance = Provenance(
            sourceName: (model as NSString).lastPathComponent, sourceSHA256: SHA256.hex(data),
            precision: precision.rawValue, layerPrecision: layerPrecision,
            calibrationMethod: calibrationMethod, calibrationSHA256: calibrationHash,
            accuracyTarget: calibration.accuracyTarget, accuracyAchieved: achieved,
            unirtVersion: UnirtVersion.string, arch: CPUInfo.arch, requiredCPUFeatures: required.sorted(),
            gpuArch: gpuDevice?.computeCapabilityText, gpuLibraries: gpuDevice?.libraries.versions, batch: batch, optimization: optimization.summary, buildCommand: rebuildCommand(),
            createdAt: ISO8601DateFormatter().string(from: Date()), int8SpeedCheck: speedCheck)
        let plan = Plan(graph: graph, provenance: provenance, activationScales: scales, weightEncodings: encodings,
                        kernelImages: kernelImages, gpuTactics: tactics)
        try PlanFile.write(plan, to: output)
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
        let counts = Dictionary(grouping: layerPrecision.values, by: { $0 }).mapValues(\.count)
        let target = gpuDevice.map { ", GPU \($0.name) (compute capability \($0.computeCapabilityText))" } ?? ""
        print("wrote \(output): \(precision.rawValue)\(target), \(graph.nodes.count) nodes, \(formatBytes(size))")
        print("layers: " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
        if let achieved { print("accuracy: \(achieved)") }
    }

    /// The command line that rebuilds this plan (recorded in it for error messages).
    func rebuildCommand() -> String {
        let args = CommandLine.arguments.dropFirst().map { a in
            a.contains(" ") || a.isEmpty ? "'\(a)'" : a
        }
        return (["unirt"] + args).joined(separator: " ")
    }
}
