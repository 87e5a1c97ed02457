/// The error type of the graph IR: bad models, bad attributes, shapes that do
/// not agree. Every message names the node, operator or tensor at fault.
public struct IRError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; extensible.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The model or an input is malformed (user input).
        public static let invalidModel = Code("invalid-model")
        /// The model uses an operator, opset or attribute value unirt does not support.
        public static let unsupported = Code("unsupported")
        /// An input tensor does not match what the model declares.
        public static let invalidInput = Code("invalid-input")
        /// A bug in unirt.
        public static let `internal` = Code("internal")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Whether the user can fix this by changing the input (exit code 2).
    public var isUserError: Bool { code != .internal }
}

extension Node {
    /// An `IRError` that names this node, its operator and opset.
    public func error(_ code: IRError.Code = .invalidModel, _ message: String) -> IRError {
        IRError(code, "node '\(name)' (\(opType), opset \(opset)): \(message)")
    }
}
