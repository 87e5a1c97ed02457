import Foundation

/// The data of a calibration report: a self-contained HTML page (inline CSS
/// and SVG, no scripts, no external assets) showing per-tensor |x| histograms
/// with each method's threshold, per-layer SQNR and cosine, and which layers
/// fell back to float. Fill the plain fields and call `html()`; `CalibrationReport+HTML.swift`
/// renders it.
public struct CalibrationReport: Sendable {
    /// The header of the page.
    public struct Summary: Sendable {
        /// The model's name or path.
        public var model: String
        /// The plan precision, e.g. "int8".
        public var precision: String
        /// The calibration method, e.g. "entropy" or "percentile(99.99)".
        public var method: String
        /// The accuracy target, e.g. "cosine=0.99", if one was set.
        public var target: String?
        /// The metric achieved on the calibration/validation set, e.g. "cosine=0.9931".
        public var achieved: String?
        /// Whether the target was met (nil when there is no target).
        public var targetMet: Bool?
        /// Further facts shown as label/value pairs (data hash, batches, unirt version…).
        public var details: [(label: String, value: String)]

        /// Creates a summary.
        public init(model: String, precision: String = "int8", method: String, target: String? = nil,
                    achieved: String? = nil, targetMet: Bool? = nil, details: [(label: String, value: String)] = []) {
            self.model = model
            self.precision = precision
            self.method = method
            self.target = target
            self.achieved = achieved
            self.targetMet = targetMet
            self.details = details
        }
    }

    /// One activation tensor.
    public struct TensorEntry: Sendable {
        /// The tensor's name.
        public var name: String
        /// Its |x| histogram; nil when only a cache was available (no plot then).
        public var histogram: TensorHistogram?
        /// Each method's threshold, labelled (e.g. "entropy", "percentile(99.99)").
        public var thresholds: [(label: String, value: Float)]
        /// The label of the chosen method (one of `thresholds`' labels, or free text).
        public var chosenLabel: String
        /// The chosen threshold.
        public var chosen: Float
        /// The scale used (normally chosen / 127).
        public var scale: Float

        /// Creates an entry from parts.
        public init(name: String, histogram: TensorHistogram?, thresholds: [(label: String, value: Float)],
                    chosenLabel: String, chosen: Float, scale: Float) {
            self.name = name
            self.histogram = histogram
            self.thresholds = thresholds
            self.chosenLabel = chosenLabel
            self.chosen = chosen
            self.scale = scale
        }

        /// An entry from a calibration result and, when available, its histogram.
        public init(calibration c: TensorCalibration, histogram: TensorHistogram?) {
            let pct: Double
            if case .percentile(let p) = c.method { pct = p } else { pct = CalibrationMethod.defaultPercentile }
            let ts = CalibrationMethod.all(percentile: pct).compactMap { m in
                c.thresholds[m].map { (label: m.description, value: $0) }
            }
            self.init(name: c.name, histogram: histogram, thresholds: ts, chosenLabel: c.method.description,
                      chosen: c.threshold, scale: c.scale)
        }

        /// An entry for a tensor known only from a calibration cache (threshold = 127 · scale).
        public init(cacheEntry e: CalibrationCache.Entry, method: CalibrationMethod) {
            self.init(name: e.name, histogram: nil, thresholds: [], chosenLabel: method.description,
                      chosen: e.scale * 127, scale: e.scale)
        }
    }

    /// One layer's error when only it is quantized.
    public struct LayerMetric: Sendable {
        /// The layer (node) name.
        public var layer: String
        /// SQNR in dB of the model output (or the layer output), if measured.
        public var sqnr: Double?
        /// Cosine similarity to FP32, if measured.
        public var cosine: Double?
        /// Creates an entry.
        public init(layer: String, sqnr: Double?, cosine: Double?) {
            self.layer = layer
            self.sqnr = sqnr
            self.cosine = cosine
        }
    }

    /// One layer's precision decision.
    public struct Decision: Sendable {
        /// The layer (node) name.
        public var layer: String
        /// The precision it runs in, e.g. "fp32", "fp16", "int8".
        public var precision: String
        /// Why, in words, e.g. "sensitivity rank 1; cosine 0.981 < 0.99 without it".
        public var reason: String
        /// Creates a decision.
        public init(layer: String, precision: String, reason: String) {
            self.layer = layer
            self.precision = precision
            self.reason = reason
        }
    }

    /// The header.
    public var summary: Summary
    /// Activation tensors, in the order to show them.
    public var tensors: [TensorEntry]
    /// Per-layer sensitivity, in the order to show it.
    public var layers: [LayerMetric]
    /// Precision decisions (fallbacks first is customary).
    public var decisions: [Decision]

    /// A report from its parts.
    public init(summary: Summary, tensors: [TensorEntry] = [], layers: [LayerMetric] = [], decisions: [Decision] = []) {
        self.summary = summary
        self.tensors = tensors
        self.layers = layers
        self.decisions = decisions
    }

    /// Writes `html()` to `path`.
    public func write(toFile path: String) throws {
        do {
            try html().write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw QuantError(.io, "cannot write report \(path): \(error.localizedDescription)", cause: error)
        }
    }
}
