import XCTest
import UnirtIR

/// Unit tests of the elementwise operators: shape inference, validation and
/// reference kernels on small hand-checked cases.
final class ElementwiseOpsTests: XCTestCase {

    // MARK: - Helpers

    private func makeNode(_ op: OpKind, _ inputs: [Tensor?], outputs: Int = 1,
                          _ attributes: [String: Attribute] = [:], opset: Int = 17) -> Node {
        Node(name: "n", op: op,
             inputs: inputs.enumerated().map { $0.element == nil ? "" : "in\($0.offset)" },
             outputs: (0..<outputs).map { "out\($0)" },
             attributes: attributes, opset: opset)
    }

    /// Checks, infers shapes and runs the reference kernel; every input is known as a constant.
    private func run(_ op: OpKind, _ inputs: [Tensor?], outputs: Int = 1,
                     _ attributes: [String: Attribute] = [:], opset: Int = 17,
                     file: StaticString = #filePath, line: UInt = #line) throws -> [Tensor] {
        let node = makeNode(op, inputs, outputs: outputs, attributes, opset: opset)
        try op.check(node)
        let infos = try op.definition.inferShapes(node, inputs.map { $0.map { ValueInfo($0) } })
        let result = op.definition.reference(node, inputs, infos)
        XCTAssertEqual(result.count, infos.count, "output count", file: file, line: line)
        for (t, info) in zip(result, infos) {
            XCTAssertEqual(t.shape, info.shape, "reference shape differs from inferred shape", file: file, line: line)
            XCTAssertEqual(t.dtype, info.dtype, "reference dtype differs from inferred dtype", file: file, line: line)
        }
        return result
    }

    private func run1(_ op: OpKind, _ inputs: [Tensor?], _ attributes: [String: Attribute] = [:], opset: Int = 17,
                      file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
        try run(op, inputs, attributes, opset: opset, file: file, line: line)[0]
    }

    private func f(_ shape: [Int], _ v: [Float], _ dtype: DType = .f32) -> Tensor {
        Tensor(shape: shape, floats: v, dtype: dtype)
    }

    private func i(_ shape: [Int], _ v: [Int64], _ dtype: DType = .i64) -> Tensor {
        Tensor(shape: shape, ints: v, dtype: dtype)
    }

    private func b(_ shape: [Int], _ v: [Bool]) -> Tensor {
        Tensor(shape: shape, ints: v.map { $0 ? 1 : 0 }, dtype: .bool)
    }

    private func assertFloats(_ t: Tensor, _ expected: [Float], shape: [Int]? = nil, accuracy: Float = 1e-6,
                              file: StaticString = #filePath, line: UInt = #line) {
        if let shape { XCTAssertEqual(t.shape, shape, file: file, line: line) }
        let v = t.floats
        XCTAssertEqual(v.count, expected.count, "element count", file: file, line: line)
        for (k, (a, e)) in zip(v, expected).enumerated() {
            if e.isNaN {
                XCTAssertTrue(a.isNaN, "element \(k): \(a) is not NaN", file: file, line: line)
            } else if e.isInfinite {
                XCTAssertEqual(a, e, "element \(k)", file: file, line: line)
            } else {
                XCTAssertEqual(a, e, accuracy: accuracy * Swift.max(1, Swift.abs(e)), "element \(k)", file: file, line: line)
            }
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

    private func inferError(_ op: OpKind, _ infos: [ValueInfo?], _ attributes: [String: Attribute] = [:],
                            opset: Int = 17, outputs: Int = 1) throws {
        let node = Node(name: "n", op: op,
                        inputs: infos.enumerated().map { $0.element == nil ? "" : "in\($0.offset)" },
                        outputs: (0..<outputs).map { "out\($0)" }, attributes: attributes, opset: opset)
        try op.check(node)
        _ = try op.definition.inferShapes(node, infos)
    }

    // MARK: - Unary

    func testAbs() throws {
        assertFloats(try run1(.abs, [f([2, 2], [-1.5, 0, 2, -0])]), [1.5, 0, 2, 0], shape: [2, 2])
        let r = try run1(.abs, [i([3], [-3, 4, -128], .i8)])
        XCTAssertEqual(r.dtype, .i8)
        XCTAssertEqual(r.ints, [3, 4, -128])  // |-128| wraps in int8
        XCTAssertEqual(try run1(.abs, [i([1], [Int64.min])]).ints, [Int64.min])
    }

    func testNeg() throws {
        assertFloats(try run1(.neg, [f([3], [1, -2, 0])]), [-1, 2, -0])
        XCTAssertEqual(try run1(.neg, [i([2], [5, -7], .i32)]).ints, [-5, 7])
        assertError(.invalidModel, "u8") { try inferError(.neg, [ValueInfo(dtype: .u8, shape: [2])]) }
    }

    func testCeilFloor() throws {
        let x = f([5], [-1.5, -0.5, 0.2, 1.0, 2.7])
        assertFloats(try run1(.ceil, [x]), [-1, -0, 1, 1, 3])
        assertFloats(try run1(.floor, [x]), [-2, -1, 0, 1, 2])
        assertError(.invalidModel, "floating-point") { try inferError(.floor, [ValueInfo(dtype: .i64, shape: [2])]) }
    }

    func testReciprocalSqrt() throws {
        assertFloats(try run1(.reciprocal, [f([4], [2, -4, 0.5, 0])]), [0.5, -0.25, 2, .infinity])
        assertFloats(try run1(.sqrt, [f([5], [0, 1, 2, 9, -1])]), [0, 1, 1.4142135, 3, .nan])
    }

    func testExpLog() throws {
        let x = f([2, 3], [-2.5, -1, 0, 0.5, 1.5, 3])
        assertFloats(try run1(.exp, [x]), [0.082085006, 0.36787942, 1, 1.6487212, 4.481689, 20.085537],
                     shape: [2, 3])
        assertFloats(try run1(.log, [f([5], [0.5, 1, 2, 10, 0])]),
                     [-0.6931472, 0, 0.6931472, 2.3025851, -.infinity])
    }

    func testSigmoidTanh() throws {
        let x = f([6], [-2.5, -1, 0, 0.5, 1.5, 3])
        assertFloats(try run1(.sigmoid, [x]), [0.07585818, 0.26894143, 0.5, 0.62245935, 0.8175745, 0.95257413])
        assertFloats(try run1(.tanh, [x]), [-0.9866143, -0.7615942, 0, 0.4621172, 0.9051482, 0.9950548])
        // No overflow to NaN at the extremes.
        assertFloats(try run1(.sigmoid, [f([2], [-1000, 1000])]), [0, 1])
    }

    func testHardSigmoid() throws {
        let x = f([6], [-2.5, -1, 0, 0.5, 1.5, 3])
        assertFloats(try run1(.hardSigmoid, [x]), [0, 0.3, 0.5, 0.6, 0.8, 1])
        assertFloats(try run1(.hardSigmoid, [x], ["alpha": .float(0.5), "beta": .float(0.1)]),
                     [0, 0, 0.1, 0.35, 0.85, 1])
        assertError(.invalidModel, "alpha") { try inferError(.hardSigmoid, [ValueInfo(dtype: .f32, shape: [1])], ["alpha": .string("x")]) }
    }

    func testHardSwish() throws {
        assertFloats(try run1(.hardSwish, [f([7], [-4, -3, -1, 0, 1, 3, 4])], opset: 14),
                     [0, 0, -0.33333334, 0, 0.6666667, 3, 4])
        assertFloats(try run1(.hardSwish, [f([2], [0.5, 1.5])], opset: 14), [0.29166666, 1.125])
    }

    func testLeakyRelu() throws {
        let x = f([1, 2, 2], [-2, -0.5, 0, 3])
        assertFloats(try run1(.leakyRelu, [x]), [-0.02, -0.005, 0, 3], shape: [1, 2, 2])
        assertFloats(try run1(.leakyRelu, [x], ["alpha": .float(0.1)]), [-0.2, -0.05, 0, 3])
    }

    func testIdentity() throws {
        let x = i([2, 1], [7, -1], .i32)
        let r = try run1(.identity, [x])
        XCTAssertEqual(r.dtype, .i32)
        XCTAssertEqual(r.ints, [7, -1])
        XCTAssertEqual(try run1(.identity, [f([], [2.5])]).floats, [2.5])
    }

    // MARK: - PRelu, Clip

    func testPReluChannelSlope() throws {
        // x [1,2,2,2], slope [2,1,1]: one slope per channel.
        let x = f([1, 2, 2, 2], [-1, 2, -3, 4, -1, 2, -3, 4])
        let slope = f([2, 1, 1], [0.1, 0.5])
        assertFloats(try run1(.pRelu, [x, slope]), [-0.1, 2, -0.3, 4, -0.5, 2, -1.5, 4], shape: [1, 2, 2, 2])
        // A 1-D slope aligns with the last axis (right-aligned broadcasting).
        let x2 = f([2, 3], [-1, -1, -1, 1, -2, -3])
        assertFloats(try run1(.pRelu, [x2, f([3], [1, 2, 3])]), [-1, -2, -3, 1, -4, -9])
        // Scalar slope, integer data.
        XCTAssertEqual(try run1(.pRelu, [i([3], [-4, 0, 5]), i([1], [3])]).ints, [-12, 0, 5])
    }

    func testPReluRejectsSlopeThatWouldGrowX() {
        assertError(.invalidModel, "unidirectionally") {
            try inferError(.pRelu, [ValueInfo(dtype: .f32, shape: [1, 3, 4, 4]), ValueInfo(dtype: .f32, shape: [3])])
        }
        assertError(.invalidModel, "unidirectionally") {
            try inferError(.pRelu, [ValueInfo(dtype: .f32, shape: [3]), ValueInfo(dtype: .f32, shape: [2, 3])])
        }
    }

    func testClipAttributesBeforeOpset11() throws {
        let x = f([5], [-3, -1, 0, 2, 7])
        assertFloats(try run1(.clip, [x], ["min": .float(-1), "max": .float(2)], opset: 6), [-1, -1, 0, 2, 2])
        assertFloats(try run1(.clip, [x], ["max": .float(0.5)], opset: 9), [-3, -1, 0, 0.5, 0.5])
        // Defaults are the f32 limits: +inf becomes the largest finite float.
        assertFloats(try run1(.clip, [f([1], [.infinity])], opset: 9), [Float.greatestFiniteMagnitude])
        assertError(.invalidModel, "attributes before opset 11") {
            try inferError(.clip, [ValueInfo(dtype: .f32, shape: [1]), ValueInfo(dtype: .f32, shape: [])], opset: 10)
        }
    }

    func testClipInputs() throws {
        let x = f([2, 3], [-3, -1, 0, 2, 7, .nan])
        assertFloats(try run1(.clip, [x, f([], [-1]), f([], [2])]), [-1, -1, 0, 2, 2, .nan], shape: [2, 3])
        assertFloats(try run1(.clip, [x, nil, f([1], [1])]), [-3, -1, 0, 1, 1, .nan])
        assertFloats(try run1(.clip, [f([1], [.infinity])]), [.infinity])
        // min > max: everything becomes max.
        assertFloats(try run1(.clip, [f([3], [-5, 0, 5]), f([], [3]), f([], [1])]), [1, 1, 1])
        // Integers (opset 12+).
        let r = try run1(.clip, [i([4], [-300, -5, 5, 300], .i32), i([], [-10], .i32), i([], [100], .i32)], opset: 13)
        XCTAssertEqual(r.dtype, .i32)
        XCTAssertEqual(r.ints, [-10, -5, 5, 100])
        XCTAssertEqual(try run1(.clip, [i([2], [Int64.min, Int64.max]), i([], [0])]).ints, [0, Int64.max])
    }

    func testClipErrors() {
        assertError(.invalidModel, "scalar") {
            try inferError(.clip, [ValueInfo(dtype: .f32, shape: [4]), ValueInfo(dtype: .f32, shape: [2])])
        }
        assertError(.invalidModel, "type") {
            try inferError(.clip, [ValueInfo(dtype: .f32, shape: [4]), ValueInfo(dtype: .f64, shape: [])])
        }
        assertError(.invalidModel, "replaced by an input") {
            try inferError(.clip, [ValueInfo(dtype: .f32, shape: [4])], ["min": .float(0)], opset: 11)
        }
    }

    // MARK: - Binary arithmetic

    func testSubMulBroadcast() throws {
        let a = f([2, 3], [1, 2, 3, 4, 5, 6])
        let c = f([3], [1, 10, 100])
        assertFloats(try run1(.sub, [a, c]), [0, -8, -97, 3, -5, -94], shape: [2, 3])
        assertFloats(try run1(.mul, [a, c]), [1, 20, 300, 4, 50, 600])
        // [2,1] x [1,3] -> [2,3]
        assertFloats(try run1(.mul, [f([2, 1], [2, 3]), f([1, 3], [1, 2, 3])]), [2, 4, 6, 3, 6, 9], shape: [2, 3])
        // int64 shape arithmetic with a scalar
        XCTAssertEqual(try run1(.mul, [i([3], [1, 3, 224]), i([], [2])]).ints, [2, 6, 448])
        XCTAssertEqual(try run1(.sub, [i([2], [5, 0]), i([], [7])]).ints, [-2, -7])
        // wrapping in the declared width
        XCTAssertEqual(try run1(.mul, [i([1], [100], .i8), i([1], [3], .i8)]).ints, [44])
    }

    func testBinaryErrors() {
        assertError(.invalidModel, "do not broadcast") {
            try inferError(.sub, [ValueInfo(dtype: .f32, shape: [2, 3]), ValueInfo(dtype: .f32, shape: [2])])
        }
        assertError(.invalidModel, "differ") {
            try inferError(.mul, [ValueInfo(dtype: .f32, shape: [2]), ValueInfo(dtype: .i64, shape: [2])])
        }
    }

    func testDiv() throws {
        assertFloats(try run1(.div, [f([4], [7, -7, 1, 0]), f([4], [2, 2, 0, 0])]), [3.5, -3.5, .infinity, .nan])
        // Integer division truncates toward zero; division by zero gives 0.
        XCTAssertEqual(try run1(.div, [i([5], [7, -7, 7, -7, 3]), i([5], [2, 2, -2, -2, 0])]).ints, [3, -3, -3, 3, 0])
        XCTAssertEqual(try run1(.div, [i([2, 2], [224, 112, 56, 28], .i32), i([], [2], .i32)]).ints, [112, 56, 28, 14])
        XCTAssertEqual(try run1(.div, [i([1], [Int64.min]), i([1], [-1])]).ints, [Int64.min])
    }

    func testPow() throws {
        let base = f([2, 3], [1, 2, 3, 4, 5, 6])
        assertFloats(try run1(.pow, [base, f([3], [2, 0.5, -1])]),
                     [1, 1.4142135, 0.33333334, 16, 2.236068, 0.16666667], shape: [2, 3])
        // Integer exponent on a float base (opset 12+); output keeps the base type.
        let r = try run1(.pow, [f([3], [-2, 3, 0.5]), i([], [3])])
        XCTAssertEqual(r.dtype, .f32)
        assertFloats(r, [-8, 27, 0.125])
        // Integer base and exponent.
        XCTAssertEqual(try run1(.pow, [i([4], [2, -3, 1, 5]), i([4], [10, 3, -2, -1])]).ints, [1024, -27, 1, 0])
        // Integer base with a float exponent truncates.
        XCTAssertEqual(try run1(.pow, [i([2], [9, 2], .i32), f([], [0.5])]).ints, [3, 1])
        assertError(.invalidModel, "differ") {
            try inferError(.pow, [ValueInfo(dtype: .f32, shape: [2]), ValueInfo(dtype: .i64, shape: [])], opset: 11)
        }
    }

    // MARK: - Min, Max

    func testMinMaxVariadic() throws {
        let a = f([2, 2], [1, 5, 3, 8])
        let c = f([2], [4, 4])
        let d = f([], [2])
        assertFloats(try run1(.max, [a, c, d]), [4, 5, 4, 8], shape: [2, 2])
        assertFloats(try run1(.min, [a, c, d]), [1, 2, 2, 2], shape: [2, 2])
        // One input: a copy.
        assertFloats(try run1(.max, [a]), [1, 5, 3, 8])
        // NaN propagates.
        assertFloats(try run1(.min, [f([2], [.nan, 1]), f([2], [0, .nan])]), [.nan, .nan])
        // Broadcasting grows the shape: [3,1] and [1,2].
        XCTAssertEqual(try run1(.max, [i([3, 1], [1, 5, 9]), i([1, 2], [4, 6])]).ints, [4, 6, 5, 6, 9, 9])
        XCTAssertEqual(try run1(.min, [i([3], [1, -5, 9], .i32), i([3], [0, 0, 0], .i32)]).ints, [0, -5, 0])
    }

    func testMinMaxErrors() {
        assertError(.invalidModel, "do not broadcast") {
            try inferError(.max, [ValueInfo(dtype: .f32, shape: [2]), ValueInfo(dtype: .f32, shape: [1]),
                                  ValueInfo(dtype: .f32, shape: [3])])
        }
        assertError(.invalidModel, "has 0 inputs") { try inferError(.min, []) }
    }

    // MARK: - Comparisons, Where

    func testComparisons() throws {
        let a = f([2, 3], [1, 2, 3, 4, 5, 6])
        let c = f([3], [2, 2, 7])
        let eq = try run1(.equal, [a, c])
        XCTAssertEqual(eq.dtype, .bool)
        XCTAssertEqual(eq.shape, [2, 3])
        XCTAssertEqual(eq.ints, [0, 1, 0, 0, 0, 0])
        XCTAssertEqual(try run1(.less, [a, c]).ints, [1, 0, 1, 0, 0, 1])
        XCTAssertEqual(try run1(.greater, [a, c]).ints, [0, 0, 0, 1, 1, 0])
        XCTAssertEqual(try run1(.equal, [i([3], [-1, 0, 4]), i([], [-1])]).ints, [1, 0, 0])
        XCTAssertEqual(try run1(.equal, [b([2], [true, false]), b([2], [true, true])]).ints, [1, 0])
        XCTAssertEqual(try run1(.greater, [i([2], [Int64.max, 0]), i([2], [Int64.max - 1, 0])]).ints, [1, 0])
        // NaN compares unequal.
        XCTAssertEqual(try run1(.equal, [f([1], [.nan]), f([1], [.nan])]).ints, [0])
        assertError(.invalidModel, "differ") {
            try inferError(.less, [ValueInfo(dtype: .i32, shape: [2]), ValueInfo(dtype: .i64, shape: [2])])
        }
    }

    func testWhere() throws {
        let cond = b([2, 1], [true, false])
        let x = f([3], [1, 2, 3])
        let y = f([], [-1])
        assertFloats(try run1(.where, [cond, x, y]), [1, 2, 3, -1, -1, -1], shape: [2, 3])
        let r = try run1(.where, [b([3], [false, true, false]), i([1, 3], [1, 2, 3]), i([2, 1], [7, 8])])
        XCTAssertEqual(r.dtype, .i64)
        XCTAssertEqual(r.shape, [2, 3])
        XCTAssertEqual(r.ints, [7, 2, 7, 8, 2, 8])
        assertError(.invalidModel, "bool") {
            try inferError(.where, [ValueInfo(dtype: .f32, shape: [1]), ValueInfo(dtype: .f32, shape: [1]),
                                    ValueInfo(dtype: .f32, shape: [1])])
        }
        assertError(.invalidModel, "do not broadcast") {
            try inferError(.where, [ValueInfo(dtype: .bool, shape: [4]), ValueInfo(dtype: .f32, shape: [3]),
                                    ValueInfo(dtype: .f32, shape: [1])])
        }
    }

    // MARK: - Cast

    func testCast() throws {
        let x = f([5], [-1.7, 0, 2.9, 300, .nan])
        let toInt = try run1(.cast, [x], ["to": .int(7)])
        XCTAssertEqual(toInt.dtype, .i64)
        XCTAssertEqual(toInt.ints, [-1, 0, 2, 300, 0])
        let toBool = try run1(.cast, [x], ["to": .int(9)])
        XCTAssertEqual(toBool.dtype, .bool)
        XCTAssertEqual(toBool.ints, [1, 0, 1, 1, 1])
        XCTAssertEqual(try run1(.cast, [i([2], [300, -1])], ["to": .int(2)]).ints, [44, 255])
        let toFloat = try run1(.cast, [i([2], [3, -4], .i32)], ["to": .int(1)])
        XCTAssertEqual(toFloat.dtype, .f32)
        XCTAssertEqual(toFloat.floats, [3, -4])
        let toHalf = try run1(.cast, [f([1], [0.1])], ["to": .int(10)])
        XCTAssertEqual(toHalf.dtype, .f16)
        XCTAssertEqual(toHalf.floats, [Float(Float16(0.1))])
        XCTAssertEqual(try run1(.cast, [f([1], [1])], ["to": .int(11), "saturate": .int(1)], opset: 19).dtype, .f64)
    }

    func testCastRefusals() {
        let x = ValueInfo(dtype: .f32, shape: [1])
        assertError(.unsupported, "string") { try inferError(.cast, [x], ["to": .int(8)]) }
        assertError(.unsupported, "bfloat16") { try inferError(.cast, [x], ["to": .int(16)]) }
        assertError(.invalidModel, "required") { try inferError(.cast, [x]) }
        assertError(.invalidModel, "not an ONNX data type") { try inferError(.cast, [x], ["to": .int(99)]) }
    }

    // MARK: - Dropout

    func testDropoutInference() throws {
        let x = f([2, 2], [1, 2, 3, 4])
        let out = try run(.dropout, [x], outputs: 2, ["ratio": .float(0.3)], opset: 10)
        XCTAssertEqual(out[0].floats, [1, 2, 3, 4])
        XCTAssertEqual(out[1].dtype, .bool)
        XCTAssertEqual(out[1].ints, [1, 1, 1, 1])
        // Opset 9: the mask has the input's type.
        let old = try run(.dropout, [x], outputs: 2, opset: 9)
        XCTAssertEqual(old[1].dtype, .f32)
        XCTAssertEqual(old[1].floats, [1, 1, 1, 1])
        // Opset 12+: ratio and training_mode inputs; training_mode false is inference.
        let new = try run(.dropout, [x, f([], [0.5]), b([], [false])], outputs: 2, opset: 13)
        XCTAssertEqual(new[0].floats, [1, 2, 3, 4])
        XCTAssertEqual(new[1].ints, [1, 1, 1, 1])
        XCTAssertEqual(try run(.dropout, [x], opset: 13).count, 1)
    }

    func testDropoutRefusesTraining() {
        let x = ValueInfo(dtype: .f32, shape: [2])
        assertError(.unsupported, "training_mode") {
            try inferError(.dropout, [x, nil, ValueInfo(b([], [true]))], opset: 13)
        }
        assertError(.unsupported, "computable before run time") {
            try inferError(.dropout, [x, nil, ValueInfo(dtype: .bool, shape: [])], opset: 13)
        }
        assertError(.invalidModel, "before opset 12") {
            try inferError(.dropout, [x, ValueInfo(f([], [0.5]))], opset: 11)
        }
    }

    // MARK: - Expand

    func testExpand() throws {
        let x = f([3, 1], [1, 2, 3])
        assertFloats(try run1(.expand, [x, i([3], [2, 1, 4])]),
                     [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], shape: [2, 3, 4])
    }

    func testExpandBidirectional() throws {
        // A shape with fewer dims and 1s keeps the input's larger dims.
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        assertFloats(try run1(.expand, [x, i([1], [1])]), [1, 2, 3, 4, 5, 6], shape: [2, 3])
        assertFloats(try run1(.expand, [x, i([3], [2, 1, 1])]), [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6], shape: [2, 2, 3])
        // int64 data, scalar input, zero-size output.
        XCTAssertEqual(try run1(.expand, [i([], [7]), i([2], [2, 2])]).ints, [7, 7, 7, 7])
        XCTAssertEqual(try run1(.expand, [i([1], [7]), i([2], [0, 1])]).shape, [0, 1])
    }

    func testExpandErrors() {
        let x = ValueInfo(dtype: .f32, shape: [3, 2])
        assertError(.invalidModel, "cannot expand") { try inferError(.expand, [x, ValueInfo(i([2], [3, 4]))]) }
        assertError(.invalidModel, "invalid dimensions") { try inferError(.expand, [x, ValueInfo(i([1], [-1]))]) }
        assertError(.unsupported, "computable before run time") {
            try inferError(.expand, [x, ValueInfo(dtype: .i64, shape: [2])])
        }
    }
}
