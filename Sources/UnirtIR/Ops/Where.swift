/// `Where`: y = condition ? x : y, elementwise, with NumPy broadcasting across
/// all three inputs. `condition` is `bool`; `X` and `Y` share any element type.
public enum WhereOp: Operator {
    public static let schema = OpSchema(inputs: 3...3, sinceOpset: 9, summary: "y = cond ? x : y (broadcasting)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard inputs.count == 3, let c = inputs[0], let x = inputs[1], let y = inputs[2] else {
            throw node.error(.invalidModel, "expects inputs condition, X and Y")
        }
        guard c.dtype == .bool else {
            throw node.error(.invalidModel, "input 'condition' must be bool, got \(c.dtype.rawValue)")
        }
        guard x.dtype == y.dtype else {
            throw node.error(.invalidModel, "input types \(x.dtype.rawValue) and \(y.dtype.rawValue) differ")
        }
        guard let xy = Shapes.broadcast(x.shape, y.shape), let shape = Shapes.broadcast(c.shape, xy) else {
            throw node.error(.invalidModel, "input shapes \(c.shape), \(x.shape) and \(y.shape) do not broadcast")
        }
        return [ValueInfo(dtype: x.dtype, shape: shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let c = inputs[0]!, x = inputs[1]!, y = inputs[2]!
        let shape = outputs[0].shape
        let cond = c.ints
        switch (x.storage, y.storage) {
        case (.int(let vx), .int(let vy)):
            return [Tensor(shape: shape, ints: select(cond, c.shape, vx, x.shape, vy, y.shape, shape),
                           dtype: outputs[0].dtype)]
        default:
            return [Tensor(shape: shape, floats: select(cond, c.shape, x.floats, x.shape, y.floats, y.shape, shape),
                           dtype: x.dtype.isFloating ? x.dtype : .f32)]
        }
    }

    /// Picks from `a` where `cond` is nonzero and from `b` elsewhere, reading all
    /// three broadcast to `shape`.
    static func select<T>(_ cond: [Int64], _ cShape: [Int], _ a: [T], _ aShape: [Int],
                          _ b: [T], _ bShape: [Int], _ shape: [Int]) -> [T] {
        let n = shape.reduce(1, *)
        guard n > 0 else { return [] }
        let sc = Shapes.broadcastStrides(cShape, to: shape)
        let sa = Shapes.broadcastStrides(aShape, to: shape)
        let sb = Shapes.broadcastStrides(bShape, to: shape)
        let rank = shape.count
        var out = [T]()
        out.reserveCapacity(n)
        var idx = [Int](repeating: 0, count: rank)
        var ic = 0, ia = 0, ib = 0
        for _ in 0..<n {
            out.append(cond[ic] != 0 ? a[ia] : b[ib])
            var d = rank - 1
            while d >= 0 {
                idx[d] += 1
                ic += sc[d]; ia += sa[d]; ib += sb[d]
                if idx[d] < shape[d] { break }
                ic -= sc[d] * shape[d]; ia -= sa[d] * shape[d]; ib -= sb[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
        return out
    }
}
