import ArgumentParser
import Foundation
import UnirtIR
import UnirtRuntime

/// `unirt run`: runs a model on .npy inputs and writes every output as .npy.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model on .npy inputs and write each output to DIR/<output name>.npy.")

    @Argument(help: "Model file (.onnx).")
    var model: String

    @Option(name: .long, help: "An input tensor as NAME=FILE.npy (repeat for each input).")
    var input: [String] = []

    @Option(name: .long, help: "Folder for the output .npy files (created if missing).")
    var outputDir: String

    @Option(name: .long, help: "Run at batch N (overrides the exported batch dimension).")
    var batch: Int?

    @Option(name: .long, help: "Threads for unirt's kernels and OpenBLAS (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @OptionGroup var optimization: OptimizationOptions

    func run() throws {
        let (_, loaded) = try ModelLoading.load(model, batch: batch)
        let graph = try optimization.apply(to: loaded)
        let inputs = try ModelLoading.inputs(input)
        let session = Session(graph: graph, threads: max(1, threads))
        let outputs: [String: Tensor]
        do {
            outputs = try session.run(inputs)
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
