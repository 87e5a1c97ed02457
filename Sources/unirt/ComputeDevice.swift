import ArgumentParser
import UnirtCUDA
import UnirtIR
import UnirtPlan

/// Where `build`, `run` and `bench` put a model: the CPU or a CUDA GPU.
enum ComputeDevice: String, ExpressibleByArgument, CaseIterable {
    case cpu, cuda
}

/// Opening GPUs and building GPU plans for the CLI.
enum GPUPlans {
    /// The GPU with ordinal `ordinal`, or one line saying why there is none.
    static func device(_ ordinal: Int) throws -> CUDADevice {
        do {
            return try CUDADevice.device(ordinal)
        } catch let e as CUDAError {
            throw CLIError("--device cuda: no usable GPU \(ordinal): \(e.message)")
        }
    }

    /// The device a loaded model runs on: `requested`, else `cuda` for GPU plans and `cpu` for the rest.
    static func device(for model: LoadedModel, requested: ComputeDevice?) -> ComputeDevice {
        requested ?? (model.plan?.provenance.gpuArch != nil ? .cuda : .cpu)
    }

    /// The precision GPU runs use: a GPU plan's own, else fp32.
    static func precision(for model: LoadedModel) throws -> CUDAPrecision {
        guard let p = model.plan, p.provenance.gpuArch != nil else { return .fp32 }
        guard let prec = CUDAPrecision(rawValue: p.provenance.precision) else {
            throw CLIError("plan precision '\(p.provenance.precision)' has no GPU form (fp32, fp16 or int8)")
        }
        return prec
    }

    /// A GPU plan of `graph` for the shapes of `inputs` (graph inputs only).
    static func plan(_ graph: Graph, inputs: [String: Tensor], precision: CUDAPrecision, device: CUDADevice) throws -> CUDAPlan {
        let shapes = inputs.filter { name, _ in graph.inputs.contains { $0.name == name } }.mapValues(\.shape)
        return try CUDAPlan(try graph.specialized(inputShapes: shapes), device: device, precision: precision)
    }
}
