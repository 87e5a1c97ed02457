import Foundation
import UnirtCUDA
import UnirtIR
import UnirtONNX
import UnirtPlan
import UnirtRuntime

/// A model as the CLI loaded it: from ONNX or from a plan.
struct LoadedModel {
    var graph: Graph
    var onnx: ONNXModel?
    var plan: Plan?
}

/// Loads a model file and applies the options every command shares.
enum ModelLoading {
    /// The machine plans are checked against: this CPU and the compute capabilities of its GPUs.
    static var target: PlanTarget {
        PlanTarget(arch: CPUInfo.arch, cpuFeatures: CPUInfo.features, gpuArchs: CUDADevice.computeCapabilities(),
                   unirtVersion: UnirtVersion.string)
    }

    /// Whether the file at `path` is a unirt plan (by magic).
    static func isPlan(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        return PlanFile.isPlan((try? h.read(upToCount: 8)) ?? Data())
    }

    static func loadModel(_ path: String, batch: Int?) throws -> LoadedModel {
        var loaded: LoadedModel
        if isPlan(path) {
            let plan = try PlanFile.read(path, target: target)
            // A GPU plan's compiled kernels: the GPU module loads them instead of compiling.
            CUDAModule.offer(plan.kernelImages)
            // Its tactics: a GPU plan built on this GPU picks the kernels the build timed, without timing.
            CUDATacticCache.offer(plan.gpuTactics)
            loaded = LoadedModel(graph: plan.graph, onnx: nil, plan: plan)
        } else {
            let model = try ONNXModel(contentsOf: path)
            loaded = LoadedModel(graph: model.graph, onnx: model, plan: nil)
        }
        if let batch, loaded.plan?.provenance.batch != batch {
            loaded.graph = try loaded.graph.overridingBatch(batch)
        }
        return loaded
    }

    static func load(_ path: String, batch: Int?) throws -> (ONNXModel?, Graph) {
        let m = try loadModel(path, batch: batch)
        return (m.onnx, m.graph)
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
