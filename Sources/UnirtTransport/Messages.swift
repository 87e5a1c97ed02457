import UnirtIR
import UnirtServing

/// The operation a request asks for (`unirt.v1.Method`).
public enum RPCMethod: UInt32, Sendable, CaseIterable {
    case unspecified = 0, infer, listModels, modelStatus, health, ready, loadModel, unloadModel, stats,
         registerRegion, unregisterRegion
}

/// Status codes, numbered as gRPC's (`unirt.v1.Code`).
public enum RPCCode: UInt32, Sendable, CaseIterable {
    case ok = 0, cancelled = 1, unknown = 2, invalidArgument = 3, deadlineExceeded = 4, notFound = 5,
         alreadyExists = 6, permissionDenied = 7, resourceExhausted = 8, failedPrecondition = 9,
         unimplemented = 12, `internal` = 13, unavailable = 14

    /// The upper-case name used in metrics labels and messages, e.g. `RESOURCE_EXHAUSTED`.
    public var name: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "CANCELLED"
        case .unknown: return "UNKNOWN"
        case .invalidArgument: return "INVALID_ARGUMENT"
        case .deadlineExceeded: return "DEADLINE_EXCEEDED"
        case .notFound: return "NOT_FOUND"
        case .alreadyExists: return "ALREADY_EXISTS"
        case .permissionDenied: return "PERMISSION_DENIED"
        case .resourceExhausted: return "RESOURCE_EXHAUSTED"
        case .failedPrecondition: return "FAILED_PRECONDITION"
        case .unimplemented: return "UNIMPLEMENTED"
        case .internal: return "INTERNAL"
        case .unavailable: return "UNAVAILABLE"
        }
    }

    /// The status code for a serving error (the one place this mapping lives).
    public init(_ code: ServingError.Code) {
        switch code {
        case .invalidArgument: self = .invalidArgument
        case .notFound: self = .notFound
        case .resourceExhausted: self = .resourceExhausted
        case .deadlineExceeded: self = .deadlineExceeded
        case .unavailable: self = .unavailable
        case .cancelled: self = .cancelled
        case .permissionDenied: self = .permissionDenied
        default: self = .internal
        }
    }
}

/// A byte range inside a registered shared-memory region.
public struct ShmRef: Sendable, Equatable {
    public var region: UInt64
    public var offset: UInt64
    public var length: UInt64
    public init(region: UInt64, offset: UInt64, length: UInt64) {
        self.region = region
        self.offset = offset
        self.length = length
    }
}

/// A tensor as it travels: dtype, shape and either inline little-endian bytes or a shared-memory reference.
public struct WireTensor: Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]
    public var data: [UInt8]
    public var shm: ShmRef?

    public init(name: String, dtype: DType, shape: [Int], data: [UInt8] = [], shm: ShmRef? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
        self.shm = shm
    }

    /// An inline tensor holding `tensor`'s bytes.
    public init(name: String, _ tensor: Tensor) {
        self.init(name: name, dtype: tensor.dtype, shape: tensor.shape, data: tensor.wireBytes())
    }

    /// Bytes the shape and dtype call for.
    public var expectedByteCount: Int { shape.reduce(1, *) * dtype.byteSize }

    /// The inline bytes as a tensor; INVALID_ARGUMENT when their size disagrees with the shape.
    public func tensor() throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw TransportError(.invalidArgument, "tensor '\(name)': negative dimension in \(shape)") }
        guard data.count == expectedByteCount else {
            throw TransportError(.invalidArgument, "tensor '\(name)': \(data.count) bytes, \(dtype.rawValue)\(shape) needs \(expectedByteCount)")
        }
        return data.withUnsafeBytes { Tensor.wireDecode($0, dtype: dtype, shape: shape) }
    }
}

/// One request frame (`unirt.v1.Request`).
public struct RPCRequest: Sendable {
    public var id: UInt64 = 0
    public var method: RPCMethod = .unspecified
    /// The raw method number (kept when it is not one this build knows).
    public var methodNumber: UInt32 = 0
    /// Deadline counted from arrival, in microseconds; 0 for none.
    public var timeoutMicros: UInt64 = 0
    public var metadata: [(String, String)] = []
    public var model: String = ""
    public var version: Int64 = 0
    public var inputs: [WireTensor] = []
    public var outputs: [String] = []
    public var outputRegion: ShmRef?
    public var config: ModelSettings?
    public var region: UInt64 = 0
    public var regionSize: UInt64 = 0

    public init(id: UInt64 = 0, method: RPCMethod) {
        self.id = id
        self.method = method
        self.methodNumber = method.rawValue
    }
}

/// Declared name, dtype and shape of a model input or output (-1: dynamic).
public struct TensorInfo: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var shape: [Int64]
    public init(name: String, dtype: DType, shape: [Int64]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }
}

/// One model as ListModels and ModelStatus report it.
public struct ModelInfo: Sendable {
    public var name: String
    public var version: Int64
    /// "ready", "loading" or "failed".
    public var state: String
    public var reason: String
    public var config: ModelSettings?
    public var inputs: [TensorInfo]
    public var outputs: [TensorInfo]
    public var batching: Bool
    public init(name: String, version: Int64, state: String, reason: String = "", config: ModelSettings? = nil,
                inputs: [TensorInfo] = [], outputs: [TensorInfo] = [], batching: Bool = false) {
        self.name = name
        self.version = version
        self.state = state
        self.reason = reason
        self.config = config
        self.inputs = inputs
        self.outputs = outputs
        self.batching = batching
    }
}

/// One response frame (`unirt.v1.Response`).
public struct RPCResponse: Sendable {
    public var id: UInt64 = 0
    public var code: RPCCode = .ok
    public var message: String = ""
    public var outputs: [WireTensor] = []
    public var models: [ModelInfo] = []
    public var live = false
    public var ready = false
    public var metrics: String = ""
    public var stats: [ModelStatistics] = []

    public init(id: UInt64 = 0, code: RPCCode = .ok, message: String = "") {
        self.id = id
        self.code = code
        self.message = message
    }
}
