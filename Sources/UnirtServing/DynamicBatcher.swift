/// The queue and batching policy of one model, as a state machine driven by
/// the caller's clock: no threads, no waiting.
///
/// Not thread-safe: the owning `ModelRunner` guards it with its condition lock.
/// Policy (after Triton's dynamic batcher): requests leave in arrival order;
/// a batch is the longest run of front requests with the same batch key whose
/// items fit in `maxBatchSize`. It is dispatched at once when it is full, when
/// it reaches the largest preferred size, or when the next request cannot join;
/// otherwise it waits until the oldest request has been queued for
/// `maxQueueDelay`. Requests past their deadline are removed, never dispatched.
///
/// With `adaptiveDelay` the wait is cut short when it cannot pay: the batcher
/// keeps a moving average of the gap between arrivals, and when the next
/// request is not expected before the oldest one's delay runs out, the partial
/// batch goes at once. Under light or moderate load requests then see no
/// batching delay at all (a fixed delay inflates the tail there for nothing);
/// under heavy load arrivals are close together and batches fill as before.
/// Instances with different batch limits (a GPU instance may take larger
/// batches than a CPU one) share one batcher: each asks with its own limit,
/// and "full" and the preferred sizes are judged against that limit.
public struct DynamicBatcher: Sendable {
    /// What the caller should do next.
    public struct Decision: Sendable {
        /// Requests to run together now (may be empty).
        public var batch: [InferenceRequest] = []
        /// Requests whose deadline passed; answer them with DEADLINE_EXCEEDED.
        public var expired: [InferenceRequest] = []
        /// When to ask again if nothing was dispatched; nil means when a request arrives.
        public var wakeAt: UInt64?
    }

    public let maxBatchSize: Int
    public let maxQueueDelayNanos: UInt64
    public let maxQueueSize: Int
    public let preferredBatchSizes: [Int]
    /// Whether the queue delay is cut short when no further arrival is expected within it.
    public let adaptiveDelay: Bool
    private var queue: [InferenceRequest] = []
    private var head = 0
    /// Arrival time of the latest request, and the moving average of the gaps
    /// between arrivals (weight 1/8 for the newest gap), in nanoseconds.
    private var lastArrival: UInt64?
    private(set) var meanArrivalGapNanos: Double?

    public init(maxBatchSize: Int, maxQueueDelayNanos: UInt64, maxQueueSize: Int, preferredBatchSizes: [Int] = [],
                adaptiveDelay: Bool = false) {
        self.maxBatchSize = max(1, maxBatchSize)
        self.maxQueueDelayNanos = maxQueueDelayNanos
        self.maxQueueSize = max(1, maxQueueSize)
        self.preferredBatchSizes = preferredBatchSizes.filter { $0 >= 1 && $0 <= max(1, maxBatchSize) }.sorted()
        self.adaptiveDelay = adaptiveDelay
    }

    /// Requests waiting.
    public var count: Int { queue.count - head }
    public var isEmpty: Bool { count == 0 }

    /// Queues a request, or refuses it with RESOURCE_EXHAUSTED when the queue is full.
    public mutating func enqueue(_ request: InferenceRequest) throws {
        guard count < maxQueueSize else {
            throw ServingError(.resourceExhausted, "queue full (\(maxQueueSize) requests waiting)")
        }
        queue.append(request)
        if let last = lastArrival, request.arrival >= last {
            let gap = Double(request.arrival - last)
            meanArrivalGapNanos = meanArrivalGapNanos.map { $0 + (gap - $0) / 8 } ?? gap
        }
        lastArrival = max(lastArrival ?? 0, request.arrival)
    }

    /// Removes and returns every queued request for which `predicate` holds.
    public mutating func remove(where predicate: (InferenceRequest) -> Bool) -> [InferenceRequest] {
        if head > 0 { queue.removeFirst(head); head = 0 }
        var removed: [InferenceRequest] = []
        queue.removeAll { r in
            if predicate(r) { removed.append(r); return true }
            return false
        }
        return removed
    }

    /// Removes and returns everything queued.
    public mutating func removeAll() -> [InferenceRequest] { remove { _ in true } }

    /// Decides what to dispatch at time `now` for an instance that runs at most
    /// `limit` items at once (default and upper bound: `maxBatchSize`); `flush`
    /// dispatches without waiting for the batch to fill (used while draining).
    public mutating func next(now: UInt64, flush: Bool = false, limit: Int? = nil) -> Decision {
        let maxBatchSize = max(1, min(limit ?? self.maxBatchSize, self.maxBatchSize))
        let preferredBatchSizes = limit == nil ? self.preferredBatchSizes : self.preferredBatchSizes.filter { $0 <= maxBatchSize }
        var d = Decision()
        if queue[head...].contains(where: { ($0.deadline ?? .max) <= now }) {
            d.expired = remove { ($0.deadline ?? .max) <= now }
        }
        guard !isEmpty else { compact(); return d }

        // The run of front requests that can share one batch.
        let first = queue[head]
        var end = head + 1
        var items = first.items
        var preferredEnd: Int? = preferredBatchSizes.contains(items) ? end : nil
        while end < queue.count, queue[end].batchKey == first.batchKey, items + queue[end].items <= maxBatchSize {
            items += queue[end].items
            end += 1
            if preferredBatchSizes.contains(items) { preferredEnd = end }
        }
        let blocked = end < queue.count  // the next request cannot join this batch
        let full = items >= maxBatchSize || (preferredBatchSizes.last.map { items >= $0 } ?? false)
        let deadline = first.arrival &+ maxQueueDelayNanos
        var waitedEnough = flush || now >= deadline
        if !waitedEnough && adaptiveDelay, let gap = meanArrivalGapNanos, let last = lastArrival {
            // The next arrival is expected `gap` after the latest one; if that is past the
            // oldest request's deadline, waiting would only add latency.
            waitedEnough = Double(last) + gap >= Double(deadline)
        }
        if full || blocked || waitedEnough {
            let cut = (full || blocked) ? end : (preferredEnd ?? end)
            d.batch = Array(queue[head..<cut])
            head = cut
            compact()
            return d
        }
        var wake = deadline
        if let soonest = queue[head...].compactMap(\.deadline).min() { wake = min(wake, soonest) }
        d.wakeAt = wake
        return d
    }

    /// Drops dispatched slots once they are a good share of the array.
    private mutating func compact() {
        if head > 0 && (head >= 64 || head * 2 >= queue.count) {
            queue.removeFirst(head)
            head = 0
        }
    }
}
