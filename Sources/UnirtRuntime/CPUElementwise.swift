import CUnirtKernels
import Foundation
import UnirtIR

/// Elementwise kernels over float32: binary ops where one operand has the output
/// shape and the other broadcasts along one contiguous run of axes (scalars,
/// per-channel vectors, equal shapes), unary activations, PRelu, BatchNormalization.
enum CPUElementwise {
    /// How an operand of `shape` maps onto an output of `out`: element
    /// `(i / inner) % mid` of the operand serves output index `i`.
    struct Broadcast {
        var inner: Int
        var mid: Int
        var full: Bool

        init?(_ shape: [Int], _ out: [Int]) {
            let p = [Int](repeating: 1, count: max(0, out.count - shape.count)) + shape
            guard p.count == out.count else { return nil }
            let kept = p.indices.filter { p[$0] != 1 }
            guard kept.allSatisfy({ p[$0] == out[$0] }) else { return nil }
            if let a0 = kept.first, let a1 = kept.last {
                guard kept.count == a1 - a0 + 1 else { return nil }
                inner = out[(a1 + 1)...].reduce(1, *)
                mid = out[a0...a1].reduce(1, *)
            } else {
                inner = out.reduce(1, *)
                mid = 1
            }
            full = p == out
        }
    }

    static func buildBinary(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let a = inputs[0], let b = inputs[1] else { return nil }
        let out = outputs[0].shape
        let total = out.reduce(1, *)
        guard let ba = Broadcast(a.shape, out), let bb = Broadcast(b.shape, out), ba.full || bb.full else { return nil }
        let cop: Int32
        switch node.op {
        case .add: cop = Int32(UNIRT_BINARY_ADD)
        case .sub: cop = Int32(UNIRT_BINARY_SUB)
        case .mul: cop = Int32(UNIRT_BINARY_MUL)
        case .div: cop = Int32(UNIRT_BINARY_DIV)
        default: return nil
        }
        let threads = options.threads
        if ba.full && bb.full {
            return CompiledKernel { ins, outs, _ in
                let x = UncheckedSendable(ins[0]!), yv = UncheckedSendable(ins[1]!), o = UncheckedSendable(outs[0])
                parallelFor(total, threads: total > 1 << 16 ? threads : 1) { r in
                    unirt_binary_compute(cop, x.value + r.lowerBound, yv.value + r.lowerBound, o.value + r.lowerBound, r.count)
                }
            }
        }
        let swapped = !ba.full
        let pattern = swapped ? ba : bb
        let blocks = total / pattern.inner
        return CompiledKernel { ins, outs, _ in
            let fullIn = UncheckedSendable(swapped ? ins[1]! : ins[0]!), small = UncheckedSendable(swapped ? ins[0]! : ins[1]!)
            let o = UncheckedSendable(outs[0])
            parallelFor(blocks, threads: total > 1 << 16 ? threads : 1) { r in
                for blk in r {
                    let base = blk * pattern.inner
                    unirt_binary_scalar_compute(cop, fullIn.value + base, small.value[blk % pattern.mid], o.value + base,
                                                pattern.inner, swapped ? 1 : 0)
                }
            }
        }
    }

    static func buildUnary(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        let total = outputs[0].count
        let threads = total > 1 << 16 ? options.threads : 1
        var lo: Float = -.greatestFiniteMagnitude, hi: Float = .greatestFiniteMagnitude
        if node.op == .clip {
            if node.opset < 11 {
                lo = (try? node.float("min", default: lo)) ?? lo
                hi = (try? node.float("max", default: hi)) ?? hi
            } else {
                // Bounds are inputs; only constant bounds are compiled.
                if node.hasInput(1) { guard let t = options.constants[1] else { return nil }; lo = t.floats[0] }
                if node.hasInput(2) { guard let t = options.constants[2] else { return nil }; hi = t.floats[0] }
            }
        }
        let alpha = (try? node.float("alpha", default: node.op == .leakyRelu ? 0.01 : 0.2)) ?? 0.01
        let beta = (try? node.float("beta", default: 0.5)) ?? 0.5
        let op: Int32
        var (a, b) = (alpha, beta)
        switch node.op {
        case .relu: op = Int32(UNIRT_UNARY_RELU)
        case .sigmoid: op = Int32(UNIRT_UNARY_SIGMOID)
        case .tanh: op = Int32(UNIRT_UNARY_TANH)
        case .exp: op = Int32(UNIRT_UNARY_EXP)
        case .sqrt: op = Int32(UNIRT_UNARY_SQRT)
        case .leakyRelu: op = Int32(UNIRT_UNARY_LEAKY_RELU)
        case .hardSigmoid: op = Int32(UNIRT_UNARY_HARDSIGMOID)
        case .clip: op = Int32(UNIRT_UNARY_CLIP); (a, b) = (lo, hi)
        default: return nil
        }
        let (fa, fb) = (a, b)
        return CompiledKernel { ins, outs, _ in
            let x = UncheckedSendable(ins[0]!), y = UncheckedSendable(outs[0])
            parallelFor(total, threads: threads) { r in
                unirt_unary_compute(op, x.value + r.lowerBound, y.value + r.lowerBound, r.count, fa, fb)
            }
        }
    }

    static func buildPRelu(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let s = inputs[1], let bs = Broadcast(s.shape, outputs[0].shape) else { return nil }
        let total = outputs[0].count
        let blocks = total / bs.inner
        let threads = total > 1 << 16 ? options.threads : 1
        return CompiledKernel { ins, outs, _ in
            let x = ins[0]!, slope = ins[1]!, y = outs[0]
            parallelFor(blocks, threads: threads) { r in
                for blk in r {
                    let a = slope[blk % bs.mid]
                    for i in blk * bs.inner..<(blk + 1) * bs.inner { let v = x[i]; y[i] = v >= 0 ? v : v * a }
                }
            }
        }
    }

    /// Inference BatchNormalization as a per-channel affine map, folded once at build time.
    static func buildBatchNorm(_ node: Node, _ inputs: [ValueInfo?], _ outputs: [ValueInfo], _ options: CompileOptions) -> CompiledKernel? {
        guard let x = inputs[0], x.shape.count >= 2,
              let scale = options.constants[1], let bias = options.constants[2],
              let mean = options.constants[3], let variance = options.constants[4] else { return nil }
        let eps = (try? node.float("epsilon", default: 1e-5)) ?? 1e-5
        let c = x.shape[1]
        let inner = x.shape[2...].reduce(1, *)
        let (sv, bv, mv, vv) = (scale.floats, bias.floats, mean.floats, variance.floats)
        let a = (0..<c).map { sv[$0] / (vv[$0] + eps).squareRoot() }
        let b = (0..<c).map { bv[$0] - mv[$0] * a[$0] }
        let blocks = x.shape[0] * c
        let threads = x.count > 1 << 16 ? options.threads : 1
        return CompiledKernel { ins, outs, _ in
            let xp = ins[0]!, y = outs[0]
            parallelFor(blocks, threads: threads) { r in
                for blk in r {
                    let ch = blk % c
                    let (s, t) = (a[ch], b[ch])
                    for i in blk * inner..<(blk + 1) * inner { y[i] = xp[i] * s + t }
                }
            }
        }
    }
}
