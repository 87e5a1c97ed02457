/// `QuantizeLinear`: `y = saturate(round(x / y_scale) + y_zero_point)`, rounding
/// half to even, into uint8 (default), int8 or int16 as given by the zero
/// point's type or `output_dtype`. Granularity (per tensor, per axis, blocked)
/// follows the scale's shape as for `DequantizeLinear`.
public enum QuantizeLinearOp: Operator {
    public static let schema = OpSchema(inputs: 2...3, attributes: ["axis", "saturate", "block_size", "output_dtype"],
                                        sinceOpset: 10, summary: "y = saturate(round(x / scale) + zero_point)")

    /// ONNX TensorProto element type codes accepted for `output_dtype`.
    static let outputTypes: [Int: DType] = [2: .u8, 3: .i8, 5: .i16]

    public static func validate(_ node: Node) throws {
        _ = try node.int("axis", default: 1)
        let block = try node.int("block_size", default: 0)
        guard block >= 0 else { throw node.error(.invalidModel, "attribute block_size=\(block) must not be negative") }
        let sat = try node.int("saturate", default: 1)
        guard sat == 0 || sat == 1 else { throw node.error(.invalidModel, "attribute saturate=\(sat) must be 0 or 1") }
        let od = try node.int("output_dtype", default: 0)
        guard od == 0 || outputTypes[od] != nil else {
            throw node.error(.unsupported, "attribute output_dtype=\(od) is not supported (supported: 2 = uint8, 3 = int8, 5 = int16)")
        }
    }

    /// The saturation range of a quantized type.
    static func range(_ t: DType) -> (lo: Float, hi: Float) {
        switch t {
        case .i8: return (-128, 127)
        case .i16: return (-32768, 32767)
        default: return (0, 255)
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard inputs.count >= 2, let x = inputs[0], let s = inputs[1] else {
            throw node.error(.invalidModel, "needs x and y_scale inputs")
        }
        guard x.dtype.isFloating || x.dtype == .i32 else {
            throw node.error(.invalidModel, "x must be a float or int32 tensor, got \(x.dtype.rawValue)")
        }
        guard s.dtype.isFloating else {
            throw node.error(.invalidModel, "y_scale must be a float tensor, got \(s.dtype.rawValue)")
        }
        let zp = inputs.count > 2 ? inputs[2] : nil
        var out: DType = .u8
        if let zp {
            guard [DType.u8, .i8, .i16].contains(zp.dtype) else {
                throw node.error(.unsupported, "quantizing to \(zp.dtype.rawValue) (type of y_zero_point) is not supported (supported: u8, i8, i16)")
            }
            out = zp.dtype
        }
        let od = try node.int("output_dtype", default: 0)
        if od != 0, let t = outputTypes[od] {
            if let zp, zp.dtype != t {
                throw node.error(.invalidModel, "output_dtype=\(od) (\(t.rawValue)) differs from the y_zero_point type \(zp.dtype.rawValue)")
            }
            out = t
        }
        _ = try DequantizeLinearOp.granularity(node, x: x.shape, scale: s.shape, zeroPoint: zp?.shape, scaleName: "y_scale")
        return [ValueInfo(dtype: out, shape: x.shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!, s = inputs[1]!
        let zpT: Tensor? = inputs.count > 2 ? inputs[2] : nil
        let g = (try? DequantizeLinearOp.granularity(node, x: x.shape, scale: s.shape, zeroPoint: zpT?.shape, scaleName: "y_scale"))
            ?? .perTensor(count: x.count)
        let dtype = outputs[0].dtype
        let (lo, hi) = range(dtype)
        let xv = x.floats, sv = s.floats
        let zv = (zpT?.ints ?? [Int64](repeating: 0, count: sv.count)).map { Float($0) }
        var out = [Int64](repeating: 0, count: x.count)
        out.withUnsafeMutableBufferPointer { o in
            xv.withUnsafeBufferPointer { xp in
                sv.withUnsafeBufferPointer { sp in
                    zv.withUnsafeBufferPointer { zp in
                        g.forEach { e, k in
                            var q = (xp[e] / sp[k]).rounded(.toNearestOrEven) + zp[k]
                            if q.isNaN { q = zp[k] }
                            q = q < lo ? lo : (q > hi ? hi : q)
                            o[e] = Int64(q)
                        }
                    }
                }
            }
        }
        return [Tensor(shape: x.shape, ints: out, dtype: dtype)]
    }
}
