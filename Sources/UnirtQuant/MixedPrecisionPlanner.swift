/// Chooses which layers stay in float so that a quantized model meets an
/// accuracy target, greedily by per-layer sensitivity.
///
/// Algorithm:
/// 1. Order the layers by sensitivity score, highest first (the score is the
///    error when only that layer is quantized, e.g. 1 − cosine, so higher
///    means more sensitive). Equal scores keep their input order; a NaN score
///    counts as +∞ (a layer that breaks on its own is the first to fall back).
/// 2. Evaluate the model with no float layers. While the target is not met
///    and layers remain, move the next layer of the order into the float set
///    and evaluate again.
/// 3. Stop at the first float set that meets the target. If even all layers in
///    float miss it, the result says so (`targetMet == false`) with every
///    layer in float.
///
/// The evaluator runs at most n + 1 times for n layers. It is called on the
/// calling thread, one call at a time, so it may hold non-Sendable state.
public struct MixedPrecisionPlanner {
    /// One layer's sensitivity: the whole-model error when only it is quantized.
    public struct LayerSensitivity: Sendable, Equatable {
        /// The layer (node) name.
        public var layer: String
        /// The error; higher is more sensitive.
        public var score: Double
        /// Creates an entry.
        public init(layer: String, score: Double) {
            self.layer = layer
            self.score = score
        }
    }

    /// One evaluation the planner made.
    public struct Step: Sendable, Equatable {
        /// The float layers in this evaluation (in the order they were added).
        public var floatLayers: [String]
        /// The metric the evaluator returned.
        public var metric: Double
    }

    /// What the planner decided.
    public struct Plan: Sendable, Equatable {
        /// Layers kept in float, most sensitive first.
        public var floatLayers: [String]
        /// The metric of the final configuration.
        public var achieved: Double
        /// Whether `achieved` meets the target.
        public var targetMet: Bool
        /// Every evaluation, in order (the first has no float layers).
        public var steps: [Step]
        /// The layers in the order the planner considered them.
        public var order: [LayerSensitivity]
    }

    /// The goal.
    public var target: AccuracyTarget

    /// A planner for `target`.
    public init(target: AccuracyTarget) {
        self.target = target
    }

    /// The layers in fallback order (see the type's documentation).
    public static func order(_ layers: [LayerSensitivity]) -> [LayerSensitivity] {
        func key(_ s: Double) -> Double { s.isNaN ? .infinity : s }
        return layers.enumerated().sorted { a, b in
            let ka = key(a.element.score), kb = key(b.element.score)
            return ka != kb ? ka > kb : a.offset < b.offset
        }.map(\.element)
    }

    /// Runs the greedy search. `evaluate` returns the whole-model metric when
    /// the given layers run in float and all others are quantized; its errors
    /// propagate.
    public func plan(sensitivities: [LayerSensitivity],
                     evaluate: (Set<String>) throws -> Double) rethrows -> Plan {
        let order = Self.order(sensitivities)
        var floatLayers: [String] = []
        var metric = try evaluate([])
        var steps = [Step(floatLayers: [], metric: metric)]
        var next = 0
        while !target.isMet(by: metric) && next < order.count {
            floatLayers.append(order[next].layer)
            next += 1
            metric = try evaluate(Set(floatLayers))
            steps.append(Step(floatLayers: floatLayers, metric: metric))
        }
        return Plan(floatLayers: floatLayers, achieved: metric, targetMet: target.isMet(by: metric),
                    steps: steps, order: order)
    }
}
