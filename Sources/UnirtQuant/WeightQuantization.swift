/// Weights quantized symmetrically with one scale per output channel:
/// w ≈ Float(values[k]) · scales[channel of k].
public struct QuantizedWeights: Sendable, Equatable {
    /// The quantized values, same shape and order as the float weights.
    public var values: [Int8]
    /// One dequantization scale per output channel (`max|w| / levels`, 1 for an all-zero channel).
    public var scales: [Float]
    /// The weight tensor's shape.
    public var shape: [Int]
    /// The axis of `shape` that indexes output channels.
    public var channelAxis: Int
    /// The largest |q|: 127 for 8-bit, 63 for the 7-bit variant.
    public var levels: Int

    /// Creates quantized weights from their parts.
    public init(values: [Int8], scales: [Float], shape: [Int], channelAxis: Int, levels: Int) {
        self.values = values
        self.scales = scales
        self.shape = shape
        self.channelAxis = channelAxis
        self.levels = levels
    }

    /// The weights back in float: `q · scale` per element.
    public func dequantized() -> [Float] {
        let (outer, channels, inner) = WeightQuantizer.split(shape, axis: channelAxis)
        var out = [Float](repeating: 0, count: values.count)
        for o in 0..<outer {
            for c in 0..<channels {
                let base = (o * channels + c) * inner
                for k in 0..<inner { out[base + k] = Float(values[base + k]) * scales[c] }
            }
        }
        return out
    }
}

/// Per-output-channel symmetric weight quantization with no clipping.
///
/// scale_c = max|w_c| / levels (computed in Float), q = clamp(round(w / scale_c),
/// −levels, levels) with round-half-to-even; so |w − q·scale_c| ≤ scale_c/2.
/// `levels` is 127 for 8-bit weights and 63 for the 7-bit variant (values in
/// −63…63, inside the −64…63 range) that a u8×s8 kernel built on VPMADDUBSW
/// needs so that two products never overflow its 16-bit pair sums.
public struct WeightQuantizer: Sendable {
    /// 8-bit symmetric weights (−127…127).
    public static let int8 = WeightQuantizer(levels: 127)
    /// 7-bit symmetric weights (−63…63).
    public static let int7 = WeightQuantizer(levels: 63)

    /// The largest |q|.
    public let levels: Int

    /// A quantizer with `levels` positive levels, 1…127.
    public init(levels: Int) {
        precondition((1...127).contains(levels), "weight levels must be in 1...127")
        self.levels = levels
    }

    /// Quantizes `weights` of `shape` with one scale per index of `channelAxis`
    /// (0 for Conv's OIHW and for Gemm weights stored [N, K]; 1 for Gemm [K, N]).
    /// Non-finite weights are a programmer error: the importer rejects them.
    public func quantize(_ weights: [Float], shape: [Int], channelAxis: Int = 0) -> QuantizedWeights {
        precondition(weights.count == shape.reduce(1, *), "weights do not match shape")
        let (outer, channels, inner) = Self.split(shape, axis: channelAxis)
        var maxAbs = [Float](repeating: 0, count: channels)
        for o in 0..<outer {
            for c in 0..<channels {
                let base = (o * channels + c) * inner
                var m = maxAbs[c]
                for k in 0..<inner { m = max(m, abs(weights[base + k])) }
                maxAbs[c] = m
            }
        }
        let scales = maxAbs.map { TensorCalibration.scale(forThreshold: $0, levels: levels) }
        var q = [Int8](repeating: 0, count: weights.count)
        let lim = Float(levels)
        for o in 0..<outer {
            for c in 0..<channels {
                let base = (o * channels + c) * inner
                let s = scales[c]
                for k in 0..<inner {
                    let r = (weights[base + k] / s).rounded(.toNearestOrEven)
                    q[base + k] = Int8(min(max(r, -lim), lim))
                }
            }
        }
        return QuantizedWeights(values: q, scales: scales, shape: shape, channelAxis: channelAxis, levels: levels)
    }

    /// (product of dims before `axis`, dim at `axis`, product of dims after it).
    static func split(_ shape: [Int], axis: Int) -> (Int, Int, Int) {
        precondition(axis >= 0 && axis < shape.count, "channel axis \(axis) out of range for shape \(shape)")
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }
}

/// Symmetric saturating quantization of activations with one scale:
/// q = clamp(round(x / scale), −levels, levels), round-half-to-even.
public enum ActivationQuantizer {
    /// Quantizes one value. NaN maps to 0.
    @inline(__always)
    public static func quantize(_ x: Float, scale: Float, levels: Int = 127) -> Int8 {
        let r = (x / scale).rounded(.toNearestOrEven)
        guard !r.isNaN else { return 0 }
        let lim = Float(levels)
        return Int8(min(max(r, -lim), lim))
    }

    /// Quantizes then dequantizes every value ("fake quantization"), as used
    /// to measure a layer's sensitivity in float.
    public static func fakeQuantize(_ values: [Float], scale: Float, levels: Int = 127) -> [Float] {
        values.map { Float(quantize($0, scale: scale, levels: levels)) * scale }
    }
}
