import ArgumentParser
import UnirtIR

/// Optimizer flags shared by commands that run models.
struct OptimizationOptions: ParsableArguments {
    @Option(name: .long, help: "Optimization level: 0 none, 1 basic, 2 all.")
    var optLevel: Int = 2

    @Option(name: .long, help: "Turn off one optimizer pass by name (repeatable).")
    var disablePass: [String] = []

    func apply(to graph: Graph) throws -> Graph {
        graph
    }
}
