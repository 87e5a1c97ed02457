import UnirtIR

/// Shapes that hold whatever sizes the symbolic input dimensions take, as far
/// as two probes can tell.
///
/// The graph is specialized twice with every symbolic dimension bound to a
/// different size (32, then 48); a dimension that comes out equal both times
/// is taken as static. This is evidence, not proof, so passes use it only for
/// rewrites whose mistakes would fail loudly at plan time (shape checks in the
/// fused operator) or that compare a shape with itself. When a probe fails (a
/// graph that needs particular sizes) no facts are known and those rewrites
/// are skipped.
struct ShapeFacts {
    /// Shapes of every value, one map per successful probe.
    private var probes: [[String: [Int]]] = []

    static let probeSizes = [32, 48]

    init(_ graph: Graph) {
        for size in Self.probeSizes {
            var bound: [String: [Int]] = [:]
            for decl in graph.inputs {
                guard let dims = decl.dims else { probes = []; return }
                bound[decl.name] = dims.map { $0.fixedValue ?? size }
            }
            guard let spec = try? graph.specialized(inputShapes: bound, fold: true) else {
                probes = []
                return
            }
            probes.append(spec.values.mapValues(\.shape))
        }
    }

    /// Whether the probes succeeded.
    var isKnown: Bool { !probes.isEmpty }

    /// The shape of `value` when it is the same in every probe.
    func staticShape(_ value: String) -> [Int]? {
        guard let first = probes.first?[value] else { return nil }
        for p in probes.dropFirst() where p[value] != first { return nil }
        return first
    }

    /// The rank of `value`, when known.
    func rank(_ value: String) -> Int? {
        guard let first = probes.first?[value] else { return nil }
        for p in probes.dropFirst() where p[value]?.count != first.count { return nil }
        return first.count
    }

    /// Dimension `axis` of `value` when it is the same in every probe.
    func staticDim(_ value: String, _ axis: Int) -> Int? {
        guard let first = probes.first?[value], axis < first.count else { return nil }
        for p in probes.dropFirst() {
            guard let s = p[value], axis < s.count, s[axis] == first[axis] else { return nil }
        }
        return first[axis]
    }

    /// Whether `a` and `b` have equal shapes in every probe.
    func sameShape(_ a: String, _ b: String) -> Bool {
        guard isKnown else { return false }
        for p in probes {
            guard let sa = p[a], let sb = p[b], sa == sb else { return false }
        }
        return true
    }
}
