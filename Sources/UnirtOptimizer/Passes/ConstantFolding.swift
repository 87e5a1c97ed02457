import UnirtIR

/// Evaluates nodes whose inputs are all initializers (and `Constant` nodes) once,
/// replacing them by initializers. Input shapes are not needed, so the result
/// holds for every size the symbolic dimensions take.
public struct ConstantFolding: OptimizationPass {
    public let name = "constant-folding"
    public let summary = "evaluate nodes whose inputs are all constants into initializers"

    public init() {}

    public func apply(to graph: inout Graph) throws -> Int {
        let before = graph.nodes.count
        do {
            graph = try graph.foldingConstants()
        } catch let e as IRError {
            throw OptimizerError(e.isUserError ? .invalidModel : .internal,
                                 "\(name): \(e.message)", underlying: e)
        }
        return before - graph.nodes.count
    }
}
