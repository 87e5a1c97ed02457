import UnirtIR

/// The error type of the runtime: inputs that do not match the model, models
/// that cannot be specialized for the given shapes, internal failures.
public struct RuntimeError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// A missing, extra or mismatched input tensor (user input).
        public static let invalidInput = Code("invalid-input")
        /// The model cannot run with these shapes or uses something unsupported.
        public static let invalidModel = Code("invalid-model")
        public static let `internal` = Code("internal")
    }

    public let code: Code
    public let message: String
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// Wraps an IR error raised while the graph was specialized.
    init(_ e: IRError) {
        switch e.code {
        case .invalidInput: self.init(.invalidInput, e.message, cause: e)
        case .internal: self.init(.internal, e.message, cause: e)
        default: self.init(.invalidModel, e.message, cause: e)
        }
    }

    public var description: String { message }
    public var isUserError: Bool { code != .internal }
}
