/// `Transpose`: permutes the axes of a tensor of any rank; output axis `i` is
/// input axis `perm[i]`. Without `perm` the axes are reversed.
public enum TransposeOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["perm"], sinceOpset: 1,
                                        summary: "permute axes (default: reverse)")

    public static func validate(_ node: Node) throws {
        if let perm = try node.ints("perm") {
            guard Set(perm).count == perm.count, perm.allSatisfy({ $0 >= 0 && $0 < perm.count }) else {
                throw node.error(.invalidModel, "attribute perm=\(perm) is not a permutation of 0..<\(perm.count)")
            }
        }
    }

    /// The permutation for an input of rank `rank`.
    static func permutation(_ node: Node, rank: Int) throws -> [Int] {
        guard let perm = try node.ints("perm") else { return Array((0..<rank).reversed()) }
        guard perm.count == rank else {
            throw node.error(.invalidModel, "attribute perm=\(perm) has \(perm.count) entries but the input has rank \(rank)")
        }
        guard Set(perm).count == rank, perm.allSatisfy({ $0 >= 0 && $0 < rank }) else {
            throw node.error(.invalidModel, "attribute perm=\(perm) is not a permutation of 0..<\(rank)")
        }
        return perm
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let perm = try permutation(node, rank: x.shape.count)
        return [ValueInfo(dtype: x.dtype, shape: perm.map { x.shape[$0] })]
    }

    /// Row-major transpose of `values` (shape `shape`) so that output axis `i` is input axis `perm[i]`.
    public static func permute<T>(_ values: [T], shape: [Int], perm: [Int]) -> [T] {
        let n = values.count
        let rank = shape.count
        if n == 0 || rank <= 1 || perm == Array(0..<rank) { return values }
        let inStrides = Shapes.strides(shape)
        let outShape = perm.map { shape[$0] }
        let src = perm.map { inStrides[$0] }   // input stride of each output axis
        let last = rank - 1
        let inner = outShape[last], innerStride = src[last]
        var out = [T]()
        out.reserveCapacity(n)
        values.withUnsafeBufferPointer { v in
            var idx = [Int](repeating: 0, count: rank)
            var base = 0
            let rows = n / inner
            for _ in 0..<rows {
                var j = base
                for _ in 0..<inner {
                    out.append(v[j])
                    j += innerStride
                }
                // Advance the odometer over the outer output axes.
                var d = last - 1
                while d >= 0 {
                    idx[d] += 1
                    base += src[d]
                    if idx[d] < outShape[d] { break }
                    base -= src[d] * outShape[d]
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let perm = (try? permutation(node, rank: x.shape.count)) ?? Array((0..<x.shape.count).reversed())
        let shape = outputs[0].shape
        switch x.storage {
        case .float(let v):
            return [Tensor(shape: shape, floats: permute(v, shape: x.shape, perm: perm), dtype: x.dtype)]
        case .int(let v):
            return [Tensor(shape: shape, ints: permute(v, shape: x.shape, perm: perm), dtype: x.dtype)]
        }
    }
}
