import ArgumentParser
import Foundation
import UnirtImage
import UnirtIR

/// `unirt preprocess`: turns images into a model's input tensor exactly as
/// `unirt build --calib DIR --calib-preprocess SPEC` does, so the calibration
/// inputs can be checked (or fed to `unirt run`).
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Decode JPEG/PNG images and preprocess them into one input tensor (.npy), as calibration does.")

    @Argument(help: "Image files (JPEG or PNG); several are stacked along the batch axis.")
    var images: [String]

    @Option(name: .long, help: "Preprocessing spec, as for `unirt build --calib-preprocess`.")
    var spec: String = ""

    @Option(name: .long, help: "Model whose input shape (and layout) the tensor takes.")
    var model: String?

    @Option(name: .long, help: "Input name of --model (default: its first input).")
    var input: String?

    @Option(name: .long, help: "Input shape instead of --model, e.g. 1,3,112,112.")
    var shape: String?

    @Option(name: [.short, .long], help: "Output .npy file.")
    var output: String

    func run() throws {
        guard !images.isEmpty else { throw CLIError("give at least one image") }
        let preprocessing: ImagePreprocessing
        do { preprocessing = try ImagePreprocessing(spec: spec) } catch let e as ImageError { throw CLIError("--spec: \(e.message)") }
        var inputShape: [Int?]
        if let shape {
            let dims = shape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard dims.count == 4, dims.allSatisfy({ $0 == nil || $0! > 0 }) else {
                throw CLIError("--shape \(shape): expected four comma-separated sizes")
            }
            inputShape = dims
        } else if let model {
            let graph = try ModelLoading.loadModel(model, batch: nil).graph
            guard let decl = input.map({ name in graph.inputs.first { $0.name == name } }) ?? graph.inputs.first else {
                throw CLIError("\(model): no input named '\(input ?? "")' (inputs: \(graph.inputs.map(\.name).joined(separator: ", ")))")
            }
            inputShape = decl.dims?.map { d -> Int? in if case .fixed(let n) = d { return n } else { return nil } } ?? [nil, nil, nil, nil]
        } else {
            throw CLIError("give --model or --shape")
        }
        var tensors: [Tensor] = []
        for path in images {
            do {
                let image = try Image.decode(file: path)
                let landmarks = preprocessing.fit == .align ? try ImagePreprocessing.landmarks(for: path) : nil
                tensors.append(try preprocessing.tensor(from: image, inputShape: inputShape, landmarks: landmarks))
            } catch let e as ImageError {
                throw CLIError(e.message.hasPrefix(path) ? e.message : "\(path): \(e.message)")
            }
        }
        let stacked = Tensor(shape: [tensors.count] + tensors[0].shape.dropFirst(), floats: tensors.flatMap(\.floats))
        do { try stacked.npyData().write(to: URL(fileURLWithPath: output)) } catch {
            throw CLIError("\(output): cannot write (\(error.localizedDescription))")
        }
    }
}
