import Foundation

/// Error metrics between a reference tensor (float) and a test tensor
/// (quantized), accumulated in `Double` in index order.
public enum Sensitivity {
    /// Signal-to-quantization-noise ratio in dB: 10·log10(Σref² / Σ(ref−test)²).
    /// +∞ when the tensors are equal; −∞ when the reference is all zero and the test is not.
    public static func sqnr(reference: [Float], test: [Float]) -> Double {
        precondition(reference.count == test.count, "SQNR of tensors of different sizes")
        var signal = 0.0, noise = 0.0
        for i in reference.indices {
            let r = Double(reference[i]), d = r - Double(test[i])
            signal += r * r
            noise += d * d
        }
        if noise == 0 { return .infinity }
        return 10 * log10(signal / noise)
    }

    /// Cosine similarity Σab / (‖a‖·‖b‖). 1 when both are all zero, 0 when only one is.
    public static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "cosine of tensors of different sizes")
        var ab = 0.0, aa = 0.0, bb = 0.0
        for i in a.indices {
            let x = Double(a[i]), y = Double(b[i])
            ab += x * y
            aa += x * x
            bb += y * y
        }
        if aa == 0 && bb == 0 { return 1 }
        if aa == 0 || bb == 0 { return 0 }
        return ab / (aa.squareRoot() * bb.squareRoot())
    }

    /// Peak signal-to-noise ratio in dB of images with values in [0, 1]:
    /// 10·log10(1 / MSE). +∞ for identical images.
    public static func psnr(reference: [Float], test: [Float]) -> Double {
        precondition(reference.count == test.count, "PSNR of tensors of different sizes")
        guard !reference.isEmpty else { return .infinity }
        var se = 0.0
        for i in reference.indices {
            let d = Double(reference[i]) - Double(test[i])
            se += d * d
        }
        if se == 0 { return .infinity }
        return 10 * log10(Double(reference.count) / se)
    }
}

/// A whole-model accuracy goal: a metric (higher is better) and its minimum.
public struct AccuracyTarget: Sendable, Equatable, CustomStringConvertible {
    /// Which metric the target is stated in.
    public enum Metric: String, Sendable, CaseIterable {
        /// Cosine similarity of the outputs to FP32 (e.g. embeddings).
        case cosine
        /// PSNR in dB of image outputs in [0, 1].
        case psnr
        /// SQNR in dB of the outputs.
        case sqnr
    }

    /// The metric.
    public var metric: Metric
    /// The least acceptable value of the metric.
    public var minimum: Double

    /// Creates a target.
    public init(metric: Metric, minimum: Double) {
        self.metric = metric
        self.minimum = minimum
    }

    /// Parses `cosine=0.99`, `psnr=30` or `sqnr=25`.
    public init(parsing s: String) throws {
        let kv = s.split(separator: "=", maxSplits: 1)
        guard kv.count == 2, let m = Metric(rawValue: String(kv[0]).lowercased()) else {
            throw QuantError(.invalidInput, "accuracy target '\(s)' is not cosine=X, psnr=X or sqnr=X")
        }
        guard let v = Double(kv[1]), v.isFinite else {
            throw QuantError(.invalidInput, "accuracy target '\(s)': '\(kv[1])' is not a number")
        }
        if m == .cosine && !(v > -1 && v <= 1) {
            throw QuantError(.invalidInput, "accuracy target '\(s)': cosine must be in (-1, 1]")
        }
        self.init(metric: m, minimum: v)
    }

    /// Whether `value` meets the target. NaN never does.
    public func isMet(by value: Double) -> Bool { value >= minimum }

    /// `cosine=0.99`.
    public var description: String { "\(metric.rawValue)=\(minimum)" }
}
