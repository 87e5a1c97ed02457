import Foundation
import UnirtIR
import UnirtOptimizer
import UnirtPlan
import UnirtQuant
import UnirtRuntime

/// Calibrates activations, quantizes weights and chooses per-layer precision for an int8 plan.
///
/// 1. Plain `Conv` nodes become `FusedConv` with no activation, so every 2-D
///    convolution with constant weights is a candidate layer.
/// 2. Scales: from `--calib-cache` when that file exists, else from the data in
///    `--calib` — the FP32 graph runs over every sample twice (max |x|, then
///    2048-bin histograms) observing each candidate's input, and the chosen
///    method picks a threshold per tensor; the cache is written when asked.
/// 3. Each quantized layer gets `input_scale` and weights rounded to their
///    per-output-channel int8 grid (stored as int8 in the plan).
/// 4. With `--accuracy-target`, each layer is quantized alone to measure its
///    sensitivity on the calibration set, and `MixedPrecisionPlanner` keeps the
///    most sensitive layers in FP32 until the target holds. Every measurement
///    runs the real int8 kernels.
/// 5. With `speedCheck` (CPU plans, default), `Int8SpeedChecker` times the layers
///    left in int8 against their FP32 forms on this machine and moves those that
///    are not faster to FP32, recording the times in the plan.
///
/// Runs on the calling thread; the sessions it creates use every core.
struct Int8Builder {
    struct Result {
        var graph: Graph
        var layerPrecision: [String: String]
        var encodings: [String: WeightEncoding]
        var activationScales: [String: Float]
        var method: String
        var calibrationSHA256: String?
        var achieved: String?
        var requiredFeatures: [String]
        /// What the speed check measured (nil when it did not run).
        var speedCheck: Int8SpeedCheck?
    }

    /// One quantizable convolution.
    struct Layer {
        var name: String
        var input: String
        var weight: String
    }

    let graph: Graph
    /// The unoptimized source graph (kept for provenance; the FP32 oracle is the optimized graph).
    let reference: Graph
    let options: CalibrationOptions
    let batch: Int?
    /// Largest |q| of the weights: 127 (8-bit) or 63 (7-bit, for AVX2 without VNNI).
    var weightLevels = 127
    /// Whether fully connected layers (Gemm with constant transposed weights) are
    /// candidates too: CPU plans run them on the int8 GEMM kernels; GPU plans keep them FP16.
    var quantizeGemm = true
    /// Convolutions below the reduction threshold that are candidates all the same, by input channels and
    /// filter width: GPU plans run few-channel first layers on the int8 tensor cores (`CUDAPlan.int8RowChannels`).
    var smallConvCandidate: (@Sendable (_ channels: Int, _ width: Int) -> Bool)? = nil
    /// Whether the int8 layers are timed against their FP32 forms on this machine and kept only where
    /// faster (`Int8SpeedChecker`). CPU plans; GPU plans run their int8 layers elsewhere.
    var speedCheck = true
    /// SHA-256 of the source model file (part of the speed check's timing-cache key).
    var modelSHA256 = ""

    func build() throws -> Result {
        var method = try quant { try CalibrationMethod(name: options.calibMethod, percentile: options.percentile) }
        let target = try options.accuracyTarget.map { t in try quant { try AccuracyTarget(parsing: t) } }
        if let t = options.int8SpeedThreads, t < 1 { throw CLIError("--int8-speed-threads: \(t) must be at least 1") }
        // Each convolution is a layer of its own here; pairs left in FP32 are fused again at the end.
        let g = Self.convertingConvs(graph.splittingPointwiseDepthwise())
        var layers = Self.layers(of: g, minimumReduction: max(1, options.int8MinReduction), gemm: quantizeGemm,
                                 smallConv: smallConvCandidate)
        if layers.isEmpty {
            // Small convolutions gain less from int8, but a model made only of them still gains some.
            layers = Self.layers(of: g, minimumReduction: 1, gemm: quantizeGemm, smallConv: smallConvCandidate)
            if !layers.isEmpty {
                print("note: no convolution has a reduction of \(options.int8MinReduction) or more; quantizing all \(layers.count)")
            }
        }
        guard !layers.isEmpty else {
            throw CLIError("int8: no convolution to quantize (constant weights and a reduction of at least --int8-min-reduction \(options.int8MinReduction))")
        }

        var cached: CalibrationCache? = nil
        if let path = options.calibCache, FileManager.default.fileExists(atPath: path) {
            cached = try quant { try CalibrationCache(contentsOfFile: path) }
        }
        let preprocessing = try options.imagePreprocessing()
        let data = try options.calib.map { try CalibrationData(folder: $0, inputs: g.inputs, preprocessing: preprocessing) }
        if cached == nil && data == nil {
            throw CLIError("--precision int8 needs calibration data (--calib DIR) or an existing --calib-cache FILE")
        }
        if target != nil && data == nil {
            throw CLIError("--accuracy-target needs calibration data (--calib DIR) to measure against FP32")
        }
        let calibGraph = (try? g.overridingBatch(1)) ?? g
        var stats = Int8Stats(method: method.description, target: target?.description)

        // Activation scales.
        var scales: [String: Float]
        var dataHash: String?
        var fp32Outputs: [[Float]] = []
        let inputsToObserve = Set(layers.map(\.input))
        let runner = data.map { Int8Runner(samples: $0.samples) }
        if let cached {
            method = cached.method
            scales = cached.scales
            dataHash = cached.dataHash
            // Fully connected layers became candidates after some caches were written: such a
            // cache still serves the convolutions, and those layers stay in FP32.
            let gemms = Set(g.nodes.filter { $0.op == .gemm }.map(\.name))
            for l in layers where scales[l.input] == nil && gemms.contains(l.name) {
                print("note: \(l.name): its input '\(l.input)' is not in the calibration cache; kept in fp32")
            }
            layers.removeAll { scales[$0.input] == nil && gemms.contains($0.name) }
            for l in layers where scales[l.input] == nil {
                throw CLIError("--calib-cache \(options.calibCache!): no scale for tensor '\(l.input)' (input of \(l.name)); delete the cache to recalibrate")
            }
            stats.method = method.description
            stats.tensors = cached.entries.filter { inputsToObserve.contains($0.name) }.map {
                Int8Stats.TensorStats(name: $0.name, max: nil, bins: nil, thresholds: [:], chosen: $0.scale * 127, scale: $0.scale)
            }
            if let runner, target != nil { fp32Outputs = try runner.outputs(of: calibGraph, label: "fp32 reference") }
        } else {
            let runner = runner!
            let collector = ActivationStatistics()
            fp32Outputs = try runner.outputs(of: calibGraph, label: "calibration 1/2") { name, values in
                if inputsToObserve.contains(name) { try? collector.observeRange(name: name, values: values) }
            }
            try quant { try collector.freezeRanges() }
            _ = try runner.outputs(of: calibGraph, label: "calibration 2/2") { name, values in
                if inputsToObserve.contains(name) { try? collector.observeHistogram(name: name, values: values) }
            }
            let calibrations = try quant { try collector.calibrate(method: method) }
            let hists = collector.histograms
            scales = Dictionary(calibrations.map { ($0.name, $0.scale) }, uniquingKeysWith: { a, _ in a })
            dataHash = data!.sha256
            stats.tensors = calibrations.map { c in
                Int8Stats.TensorStats(name: c.name, max: c.max, bins: hists[c.name]?.bins,
                                      thresholds: Dictionary(c.thresholds.map { ($0.key.description, $0.value) }, uniquingKeysWith: { a, _ in a }),
                                      chosen: c.threshold, scale: c.scale)
            }
            if let path = options.calibCache {
                let cache = CalibrationCache(method: method, dataHash: "sha256:" + dataHash!, calibrations: calibrations)
                try quant { try cache.write(toFile: path) }
                print("wrote calibration cache \(path) (\(calibrations.count) tensors)")
            }
        }
        if let h = dataHash { dataHash = h.hasPrefix("sha256:") ? String(h.dropFirst(7)) : h }

        // Weights on their int8 (or 7-bit) grid, once per weight tensor.
        var gridWeights: [String: Tensor] = [:]
        let weightQuantizer = WeightQuantizer(levels: weightLevels)
        for l in layers where gridWeights[l.weight] == nil {
            let w = g.initializers[l.weight]!
            let q = weightQuantizer.quantize(w.floats, shape: w.shape, channelAxis: 0)
            gridWeights[l.weight] = Tensor(shape: w.shape, floats: q.dequantized())
        }
        if weightLevels != 127 { print("int8 weights: \(weightLevels == 63 ? "7-bit (-63...63)" : "\(weightLevels) levels")") }
        if options.refineScales {
            guard let runner else { throw CLIError("--refine-scales needs calibration data (--calib DIR) to measure against FP32") }
            if fp32Outputs.isEmpty { fp32Outputs = try runner.outputs(of: calibGraph, label: "fp32 reference") }
            scales = try refinedScales(scales, layers: layers, weights: gridWeights, runner: runner, graph: calibGraph,
                                       reference: fp32Outputs, stats: &stats)
        }
        let quantizer = LayerQuantizer(layers: layers, scales: scales, weights: gridWeights, weightLevels: weightLevels)

        // Mixed precision.
        var floatLayers: [String] = []
        var achieved: String? = nil
        if let target, let runner {
            let metric = Int8Metric(target.metric)
            var sensitivities: [MixedPrecisionPlanner.LayerSensitivity] = []
            let subset = min(runner.samples.count, 16)
            let names = layers.map(\.name)
            for (i, name) in names.enumerated() {
                Progress.show("sensitivity", i, names.count)
                let floatSet = Set(names).subtracting([name])
                let outs = try runner.outputs(of: quantizer.apply(to: calibGraph, floatLayers: floatSet), limit: subset)
                let (value, sqnr, cosine) = metric.evaluate(reference: Array(fp32Outputs.prefix(subset)), test: outs)
                sensitivities.append(.init(layer: name, score: metric.score(value)))
                stats.layers.append(.init(layer: name, sqnr: sqnr, cosine: cosine))
            }
            Progress.done()
            var minimum = 0.0
            let plan = try MixedPrecisionPlanner(target: target).plan(sensitivities: sensitivities) { floatSet in
                let outs = try runner.outputs(of: quantizer.apply(to: calibGraph, floatLayers: floatSet))
                let r = metric.evaluate(reference: fp32Outputs, test: outs)
                minimum = metric.minimum(reference: fp32Outputs, test: outs)
                print("  \(floatSet.count) layer(s) in fp32: \(target.metric.rawValue) \(fmt(r.value)) (worst sample \(fmt(minimum)))")
                // The target must hold for every calibration sample, not just on average.
                return minimum
            }
            floatLayers = plan.floatLayers
            achieved = "\(target.metric.rawValue)=\(fmt(plan.achieved)) on the worst of \(runner.samples.count) calibration samples"
            if floatLayers.isEmpty {
                print("all \(layers.count) convolutions in int8 meet \(target)")
            } else {
                print("kept in fp32 to meet \(target): " + floatLayers.joined(separator: ", "))
            }
            if !plan.targetMet { print("warning: target \(target) not met even with every layer in fp32") }
            stats.achieved = achieved
            stats.targetMet = plan.targetMet
            let rank = Dictionary(plan.order.enumerated().map { ($0.element.layer, ($0.offset + 1, $0.element.score)) },
                                  uniquingKeysWith: { a, _ in a })
            for name in names {
                let (r, s) = rank[name] ?? (0, 0)
                let kept = floatLayers.contains(name)
                stats.decisions.append(.init(layer: name, precision: kept ? "fp32" : "int8",
                                             reason: kept ? "sensitivity rank \(r) (error \(fmt(s))); needed for \(target)"
                                                          : "sensitivity rank \(r) (error \(fmt(s)))"))
            }
        } else {
            for l in layers { stats.decisions.append(.init(layer: l.name, precision: "int8", reason: "no accuracy target")) }
        }

        // Speed: of the layers accuracy allows in int8, keep those that run faster in int8 here.
        let speedRecord = try checkSpeed(layers: layers, floatLayers: &floatLayers, quantizer: quantizer, graph: g,
                                         calibGraph: calibGraph, runner: runner, target: target, reference: fp32Outputs,
                                         stats: &stats, achieved: &achieved)

        // The plan's graph at the requested batch.
        let floatSet = Set(floatLayers)
        let quantized = quantizer.apply(to: g, floatLayers: floatSet)
        var layerPrecision: [String: String] = [:]
        let computeOps: Set<OpKind> = [.conv, .fusedConv, .gemm, .matMul, .convTranspose]
        for n in quantized.nodes where computeOps.contains(n.op) {
            layerPrecision[n.name] = FusedConvOp.inputScale(n) != nil ? "int8" : "fp32"
        }
        let out = try planGraph(quantized)
        var encodings: [String: WeightEncoding] = [:]
        var activationScales: [String: Float] = [:]
        let floatWeights = Set(layers.filter { floatSet.contains($0.name) }.map(\.weight))
        for l in layers where !floatSet.contains(l.name) {
            // A weight shared with a float layer keeps its float values; the int8 layer reads a copy.
            encodings[floatWeights.contains(l.weight) ? l.weight + "#int8" : l.weight] = weightLevels == 63 ? .i7 : .i8
            activationScales[l.input] = scales[l.input]
        }
        let statsPath = options.calibStats ?? (cached == nil ? options.calibCache.map { $0 + ".stats.json" } : nil)
        if let path = statsPath {
            try stats.write(to: path)
            print("wrote calibration statistics \(path)")
        }
        return Result(graph: out, layerPrecision: layerPrecision, encodings: encodings,
                      activationScales: activationScales, method: method.description, calibrationSHA256: dataHash,
                      achieved: achieved, requiredFeatures: CPUInfo.features.contains("avx2") ? ["avx2"] : [],
                      speedCheck: speedRecord)
    }

    /// `graph` with every plain 2-D `Conv` with constant weights turned into a `FusedConv` without activation.
    static func convertingConvs(_ graph: Graph) -> Graph {
        var g = graph
        for i in g.nodes.indices where g.nodes[i].op == .conv {
            let n = g.nodes[i]
            guard n.inputs.count >= 2, let w = g.initializers[n.inputs[1]], w.shape.count == 4, w.dtype == .f32 else { continue }
            g.nodes[i].op = .fusedConv
            g.nodes[i].opType = OpKind.fusedConv.rawValue
        }
        return g
    }

    /// Default smallest reduction length (C/group · kh · kw) of a GEMM convolution
    /// worth quantizing (`--int8-min-reduction`): below it, quantizing and packing
    /// the input costs more than the int8 multiply saves (YuNet's 16-channel 1×1 layers).
    static let minimumReduction = 128

    /// Whether depthwise convolutions are quantized. With the VNNI kernels, int8 layers
    /// hand u8 activations to each other (runtime `Int8Chaining`), so a depthwise layer
    /// between two int8 layers reads and writes bytes instead of floats. Without VNNI
    /// it is off: on the AVX2 kernels the FP32 depthwise was faster than quantizing the
    /// input plus the int8 one (SFace b8, 2 threads; and 7-bit weights, 1 thread:
    /// 100 ms with int8 depthwise layers vs 93 ms without). Depthwise layers
    /// are the most sensitive ones; the mixed-precision planner keeps those the
    /// accuracy target needs in FP32.
    static var depthwiseInt8: Bool { Int8Kernels.vnni }

    /// The `FusedConv` nodes with constant 4-D float weights and a run-time input
    /// that the int8 kernels run faster than FP32: GEMM convolutions with a
    /// reduction of at least `minimumReduction`, and 3×3 depthwise ones at stride
    /// 1 or 2 (other depthwise shapes have only a portable int8 kernel).
    static func layers(of graph: Graph, minimumReduction: Int = minimumReduction, gemm: Bool = false,
                       smallConv: ((Int, Int) -> Bool)? = nil) -> [Layer] {
        graph.nodes.compactMap { n in
            if gemm, n.op == .gemm { return gemmLayer(n, graph: graph, minimumReduction: minimumReduction) }
            guard n.op == .fusedConv, n.inputs.count >= 2, !n.inputs[0].isEmpty, graph.initializers[n.inputs[0]] == nil,
                  let w = graph.initializers[n.inputs[1]], w.shape.count == 4, w.dtype == .f32 else { return nil }
            let group = (try? n.int("group", default: 1)) ?? 1
            let strides = (try? n.ints("strides")) ?? nil ?? [1, 1]
            let dilations = (try? n.ints("dilations")) ?? nil ?? [1, 1]
            if group > 1 && w.shape[1] == 1 && group == w.shape[0] {
                guard depthwiseInt8, w.shape[2] == 3, w.shape[3] == 3, strides.allSatisfy({ $0 == 1 || $0 == 2 }),
                      dilations.allSatisfy({ $0 == 1 }) else { return nil }
            } else if w.shape[1] * w.shape[2] * w.shape[3] < minimumReduction {
                guard group == 1, smallConv?(w.shape[1], w.shape[3]) == true else { return nil }
            }
            return Layer(name: n.name, input: n.inputs[0], weight: n.inputs[1])
        }
    }

    /// A fully connected layer the int8 GEMM takes: Y = A · Bᵀ (+ C) with A [M, K] at run
    /// time, B [N, K] constant (transB = 1, so its rows are the output channels the weights
    /// are scaled by), alpha = beta = 1, C absent or a constant of N values, K at least
    /// `minimumReduction`.
    static func gemmLayer(_ n: Node, graph: Graph, minimumReduction: Int) -> Layer? {
        guard n.inputs.count >= 2, !n.inputs[0].isEmpty, graph.initializers[n.inputs[0]] == nil,
              let w = graph.initializers[n.inputs[1]], w.shape.count == 2, w.dtype == .f32,
              ((try? n.int("transA", default: 0)) ?? 1) == 0, ((try? n.int("transB", default: 0)) ?? 0) == 1,
              ((try? n.float("alpha", default: 1)) ?? 0) == 1, ((try? n.float("beta", default: 1)) ?? 0) == 1,
              w.shape[1] >= minimumReduction else { return nil }
        if n.inputs.count > 2, !n.inputs[2].isEmpty {
            guard let c = graph.initializers[n.inputs[2]], c.count == w.shape[0] else { return nil }
        }
        return Layer(name: n.name, input: n.inputs[0], weight: n.inputs[1])
    }

    /// Maps quantization errors (bad cache, bad option) to the CLI's one-line errors.
    /// Factors `--refine-scales` tries on each calibrated input scale; 1 first, so that it wins ties.
    static let refinementFactors: [Float] = [1, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.25]

    /// `--refine-scales`: for each input tensor of the int8 layers, in layer order, only the layers reading it in
    /// int8 (all others FP32), each factor of `refinementFactors` times its calibrated scale, keeping the scale
    /// whose model outputs have the highest worst-sample SQNR against FP32 on up to 8 calibration samples (the
    /// mean breaks ties). The worst sample, as the accuracy target is checked on the worst sample: a scale that
    /// only raises the mean can cost the sample the target hinges on. The model outputs rather than the layer's
    /// own: what a clipped or coarse input costs downstream is what the target measures. Deterministic (fixed
    /// samples, order and kernels).
    func refinedScales(_ calibrated: [String: Float], layers: [Layer], weights: [String: Tensor], runner: Int8Runner,
                       graph: Graph, reference: [[Float]], stats: inout Int8Stats) throws -> [String: Float] {
        var scales = calibrated
        let subset = min(runner.samples.count, 8)
        let ref = Array(reference.prefix(subset))
        let metric = Int8Metric(.sqnr)
        var inputs: [String] = []
        for l in layers where !inputs.contains(l.input) { inputs.append(l.input) }
        let names = Set(layers.map(\.name))
        var changed = 0
        for (i, input) in inputs.enumerated() {
            Progress.show("refining scales", i, inputs.count)
            guard let base = calibrated[input], base > 0 else { continue }
            let floatSet = names.subtracting(layers.filter { $0.input == input }.map(\.name))
            var best: (factor: Float, worst: Double, mean: Double) = (1, -.infinity, -.infinity)
            var first = best
            for f in Self.refinementFactors {
                var trial = scales
                trial[input] = base * f
                let q = LayerQuantizer(layers: layers, scales: trial, weights: weights, weightLevels: weightLevels)
                let outs = try runner.outputs(of: q.apply(to: graph, floatLayers: floatSet), limit: subset)
                let r = (factor: f, worst: metric.minimum(reference: ref, test: outs), mean: metric.evaluate(reference: ref, test: outs).value)
                if f == 1 { first = r }
                if r.worst > best.worst || (r.worst == best.worst && r.mean > best.mean) { best = r }
            }
            guard best.factor != 1 else { continue }
            scales[input] = base * best.factor
            changed += 1
            Progress.done()
            print("  refined scale of '\(input)': ×\(best.factor) (outputs' SQNR, worst sample \(fmt(first.worst)) → "
                  + "\(fmt(best.worst)) dB, mean \(fmt(first.mean)) → \(fmt(best.mean)) dB)")
            if let t = stats.tensors.firstIndex(where: { $0.name == input }) {
                stats.tensors[t].thresholds["refined"] = base * best.factor * 127
                stats.tensors[t].chosen = base * best.factor * 127
                stats.tensors[t].scale = base * best.factor
                stats.tensors[t].refined = best.factor
            }
        }
        Progress.done()
        print("refined \(changed) of \(inputs.count) input scales")
        return scales
    }

    func quant<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as QuantError { throw CLIError(e.message) }
    }
}

/// Rewrites a graph so that chosen layers run in int8.
struct LayerQuantizer {
    let layers: [Int8Builder.Layer]
    let scales: [String: Float]
    let weights: [String: Tensor]
    /// Largest |q| of the grid weights; recorded as `weight_levels` on each int8 layer when not 127.
    var weightLevels = 127

    /// `graph` with every layer not in `floatLayers` given `input_scale` and grid weights.
    func apply(to graph: Graph, floatLayers: Set<String>) -> Graph {
        var g = graph
        let byName = Dictionary(layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var floatWeights = Set<String>()
        for l in layers where floatLayers.contains(l.name) { floatWeights.insert(l.weight) }
        for i in g.nodes.indices {
            guard let l = byName[g.nodes[i].name], !floatLayers.contains(l.name), let s = scales[l.input] else { continue }
            g.nodes[i].attributes["input_scale"] = .float(s)
            if weightLevels != 127 { g.nodes[i].attributes["weight_levels"] = .int(weightLevels) }
            // A weight tensor shared with a float layer is duplicated so the float layer keeps exact weights.
            if floatWeights.contains(l.weight) {
                let copy = l.weight + "#int8"
                g.initializers[copy] = weights[l.weight]
                g.nodes[i].inputs[1] = copy
            } else {
                g.initializers[l.weight] = weights[l.weight]
            }
        }
        return g
    }
}

func fmt(_ v: Double) -> String {
    if v.isInfinite { return v > 0 ? "inf" : "-inf" }
    return String(format: "%.5g", v)
}
