/// Serving settings of one model: batching, queueing and instances
/// (the `[models.NAME]` tables of unirtd.toml).
public struct ModelSettings: Sendable, Equatable {
    /// Path to the model file (.onnx or plan).
    public var path: String
    /// Largest batch in items; 0 or 1 turns batching off.
    public var maxBatchSize: Int
    /// How long the oldest queued request may wait for a batch to fill, in microseconds.
    public var maxQueueDelayMicros: UInt64
    /// Queued requests beyond this are refused with RESOURCE_EXHAUSTED.
    public var maxQueueSize: Int
    /// Batch sizes dispatched as soon as they are reached (the largest one wins).
    public var preferredBatchSizes: [Int]
    /// CPU instances: threads that each run one batch at a time on the model's CPU backend.
    public var cpuInstances: Int
    /// GPU instances: threads that each run one batch at a time on their own GPU plans.
    public var gpuInstances: Int
    /// GPU ordinals the GPU instances are placed on, round-robin (instance i on
    /// `gpuDevices[i % count]`); empty means GPU 0.
    public var gpuDevices: [Int]
    /// Largest batch a GPU instance runs; nil means `maxBatchSize`. Requests are
    /// still limited to the smallest instance limit; GPU instances combine more of them.
    public var gpuMaxBatchSize: Int?
    /// "fp32", "fp16" or "int8".
    public var precision: String
    /// How `maxQueueDelayMicros` is applied (see `DynamicBatcher`).
    public var queueDelayPolicy: QueueDelayPolicy = .adaptive

    /// `fixed`: a partial batch always waits out the queue delay; `adaptive`: it
    /// goes at once when no further request is expected within the delay.
    public enum QueueDelayPolicy: String, Sendable, CaseIterable {
        case fixed, adaptive
    }

    public init(path: String, maxBatchSize: Int = 8, maxQueueDelayMicros: UInt64 = 500, maxQueueSize: Int = 1024,
                preferredBatchSizes: [Int] = [], cpuInstances: Int = 1, gpuInstances: Int = 0,
                gpuDevices: [Int] = [], gpuMaxBatchSize: Int? = nil, precision: String = "fp32") {
        self.path = path
        self.maxBatchSize = maxBatchSize
        self.maxQueueDelayMicros = maxQueueDelayMicros
        self.maxQueueSize = maxQueueSize
        self.preferredBatchSizes = preferredBatchSizes
        self.cpuInstances = cpuInstances
        self.gpuInstances = gpuInstances
        self.gpuDevices = gpuDevices
        self.gpuMaxBatchSize = gpuMaxBatchSize
        self.precision = precision
    }

    /// Checks ranges; the message names the field.
    public func validate(model: String) throws {
        func bad(_ field: String, _ why: String) -> ServingError {
            ServingError(.invalidArgument, "model '\(model)': \(field) \(why)")
        }
        if path.isEmpty { throw bad("path", "is empty") }
        if maxBatchSize < 0 || maxBatchSize > 1024 { throw bad("max_batch_size", "must be in 0...1024, got \(maxBatchSize)") }
        if maxQueueSize < 1 { throw bad("max_queue_size", "must be at least 1, got \(maxQueueSize)") }
        if cpuInstances < 0 || cpuInstances > 64 { throw bad("instances.cpu", "must be in 0...64, got \(cpuInstances)") }
        if gpuInstances < 0 || gpuInstances > 64 { throw bad("instances.gpu", "must be in 0...64, got \(gpuInstances)") }
        if cpuInstances + gpuInstances < 1 { throw bad("instances", "must name at least one instance") }
        if !["fp32", "fp16", "int8"].contains(precision) { throw bad("precision", "must be fp32, fp16 or int8, got '\(precision)'") }
        if let d = gpuDevices.first(where: { $0 < 0 || $0 > 63 }) { throw bad("gpu", "entry \(d) is outside 0...63") }
        if Set(gpuDevices).count != gpuDevices.count { throw bad("gpu", "lists a device twice") }
        if let g = gpuMaxBatchSize, g < 0 || g > 1024 { throw bad("gpu_max_batch_size", "must be in 0...1024, got \(g)") }
        let largest = max(maxBatchSize, gpuInstances > 0 ? gpuMaxBatchSize ?? 0 : 0, 1)
        if let p = preferredBatchSizes.first(where: { $0 < 1 || $0 > largest }) {
            throw bad("preferred_batch_sizes", "entry \(p) is outside 1...\(largest) (the largest max batch size)")
        }
    }

    /// The GPU ordinal of GPU instance `index`.
    public func gpuOrdinal(ofInstance index: Int) -> Int {
        gpuDevices.isEmpty ? 0 : gpuDevices[index % gpuDevices.count]
    }
}
