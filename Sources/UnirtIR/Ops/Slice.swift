/// `Slice`: takes `data[starts:ends:steps]` along `axes`, NumPy style. Before
/// opset 10 starts/ends/axes are attributes; from opset 10 they are constant
/// inputs, with optional `axes` and `steps` (negative steps walk backwards).
/// Negative indices count from the end and out-of-range ones are clamped, so
/// INT64_MAX / INT64_MIN mean "to the end".
public enum SliceOp: Operator {
    public static let schema = OpSchema(inputs: 1...5, attributes: ["starts", "ends", "axes"], sinceOpset: 1,
                                        summary: "strided sub-tensor along axes")

    public static func validate(_ node: Node) throws {
        if node.opset >= 10 {
            for a in ["starts", "ends", "axes"] where node.attributes[a] != nil {
                throw node.error(.invalidModel, "attribute '\(a)' is an input from opset 10")
            }
            guard node.hasInput(1), node.hasInput(2) else {
                throw node.error(.invalidModel, "inputs 'starts' and 'ends' are required from opset 10")
            }
        } else {
            guard node.inputs.count == 1 else {
                throw node.error(.invalidModel, "has \(node.inputs.count) inputs; before opset 10 Slice takes only data")
            }
            guard try node.ints("starts") != nil, try node.ints("ends") != nil else {
                throw node.error(.invalidModel, "attributes 'starts' and 'ends' are required")
            }
            _ = try node.ints("axes")
        }
    }

    /// The selection along one axis: `count` elements at `start`, `start + step`, ….
    struct Range {
        var start: Int
        var step: Int
        var count: Int
    }

    /// A constant integer input as a list, or nil when the input is omitted.
    private static func constantList(_ node: Node, _ inputs: [ValueInfo?], _ i: Int, _ what: String) throws -> [Int]? {
        guard node.hasInput(i), i < inputs.count, let v = inputs[i] else { return nil }
        guard let c = v.constant else {
            throw node.error(.unsupported, "input '\(node.inputs[i])' (\(what)) must be computable before run time")
        }
        guard !c.dtype.isFloating, c.shape.count <= 1 else {
            throw node.error(.invalidModel, "input '\(what)' must be a 1-D integer tensor, got \(c.typeDescription)")
        }
        return c.ints.map { Int($0) }
    }

    /// Per-axis selections for an input of shape `shape`.
    static func ranges(_ node: Node, shape: [Int], _ inputs: [ValueInfo?]) throws -> [Range] {
        let rank = shape.count
        let starts: [Int], ends: [Int]
        var axes: [Int]?, steps: [Int]?
        if node.opset < 10 {
            starts = try node.ints("starts") ?? []
            ends = try node.ints("ends") ?? []
            axes = try node.ints("axes")
        } else {
            guard let s = try constantList(node, inputs, 1, "starts"), let e = try constantList(node, inputs, 2, "ends") else {
                throw node.error(.invalidModel, "inputs 'starts' and 'ends' are required")
            }
            starts = s
            ends = e
            axes = try constantList(node, inputs, 3, "axes")
            steps = try constantList(node, inputs, 4, "steps")
        }
        let n = starts.count
        guard ends.count == n else {
            throw node.error(.invalidModel, "starts \(starts) and ends \(ends) have different lengths")
        }
        let axisList = axes ?? Array(0..<n)
        let stepList = steps ?? [Int](repeating: 1, count: n)
        guard axisList.count == n, stepList.count == n else {
            throw node.error(.invalidModel, "starts, ends, axes and steps must have the same length (\(n), \(axisList.count), \(stepList.count))")
        }
        var out = shape.map { Range(start: 0, step: 1, count: $0) }
        var seen = Set<Int>()
        for k in 0..<n {
            guard rank > 0, let d = Shapes.axis(axisList[k], rank: rank) else {
                throw node.error(.invalidModel, "axis \(axisList[k]) is out of range for input shape \(shape)")
            }
            guard seen.insert(d).inserted else { throw node.error(.invalidModel, "axes \(axisList) repeat axis \(d)") }
            let step = stepList[k]
            guard step != 0 else { throw node.error(.invalidModel, "steps must not be 0") }
            let dim = shape[d]
            var s = starts[k], e = ends[k]
            if s < 0 { s += dim }   // Int64.min + dim cannot overflow
            if e < 0 { e += dim }
            let count: Int
            if step > 0 {
                s = Swift.min(Swift.max(s, 0), dim)
                e = Swift.min(Swift.max(e, 0), dim)
                count = e > s ? (e - s - 1) / step + 1 : 0
            } else {
                s = Swift.min(Swift.max(s, 0), dim - 1)
                e = Swift.min(Swift.max(e, -1), dim - 1)
                let mag = step == Int.min ? Int.max : -step
                count = s > e ? (s - e - 1) / mag + 1 : 0
            }
            // A step larger than the dimension reaches at most one element.
            let clampedStep = count <= 1 ? (step > 0 ? 1 : -1) : step
            out[d] = Range(start: count == 0 ? 0 : s, step: clampedStep, count: count)
        }
        return out
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let r = try ranges(node, shape: x.shape, inputs)
        return [ValueInfo(dtype: x.dtype, shape: r.map(\.count))]
    }

    /// Builds a tensor of shape `maps.map(\.count)` whose element at index `(i0, i1, …)`
    /// is `src` at `(maps[0][i0], maps[1][i1], …)` (input shape `shape`), or `fill`
    /// when any of those is -1.
    public static func gather<T>(_ src: [T], shape: [Int], maps: [[Int]], fill: T) -> [T] {
        let outShape = maps.map(\.count)
        let n = outShape.reduce(1, *)
        if n == 0 { return [] }
        let rank = shape.count
        if rank == 0 { return src }
        let strides = Shapes.strides(shape)
        // Offsets per axis (or -1 for fill).
        let offs: [[Int]] = (0..<rank).map { d in maps[d].map { $0 < 0 ? -1 : $0 * strides[d] } }
        let last = rank - 1
        let lastOffs = offs[last]
        let inner = outShape[last]
        var out = [T]()
        out.reserveCapacity(n)
        src.withUnsafeBufferPointer { v in
            var idx = [Int](repeating: 0, count: rank)
            for _ in 0..<(n / inner) {
                var base = 0
                var valid = true
                for d in 0..<last {
                    let o = offs[d][idx[d]]
                    if o < 0 { valid = false; break }
                    base += o
                }
                if valid {
                    for j in 0..<inner {
                        let o = lastOffs[j]
                        out.append(o < 0 ? fill : v[base + o])
                    }
                } else {
                    out.append(contentsOf: repeatElement(fill, count: inner))
                }
                var d = last - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < outShape[d] { break }
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let infos = inputs.map { $0.map { ValueInfo($0) } }
        let r = (try? ranges(node, shape: x.shape, infos)) ?? x.shape.map { Range(start: 0, step: 1, count: $0) }
        let maps = r.map { rg in (0..<rg.count).map { rg.start + $0 * rg.step } }
        let shape = outputs[0].shape
        switch x.storage {
        case .float(let v):
            return [Tensor(shape: shape, floats: gather(v, shape: x.shape, maps: maps, fill: 0), dtype: x.dtype)]
        case .int(let v):
            return [Tensor(shape: shape, ints: gather(v, shape: x.shape, maps: maps, fill: 0), dtype: x.dtype)]
        }
    }
}
