/// The error type of the transport and of the client: a status code, a
/// message naming what was wrong, and the underlying cause.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public let code: RPCCode
    public let message: String
    public let cause: (any Error)?

    public init(_ code: RPCCode, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { "\(code.name): \(message)" }
}
