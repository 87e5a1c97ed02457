import UnirtIR

/// A node compiled for one backend: weights prepacked, shapes fixed.
///
/// `run` reads inputs and writes outputs through raw float pointers into the
/// plan's activation arena (or constant buffers); it must not throw or allocate
/// per call where avoidable. `scratchFloats` is the temporary space it needs.
public struct CompiledKernel: Sendable {
    public typealias Run = @Sendable (_ inputs: [UnsafePointer<Float>?], _ outputs: [UnsafeMutablePointer<Float>],
                                      _ scratch: UnsafeMutablePointer<Float>) -> Void
    public var scratchFloats: Int
    public var run: Run

    public init(scratchFloats: Int = 0, run: @escaping Run) {
        self.scratchFloats = scratchFloats
        self.run = run
    }
}

/// What the planner tells a backend when it compiles a node.
public struct CompileOptions: Sendable {
    /// Threads a kernel may use for its own parallel loops.
    public var threads: Int
    /// Constant values of the node's inputs (weights), by input index.
    public var constants: [Int: Tensor]
    /// Int8 chaining (see `Int8Chaining`): input 0 arrives as u8 with zero point 128
    /// and the node's `input_scale`, not as float32. A builder that cannot honor it declines.
    public var u8Input = false
    /// Int8 chaining: write output 0 as u8, `clamp(round_half_even(y / scale) + 128, 0, 255)`.
    public var u8OutputScale: Float? = nil

    public init(threads: Int, constants: [Int: Tensor]) {
        self.threads = threads
        self.constants = constants
    }
}

/// An execution backend: compiles the nodes it supports into kernels over
/// float32 NCHW activations; the planner runs the operator's reference kernel
/// for every node a backend declines.
public protocol Backend: Sendable {
    var name: String { get }
    /// A compiled kernel for `node`, or nil to fall back to the reference kernel.
    /// Called only when every input and output is float32.
    func compile(_ node: Node, inputs: [ValueInfo?], outputs: [ValueInfo], options: CompileOptions) -> CompiledKernel?
}

/// A backend that declines everything: every node runs its reference kernel.
public struct ReferenceBackend: Backend {
    public let name = "reference"
    public init() {}
    public func compile(_ node: Node, inputs: [ValueInfo?], outputs: [ValueInfo], options: CompileOptions) -> CompiledKernel? {
        nil
    }
}
