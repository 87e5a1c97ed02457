import UnirtIR

/// What a finished inference request produced.
public struct InferenceResult: Sendable {
    /// Requested outputs by name (every output when none were named).
    public var outputs: [String: Tensor]
    /// Time spent queued, in nanoseconds.
    public var queueNanos: UInt64
    /// Time spent in the batched run this request was part of, in nanoseconds.
    public var computeNanos: UInt64
    /// Items in that batched run.
    public var batchSize: Int
}

/// One queued inference: inputs, deadline, owner and the completion to call.
///
/// The completion is called exactly once, on a worker thread or on the thread
/// that submitted or cancelled the request; it must not block.
public struct InferenceRequest: Sendable {
    /// The submitter's id for the request (echoed, not interpreted).
    public var id: UInt64
    /// Who sent it (a connection id), for cancelling a departed client's requests.
    public var owner: UInt64
    public var inputs: [String: Tensor]
    /// Outputs to return; empty means all.
    public var requestedOutputs: [String]
    /// Arrival time on the scheduler's clock, in nanoseconds.
    public var arrival: UInt64
    /// Absolute deadline on the scheduler's clock; nil for none.
    public var deadline: UInt64?
    public var completion: @Sendable (Result<InferenceResult, ServingError>) -> Void

    /// Items carried (axis 0 of the first input; 1 for scalars). Set on submission.
    public internal(set) var items: Int = 1
    /// Requests may share a batch only when their keys (shapes past axis 0) agree.
    public internal(set) var batchKey: String = ""

    public init(id: UInt64, owner: UInt64 = 0, inputs: [String: Tensor], requestedOutputs: [String] = [],
                arrival: UInt64, deadline: UInt64? = nil,
                completion: @escaping @Sendable (Result<InferenceResult, ServingError>) -> Void) {
        self.id = id
        self.owner = owner
        self.inputs = inputs
        self.requestedOutputs = requestedOutputs
        self.arrival = arrival
        self.deadline = deadline
        self.completion = completion
    }
}
