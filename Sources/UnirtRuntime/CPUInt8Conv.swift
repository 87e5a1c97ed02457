import UnirtIR

/// INT8 convolution for nodes of int8 plans (u8 activations × s8 weights).
enum CPUInt8Conv {
    static func build(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        nil
    }
}
