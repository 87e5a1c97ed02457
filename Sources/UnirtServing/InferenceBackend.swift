import Logging
import Synchronization
import UnirtIR
import UnirtRuntime

/// Computes batches for one model. Implementations are thread-safe: every
/// instance thread of the model calls `run` concurrently.
public protocol InferenceBackend: Sendable {
    /// Declared inputs (axis 0 is the batch axis when batching is on).
    var inputs: [ValueDecl] { get }
    /// Declared outputs.
    var outputs: [ValueDecl] { get }
    /// Largest batch in items the backend accepts in one run (1: no batching).
    var maxBatchSize: Int { get }
    /// Why batching is off, when it is.
    var batchingDisabledReason: String? { get }
    /// Checks one request's inputs; throws INVALID_ARGUMENT naming the tensor.
    func validate(_ inputs: [String: Tensor]) throws
    /// Runs inputs whose axis 0 holds `items` items (concatenated requests).
    func run(_ inputs: [String: Tensor], items: Int) throws -> [String: Tensor]
}

/// Runs a graph with `UnirtRuntime.Session`; batch-1 exports are batched with
/// `Graph.overridingBatch(n)`, one session per batch size, created on first use.
///
/// Thread-safe: the session table is guarded by a mutex; sessions are thread-safe.
public final class SessionBackend: InferenceBackend {
    public let graph: Graph
    public let maxBatchSize: Int
    public let batchingDisabledReason: String?
    /// Whether axis 0 of the inputs is already dynamic (one session serves every size).
    private let dynamicBatch: Bool
    /// Sessions by batch size; guarded by the mutex.
    private let sessions = Mutex<[Int: Session]>([:])
    private let base: Session
    private let logger: Logger

    public var inputs: [ValueDecl] { graph.inputs }
    public var outputs: [ValueDecl] { graph.outputs }

    /// Prepares the graph for batches of up to `maxBatchSize` items; when the
    /// graph cannot be batched, batching is off and the reason is logged.
    public init(graph: Graph, maxBatchSize requested: Int, logger: Logger) {
        self.graph = graph
        self.base = Session(graph: graph, logger: logger)
        self.logger = logger
        let firstDims = graph.inputs.map { $0.dims?.first }
        let dynamic = !graph.inputs.isEmpty && firstDims.allSatisfy { if case .symbolic = $0 { return true } else { return false } }
        var reason: String?
        if requested <= 1 {
            reason = "max_batch_size is \(requested)"
        } else if graph.inputs.isEmpty {
            reason = "the model has no runtime inputs"
        } else if !dynamic {
            do {
                _ = try graph.overridingBatch(requested)
            } catch {
                reason = "\(error)"
            }
        }
        if let reason, requested > 1 {
            logger.warning("model '\(graph.name)': batching disabled: \(reason)")
        }
        self.dynamicBatch = dynamic
        self.batchingDisabledReason = reason
        self.maxBatchSize = reason == nil ? requested : 1
    }

    public func validate(_ inputs: [String: Tensor]) throws {
        do {
            if maxBatchSize > 1 && !dynamicBatch {
                // Batch-1 export: any axis-0 size up to the limit is fine.
                let items = inputs.values.first?.shape.first ?? 1
                guard items >= 1 && items <= maxBatchSize else {
                    throw ServingError(.invalidArgument, "input batch \(items) is outside 1...\(maxBatchSize)")
                }
                try session(for: items).validate(inputs)
            } else {
                try base.validate(inputs)
            }
        } catch let e as RuntimeError {
            throw ServingError(e.code == .internal ? .internal : .invalidArgument, e.message, cause: e)
        }
    }

    public func run(_ inputs: [String: Tensor], items: Int) throws -> [String: Tensor] {
        do {
            let s = (maxBatchSize > 1 && !dynamicBatch) ? try session(for: items) : base
            return try s.run(inputs)
        } catch let e as RuntimeError {
            throw ServingError(e.code == .internal ? .internal : .invalidArgument, e.message, cause: e)
        } catch let e as IRError {
            throw ServingError(.internal, e.message, cause: e)
        }
    }

    private func session(for n: Int) throws -> Session {
        if n == 1 { return base }
        if let s = sessions.withLock({ $0[n] }) { return s }
        let s = Session(graph: try graph.overridingBatch(n), logger: logger)
        return sessions.withLock { table in
            if let existing = table[n] { return existing }
            table[n] = s
            return s
        }
    }
}
