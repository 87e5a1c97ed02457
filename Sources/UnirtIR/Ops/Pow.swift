import Foundation

/// `Pow`: z = xʸ elementwise with NumPy broadcasting. The output has the type of
/// the base `X`; from opset 12 the exponent `Y` may have another numeric type.
/// Integer bases with integer exponents use exact (wrapping) integer powers; an
/// integer base with a floating exponent is computed in double precision and
/// truncated toward zero.
public enum PowOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, sinceOpset: 7, summary: "z = x ^ y (broadcasting)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.broadcastShapes(node, inputs)
        let base = inputs[0]!, exponent = inputs[1]!
        if base.dtype == .bool || exponent.dtype == .bool {
            throw node.error(.invalidModel, "expects numeric inputs, got \(base.dtype.rawValue) and \(exponent.dtype.rawValue)")
        }
        if node.opset < 12 && base.dtype != exponent.dtype {
            throw node.error(.invalidModel, "input types \(base.dtype.rawValue) and \(exponent.dtype.rawValue) differ (allowed from opset 12)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!, y = inputs[1]!
        let shape = outputs[0].shape, dtype = outputs[0].dtype
        if x.dtype.isFloating {
            return [Elementwise.binaryFloat(x, y, shape: shape, dtype: dtype) { Foundation.pow($0, $1) }]
        }
        if !y.dtype.isFloating {
            return [Elementwise.binaryInt(x, y, shape: shape, dtype: dtype) { dtype.wrap(intPow($0, $1)) }]
        }
        // Integer base, floating exponent.
        let vx = x.ints, vy = y.floats
        var out = [Int64](repeating: 0, count: shape.reduce(1, *))
        let sx = Shapes.broadcastStrides(x.shape, to: shape)
        let sy = Shapes.broadcastStrides(y.shape, to: shape)
        Elementwise.forEachBroadcast(shape, sx, sy) { o, i, j in
            out[o] = dtype.wrap(truncatedInt(Foundation.pow(Double(vx[i]), Double(vy[j]))))
        }
        return [Tensor(shape: shape, ints: out, dtype: dtype)]
    }

    /// bᵉ with wrapping multiplication; negative exponents give the truncated
    /// quotient 1 / bⁿ (0 unless |b| = 1, and 0 for b = 0).
    static func intPow(_ b: Int64, _ e: Int64) -> Int64 {
        if e < 0 {
            switch b {
            case 1: return 1
            case -1: return e & 1 == 0 ? 1 : -1
            default: return 0
            }
        }
        var result: Int64 = 1, base = b, n = e
        while n > 0 {
            if n & 1 == 1 { result = result &* base }
            base = base &* base
            n >>= 1
        }
        return result
    }

    /// `v` truncated toward zero; NaN gives 0 and out-of-range values saturate.
    static func truncatedInt(_ v: Double) -> Int64 {
        if v.isNaN { return 0 }
        if v >= 9.223372036854775807e18 { return Int64.max }
        if v <= -9.223372036854775808e18 { return Int64.min }
        return Int64(v)
    }
}
