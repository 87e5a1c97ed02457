/// A declared graph input or output: name, element type and declared shape
/// (dimensions may be symbolic).
public struct ValueDecl: Sendable {
    public var name: String
    public var dtype: DType
    public var dims: [Dim]?

    public init(name: String, dtype: DType, dims: [Dim]?) {
        self.name = name
        self.dtype = dtype
        self.dims = dims
    }

    /// Shape text such as `[N,3,112,112]`, or `?` when unknown.
    public var shapeDescription: String {
        guard let dims else { return "?" }
        return "[" + dims.map(\.description).joined(separator: ",") + "]"
    }
}

/// A dataflow graph of operators in topological order.
public struct Graph: Sendable {
    public var name: String
    /// Inputs a caller provides (initializer-backed inputs are not listed here).
    public var inputs: [ValueDecl]
    /// Inputs that have an initializer default; a caller may override them.
    public var defaultedInputs: [ValueDecl]
    /// Inputs the model declares but no node reads; accepted and ignored.
    public var unusedInputs: [ValueDecl] = []
    public var outputs: [ValueDecl]
    /// Constant tensors by value name (weights and folded subgraphs).
    public var initializers: [String: Tensor]
    /// Nodes in topological order.
    public var nodes: [Node]
    /// Opset version per domain ("" is the default ONNX domain).
    public var opsets: [String: Int]
    /// Producer name and version recorded in the model file.
    public var producer: String

    public init(name: String = "graph", inputs: [ValueDecl], defaultedInputs: [ValueDecl] = [],
                outputs: [ValueDecl], initializers: [String: Tensor], nodes: [Node],
                opsets: [String: Int] = ["": 17], producer: String = "") {
        self.name = name
        self.inputs = inputs
        self.defaultedInputs = defaultedInputs
        self.outputs = outputs
        self.initializers = initializers
        self.nodes = nodes
        self.opsets = opsets
        self.producer = producer
    }

    /// Count of nodes per operator type, for reports.
    public var opHistogram: [(String, Int)] {
        var h: [String: Int] = [:]
        for n in nodes { h[n.opType, default: 0] += 1 }
        return h.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
    }

    /// Total bytes of initializer data at their declared element sizes.
    public var weightBytes: Int {
        initializers.values.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
    }
}
