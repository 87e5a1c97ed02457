import CBLAS
import Logging
import Synchronization
import UnirtIR

/// Runs one graph on the CPU for any input shapes the graph allows.
///
/// Plans are built on first use for each distinct set of input shapes and
/// cached. Thread-safe: the plan cache is guarded by a mutex; runs may overlap.
public final class Session: Sendable {
    public let graph: Graph
    let backend: any Backend
    let logger: Logger
    /// Threads for kernels' own parallel loops and for OpenBLAS.
    public let threads: Int
    /// Plans by input-shape signature; guarded by the mutex.
    private let plans = Mutex<[String: ExecutionPlan]>([:])

    /// OpenBLAS's thread count when the first session was made (its own
    /// default: OPENBLAS_NUM_THREADS or the core count).
    static let processDefaultThreads = Int(openblas_get_num_threads())

    /// - Parameter threads: threads for this session's kernels and the
    ///   OpenBLAS calls they make; 0 takes OpenBLAS's process default.
    public init(graph: Graph, backend: any Backend = CPUBackend(), threads: Int = 0,
                logger: Logger = Logger(label: "unirt.runtime")) {
        self.graph = graph
        self.backend = backend
        self.logger = logger
        if threads > 0 {
            // OpenBLAS and unirt's loops never run at the same time, so both may use every thread.
            self.threads = threads
        } else {
            self.threads = Self.processDefaultThreads
        }
        // unirt's worker pool spreads OpenBLAS calls over the threads itself
        // (ParallelBLAS); OpenBLAS's own threads would spin on the same cores.
        openblas_set_num_threads(1)
    }

    /// Checks `inputs` against the graph's declared inputs.
    public func validate(_ inputs: [String: Tensor]) throws {
        for name in inputs.keys where !graph.inputs.contains(where: { $0.name == name })
            && !graph.unusedInputs.contains(where: { $0.name == name }) {
            if graph.defaultedInputs.contains(where: { $0.name == name }) {
                throw RuntimeError(.invalidInput, "input '\(name)' has a default in the model and is folded as a constant; it cannot be overridden")
            }
            throw RuntimeError(.invalidInput, "model has no input named '\(name)' (inputs: \(graph.inputs.map(\.name).joined(separator: ", ")))")
        }
        for decl in graph.inputs {
            guard let t = inputs[decl.name] else {
                throw RuntimeError(.invalidInput, "missing input '\(decl.name)' (\(decl.dtype.rawValue)\(decl.shapeDescription))")
            }
            guard t.dtype == decl.dtype else {
                throw RuntimeError(.invalidInput, "input '\(decl.name)' has dtype \(t.dtype.rawValue), model expects \(decl.dtype.rawValue)\(decl.shapeDescription)")
            }
            if let dims = decl.dims {
                guard dims.count == t.shape.count else {
                    throw RuntimeError(.invalidInput, "input '\(decl.name)' has rank \(t.shape.count) \(t.shape), model expects rank \(dims.count) \(decl.shapeDescription)")
                }
                for (i, d) in dims.enumerated() {
                    if let f = d.fixedValue, f != t.shape[i] {
                        throw RuntimeError(.invalidInput, "input '\(decl.name)' has shape \(t.shape), model expects \(decl.shapeDescription) (dimension \(i) must be \(f))")
                    }
                }
            }
        }
    }

    /// The plan for the given input shapes (built and cached on first use).
    public func plan(for shapes: [String: [Int]]) throws -> ExecutionPlan {
        let key = shapes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ";")
        if let p = plans.withLock({ $0[key] }) { return p }
        let spec: SpecializedGraph
        do {
            spec = try graph.specialized(inputShapes: shapes)
        } catch let e as IRError {
            throw RuntimeError(e)
        }
        let p = ExecutionPlan(spec, backend: backend, threads: threads)
        logger.debug("planned \(graph.name) for \(key): \(spec.graph.nodes.count) nodes, arena \(p.peakActivationBytes) bytes")
        plans.withLock { $0[key] = p }
        return p
    }

    /// The plan for these inputs after validating them.
    public func plan(for inputs: [String: Tensor]) throws -> ExecutionPlan {
        try validate(inputs)
        let used = inputs.filter { name, _ in graph.inputs.contains { $0.name == name } }
        return try plan(for: used.mapValues(\.shape))
    }

    /// Runs the graph; returns every graph output by name.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let p = try plan(for: inputs)
        return p.execute(inputs.filter { name, _ in graph.inputs.contains { $0.name == name } })
    }
}
