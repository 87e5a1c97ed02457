import XCTest
import CUnirtKernels
import UnirtIR
import UnirtQuant
import UnirtRuntime

/// The int8 convolution kernel (FusedConv with `input_scale`) against the
/// reference kernel, which convolves the fake-quantized input in float.
final class Int8ConvKernelTests: XCTestCase {
    /// Kernel vs reference: both compute Σ q_x·s_x · q_w·s_w over the same
    /// integers; the kernel sums exactly in int32 and scales once, the reference
    /// accumulates in float. Bound: relative to max |reference| of the output.
    static let int8ConvBound: Float = 2e-5

    /// Runs `node` on the CPU backend (asserting the int8 kernel was chosen) and on reference kernels.
    func runBoth(_ node: Node, inputs: [String: Tensor], constants: [String: Tensor], threads: Int,
                 file: StaticString = #filePath, line: UInt = #line) throws -> (fast: Tensor, ref: Tensor) {
        let decls = node.inputs.filter { !$0.isEmpty && constants[$0] == nil }.map {
            ValueDecl(name: $0, dtype: .f32, dims: inputs[$0]!.shape.map { .fixed($0) })
        }
        let g = Graph(inputs: decls, outputs: [ValueDecl(name: node.outputs[0], dtype: .f32, dims: nil)],
                      initializers: constants, nodes: [node])
        let fastSession = Session(graph: g, backend: CPUBackend(), threads: threads)
        let plan = try fastSession.plan(for: inputs)
        XCTAssertEqual(plan.kernelChoices.first?.kernel, "cpu", "int8 conv should use the CPU kernel", file: file, line: line)
        let fast = try fastSession.run(inputs)[node.outputs[0]]!
        let ref = try Session(graph: g, backend: ReferenceBackend()).run(inputs)[node.outputs[0]]!
        return (fast, ref)
    }

    /// Weights on their per-output-channel int8 grid, as an int8 plan stores them.
    func gridWeights(_ shape: [Int], _ rng: inout SeededRNG) -> Tensor {
        let w = rng.floats(shape.reduce(1, *))
        return Tensor(shape: shape, floats: WeightQuantizer.int8.quantize(w, shape: shape).dequantized())
    }

    func testInt8ConvMatchesReference() throws {
        var rng = SeededRNG(seed: 8)
        // (N, C, M, H, W, k, stride, pad, group, activation, residual)
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, String, Bool)] = [
            (1, 3, 16, 13, 13, 3, 2, 1, 1, "PRelu", false),   // SFace stem shape, odd size
            (2, 8, 13, 7, 9, 1, 1, 0, 1, "", true),           // pointwise, M not a multiple of MR, residual
            (1, 16, 16, 127, 3, 3, 1, 1, 16, "Relu", false),  // depthwise 3x3 stride 1 (direct AVX2 path)
            (1, 12, 12, 9, 11, 3, 2, 1, 12, "PRelu", true),   // depthwise stride 2
            (1, 8, 12, 10, 10, 3, 1, 1, 2, "LeakyRelu", false), // grouped
            (1, 64, 70, 7, 7, 3, 1, 1, 1, "Sigmoid", false),  // few positions: rows split across threads
            (3, 5, 7, 33, 31, 5, 1, 2, 1, "Clip", true),      // large plane, several tiles
        ]
        for threads in [1, 2] {
            for (n, c, m, h, w, k, s, p, g, act, res) in cases {
                var attrs: [String: Attribute] = ["strides": .ints([s, s]), "pads": .ints([p, p, p, p]), "group": .int(g),
                                                  "activation": .string(act), "input_scale": .float(0.9 / 127)]
                if act == "Clip" { attrs["activation_alpha"] = .float(-0.3); attrs["activation_beta"] = .float(0.4) }
                let node = Node(name: "qconv", op: .fusedConv, inputs: ["x", "w", "b", res ? "z" : "", act == "PRelu" ? "s" : ""],
                                outputs: ["y"], attributes: attrs, opset: 13)
                let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
                // Inputs reach past the threshold 0.9 so saturation is exercised too.
                var inputs = ["x": Tensor(shape: [n, c, h, w], floats: rng.floats(n * c * h * w, in: -1.2...1.2))]
                if res { inputs["z"] = Tensor(shape: [n, m, oh, ow], floats: rng.floats(n * m * oh * ow)) }
                var consts = ["w": gridWeights([m, c / g, k, k], &rng), "b": Tensor(shape: [m], floats: rng.floats(m))]
                if act == "PRelu" { consts["s"] = Tensor(shape: [m, 1, 1], floats: rng.floats(m, in: 0...0.5)) }
                let (fast, ref) = try runBoth(node, inputs: inputs, constants: consts, threads: threads)
                TestSupport.assertClose(fast, ref, rtol: Self.int8ConvBound, atol: 1e-6,
                                        "int8 conv n\(n) c\(c) m\(m) \(h)x\(w) k\(k) s\(s) g\(g) \(act) residual \(res) threads \(threads)")
            }
        }
    }

    /// The int8 fully connected layer (Gemm with `input_scale`, transB = 1) against the
    /// reference, which multiplies the fake-quantized input in float: 8- and 7-bit weight
    /// grids, with and without C, rows not a multiple of the row block, one and two threads,
    /// on every kernel level (VNNI, the AVX2 quad kernel for 7-bit weights, int16 pairs).
    func testInt8GemmMatchesReference() throws {
        var rng = SeededRNG(seed: 9)
        defer { unirt_conv_gemm_limit_isa(2) }
        for level in [Int32(2), 1] {
            unirt_conv_gemm_limit_isa(level)
            for (m, k, n, levels, bias) in [(8, 300, 37, 127, true), (1, 64, 16, 63, false), (5, 1031, 130, 63, true), (3, 9, 8, 127, false)] {
                var attrs: [String: Attribute] = ["transB": .int(1), "input_scale": .float(0.9 / 127)]
                if levels != 127 { attrs["weight_levels"] = .int(levels) }
                let node = Node(name: "fc", op: .gemm, inputs: ["a", "w"] + (bias ? ["c"] : []), outputs: ["y"], attributes: attrs, opset: 13)
                let w = WeightQuantizer(levels: levels).quantize(rng.floats(n * k), shape: [n, k], channelAxis: 0).dequantized()
                var consts = ["w": Tensor(shape: [n, k], floats: w)]
                if bias { consts["c"] = Tensor(shape: [n], floats: rng.floats(n)) }
                let inputs = ["a": Tensor(shape: [m, k], floats: rng.floats(m * k, in: -1.2...1.2))]
                for threads in [1, 2] {
                    let (fast, ref) = try runBoth(node, inputs: inputs, constants: consts, threads: threads)
                    TestSupport.assertClose(fast, ref, rtol: Self.int8ConvBound, atol: 1e-6,
                                            "int8 gemm level \(level) m\(m) k\(k) n\(n) levels \(levels) bias \(bias) threads \(threads)")
                }
            }
        }
    }

    /// The int8 kernel against the unquantized float convolution: the error is
    /// the quantization error, bounded by the input and weight rounding.
    func testInt8ConvStaysNearFloat() throws {
        var rng = SeededRNG(seed: 21)
        let (c, m, h, w) = (32, 24, 17, 17)
        let x = Tensor(shape: [1, c, h, w], floats: rng.floats(c * h * w))
        let wt = Tensor(shape: [m, c, 3, 3], floats: rng.floats(m * c * 9))
        let attrs: [String: Attribute] = ["pads": .ints([1, 1, 1, 1])]
        let fp = Node(name: "conv", op: .fusedConv, inputs: ["x", "w"], outputs: ["y"], attributes: attrs, opset: 13)
        var q = fp
        q.attributes["input_scale"] = .float(1.0 / 127)
        let g32 = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: x.shape.map { .fixed($0) })],
                        outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)], initializers: ["w": wt], nodes: [fp])
        var g8 = g32
        g8.nodes = [q]
        g8.initializers["w"] = Tensor(shape: wt.shape, floats: WeightQuantizer.int8.quantize(wt.floats, shape: wt.shape).dequantized())
        let y32 = try Session(graph: g32, threads: 2).run(["x": x])["y"]!
        let y8 = try Session(graph: g8, threads: 2).run(["x": x])["y"]!
        let sqnr = Sensitivity.sqnr(reference: y32.floats, test: y8.floats)
        // 8-bit input and weights each give ~40 dB on uniform data; together well above 30.
        XCTAssertGreaterThan(sqnr, 32, "int8 conv SQNR vs float")
    }
}
