import Synchronization

/// Collects per-tensor activation statistics over a calibration set in two
/// passes, so that the result does not depend on batch size or batch order.
///
/// 1. Pass 1: call `observeRange(name:values:)` for every activation tensor of
///    every calibration batch; it records max |x| per tensor (the maximum is
///    the same in any order).
/// 2. Call `freezeRanges()`; it fixes the histogram range [0, max] per tensor.
/// 3. Pass 2: run the same data again and call `observeHistogram(name:values:)`;
///    it adds |x| to the tensor's 2048-bin histogram (`TensorHistogram`).
///    Counts are integers, so any split into batches and any order of batches
///    or of threads gives bit-identical histograms and therefore bit-identical
///    thresholds and scales.
///
/// Thread safety: all methods may be called from any thread concurrently
/// (e.g. one call per executor thread). Each call first reduces its buffer
/// without holding the lock, then merges the result under `state`'s mutex,
/// which guards the phase, the ranges and the histograms. The value buffer
/// only needs to stay valid for the duration of the call.
public final class ActivationStatistics: Sendable {
    /// The collection phase.
    public enum Phase: Sendable, Equatable {
        /// Recording max |x| (pass 1).
        case ranges
        /// Filling histograms over frozen ranges (pass 2).
        case histograms
    }

    private struct State {
        var phase: Phase = .ranges
        /// Pass 1: max finite |x| per tensor.
        var maxima: [String: Float] = [:]
        /// Names in first-seen order, for stable listings.
        var order: [String] = []
        /// Pass 2: one histogram per tensor, created by `freezeRanges`.
        var histograms: [String: TensorHistogram] = [:]
    }

    private let state = Mutex(State())

    /// An empty collector in the `ranges` phase.
    public init() {}

    /// The current phase.
    public var phase: Phase { state.withLock { $0.phase } }

    /// Tensor names in the order they were first observed.
    public var tensorNames: [String] { state.withLock { $0.order } }

    /// Pass 1: records max |x| of `values` for tensor `name`. Non-finite values
    /// are ignored. Throws `invalidState` after `freezeRanges()`.
    public func observeRange(name: String, values: UnsafeBufferPointer<Float>) throws {
        var m: Float = 0
        for v in values where v.isFinite { m = Swift.max(m, abs(v)) }
        try state.withLock { s in
            guard s.phase == .ranges else {
                throw QuantError(.invalidState,
                                 "tensor '\(name)': observeRange called after freezeRanges (pass 1 is over)")
            }
            if let old = s.maxima[name] {
                s.maxima[name] = Swift.max(old, m)
            } else {
                s.maxima[name] = m
                s.order.append(name)
            }
        }
    }

    /// Pass 1 for a whole array; see `observeRange(name:values:)`.
    public func observeRange(name: String, values: [Float]) throws {
        try values.withUnsafeBufferPointer { try observeRange(name: name, values: $0) }
    }

    /// Ends pass 1: fixes the histogram range of every observed tensor and
    /// switches to the `histograms` phase. Calling it twice is an error.
    public func freezeRanges() throws {
        try state.withLock { s in
            guard s.phase == .ranges else {
                throw QuantError(.invalidState, "freezeRanges called twice")
            }
            for (name, m) in s.maxima { s.histograms[name] = TensorHistogram(max: m) }
            s.phase = .histograms
        }
    }

    /// Pass 2: adds |x| of `values` to the histogram of tensor `name`. Values
    /// above the frozen max (different data than pass 1) land in the last bin.
    /// Throws `invalidState` before `freezeRanges()` or for a tensor pass 1 did
    /// not see.
    public func observeHistogram(name: String, values: UnsafeBufferPointer<Float>) throws {
        guard let range = try state.withLock({ s -> Float? in
            guard s.phase == .histograms else {
                throw QuantError(.invalidState,
                                 "tensor '\(name)': observeHistogram called before freezeRanges")
            }
            return s.histograms[name]?.max
        }) else {
            throw QuantError(.invalidState, "tensor '\(name)': no range recorded in pass 1")
        }
        // Bin outside the lock; merging integer counts commutes.
        var local = TensorHistogram(max: range)
        local.add(values)
        state.withLock { s in s.histograms[name]!.merge(local) }
    }

    /// Pass 2 for a whole array; see `observeHistogram(name:values:)`.
    public func observeHistogram(name: String, values: [Float]) throws {
        try values.withUnsafeBufferPointer { try observeHistogram(name: name, values: $0) }
    }

    /// Max |x| per tensor recorded so far in pass 1.
    public var ranges: [String: Float] { state.withLock { $0.maxima } }

    /// A snapshot of the histograms (empty before `freezeRanges()`).
    public var histograms: [String: TensorHistogram] { state.withLock { $0.histograms } }

    /// Selects a threshold for every tensor with `method`, in `tensorNames`
    /// order. Tensors are independent and are computed concurrently; the
    /// result does not depend on scheduling. Throws before `freezeRanges()`.
    public func calibrate(method: CalibrationMethod) throws -> [TensorCalibration] {
        let (names, hists) = try state.withLock { s -> ([String], [String: TensorHistogram]) in
            guard s.phase == .histograms else {
                throw QuantError(.invalidState, "calibrate called before freezeRanges and pass 2")
            }
            return (s.order, s.histograms)
        }
        return ThresholdSelection.calibrate(names.map { ($0, hists[$0]!) }, method: method)
    }
}
