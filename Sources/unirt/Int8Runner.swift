import Foundation
import UnirtIR
import UnirtQuant
import UnirtRuntime

/// Runs a graph over the calibration samples one at a time (batch 1) on the CPU
/// backend, optionally observing every float activation, and returns each
/// sample's outputs flattened and concatenated in graph-output order.
///
/// Used from the build's thread only; each call makes its own session.
struct Int8Runner {
    let samples: [[String: Tensor]]

    /// Runs `graph` over the samples (at most `limit`). A graph with a fixed batch B > 1
    /// gets the samples B at a time (the last group padded with copies of its first
    /// sample); `observe` then sees only the rows of real samples, so statistics do
    /// not depend on B. Returns each sample's outputs, flattened and concatenated.
    func outputs(of graph: Graph, label: String? = nil, limit: Int? = nil,
                 observe: ExecutionPlan.Observer? = nil) throws -> [[Float]] {
        let session = Session(graph: graph, threads: ProcessInfo.processInfo.activeProcessorCount)
        let count = min(limit ?? samples.count, samples.count)
        let batch = Self.batch(of: graph)
        var result: [[Float]] = []
        result.reserveCapacity(count)
        var start = 0
        while start < count {
            if let label { Progress.show(label, start, count) }
            let real = min(batch, count - start)
            let inputs = batchInputs(batch: batch, start: start, count: count)
            let plan: ExecutionPlan
            do { plan = try session.plan(for: inputs) } catch let e as RuntimeError {
                throw CLIError("calibration sample \(start + 1): \(e.message)")
            }
            let outs: [String: Tensor]
            if let observe, real < batch {
                outs = plan.execute(inputs) { name, values in
                    observe(name, UnsafeBufferPointer(rebasing: values[0..<(values.count / batch * real)]))
                }
            } else {
                outs = plan.execute(inputs, observe: observe)
            }
            for r in 0..<real {
                result.append(graph.outputs.flatMap { o -> [Float] in
                    guard let t = outs[o.name] else { return [] }
                    let f = t.floats, per = f.count / batch
                    return Array(f[r * per..<(r + 1) * per])
                })
            }
            start += real
        }
        if label != nil { Progress.done() }
        return result
    }

    /// The batch a graph is fed at: its first input's fixed leading dimension when above 1, else 1.
    static func batch(of graph: Graph) -> Int {
        if let d = graph.inputs.first?.dims?.first, case .fixed(let b) = d, b > 1 { return b }
        return 1
    }

    /// The inputs of one run at `batch`: samples `start`… (at most `count` in all) stacked along axis 0,
    /// the group padded with copies of its first sample.
    func batchInputs(batch: Int, start: Int = 0, count: Int? = nil) -> [String: Tensor] {
        let real = min(batch, min(count ?? samples.count, samples.count) - start)
        var inputs: [String: Tensor] = [:]
        for (name, first) in samples[start] {
            if batch == 1 { inputs[name] = first; continue }
            var values: [Float] = []
            for r in 0..<batch { values += samples[start + (r < real ? r : 0)][name]!.floats }
            inputs[name] = Tensor(shape: [batch] + first.shape.dropFirst(), floats: values, dtype: first.dtype)
        }
        return inputs
    }
}

/// The accuracy metric of `--accuracy-target`, per sample and aggregated.
struct Int8Metric {
    let metric: AccuracyTarget.Metric

    init(_ metric: AccuracyTarget.Metric) { self.metric = metric }

    /// The metric of one sample. PSNR takes the peak as 1 when the reference lies
    /// within [−1, 1] and as 255 otherwise (images in 0…255).
    func value(reference r: [Float], test t: [Float]) -> Double {
        switch metric {
        case .cosine: return Sensitivity.cosine(r, t)
        case .sqnr: return Sensitivity.sqnr(reference: r, test: t)
        case .psnr:
            let peak: Double = (r.map { abs($0) }.max() ?? 0) <= 1 ? 1 : 255
            return Sensitivity.psnr(reference: r.map { Float(Double($0) / peak) }, test: t.map { Float(Double($0) / peak) })
        }
    }

    /// Mean over samples of the metric, plus SQNR and cosine over all samples (for reports).
    func evaluate(reference: [[Float]], test: [[Float]]) -> (value: Double, sqnr: Double, cosine: Double) {
        let values = zip(reference, test).map { value(reference: $0, test: $1) }
        let finite = values.map { $0.isInfinite && $0 > 0 ? 200 : $0 }
        let mean = finite.reduce(0, +) / Double(max(finite.count, 1))
        let r = reference.flatMap { $0 }, t = test.flatMap { $0 }
        return (mean, Sensitivity.sqnr(reference: r, test: t), Sensitivity.cosine(r, t))
    }

    /// The worst sample's metric.
    func minimum(reference: [[Float]], test: [[Float]]) -> Double {
        zip(reference, test).map { value(reference: $0, test: $1) }.min() ?? .nan
    }

    /// A sensitivity score (higher = more sensitive) from a metric value.
    func score(_ v: Double) -> Double {
        switch metric {
        case .cosine: return 1 - v
        case .psnr, .sqnr: return -v
        }
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
enum Progress {
    static let enabled = isatty(2) != 0

    static func show(_ label: String, _ done: Int, _ total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30, filled = width * done / total
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    static func done() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
