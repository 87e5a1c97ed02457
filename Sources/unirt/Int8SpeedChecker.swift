import Foundation
import UnirtIR
import UnirtPlan
import UnirtRuntime

/// Keeps an int8 layer in int8 only where it runs faster than its FP32 form on the build
/// machine (TensorRT's per-layer tactic timing, at the level of whole plans).
///
/// The candidates are the layers the accuracy step allows in int8. They are timed in
/// groups: layers that must change precision together because an FP32 kernel covers
/// several of them (a 1×1 convolution fused with the 3×3 depthwise one after it, which its
/// int8 form would split) form one group. Each pass runs the plan with the remaining
/// candidates in int8 and the all-FP32 plan in turn (A B, B A, …) with per-step
/// profiling, sums each group's steps per run and compares the medians over the runs:
/// a group stays int8 only when its median is at least `minimumGain` below the FP32 one.
/// Groups that lose fall back, and the next pass times the plan without them (a
/// neighbour's int8 time can change when it no longer receives u8 activations), up to
/// `maximumPasses` times. When some but not all fell back, the plan as chosen, the one
/// with every candidate in int8 and the FP32 one are timed together and the faster of
/// the first two is kept (per-step times need not add up to whole runs). Last, the
/// plan kept must run no slower than the FP32 plan, else every layer falls back. Whole
/// plans are compared by the median over rounds of their time ratio within a round.
///
/// Runs on the calling thread; the sessions use `threads` workers each, and run one at a time.
struct Int8SpeedChecker {
    /// A group stays int8 when its median time is at most (1 − this) × its FP32 median.
    static let minimumGain = 0.03
    /// Seconds of timed runs per pass of two plans (half as much again for three), within `rounds`.
    static let budget = 1.0
    static let rounds = 7...41
    static let maximumPasses = 3

    /// The int8 candidates, in layer order.
    let candidates: [String]
    /// The plan's graph with the given candidates (and every layer the accuracy step chose) in FP32.
    let variant: (Set<String>) throws -> Graph
    /// One run's inputs at the plan's batch.
    let inputs: [String: Tensor]
    let threads: Int

    struct Outcome {
        /// Candidates that fall back to FP32, with the reason.
        var fallbacks: [(layer: String, reason: String)]
        var record: Int8SpeedCheck
    }

    func run() throws -> Outcome {
        let all = Set(candidates)
        var groups = Groups()
        let fp32Graph = try variant(all)
        groups.add(fp32Graph)
        let fp32Plan = try compile(fp32Graph)
        var allInt8Plan: ExecutionPlan? = nil
        var dropped = Set<String>()
        var fallbacks: [(layer: String, reason: String)] = []
        var timings: [String: Int8SpeedCheck.LayerTiming] = [:]
        var allInt8Ms = 0.0, planMs = 0.0, fp32Ms = 0.0
        // The plan's whole-run time over the FP32 plan's, as the median of the ratios within rounds.
        var planOverFP32 = 1.0
        var settled = false
        for pass in 0..<Self.maximumPasses where !settled {
            Progress.show("speed check", pass, Self.maximumPasses + 1)
            let graph = try variant(dropped)
            groups.add(graph)
            let plan = try compile(graph)
            if pass == 0 { allInt8Plan = plan }
            let m = try measure([plan, fp32Plan])
            if pass == 0 { allInt8Ms = m.total(0) }
            (planMs, fp32Ms, planOverFP32) = (m.total(0), m.total(1), m.ratio(0, 1))
            var losing: [String] = []
            for group in groups.groups(of: candidates.filter { !dropped.contains($0) }) {
                let a = m.median(of: group.members, plan: 0), b = m.median(of: group.members, plan: 1)
                for c in group.candidates {
                    let others = group.members.filter { $0 != c }
                    timings[c] = .init(int8Ms: a, fp32Ms: b, with: others.isEmpty ? nil : others)
                }
                guard a > b * (1 - Self.minimumGain) else { continue }
                for c in group.candidates {
                    losing.append(c)
                    fallbacks.append((c, Self.describe(timings[c]!)))
                }
            }
            dropped.formUnion(losing)
            settled = losing.isEmpty || dropped == all
            if dropped == all { planMs = fp32Ms }
        }
        if !dropped.isEmpty && dropped != all, let allInt8Plan {
            // Per-group times need not add up to whole runs (activations handed on as u8, cache
            // effects across steps): the plan as chosen, the one with every candidate in int8 and
            // the FP32 one, timed together, and the fastest of the first two is kept.
            Progress.show("speed check", Self.maximumPasses, Self.maximumPasses + 1)
            let m = try measure([try compile(try variant(dropped)), allInt8Plan, fp32Plan])
            (planMs, allInt8Ms, fp32Ms, planOverFP32) = (m.total(0), m.total(1), m.total(2), m.ratio(0, 2))
            if m.ratio(1, 0) < 1 - Self.minimumGain {
                print("note: int8 speed check: the plan with every layer in int8 ran \(formatMs(allInt8Ms)), "
                      + "the one without the \(dropped.count) slower layer(s) \(formatMs(planMs)); keeping every layer in int8")
                dropped = []
                fallbacks = []
                (planMs, planOverFP32) = (allInt8Ms, m.ratio(1, 2))
            }
        }
        Progress.done()
        if dropped != all && planOverFP32 > 1 {
            let reason = "the plan with int8 layers ran \(formatMs(planMs)) vs \(formatMs(fp32Ms)) in fp32"
            for c in candidates where !dropped.contains(c) { fallbacks.append((c, reason)) }
            dropped = all
            planMs = fp32Ms
        }
        return Outcome(fallbacks: fallbacks,
                       record: Int8SpeedCheck(threads: threads, allInt8Ms: allInt8Ms, fp32Ms: fp32Ms, planMs: planMs, layers: timings))
    }

    func compile(_ graph: Graph) throws -> ExecutionPlan {
        do { return try Session(graph: graph, threads: threads).plan(for: inputs) } catch let e as RuntimeError {
            throw CLIError("int8 speed check: \(e.message)")
        }
    }

    /// Per-run step times of plans run in turn.
    struct Measurement {
        /// One plan's run: seconds per step, by the layer names the step covers, and in all.
        struct Run {
            var steps: [(names: [String], seconds: Double)]
            var total: Double
        }
        /// Per round, one run of each plan (in the order the plans were given).
        var rounds: [[Run]] = []

        /// Median whole-run time (ms) of plan `i`.
        func total(_ i: Int) -> Double { Int8SpeedChecker.median(rounds.map { $0[i].total }) * 1000 }

        /// Median over rounds of plan `i`'s whole-run time over plan `j`'s in the same round: runs
        /// side by side share the machine's state, so the ratio cancels a drift that the two
        /// medians of `total` would keep.
        func ratio(_ i: Int, _ j: Int) -> Double { Int8SpeedChecker.median(rounds.map { $0[i].total / $0[j].total }) }

        /// Median over runs of plan `i` of the summed time (ms) of the steps covering any of `names`.
        func median(of names: [String], plan i: Int) -> Double {
            let set = Set(names)
            return Int8SpeedChecker.median(rounds.map { round in
                round[i].steps.reduce(0) { $0 + ($1.names.contains(where: set.contains) ? $1.seconds : 0) }
            }) * 1000
        }
    }

    /// Runs the plans in turn, forwards and backwards in alternate rounds (A B C, C B A, …) so that
    /// none always runs first or last, after a warm-up, with per-step profiling.
    func measure(_ plans: [ExecutionPlan]) throws -> Measurement {
        let covered = plans.map { Self.covered($0.specialized.graph) }
        func timed(_ i: Int) -> Measurement.Run {
            var profile = ExecutionPlan.Profile()
            let start = ContinuousClock.now
            _ = withUnsafeMutablePointer(to: &profile) { plans[i].execute(inputs, profile: $0) }
            let total = (ContinuousClock.now - start).seconds
            return .init(steps: profile.seconds.map { (covered[i][$0.node] ?? [$0.node], $0.seconds) }, total: total)
        }
        // Warm-up: first-touch page faults, packed weights, caches; also estimates the run times.
        var fastest = [Double](repeating: .infinity, count: plans.count)
        let warmStart = ContinuousClock.now
        var warmRuns = 0
        while warmRuns < 3 || (ContinuousClock.now - warmStart < .milliseconds(100) && warmRuns < 20) {
            for i in plans.indices { fastest[i] = min(fastest[i], timed(i).total) }
            warmRuns += 1
        }
        let perRound = max(fastest.reduce(0, +), 1e-6)
        let count = min(max(Int(Self.budget * Double(plans.count) / 2 / perRound), Self.rounds.lowerBound), Self.rounds.upperBound)
        var m = Measurement()
        for r in 0..<count {
            var round = [Measurement.Run?](repeating: nil, count: plans.count)
            for i in (r % 2 == 0 ? Array(plans.indices) : plans.indices.reversed()) { round[i] = timed(i) }
            m.rounds.append(round.map { $0! })
        }
        return m
    }

    /// Node name → the layer names it stands for: the parts of a fused pointwise-depthwise node, else itself.
    static func covered(_ graph: Graph) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for n in graph.nodes {
            if n.op == .fusedPointwiseDepthwise {
                let p = FusedPointwiseDepthwiseOp.parts(of: n)
                result[n.name] = [p.pointwise.name, p.depthwise.name] + (p.pool.map { [$0.name] } ?? [])
            } else {
                result[n.name] = [n.name]
            }
        }
        return result
    }

    /// Layers that run as one step in some variant, joined (union-find over layer names).
    struct Groups {
        var parent: [String: String] = [:]

        mutating func find(_ x: String) -> String {
            var r = x
            while let p = parent[r], p != r { r = p }
            var y = x
            while let p = parent[y], p != r { parent[y] = r; y = p }
            return r
        }

        mutating func add(_ graph: Graph) {
            for names in Int8SpeedChecker.covered(graph).values {
                for n in names where parent[n] == nil { parent[n] = n }
                for n in names.dropFirst() {
                    let a = find(names[0]), b = find(n)
                    if a != b { parent[b] = a }
                }
            }
        }

        /// The groups holding `candidates`: their candidates (in the given order) and all their layers.
        mutating func groups(of candidates: [String]) -> [(candidates: [String], members: [String])] {
            var order: [String] = []
            var byRoot: [String: [String]] = [:]
            for c in candidates {
                let r = find(c)
                if byRoot[r] == nil { order.append(r) }
                byRoot[r, default: []].append(c)
            }
            var members: [String: [String]] = [:]
            for n in parent.keys.sorted() { members[find(n), default: []].append(n) }
            return order.map { (byRoot[$0]!, members[$0] ?? byRoot[$0]!) }
        }
    }

    /// "int8 2.84 ms vs fp32 1.08 ms", naming the layers timed with it.
    static func describe(_ t: Int8SpeedCheck.LayerTiming) -> String {
        "int8 \(formatMs(t.int8Ms)) vs fp32 \(formatMs(t.fp32Ms))" + (t.with.map { " with " + $0.joined(separator: ", ") } ?? "")
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// Milliseconds with two decimals, e.g. "2.84 ms".
func formatMs(_ v: Double) -> String { String(format: "%.2f ms", v) }
