/// What is known about a value while a graph is specialized: its element type,
/// concrete shape and, when it is computable before run time, its value.
public struct ValueInfo: Sendable {
    public var dtype: DType
    public var shape: [Int]
    /// The value, when it is a constant or was folded from constants.
    public var constant: Tensor?

    public init(dtype: DType, shape: [Int], constant: Tensor? = nil) {
        self.dtype = dtype
        self.shape = shape
        self.constant = constant
    }

    public init(_ t: Tensor) {
        self.init(dtype: t.dtype, shape: t.shape, constant: t)
    }

    public var count: Int { shape.reduce(1, *) }
}

/// The static description of an operator: arity, attributes and supported opsets.
public struct OpSchema: Sendable {
    /// Allowed number of inputs (trailing optional inputs may be omitted).
    public var inputs: ClosedRange<Int>
    /// Allowed number of outputs.
    public var outputs: ClosedRange<Int>
    /// Attribute names the operator understands; others are rejected.
    public var attributes: [String]
    /// Oldest ONNX opset whose semantics the operator implements (opsets 9–21 are imported).
    public var sinceOpset: Int
    /// One-line summary for `inspect` and docs.
    public var summary: String

    public init(inputs: ClosedRange<Int>, outputs: ClosedRange<Int> = 1...1, attributes: [String] = [],
                sinceOpset: Int = 1, summary: String) {
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
        self.sinceOpset = sinceOpset
        self.summary = summary
    }
}

/// An operator: schema, attribute validation, shape inference and the naive
/// FP32 reference kernel that is the oracle for every faster kernel.
///
/// Implementations are stateless enums, one per file under `Ops/`.
public protocol Operator: Sendable {
    static var schema: OpSchema { get }

    /// Checks attribute values; throws `IRError` naming the node for bad or unsupported ones.
    static func validate(_ node: Node) throws

    /// Output types and shapes from input infos (`nil` for omitted inputs).
    /// Inputs that define shapes (Reshape's `shape`, …) must carry a constant value.
    static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo]

    /// Computes the outputs. Inputs have the shapes given to `inferShapes`, and
    /// `outputs` is its result; kernels do not throw (validation happened before).
    static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor]
}

extension Operator {
    public static func validate(_ node: Node) throws {}
}

extension OpKind {
    /// Validates arity, attribute names and values of `node` against this operator.
    public func check(_ node: Node) throws {
        let s = definition.schema
        let nIn = node.inputs.count
        guard s.inputs.contains(nIn) else {
            throw node.error(.invalidModel, "has \(nIn) inputs, expected \(s.inputs.lowerBound)...\(s.inputs.upperBound)")
        }
        guard s.outputs.contains(node.outputs.count) else {
            throw node.error(.invalidModel, "has \(node.outputs.count) outputs, expected \(s.outputs.lowerBound)...\(s.outputs.upperBound)")
        }
        for (name, value) in node.attributes {
            guard s.attributes.contains(name) else {
                throw node.error(.unsupported, "attribute '\(name)' is not supported")
            }
            if case .unsupported(let kind) = value {
                throw node.error(.unsupported, "attribute '\(name)' of kind \(kind) is not supported")
            }
        }
        try definition.validate(node)
    }
}
