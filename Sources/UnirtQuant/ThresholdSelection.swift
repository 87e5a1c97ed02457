import Dispatch
import Foundation
import Synchronization

/// Threshold selection from a `TensorHistogram`: entropy (KL), min-max,
/// percentile and MSE. Every function is a pure function of the histogram's
/// integer counts and range, computed in `Double` in a fixed order, so equal
/// histograms give bit-identical thresholds. docs/quantization.md gives the
/// formulas.
public enum ThresholdSelection {
    /// Number of quantized levels the entropy method compares against (TensorRT's 128).
    public static let quantizedBins = 128
    /// Smoothing mass given to each empty bin before the KL divergence.
    public static let klEpsilon = 1e-4

    /// Calibrates each (name, histogram) with `method`, also computing every
    /// other method's threshold for reports. Tensors run concurrently; the
    /// output order is the input order.
    public static func calibrate(_ tensors: [(String, TensorHistogram)],
                                 method: CalibrationMethod) -> [TensorCalibration] {
        let percentile: Double
        if case .percentile(let p) = method { percentile = p } else { percentile = CalibrationMethod.defaultPercentile }
        let results = Mutex([TensorCalibration?](repeating: nil, count: tensors.count))
        DispatchQueue.concurrentPerform(iterations: tensors.count) { i in
            let (name, h) = tensors[i]
            var all: [CalibrationMethod: Float] = [:]
            for m in CalibrationMethod.all(percentile: percentile) { all[m] = threshold(h, method: m) }
            let chosen = all[method] ?? threshold(h, method: method)
            let c = TensorCalibration(name: name, method: method, threshold: chosen, thresholds: all, max: h.max)
            results.withLock { $0[i] = c }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// The threshold `method` selects for `h`. 0 when the histogram's max is 0.
    public static func threshold(_ h: TensorHistogram, method: CalibrationMethod) -> Float {
        guard h.max > 0 else { return 0 }
        switch method {
        case .minmax: return h.max
        case .entropy: return entropy(h)
        case .percentile(let p): return percentile(h, p)
        case .mse: return mse(h)
        }
    }

    /// TensorRT's entropy calibration. For each i in 128…2047: P is bins[0..<i]
    /// with the mass of bins ≥ i added to P[i−1]; Q merges bins[0..<i] into 128
    /// groups (group j is [⌊j·i/128⌋, ⌊(j+1)·i/128⌋)) and spreads each group's
    /// mass evenly over the group's bins where P is non-zero. Both are
    /// normalized, empty bins get `klEpsilon` (the others shrink to keep the sum
    /// 1), and KL(P‖Q) = Σ P·ln(P/Q). m is the first i with the least KL, and
    /// T = (m + 0.5)·max/2048.
    public static func entropy(_ h: TensorHistogram) -> Float {
        let n = TensorHistogram.binCount, levels = quantizedBins
        let bins = h.bins.map { Double($0) }
        var suffix = [Double](repeating: 0, count: n + 1)
        for b in stride(from: n - 1, through: 0, by: -1) { suffix[b] = suffix[b + 1] + bins[b] }
        guard suffix[0] > 0 else { return h.max }

        var p = [Double](repeating: 0, count: n), q = [Double](repeating: 0, count: n)
        var bestKL = Double.infinity, bestI = n - 1
        for i in levels..<n {
            for k in 0..<i { p[k] = bins[k] }
            p[i - 1] += suffix[i]
            for j in 0..<levels {
                let start = j * i / levels, end = (j + 1) * i / levels
                var mass = 0.0, nonEmpty = 0
                for k in start..<end {
                    mass += bins[k]
                    if p[k] != 0 { nonEmpty += 1 }
                }
                let share = nonEmpty > 0 ? mass / Double(nonEmpty) : 0
                for k in start..<end { q[k] = p[k] != 0 ? share : 0 }
            }
            let kl = smoothedKL(p: p, q: q, count: i)
            if kl < bestKL { bestKL = kl; bestI = i }
        }
        return Float((Double(bestI) + 0.5) * Double(h.max) / Double(n))
    }

    /// KL(P‖Q) over the first `count` entries after normalizing and smoothing both.
    static func smoothedKL(p: [Double], q: [Double], count: Int) -> Double {
        var pSum = 0.0, qSum = 0.0, pZeros = 0, qZeros = 0
        for k in 0..<count {
            pSum += p[k]; qSum += q[k]
            if p[k] == 0 { pZeros += 1 }
            if q[k] == 0 { qZeros += 1 }
        }
        let eps = klEpsilon
        // Non-empty bins give up the mass the empty ones receive, so each sums to 1.
        let pKeep = pSum > 0 ? (1 - eps * Double(pZeros)) / pSum : 0
        let qKeep = qSum > 0 ? (1 - eps * Double(qZeros)) / qSum : 0
        var kl = 0.0
        for k in 0..<count {
            // Bins empty in both P and Q contribute eps·ln(eps/eps) = 0.
            if p[k] == 0 && q[k] == 0 { continue }
            let pk = p[k] == 0 ? eps : p[k] * pKeep
            let qk = q[k] == 0 ? eps : q[k] * qKeep
            kl += pk * log(pk / qk)
        }
        return kl
    }

    /// The `pct` percentile of |x|, linearly interpolated inside its bin: with
    /// target = pct/100 · total, b the first bin whose cumulative count reaches
    /// the target and c the count before it, T = (b + (target − c)/bins[b])·max/2048.
    public static func percentile(_ h: TensorHistogram, _ pct: Double) -> Float {
        let total = Double(h.total)
        guard total > 0 else { return h.max }
        let target = Swift.min(Swift.max(pct, 0), 100) / 100 * total
        var cum = 0.0
        for b in 0..<TensorHistogram.binCount {
            let c = Double(h.bins[b])
            if c > 0 && cum + c >= target {
                let frac = (target - cum) / c
                return Swift.min(Float((Double(b) + frac) * h.binWidth), h.max)
            }
            cum += c
        }
        return h.max
    }

    /// The threshold minimizing the expected squared error of a symmetric,
    /// saturating quantizer with `levels` positive levels (scale s = T/levels).
    /// Candidates are the bin edges T = i·max/2048, i in 1…2048. Values are
    /// taken as uniform inside their bin: a bin below T costs s²/12 per value
    /// (rounding noise), a bin [a, a+w] at or above T costs
    /// (a−T)² + (a−T)·w + w²/3 per value (clipping). The first least-error
    /// candidate wins.
    public static func mse(_ h: TensorHistogram, levels: Int = 127) -> Float {
        let n = TensorHistogram.binCount
        let bins = h.bins.map { Double($0) }
        guard bins.contains(where: { $0 > 0 }) else { return h.max }
        let w = h.binWidth
        var below = 0.0
        var bestErr = Double.infinity, bestI = n
        for i in 1...n {
            below += bins[i - 1]
            let t = Double(i) * w
            let s = t / Double(levels)
            var err = below * s * s / 12
            for b in i..<n where bins[b] > 0 {
                let d = Double(b - i) * w
                err += bins[b] * (d * d + d * w + w * w / 3)
            }
            if err < bestErr { bestErr = err; bestI = i }
        }
        return bestI == n ? h.max : Float(Double(bestI) * w)
    }
}
