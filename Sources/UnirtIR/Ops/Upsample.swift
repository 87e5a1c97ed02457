/// `Upsample` (deprecated in opset 10): enlarges X by per-axis factors >= 1, output
/// length floor(input * scale). Nearest mode picks floor(o / scale); linear mode
/// interpolates (separably on every scaled axis) at the asymmetric coordinate o / scale.
/// The scales are an attribute in opsets 7–8 and input 1 from opset 9.
public enum UpsampleOp: Operator {
    public static let schema = OpSchema(inputs: 1...2, attributes: ["mode", "scales"], sinceOpset: 7,
                                        summary: "nearest / linear upsampling by factors")

    static func config(_ node: Node) throws -> Resampling.Config {
        let m = try node.string("mode", default: "nearest")
        if m == "cubic" { throw node.error(.unsupported, "attribute mode='cubic' is not supported (nearest, linear)") }
        guard let mode = Resampling.Mode(rawValue: m) else {
            throw node.error(.invalidModel, "attribute mode='\(m)' is not one of nearest, linear")
        }
        return Resampling.Config(mode: mode, coordinates: .asymmetric, nearest: .floor)
    }

    public static func validate(_ node: Node) throws {
        _ = try config(node)
        if node.opset < 9 {
            guard node.inputs.count == 1 else { throw node.error(.invalidModel, "Upsample before opset 9 takes one input (scales is an attribute)") }
            guard let s = try node.floats("scales"), !s.isEmpty else {
                throw node.error(.invalidModel, "attribute 'scales' is required before opset 9")
            }
        } else {
            guard node.hasInput(1) else { throw node.error(.invalidModel, "input 'scales' is required from opset 9") }
            if node.attributes["scales"] != nil {
                throw node.error(.invalidModel, "attribute 'scales' was replaced by input 'scales' in opset 9")
            }
        }
    }

    static func plan(_ node: Node, input: [Int], scales: [Float]) throws -> (shape: [Int], scales: [Float]) {
        guard scales.count == input.count else {
            throw node.error(.invalidModel, "'scales' has \(scales.count) values, expected \(input.count) for input \(input)")
        }
        if let bad = scales.first(where: { !($0 >= 1) }) {
            throw node.error(.invalidModel, "scale \(bad) must be >= 1")
        }
        return try Resampling.plan(node, input: input, scales: scales, sizes: nil, axes: nil)
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        guard let x = inputs[0] else { throw node.error(.invalidModel, "input X is missing") }
        let scales: [Float]
        if node.opset < 9 {
            scales = try node.floats("scales") ?? []
        } else {
            guard inputs.count > 1, let s = inputs[1] else { throw node.error(.invalidModel, "input 'scales' is missing") }
            guard let c = s.constant else {
                throw node.error(.unsupported, "input 'scales' ('\(node.inputs[1])') must be computable before run time")
            }
            scales = c.floats
        }
        return [ValueInfo(dtype: x.dtype, shape: try plan(node, input: x.shape, scales: scales).shape)]
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let scales = node.opset < 9 ? ((try? node.floats("scales")) ?? nil) ?? [] : (inputs.count > 1 ? inputs[1]?.floats ?? [] : [])
        guard let cfg = try? config(node), let p = try? plan(node, input: x.shape, scales: scales) else {
            return [Tensor(zeros: outputs[0].shape, dtype: outputs[0].dtype)]
        }
        return [Resampling.run(x, outShape: p.shape, scales: p.scales, cfg)]
    }
}
