import UnirtIR

/// One graph rewrite: what it matches is in `summary`, how it rewrites in `apply`.
///
/// Passes work on graphs as imported: input shapes may be symbolic, so a pass
/// relies on initializer constants (weights) and on `ShapeFacts` rather than on
/// concrete shapes. A pass keeps the nodes in topological order and leaves
/// unused initializers for the optimizer to prune.
public protocol OptimizationPass: Sendable {
    /// Stable name used by `--disable-pass` and in reports, e.g. `batchnorm-folding`.
    var name: String { get }
    /// One line: what the pass matches and what it turns it into.
    var summary: String { get }
    /// Rewrites `graph` in place and returns the number of rewrites made (0: unchanged).
    func apply(to graph: inout Graph) throws -> Int
}
