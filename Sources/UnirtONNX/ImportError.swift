import UnirtIR

/// The error type of ONNX import. Every message names the file and, where one
/// is at fault, the node, operator, opset or tensor.
public struct ImportError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The file is not a readable ONNX model.
        public static let invalidModel = Code("invalid-model")
        /// The model is valid ONNX but uses something unirt does not support.
        public static let unsupported = Code("unsupported")
        /// The file could not be read.
        public static let io = Code("io")
    }

    public let code: Code
    public let message: String
    /// The underlying error, when there is one.
    public let cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
