/// The distribution of |x| of one activation tensor over the calibration set:
/// 2048 equal-width bins over [0, `max`] with integer counts.
///
/// Bin of a finite value x (computed in `Double`, so it is exact up to one
/// correctly rounded division and the same on every machine):
///
///     b = min(Int((Double(|x|) * 2048) / Double(max)), 2047)    when max > 0
///     b = 0                                                      when max == 0
///
/// Values equal to `max` fall in the last bin. Non-finite values are not
/// binned; they are counted in `nonFiniteCount`.
public struct TensorHistogram: Sendable, Equatable {
    /// Number of bins (TensorRT's entropy calibrator uses the same).
    public static let binCount = 2048

    /// Largest finite |x| seen in pass 1; the histogram spans [0, max].
    public let max: Float
    /// Counts per bin; `bins.count == binCount`.
    public internal(set) var bins: [UInt64]
    /// Number of NaN or infinite values seen in pass 2 (not binned).
    public internal(set) var nonFiniteCount: UInt64

    /// An empty histogram over [0, max].
    public init(max: Float) {
        precondition(max >= 0 && max.isFinite, "histogram range must be finite and non-negative")
        self.max = max
        self.bins = [UInt64](repeating: 0, count: Self.binCount)
        self.nonFiniteCount = 0
    }

    /// A histogram with given counts (used by tests and reports).
    public init(max: Float, bins: [UInt64], nonFiniteCount: UInt64 = 0) {
        precondition(bins.count == Self.binCount, "a histogram has \(Self.binCount) bins")
        precondition(max >= 0 && max.isFinite, "histogram range must be finite and non-negative")
        self.max = max
        self.bins = bins
        self.nonFiniteCount = nonFiniteCount
    }

    /// Width of one bin in the units of x.
    public var binWidth: Double { Double(max) / Double(Self.binCount) }

    /// Total number of binned values.
    public var total: UInt64 { bins.reduce(0, &+) }

    /// The bin index of a finite |x| (see the type's documentation).
    @inline(__always)
    public static func binIndex(ofMagnitude a: Float, max: Float) -> Int {
        guard max > 0 else { return 0 }
        let b = (Double(a) * Double(binCount)) / Double(max)
        return b >= Double(binCount - 1) ? binCount - 1 : Int(b)
    }

    /// Adds every value of `values` to the bins. Order does not matter: counts are integers.
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        var nonFinite: UInt64 = 0
        bins.withUnsafeMutableBufferPointer { b in
            for v in values {
                guard v.isFinite else { nonFinite += 1; continue }
                b[Self.binIndex(ofMagnitude: abs(v), max: max)] &+= 1
            }
        }
        nonFiniteCount &+= nonFinite
    }

    /// Adds the counts of another histogram over the same range.
    public mutating func merge(_ other: TensorHistogram) {
        precondition(other.max == max, "merging histograms of different ranges")
        for i in 0..<Self.binCount { bins[i] &+= other.bins[i] }
        nonFiniteCount &+= other.nonFiniteCount
    }
}
