/// One dimension of a declared (not yet specialized) shape.
public enum Dim: Sendable, Hashable, CustomStringConvertible {
    case fixed(Int)
    /// A named dimension such as `batch` or `N`; bound when the graph is specialized.
    case symbolic(String)

    public var description: String {
        switch self {
        case .fixed(let n): return String(n)
        case .symbolic(let s): return s
        }
    }

    public var fixedValue: Int? {
        if case .fixed(let n) = self { return n }
        return nil
    }
}

/// Shape arithmetic shared by operators.
public enum Shapes {
    /// Multidirectional (NumPy) broadcasting of two shapes, or nil when they do not broadcast.
    public static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return out
    }

    /// Row-major strides of a shape, in elements.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Strides for reading `shape` as if broadcast to `target` (0 on broadcast axes).
    public static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let st = strides(shape)
        var out = [Int](repeating: 0, count: target.count)
        let off = target.count - shape.count
        for i in 0..<shape.count where shape[i] != 1 {
            out[i + off] = st[i]
        }
        return out
    }

    /// Normalizes a possibly negative axis against `rank`, or nil when out of range.
    public static func axis(_ a: Int, rank: Int) -> Int? {
        let v = a < 0 ? a + rank : a
        return (0..<max(rank, 1)).contains(v) ? v : nil
    }
}
