import UnirtIR

/// The CPU backend: one table of kernel builders keyed by (op, dtype, layout);
/// nodes without an entry, or that a builder declines, run their reference kernel.
public struct CPUBackend: Backend {
    public let name = "cpu"

    /// Identifies a fast kernel: operator, element type of input 0, and layout.
    public struct Key: Hashable, Sendable {
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

    /// Builds a kernel for one node, or returns nil to decline it.
    public typealias Builder = @Sendable (_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo],
                                          _ options: CompileOptions) -> CompiledKernel?

    /// The one table of fast CPU kernels.
    static let table: [Key: Builder] = [
        Key(.conv, .f32): CPUConv.build,
        Key(.fusedConv, .f32): CPUConv.build,
        Key(.fusedPointwiseDepthwise, .f32): CPUPointwiseDepthwise.build,
        Key(.gemm, .f32): CPUGemm.buildGemm,
        Key(.matMul, .f32): CPUGemm.buildMatMul,
        Key(.batchNormalization, .f32): CPUElementwise.buildBatchNorm,
        Key(.add, .f32): CPUElementwise.buildBinary,
        Key(.sub, .f32): CPUElementwise.buildBinary,
        Key(.mul, .f32): CPUElementwise.buildBinary,
        Key(.div, .f32): CPUElementwise.buildBinary,
        Key(.relu, .f32): CPUElementwise.buildUnary,
        Key(.sigmoid, .f32): CPUElementwise.buildUnary,
        Key(.leakyRelu, .f32): CPUElementwise.buildUnary,
        Key(.clip, .f32): CPUElementwise.buildUnary,
        Key(.hardSigmoid, .f32): CPUElementwise.buildUnary,
        Key(.pRelu, .f32): CPUElementwise.buildPRelu,
        Key(.tanh, .f32): CPUElementwise.buildUnary,
        Key(.exp, .f32): CPUElementwise.buildUnary,
        Key(.sqrt, .f32): CPUElementwise.buildUnary,
        Key(.maxPool, .f32): CPUPooling.buildPool,
        Key(.averagePool, .f32): CPUPooling.buildPool,
        Key(.globalAveragePool, .f32): CPUPooling.buildPool,
        Key(.resize, .f32): CPUPooling.buildResize,
        Key(.upsample, .f32): CPUPooling.buildResize,
        Key(.pad, .f32): CPUPooling.buildPad,
        Key(.instanceNormalization, .f32): CPUPooling.buildInstanceNorm,
        Key(.transpose, .f32): CPUPooling.buildTranspose,
        Key(.concat, .f32): CPUPooling.buildConcat,
        Key(.split, .f32): CPUPooling.buildSplit,
    ]

    public init() {}

    /// Operators that have a fast kernel.
    public static var acceleratedOps: Set<OpKind> { Set(table.keys.map(\.op)) }

    public func compile(_ node: Node, inputs: [ValueInfo?], outputs: [ValueInfo], options: CompileOptions) -> CompiledKernel? {
        guard let dtype = inputs.first??.dtype else { return nil }
        // Convolutions an int8 plan quantized carry their input scale.
        if node.op == .fusedConv, node.attributes["input_scale"] != nil {
            return CPUInt8Conv.build(node, inputs, outputs, options)
        }
        guard let build = Self.table[Key(node.op, dtype)] else { return nil }
        return build(node, inputs, outputs, options)
    }
}
