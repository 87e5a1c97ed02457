/// The error type of plan files. Messages say why a plan is refused and, when
/// the plan is readable enough to know, the exact command that rebuilds it.
public struct PlanError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// Not a unirt plan (bad magic).
        public static let notAPlan = Code("not-a-plan")
        /// Shorter than its header says.
        public static let truncated = Code("truncated")
        /// Checksum mismatch or unreadable metadata.
        public static let corrupted = Code("corrupted")
        /// Written by an incompatible format version.
        public static let incompatibleVersion = Code("incompatible-version")
        /// Built for another CPU architecture or ISA features this CPU lacks.
        public static let wrongISA = Code("wrong-isa")
        /// Built for another GPU architecture.
        public static let wrongGPU = Code("wrong-gpu")
        /// Cannot be written.
        public static let io = Code("io")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
