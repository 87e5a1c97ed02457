import Foundation
import XCTest
import CUnirtKernels

/// The C microkernels (CUnirtKernels) against naive Swift references, once with
/// the AVX2 dispatch and once forced onto the portable fallbacks. Seeded data,
/// odd sizes (1, 3, 13, 127) to hit every vector tail, named error bounds.
final class SIMDKernelTests: XCTestCase {
    // MARK: Error bounds

    /// Elementwise float ops the kernels compute exactly as the reference does.
    static let exact: Float = 0
    /// Sums reassociated or contracted into FMA (conv, pooling, epilogue bias).
    static let sumRelative: Float = 2e-6
    /// The vectorized exp/sigmoid (degree-7 polynomial) vs Foundation's.
    static let expRelative: Float = 2e-6
    /// The vectorized tanh (two formulas around |x| = 0.0625).
    static let tanhRelative: Float = 4e-6
    /// Instance normalization (two passes, double accumulation) vs a double reference.
    static let normRelative: Float = 1e-5

    // MARK: Helpers

    /// Runs `body` with SIMD enabled (label "avx2") and forced off ("generic").
    func bothPaths(_ body: (String) throws -> Void) rethrows {
        defer { unirt_cpu_set_simd_enabled(1) }
        for enabled in [Int32(1), 0] {
            unirt_cpu_set_simd_enabled(enabled)
            try body(String(cString: unirt_kernels_isa()))
        }
    }

    /// Fails when any |got - ref| exceeds rel * max(|ref|, 1e-3 floor) + abs.
    func expectClose(_ got: [Float], _ ref: [Float], rel: Float, abs absTol: Float = 0, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, ref.count, label, file: file, line: line)
        var worst: Float = 0, worstAt = -1
        for i in 0..<min(got.count, ref.count) {
            if got[i] == ref[i] || (got[i].isNaN && ref[i].isNaN) { continue }
            let excess = abs(got[i] - ref[i]) - (rel * max(abs(ref[i]), 1e-3) + absTol)
            if !(excess <= 0) && (worstAt < 0 || !(excess <= worst)) { worst = excess; worstAt = i }
        }
        if worstAt >= 0 {
            XCTFail("\(label): at \(worstAt) got \(got[worstAt]) want \(ref[worstAt])", file: file, line: line)
        }
    }

    /// A heap copy with a stable address for C struct fields; freed on deinit.
    final class Pinned<T> {
        let pointer: UnsafeMutablePointer<T>
        init(_ values: [T]) {
            pointer = .allocate(capacity: max(values.count, 1))
            pointer.initialize(from: values, count: values.count)
        }
        deinit { pointer.deallocate() }
    }

    func geometry(h: Int, w: Int, k: Int, stride: Int, dilation: Int = 1,
                  pads: (top: Int, left: Int, bottom: Int, right: Int), ceil: Bool = false) -> unirt_conv2d_geometry {
        let ek = (k - 1) * dilation + 1
        func out(_ n: Int, _ a: Int, _ b: Int) -> Int {
            let span = n + a + b - ek
            return (ceil ? (span + stride - 1) / stride : span / stride) + 1
        }
        return unirt_conv2d_geometry(
            in_h: h, in_w: w, out_h: out(h, pads.top, pads.bottom), out_w: out(w, pads.left, pads.right),
            kernel_h: k, kernel_w: k, stride_h: stride, stride_w: stride, dilation_h: dilation, dilation_w: dilation,
            pad_top: pads.top, pad_left: pads.left, pad_bottom: pads.bottom, pad_right: pads.right)
    }

    /// Input value at (c, iy, ix) of a sliding window, or nil in the padding.
    func tap(_ g: unirt_conv2d_geometry, _ oy: Int, _ ox: Int, _ ky: Int, _ kx: Int) -> Int? {
        let iy = oy * g.stride_h + ky * g.dilation_h - g.pad_top
        let ix = ox * g.stride_w + kx * g.dilation_w - g.pad_left
        guard iy >= 0, iy < g.in_h, ix >= 0, ix < g.in_w else { return nil }
        return iy * g.in_w + ix
    }

    struct Activation {
        var kind: Int32, alpha: Float = 0, beta: Float = 0
    }

    static let activations: [Activation] = [
        .init(kind: Int32(UNIRT_ACT_NONE)), .init(kind: Int32(UNIRT_ACT_RELU)), .init(kind: Int32(UNIRT_ACT_PRELU)),
        .init(kind: Int32(UNIRT_ACT_LEAKY_RELU), alpha: 0.1), .init(kind: Int32(UNIRT_ACT_CLIP), alpha: -0.5, beta: 0.7),
        .init(kind: Int32(UNIRT_ACT_SIGMOID)), .init(kind: Int32(UNIRT_ACT_HARDSIGMOID), alpha: 0.2, beta: 0.5),
    ]

    func activate(_ a: Activation, _ v: Float, slope: Float) -> Float {
        switch Int(a.kind) {
        case UNIRT_ACT_RELU: return max(v, 0)
        case UNIRT_ACT_PRELU: return v < 0 ? v * slope : v
        case UNIRT_ACT_LEAKY_RELU: return v < 0 ? v * a.alpha : v
        case UNIRT_ACT_CLIP: return min(max(v, a.alpha), a.beta)
        case UNIRT_ACT_SIGMOID: return 1 / (1 + Foundation.exp(-v))
        case UNIRT_ACT_HARDSIGMOID: return max(0, min(1, a.alpha * v + a.beta))
        default: return v
        }
    }

    /// Reference epilogue on a [channels][ld] block (residual mode 0 none, 1 before, 2 after).
    func referenceEpilogue(_ y: [Float], ld: Int, channels: Int, bias: [Float], residual: [Float],
                           mode: Int, act: Activation, slope: [Float]) -> [Float] {
        var out = y
        for c in 0..<channels {
            for i in 0..<ld {
                var v = y[c * ld + i] + bias[c]
                if mode == 1 { v += residual[c * ld + i] }
                v = activate(act, v, slope: slope[c])
                if mode == 2 { v += residual[c * ld + i] }
                out[c * ld + i] = v
            }
        }
        return out
    }

    func tolerance(_ act: Activation) -> Float {
        act.kind == Int32(UNIRT_ACT_SIGMOID) ? Self.expRelative : Self.sumRelative
    }

    // MARK: FP32 kernels

    func testEpilogueMatchesReference() {
        var rng = SeededRNG(seed: 11)
        bothPaths { isa in
            for channels in [1, 3, 13] {
                for plane in [1, 3, 13, 127] {
                    let x = rng.floats(channels * plane, in: -4...4), res = rng.floats(channels * plane)
                    let bias = Pinned(rng.floats(channels)), slope = Pinned(rng.floats(channels, in: 0...0.5))
                    let resP = Pinned(res)
                    for act in Self.activations {
                        for mode in 0...2 {
                            var ep = unirt_epilogue(
                                bias: bias.pointer, residual: mode == 0 ? nil : UnsafePointer(resP.pointer),
                                residual_after_activation: mode == 2 ? 1 : 0, activation: act.kind,
                                alpha: act.alpha, beta: act.beta, slope: slope.pointer)
                            var y = x
                            unirt_epilogue_apply(&ep, &y, plane, 0, channels, plane)
                            let ref = referenceEpilogue(x, ld: plane, channels: channels,
                                                        bias: Array(UnsafeBufferPointer(start: bias.pointer, count: channels)),
                                                        residual: res, mode: mode, act: act,
                                                        slope: Array(UnsafeBufferPointer(start: slope.pointer, count: channels)))
                            expectClose(y, ref, rel: tolerance(act), abs: 1e-7,
                                        "\(isa) epilogue c\(channels) n\(plane) act\(act.kind) mode\(mode)")
                        }
                    }
                }
            }
        }
    }

    func testDepthwiseConvMatchesReference() {
        var rng = SeededRNG(seed: 12)
        // (channels, h, w, k, stride, dilation, pads top/left/bottom/right)
        let cases: [(Int, Int, Int, Int, Int, Int, (Int, Int, Int, Int))] = [
            (3, 13, 13, 3, 1, 1, (1, 1, 1, 1)), (1, 1, 127, 3, 1, 1, (1, 1, 1, 1)), (13, 7, 127, 3, 2, 1, (1, 1, 1, 1)),
            (3, 20, 40, 3, 2, 1, (0, 0, 1, 1)), (3, 9, 31, 3, 1, 1, (2, 0, 0, 2)), (2, 5, 3, 3, 1, 1, (1, 1, 1, 1)),
            (3, 16, 64, 3, 2, 1, (1, 2, 0, 1)), (3, 11, 29, 5, 1, 1, (2, 2, 2, 2)), (3, 12, 19, 3, 1, 2, (2, 2, 2, 2)),
            (3, 12, 19, 3, 3, 1, (1, 1, 1, 1)),
            // Narrow planes (the padded-row engine): face-model 14x14 and 7x7, stride 2 with odd and even left pads.
            (4, 14, 14, 3, 1, 1, (1, 1, 1, 1)), (4, 7, 7, 3, 1, 1, (1, 1, 1, 1)), (5, 28, 28, 3, 2, 1, (1, 1, 1, 1)),
            (3, 15, 17, 3, 2, 1, (2, 2, 0, 0)), (2, 9, 33, 3, 2, 1, (1, 0, 1, 1)), (2, 70, 63, 3, 1, 1, (1, 1, 1, 1)),
        ]
        bothPaths { isa in
            for (c, h, w, k, s, d, p) in cases {
                let g = geometry(h: h, w: w, k: k, stride: s, dilation: d, pads: p)
                var gg = g
                let x = rng.floats(c * h * w), wt = rng.floats(c * k * k)
                let plane = g.out_h * g.out_w
                let bias = Pinned(rng.floats(c)), res = Pinned(rng.floats(c * plane)), slope = Pinned(rng.floats(c, in: 0...0.5))
                var conv = [Float](repeating: 0, count: c * plane)
                for ch in 0..<c {
                    for oy in 0..<g.out_h {
                        for ox in 0..<g.out_w {
                            var acc: Float = 0
                            for ky in 0..<k { for kx in 0..<k {
                                if let i = tap(g, oy, ox, ky, kx) { acc += x[ch * h * w + i] * wt[ch * k * k + ky * k + kx] }
                            } }
                            conv[ch * plane + oy * g.out_w + ox] = acc + bias.pointer[ch]
                        }
                    }
                }
                // With a residual (epilogue after each plane), and without one (applied as outputs are made).
                for withResidual in [true, false] {
                    var ref = conv
                    for i in ref.indices {
                        let ch = i / plane
                        ref[i] = withResidual ? max(ref[i] + res.pointer[i], 0) : (ref[i] < 0 ? ref[i] * slope.pointer[ch] : ref[i])
                    }
                    var ep = withResidual
                        ? unirt_epilogue(bias: bias.pointer, residual: UnsafePointer(res.pointer), residual_after_activation: 0,
                                         activation: Int32(UNIRT_ACT_RELU), alpha: 0, beta: 0, slope: nil)
                        : unirt_epilogue(bias: bias.pointer, residual: nil, residual_after_activation: 0,
                                         activation: Int32(UNIRT_ACT_PRELU), alpha: 0, beta: 0, slope: UnsafePointer(slope.pointer))
                    var y = [Float](repeating: .nan, count: c * plane)
                    // Two channel ranges, as two threads would split them.
                    unirt_dwconv_compute(x, wt, &gg, &ep, &y, 0, c / 2)
                    unirt_dwconv_compute(x, wt, &gg, &ep, &y, c / 2, c)
                    expectClose(y, ref, rel: Self.sumRelative * Float(k * k), abs: 1e-6,
                                "\(isa) dwconv c\(c) \(h)x\(w) k\(k) s\(s) d\(d) p\(p) residual \(withResidual)")
                }
            }
        }
    }

    func im2colReference(_ x: [Float], _ g: unirt_conv2d_geometry, channels: Range<Int>, positions: Range<Int>) -> [Float] {
        var out: [Float] = []
        for c in channels { for ky in 0..<g.kernel_h { for kx in 0..<g.kernel_w {
            for p in positions {
                let i = tap(g, p / g.out_w, p % g.out_w, ky, kx)
                out.append(i.map { x[c * g.in_h * g.in_w + $0] } ?? 0)
            }
        } } }
        return out
    }

    func testIm2colAndStridedGatherAreExact() {
        var rng = SeededRNG(seed: 13)
        for (c, h, w, k, s, d, p) in [(3, 13, 13, 3, 1, 1, (1, 1, 1, 1)), (2, 9, 127, 3, 2, 1, (0, 1, 1, 0)),
                                      (3, 7, 8, 3, 1, 2, (2, 2, 2, 2)), (1, 1, 13, 1, 1, 1, (0, 0, 0, 0)),
                                      (4, 11, 6, 5, 3, 1, (2, 1, 2, 1))] {
            var g = geometry(h: h, w: w, k: k, stride: s, dilation: d, pads: p)
            let x = rng.floats(c * h * w), n = g.out_h * g.out_w
            for (cr, pr) in [(0..<c, 0..<n), (1..<c, (n / 3)..<(n - 1))] where !cr.isEmpty && !pr.isEmpty {
                var cols = [Float](repeating: .nan, count: cr.count * k * k * pr.count)
                unirt_im2col_compute(x, &g, cr.lowerBound, cr.upperBound, pr.lowerBound, pr.upperBound, &cols)
                XCTAssertEqual(cols, im2colReference(x, g, channels: cr, positions: pr), "im2col c\(c) \(h)x\(w) k\(k) s\(s)")
            }
        }
        var g = geometry(h: 13, w: 127, k: 1, stride: 2, pads: (0, 0, 0, 0))
        let x = rng.floats(3 * 13 * 127)
        var y = [Float](repeating: .nan, count: 2 * g.out_h * g.out_w)
        unirt_gather_strided_compute(x, &g, 1, 3, &y)
        XCTAssertEqual(y, im2colReference(x, g, channels: 1..<3, positions: 0..<(g.out_h * g.out_w)), "strided gather")
    }

    func testBinaryOpsAreExact() {
        var rng = SeededRNG(seed: 14)
        let ops: [(Int32, (Float, Float) -> Float)] = [(Int32(UNIRT_BINARY_ADD), (+)), (Int32(UNIRT_BINARY_SUB), (-)),
                                                       (Int32(UNIRT_BINARY_MUL), (*)), (Int32(UNIRT_BINARY_DIV), (/))]
        bothPaths { isa in
            for n in [1, 3, 13, 127] {
                let a = rng.floats(n * 3), b = rng.floats(n * 3, in: 0.5...2), s: Float = 0.37, ch = rng.floats(3, in: 0.5...2)
                for (op, f) in ops {
                    var y = [Float](repeating: 0, count: n * 3)
                    unirt_binary_compute(op, a, b, &y, n * 3)
                    XCTAssertEqual(y, zip(a, b).map(f), "\(isa) binary \(op) n\(n)")
                    for first in [Int32(0), 1] {
                        unirt_binary_scalar_compute(op, a, s, &y, n * 3, first)
                        XCTAssertEqual(y, a.map { first == 1 ? f(s, $0) : f($0, s) }, "\(isa) scalar \(op) n\(n)")
                        unirt_binary_channel_compute(op, a, ch, &y, n, 0, 3, first)
                        let ref = a.indices.map { first == 1 ? f(ch[$0 / n], a[$0]) : f(a[$0], ch[$0 / n]) }
                        XCTAssertEqual(y, ref, "\(isa) channel \(op) n\(n)")
                    }
                    var inPlace = a
                    unirt_binary_compute(op, inPlace, b, &inPlace, n * 3)
                    XCTAssertEqual(inPlace, zip(a, b).map(f), "\(isa) in-place \(op)")
                }
            }
        }
    }

    func testUnaryOpsMatchReference() {
        var rng = SeededRNG(seed: 15)
        let cases: [(Int32, Float, Float, Float, (Float) -> Float)] = [
            (Int32(UNIRT_UNARY_RELU), 0, 0, Self.exact, { max($0, 0) }),
            (Int32(UNIRT_UNARY_SIGMOID), 0, 0, Self.expRelative, { 1 / (1 + Foundation.exp(-$0)) }),
            (Int32(UNIRT_UNARY_TANH), 0, 0, Self.tanhRelative, { Foundation.tanh($0) }),
            (Int32(UNIRT_UNARY_EXP), 0, 0, Self.expRelative, { Foundation.exp($0) }),
            (Int32(UNIRT_UNARY_SQRT), 0, 0, Self.exact, { $0.squareRoot() }),
            (Int32(UNIRT_UNARY_LEAKY_RELU), 0.01, 0, Self.exact, { $0 < 0 ? $0 * 0.01 : $0 }),
            (Int32(UNIRT_UNARY_HARDSIGMOID), 0.2, 0.5, Self.sumRelative, { max(0, min(1, 0.2 * $0 + 0.5)) }),
            (Int32(UNIRT_UNARY_CLIP), -1, 6, Self.exact, { min(max($0, -1), 6) }),
        ]
        bothPaths { isa in
            for n in [1, 3, 13, 127, 1000] {
                var x = rng.floats(n, in: -20...20)
                if n == 1000 { x.replaceSubrange(0..<6, with: [0, -0.01, 0.0625, -90, 88, 1e-5]) }
                for (op, alpha, beta, rel, f) in cases {
                    let input = op == Int32(UNIRT_UNARY_SQRT) ? x.map(abs) : x
                    var y = [Float](repeating: 0, count: n)
                    unirt_unary_compute(op, input, &y, n, alpha, beta)
                    expectClose(y, input.map(f), rel: rel, abs: op == Int32(UNIRT_UNARY_EXP) ? 1e-37 : 1e-7,
                                "\(isa) unary \(op) n\(n)")
                }
                let slope = rng.floats(3)
                var y = [Float](repeating: 0, count: 3 * n)
                let xs = rng.floats(3 * n)
                unirt_prelu_compute(xs, slope, &y, n, 0, 3)
                XCTAssertEqual(y, xs.indices.map { xs[$0] < 0 ? xs[$0] * slope[$0 / n] : xs[$0] }, "\(isa) prelu n\(n)")
            }
        }
    }

    func poolReference(_ x: [Float], _ g: unirt_conv2d_geometry, channels: Int, max isMax: Bool, includePad: Bool) -> [Float] {
        var out: [Float] = []
        for c in 0..<channels { for oy in 0..<g.out_h { for ox in 0..<g.out_w {
            var m = -Float.infinity, s: Float = 0, n = 0
            for ky in 0..<g.kernel_h { for kx in 0..<g.kernel_w {
                if let i = tap(g, oy, ox, ky, kx) { m = max(m, x[c * g.in_h * g.in_w + i]); s += x[c * g.in_h * g.in_w + i]; n += 1 }
            } }
            if includePad {
                func count(_ start: Int, _ k: Int, _ lo: Int, _ hi: Int) -> Int { max(0, min(start + k, hi) - max(start, lo)) }
                n = count(oy * g.stride_h - g.pad_top, g.kernel_h, -g.pad_top, g.in_h + g.pad_bottom)
                    * count(ox * g.stride_w - g.pad_left, g.kernel_w, -g.pad_left, g.in_w + g.pad_right)
            }
            out.append(isMax ? m : s / Float(n))
        } } }
        return out
    }

    func testPoolingMatchesReference() {
        var rng = SeededRNG(seed: 16)
        bothPaths { isa in
            for (c, h, w, k, s, p, ceil) in [(3, 13, 13, 3, 2, (1, 1, 1, 1), false), (2, 8, 127, 2, 2, (0, 0, 0, 0), false),
                                             (1, 7, 31, 3, 1, (1, 1, 1, 1), false), (3, 9, 40, 3, 2, (0, 0, 0, 0), true),
                                             (2, 5, 5, 5, 1, (2, 2, 2, 2), false), (1, 1, 1, 1, 1, (0, 0, 0, 0), false)] {
                var g = geometry(h: h, w: w, k: k, stride: s, pads: p, ceil: ceil)
                let x = rng.floats(c * h * w)
                var y = [Float](repeating: .nan, count: c * g.out_h * g.out_w)
                unirt_maxpool_compute(x, &g, &y, 0, c)
                XCTAssertEqual(y, poolReference(x, g, channels: c, max: true, includePad: false), "\(isa) maxpool \(h)x\(w) k\(k) s\(s)")
                for include in [Int32(0), 1] {
                    unirt_avgpool_compute(x, &g, include, &y, 0, c)
                    expectClose(y, poolReference(x, g, channels: c, max: false, includePad: include == 1),
                                rel: Self.sumRelative * Float(k * k), abs: 1e-7, "\(isa) avgpool \(h)x\(w) k\(k) pad\(include)")
                }
            }
            for plane in [1, 3, 13, 127, 3000] {
                let x = rng.floats(3 * plane)
                var y = [Float](repeating: 0, count: 3)
                unirt_global_avgpool_compute(x, plane, &y, 0, 3)
                let ref = (0..<3).map { c in Float(x[(c * plane)..<((c + 1) * plane)].reduce(0.0) { $0 + Double($1) } / Double(plane)) }
                expectClose(y, ref, rel: Self.sumRelative, abs: 1e-6, "\(isa) global avgpool \(plane)")
            }
        }
    }

    func testResizeAndPadAreExact() {
        var rng = SeededRNG(seed: 17)
        for (h, w, fh, fw) in [(1, 1, 2, 2), (3, 13, 2, 2), (13, 127, 2, 3), (2, 3, 1, 4)] {
            let x = rng.floats(3 * h * w)
            var y = [Float](repeating: .nan, count: 3 * h * fh * w * fw)
            unirt_resize_nearest_int_compute(x, h, w, fh, fw, &y, 0, 3)
            let ref = (0..<(3 * h * fh * w * fw)).map { i -> Float in
                let c = i / (h * fh * w * fw), oy = (i / (w * fw)) % (h * fh), ox = i % (w * fw)
                return x[c * h * w + (oy / fh) * w + ox / fw]
            }
            XCTAssertEqual(y, ref, "resize x\(fh)x\(fw) \(h)x\(w)")
            // The same through index tables, plus a non-integer ratio.
            let rows = (0..<(h * fh)).map { Int32($0 / fh) }, cols = (0..<(w * fw)).map { Int32($0 / fw) }
            var t = [Float](repeating: .nan, count: y.count)
            unirt_resize_nearest_table_compute(x, h, w, rows, rows.count, cols, cols.count, &t, 0, 3)
            XCTAssertEqual(t, ref, "resize table \(h)x\(w)")
        }
        for (h, w) in [(1, 1), (3, 13), (13, 5)] {
            let x = rng.floats(2 * h * w)
            for mode in [Int32(UNIRT_PAD_CONSTANT), Int32(UNIRT_PAD_REFLECT), Int32(UNIRT_PAD_EDGE)] {
                let pads = mode == Int32(UNIRT_PAD_REFLECT) ? (min(2, h - 1), min(1, h - 1), min(2, w - 1), min(3, w - 1)) : (2, 1, 2, 3)
                let oh = h + pads.0 + pads.1, ow = w + pads.2 + pads.3
                var y = [Float](repeating: .nan, count: 2 * oh * ow)
                unirt_pad2d_compute(x, h, w, pads.0, pads.1, pads.2, pads.3, mode, 0.5, &y, 0, 2)
                func src(_ i: Int, _ n: Int) -> Int? {
                    if i >= 0 && i < n { return i }
                    if mode == Int32(UNIRT_PAD_EDGE) { return i < 0 ? 0 : n - 1 }
                    if mode == Int32(UNIRT_PAD_REFLECT) { return i < 0 ? -i : 2 * (n - 1) - i }
                    return nil
                }
                let ref = (0..<(2 * oh * ow)).map { i -> Float in
                    let c = i / (oh * ow), sy = src((i / ow) % oh - pads.0, h), sx = src(i % ow - pads.2, w)
                    guard let sy, let sx else { return 0.5 }
                    return x[c * h * w + sy * w + sx]
                }
                XCTAssertEqual(y, ref, "pad mode \(mode) \(h)x\(w)")
            }
        }
    }

    func testInstanceNormAndTransposeMatchReference() {
        var rng = SeededRNG(seed: 18)
        bothPaths { isa in
            for plane in [1, 3, 13, 127, 5000] {
                // An offset mean makes a one-pass variance lose digits; two passes must not.
                let x = rng.floats(3 * plane).map { $0 + 100 }
                let scale = rng.floats(3), bias = rng.floats(3)
                var y = [Float](repeating: 0, count: 3 * plane)
                unirt_instancenorm_compute(x, plane, scale, bias, 1e-5, nil, &y, 0, 3)
                var ref = [Float]()
                for c in 0..<3 {
                    let v = x[(c * plane)..<((c + 1) * plane)].map(Double.init)
                    let mean = v.reduce(0, +) / Double(plane)
                    let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(plane)
                    ref += v.map { Float(($0 - mean) / (variance + 1e-5).squareRoot() * Double(scale[c]) + Double(bias[c])) }
                }
                expectClose(y, ref, rel: Self.normRelative, abs: 1e-5, "\(isa) instancenorm plane \(plane)")
            }
            for (c, plane) in [(1, 1), (3, 13), (13, 127), (16, 64), (127, 3)] {
                let x = rng.floats(c * plane)
                var y = [Float](repeating: .nan, count: c * plane), back = y
                unirt_transpose_to_nhwc(x, c, plane, &y)
                XCTAssertEqual(y, (0..<(c * plane)).map { x[($0 % c) * plane + $0 / c] }, "\(isa) to nhwc \(c)x\(plane)")
                unirt_transpose_to_nchw(y, c, plane, &back)
                XCTAssertEqual(back, x, "\(isa) to nchw \(c)x\(plane)")
            }
        }
    }

    func testHalfConversionIsExact() {
        var rng = SeededRNG(seed: 19)
        var x = rng.floats(127, in: -70000...70000) + rng.floats(127, in: -1e-4...1e-4) + rng.floats(13, in: -1e-7...1e-7)
        x += [0, -0, 1, 65504, 65519, 65520, -65520, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, .infinity, -.infinity, 1.0009766, 1.00048828125]
        bothPaths { isa in
            for n in [1, 3, 13, x.count] {
                var h = [UInt16](repeating: 0, count: n)
                unirt_f16_from_f32(x, &h, n)
                XCTAssertEqual(h, x.prefix(n).map { Float16($0).bitPattern }, "\(isa) f32->f16 n\(n)")
                var back = [Float](repeating: .nan, count: n)
                unirt_f16_to_f32(h, &back, n)
                XCTAssertEqual(back, h.map { Float(Float16(bitPattern: $0)) }, "\(isa) f16->f32 n\(n)")
            }
            var nan = [UInt16](repeating: 0, count: 1)
            unirt_f16_from_f32([Float.nan], &nan, 1)
            XCTAssertTrue(Float16(bitPattern: nan[0]).isNaN, "\(isa) NaN stays NaN")
        }
    }

    // MARK: INT8 kernels

    func quantizeU8(_ v: Float, _ scale: Float, _ zp: Int32) -> UInt8 {
        let q = min(max(v / scale, Float(-zp)), Float(255 - zp)).rounded(.toNearestOrEven)
        return UInt8(Int32(q) + zp)
    }

    func testQuantizeDequantizeAreExact() {
        var rng = SeededRNG(seed: 20)
        bothPaths { isa in
            for n in [1, 3, 13, 127] {
                // Half-way values (k + 0.5) * scale check round-half-even; ±40 saturates.
                var x = rng.floats(n, in: -40...40)
                for i in stride(from: 0, to: n, by: 3) { x[i] = (Float(i % 20) - 10.5) * 0.25 }
                for zp in [Int32(128), 0, 3] {
                    var q = [UInt8](repeating: 0, count: n)
                    unirt_quantize_u8(x, &q, n, 0.25, zp)
                    XCTAssertEqual(q, x.map { quantizeU8($0, 0.25, zp) }, "\(isa) quantize u8 zp\(zp) n\(n)")
                    var d = [Float](repeating: 0, count: n)
                    unirt_dequantize_u8(q, &d, n, 0.25, zp)
                    XCTAssertEqual(d, q.map { Float(Int32($0) - zp) * 0.25 }, "\(isa) dequantize u8 n\(n)")
                }
                var s = [Int8](repeating: 0, count: n)
                unirt_quantize_s8(x, &s, n, 0.25)
                XCTAssertEqual(s, x.map { Int8(min(max($0 / 0.25, -127), 127).rounded(.toNearestOrEven)) }, "\(isa) quantize s8 n\(n)")
                var d = [Float](repeating: 0, count: n)
                unirt_dequantize_s8(s, &d, n, 0.25)
                XCTAssertEqual(d, s.map { Float($0) * 0.25 }, "\(isa) dequantize s8 n\(n)")
            }
        }
    }

    /// Quantize-while-packing (pair layout) equals unirt_quantize_u8 followed by the u8 packer, byte for byte,
    /// on both paths: ties, values past the int8 range, odd K, widths off the 8- and 16-column panels.
    func testPairPackFromFloatMatchesQuantize() {
        var rng = SeededRNG(seed: 23)
        bothPaths { isa in
            for (k, n, ld) in [(1, 1, 1), (5, 17, 20), (13, 48, 48), (64, 100, 130), (2, 8, 8), (3, 23, 23)] {
                var x = rng.floats(k * ld, in: -3...3)
                for i in stride(from: 0, to: x.count, by: 5) { x[i] = (Float(i % 40) - 20.5) * 0.02 }  // ties
                let scale: Float = 0.02
                var q = [UInt8](repeating: 0, count: x.count)
                unirt_quantize_u8(x, &q, x.count, scale, 128)
                var want = [UInt8](repeating: 0, count: unirt_gemm_u8s8_x_size(k, n))
                unirt_gemm_u8s8_pack_x(q, ld, k, n, 128, &want)
                var got = [UInt8](repeating: 0xAA, count: want.count)
                unirt_gemm_u8s8_pack_x_f32(x, ld, k, n, scale, &got)
                XCTAssertEqual(got, want, "\(isa) pair pack from float k\(k) n\(n)")
            }
        }
    }

    func testGemmU8S8IsExact() {
        var rng = SeededRNG(seed: 21)
        var cases: [(m: Int, k: Int, n: Int, zp: Int32)] = []
        for m in [1, 3, 13, 127] { for k in [1, 3, 13, 127] { for n in [1, 3, 13, 127] where (m * k * n) % 7 != 1 {
            cases.append((m, k, n, 128))
        } } }
        cases += [(8, 64, 49, 0), (5, 300, 30, 7)]
        bothPaths { isa in
            for (m, k, n, zp) in cases {
                let w = (0..<(m * k)).map { _ in Int8.random(in: -128...127, using: &rng) }
                let x = (0..<(k * n)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var pw = [UInt8](repeating: 0, count: unirt_gemm_u8s8_weights_size(m, k))
                XCTAssertEqual(unirt_gemm_u8s8_pack_weights(w, m, k, &pw), 0)
                var px = [UInt8](repeating: 0, count: unirt_gemm_u8s8_x_size(k, n))
                unirt_gemm_u8s8_pack_x(x, n, k, n, zp, &px)
                var ref = [Int32](repeating: 0, count: m * n)
                for i in 0..<m { for j in 0..<n {
                    var acc: Int32 = 0
                    for p in 0..<k { acc += Int32(w[i * k + p]) * (Int32(x[p * n + j]) - zp) }
                    ref[i * n + j] = acc
                } }
                var y = [Int32](repeating: -1, count: m * n)
                // Split rows at a multiple of the row block, as threads would.
                let split = (m / 2) / Int(UNIRT_GEMM_U8S8_MR) * Int(UNIRT_GEMM_U8S8_MR)
                unirt_gemm_u8s8_compute_s32(pw, px, 0, split, k, n, &y, n)
                unirt_gemm_u8s8_compute_s32(pw, px, split, m, k, n, &y, n)
                XCTAssertEqual(y, ref, "\(isa) gemm s32 m\(m) k\(k) n\(n)")

                // Requantizing epilogues: float, and u8 for the next layer.
                let rowScale = (0..<m).map { _ in Float.random(in: 1e-5...1e-3, using: &rng) }
                let bias = Pinned(rng.floats(m)), res = Pinned(rng.floats(m * n))
                var ep = unirt_epilogue(bias: bias.pointer, residual: UnsafePointer(res.pointer), residual_after_activation: 1,
                                        activation: Int32(UNIRT_ACT_RELU), alpha: 0, beta: 0, slope: nil)
                let refF = (0..<(m * n)).map { max(Float(ref[$0]) * rowScale[$0 / n] + bias.pointer[$0 / n], 0) + res.pointer[$0] }
                var yf = [Float](repeating: .nan, count: m * n)
                unirt_gemm_u8s8_compute_f32(pw, px, 0, m, k, n, rowScale, &ep, &yf, n)
                XCTAssertEqual(yf, refF, "\(isa) gemm f32 m\(m) k\(k) n\(n)")
                var yq = [UInt8](repeating: 0, count: m * n)
                unirt_gemm_u8s8_compute_u8(pw, px, 0, m, k, n, rowScale, &ep, 0.02, 128, &yq, n)
                XCTAssertEqual(yq, refF.map { quantizeU8($0, 0.02, 128) }, "\(isa) gemm u8 m\(m) k\(k) n\(n)")
            }
            // Worst case for 16-bit pair sums: every product at its extreme.
            let k = 127, n = 13
            let w = [Int8](repeating: -128, count: 4 * k), x = [UInt8](repeating: 255, count: k * n)
            var pw = [UInt8](repeating: 0, count: unirt_gemm_u8s8_weights_size(4, k))
            _ = unirt_gemm_u8s8_pack_weights(w, 4, k, &pw)
            var px = [UInt8](repeating: 0, count: unirt_gemm_u8s8_x_size(k, n))
            unirt_gemm_u8s8_pack_x(x, n, k, n, 0, &px)
            var y = [Int32](repeating: 0, count: 4 * n)
            unirt_gemm_u8s8_compute_s32(pw, px, 0, 4, k, n, &y, n)
            XCTAssertEqual(y, [Int32](repeating: Int32(-128 * 255 * k), count: 4 * n), "\(isa) extreme products")
        }
        var tooBig = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(unirt_gemm_u8s8_pack_weights([Int8](repeating: 0, count: 1), 0, Int(UNIRT_GEMM_U8S8_MAX_K) + 1, &tooBig), -1)
    }

    func testGemmU8S8ConvPackingMatchesIm2col() {
        var rng = SeededRNG(seed: 22)
        for (c, h, w, k, s, d, p) in [(3, 13, 13, 3, 1, 1, (1, 1, 1, 1)), (5, 9, 27, 3, 2, 1, (0, 1, 1, 0)),
                                      (2, 7, 8, 3, 1, 2, (2, 2, 2, 2)), (13, 5, 7, 1, 1, 1, (0, 0, 0, 0)),
                                      (4, 12, 12, 1, 2, 1, (0, 0, 0, 0))] {
            var g = geometry(h: h, w: w, k: k, stride: s, dilation: d, pads: p)
            let x = (0..<(c * h * w)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let n = g.out_h * g.out_w, kk = c * k * k, m = 5, zp: Int32 = 128
            let wt = (0..<(m * kk)).map { _ in Int8.random(in: -128...127, using: &rng) }
            var pw = [UInt8](repeating: 0, count: unirt_gemm_u8s8_weights_size(m, kk))
            _ = unirt_gemm_u8s8_pack_weights(wt, m, kk, &pw)
            for range in [0..<n, (n / 3)..<n] {
                var px = [UInt8](repeating: 0, count: unirt_gemm_u8s8_x_size(kk, range.count))
                unirt_gemm_u8s8_pack_x_conv(x, &g, c, zp, range.lowerBound, range.upperBound, &px)
                // Reference: u8 im2col where padding is the zero point.
                let cols = im2colReference(x.map { Float(Int32($0) - zp) }, g, channels: 0..<c, positions: range)
                var y = [Int32](repeating: 0, count: m * range.count)
                unirt_gemm_u8s8_compute_s32(pw, px, 0, m, kk, range.count, &y, range.count)
                let ref = (0..<(m * range.count)).map { i -> Int32 in
                    (0..<kk).reduce(Int32(0)) { $0 + Int32(wt[(i / range.count) * kk + $1]) * Int32(cols[$1 * range.count + i % range.count]) }
                }
                XCTAssertEqual(y, ref, "conv pack c\(c) \(h)x\(w) k\(k) s\(s) d\(d) positions \(range)")
            }
        }
    }

    func testDepthwiseU8S8IsExact() {
        var rng = SeededRNG(seed: 23)
        let cases: [(Int, Int, Int, Int, Int, (Int, Int, Int, Int))] = [
            (3, 13, 13, 3, 1, (1, 1, 1, 1)), (1, 1, 127, 3, 1, (1, 1, 1, 1)), (13, 7, 127, 3, 1, (0, 2, 2, 0)),
            (3, 20, 40, 3, 2, (0, 0, 1, 1)), (2, 9, 19, 5, 1, (2, 2, 2, 2)), (3, 3, 1, 3, 1, (1, 1, 1, 1)),
            // Face-model planes narrower than one vector step, odd left pads with stride 2.
            (4, 14, 14, 3, 1, (1, 1, 1, 1)), (4, 7, 7, 3, 1, (1, 1, 1, 1)), (5, 28, 28, 3, 2, (1, 1, 1, 1)),
            (3, 15, 17, 3, 2, (2, 2, 0, 0)), (2, 9, 33, 3, 2, (1, 0, 1, 1)), (2, 5, 3, 3, 2, (1, 1, 1, 1)),
        ]
        defer { unirt_conv_gemm_limit_isa(2) }
        // Level 2: the AVX-512 kernel where the CPU has it; level 1: the AVX2 kernel.
        for level in [Int32(2), 1] { unirt_conv_gemm_limit_isa(level); bothPaths { isa in
            for (c, h, w, k, s, p) in cases {
                var g = geometry(h: h, w: w, k: k, stride: s, pads: p)
                let x = (0..<(c * h * w)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let wt = (0..<(c * k * k)).map { _ in Int8.random(in: -128...127, using: &rng) }
                let zp: Int32 = 128, plane = g.out_h * g.out_w
                var acc = [Float](repeating: 0, count: c * plane)
                for ch in 0..<c { for oy in 0..<g.out_h { for ox in 0..<g.out_w {
                    var a: Int32 = 0
                    for ky in 0..<k { for kx in 0..<k {
                        if let i = tap(g, oy, ox, ky, kx) { a += (Int32(x[ch * h * w + i]) - zp) * Int32(wt[ch * k * k + ky * k + kx]) }
                    } }
                    acc[ch * plane + oy * g.out_w + ox] = Float(a)
                } } }
                let ones = [Float](repeating: 1, count: c)
                var y = [Float](repeating: .nan, count: c * plane)
                unirt_dwconv_u8s8_compute_f32(x, zp, wt, &g, ones, nil, &y, 0, c)
                XCTAssertEqual(y, acc, "\(isa) level \(level) dw int8 c\(c) \(h)x\(w) k\(k) s\(s)")

                let scale = (0..<c).map { _ in Float.random(in: 1e-5...1e-3, using: &rng) }
                let bias = Pinned(rng.floats(c))
                var ep = unirt_epilogue(bias: bias.pointer, residual: nil, residual_after_activation: 0,
                                        activation: Int32(UNIRT_ACT_RELU), alpha: 0, beta: 0, slope: nil)
                let refF = (0..<(c * plane)).map { max(acc[$0] * scale[$0 / plane] + bias.pointer[$0 / plane], 0) }
                unirt_dwconv_u8s8_compute_f32(x, zp, wt, &g, scale, &ep, &y, 0, c)
                XCTAssertEqual(y, refF, "\(isa) dw int8 f32 epilogue c\(c) \(h)x\(w)")
                var q = [UInt8](repeating: 0, count: c * plane)
                unirt_dwconv_u8s8_compute_u8(x, zp, wt, &g, scale, &ep, 0.01, 128, &q, 0, c)
                XCTAssertEqual(q, refF.map { quantizeU8($0, 0.01, 128) }, "\(isa) dw int8 u8 c\(c) \(h)x\(w)")
            }
        } }
    }
}
