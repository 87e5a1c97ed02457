/// Where a model instance runs.
public enum InstanceDevice: Hashable, Sendable, CustomStringConvertible {
    /// The host CPU (the runtime's CPU kernels).
    case cpu
    /// The GPU with this driver ordinal.
    case gpu(Int)

    /// `cpu`, `gpu0`, `gpu1`, …: the `device` label of the instance metrics.
    public var description: String {
        switch self {
        case .cpu: return "cpu"
        case .gpu(let n): return "gpu\(n)"
        }
    }

    public var isGPU: Bool {
        if case .gpu = self { return true }
        return false
    }
}

/// One instance of a model: a thread that runs one batch at a time on `backend`.
///
/// CPU instances of a model share one thread-safe backend; each GPU instance
/// has its own (its own plans, stream and device memory), so that two GPU
/// instances compute at once.
public struct ModelInstance: Sendable {
    public var device: InstanceDevice
    public var backend: any InferenceBackend

    public init(device: InstanceDevice, backend: any InferenceBackend) {
        self.device = device
        self.backend = backend
    }
}
