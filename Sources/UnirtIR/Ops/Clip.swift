/// `Clip`: y = min(max(x, min), max), elementwise. Before opset 11 the bounds are
/// float attributes (defaults: the lowest and highest finite f32); from opset 11
/// they are optional scalar inputs of the input's type (omitted: unbounded), and
/// from opset 12 integer tensors are allowed. When min > max every value becomes max.
public enum ClipOp: Operator {
    public static let schema = OpSchema(inputs: 1...3, attributes: ["min", "max"], sinceOpset: 6,
                                        summary: "y = min(max(x, min), max)")

    public static func validate(_ node: Node) throws {
        if node.opset < 11 {
            guard node.inputs.count == 1 else {
                throw node.error(.invalidModel, "has \(node.inputs.count) inputs; min and max are attributes before opset 11")
            }
            for name in ["min", "max"] {
                let v = try node.float(name, default: 0)
                guard !v.isNaN else { throw node.error(.invalidModel, "attribute \(name)=nan is not a bound") }
            }
        } else {
            for name in ["min", "max"] where node.attributes[name] != nil {
                throw node.error(.invalidModel, "attribute '\(name)' was replaced by an input in opset 11")
            }
        }
    }

    public static func inferShapes(_ node: Node, _ inputs: [ValueInfo?]) throws -> [ValueInfo] {
        let out = try Elementwise.sameAsInput(node, inputs)
        let x = out[0]
        guard x.dtype != .bool else { throw node.error(.invalidModel, "expects a numeric input, got bool") }
        if node.opset < 11 && !x.dtype.isFloating {
            throw node.error(.invalidModel, "expects a floating-point input before opset 11, got \(x.dtype.rawValue)")
        }
        for (i, name) in [(1, "min"), (2, "max")] where node.hasInput(i) {
            guard i < inputs.count, let bound = inputs[i] else {
                throw node.error(.invalidModel, "input '\(name)' is missing")
            }
            guard bound.count == 1 else {
                throw node.error(.invalidModel, "input '\(name)' must be a scalar, got shape \(bound.shape)")
            }
            guard bound.dtype == x.dtype else {
                throw node.error(.invalidModel, "input '\(name)' has type \(bound.dtype.rawValue), expected \(x.dtype.rawValue)")
            }
        }
        return out
    }

    public static func reference(_ node: Node, _ inputs: [Tensor?], _ outputs: [ValueInfo]) -> [Tensor] {
        let x = inputs[0]!
        let lowInput = inputs.count > 1 ? inputs[1] : nil
        let highInput = inputs.count > 2 ? inputs[2] : nil
        switch x.storage {
        case .float(let v):
            let lo: Float, hi: Float
            if node.opset < 11 {
                lo = (try? node.float("min", default: -Float.greatestFiniteMagnitude)) ?? -Float.greatestFiniteMagnitude
                hi = (try? node.float("max", default: Float.greatestFiniteMagnitude)) ?? Float.greatestFiniteMagnitude
            } else {
                lo = lowInput?.floats.first ?? -Float.infinity
                hi = highInput?.floats.first ?? Float.infinity
            }
            return [Tensor(shape: x.shape, floats: v.map { e in
                let r = e < lo ? lo : e
                return r > hi ? hi : r
            }, dtype: x.dtype)]
        case .int(let v):
            let lo = lowInput?.ints.first ?? Int64.min
            let hi = highInput?.ints.first ?? Int64.max
            return [Tensor(shape: x.shape, ints: v.map { e in
                let r = e < lo ? lo : e
                return r > hi ? hi : r
            }, dtype: x.dtype)]
        }
    }
}
