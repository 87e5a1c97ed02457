import Logging
import Synchronization
import UnirtCUDA
import UnirtIR
import UnirtServing

/// Runs one GPU instance of a model: a CUDA plan per batch size — powers of two
/// below the limit, and the limit — all built when the model loads, so no
/// request waits for a build. A batch runs on the smallest plan that holds it;
/// the rows past the batch are zeros and their outputs are dropped.
///
/// Thread-safe: the plans are immutable after init and serialize their own runs
/// (one stream, one arena each); the instance's one thread is the only caller.
final class GPUBackend: InferenceBackend {
    let inputs: [ValueDecl]
    let outputs: [ValueDecl]
    let maxBatchSize: Int
    let batchingDisabledReason: String?
    let device: CUDADevice
    /// Plans by batch size, ascending.
    private let plans: [(size: Int, plan: CUDAPlan)]
    /// Input shapes of the batch-1 plan: every dimension past axis 0 is fixed.
    private let itemShapes: [String: [Int]]

    /// GPUs that instances were built on, by ordinal (for the GPU metrics); guarded by its mutex.
    private static let used = Mutex<[Int: CUDADevice]>([:])

    /// Every GPU an instance has been built on, by ordinal.
    static var devicesUsed: [CUDADevice] { used.withLock { $0.sorted { $0.key < $1.key }.map(\.value) } }

    /// Builds the plans on GPU `ordinal`. Throws `CUDAError` when the GPU or its
    /// libraries are unusable or the graph has something the GPU cannot run,
    /// and a `ServingError` for inputs whose shape is not fixed past the batch axis.
    init(graph: Graph, maxBatchSize requested: Int, ordinal: Int, precision: CUDAPrecision, logger: Logger) throws {
        device = try CUDADevice.device(ordinal)
        inputs = graph.inputs
        outputs = graph.outputs
        for decl in graph.inputs {
            guard let dims = decl.dims, dims.dropFirst().allSatisfy({ $0.fixedValue != nil }) else {
                throw ServingError(.invalidArgument, "GPU plans need input shapes fixed past the batch axis; input '\(decl.name)' is \(decl.shapeDescription)")
            }
        }
        let dynamic = !graph.inputs.isEmpty && graph.inputs.allSatisfy { $0.dims?.first?.fixedValue == nil }
        var reason: String?
        if requested <= 1 {
            reason = "max batch size is \(requested)"
        } else if graph.inputs.isEmpty {
            reason = "the model has no runtime inputs"
        } else if !dynamic {
            do { _ = try graph.overridingBatch(requested) } catch { reason = "\(error)" }
        }
        batchingDisabledReason = reason
        maxBatchSize = reason == nil ? requested : 1
        var sizes: [Int] = []
        var n = 1
        while n < maxBatchSize { sizes.append(n); n *= 2 }
        sizes.append(maxBatchSize)

        var built: [(Int, CUDAPlan)] = []
        for size in sizes {
            let spec: SpecializedGraph
            if dynamic {
                let shapes = Dictionary(uniqueKeysWithValues: graph.inputs.map { d in
                    (d.name, [size] + d.dims!.dropFirst().map { $0.fixedValue! })
                })
                spec = try graph.specialized(inputShapes: shapes)
            } else {
                spec = try (size == 1 ? graph : graph.overridingBatch(size)).specialized()
            }
            built.append((size, try CUDAPlan(spec, device: device, precision: precision)))
        }
        plans = built
        Self.used.withLock { [device] in $0[ordinal] = device }
        itemShapes = built[0].1.specialized.inputShapes
        logger.debug("GPU \(ordinal): \(graph.name) \(precision.rawValue) plans at batch \(sizes.map(String.init).joined(separator: ", "))")
    }

    func validate(_ given: [String: Tensor]) throws {
        for name in given.keys where !inputs.contains(where: { $0.name == name }) {
            throw ServingError(.invalidArgument, "model has no input named '\(name)' (inputs: \(inputs.map(\.name).joined(separator: ", ")))")
        }
        var batch: Int?
        for decl in inputs {
            guard let t = given[decl.name] else {
                throw ServingError(.invalidArgument, "missing input '\(decl.name)' (\(decl.dtype.rawValue)\(decl.shapeDescription))")
            }
            guard t.dtype == decl.dtype else {
                throw ServingError(.invalidArgument, "input '\(decl.name)' has dtype \(t.dtype.rawValue), model expects \(decl.dtype.rawValue)\(decl.shapeDescription)")
            }
            let item = itemShapes[decl.name] ?? []
            let items = t.shape.first ?? 0
            let ok = t.shape.count == item.count && t.shape.dropFirst().elementsEqual(item.dropFirst())
                && (maxBatchSize > 1 ? (1...maxBatchSize).contains(items) : items == item.first)
            guard ok else {
                let want = maxBatchSize > 1 ? "[1...\(maxBatchSize), \(item.dropFirst().map(String.init).joined(separator: ", "))]" : "\(item)"
                throw ServingError(.invalidArgument, "input '\(decl.name)' has shape \(t.shape), the GPU instance takes \(want)")
            }
            if let b = batch, b != items {
                throw ServingError(.invalidArgument, "inputs disagree on the batch size (\(b) and \(items) items)")
            }
            batch = items
        }
    }

    func run(_ given: [String: Tensor], items: Int) throws -> [String: Tensor] {
        guard let (size, plan) = plans.first(where: { $0.size >= items }) else {
            throw ServingError(.invalidArgument, "a batch of \(items) items is over the GPU instance's limit of \(maxBatchSize)")
        }
        var feed = given
        if size > items {
            for (name, t) in given {
                let per = t.count / max(t.shape.first ?? 1, 1)
                feed[name] = Tensor(shape: [size] + t.shape.dropFirst(),
                                    floats: t.floats + [Float](repeating: 0, count: (size - items) * per), dtype: t.dtype)
            }
        }
        var result: [String: Tensor]
        do {
            result = try plan.execute(feed)
        } catch let e as CUDAError {
            throw ServingError(e.isUserError ? .invalidArgument : .internal, "GPU \(device.ordinal): \(e.message)", cause: e)
        }
        if size > items {
            for (name, t) in result where t.shape.first == size {
                let per = t.count / size
                result[name] = Tensor(shape: [items] + t.shape.dropFirst(), floats: Array(t.floats[0..<items * per]), dtype: t.dtype)
            }
        }
        return result
    }
}
