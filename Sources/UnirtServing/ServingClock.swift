import Foundation
import Synchronization

/// A monotonic time source in nanoseconds, injected so that the batcher and
/// scheduler can be tested without sleeping.
public protocol ServingClock: Sendable {
    /// Nanoseconds since an arbitrary fixed origin; never decreases.
    func now() -> UInt64
}

/// The process's monotonic clock (`CLOCK_MONOTONIC`).
public struct SystemClock: ServingClock {
    public init() {}
    public func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A clock that only moves when told to; thread-safe (guarded by a mutex).
public final class ManualClock: ServingClock {
    private let value: Mutex<UInt64>
    public init(_ start: UInt64 = 0) { value = Mutex(start) }
    public func now() -> UInt64 { value.withLock { $0 } }
    /// Moves the clock forward by `ns` nanoseconds.
    public func advance(_ ns: UInt64) { value.withLock { $0 += ns } }
}
