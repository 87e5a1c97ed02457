/// One operator application in a graph.
public struct Node: Sendable {
    /// Unique name (the importer invents one when the model has none).
    public var name: String
    /// The operator as written in the model, e.g. `Conv`.
    public var opType: String
    /// The operator, when unirt knows it.
    public var op: OpKind
    /// Input value names; an empty string marks an omitted optional input.
    public var inputs: [String]
    /// Output value names; an empty string marks an unused optional output.
    public var outputs: [String]
    public var attributes: [String: Attribute]
    /// Opset version of the node's domain in the model; operators with changed
    /// semantics across versions (Softmax, Split, Squeeze, …) branch on it.
    public var opset: Int

    public init(name: String, op: OpKind, inputs: [String], outputs: [String],
                attributes: [String: Attribute] = [:], opset: Int) {
        self.name = name
        self.opType = op.rawValue
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
        self.opset = opset
    }

    /// Whether input `i` is present.
    public func hasInput(_ i: Int) -> Bool { i < inputs.count && !inputs[i].isEmpty }
}
