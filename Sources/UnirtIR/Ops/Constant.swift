/// `Constant`: a tensor given by exactly one attribute: `value` (a tensor),
/// `value_float` / `value_int` (scalars) or `value_floats` / `value_ints` (1-D).
/// Sparse and string constants are not supported.
public enum ConstantOp: Operator {
    public static let schema = OpSchema(
        inputs: 0...0,
        attributes: ["value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints",
                     "value_string", "value_strings"],
        sinceOpset: 1, summary: "a constant tensor from an attribute")

    static let valueAttributes = ["value", "sparse_value", "value_float", "value_floats", "value_int", "value_ints",
                                  "value_string", "value_strings"]

    public static func validate(_ node: Node) throws {
        let given = valueAttributes.filter { node.attributes[$0] != nil }
        guard given.count == 1 else {
            throw node.error(.invalidModel, given.isEmpty ? "needs one value attribute"
                             : "has \(given.count) value attributes (\(given.joined(separator: ", "))); exactly one is allowed")
        }
        switch given[0] {
        case "sparse_value", "value_string", "value_strings":
            throw node.error(.unsupported, "attribute '\(given[0])' is not supported (sparse and string constants)")
        default:
            _ = try value(node)
        }
    }

    /// The constant's value.
    static func value(_ node: Node) throws -> Tensor {
        if let t = try node.tensor("value") { return t }
        if node.attributes["value_float"] != nil {
            return Tensor(shape: [], floats: [try node.float("value_float", default: 0)])
        }
        if let v = try node.floats("value_floats") { return Tensor(shape: [v.count], floats: v) }
        if let v = try node.int("value_int") { return Tensor(shape: [], ints: [Int64(v)]) }
        if let v = try node.ints("value_ints") { return Tensor(shape: [v.count], ints: v.map { Int64($0) }) }
        for a in ["sparse_value", "value_string", "value_strings"] where node.attributes[a] != nil {
            throw node.error(.unsupported, "attribute '\(a)' is not supported (sparse and string constants)")
        }
        throw node.error(.invalidModel, "needs one value attribute")
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        [ValueInfo(try value(node))]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        if let t = outputs.first?.constant { return [t] }
        return [(try? value(node)) ?? Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype)]
    }
}
