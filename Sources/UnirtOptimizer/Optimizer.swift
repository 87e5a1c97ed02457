import UnirtIR

/// Runs the pipeline of one optimization level over a graph (see docs/optimizer.md).
///
/// A value type without shared state: `optimize` may be called from any thread.
public struct Optimizer: Sendable {
    /// The level whose pipeline runs.
    public let level: OptimizationLevel
    /// Pass names left out of the pipeline.
    public let disabled: Set<String>
    /// The passes that run, in order.
    public let passes: [any OptimizationPass]

    /// Names of every pass any level runs, sorted.
    public static var allPassNames: [String] {
        Array(Set(Pipelines.passes(for: .extended).map(\.name))).sorted()
    }

    /// - Throws: `OptimizerError` with code `.unknownPass` when `disabled` names a
    ///   pass that does not exist; the message lists the valid names.
    public init(level: OptimizationLevel = .extended, disabled: Set<String> = []) throws {
        let known = Set(Self.allPassNames)
        if let bad = disabled.sorted().first(where: { !known.contains($0) }) {
            throw OptimizerError(.unknownPass, "unknown optimizer pass '\(bad)' (passes: \(Self.allPassNames.joined(separator: ", ")))")
        }
        self.level = level
        self.disabled = disabled
        self.passes = Pipelines.passes(for: level).filter { !disabled.contains($0.name) }
    }

    /// The optimized graph and what each pass did.
    ///
    /// - Throws: `OptimizerError`: `.invalidModel` when the graph cannot be folded,
    ///   `.internal` when a pass leaves a node its operator rejects.
    public func optimize(_ graph: Graph) throws -> (Graph, OptimizationReport) {
        var g = graph
        var entries: [OptimizationReport.Entry] = []
        for pass in passes {
            let before = g.nodes.count
            let rewrites = try pass.apply(to: &g)
            g.pruneInitializers()
            entries.append(.init(pass: pass.name, rewrites: rewrites, nodesBefore: before, nodesAfter: g.nodes.count))
        }
        for node in g.nodes {
            do {
                try node.op.check(node)
            } catch let e as IRError {
                throw OptimizerError(.internal, "optimizer left an invalid node: \(e.message)", underlying: e)
            }
        }
        return (g, OptimizationReport(level: level, nodesBefore: graph.nodes.count, nodesAfter: g.nodes.count,
                                      entries: entries))
    }
}

/// What one optimizer run did, pass by pass.
public struct OptimizationReport: Sendable, CustomStringConvertible {
    /// One pass run: its rewrites and the node count around it.
    public struct Entry: Sendable {
        public var pass: String
        public var rewrites: Int
        public var nodesBefore: Int
        public var nodesAfter: Int
    }

    public var level: OptimizationLevel
    /// Nodes of the graph given to the optimizer.
    public var nodesBefore: Int
    /// Nodes of the optimized graph.
    public var nodesAfter: Int
    /// One entry per pass run, in order.
    public var entries: [Entry]

    /// A table: one line per pass, then the totals.
    public var description: String {
        let width = max(4, entries.map(\.pass.count).max() ?? 0)
        func pad(_ s: String) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }
        var lines = ["\(pad("pass"))  rewrites  nodes"]
        for e in entries {
            lines.append("\(pad(e.pass))  \(String(repeating: " ", count: max(0, 8 - String(e.rewrites).count)))\(e.rewrites)  \(e.nodesBefore) -> \(e.nodesAfter)")
        }
        lines.append("level \(level.rawValue): \(nodesBefore) -> \(nodesAfter) nodes")
        return lines.joined(separator: "\n")
    }
}
