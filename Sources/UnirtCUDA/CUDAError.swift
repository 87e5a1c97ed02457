/// The one error type of the CUDA backend.
public struct CUDAError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; extensible.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// A CUDA library could not be found or lacks an entry point.
        public static let libraryUnavailable = Code(rawValue: "library-unavailable")
        /// The driver reports no usable GPU.
        public static let noDevice = Code(rawValue: "no-device")
        /// The graph uses operators or attributes the GPU executor does not support.
        public static let unsupported = Code(rawValue: "unsupported")
        /// A CUDA, NVRTC, cuBLASLt or cuDNN call failed.
        public static let api = Code(rawValue: "api")
        /// Bad input from the caller (shapes, names).
        public static let invalidInput = Code(rawValue: "invalid-input")
    }

    public var code: Code
    /// One line a user can act on.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Whether the caller can fix this (bad input or an unsupported model) rather than the machine.
    public var isUserError: Bool { code == .invalidInput || code == .unsupported }
}
