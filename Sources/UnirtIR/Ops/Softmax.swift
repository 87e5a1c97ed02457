import Foundation

/// `Softmax`: exp(x - max) / sum(exp(x - max)). From opset 13 it normalizes along
/// `axis` (default -1); before 13 the input is coerced to 2-D at `axis` (default 1)
/// and each row [axis…] is normalized as one vector.
public enum SoftmaxOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["axis"], sinceOpset: 1,
                                        summary: "normalized exponential along an axis")

    /// (outer, length, inner): the input viewed as [outer, length, inner], normalized along `length`.
    public static func layout(_ node: Node, shape: [Int]) throws -> (outer: Int, length: Int, inner: Int) {
        let rank = shape.count
        let legacy = node.opset < 13
        let a = try node.int("axis", default: legacy ? 1 : -1)
        if rank == 0 {
            guard a == 0 || a == -1 else { throw node.error(.invalidModel, "axis \(a) is out of range for a scalar") }
            return (1, 1, 1)
        }
        // Before opset 13 axis = rank is accepted (every row has one element).
        let axis: Int
        if legacy && a == rank {
            axis = rank
        } else {
            guard let v = Shapes.axis(a, rank: rank) else {
                throw node.error(.invalidModel, "axis \(a) is out of range for rank \(rank)")
            }
            axis = v
        }
        let outer = shape[0..<axis].reduce(1, *)
        if legacy { return (outer, shape[axis...].reduce(1, *), 1) }
        return (outer, shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input is missing") }
        guard x.dtype.isFloating else {
            throw node.error(.invalidModel, "Softmax requires floating-point inputs (input is \(x.dtype))")
        }
        _ = try layout(node, shape: x.shape)
        return [ValueInfo(dtype: x.dtype, shape: x.shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        guard let lay = try? layout(node, shape: x.shape) else {
            return [Tensor(zeros: x.shape, dtype: x.dtype)]
        }
        let (outer, length, inner) = lay
        var y = x.floats
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var m = -Float.infinity
                for l in 0..<length { m = max(m, y[base + l * inner]) }
                var sum: Double = 0
                for l in 0..<length {
                    let e = Foundation.exp(y[base + l * inner] - m)
                    y[base + l * inner] = e
                    sum += Double(e)
                }
                let inv = Float(1 / sum)
                for l in 0..<length { y[base + l * inner] *= inv }
            }
        }
        return [Tensor(shape: x.shape, floats: y, dtype: x.dtype)]
    }
}
