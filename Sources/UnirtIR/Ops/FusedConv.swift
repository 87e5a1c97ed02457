/// `FusedConv` (unirt-internal, made by the optimizer, never read from ONNX):
/// a convolution with its bias, an optional residual input and an activation
/// in one node.
///
/// `Y = act(conv(X, W) + B + Z)` when `residual_before_activation` = 1 (the default,
/// ResNet style), or `Y = act(conv(X, W) + B) + Z` when 0 (pre-activation blocks).
/// Inputs: X, W, B (optional), Z (optional residual, output shape), slope
/// (optional, PRelu's per-channel slope broadcastable to the output).
/// Attributes: every Conv attribute plus `activation` (`""`, `Relu`, `PRelu`,
/// `LeakyRelu`, `Clip`, `Sigmoid`, `HardSigmoid`), `activation_alpha`,
/// `activation_beta` (LeakyRelu alpha; Clip min/max; HardSigmoid alpha/beta).
///
/// `input_scale` (float > 0, int8 plans only): its presence means the node runs
/// in int8 — X is quantized to u8 with zero point 128 and this symmetric scale
/// (`q = clamp(round_half_even(x / s), −128, 127)`), W holds weights already
/// rounded to their per-output-channel int8 grid. The reference kernel simulates
/// that: it convolves the fake-quantized input `q · s` in float.
/// `weight_levels` (int, 1…127, default 127): the largest |q| of that grid —
/// 63 for the 7-bit weights of plans built for AVX2 CPUs without VNNI.
public enum FusedConvOp: Operator {
    public static let activations = ["", "Relu", "PRelu", "LeakyRelu", "Clip", "Sigmoid", "HardSigmoid"]

    public static let schema = OpSchema(
        inputs: 2...5,
        attributes: ConvOp.schema.attributes + ["activation", "activation_alpha", "activation_beta", "residual_before_activation",
                                                  "input_scale", "weight_levels", "merged_from"],
        sinceOpset: 1, summary: "Conv + bias + residual add + activation in one node (optimizer output)")

    public static func validate(_ node: Node) throws {
        try ConvOp.validate(node)
        let act = try node.string("activation", default: "")
        guard activations.contains(act) else {
            throw node.error(.unsupported, "attribute activation='\(act)' is not one of \(activations.joined(separator: ", "))")
        }
        if act == "PRelu" && !node.hasInput(4) {
            throw node.error(.invalidModel, "activation PRelu needs the slope input (4)")
        }
        if node.attributes["input_scale"] != nil {
            let s = try node.float("input_scale", default: 0)
            guard s.isFinite, s > 0 else {
                throw node.error(.invalidModel, "attribute input_scale=\(s) must be a finite number > 0")
            }
        }
        if node.attributes["weight_levels"] != nil {
            let l = try node.int("weight_levels", default: 127)
            guard (1...127).contains(l) else {
                throw node.error(.invalidModel, "attribute weight_levels=\(l) must be in 1...127")
            }
        }
    }

    /// The int8 input scale, when the node runs in int8.
    public static func inputScale(_ node: Node) -> Float? {
        guard node.attributes["input_scale"] != nil, let s = try? node.float("input_scale", default: 0),
              s.isFinite, s > 0 else { return nil }
        return s
    }

    /// `x` rounded to the u8 grid of `scale` with zero point 128 and back:
    /// `clamp(round_half_even(x / scale), −128, 127) · scale` (what the int8 kernel sees).
    @inline(__always)
    public static func fakeQuantize(_ x: Float, scale: Float) -> Float {
        min(max(x / scale, -128), 127).rounded(.toNearestOrEven) * scale
    }

    /// The activation as a scalar function (PRelu's slope is applied separately).
    public static func activation(_ node: Node) -> (kind: String, alpha: Float, beta: Float) {
        let act = (try? node.string("activation", default: "")) ?? ""
        let defaults: (Float, Float)
        switch act {
        case "LeakyRelu": defaults = (0.01, 0)
        case "Clip": defaults = (-.greatestFiniteMagnitude, .greatestFiniteMagnitude)
        case "HardSigmoid": defaults = (0.2, 0.5)
        default: defaults = (0, 0)
        }
        let a = (try? node.float("activation_alpha", default: defaults.0)) ?? defaults.0
        let b = (try? node.float("activation_beta", default: defaults.1)) ?? defaults.1
        return (act, a, b)
    }

    /// Applies a non-PRelu activation to one value.
    @inline(__always)
    public static func apply(_ kind: String, _ v: Float, _ alpha: Float, _ beta: Float) -> Float {
        switch kind {
        case "Relu": return max(v, 0)
        case "LeakyRelu": return v >= 0 ? v : alpha * v
        case "Clip": return min(max(v, alpha), beta)
        case "Sigmoid": return 1 / (1 + _exp(-v))
        case "HardSigmoid": return min(max(alpha * v + beta, 0), 1)
        default: return v
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try ConvOp.inferShapes(node, Array(inputs.prefix(3)))
        if inputs.count > 3, let z = inputs[3], z.shape != out[0].shape {
            throw node.error(.invalidModel, "residual Z \(z.shape) must have the output shape \(out[0].shape)")
        }
        if inputs.count > 4, let s = inputs[4], Shapes.broadcast(out[0].shape, s.shape) != out[0].shape {
            throw node.error(.invalidModel, "PRelu slope \(s.shape) does not broadcast to \(out[0].shape)")
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        var convInputs = Array(inputs.prefix(3))
        if let s = inputScale(node), let x = convInputs.first ?? nil {
            convInputs[0] = Elementwise.mapFloat(x) { fakeQuantize($0, scale: s) }
        }
        var y = ConvOp.reference(node, convInputs, outputs)[0]
        let z = inputs.count > 3 ? inputs[3] : nil
        let slope = inputs.count > 4 ? inputs[4] : nil
        let sumFirst = ((try? node.int("residual_before_activation", default: 1)) ?? 1) != 0
        let (kind, alpha, beta) = activation(node)
        if sumFirst, let z {
            y = Elementwise.binaryFloat(y, z, shape: y.shape, dtype: y.dtype, +)
        }
        if kind == "PRelu", let slope {
            y = Elementwise.binaryFloat(y, slope, shape: y.shape, dtype: y.dtype) { $0 >= 0 ? $0 : $0 * $1 }
        } else if !kind.isEmpty {
            y = Elementwise.mapFloat(y) { apply(kind, $0, alpha, beta) }
        }
        if !sumFirst, let z {
            y = Elementwise.binaryFloat(y, z, shape: y.shape, dtype: y.dtype, +)
        }
        return [y]
    }
}

import Foundation

@inline(__always) private func _exp(_ x: Float) -> Float { Foundation.exp(x) }
