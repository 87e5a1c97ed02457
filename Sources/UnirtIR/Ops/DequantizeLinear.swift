/// `DequantizeLinear`: `y = (x - x_zero_point) * x_scale` for int8, uint8, int16
/// or int32 `x`. The scale (and zero point, same shape) is a scalar (per
/// tensor), a 1-D tensor along `axis` (per axis, opset 13+), or, with
/// `block_size` > 0 (opset 21), a tensor of the input's rank whose dimension
/// `axis` is `ceil(x.shape[axis] / block_size)` (blocked).
public enum DequantizeLinearOp: Operator {
    public static let schema = OpSchema(inputs: 2...3, attributes: ["axis", "block_size", "output_dtype"], sinceOpset: 10,
                                        summary: "y = (x - zero_point) * scale")

    /// How scale and zero-point entries map onto the elements of the quantized tensor.
    ///
    /// Viewing the data tensor as `[outer, n, inner]` around the quantization axis,
    /// element `(o, i, r)` uses scale entry `o * outerStride + (i / block) * axisStride + r * innerStride`.
    public struct Granularity: Sendable, Equatable {
        public var outer: Int
        public var n: Int
        public var inner: Int
        public var block: Int
        public var outerStride: Int
        public var axisStride: Int
        public var innerStride: Int

        /// One scale for the whole tensor of `count` elements.
        public static func perTensor(count: Int) -> Granularity {
            Granularity(outer: 1, n: count, inner: 1, block: 1, outerStride: 0, axisStride: 0, innerStride: 0)
        }

        /// Visits every element index with the index of its scale entry.
        @inline(__always)
        func forEach(_ body: (_ element: Int, _ scale: Int) -> Void) {
            var e = 0
            for o in 0..<outer {
                let so = o * outerStride
                for i in 0..<n {
                    let si = so + (i / block) * axisStride
                    for r in 0..<inner {
                        body(e, si + r * innerStride)
                        e += 1
                    }
                }
            }
        }
    }

    /// Works out the quantization granularity from the data shape `x` and the
    /// scale / zero-point shapes; `scaleName` names the scale input in messages.
    public static func granularity(_ node: Node, x: [Int], scale: [Int], zeroPoint: [Int]?,
                                   scaleName: String) throws -> Granularity {
        let rank = x.count
        let scaleCount = scale.reduce(1, *)
        if let zp = zeroPoint, zp != scale, !(zp.reduce(1, *) == 1 && scaleCount == 1 && zp.count <= 1 && scale.count <= 1) {
            throw node.error(.invalidModel, "zero point shape \(zp) does not match \(scaleName) shape \(scale)")
        }
        let block = try node.int("block_size", default: 0)
        guard block >= 0 else { throw node.error(.invalidModel, "attribute block_size=\(block) must not be negative") }
        if scaleCount == 1 && scale.count <= 1 {
            return .perTensor(count: x.reduce(1, *))
        }
        let a = try node.int("axis", default: 1)
        guard rank >= 1, let axis = Shapes.axis(a, rank: rank) else {
            throw node.error(.invalidModel, "axis \(a) is out of range for input shape \(x)")
        }
        let outer = x[..<axis].reduce(1, *)
        let inner = x[(axis + 1)...].reduce(1, *)
        let n = x[axis]
        if block > 0 {
            guard scale.count == rank else {
                throw node.error(.invalidModel, "blocked quantization needs \(scaleName) of rank \(rank) like the input \(x), got \(scale)")
            }
            let blocks = (n + block - 1) / block
            for d in 0..<rank {
                let want = d == axis ? blocks : x[d]
                guard scale[d] == want else {
                    throw node.error(.invalidModel, "\(scaleName) shape \(scale) does not fit input \(x) with axis \(axis) and block_size \(block) (expected \(want) at dimension \(d))")
                }
            }
            return Granularity(outer: outer, n: n, inner: inner, block: block,
                               outerStride: blocks * inner, axisStride: inner, innerStride: 1)
        }
        guard scale.count == 1 else {
            throw node.error(.invalidModel, "\(scaleName) shape \(scale) must be a scalar or 1-D (blocked quantization needs block_size > 0)")
        }
        guard node.opset >= 13 else {
            throw node.error(.invalidModel, "\(scaleName) must be a scalar before opset 13, got shape \(scale)")
        }
        guard scale[0] == n else {
            throw node.error(.invalidModel, "\(scaleName) has \(scale[0]) entries but axis \(axis) of input \(x) has size \(n)")
        }
        return Granularity(outer: outer, n: n, inner: inner, block: 1, outerStride: 0, axisStride: 1, innerStride: 0)
    }

    public static func validate(_ node: Node) throws {
        _ = try node.int("axis", default: 1)
        let block = try node.int("block_size", default: 0)
        guard block >= 0 else { throw node.error(.invalidModel, "attribute block_size=\(block) must not be negative") }
        let od = try node.int("output_dtype", default: 0)
        guard od == 0 || od == 1 else {
            throw node.error(.unsupported, "attribute output_dtype=\(od) is not supported (supported: 0, 1 = float)")
        }
    }

    static let quantizedTypes: [DType] = [.i8, .u8, .i16, .i32]

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard inputs.count >= 2, let x = inputs[0], let s = inputs[1] else {
            throw node.error(.invalidModel, "needs x and x_scale inputs")
        }
        guard quantizedTypes.contains(x.dtype) else {
            throw node.error(.invalidModel, "x must be int8, uint8, int16 or int32, got \(x.dtype.rawValue)")
        }
        guard s.dtype.isFloating else {
            throw node.error(.invalidModel, "x_scale must be a float tensor, got \(s.dtype.rawValue)")
        }
        let zp = inputs.count > 2 ? inputs[2] : nil
        if let zp, zp.dtype != x.dtype {
            throw node.error(.invalidModel, "x_zero_point type \(zp.dtype.rawValue) differs from x type \(x.dtype.rawValue)")
        }
        _ = try granularity(node, x: x.shape, scale: s.shape, zeroPoint: zp?.shape, scaleName: "x_scale")
        let od = try node.int("output_dtype", default: 0)
        return [ValueInfo(dtype: od == 1 ? .f32 : s.dtype, shape: x.shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!, s = inputs[1]!
        let zpT: Tensor? = inputs.count > 2 ? inputs[2] : nil
        let g = (try? granularity(node, x: x.shape, scale: s.shape, zeroPoint: zpT?.shape, scaleName: "x_scale"))
            ?? .perTensor(count: x.count)
        let sv = s.floats
        let zv = zpT?.ints ?? [Int64](repeating: 0, count: sv.count)
        var out = [Float](repeating: 0, count: x.count)
        // 8-bit weights imported as exact float values: the same products, no Int64 copy.
        if case .float(let xf) = x.storage, x.dtype.byteSize == 1 {
            out.withUnsafeMutableBufferPointer { o in
                xf.withUnsafeBufferPointer { xp in
                    g.forEach { e, k in o[e] = (xp[e] - Float(zv[k])) * sv[k] }
                }
            }
            return [Tensor(shape: x.shape, floats: out, dtype: outputs[0].dtype)]
        }
        let xv = x.ints
        out.withUnsafeMutableBufferPointer { o in
            xv.withUnsafeBufferPointer { xp in
                sv.withUnsafeBufferPointer { sp in
                    zv.withUnsafeBufferPointer { zp in
                        g.forEach { e, k in
                            o[e] = Float(xp[e] - zp[k]) * sp[k]
                        }
                    }
                }
            }
        }
        return [Tensor(shape: x.shape, floats: out, dtype: outputs[0].dtype)]
    }
}
