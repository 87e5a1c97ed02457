import UnirtIR

/// The error type of the graph optimizer: unknown pass names given by a user,
/// and graphs a pass could not rewrite or left invalid.
public struct OptimizerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A pass name that no pipeline knows (user input, e.g. `--disable-pass`).
        public static let unknownPass = Code("unknown-pass")
        /// The graph handed to the optimizer is malformed (user input).
        public static let invalidModel = Code("invalid-model")
        /// A pass produced an invalid graph: a bug in unirt.
        public static let `internal` = Code("internal")
    }

    public let code: Code
    public let message: String
    /// The error that caused this one, when there is one (usually an `IRError`).
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }

    /// Whether the user can fix this by changing the input (exit code 2).
    public var isUserError: Bool { code != .internal }
}
