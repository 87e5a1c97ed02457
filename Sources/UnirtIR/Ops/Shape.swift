/// `Shape`: the input's shape as a 1-D int64 tensor; opset 15 `start`/`end`
/// select a range of axes (negative counts from the back, clamped to `[0, r]`).
/// The value is known once shapes are, so shape inference returns it as a constant.
public enum ShapeOp: Operator {
    public static let schema = OpSchema(inputs: 1...1, attributes: ["start", "end"], sinceOpset: 1,
                                        summary: "shape of a tensor as int64")

    public static func validate(_ node: Node) throws {
        if node.opset < 15, node.attributes["start"] != nil || node.attributes["end"] != nil {
            throw node.error(.invalidModel, "attributes 'start' and 'end' exist from opset 15")
        }
        _ = try node.int("start", default: 0)
        _ = try node.int("end")
    }

    /// The selected dimensions of `shape`.
    static func selected(_ node: Node, _ shape: [Int]) -> [Int] {
        let r = shape.count
        func clamp(_ a: Int) -> Int {
            let v = a < 0 ? a + r : a
            return Swift.min(Swift.max(v, 0), r)
        }
        let s = clamp((try? node.int("start", default: 0)) ?? 0)
        let e = clamp(((try? node.int("end")) ?? nil) ?? r)
        return s < e ? Array(shape[s..<e]) : []
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs.first ?? nil else { throw node.error(.invalidModel, "input 0 is missing") }
        let dims = selected(node, x.shape)
        return [ValueInfo(Tensor(shape: [dims.count], ints: dims.map { Int64($0) }, dtype: .i64))]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let dims = selected(node, inputs[0]!.shape)
        return [Tensor(shape: [dims.count], ints: dims.map { Int64($0) }, dtype: .i64)]
    }
}
