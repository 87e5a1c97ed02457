/// `Pad`: pads (or, with negative amounts, crops) each axis at its beginning and
/// end. Modes: `constant` (fill with the constant value), `reflect` (mirror
/// without repeating the edge) and `edge` (repeat the edge). Before opset 11
/// `pads` and `value` are attributes; from opset 11 `pads` is a constant input
/// with an optional `constant_value` input, and opset 18 adds an optional `axes` input.
public enum PadOp: Operator {
    public static let schema = OpSchema(inputs: 1...4, attributes: ["mode", "pads", "value"], sinceOpset: 2,
                                        summary: "pad or crop axes (constant, reflect, edge)")

    public static func validate(_ node: Node) throws {
        let mode = try node.string("mode", default: "constant")
        switch mode {
        case "constant", "reflect", "edge": break
        case "wrap": throw node.error(.unsupported, "attribute mode='wrap' is not supported (supported: constant, reflect, edge)")
        default: throw node.error(.invalidModel, "attribute mode='\(mode)' is not a Pad mode")
        }
        if node.opset >= 11 {
            for a in ["pads", "value"] where node.attributes[a] != nil {
                throw node.error(.invalidModel, "attribute '\(a)' is an input from opset 11")
            }
            guard node.hasInput(1) else { throw node.error(.invalidModel, "input 'pads' is required from opset 11") }
            if node.opset < 18, node.hasInput(3) {
                throw node.error(.invalidModel, "the 'axes' input exists from opset 18")
            }
        } else {
            guard node.inputs.count == 1 else {
                throw node.error(.invalidModel, "has \(node.inputs.count) inputs; before opset 11 Pad takes only data")
            }
            guard try node.ints("pads") != nil else { throw node.error(.invalidModel, "attribute 'pads' is required") }
            _ = try node.float("value", default: 0)
        }
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

    /// Begin and end amounts per axis (negative crops) for an input of shape `shape`.
    static func amounts(_ node: Node, shape: [Int], _ inputs: [ValueInfo?]) throws -> (begin: [Int], end: [Int]) {
        let rank = shape.count
        let pads: [Int]
        var axes: [Int]? = nil
        if node.opset < 11 {
            pads = try node.ints("pads") ?? []
        } else {
            guard let p = try constantList(node, inputs, 1, "pads") else {
                throw node.error(.invalidModel, "input 'pads' is required")
            }
            pads = p
            axes = try constantList(node, inputs, 3, "axes")
        }
        let axisList = axes ?? Array(0..<rank)
        guard pads.count == 2 * axisList.count else {
            throw node.error(.invalidModel, "pads \(pads) must have \(2 * axisList.count) values (begin and end for \(axisList.count) axes) for input shape \(shape)")
        }
        var begin = [Int](repeating: 0, count: rank), end = begin
        var seen = Set<Int>()
        for (k, a) in axisList.enumerated() {
            guard rank > 0, let d = Shapes.axis(a, rank: rank) else {
                throw node.error(.invalidModel, "axis \(a) is out of range for input shape \(shape)")
            }
            guard seen.insert(d).inserted else { throw node.error(.invalidModel, "axes \(axisList) repeat axis \(d)") }
            begin[d] = pads[k]
            end[d] = pads[k + axisList.count]
        }
        return (begin, end)
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let (begin, end) = try amounts(node, shape: x.shape, inputs)
        let mode = try node.string("mode", default: "constant")
        var shape = x.shape
        for d in 0..<shape.count {
            let kept = x.shape[d] - Swift.max(-begin[d], 0) - Swift.max(-end[d], 0)
            guard kept >= 0 else {
                throw node.error(.invalidModel, "pads \(begin[d]), \(end[d]) crop more than dimension \(d) of size \(x.shape[d])")
            }
            if mode != "constant", kept == 0, begin[d] > 0 || end[d] > 0 {
                throw node.error(.invalidModel, "cannot pad an empty dimension \(d) in mode '\(mode)'")
            }
            shape[d] = kept + Swift.max(begin[d], 0) + Swift.max(end[d], 0)
        }
        if node.opset >= 11, node.hasInput(2), inputs.count > 2, let c = inputs[2] {
            guard c.count <= 1 else {
                throw node.error(.invalidModel, "constant_value must be a scalar, got shape \(c.shape)")
            }
        }
        return [ValueInfo(dtype: x.dtype, shape: shape)]
    }

    /// Input index for each output index along one axis, -1 where the constant goes.
    static func axisMap(size n: Int, begin: Int, end: Int, mode: String) -> [Int] {
        let cropB = Swift.max(-begin, 0), cropE = Swift.max(-end, 0)
        let padB = Swift.max(begin, 0), padE = Swift.max(end, 0)
        let m = n - cropB - cropE   // elements kept from the input
        let outN = m + padB + padE
        return (0..<outN).map { i in
            var k = i - padB   // position within the kept range
            if k < 0 || k >= m {
                if m <= 0 { return -1 }
                switch mode {
                case "edge":
                    k = k < 0 ? 0 : m - 1
                case "reflect":
                    if m == 1 {
                        k = 0
                    } else {
                        let period = 2 * (m - 1)
                        k = ((k % period) + period) % period
                        if k >= m { k = period - k }
                    }
                default:
                    return -1
                }
            }
            return cropB + k
        }
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let mode = (try? node.string("mode", default: "constant")) ?? "constant"
        let infos = inputs.map { $0.map { ValueInfo($0) } }
        let rank = x.shape.count
        let (begin, end) = (try? amounts(node, shape: x.shape, infos))
            ?? ([Int](repeating: 0, count: rank), [Int](repeating: 0, count: rank))
        let maps = (0..<rank).map { axisMap(size: x.shape[$0], begin: begin[$0], end: end[$0], mode: mode) }
        var fill: Tensor? = nil
        if node.opset >= 11 {
            if node.hasInput(2), inputs.count > 2, let c = inputs[2], c.count > 0 { fill = c }
        }
        let shape = outputs[0].shape
        switch x.storage {
        case .float(let v):
            let f: Float = node.opset < 11 ? ((try? node.float("value", default: 0)) ?? 0) : (fill?.floats[0] ?? 0)
            return [Tensor(shape: shape, floats: SliceOp.gather(v, shape: x.shape, maps: maps, fill: f), dtype: x.dtype)]
        case .int(let v):
            let f: Int64
            if node.opset < 11 {
                let value = (try? node.float("value", default: 0)) ?? 0
                f = Int64(exactly: value.rounded(.towardZero)) ?? 0
            } else {
                f = fill?.ints[0] ?? 0
            }
            return [Tensor(shape: shape, ints: SliceOp.gather(v, shape: x.shape, maps: maps, fill: f), dtype: x.dtype)]
        }
    }
}
