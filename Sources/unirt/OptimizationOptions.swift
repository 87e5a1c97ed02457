import ArgumentParser
import UnirtIR
import UnirtOptimizer

/// Optimizer flags shared by commands that run or build models.
struct OptimizationOptions: ParsableArguments {
    @Option(name: .long, help: "Optimization level: 0 none, 1 basic, 2 all.")
    var optLevel: Int = 2

    @Option(name: .long, help: ArgumentHelp("Turn off one optimizer pass by name (repeatable).",
                                            discussion: "Passes: \(Optimizer.allPassNames.joined(separator: ", "))"))
    var disablePass: [String] = []

    /// Called by the commands' `run` (what `validate` throws would not reach the one-line report).
    func checkArguments() throws {
        guard OptimizationLevel(rawValue: optLevel) != nil else { throw CLIError("--opt-level must be 0, 1 or 2") }
    }

    /// The graph after the optimizer pipeline of the chosen level.
    func apply(to graph: Graph) throws -> Graph {
        try checkArguments()
        let optimizer: Optimizer
        do {
            optimizer = try Optimizer(level: OptimizationLevel(rawValue: optLevel) ?? .extended, disabled: Set(disablePass))
        } catch let e as OptimizerError {
            throw CLIError("--disable-pass: \(e.message)")
        }
        return try optimizer.optimize(graph).0
    }

    /// One line for plan provenance.
    var summary: String {
        "level \(optLevel)" + (disablePass.isEmpty ? "" : ", disabled: " + disablePass.sorted().joined(separator: ", "))
    }
}
