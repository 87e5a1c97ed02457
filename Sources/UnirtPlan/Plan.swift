import Foundation
import UnirtIR

/// Where a plan came from and what it was built for.
public struct Provenance: Codable, Sendable, Equatable {
    /// File name of the source model.
    public var sourceName: String
    /// sha256 of the source ONNX file.
    public var sourceSHA256: String
    /// Overall precision asked for: fp32, fp16 or int8.
    public var precision: String
    /// Precision each compute node runs at, by node name (mixed-precision fallbacks show here).
    public var layerPrecision: [String: String]
    /// Calibration method (int8 plans), e.g. "entropy" or "percentile 99.99".
    public var calibrationMethod: String?
    /// sha256 over the calibration data (or cache file) the scales came from.
    public var calibrationSHA256: String?
    /// Accuracy target and the value achieved on the calibration/validation set.
    public var accuracyTarget: String?
    public var accuracyAchieved: String?
    /// unirt version that wrote the plan.
    public var unirtVersion: String
    /// CPU architecture (uname machine) the plan targets.
    public var arch: String
    /// CPU features the plan's kernels need (e.g. "avx2"); the loader refuses a CPU without them.
    public var requiredCPUFeatures: [String]
    /// GPU compute capability for GPU plans (e.g. "9.0"), nil for CPU plans.
    public var gpuArch: String?
    /// GPU plans: versions of the CUDA libraries at build time (`driver`, `nvrtc`,
    /// `cublasLt`, `cudnn`), recorded for provenance (format 1.1; nil in older plans).
    public var gpuLibraries: [String: String]?
    /// Batch size the plan was built at, when overridden.
    public var batch: Int?
    /// Optimization level and disabled passes used.
    public var optimization: String
    /// The command line that rebuilds this plan.
    public var buildCommand: String
    /// When the plan was written (ISO 8601, UTC).
    public var createdAt: String
    /// Int8 CPU plans built with the speed check: what it measured and chose (format 1.2; nil otherwise).
    public var int8SpeedCheck: Int8SpeedCheck?

    public init(sourceName: String, sourceSHA256: String, precision: String, layerPrecision: [String: String] = [:],
                calibrationMethod: String? = nil, calibrationSHA256: String? = nil, accuracyTarget: String? = nil,
                accuracyAchieved: String? = nil, unirtVersion: String, arch: String, requiredCPUFeatures: [String] = [],
                gpuArch: String? = nil, gpuLibraries: [String: String]? = nil, batch: Int? = nil, optimization: String = "level 2", buildCommand: String,
                createdAt: String, int8SpeedCheck: Int8SpeedCheck? = nil) {
        self.sourceName = sourceName
        self.sourceSHA256 = sourceSHA256
        self.precision = precision
        self.layerPrecision = layerPrecision
        self.calibrationMethod = calibrationMethod
        self.calibrationSHA256 = calibrationSHA256
        self.accuracyTarget = accuracyTarget
        self.accuracyAchieved = accuracyAchieved
        self.unirtVersion = unirtVersion
        self.arch = arch
        self.requiredCPUFeatures = requiredCPUFeatures
        self.gpuArch = gpuArch
        self.gpuLibraries = gpuLibraries
        self.batch = batch
        self.optimization = optimization
        self.buildCommand = buildCommand
        self.createdAt = createdAt
        self.int8SpeedCheck = int8SpeedCheck
    }
}

/// What the int8 builder measured when it timed the int8 layers against their FP32 forms on the
/// build machine, and which it kept. Times are medians over interleaved runs, in milliseconds.
public struct Int8SpeedCheck: Codable, Sendable, Equatable {
    /// The time of one group of layers that change precision together, in each form.
    public struct LayerTiming: Codable, Sendable, Equatable {
        /// The group's steps with its int8 candidates in int8, and with them in FP32.
        public var int8Ms: Double
        public var fp32Ms: Double
        /// The other layers timed with this one (e.g. the depthwise convolution a 1×1 layer is
        /// fused with in FP32); nil when it was timed alone.
        public var with: [String]?

        public init(int8Ms: Double, fp32Ms: Double, with: [String]? = nil) {
            self.int8Ms = int8Ms
            self.fp32Ms = fp32Ms
            self.with = with
        }
    }

    /// Threads the plans were run with.
    public var threads: Int
    /// Whole-plan run time with every candidate the accuracy target allows in int8, with all in
    /// FP32, and as written.
    public var allInt8Ms: Double
    public var fp32Ms: Double
    public var planMs: Double
    /// Per candidate layer (by node name before fusion), its group's times.
    public var layers: [String: LayerTiming]

    public init(threads: Int, allInt8Ms: Double, fp32Ms: Double, planMs: Double, layers: [String: LayerTiming]) {
        self.threads = threads
        self.allInt8Ms = allInt8Ms
        self.fp32Ms = fp32Ms
        self.planMs = planMs
        self.layers = layers
    }
}

/// How one weight tensor is stored in the file.
public enum WeightEncoding: String, Codable, Sendable {
    /// float32 as is.
    case f32
    /// float16 (converted to float32 when loaded).
    case f16
    /// int8 with one symmetric scale per slice along axis 0 (per output channel).
    case i8
    /// As `i8` on a 63-level grid (values −63…63, scale max|w|/63): 7-bit weights.
    case i7
    /// The tensor's own dtype (integer tensors), little-endian.
    case raw
}

/// An optimized graph with its weights, quantization parameters and provenance.
public struct Plan: Sendable {
    public var graph: Graph
    public var provenance: Provenance
    /// Symmetric activation scales by value name (int8 plans).
    public var activationScales: [String: Float]
    /// Storage encoding per initializer; missing entries are stored as f32 (floats) or raw.
    public var weightEncodings: [String: WeightEncoding]
    /// GPU plans: unirt's own kernels compiled for the GPU the plan was built on, so that
    /// loading the plan does not compile them again.
    public var kernelImages: [KernelImage]
    /// GPU plans: the tactics the build timed on its GPU, so that loading the plan there picks
    /// the same kernels and algorithms without timing them again.
    public var gpuTactics: [GPUTactics]

    public init(graph: Graph, provenance: Provenance, activationScales: [String: Float] = [:],
                weightEncodings: [String: WeightEncoding] = [:], kernelImages: [KernelImage] = [],
                gpuTactics: [GPUTactics] = []) {
        self.graph = graph
        self.provenance = provenance
        self.activationScales = activationScales
        self.weightEncodings = weightEncodings
        self.kernelImages = kernelImages
        self.gpuTactics = gpuTactics
    }
}

/// Tactic choices timed on one GPU (TensorRT's timing cache, kept in the plan): per layer
/// signature — the operation, precision, layout, shapes and attributes, never a node name — what
/// won (an int8 kernel variant, cuDNN's measured algorithms, own kernel or library). A loader
/// whose GPU, libraries and kernel source give the same `device` string uses them instead of
/// timing; any other GPU times again.
public struct GPUTactics: Sendable, Equatable, Codable {
    /// GPU name, compute capability, library versions and kernel source hash the choices hold for.
    public var device: String
    /// Choice by layer signature.
    public var entries: [String: String]

    public init(device: String, entries: [String: String]) {
        self.device = device
        self.entries = entries
    }
}

/// A compiled kernel module (a CUBIN) for one GPU architecture, with the hash of the
/// kernel source it was compiled from: a loader uses it only when both match its own.
public struct KernelImage: Sendable, Equatable {
    /// The architecture it was compiled for, as NVRTC names it (`sm_90a`).
    public var architecture: String
    /// sha256 (hex) of the kernel source.
    public var sourceSHA256: String
    public var bytes: [UInt8]

    public init(architecture: String, sourceSHA256: String, bytes: [UInt8]) {
        self.architecture = architecture
        self.sourceSHA256 = sourceSHA256
        self.bytes = bytes
    }
}

/// The machine a plan is checked against when loaded.
public struct PlanTarget: Sendable {
    public var arch: String
    public var cpuFeatures: Set<String>
    public var gpuArchs: Set<String>
    public var unirtVersion: String

    public init(arch: String, cpuFeatures: Set<String>, gpuArchs: Set<String> = [], unirtVersion: String) {
        self.arch = arch
        self.cpuFeatures = cpuFeatures
        self.gpuArchs = gpuArchs
        self.unirtVersion = unirtVersion
    }
}
