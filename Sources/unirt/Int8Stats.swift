import Foundation
import UnirtQuant

/// Calibration statistics of an int8 build, saved as JSON for `unirt report`:
/// per tensor its |x| histogram and every method's threshold, per layer its
/// sensitivity, and the precision decisions. Written by `unirt build
/// --calib-stats FILE`, and beside a calibration cache (`CACHE.stats.json`)
/// whenever the build writes one.
struct Int8Stats: Codable {
    struct TensorStats: Codable {
        var name: String
        /// Max |x| of pass 1 (nil when the scale came from a cache).
        var max: Float?
        /// The 2048 histogram counts over [0, max] (nil from a cache).
        var bins: [UInt64]?
        /// Threshold by method description.
        var thresholds: [String: Float]
        var chosen: Float
        var scale: Float
        /// The factor `--refine-scales` applied to the calibrated scale (nil: not refined, or kept).
        var refined: Float? = nil
    }

    struct LayerStats: Codable {
        var layer: String
        var sqnr: Double?
        var cosine: Double?
    }

    struct Decision: Codable {
        var layer: String
        var precision: String
        var reason: String
    }

    var method: String
    var target: String?
    var achieved: String?
    var targetMet: Bool?
    var tensors: [TensorStats] = []
    var layers: [LayerStats] = []
    var decisions: [Decision] = []

    init(method: String, target: String?) {
        self.method = method
        self.target = target
    }

    func write(to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        // Infinite SQNR (identical outputs) is written as a large finite number.
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { try enc.encode(self).write(to: URL(fileURLWithPath: path)) } catch {
            throw CLIError("cannot write calibration statistics \(path): \(error.localizedDescription)")
        }
    }

    init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("\(path): cannot read file") }
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        do { self = try dec.decode(Int8Stats.self, from: data) } catch {
            throw CLIError("\(path): not a calibration statistics file (\(error.localizedDescription))")
        }
    }

    /// The report entry of each tensor.
    var reportTensors: [CalibrationReport.TensorEntry] {
        let order = ["entropy", "minmax", "mse"]
        return tensors.map { t in
            var hist: TensorHistogram? = nil
            if let m = t.max, let b = t.bins, b.count == TensorHistogram.binCount, m >= 0, m.isFinite {
                hist = TensorHistogram(max: m, bins: b)
            }
            let labels = t.thresholds.keys.sorted { a, b in
                (order.firstIndex(of: a) ?? 9, a) < (order.firstIndex(of: b) ?? 9, b)
            }
            return CalibrationReport.TensorEntry(name: t.name, histogram: hist,
                                                 thresholds: labels.map { (label: $0, value: t.thresholds[$0]!) },
                                                 chosenLabel: t.refined != nil ? "refined" : method, chosen: t.chosen,
                                                 scale: t.scale)
        }
    }
}
