import ArgumentParser
import Foundation
import UnirtPlan
import UnirtQuant

/// `unirt report`: a self-contained HTML calibration report of an int8 plan or a calibration cache.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write an HTML calibration report for an int8 plan or a calibration cache.",
        discussion: """
        Histograms and per-layer sensitivity come from the statistics file a build writes \
        (--calib-stats FILE, or CACHE.stats.json beside a calibration cache it wrote); \
        without one the report shows scales and decisions only.
        """)

    @Argument(help: "An int8 plan or a calibration cache file.")
    var input: String

    @Option(name: .shortAndLong, help: "HTML file to write.")
    var output: String

    @Option(name: .long, help: "Calibration statistics JSON (default: INPUT.stats.json when it exists).")
    var stats: String?

    func run() throws {
        let statsPath = stats ?? (FileManager.default.fileExists(atPath: input + ".stats.json") ? input + ".stats.json" : nil)
        let st = try statsPath.map { try Int8Stats(contentsOf: $0) }
        var report: CalibrationReport
        if ModelLoading.isPlan(input) {
            let plan = try PlanFile.read(input, target: ModelLoading.target)
            let p = plan.provenance
            var summary = CalibrationReport.Summary(
                model: p.sourceName, precision: p.precision, method: p.calibrationMethod ?? "none",
                target: p.accuracyTarget, achieved: p.accuracyAchieved, targetMet: st?.targetMet)
            summary.details = [("unirt", p.unirtVersion), ("built", p.createdAt), ("CPU features", p.requiredCPUFeatures.joined(separator: ", "))]
            if let h = p.calibrationSHA256 { summary.details.append(("calibration data", String(h.prefix(16)) + "…")) }
            if let sc = p.int8SpeedCheck {
                summary.details.append(("speed check", "\(sc.threads) threads: plan \(formatMs(sc.planMs)), all fp32 \(formatMs(sc.fp32Ms)), "
                                        + "all allowed int8 \(formatMs(sc.allInt8Ms))"))
            }
            let tensors = st?.reportTensors ?? plan.activationScales.sorted { $0.key < $1.key }.map {
                CalibrationReport.TensorEntry(name: $0.key, histogram: nil, thresholds: [], chosenLabel: p.calibrationMethod ?? "",
                                              chosen: $0.value * 127, scale: $0.value)
            }
            // Decisions as the plan records them; reasons from the statistics when present.
            let reasons = Dictionary((st?.decisions ?? []).map { ($0.layer, $0.reason) }, uniquingKeysWith: { a, _ in a })
            // Graph order, then layers the plan's fused nodes stand for (the 1×1 half of a pointwise-depthwise pair).
            var order = plan.graph.nodes.map(\.name).filter { p.layerPrecision[$0] != nil }
            order += p.layerPrecision.keys.filter { !Set(order).contains($0) }.sorted()
            let decisions = order.map { name -> CalibrationReport.Decision in
                let prec = p.layerPrecision[name]!
                if reasons[name] == nil, let t = p.int8SpeedCheck?.layers[name] {
                    return .init(layer: name, precision: prec, reason: (prec == "int8" ? "kept in int8; timed " : "slower in int8 on the build machine: ")
                                     + Int8SpeedChecker.describe(t))
                }
                return .init(layer: name, precision: prec, reason: reasons[name] ?? (prec == "int8" ? "quantized" : "not a candidate: FP32 is faster for this shape, or not a convolution"))
            }.sorted { ($0.precision == "int8" ? 1 : 0) < ($1.precision == "int8" ? 1 : 0) }
            report = CalibrationReport(summary: summary, tensors: tensors, layers: layerMetrics(st), decisions: decisions)
        } else {
            let cache: CalibrationCache
            do { cache = try CalibrationCache(contentsOfFile: input) } catch let e as QuantError {
                throw CLIError("\(input): neither a unirt plan nor a calibration cache (\(e.message))")
            }
            var summary = CalibrationReport.Summary(model: (input as NSString).lastPathComponent, method: cache.method.description,
                                                    target: st?.target, achieved: st?.achieved, targetMet: st?.targetMet)
            if let h = cache.dataHash { summary.details = [("calibration data", String(h.prefix(23)) + "…")] }
            let tensors = st?.reportTensors ?? cache.entries.map { CalibrationReport.TensorEntry(cacheEntry: $0, method: cache.method) }
            let decisions = (st?.decisions ?? []).map { CalibrationReport.Decision(layer: $0.layer, precision: $0.precision, reason: $0.reason) }
            report = CalibrationReport(summary: summary, tensors: tensors, layers: layerMetrics(st), decisions: decisions)
        }
        do { try report.write(toFile: output) } catch let e as QuantError { throw CLIError(e.message) }
        print("wrote \(output): \(report.tensors.count) tensors, \(report.layers.count) layer measurements, \(report.decisions.count) decisions")
    }

    func layerMetrics(_ st: Int8Stats?) -> [CalibrationReport.LayerMetric] {
        (st?.layers ?? []).map { CalibrationReport.LayerMetric(layer: $0.layer, sqnr: $0.sqnr, cosine: $0.cosine) }
    }
}
