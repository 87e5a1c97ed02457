/// `Cast`: converts a tensor to the element type `to` (an ONNX TensorProto data
/// type number). Floats become integers by truncation toward zero (NaN and ±inf
/// give 0), wrapping to the target width; nonzero becomes true for bool.
public enum CastOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["to", "saturate"], sinceOpset: 6,
                                        summary: "y = x converted to element type `to`")

    /// ONNX TensorProto.DataType numbers of the supported targets.
    public static let supportedTargets: [Int: DType] = [
        1: .f32, 2: .u8, 3: .i8, 5: .i16, 6: .i32, 7: .i64, 9: .bool, 10: .f16, 11: .f64,
    ]

    /// Names of the TensorProto data types that unirt does not hold.
    static let unsupportedNames: [Int: String] = [
        0: "undefined", 4: "uint16", 8: "string", 12: "uint32", 13: "uint64", 14: "complex64",
        15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2",
        20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1",
    ]

    /// The target element type named by the `to` attribute.
    public static func target(_ node: Node) throws -> DType {
        guard let to = try node.int("to") else { throw node.error(.invalidModel, "attribute 'to' is required") }
        if let t = supportedTargets[to] { return t }
        if let name = unsupportedNames[to] {
            throw node.error(.unsupported, "attribute to=\(to) (\(name)) is not supported")
        }
        throw node.error(.invalidModel, "attribute to=\(to) is not an ONNX data type")
    }

    public static func validate(_ node: Node) throws {
        _ = try target(node)
        let saturate = try node.int("saturate", default: 1)
        guard saturate == 0 || saturate == 1 else {
            throw node.error(.invalidModel, "attribute saturate=\(saturate) must be 0 or 1")
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        return [ValueInfo(dtype: try target(node), shape: out[0].shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        [inputs[0]!.cast(to: outputs[0].dtype)]
    }
}
