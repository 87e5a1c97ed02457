/// The error type of calibration and quantization: statistics fed in the
/// wrong order, unknown tensors, malformed calibration caches, bad options.
/// Every message is one line that names the tensor, file or line at fault.
public struct QuantError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A calibration cache or option string is malformed (user input).
        public static let invalidInput = Code("invalid-input")
        /// Statistics were observed in the wrong phase or for an unknown tensor.
        public static let invalidState = Code("invalid-state")
        /// A file could not be read or written.
        public static let io = Code("io")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A one-line message a user can act on.
    public let message: String
    /// The underlying error, when there is one (e.g. a file system error).
    public let cause: (any Error)?

    /// Creates an error with a code, a one-line message and an optional cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }

    /// Whether the user can fix this by changing the input (CLI exit code 2).
    public var isUserError: Bool { code == .invalidInput || code == .io }
}
