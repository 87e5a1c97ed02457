/// Shared resampling engine of `Resize` and `Upsample` (not an operator itself):
/// coordinate transformations, nearest rounding and separable N-D linear interpolation.
public enum Resampling {
    public enum Mode: String, Sendable { case nearest, linear }

    /// How an output coordinate maps back to an input coordinate (ONNX names).
    public enum Coordinates: String, Sendable, CaseIterable {
        case halfPixel = "half_pixel"
        case halfPixelSymmetric = "half_pixel_symmetric"
        case pytorchHalfPixel = "pytorch_half_pixel"
        case alignCorners = "align_corners"
        case asymmetric = "asymmetric"
        /// Spelled `tf_half_pixel_for_nn` in the ONNX spec (opset 11; deprecated from 13).
        case tfHalfPixelForNN = "tf_half_pixel_for_nn"
    }

    /// How a fractional input coordinate picks a pixel in nearest mode.
    public enum Nearest: String, Sendable, CaseIterable {
        case roundPreferFloor = "round_prefer_floor"
        case roundPreferCeil = "round_prefer_ceil"
        case floor
        case ceil
        /// Resize-10: truncation when enlarging an axis, ceiling when shrinking it.
        case legacy
    }

    public struct Config: Sendable {
        public var mode: Mode
        public var coordinates: Coordinates
        public var nearest: Nearest
        public init(mode: Mode, coordinates: Coordinates, nearest: Nearest) {
            self.mode = mode
            self.coordinates = coordinates
            self.nearest = nearest
        }
    }

    /// Input coordinate of output index `o` on an axis resized from `inLen` to `outLen` by `scale`.
    public static func source(_ o: Int, scale: Float, inLen: Int, outLen: Int, _ c: Coordinates) -> Float {
        let x = Float(o)
        switch c {
        case .halfPixel:
            return (x + 0.5) / scale - 0.5
        case .halfPixelSymmetric:
            let adjustment = Float(outLen) / (scale * Float(inLen))
            let center = Float(inLen) / 2
            let offset = center * (1 - adjustment)
            return offset + (x + 0.5) / scale - 0.5
        case .pytorchHalfPixel:
            return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0
        case .alignCorners:
            return outLen == 1 ? 0 : x * Float(inLen - 1) / Float(outLen - 1)
        case .asymmetric:
            return x / scale
        case .tfHalfPixelForNN:
            return (x + 0.5) / scale
        }
    }

    /// The input index that nearest mode picks for coordinate `x`, clamped to the axis.
    public static func nearestIndex(_ x: Float, _ rule: Nearest, scale: Float, inLen: Int) -> Int {
        var v: Float
        switch rule {
        case .roundPreferFloor:
            v = x - x.rounded(.down) == 0.5 ? x.rounded(.down) : x.rounded()
        case .roundPreferCeil:
            v = x - x.rounded(.down) == 0.5 ? x.rounded(.up) : x.rounded()
        case .floor:
            v = x.rounded(.down)
        case .ceil:
            v = x.rounded(.up)
        case .legacy:
            v = scale < 1 ? x.rounded(.up) : x.rounded(.towardZero)
        }
        if !v.isFinite { v = 0 }
        return Swift.min(Swift.max(Int(Swift.max(Swift.min(v, 1e9), -1e9)), 0), inLen - 1)
    }

    /// Resamples a tensor to `outShape`; `scales` has one factor per axis.
    public static func run(_ x: Tensor, outShape: [Int], scales: [Float], _ cfg: Config) -> Tensor {
        var shape = x.shape
        var floats: [Float]? = nil, ints: [Int64]? = nil
        switch x.storage {
        case .float(let v): floats = v
        case .int(let v):
            if cfg.mode == .nearest { ints = v } else { floats = v.map { Float($0) } }
        }
        for a in 0..<shape.count {
            let inLen = shape[a], outLen = outShape[a]
            guard outLen > 0, inLen > 0 else {
                // An empty axis: the result has no elements.
                shape[a] = outLen
                let n = shape.reduce(1, *)
                if floats != nil { floats = [Float](repeating: 0, count: n) }
                if ints != nil { ints = [Int64](repeating: 0, count: n) }
                continue
            }
            // An axis that keeps its length with factor 1 is left alone (this matters only for
            // tf_half_pixel_for_nn, whose +0.5 shift would otherwise move unscaled axes).
            if inLen == outLen && scales[a] == 1 { continue }
            let outer = shape[0..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
            switch cfg.mode {
            case .nearest:
                var map = [Int](repeating: 0, count: outLen)
                var identity = inLen == outLen
                for o in 0..<outLen {
                    let c = source(o, scale: scales[a], inLen: inLen, outLen: outLen, cfg.coordinates)
                    map[o] = nearestIndex(c, cfg.nearest, scale: scales[a], inLen: inLen)
                    if map[o] != o { identity = false }
                }
                if identity { continue }
                if let v = floats { floats = gather(v, outer: outer, inLen: inLen, inner: inner, map: map) }
                if let v = ints { ints = gather(v, outer: outer, inLen: inLen, inner: inner, map: map) }
            case .linear:
                var i0 = [Int](repeating: 0, count: outLen), i1 = i0
                var w1 = [Float](repeating: 0, count: outLen)
                var identity = inLen == outLen
                for o in 0..<outLen {
                    var c = source(o, scale: scales[a], inLen: inLen, outLen: outLen, cfg.coordinates)
                    if !c.isFinite { c = 0 }
                    c = Swift.min(Swift.max(c, 0), Float(inLen - 1))
                    let lo = Int(c.rounded(.down))
                    i0[o] = lo
                    i1[o] = Swift.min(lo + 1, inLen - 1)
                    w1[o] = i1[o] == lo ? 0 : c - Float(lo)
                    if lo != o || w1[o] != 0 { identity = false }
                }
                if identity { continue }
                let v = floats!
                var y = [Float](repeating: 0, count: outer * outLen * inner)
                for p in 0..<outer {
                    for o in 0..<outLen {
                        let dst = (p * outLen + o) * inner
                        let s0 = (p * inLen + i0[o]) * inner, s1 = (p * inLen + i1[o]) * inner
                        let b = w1[o], a0 = 1 - b
                        for t in 0..<inner { y[dst + t] = a0 * v[s0 + t] + b * v[s1 + t] }
                    }
                }
                floats = y
            }
            shape[a] = outLen
        }
        if let ints { return Tensor(shape: outShape, ints: ints, dtype: x.dtype) }
        if x.dtype.isFloating { return Tensor(shape: outShape, floats: floats!, dtype: x.dtype) }
        // Linear interpolation of integer data: round to nearest, clamp to the type.
        let r = floats!.map { Pooling.clampToInt($0.rounded(), x.dtype) }
        return Tensor(shape: outShape, ints: r, dtype: x.dtype)
    }

    static func gather<T>(_ v: [T], outer: Int, inLen: Int, inner: Int, map: [Int]) -> [T] {
        var y: [T] = []
        y.reserveCapacity(outer * map.count * inner)
        for p in 0..<outer {
            for m in map {
                let s = (p * inLen + m) * inner
                y.append(contentsOf: v[s..<(s + inner)])
            }
        }
        return y
    }

    /// Output shape and per-axis scale factors from `scales` (factors) or `sizes`
    /// (target lengths), each covering `axes` (all axes when nil).
    public static func plan(_ node: Node, input: [Int], scales: [Float]?, sizes: [Int64]?, axes: [Int]?) throws -> (shape: [Int], scales: [Float]) {
        let rank = input.count
        let ax = axes ?? Array(0..<rank)
        var out = input
        var factors = [Float](repeating: 1, count: rank)
        if let scales, !scales.isEmpty {
            if let sizes, !sizes.isEmpty {
                throw node.error(.invalidModel, "only one of 'scales' and 'sizes' may be given")
            }
            guard scales.count == ax.count else {
                throw node.error(.invalidModel, "'scales' has \(scales.count) values, expected \(ax.count) for input \(input)")
            }
            for (i, a) in ax.enumerated() {
                let s = scales[i]
                guard s > 0, s.isFinite else { throw node.error(.invalidModel, "scale \(s) must be positive") }
                factors[a] = s
                let o = (Float(input[a]) * s).rounded(.down)
                guard o < 1e12 else { throw node.error(.invalidModel, "scale \(s) gives a too large output") }
                out[a] = Int(o)
            }
        } else if let sizes, !sizes.isEmpty {
            guard sizes.count == ax.count else {
                throw node.error(.invalidModel, "'sizes' has \(sizes.count) values, expected \(ax.count) for input \(input)")
            }
            for (i, a) in ax.enumerated() {
                guard sizes[i] >= 0 else { throw node.error(.invalidModel, "size \(sizes[i]) must not be negative") }
                out[a] = Int(sizes[i])
                factors[a] = input[a] > 0 ? Float(out[a]) / Float(input[a]) : 1
            }
        } else {
            throw node.error(.invalidModel, "needs non-empty 'scales' or 'sizes'")
        }
        return (out, factors)
    }
}

/// `Resize`: nearest or linear (N-D, separable) resampling. Opset 10 takes (X, scales)
/// with asymmetric coordinates; opset 11+ takes (X, roi, scales, sizes) and the
/// coordinate_transformation_mode / nearest_mode attributes; opset 18 adds axes.
public enum ResizeOp: Operator {
    public static let schema = OpSchema(inputs: 1...4,
                                        attributes: ["antialias", "axes", "coordinate_transformation_mode", "cubic_coeff_a",
                                                     "exclude_outside", "extrapolation_value", "keep_aspect_ratio_policy",
                                                     "mode", "nearest_mode"],
                                        sinceOpset: 10, summary: "nearest / linear resampling")

    /// Interpolation settings from the attributes.
    public static func config(_ node: Node) throws -> Resampling.Config {
        let modeName = try node.string("mode", default: "nearest")
        if modeName == "cubic" { throw node.error(.unsupported, "attribute mode='cubic' is not supported (nearest, linear)") }
        guard let mode = Resampling.Mode(rawValue: modeName) else {
            throw node.error(.invalidModel, "attribute mode='\(modeName)' is not one of nearest, linear, cubic")
        }
        if node.opset < 11 {
            return Resampling.Config(mode: mode, coordinates: .asymmetric, nearest: .legacy)
        }
        var ctm = try node.string("coordinate_transformation_mode", default: "half_pixel")
        if ctm == "tf_half_pixel_for_nearest" { ctm = "tf_half_pixel_for_nn" }  // a common misspelling
        if ctm == "tf_crop_and_resize" {
            throw node.error(.unsupported, "attribute coordinate_transformation_mode='tf_crop_and_resize' is not supported")
        }
        guard let coords = Resampling.Coordinates(rawValue: ctm) else {
            throw node.error(.invalidModel, "attribute coordinate_transformation_mode='\(ctm)' is not a known mode")
        }
        let nm = try node.string("nearest_mode", default: "round_prefer_floor")
        guard let nearest = Resampling.Nearest(rawValue: nm), nearest != .legacy else {
            throw node.error(.invalidModel, "attribute nearest_mode='\(nm)' is not one of round_prefer_floor, round_prefer_ceil, floor, ceil")
        }
        return Resampling.Config(mode: mode, coordinates: coords, nearest: nearest)
    }

    public static func validate(_ node: Node) throws {
        _ = try config(node)
        let n = node.inputs.count
        if node.opset < 11 {
            guard n == 2 else { throw node.error(.invalidModel, "Resize-10 takes inputs (X, scales), got \(n) inputs") }
        }
        let aa = try node.int("antialias", default: 0)
        if aa == 1 { throw node.error(.unsupported, "attribute antialias=1 is not supported") }
        guard aa == 0 else { throw node.error(.invalidModel, "attribute antialias=\(aa) must be 0 or 1") }
        let policy = try node.string("keep_aspect_ratio_policy", default: "stretch")
        if policy == "not_larger" || policy == "not_smaller" {
            throw node.error(.unsupported, "attribute keep_aspect_ratio_policy='\(policy)' is not supported (only stretch)")
        }
        guard policy == "stretch" else {
            throw node.error(.invalidModel, "attribute keep_aspect_ratio_policy='\(policy)' is not one of stretch, not_larger, not_smaller")
        }
        _ = try node.int("exclude_outside", default: 0)
        _ = try node.float("extrapolation_value", default: 0)
        _ = try node.float("cubic_coeff_a", default: -0.75)
        _ = try node.ints("axes")
    }

    /// Normalized `axes` attribute (opset 18+), or nil for all axes.
    static func axes(_ node: Node, rank: Int) throws -> [Int]? {
        guard let given = try node.ints("axes"), !given.isEmpty else { return nil }
        var out: [Int] = []
        for a in given {
            guard let v = Shapes.axis(a, rank: rank), rank > 0 else {
                throw node.error(.invalidModel, "axis \(a) is out of range for rank \(rank)")
            }
            guard !out.contains(v) else { throw node.error(.invalidModel, "axis \(a) is repeated in axes \(given)") }
            out.append(v)
        }
        return out
    }

    /// Input positions of scales and sizes for this opset.
    static func scalesIndex(_ node: Node) -> Int { node.opset < 11 ? 1 : 2 }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input X is missing") }
        func constant(_ i: Int, _ name: String) throws -> Tensor? {
            guard i < inputs.count, let info = inputs[i], info.count > 0 else { return nil }
            guard let c = info.constant else {
                throw node.error(.unsupported, "input '\(name)' ('\(node.inputs[i])') must be computable before run time")
            }
            guard info.shape.count == 1 else { throw node.error(.invalidModel, "input '\(name)' must be 1-D, got \(info.shape)") }
            return c
        }
        let scales = try constant(scalesIndex(node), "scales")
        let sizes = node.opset < 11 ? nil : try constant(3, "sizes")
        let p = try Resampling.plan(node, input: x.shape, scales: scales?.floats, sizes: sizes?.ints,
                                    axes: try axes(node, rank: x.shape.count))
        return [ValueInfo(dtype: x.dtype, shape: p.shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let si = scalesIndex(node)
        let scales = si < inputs.count ? inputs[si]?.floats : nil
        let sizes = node.opset >= 11 && inputs.count > 3 ? inputs[3]?.ints : nil
        guard let cfg = try? config(node),
              let p = try? Resampling.plan(node, input: x.shape, scales: scales, sizes: sizes,
                                           axes: (try? axes(node, rank: x.shape.count)) ?? nil) else {
            return [Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype)]
        }
        return [Resampling.run(x, outShape: p.shape, scales: p.scales, cfg)]
    }
}
