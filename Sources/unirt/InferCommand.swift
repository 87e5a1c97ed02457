import ArgumentParser
import Foundation
import UnirtClient
import UnirtIR

/// `unirt infer`: runs a model hosted by unirtd on .npy inputs.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Run a model hosted by unirtd and write each output to DIR/<output name>.npy.")

    @OptionGroup var daemon: DaemonOptions

    @Option(name: .long, help: "Model name as the daemon knows it.")
    var model: String

    @Option(name: .long, help: "An input tensor as NAME=FILE.npy (repeat for each input).")
    var input: [String] = []

    @Option(name: .long, help: "Only return these outputs (repeatable).")
    var output: [String] = []

    @Option(name: .long, help: "Folder for the output .npy files (created if missing).")
    var outputDir: String

    @Option(name: .long, help: "Deadline in milliseconds.")
    var timeoutMs: Int?

    func run() throws {
        let inputs = try ModelLoading.inputs(input)
        let client = try daemon.connect()
        defer { client.close() }
        let outputs = try client.infer(model: model, inputs: inputs, outputs: output,
                                       timeout: timeoutMs.map { .milliseconds($0) })
        do {
            try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        } catch {
            throw CLIError("--output-dir '\(outputDir)': cannot create folder: \(error.localizedDescription)")
        }
        for (name, t) in outputs.sorted(by: { $0.key < $1.key }) {
            let path = (outputDir as NSString).appendingPathComponent(ModelLoading.fileName(for: name) + ".npy")
            guard FileManager.default.createFile(atPath: path, contents: t.npyData()) else {
                throw CLIError("cannot write \(path)")
            }
            print("\(name) \(t.typeDescription) -> \(path)")
        }
    }
}
