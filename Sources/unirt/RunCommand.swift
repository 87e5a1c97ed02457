import ArgumentParser
import Foundation
import UnirtIR
import UnirtRuntime

/// `unirt run`: runs a model on .npy inputs and writes every output as .npy.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on .npy inputs and write each output to DIR/<output name>.npy.")

    @Argument(help: "Model file (.onnx or plan).")
    var model: String

    @Option(name: .long, help: "An input tensor as NAME=FILE.npy (repeat for each input).")
    var input: [String] = []

    @Option(name: .long, help: "Folder for the output .npy files (created if missing).")
    var outputDir: String

    @Option(name: .long, help: "Run at batch N (overrides the exported batch dimension).")
    var batch: Int?

    @Option(name: .long, help: "Threads for unirt's kernels and OpenBLAS (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Run on cpu or cuda (default: cuda for plans built with --device cuda, else cpu).")
    var device: ComputeDevice?

    @Option(name: .long, help: "GPU ordinal (cuda).")
    var gpu: Int = 0

    @OptionGroup var optimization: OptimizationOptions

    func run() throws {
        let loaded = try ModelLoading.loadModel(model, batch: batch)
        let graph = try optimization.apply(to: loaded.graph)
        let inputs = try ModelLoading.inputs(input)
        let outputs: [String: Tensor]
        do {
            if GPUPlans.device(for: loaded, requested: device) == .cuda {
                // The session's checks name the offending input before the GPU plan is built for these shapes.
                try Session(graph: graph, threads: 1).validate(inputs)
                let plan = try GPUPlans.plan(graph, inputs: inputs, precision: try GPUPlans.precision(for: loaded),
                                             device: try GPUPlans.device(gpu))
                outputs = try plan.execute(inputs.filter { name, _ in graph.inputs.contains { $0.name == name } })
            } else {
                outputs = try Session(graph: graph, threads: max(1, threads)).run(inputs)
            }
        } catch let e as RuntimeError where e.code == .invalidInput {
            // Name the file the offending tensor came from.
            let file = input.first { e.message.contains("input '\($0.split(separator: "=").first ?? "")'") }
            guard let file, let path = file.split(separator: "=", maxSplits: 1).last else { throw e }
            throw CLIError("\(path): \(e.message)")
        }
        do {
            try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        } catch {
            throw CLIError("--output-dir '\(outputDir)': cannot create folder: \(error.localizedDescription)")
        }
        for out in graph.outputs {
            guard let t = outputs[out.name] else { continue }
            let path = (outputDir as NSString).appendingPathComponent(ModelLoading.fileName(for: out.name) + ".npy")
            guard FileManager.default.createFile(atPath: path, contents: t.npyData()) else {
                throw CLIError("cannot write \(path)")
            }
            print("\(out.name) \(t.typeDescription) -> \(path)")
        }
    }
}
