import Foundation
import UnirtIR
import UnirtOptimizer
import UnirtPlan
import UnirtQuant

extension Int8Builder {
    /// Step 5, `--int8-speed-check`: times the layers the accuracy step left in int8 against their FP32
    /// forms (`Int8SpeedChecker`), adds those that are not faster to `floatLayers`, prints each timed
    /// layer, updates the decisions in `stats` and, when layers fell back under an accuracy target,
    /// measures `achieved` again for the plan as written. Returns what was measured, or nil when the
    /// check did not run.
    func checkSpeed(layers: [Layer], floatLayers: inout [String], quantizer: LayerQuantizer, graph g: Graph, calibGraph: Graph,
                    runner: Int8Runner?, target: AccuracyTarget?, reference: [[Float]], stats: inout Int8Stats,
                    achieved: inout String?) throws -> Int8SpeedCheck? {
        let int8Names = layers.map(\.name).filter { !floatLayers.contains($0) }
        guard speedCheck && !int8Names.isEmpty else { return nil }
        let threads = options.int8SpeedThreads ?? ProcessInfo.processInfo.activeProcessorCount
        guard let inputs = timingInputs(g, runner: runner) else {
            print("note: int8 speed check skipped: an input has symbolic dimensions and there is no calibration data to time with")
            return nil
        }
        let accuracyFloat = Set(floatLayers)
        let checker = Int8SpeedChecker(candidates: int8Names,
                                       variant: { try self.planGraph(quantizer.apply(to: g, floatLayers: accuracyFloat.union($0))) },
                                       inputs: inputs, threads: threads)
        var cache = try options.timingCache.map { try Int8TimingCache(path: $0) }
        let keyParts: [(String, String)] = [
            ("model", modelSHA256),
            ("inputs", inputs.keys.sorted().map { "\($0):\(inputs[$0]!.shape.map(String.init).joined(separator: "x"))" }.joined(separator: ",")),
            ("candidates", int8Names.joined(separator: ",")), ("fp32", accuracyFloat.sorted().joined(separator: ",")),
            ("weight-levels", String(weightLevels)), ("threads", String(threads)),
        ] + Int8TimingCache.machine
        let key = Int8TimingCache.key(keyParts)
        let outcome: Int8SpeedChecker.Outcome
        if let hit = cache?.outcome(for: key) {
            print("speed check: the layer choice timed \(hit.createdAt) on this CPU, from the timing cache \(cache!.path)")
            outcome = .init(fallbacks: hit.fallbacks, record: hit.record)
        } else {
            outcome = try checker.run()
            try cache?.add(key: key, description: keyParts, fallbacks: outcome.fallbacks, record: outcome.record)
        }
        let r = outcome.record
        print("speed check (\(r.threads) threads): \(int8Names.count) int8 layer(s) \(formatMs(r.allInt8Ms)), all fp32 \(formatMs(r.fp32Ms))")
        let reasons = Dictionary(outcome.fallbacks.map { ($0.layer, $0.reason) }, uniquingKeysWith: { a, _ in a })
        for name in int8Names {
            guard let t = r.layers[name] else { continue }
            let fallback = reasons[name]
            print("  \(name): \(fallback == nil ? "int8" : "fp32") (\(fallback ?? Int8SpeedChecker.describe(t)))")
            guard let d = stats.decisions.firstIndex(where: { $0.layer == name }) else { continue }
            if let fallback {
                stats.decisions[d].precision = "fp32"
                stats.decisions[d].reason = "slower in int8 on the build machine: \(fallback)"
            } else {
                stats.decisions[d].reason += "; timed \(Int8SpeedChecker.describe(t))"
            }
        }
        for (layer, reason) in outcome.fallbacks where r.layers[layer] == nil {
            print("  \(layer): fp32 (\(reason))")
        }
        floatLayers += outcome.fallbacks.map(\.layer)
        print("speed check: \(int8Names.count - outcome.fallbacks.count) of \(int8Names.count) int8 layer(s) kept: "
              + "plan \(formatMs(r.planMs)) vs \(formatMs(r.fp32Ms)) in fp32")
        if !outcome.fallbacks.isEmpty, let target, let runner {
            // More layers in FP32: measure what the plan as written achieves.
            let metric = Int8Metric(target.metric)
            let outs = try runner.outputs(of: quantizer.apply(to: calibGraph, floatLayers: Set(floatLayers)))
            let minimum = metric.minimum(reference: reference, test: outs)
            achieved = "\(target.metric.rawValue)=\(fmt(minimum)) on the worst of \(runner.samples.count) calibration samples"
            stats.achieved = achieved
            stats.targetMet = target.isMet(by: minimum)
            if !target.isMet(by: minimum) { print("warning: target \(target) not met after the speed check (\(achieved!))") }
        }
        return r
    }

    /// A quantized graph as the plan stores it: pointwise-depthwise pairs left in FP32 fused again.
    func planGraph(_ quantized: Graph) throws -> Graph {
        var out = quantized
        if graph.nodes.contains(where: { $0.op == .fusedPointwiseDepthwise }) {
            _ = try PointwiseDepthwiseFusion().apply(to: &out)
        }
        return out
    }

    /// One run's inputs for the speed check at the plan's batch: the first calibration samples, else
    /// (a calibration cache alone) seeded random data, as `unirt bench` uses, when every input's shape is fixed.
    func timingInputs(_ g: Graph, runner: Int8Runner?) -> [String: Tensor]? {
        if let runner, !runner.samples.isEmpty { return runner.batchInputs(batch: Int8Runner.batch(of: g)) }
        var rng = SplitMix(seed: 0x5eed)
        var inputs: [String: Tensor] = [:]
        for d in g.inputs {
            guard let dims = d.dims, case let shape = dims.compactMap(\.fixedValue), shape.count == dims.count else { return nil }
            inputs[d.name] = rng.tensor(dtype: d.dtype, shape: shape)
        }
        return inputs
    }
}
