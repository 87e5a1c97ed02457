/// `Expand`: broadcasts the input to a shape given by a constant int64 `shape`
/// input, with NumPy (bidirectional) rules: the output shape is the broadcast of
/// the input shape and `shape`, so a 1 in `shape` keeps the input's dimension and
/// `shape` may have fewer dimensions than the input.
public enum ExpandOp: Operator {
    public static let schema = OpSchema(inputs: 2...2, sinceOpset: 8, summary: "broadcast x to a shape (bidirectional)")

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard inputs.count == 2, let x = inputs[0], let s = inputs[1] else {
            throw node.error(.invalidModel, "needs input and shape inputs")
        }
        guard let value = s.constant else {
            throw node.error(.unsupported, "input 'shape' ('\(node.inputs[1])') must be computable before run time")
        }
        guard !value.dtype.isFloating, value.shape.count <= 1 else {
            throw node.error(.invalidModel, "input 'shape' must be a 1-D integer tensor, got \(value.typeDescription)")
        }
        let dims = value.ints
        guard dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else {
            throw node.error(.invalidModel, "input 'shape' has invalid dimensions \(dims)")
        }
        let target = dims.map { Int($0) }
        guard let shape = Shapes.broadcast(x.shape, target) else {
            throw node.error(.invalidModel, "cannot expand shape \(x.shape) to \(target)")
        }
        return [ValueInfo(dtype: x.dtype, shape: shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let shape = outputs[0].shape
        let sx = Shapes.broadcastStrides(x.shape, to: shape)
        let n = shape.reduce(1, *)
        switch x.storage {
        case .float(let v):
            var out = [Float](repeating: 0, count: n)
            Elementwise.forEachBroadcast(shape, sx, sx) { o, i, _ in out[o] = v[i] }
            return [Tensor(shape: shape, floats: out, dtype: x.dtype)]
        case .int(let v):
            var out = [Int64](repeating: 0, count: n)
            Elementwise.forEachBroadcast(shape, sx, sx) { o, i, _ in out[o] = v[i] }
            return [Tensor(shape: shape, ints: out, dtype: x.dtype)]
        }
    }
}
