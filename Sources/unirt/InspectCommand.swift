import ArgumentParser
import Foundation
import UnirtIR
import UnirtONNX

/// `unirt inspect`: what a model takes, gives and is made of.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Print a model's inputs, outputs, opsets, producer and operator histogram.")

    @Argument(help: "Model file (.onnx).")
    var model: String

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @Option(name: .long, help: "Show shapes at batch N.")
    var batch: Int?

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
    }

    func run() throws {
        let (m, graph) = try ModelLoading.load(model, batch: batch)
        func value(_ d: ValueDecl) -> Report.Value {
            Report.Value(name: d.name, dtype: d.dtype.rawValue, shape: d.dims?.map(\.description))
        }
        let report = Report(
            model: model, producer: graph.producer, irVersion: m.irVersion, opsets: m.opsets,
            inputs: graph.inputs.map(value), outputs: graph.outputs.map(value),
            defaultedInputs: graph.defaultedInputs.count, unusedInputs: graph.unusedInputs.count,
            nodesInFile: m.fileOpHistogram.reduce(0) { $0 + $1.1 },
            nodesAfterFolding: graph.nodes.count, weightBytes: graph.weightBytes,
            ops: Dictionary(uniqueKeysWithValues: m.fileOpHistogram.map { ($0.0, $0.1) }))
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            enc.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        print("model:      \(model)")
        print("producer:   \(graph.producer.isEmpty ? "(none)" : graph.producer)")
        let opsetText = m.opsets.sorted { $0.key < $1.key }.map { "\($0.key.isEmpty ? "ai.onnx" : $0.key) \($0.value)" }
        print("ir version: \(m.irVersion); opsets: \(opsetText.joined(separator: ", "))")
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
        for (op, n) in m.fileOpHistogram { print("  \(op.padding(toLength: max(op.count, 22), withPad: " ", startingAt: 0)) \(n)") }
    }
}
