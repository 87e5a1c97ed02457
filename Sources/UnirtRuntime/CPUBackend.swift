import UnirtIR

/// The CPU backend: a table of fast kernels keyed by (op, dtype, layout);
/// anything not in the table runs the operator's reference kernel.
public struct CPUBackend: Backend {
    public let name = "cpu"

    /// The one table of fast CPU kernels.
    static let table: [KernelKey: Kernel] = [
        KernelKey(.conv, .f32): CPUConv.run,
        KernelKey(.gemm, .f32): CPUGemm.gemm,
        KernelKey(.matMul, .f32): CPUGemm.matMul,
    ]

    public init() {}

    public func kernel(for node: Node, inputs: [ValueInfo?]) -> Kernel? {
        guard let dtype = inputs.first??.dtype else { return nil }
        guard let k = Self.table[KernelKey(node.op, dtype)] else { return nil }
        if node.op == .conv, inputs.first??.shape.count != 4 { return nil }
        if node.op == .matMul, let a = inputs[0], let b = inputs[1], a.shape.count < 2 || b.shape.count != 2 { return nil }
        return k
    }
}
