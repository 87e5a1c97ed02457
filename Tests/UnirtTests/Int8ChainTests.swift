import XCTest
import CUnirtKernels
import UnirtIR
import UnirtQuant
import UnirtRuntime

/// Int8 convolutions that hand u8 activations to each other (Int8Chaining), and
/// the AVX-512 int8 depthwise kernel those chains use.
final class Int8ChainTests: XCTestCase {
    /// The chained form quantizes in the writer's epilogue with the same float
    /// operations the reader's quantization pass uses: bit-identical outputs.
    static let chainBound: Float = 0
    /// Chained plan vs reference kernels (float accumulation, fake-quantized
    /// inputs): a float rounding difference can move a value across a rounding
    /// boundary of the next layer's input grid, one step of that grid, which three
    /// layers deep stays within 1 % of max |output|.
    static let referenceBound: Float = 1e-2
    /// The AVX-512 depthwise kernel sums products exactly (see its file): bit-identical.
    static let depthwiseBound: Float = 0

    func conv(_ name: String, _ x: String, _ y: String, k: Int, group: Int, scale: Float, act: String,
              residual: String = "") -> Node {
        Node(name: name, op: .fusedConv, inputs: [x, name + ".w", name + ".b", residual], outputs: [y],
             attributes: ["pads": .ints([k / 2, k / 2, k / 2, k / 2]), "group": .int(group), "activation": .string(act),
                          "input_scale": .float(scale)], opset: 13)
    }

    func testChainedInt8ConvsAreExact() throws {
        var rng = SeededRNG(seed: 41)
        let (n, c, m, h, w) = (2, 24, 32, 13, 14)
        func grid(_ shape: [Int]) -> Tensor {
            Tensor(shape: shape, floats: WeightQuantizer.int8.quantize(rng.floats(shape.reduce(1, *)), shape: shape).dequantized())
        }
        // x -> 1x1 (relu) -> t1 -> depthwise 3x3 (relu) -> t2 -> 1x1 + residual t0 -> y, and t0 = 1x1 of x read as a residual.
        let nodes = [conv("a", "x", "t1", k: 1, group: 1, scale: 1.1 / 127, act: "Relu"),
                     conv("b", "t1", "t2", k: 3, group: m, scale: 2.0 / 127, act: "Relu"),
                     conv("r", "x", "t0", k: 1, group: 1, scale: 1.1 / 127, act: ""),
                     conv("c", "t2", "y", k: 1, group: 1, scale: 3.0 / 127, act: "", residual: "t0")]
        let consts: [String: Tensor] = ["a.w": grid([m, c, 1, 1]), "a.b": Tensor(shape: [m], floats: rng.floats(m)),
                                        "b.w": grid([m, 1, 3, 3]), "b.b": Tensor(shape: [m], floats: rng.floats(m)),
                                        "r.w": grid([m, c, 1, 1]), "r.b": Tensor(shape: [m], floats: rng.floats(m)),
                                        "c.w": grid([m, m, 1, 1]), "c.b": Tensor(shape: [m], floats: rng.floats(m))]
        let x = Tensor(shape: [n, c, h, w], floats: rng.floats(n * c * h * w, in: -1.2...1.2))
        let input = [ValueDecl(name: "x", dtype: .f32, dims: x.shape.map { .fixed($0) })]
        let chained = Graph(inputs: input, outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)], initializers: consts, nodes: nodes)
        // The same graph with t1 and t2 as outputs too: nothing may be chained.
        var floatGraph = chained
        floatGraph.outputs += [ValueDecl(name: "t1", dtype: .f32, dims: nil), ValueDecl(name: "t2", dtype: .f32, dims: nil)]
        for threads in [1, 2] {
            let s8 = Session(graph: chained, backend: CPUBackend(), threads: threads)
            let plan = try s8.plan(for: ["x": x])
            XCTAssertEqual(plan.chainedActivations, ["t1", "t2"], "u8 hand-over where every reader is an int8 conv input 0")
            XCTAssertEqual(plan.kernelChoices.map(\.kernel), ["cpu", "cpu", "cpu", "cpu"])
            let sf = Session(graph: floatGraph, backend: CPUBackend(), threads: threads)
            XCTAssertEqual(try sf.plan(for: ["x": x]).chainedActivations, [], "graph outputs stay float")
            let y8 = try s8.run(["x": x])["y"]!, yf = try sf.run(["x": x])["y"]!
            TestSupport.assertClose(y8, yf, rtol: Self.chainBound, atol: 0, "chained vs float hand-over, threads \(threads)")
            let ref = try Session(graph: chained, backend: ReferenceBackend()).run(["x": x])["y"]!
            TestSupport.assertClose(y8, ref, rtol: Self.referenceBound, atol: 1e-6, "chained vs reference kernels")
        }
    }

    func testDepthwiseAVX512MatchesReference() {
        var rng = SeededRNG(seed: 42)
        // (channels, h, w, stride, pads top/left/bottom/right)
        let cases: [(Int, Int, Int, Int, (Int, Int, Int, Int))] = [
            (3, 7, 7, 1, (1, 1, 1, 1)), (5, 14, 14, 1, (1, 1, 1, 1)), (4, 14, 14, 2, (1, 1, 1, 1)), (2, 7, 7, 2, (0, 0, 1, 1)),
            (3, 1, 1, 1, (1, 1, 1, 1)), (2, 56, 56, 1, (1, 1, 1, 1)), (2, 57, 33, 2, (1, 1, 1, 1)), (2, 130, 150, 1, (1, 1, 1, 1)),
            (1, 40, 161, 2, (0, 1, 1, 0)), (2, 9, 23, 1, (0, 0, 0, 0)), (1, 100, 300, 2, (1, 1, 1, 1)), // last: rows widened one at a time
        ]
        for (c, h, w, s, p) in cases {
            let oh = (h + p.0 + p.2 - 3) / s + 1, ow = (w + p.1 + p.3 - 3) / s + 1, plane = oh * ow
            var g = unirt_conv2d_geometry(in_h: h, in_w: w, out_h: oh, out_w: ow, kernel_h: 3, kernel_w: 3, stride_h: s, stride_w: s,
                                          dilation_h: 1, dilation_w: 1, pad_top: p.0, pad_left: p.1, pad_bottom: p.2, pad_right: p.3)
            let x = (0..<(c * h * w)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let wt = (0..<(c * 9)).map { _ in Int8.random(in: -128...127, using: &rng) }
            let scale = (0..<c).map { _ in Float.random(in: 1e-5...1e-3, using: &rng) }
            let bias = Int8GemmQuadTests.Pinned(rng.floats(c)), res = Int8GemmQuadTests.Pinned(rng.floats(c * plane))
            var ep = unirt_epilogue(bias: bias.pointer, residual: UnsafePointer(res.pointer), residual_after_activation: 0,
                                    activation: Int32(UNIRT_ACT_RELU), alpha: 0, beta: 0, slope: nil)
            var want = [Float](repeating: 0, count: c * plane)
            for ch in 0..<c { for oy in 0..<oh { for ox in 0..<ow {
                var acc: Int32 = 0
                for ky in 0..<3 { for kx in 0..<3 {
                    let iy = oy * s + ky - p.0, ix = ox * s + kx - p.1
                    if iy >= 0, iy < h, ix >= 0, ix < w { acc += (Int32(x[(ch * h + iy) * w + ix]) - 128) * Int32(wt[ch * 9 + ky * 3 + kx]) }
                } }
                let o = ch * plane + oy * ow + ox
                want[o] = max(Float(acc) * scale[ch] + bias.pointer[ch] + res.pointer[o], 0)
            } } }
            let label = "dw \(c)x\(h)x\(w) s\(s) pads \(p) on \(unirt_gemm_u8s8q_native() != 0 ? "avx512" : "portable")"
            var y = [Float](repeating: .nan, count: c * plane)
            // Two channel ranges, as two threads would split them.
            unirt_dwconv_u8s8_compute_f32(x, 128, wt, &g, scale, &ep, &y, 0, c / 2)
            unirt_dwconv_u8s8_compute_f32(x, 128, wt, &g, scale, &ep, &y, c / 2, c)
            let err = zip(y, want).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            XCTAssertLessThanOrEqual(err, Self.depthwiseBound, label)
            XCTAssertFalse(y.contains { $0.isNaN }, label)
            var q = [UInt8](repeating: 0, count: c * plane)
            unirt_dwconv_u8s8_compute_u8(x, 128, wt, &g, scale, &ep, 0.01, 128, &q, 0, c)
            XCTAssertEqual(q, want.map { v in UInt8(Int32(min(max(v / 0.01, -128), 127).rounded(.toNearestOrEven)) + 128) }, label + " u8")
        }
    }
}
