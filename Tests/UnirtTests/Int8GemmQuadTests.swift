import XCTest
import CUnirtKernels

/// The quad-layout INT8 GEMM (unirt_kernels.h section 11) against naive integer
/// references, on the AVX-512 VNNI path (when this CPU has it) and forced onto
/// the portable path. The products are exact in int32, so the bound for the
/// integer results is zero; the float and u8 epilogues apply the same float
/// operations in the same order as the reference, so their bound is zero too.
final class Int8GemmQuadTests: XCTestCase {
    /// Integer accumulators and the epilogues: bit-identical to the reference.
    static let exactBound: Float = 0

    /// Runs `body` on the VNNI kernels (where this CPU has them), capped at AVX2, and
    /// with SIMD off (portable).
    func bothPaths(_ body: (String) throws -> Void) rethrows {
        defer { unirt_cpu_set_simd_enabled(1); unirt_conv_gemm_limit_isa(2) }
        for (enabled, level) in [(Int32(1), Int32(2)), (1, 1), (0, 2)] {
            unirt_cpu_set_simd_enabled(enabled)
            unirt_conv_gemm_limit_isa(level)
            try body(unirt_gemm_u8s8q_native() != 0 ? "vnni" : unirt_gemm_u8s8q7_fast() != 0 ? "avx2" : "portable")
        }
    }

    func quantizeU8(_ v: Float, _ scale: Float, _ zp: Int32) -> UInt8 {
        let q = min(max(v / scale, Float(-zp)), Float(255 - zp)).rounded(.toNearestOrEven)
        return UInt8(Int32(q) + zp)
    }

    final class Pinned<T> {
        let pointer: UnsafeMutablePointer<T>
        init(_ values: [T]) {
            pointer = .allocate(capacity: max(values.count, 1))
            pointer.initialize(from: values, count: values.count)
        }
        deinit { pointer.deallocate() }
    }

    /// W (m × k s8) and X (k × n u8) packed in the quad layout, and the reference W · (X − 128).
    func packed(_ w: [Int8], _ x: [UInt8], m: Int, k: Int, n: Int) -> (pw: [UInt8], px: [UInt8], ref: [Int32]) {
        var pw = [UInt8](repeating: 0, count: unirt_gemm_u8s8q_weights_size(m, k))
        XCTAssertEqual(unirt_gemm_u8s8q_pack_weights(w, m, k, &pw), 0)
        var px = [UInt8](repeating: 0, count: unirt_gemm_u8s8q_x_size(k, n))
        unirt_gemm_u8s8q_pack_x(x, n, k, n, &px)
        var ref = [Int32](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var acc: Int32 = 0
            for p in 0..<k { acc += Int32(w[i * k + p]) * (Int32(x[p * n + j]) - 128) }
            ref[i * n + j] = acc
        } }
        return (pw, px, ref)
    }

    func maxError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    }

    func testQuadGemmIsExact() {
        var rng = SeededRNG(seed: 31)
        var cases: [(m: Int, k: Int, n: Int)] = []
        for m in [1, 7, 8, 13, 40] { for k in [1, 3, 4, 13, 130] { for n in [1, 15, 16, 47, 49, 100] where (m + k + n) % 3 != 0 {
            cases.append((m, k, n))
        } } }
        cases += [(64, 576, 196), (16, 9, 3136 / 16)]
        bothPaths { path in
            for (m, k, n) in cases {
                let w = (0..<(m * k)).map { _ in Int8.random(in: -128...127, using: &rng) }
                let x = (0..<(k * n)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let (pw, px, ref) = packed(w, x, m: m, k: k, n: n)
                var y = [Int32](repeating: -1, count: m * n)
                let split = (m / 2) / Int(UNIRT_GEMM_U8S8Q_MR) * Int(UNIRT_GEMM_U8S8Q_MR)
                unirt_gemm_u8s8q_compute_s32(pw, px, 0, split, k, n, &y, n)
                unirt_gemm_u8s8q_compute_s32(pw, px, split, m, k, n, &y, n)
                XCTAssertEqual(y, ref, "\(path) quad gemm s32 m\(m) k\(k) n\(n)")

                let rowScale = (0..<m).map { _ in Float.random(in: 1e-5...1e-3, using: &rng) }
                let bias = Pinned(rng.floats(m)), res = Pinned(rng.floats(m * n)), slope = Pinned(rng.floats(m, in: 0...0.5))
                for (act, after) in [(UNIRT_ACT_RELU, Int32(1)), (UNIRT_ACT_PRELU, 0), (UNIRT_ACT_NONE, 0)] {
                    var ep = unirt_epilogue(bias: bias.pointer, residual: UnsafePointer(res.pointer), residual_after_activation: after,
                                            activation: Int32(act), alpha: 0, beta: 0, slope: slope.pointer)
                    let refF = (0..<(m * n)).map { i -> Float in
                        let c = i / n
                        var v = Float(ref[i]) * rowScale[c] + bias.pointer[c]
                        if after == 0 { v += res.pointer[i] }
                        if Int(act) == Int(UNIRT_ACT_RELU) { v = max(v, 0) }
                        if Int(act) == Int(UNIRT_ACT_PRELU), v < 0 { v *= slope.pointer[c] }
                        if after == 1 { v += res.pointer[i] }
                        return v
                    }
                    var yf = [Float](repeating: .nan, count: m * n)
                    unirt_gemm_u8s8q_compute_f32(pw, px, 0, m, k, n, rowScale, &ep, &yf, n)
                    XCTAssertLessThanOrEqual(maxError(yf, refF), Self.exactBound, "\(path) quad gemm f32 act\(act) m\(m) k\(k) n\(n)")
                    var yq = [UInt8](repeating: 0, count: m * n)
                    unirt_gemm_u8s8q_compute_u8(pw, px, 0, m, k, n, rowScale, &ep, 0.02, 128, &yq, n)
                    XCTAssertEqual(yq, refF.map { quantizeU8($0, 0.02, 128) }, "\(path) quad gemm u8 act\(act) m\(m) k\(k) n\(n)")
                }
            }
            // Extreme products: every weight -128 or 127 against x = 255 and x = 0.
            for (wv, xv) in [(Int8(-128), UInt8(255)), (127, 255), (-128, 0), (127, 0)] {
                let m = 9, k = 1027, n = 33
                let w = [Int8](repeating: wv, count: m * k), x = [UInt8](repeating: xv, count: k * n)
                let (pw, px, _) = packed(w, x, m: m, k: k, n: n)
                var y = [Int32](repeating: 0, count: m * n)
                unirt_gemm_u8s8q_compute_s32(pw, px, 0, m, k, n, &y, n)
                let want = Int32(wv) * (Int32(xv) - 128) * Int32(k)
                XCTAssertEqual(y, [Int32](repeating: want, count: m * n), "\(path) extreme products w\(wv) x\(xv)")
            }
        }
        var tooBig = [UInt8](repeating: 0, count: 64)
        XCTAssertEqual(unirt_gemm_u8s8q_pack_weights([Int8](repeating: 0, count: 1), 0, Int(UNIRT_GEMM_U8S8_MAX_K) + 1, &tooBig), -1)
    }

    /// 7-bit weights (-64...63) through the unirt_gemm_u8s8q7_* entry points: on the AVX2
    /// path VPMADDUBSW's int16 pair sums must never saturate, so the results stay exact,
    /// extreme products included.
    func testQuad7GemmIsExact() {
        var rng = SeededRNG(seed: 34)
        let weights = (0..<64).map { Int8(-64 + $0 * 2) }
        XCTAssertEqual(unirt_gemm_s8_fits7(weights, weights.count), 1)
        XCTAssertEqual(unirt_gemm_s8_fits7([Int8(0), 64], 2), 0)
        XCTAssertEqual(unirt_gemm_s8_fits7([Int8(-65)], 1), 0)
        var cases: [(m: Int, k: Int, n: Int)] = [(64, 576, 196), (16, 9, 3136 / 16), (512, 512, 49)]
        for m in [1, 5, 8, 12, 33] { for k in [1, 4, 7, 64, 129] { for n in [1, 8, 9, 16, 47, 48, 50, 97] where (m + k + n) % 4 != 0 {
            cases.append((m, k, n))
        } } }
        bothPaths { path in
            for (m, k, n) in cases {
                let w = (0..<(m * k)).map { _ in Int8.random(in: -64...63, using: &rng) }
                let x = (0..<(k * n)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let (pw, px, ref) = packed(w, x, m: m, k: k, n: n)
                var y = [Int32](repeating: -1, count: m * n)
                let split = (m / 2) / Int(UNIRT_GEMM_U8S8Q_MR) * Int(UNIRT_GEMM_U8S8Q_MR)
                unirt_gemm_u8s8q7_compute_s32(pw, px, 0, split, k, n, &y, n)
                unirt_gemm_u8s8q7_compute_s32(pw, px, split, m, k, n, &y, n)
                XCTAssertEqual(y, ref, "\(path) quad7 gemm s32 m\(m) k\(k) n\(n)")

                let rowScale = (0..<m).map { _ in Float.random(in: 1e-5...1e-3, using: &rng) }
                let bias = Pinned(rng.floats(m)), res = Pinned(rng.floats(m * n))
                var ep = unirt_epilogue(bias: bias.pointer, residual: UnsafePointer(res.pointer), residual_after_activation: 0,
                                        activation: Int32(UNIRT_ACT_RELU), alpha: 0, beta: 0, slope: nil)
                let refF = (0..<(m * n)).map { i in max(Float(ref[i]) * rowScale[i / n] + bias.pointer[i / n] + res.pointer[i], 0) }
                var yf = [Float](repeating: .nan, count: m * n)
                unirt_gemm_u8s8q7_compute_f32(pw, px, 0, m, k, n, rowScale, &ep, &yf, n)
                XCTAssertLessThanOrEqual(maxError(yf, refF), Self.exactBound, "\(path) quad7 gemm f32 m\(m) k\(k) n\(n)")
                var yq = [UInt8](repeating: 0, count: m * n)
                unirt_gemm_u8s8q7_compute_u8(pw, px, 0, m, k, n, rowScale, &ep, 0.02, 128, &yq, n)
                XCTAssertEqual(yq, refF.map { quantizeU8($0, 0.02, 128) }, "\(path) quad7 gemm u8 m\(m) k\(k) n\(n)")
            }
            // Extreme products: every weight -64 or 63 against x = 255 and x = 0 (pair sums ±32640).
            for (wv, xv) in [(Int8(-64), UInt8(255)), (63, 255), (-64, 0), (63, 0)] {
                let m = 9, k = 1027, n = 33
                let w = [Int8](repeating: wv, count: m * k), x = [UInt8](repeating: xv, count: k * n)
                let (pw, px, _) = packed(w, x, m: m, k: k, n: n)
                var y = [Int32](repeating: 0, count: m * n)
                unirt_gemm_u8s8q7_compute_s32(pw, px, 0, m, k, n, &y, n)
                let want = Int32(wv) * (Int32(xv) - 128) * Int32(k)
                XCTAssertEqual(y, [Int32](repeating: want, count: m * n), "\(path) quad7 extreme products w\(wv) x\(xv)")
            }
        }
    }

    /// Quantize-while-packing equals unirt_quantize_u8 followed by the u8 packer, byte for byte.
    func testQuadPackFromFloatMatchesQuantize() {
        var rng = SeededRNG(seed: 32)
        bothPaths { path in
            for (k, n, ld) in [(1, 1, 1), (5, 17, 20), (13, 48, 48), (64, 100, 130)] {
                var x = rng.floats(k * ld, in: -3...3)
                for i in stride(from: 0, to: x.count, by: 5) { x[i] = (Float(i % 40) - 20.5) * 0.02 }  // ties
                let scale: Float = 0.02
                var q = [UInt8](repeating: 0, count: x.count)
                unirt_quantize_u8(x, &q, x.count, scale, 128)
                var want = [UInt8](repeating: 0, count: unirt_gemm_u8s8q_x_size(k, n))
                unirt_gemm_u8s8q_pack_x(q, ld, k, n, &want)
                var got = [UInt8](repeating: 0, count: want.count)
                unirt_gemm_u8s8q_pack_x_f32(x, ld, k, n, scale, &got)
                XCTAssertEqual(got, want, "\(path) pack from float k\(k) n\(n)")
            }
        }
    }

    /// The fused im2col packer against an explicit u8 im2col (padding = 128) packed as a matrix.
    func testQuadConvPackingMatchesIm2col() {
        var rng = SeededRNG(seed: 33)
        let cases: [(c: Int, h: Int, w: Int, k: Int, s: Int, d: Int, p: (Int, Int, Int, Int))] = [
            (3, 13, 13, 3, 1, 1, (1, 1, 1, 1)), (5, 9, 27, 3, 2, 1, (0, 1, 1, 0)), (2, 7, 8, 3, 1, 2, (2, 2, 2, 2)),
            (13, 5, 7, 1, 1, 1, (0, 0, 0, 0)), (4, 12, 12, 1, 2, 1, (0, 0, 0, 0)), (2, 20, 60, 3, 1, 1, (1, 1, 1, 1)),
        ]
        bothPaths { path in
            for cs in cases {
                let oh = (cs.h + cs.p.0 + cs.p.2 - ((cs.k - 1) * cs.d + 1)) / cs.s + 1
                let ow = (cs.w + cs.p.1 + cs.p.3 - ((cs.k - 1) * cs.d + 1)) / cs.s + 1
                var g = unirt_conv2d_geometry(in_h: cs.h, in_w: cs.w, out_h: oh, out_w: ow, kernel_h: cs.k, kernel_w: cs.k,
                                              stride_h: cs.s, stride_w: cs.s, dilation_h: cs.d, dilation_w: cs.d,
                                              pad_top: cs.p.0, pad_left: cs.p.1, pad_bottom: cs.p.2, pad_right: cs.p.3)
                let x = (0..<(cs.c * cs.h * cs.w)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let n = oh * ow, kk = cs.c * cs.k * cs.k
                for range in [0..<n, (n / 3)..<n] {
                    var cols = [UInt8](repeating: 128, count: kk * range.count)
                    for c in 0..<cs.c { for ky in 0..<cs.k { for kx in 0..<cs.k {
                        let row = (c * cs.k + ky) * cs.k + kx
                        for (j, p) in range.enumerated() {
                            let iy = (p / ow) * cs.s + ky * cs.d - cs.p.0, ix = (p % ow) * cs.s + kx * cs.d - cs.p.1
                            if iy >= 0, iy < cs.h, ix >= 0, ix < cs.w { cols[row * range.count + j] = x[(c * cs.h + iy) * cs.w + ix] }
                        }
                    } } }
                    var want = [UInt8](repeating: 0, count: unirt_gemm_u8s8q_x_size(kk, range.count))
                    unirt_gemm_u8s8q_pack_x(cols, range.count, kk, range.count, &want)
                    var got = [UInt8](repeating: 0, count: want.count)
                    unirt_gemm_u8s8q_pack_x_conv(x, &g, cs.c, range.lowerBound, range.upperBound, &got)
                    XCTAssertEqual(got, want, "\(path) quad conv pack c\(cs.c) \(cs.h)x\(cs.w) k\(cs.k) s\(cs.s) d\(cs.d) \(range)")
                }
            }
        }
    }
}
