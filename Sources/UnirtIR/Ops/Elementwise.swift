/// Shared building blocks for elementwise operators (not an operator itself).
public enum Elementwise {
    /// Shape inference for a unary op: same type and shape as input 0.
    public static func sameAsInput(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        return [ValueInfo(dtype: x.dtype, shape: x.shape)]
    }

    /// Shape inference for a broadcasting binary op; `resultType` nil keeps the input type.
    public static func broadcastShapes(_ node: Node, _ inputs: [ValueInfo?], resultType: DType? = nil) throws -> [ValueInfo] {
        guard inputs.count >= 2, let a = inputs[0], let b = inputs[1] else {
            throw node.error(.invalidModel, "expects two inputs")
        }
        guard let shape = Shapes.broadcast(a.shape, b.shape) else {
            throw node.error(.invalidModel, "input shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        return [ValueInfo(dtype: resultType ?? a.dtype, shape: shape)]
    }

    /// Applies `f` to every float element of `x`.
    public static func mapFloat(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
        Tensor(shape: x.shape, floats: x.floats.map(f), dtype: x.dtype.isFloating ? x.dtype : .f32)
    }

    /// Applies `f` (float) or `g` (integer) elementwise, keeping the dtype.
    public static func map(_ x: Tensor, float f: (Float) -> Float, int g: (Int64) -> Int64) -> Tensor {
        switch x.storage {
        case .float(let v): return Tensor(shape: x.shape, floats: v.map(f), dtype: x.dtype)
        case .int(let v): return Tensor(shape: x.shape, ints: v.map(g), dtype: x.dtype)
        }
    }

    /// Visits every index of `shape` with the matching offsets into two broadcast operands.
    public static func forEachBroadcast(_ shape: [Int], _ sa: [Int], _ sb: [Int],
                                        _ body: (_ out: Int, _ ia: Int, _ ib: Int) -> Void) {
        let n = shape.reduce(1, *)
        if n == 0 { return }
        let rank = shape.count
        var idx = [Int](repeating: 0, count: rank)
        var ia = 0, ib = 0
        for o in 0..<n {
            body(o, ia, ib)
            var d = rank - 1
            while d >= 0 {
                idx[d] += 1
                ia += sa[d]
                ib += sb[d]
                if idx[d] < shape[d] { break }
                ia -= sa[d] * shape[d]
                ib -= sb[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// Broadcasting binary op over floats.
    public static func binaryFloat(_ a: Tensor, _ b: Tensor, shape: [Int], dtype: DType,
                                   _ f: (Float, Float) -> Float) -> Tensor {
        let va = a.floats, vb = b.floats
        var out = [Float](repeating: 0, count: shape.reduce(1, *))
        let sa = Shapes.broadcastStrides(a.shape, to: shape)
        let sb = Shapes.broadcastStrides(b.shape, to: shape)
        forEachBroadcast(shape, sa, sb) { o, i, j in out[o] = f(va[i], vb[j]) }
        return Tensor(shape: shape, floats: out, dtype: dtype.isFloating ? dtype : .f32)
    }

    /// Broadcasting binary op over integers.
    public static func binaryInt(_ a: Tensor, _ b: Tensor, shape: [Int], dtype: DType,
                                 _ f: (Int64, Int64) -> Int64) -> Tensor {
        let va = a.ints, vb = b.ints
        var out = [Int64](repeating: 0, count: shape.reduce(1, *))
        let sa = Shapes.broadcastStrides(a.shape, to: shape)
        let sb = Shapes.broadcastStrides(b.shape, to: shape)
        forEachBroadcast(shape, sa, sb) { o, i, j in out[o] = f(va[i], vb[j]) }
        return Tensor(shape: shape, ints: out, dtype: dtype)
    }

    /// Broadcasting arithmetic that keeps the operands' storage domain.
    public static func arithmetic(_ a: Tensor, _ b: Tensor, shape: [Int],
                                  float f: (Float, Float) -> Float, int g: (Int64, Int64) -> Int64) -> Tensor {
        if a.dtype.isFloating || b.dtype.isFloating {
            return binaryFloat(a, b, shape: shape, dtype: a.dtype.isFloating ? a.dtype : b.dtype, f)
        }
        return binaryInt(a, b, shape: shape, dtype: a.dtype, g)
    }
}
