/// How an activation tensor's clipping threshold is chosen from its histogram.
public enum CalibrationMethod: Hashable, Sendable, CustomStringConvertible {
    /// TensorRT's entropy calibration: the threshold minimizing KL(P‖Q) between
    /// the clipped distribution and its 128-level quantization.
    case entropy
    /// The largest |x| seen (no clipping).
    case minmax
    /// The given percentile of |x|, in (0, 100] (e.g. 99.99).
    case percentile(Double)
    /// The threshold minimizing the expected squared quantization error.
    case mse

    /// The percentile used when none is given.
    public static let defaultPercentile = 99.99

    /// The method's name as written on the command line and in cache headers.
    public var name: String {
        switch self {
        case .entropy: return "entropy"
        case .minmax: return "minmax"
        case .percentile: return "percentile"
        case .mse: return "mse"
        }
    }

    /// `entropy`, `minmax`, `mse` or `percentile(99.99)`.
    public var description: String {
        if case .percentile(let p) = self { return "percentile(\(p))" }
        return name
    }

    /// The method named `name` (`entropy|minmax|percentile|mse`); `percentile`
    /// takes `percentile` (default 99.99), which must lie in (0, 100].
    public init(name: String, percentile: Double? = nil) throws {
        switch name.lowercased() {
        case "entropy": self = .entropy
        case "minmax": self = .minmax
        case "mse": self = .mse
        case "percentile":
            let p = percentile ?? Self.defaultPercentile
            guard p > 0, p <= 100 else {
                throw QuantError(.invalidInput, "calibration percentile \(p) is outside (0, 100]")
            }
            self = .percentile(p)
        default:
            throw QuantError(.invalidInput,
                             "unknown calibration method '\(name)' (expected entropy, minmax, percentile or mse)")
        }
    }

    /// All four methods, with `percentile` for the percentile one; the order reports use.
    public static func all(percentile: Double = defaultPercentile) -> [CalibrationMethod] {
        [.entropy, .minmax, .percentile(percentile), .mse]
    }
}

/// The calibration result of one activation tensor.
public struct TensorCalibration: Sendable, Equatable {
    /// The tensor's name in the graph.
    public var name: String
    /// The method that chose `threshold`.
    public var method: CalibrationMethod
    /// The clipping threshold T: values with |x| > T saturate.
    public var threshold: Float
    /// The dequantization scale: x ≈ q · scale with q in −127…127. `T / 127`,
    /// or 1 when T is 0 (an all-zero tensor is represented exactly by any scale).
    public var scale: Float
    /// Every method's threshold for this tensor (for reports), keyed by the
    /// methods of `CalibrationMethod.all(percentile:)`.
    public var thresholds: [CalibrationMethod: Float]
    /// Largest |x| seen in pass 1.
    public var max: Float

    /// Creates a result; `scale` follows from `threshold`.
    public init(name: String, method: CalibrationMethod, threshold: Float,
                thresholds: [CalibrationMethod: Float], max: Float) {
        self.name = name
        self.method = method
        self.threshold = threshold
        self.scale = Self.scale(forThreshold: threshold)
        self.thresholds = thresholds
        self.max = max
    }

    /// The symmetric 8-bit scale of a threshold: `T / 127` in Float, 1 for T = 0.
    public static func scale(forThreshold t: Float, levels: Int = 127) -> Float {
        t > 0 ? t / Float(levels) : 1
    }
}
