import Foundation
import UnirtIR
import UnirtONNX

/// Loads a model file and applies the options every command shares.
enum ModelLoading {
    static func load(_ path: String, batch: Int?) throws -> (ONNXModel, Graph) {
        let model = try ONNXModel(contentsOf: path)
        var graph = model.graph
        if let batch {
            graph = try graph.overridingBatch(batch)
        }
        return (model, graph)
    }

    /// Parses repeated `NAME=FILE.npy` options into tensors.
    static func inputs(_ specs: [String]) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for spec in specs {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw CLIError("--input '\(spec)': expected NAME=FILE.npy")
            }
            let name = String(spec[..<eq])
            let file = String(spec[spec.index(after: eq)...])
            guard result[name] == nil else { throw CLIError("--input '\(name)' given twice") }
            result[name] = try Tensor(npyFile: file)
        }
        return result
    }

    /// A file name for a tensor name (path separators and odd characters replaced).
    static func fileName(for tensor: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let s = String(tensor.map { allowed.contains($0) ? $0 : "_" })
        return s.isEmpty || s.hasPrefix(".") ? "_" + s : s
    }
}

extension ModelLoading {
    /// Parses repeated `NAME=1,3,512,512` options.
    static func shapes(_ specs: [String]) throws -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for spec in specs {
            guard let eq = spec.firstIndex(of: "=") else { throw CLIError("--shape '\(spec)': expected NAME=D1,D2,…") }
            let dims = spec[spec.index(after: eq)...].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !dims.isEmpty, dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw CLIError("--shape '\(spec)': dimensions must be positive integers")
            }
            result[String(spec[..<eq])] = dims.map { $0! }
        }
        return result
    }
}
