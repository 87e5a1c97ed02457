import UnirtIR

/// A compiled computation for one node: inputs (nil for omitted optional ones)
/// and the inferred output infos in, output tensors out. Kernels do not throw.
public typealias Kernel = @Sendable (_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor]

/// Identifies a fast kernel: operator, element type of input 0, and layout.
public struct KernelKey: Hashable, Sendable {
    public var op: OpKind
    public var dtype: DType
    public var layout: Layout

    public init(_ op: OpKind, _ dtype: DType, _ layout: Layout = .nchw) {
        self.op = op
        self.dtype = dtype
        self.layout = layout
    }
}

/// Memory layout of activations a kernel expects.
public enum Layout: String, Sendable, Hashable {
    case nchw
}

/// An execution backend: says which nodes it can run and with which kernel.
public protocol Backend: Sendable {
    var name: String { get }
    /// The fast kernel for `node` with input types `inputs`, or nil to fall back
    /// to the operator's reference kernel.
    func kernel(for node: Node, inputs: [ValueInfo?]) -> Kernel?
}
