/// Why an image could not be decoded or preprocessed. `message` names the file
/// (when known) and what was wrong in one line.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable {
        /// Not a JPEG or PNG, or a variant this decoder does not read.
        case unsupported
        /// The file is damaged or truncated.
        case corrupt
        /// A preprocessing spec or landmark file is wrong.
        case invalidSpec
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The same error with `label` (usually the file path) in front.
    func labeled(_ label: String) -> ImageError { ImageError(code, "\(label): \(message)") }
}
