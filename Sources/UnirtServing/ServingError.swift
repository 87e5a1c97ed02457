/// The error type of the serving core. Each code corresponds to one RPC
/// status code (the transport maps them in one function).
public struct ServingError: Error, CustomStringConvertible, Sendable {
    /// What went wrong; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A request that does not match the model (names, dtypes, shapes).
        public static let invalidArgument = Code("invalid-argument")
        /// No model by that name (or version) is loaded.
        public static let notFound = Code("not-found")
        /// The model's queue is full.
        public static let resourceExhausted = Code("resource-exhausted")
        /// The request's deadline passed before it was computed.
        public static let deadlineExceeded = Code("deadline-exceeded")
        /// The model is shutting down or not ready.
        public static let unavailable = Code("unavailable")
        /// The request was withdrawn (its client went away).
        public static let cancelled = Code("cancelled")
        /// The peer may not do this.
        public static let permissionDenied = Code("permission-denied")
        /// A bug or a failure inside the runtime.
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

    public var description: String { message }
}
