import XCTest
import UnirtIR

/// Unit tests of the neural-network operators (convolution, pooling,
/// normalization, matrix products, softmax, reductions and resampling):
/// shape inference, validation and reference kernels on small hand-checked cases.
final class NNOpsTests: XCTestCase {

    // MARK: - Helpers

    private func makeNode(_ op: OpKind, _ inputs: [Tensor?], outputs: Int = 1,
                          _ attributes: [String: Attribute] = [:], opset: Int = 17) -> Node {
        Node(name: "n", op: op,
             inputs: inputs.enumerated().map { $0.element == nil ? "" : "in\($0.offset)" },
             outputs: (0..<outputs).map { "out\($0)" },
             attributes: attributes, opset: opset)
    }

    /// Checks, infers shapes and runs the reference kernel; every input is known as a constant.
    private func run(_ op: OpKind, _ inputs: [Tensor?], _ attributes: [String: Attribute] = [:], opset: Int = 17,
                     file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
        let node = makeNode(op, inputs, attributes, opset: opset)
        try op.check(node)
        let infos = try op.definition.inferShapes(node, inputs.map { $0.map { ValueInfo($0) } })
        let result = op.definition.reference(node, inputs, infos)
        XCTAssertEqual(result.count, infos.count, "output count", file: file, line: line)
        XCTAssertEqual(result[0].shape, infos[0].shape, "reference shape differs from inferred shape", file: file, line: line)
        XCTAssertEqual(result[0].dtype, infos[0].dtype, "reference dtype differs from inferred dtype", file: file, line: line)
        return result[0]
    }

    /// Checks the node and infers shapes from the given infos (which may lack constants).
    private func infer(_ op: OpKind, _ infos: [ValueInfo?], _ attributes: [String: Attribute] = [:],
                       opset: Int = 17, outputs: Int = 1) throws -> [ValueInfo] {
        let node = Node(name: "n", op: op,
                        inputs: infos.enumerated().map { $0.element == nil ? "" : "in\($0.offset)" },
                        outputs: (0..<outputs).map { "out\($0)" }, attributes: attributes, opset: opset)
        try op.check(node)
        return try op.definition.inferShapes(node, infos)
    }

    private func f(_ shape: [Int], _ v: [Float]) -> Tensor { Tensor(shape: shape, floats: v) }

    /// 1, 2, 3, … in the given shape.
    private func iota(_ shape: [Int]) -> Tensor {
        f(shape, (0..<shape.reduce(1, *)).map { Float($0 + 1) })
    }

    private func i64(_ shape: [Int], _ v: [Int64], _ dtype: DType = .i64) -> Tensor {
        Tensor(shape: shape, ints: v, dtype: dtype)
    }

    private func info(_ shape: [Int], _ dtype: DType = .f32) -> ValueInfo { ValueInfo(dtype: dtype, shape: shape) }

    private func assertFloats(_ t: Tensor, _ expected: [Float], shape: [Int]? = nil, accuracy: Float = 1e-5,
                              file: StaticString = #filePath, line: UInt = #line) {
        if let shape { XCTAssertEqual(t.shape, shape, "shape", file: file, line: line) }
        let v = t.floats
        XCTAssertEqual(v.count, expected.count, "element count", file: file, line: line)
        for (k, (a, e)) in zip(v, expected).enumerated() {
            XCTAssertEqual(a, e, accuracy: accuracy * Swift.max(1, Swift.abs(e)), "element \(k)", file: file, line: line)
        }
    }

    private func assertError(_ code: IRError.Code, _ fragment: String,
                             file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected an error containing '\(fragment)'", file: file, line: line)
        } catch let e as IRError {
            XCTAssertEqual(e.code, code, "\(e)", file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "message '\(e.message)' lacks '\(fragment)'", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    // MARK: - Conv

    func testConv2DPadsStridesBias() throws {
        // X = 1…9 (3×3), W = [[1, 0], [0, -1]], pads top 1 / right 1, stride 2 on H.
        let y = try run(.conv, [iota([1, 1, 3, 3]), f([1, 1, 2, 2], [1, 0, 0, -1]), f([1], [0.5])],
                        ["pads": .ints([1, 0, 0, 1]), "strides": .ints([2, 1])])
        assertFloats(y, [-1.5, -2.5, 0.5, -3.5, -3.5, 6.5], shape: [1, 1, 2, 3])
        // kernel_shape may be given and must match W.
        let y2 = try run(.conv, [iota([1, 1, 3, 3]), f([1, 1, 2, 2], [1, 0, 0, -1])], ["kernel_shape": .ints([2, 2])])
        assertFloats(y2, [-4, -4, -4, -4], shape: [1, 1, 2, 2])
    }

    func testConv1DDilationAndValid() throws {
        // y[i] = x[i] + 2 x[i+2] for x = 1…5.
        assertFloats(try run(.conv, [iota([1, 1, 5]), f([1, 1, 2], [1, 2])], ["dilations": .ints([2])]),
                     [7, 10, 13], shape: [1, 1, 3])
        assertFloats(try run(.conv, [iota([1, 1, 5]), f([1, 1, 2], [1, 1])], ["auto_pad": .string("VALID"), "strides": .ints([2])]),
                     [3, 7], shape: [1, 1, 2])
    }

    func testConvAutoPadSameUpperVersusLower() throws {
        // Length 4, kernel 3, stride 2: two outputs, one padding element at the end (UPPER) or start (LOWER).
        let x = iota([1, 1, 4]), w = f([1, 1, 3], [1, 1, 1])
        assertFloats(try run(.conv, [x, w], ["auto_pad": .string("SAME_UPPER"), "strides": .ints([2])]), [6, 7], shape: [1, 1, 2])
        assertFloats(try run(.conv, [x, w], ["auto_pad": .string("SAME_LOWER"), "strides": .ints([2])]), [3, 9], shape: [1, 1, 2])
        // SAME keeps the size at stride 1, also with dilation: extent 5 needs 4 padding elements.
        let y = try run(.conv, [iota([1, 1, 3]), f([1, 1, 3], [1, 1, 1])], ["auto_pad": .string("SAME_UPPER"), "dilations": .ints([2])])
        assertFloats(y, [4, 2, 4], shape: [1, 1, 3])
    }

    func testConvGroupsAndDepthwise() throws {
        // Two groups of one channel each: channel 0 (1…4) · [1, 2, 1, 1], channel 1 (5…8) · [3, 1, 1, 0].
        let y = try run(.conv, [iota([1, 2, 2, 2]), f([2, 1, 2, 2], [1, 2, 1, 1, 3, 1, 1, 0])], ["group": .int(2)])
        assertFloats(y, [12, 28], shape: [1, 2, 1, 1])
        // Depth multiplier 2: group 1, channel 0 feeds outputs 0 and 1.
        let y2 = try run(.conv, [iota([1, 1, 3]), f([2, 1, 1], [1, -1])], ["group": .int(1)])
        assertFloats(y2, [1, 2, 3, -1, -2, -3], shape: [1, 2, 3])
    }

    func testConv3DAndBatch() throws {
        // W spans depth: y = x[d] - x[d+1] with one padding plane on each side of W.
        let y = try run(.conv, [iota([1, 1, 2, 2, 2]), f([1, 1, 2, 1, 1], [1, -1])], ["pads": .ints([0, 0, 1, 0, 0, 1])])
        assertFloats(y, [0, -4, -4, 0, 0, -4, -4, 0], shape: [1, 1, 1, 2, 4])
        // Batch of two with a 1×1 kernel scales each sample.
        let y2 = try run(.conv, [iota([2, 1, 1, 2]), f([1, 1, 1, 1], [3])])
        assertFloats(y2, [3, 6, 9, 12], shape: [2, 1, 1, 2])
    }

    func testConvShapeErrors() {
        assertError(.invalidModel, "input channels") {
            _ = try self.infer(.conv, [self.info([1, 3, 5, 5]), self.info([4, 2, 3, 3])])
        }
        assertError(.invalidModel, "kernel_shape") {
            _ = try self.infer(.conv, [self.info([1, 3, 5, 5]), self.info([4, 3, 3, 3])], ["kernel_shape": .ints([2, 2])])
        }
        assertError(.invalidModel, "larger than the padded input") {
            _ = try self.infer(.conv, [self.info([1, 3, 2, 2]), self.info([4, 3, 3, 3])])
        }
        assertError(.invalidModel, "bias") {
            _ = try self.infer(.conv, [self.info([1, 3, 5, 5]), self.info([4, 3, 3, 3]), self.info([3])])
        }
        assertError(.invalidModel, "auto_pad") {
            _ = try self.infer(.conv, [self.info([1, 3, 5, 5]), self.info([4, 3, 3, 3])], ["auto_pad": .string("SAME")])
        }
        assertError(.invalidModel, "strides") {
            _ = try self.infer(.conv, [self.info([1, 3, 5, 5]), self.info([4, 3, 3, 3])], ["strides": .ints([1, 1, 1])])
        }
        assertError(.invalidModel, "floating-point") {
            _ = try self.infer(.conv, [self.info([1, 3, 5, 5], .i64), self.info([4, 3, 3, 3], .i64)])
        }
    }

    // MARK: - ConvTranspose

    func testConvTransposeStrideAndPadding() throws {
        // Stride 2, no overlap: each input element stamps x · W into its own 2×2 block.
        let y = try run(.convTranspose, [iota([1, 1, 2, 2]), f([1, 1, 2, 2], [1, 2, 3, 4])], ["strides": .ints([2, 2])])
        assertFloats(y, [1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16], shape: [1, 1, 4, 4])
        // 1-D: full output [1, 1, 3, 2, 5, 3, 3, 0] (output_padding adds the last), cropped by pads 1/1.
        let y2 = try run(.convTranspose, [iota([1, 1, 3]), f([1, 1, 3], [1, 1, 1])],
                         ["strides": .ints([2]), "pads": .ints([1, 1]), "output_padding": .ints([1])])
        assertFloats(y2, [1, 3, 2, 5, 3, 3], shape: [1, 1, 6])
        // Dilation 2 spreads the kernel taps.
        assertFloats(try run(.convTranspose, [iota([1, 1, 2]), f([1, 1, 2], [1, 2])], ["dilations": .ints([2])]),
                     [1, 2, 2, 4], shape: [1, 1, 4])
    }

    func testConvTransposeOutputShapeAndAutoPad() throws {
        let x = iota([1, 1, 3])
        // output_shape 6 of a full length 7: the odd padding goes to the start (NOTSET), plus bias.
        let y = try run(.convTranspose, [x, f([1, 1, 3], [1, 1, 1]), f([1], [10])],
                        ["strides": .ints([2]), "output_shape": .ints([6])])
        assertFloats(y, [11, 13, 12, 15, 13, 13], shape: [1, 1, 6])
        // SAME_*: output = input · stride; full output [1, 2, 5, 4, 9, 6, 9].
        let w = f([1, 1, 3], [1, 2, 3])
        assertFloats(try run(.convTranspose, [x, w], ["strides": .ints([2]), "auto_pad": .string("SAME_UPPER")]),
                     [1, 2, 5, 4, 9, 6], shape: [1, 1, 6])
        assertFloats(try run(.convTranspose, [x, w], ["strides": .ints([2]), "auto_pad": .string("SAME_LOWER")]),
                     [2, 5, 4, 9, 6, 9], shape: [1, 1, 6])
    }

    func testConvTransposeGroups() throws {
        // Group 2: channel 0 (1, 2) with [1, 2], channel 1 (3, 4) with [3, 4].
        let y = try run(.convTranspose, [iota([1, 2, 2]), f([2, 1, 2], [1, 2, 3, 4])], ["group": .int(2)])
        assertFloats(y, [1, 4, 4, 9, 24, 16], shape: [1, 2, 3])
        assertError(.invalidModel, "channels") {
            _ = try self.infer(.convTranspose, [self.info([1, 2, 3, 3]), self.info([3, 1, 2, 2])])
        }
    }

    // MARK: - Normalization

    func testBatchNormalization() throws {
        let x = f([1, 2, 2, 2], [1, -2, 3, 4, 5, 6, -7, 8])
        let y = try run(.batchNormalization, [x, f([2], [1, 2]), f([2], [0, 1]), f([2], [1, 2]), f([2], [4, 0.25])],
                        ["epsilon": .float(0)], opset: 15)
        // Channel 0: (x - 1) / 2; channel 1: (x - 2) / 0.5 · 2 + 1.
        assertFloats(y, [0, -1.5, 1, 1.5, 13, 17, -35, 25], shape: [1, 2, 2, 2])
        // Rank-2 input [N, C].
        let y2 = try run(.batchNormalization, [f([2, 1], [3, 5]), f([1], [2]), f([1], [1]), f([1], [1]), f([1], [1])],
                         ["epsilon": .float(0)], opset: 9)
        assertFloats(y2, [5, 9], shape: [2, 1])
    }

    func testBatchNormalizationRefusals() {
        let infos = [info([1, 2, 3]), info([2]), info([2]), info([2]), info([2])]
        assertError(.unsupported, "training_mode") {
            _ = try self.infer(.batchNormalization, infos, ["training_mode": .int(1)], opset: 15)
        }
        assertError(.unsupported, "output 1") {
            _ = try self.infer(.batchNormalization, infos, opset: 9, outputs: 3)
        }
        assertError(.invalidModel, "input_var") {
            _ = try self.infer(.batchNormalization, [info([1, 2, 3]), info([2]), info([2]), info([2]), info([3])])
        }
    }

    func testInstanceNormalization() throws {
        let y = try run(.instanceNormalization, [f([1, 2, 4], [1, 2, 3, 4, 0, 0, 4, 4]), f([2], [1, 2]), f([2], [0, 1])],
                        ["epsilon": .float(0)])
        // Channel 0: mean 2.5, variance 1.25; channel 1: mean 2, std 2, then ·2 + 1.
        assertFloats(y, [-1.3416408, -0.4472136, 0.4472136, 1.3416408, -1, -1, 3, 3], shape: [1, 2, 4])
        assertError(.invalidModel, "scale") {
            _ = try self.infer(.instanceNormalization, [self.info([1, 2, 4]), self.info([3]), self.info([2])])
        }
    }

    // MARK: - MatMul / Gemm

    func testMatMul() throws {
        // 1-D · 1-D is a scalar.
        assertFloats(try run(.matMul, [f([3], [1, 2, 3]), f([3], [4, 5, 6])]), [32], shape: [])
        // 1-D first operand is a row vector, broadcast against the batch of B.
        assertFloats(try run(.matMul, [f([2], [1, 2]), iota([2, 2, 3])]), [9, 12, 15, 27, 30, 33], shape: [2, 3])
        // Batch dims [2, 1] and [] broadcast; second operand 2-D.
        assertFloats(try run(.matMul, [iota([2, 1, 2, 3]), f([3, 2], [1, 0, 0, 1, 1, 1])]),
                     [4, 5, 10, 11, 16, 17, 22, 23], shape: [2, 1, 2, 2])
        // 1-D second operand is a column vector.
        assertFloats(try run(.matMul, [iota([2, 2, 3]), f([3], [1, 0, -1])]), [-2, -2, -2, -2], shape: [2, 2])
        // Integer data stays integer.
        let yi = try run(.matMul, [i64([2, 2], [1, 2, 3, 4]), i64([2, 1], [5, -1])])
        XCTAssertEqual(yi.dtype, .i64)
        XCTAssertEqual(yi.ints, [3, 11])
        assertError(.invalidModel, "inner dimensions") {
            _ = try self.infer(.matMul, [self.info([2, 3]), self.info([4, 2])])
        }
        assertError(.invalidModel, "batch dimensions") {
            _ = try self.infer(.matMul, [self.info([2, 2, 3]), self.info([3, 3, 1])])
        }
    }

    func testGemm() throws {
        // A' = Aᵀ (2×3), alpha 0.5, no C.
        assertFloats(try run(.gemm, [iota([3, 2]), iota([3, 2])], ["transA": .int(1), "alpha": .float(0.5)]),
                     [17.5, 22, 22, 28], shape: [2, 2])
        // B' = Bᵀ, C [N] broadcast over rows with beta 2.
        assertFloats(try run(.gemm, [iota([2, 3]), iota([2, 3]), f([2], [1, 2])], ["transB": .int(1), "beta": .float(2)]),
                     [16, 36, 34, 81], shape: [2, 2])
        // C [M, 1] broadcast over columns, and a scalar C.
        assertFloats(try run(.gemm, [iota([2, 3]), iota([3, 2]), f([2, 1], [1, -1])]), [23, 29, 48, 63])
        assertFloats(try run(.gemm, [iota([2, 3]), iota([3, 2]), f([], [5])]), [27, 33, 54, 69])
        assertError(.invalidModel, "does not broadcast") {
            _ = try self.infer(.gemm, [self.info([2, 3]), self.info([3, 2]), self.info([3])])
        }
        assertError(.invalidModel, "inner dimensions") {
            _ = try self.infer(.gemm, [self.info([2, 3]), self.info([3, 2])], ["transB": .int(1)])
        }
    }

    // MARK: - Pooling

    func testMaxPool() throws {
        // ceil_mode keeps the partial windows at the right and bottom.
        let x = f([1, 1, 3, 3], [1, 5, 3, 4, 2, 6, 7, 9, 8])
        assertFloats(try run(.maxPool, [x], ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2]), "ceil_mode": .int(1)]),
                     [5, 6, 9, 8], shape: [1, 1, 2, 2])
        assertFloats(try run(.maxPool, [x], ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])]), [5], shape: [1, 1, 1, 1])
        // Padding never wins, even over negative values.
        assertFloats(try run(.maxPool, [f([1, 1, 5], [-1, -5, -3, -4, -2])], ["kernel_shape": .ints([2]), "pads": .ints([1, 1])]),
                     [-1, -1, -3, -3, -2, -2], shape: [1, 1, 6])
        // Dilation 2: max of x[i], x[i+2].
        assertFloats(try run(.maxPool, [f([1, 1, 6], [1, 5, 3, 4, 2, 6])], ["kernel_shape": .ints([2]), "dilations": .ints([2])]),
                     [3, 5, 3, 6], shape: [1, 1, 4])
        // ceil_mode drops a window that would start in the end padding: 3 outputs, not 4.
        assertFloats(try run(.maxPool, [iota([1, 1, 5])],
                             ["kernel_shape": .ints([2]), "strides": .ints([2]), "pads": .ints([1, 1]), "ceil_mode": .int(1)]),
                     [1, 3, 5], shape: [1, 1, 3])
        // uint8 data keeps its type.
        let yu = try run(.maxPool, [i64([1, 1, 4], [3, 200, 7, 9], .u8)], ["kernel_shape": .ints([2]), "strides": .ints([2])])
        XCTAssertEqual(yu.dtype, .u8)
        XCTAssertEqual(yu.ints, [200, 9])
    }

    func testMaxPoolRefusals() {
        assertError(.unsupported, "Indices") {
            _ = try self.infer(.maxPool, [self.info([1, 1, 4, 4])], ["kernel_shape": .ints([2, 2])], outputs: 2)
        }
        assertError(.unsupported, "storage_order") {
            _ = try self.infer(.maxPool, [self.info([1, 1, 4, 4])], ["kernel_shape": .ints([2, 2]), "storage_order": .int(1)])
        }
        assertError(.invalidModel, "kernel_shape") {
            _ = try self.infer(.maxPool, [self.info([1, 1, 4, 4])])
        }
        assertError(.invalidModel, "kernel_shape") {
            _ = try self.infer(.maxPool, [self.info([1, 1, 4, 4])], ["kernel_shape": .ints([2])])
        }
    }

    func testAveragePool() throws {
        let x = f([1, 1, 4], [1, 2, 3, 4])
        // count_include_pad 0 divides by the covered elements, 1 by the whole (padded) window.
        assertFloats(try run(.averagePool, [x], ["kernel_shape": .ints([3]), "pads": .ints([1, 1])]),
                     [1.5, 2, 3, 3.5], shape: [1, 1, 4])
        assertFloats(try run(.averagePool, [x], ["kernel_shape": .ints([3]), "pads": .ints([1, 1]), "count_include_pad": .int(1)]),
                     [1, 2, 3, 2.3333333], shape: [1, 1, 4])
        // ceil_mode: the last window covers only x[4] and averages over it alone.
        assertFloats(try run(.averagePool, [iota([1, 1, 5])], ["kernel_shape": .ints([2]), "strides": .ints([2]), "ceil_mode": .int(1)]),
                     [1.5, 3.5, 5], shape: [1, 1, 3])
        // SAME_UPPER pads right and bottom; count_include_pad counts that padding.
        let x2 = iota([1, 1, 3, 3])
        assertFloats(try run(.averagePool, [x2], ["kernel_shape": .ints([2, 2]), "auto_pad": .string("SAME_UPPER")]),
                     [3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9], shape: [1, 1, 3, 3])
        assertFloats(try run(.averagePool, [x2], ["kernel_shape": .ints([2, 2]), "auto_pad": .string("SAME_UPPER"),
                                                   "count_include_pad": .int(1)]),
                     [3, 4, 2.25, 6, 7, 3.75, 3.75, 4.25, 2.25], shape: [1, 1, 3, 3])
    }

    func testGlobalPools() throws {
        assertFloats(try run(.globalAveragePool, [iota([1, 2, 2, 2])]), [2.5, 6.5], shape: [1, 2, 1, 1])
        assertFloats(try run(.globalMaxPool, [f([2, 2, 2], [1, -2, 3, -4, -5, -6, -7, -8])]), [1, 3, -5, -7], shape: [2, 2, 1])
        assertError(.invalidModel, "floating-point") {
            _ = try self.infer(.globalMaxPool, [self.info([1, 2, 2], .i64)])
        }
    }

    // MARK: - Softmax

    func testSoftmaxOpsetSemantics() throws {
        let x = f([2, 2, 2], [0, 1, 2, 3, 1, 1, 1, 1])
        // Opset 11: rows of 4 (axis 1 flattens [2, 2]).
        assertFloats(try run(.softmax, [x], opset: 11),
                     [0.0320586, 0.08714432, 0.2368828, 0.6439143, 0.25, 0.25, 0.25, 0.25], shape: [2, 2, 2])
        // Opset 13, axis 1: pairs (0, 2), (1, 3), …
        assertFloats(try run(.softmax, [x], ["axis": .int(1)], opset: 13),
                     [0.1192029, 0.1192029, 0.880797, 0.880797, 0.5, 0.5, 0.5, 0.5])
        // Opset 13 default axis -1.
        assertFloats(try run(.softmax, [x], opset: 13), [0.2689414, 0.7310586, 0.2689414, 0.7310586, 0.5, 0.5, 0.5, 0.5])
        // Large inputs do not overflow.
        assertFloats(try run(.softmax, [f([2], [1000, 1000])], opset: 13), [0.5, 0.5])
        assertError(.invalidModel, "axis 3") { _ = try self.infer(.softmax, [self.info([2, 2, 2])], ["axis": .int(3)], opset: 13) }
    }

    // MARK: - Reductions

    func testReduceSumAxesAttributeAndInput() throws {
        let x = iota([2, 3])
        assertFloats(try run(.reduceSum, [x], ["axes": .ints([1])], opset: 11), [6, 15], shape: [2, 1])
        assertFloats(try run(.reduceSum, [x, i64([1], [0])], ["keepdims": .int(0)], opset: 13), [5, 7, 9], shape: [3])
        // No axes: everything, keeping rank; noop_with_empty_axes makes it an identity.
        assertFloats(try run(.reduceSum, [x], opset: 13), [21], shape: [1, 1])
        assertFloats(try run(.reduceSum, [x], ["noop_with_empty_axes": .int(1)], opset: 13), [1, 2, 3, 4, 5, 6], shape: [2, 3])
        // Integer data.
        let yi = try run(.reduceSum, [i64([2, 2], [1, 2, 3, 4])], ["keepdims": .int(0)], opset: 11)
        XCTAssertEqual(yi.shape, [])
        XCTAssertEqual(yi.ints, [10])
    }

    func testReduceMeanMaxMin() throws {
        assertFloats(try run(.reduceMean, [iota([2, 2, 2])], ["axes": .ints([0, 2]), "keepdims": .int(0)], opset: 17),
                     [3.5, 5.5], shape: [2])
        assertFloats(try run(.reduceMean, [iota([2, 2, 2]), i64([1], [-1])], opset: 18), [1.5, 3.5, 5.5, 7.5], shape: [2, 2, 1])
        let yi = try run(.reduceMax, [i64([2, 3], [3, -7, 2, 9, 0, -1])], ["axes": .ints([1])], opset: 13)
        XCTAssertEqual(yi.shape, [2, 1])
        XCTAssertEqual(yi.ints, [3, 9])
        assertFloats(try run(.reduceMin, [f([2, 3], [3, -7, 2, 9, 0, -1])], ["keepdims": .int(0)], opset: 18), [-7], shape: [])
        // Integer mean truncates toward zero.
        XCTAssertEqual(try run(.reduceMean, [i64([2, 3], [3, -7, 2, 9, 0, -2])], ["axes": .ints([1]), "keepdims": .int(0)], opset: 13).ints,
                       [0, 2])
    }

    func testReduceErrors() {
        assertError(.unsupported, "computable before run time") {
            _ = try self.infer(.reduceSum, [self.info([2, 3]), self.info([1], .i64)], opset: 13)
        }
        assertError(.invalidModel, "repeated") {
            _ = try self.infer(.reduceMax, [self.info([2, 3])], ["axes": .ints([1, -1])], opset: 13)
        }
        assertError(.invalidModel, "out of range") {
            _ = try self.infer(.reduceMin, [self.info([2, 3])], ["axes": .ints([2])], opset: 13)
        }
        assertError(.invalidModel, "replaced by input") {
            _ = try self.infer(.reduceMean, [self.info([2, 3])], ["axes": .ints([0])], opset: 18)
        }
        assertError(.invalidModel, "requires opset 13") {
            _ = try self.infer(.reduceSum, [self.info([2, 3]), ValueInfo(self.i64([1], [0]))], opset: 11)
        }
    }

    // MARK: - Resize / Upsample

    func testResizeNearest() throws {
        let x = f([1, 1, 2, 2], [1, 2, 3, 4])
        assertFloats(try run(.resize, [x, nil, f([4], [1, 1, 2, 2])],
                             ["mode": .string("nearest"), "coordinate_transformation_mode": .string("asymmetric"),
                              "nearest_mode": .string("floor")], opset: 13),
                     [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], shape: [1, 1, 4, 4])
        // Downscale 5 → floor(5 · 0.6) = 3 with half_pixel: coordinates 0.33, 2, 3.67 → 0, 2, 4.
        assertFloats(try run(.resize, [iota([1, 1, 5]), nil, f([3], [1, 1, 0.6])], opset: 13), [1, 3, 5], shape: [1, 1, 3])
        // tf_half_pixel_for_nn: (o + 0.5) / scale, here with the ceil rule.
        assertFloats(try run(.resize, [iota([1, 1, 5]), f([0], []), f([3], [1, 1, 2])],
                             ["coordinate_transformation_mode": .string("tf_half_pixel_for_nn"),
                              "nearest_mode": .string("ceil")], opset: 11),
                     [2, 2, 3, 3, 4, 4, 5, 5, 5, 5], shape: [1, 1, 10])
        // uint8 data keeps its type.
        let yu = try run(.resize, [i64([1, 1, 3], [10, 20, 30], .u8), nil, f([3], [1, 1, 2])], opset: 13)
        XCTAssertEqual(yu.dtype, .u8)
        XCTAssertEqual(yu.ints, [10, 10, 20, 20, 30, 30])
    }

    func testResizeLinear() throws {
        let x = f([1, 1, 2, 2], [1, 2, 3, 4])
        assertFloats(try run(.resize, [x, nil, f([4], [1, 1, 2, 2])], ["mode": .string("linear")], opset: 13),
                     [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], shape: [1, 1, 4, 4])
        assertFloats(try run(.resize, [x, nil, f([4], [1, 1, 2, 2])],
                             ["mode": .string("linear"), "coordinate_transformation_mode": .string("align_corners")], opset: 13),
                     [1, 1.3333333, 1.6666667, 2, 1.6666667, 2, 2.3333333, 2.6666667,
                      2.3333333, 2.6666667, 3, 3.3333333, 3, 3.3333333, 3.6666667, 4])
        // sizes instead of scales: H 2 → 3 (pytorch_half_pixel), W 2 → 1 (pytorch_half_pixel maps a length-1 axis to 0).
        assertFloats(try run(.resize, [x, nil, nil, i64([4], [1, 1, 3, 1])],
                             ["mode": .string("linear"), "coordinate_transformation_mode": .string("pytorch_half_pixel")], opset: 13),
                     [1, 2, 3], shape: [1, 1, 3, 1])
        // half_pixel_symmetric (opset 19).
        assertFloats(try run(.resize, [iota([1, 1, 4]), nil, f([3], [1, 1, 0.75])],
                             ["mode": .string("linear"), "coordinate_transformation_mode": .string("half_pixel_symmetric")], opset: 19),
                     [1.1666667, 2.5, 3.8333333], shape: [1, 1, 3])
    }

    func testResizeOpset10AndAxes() throws {
        // Opset 10: asymmetric coordinates; nearest truncates when enlarging and rounds up when shrinking.
        assertFloats(try run(.resize, [iota([1, 1, 5]), f([3], [1, 1, 0.6])], ["mode": .string("nearest")], opset: 10),
                     [1, 3, 5], shape: [1, 1, 3])
        assertFloats(try run(.resize, [iota([1, 1, 3]), f([3], [1, 1, 2])], ["mode": .string("linear")], opset: 10),
                     [1, 1.5, 2, 2.5, 3, 3], shape: [1, 1, 6])
        // Opset 18 axes: scales cover axis 2 only.
        assertFloats(try run(.resize, [iota([1, 2, 3]), nil, f([1], [2])],
                             ["axes": .ints([2]), "coordinate_transformation_mode": .string("asymmetric")], opset: 18),
                     [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6], shape: [1, 2, 6])
    }

    func testResizeRefusals() {
        let x = info([1, 1, 2, 2])
        let scales = ValueInfo(f([4], [1, 1, 2, 2]))
        assertError(.unsupported, "cubic") {
            _ = try self.infer(.resize, [x, nil, scales], ["mode": .string("cubic")], opset: 13)
        }
        assertError(.unsupported, "tf_crop_and_resize") {
            _ = try self.infer(.resize, [x, nil, scales], ["coordinate_transformation_mode": .string("tf_crop_and_resize")], opset: 13)
        }
        assertError(.unsupported, "antialias") {
            _ = try self.infer(.resize, [x, nil, scales], ["antialias": .int(1)], opset: 18)
        }
        assertError(.unsupported, "keep_aspect_ratio_policy") {
            _ = try self.infer(.resize, [x, nil, scales], ["keep_aspect_ratio_policy": .string("not_larger")], opset: 18)
        }
        assertError(.unsupported, "computable before run time") {
            _ = try self.infer(.resize, [x, nil, self.info([4])], opset: 13)
        }
        assertError(.invalidModel, "only one of") {
            _ = try self.infer(.resize, [x, nil, scales, ValueInfo(self.i64([4], [1, 1, 4, 4]))], opset: 13)
        }
        assertError(.invalidModel, "'scales' has 3 values") {
            _ = try self.infer(.resize, [x, nil, ValueInfo(self.f([3], [1, 2, 2]))], opset: 13)
        }
        assertError(.invalidModel, "nearest_mode") {
            _ = try self.infer(.resize, [x, nil, scales], ["nearest_mode": .string("round")], opset: 13)
        }
    }

    func testUpsample() throws {
        let x = f([1, 1, 2, 2], [1, 2, 3, 4])
        // Opset 9: scales input; nearest picks floor(o / scale).
        assertFloats(try run(.upsample, [x, f([4], [1, 1, 2, 1.5])], ["mode": .string("nearest")], opset: 9),
                     [1, 1, 2, 1, 1, 2, 3, 3, 4, 3, 3, 4], shape: [1, 1, 4, 3])
        // Opset 7: scales attribute; linear with asymmetric coordinates.
        assertFloats(try run(.upsample, [x], ["mode": .string("linear"), "scales": .floats([1, 1, 2, 2])], opset: 7),
                     [1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4], shape: [1, 1, 4, 4])
        assertFloats(try run(.upsample, [iota([1, 1, 3]), f([3], [1, 1, 2.5])], ["mode": .string("linear")], opset: 9),
                     [1, 1.4, 1.8, 2.2, 2.6, 3, 3], shape: [1, 1, 7])
        assertError(.invalidModel, ">= 1") {
            _ = try self.infer(.upsample, [ValueInfo(x), ValueInfo(self.f([4], [1, 1, 0.5, 1]))], opset: 9)
        }
        assertError(.invalidModel, "scales") {
            _ = try self.infer(.upsample, [ValueInfo(x)], opset: 8)
        }
        assertError(.unsupported, "computable before run time") {
            _ = try self.infer(.upsample, [ValueInfo(x), self.info([4])], opset: 9)
        }
    }
}
