import UnirtIR

extension Tensor {
    /// Tensors joined along axis 0; all must share dtype and trailing shape.
    static func concatenated(_ parts: [Tensor]) -> Tensor {
        guard var first = parts.first else { preconditionFailure("nothing to concatenate") }
        if parts.count == 1 { return first }
        let rows = parts.reduce(0) { $0 + ($1.shape.first ?? 1) }
        switch first.storage {
        case .float:
            var all: [Float] = []
            all.reserveCapacity(parts.reduce(0) { $0 + $1.count })
            for p in parts { all.append(contentsOf: p.floats) }
            first.storage = .float(all)
        case .int:
            var all: [Int64] = []
            all.reserveCapacity(parts.reduce(0) { $0 + $1.count })
            for p in parts { all.append(contentsOf: p.ints) }
            first.storage = .int(all)
        }
        first.shape = [rows] + first.shape.dropFirst()
        return first
    }

    /// Rows `start..<start+count` along axis 0.
    func rows(_ start: Int, _ count: Int) -> Tensor {
        guard let total = shape.first, total > 0 else { return self }
        if start == 0 && count == total { return self }
        let per = self.count / total
        var t = self
        t.shape[0] = count
        switch storage {
        case .float(let v): t.storage = .float(Array(v[start * per..<(start + count) * per]))
        case .int(let v): t.storage = .int(Array(v[start * per..<(start + count) * per]))
        }
        return t
    }
}
