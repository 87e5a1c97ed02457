import XCTest
import UnirtIR

/// Hand-checked cases for the tensor-manipulation and quantization operators:
/// Concat, Split, Flatten, Transpose, Squeeze, Unsqueeze, Pad, Slice, Gather,
/// Shape, Constant, ConstantOfShape, DequantizeLinear, QuantizeLinear.
final class TensorOpsTests: XCTestCase {
    // MARK: - Helpers

    private func f(_ shape: [Int], _ v: [Float], _ dtype: DType = .f32) -> Tensor {
        Tensor(shape: shape, floats: v, dtype: dtype)
    }

    private func i(_ shape: [Int], _ v: [Int64], _ dtype: DType = .i64) -> Tensor {
        Tensor(shape: shape, ints: v, dtype: dtype)
    }

    private func node(_ op: OpKind, _ inputs: [Tensor?], _ attrs: [String: Attribute], _ opset: Int, _ outputs: Int) -> Node {
        let names = inputs.enumerated().map { $0.element == nil ? "" : "in\($0.offset)" }
        return Node(name: "n", op: op, inputs: names, outputs: (0..<outputs).map { "out\($0)" },
                    attributes: attrs, opset: opset)
    }

    /// Checks the node, infers shapes (inputs listed in `runtime` carry no constant value)
    /// and runs the reference kernel.
    private func run(_ op: OpKind, _ inputs: [Tensor?], _ attrs: [String: Attribute] = [:], opset: Int = 17,
                     outputs: Int = 1, runtime: Set<Int> = [],
                     file: StaticString = #filePath, line: UInt = #line) throws -> [Tensor] {
        let n = node(op, inputs, attrs, opset, outputs)
        try op.check(n)
        let infos: [ValueInfo?] = inputs.enumerated().map { k, t in
            guard let t else { return nil }
            return runtime.contains(k) ? ValueInfo(dtype: t.dtype, shape: t.shape) : ValueInfo(t)
        }
        let outs = try op.definition.inferShapes(n, infos)
        let results = op.definition.reference(n, inputs, outs)
        XCTAssertEqual(results.count, outs.count, "output count", file: file, line: line)
        for (r, o) in zip(results, outs) {
            XCTAssertEqual(r.shape, o.shape, "inferred shape", file: file, line: line)
            XCTAssertEqual(r.dtype, o.dtype, "inferred dtype", file: file, line: line)
        }
        return results
    }

    private func one(_ op: OpKind, _ inputs: [Tensor?], _ attrs: [String: Attribute] = [:], opset: Int = 17,
                     runtime: Set<Int> = [], file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
        try run(op, inputs, attrs, opset: opset, runtime: runtime, file: file, line: line)[0]
    }

    /// Asserts that check + shape inference fail with `code`.
    private func assertFails(_ code: IRError.Code, _ op: OpKind, _ inputs: [Tensor?], _ attrs: [String: Attribute] = [:],
                             opset: Int = 17, outputs: Int = 1, runtime: Set<Int> = [],
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try run(op, inputs, attrs, opset: opset, outputs: outputs, runtime: runtime, file: file, line: line)
            XCTFail("expected \(code) error", file: file, line: line)
        } catch let e as IRError {
            XCTAssertEqual(e.code, code, e.message, file: file, line: line)
            XCTAssertTrue(e.message.contains("node 'n'"), e.message, file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    private func assertTensor(_ t: Tensor, shape: [Int], floats v: [Float], dtype: DType = .f32,
                              accuracy: Float = 0, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(t.shape, shape, file: file, line: line)
        XCTAssertEqual(t.dtype, dtype, file: file, line: line)
        let got = t.floats
        XCTAssertEqual(got.count, v.count, file: file, line: line)
        for (a, b) in zip(got, v) { XCTAssertEqual(a, b, accuracy: accuracy, "\(got) vs \(v)", file: file, line: line) }
    }

    private func assertTensor(_ t: Tensor, shape: [Int], ints v: [Int64], dtype: DType = .i64,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(t.shape, shape, file: file, line: line)
        XCTAssertEqual(t.dtype, dtype, file: file, line: line)
        XCTAssertEqual(t.ints, v, file: file, line: line)
    }

    // MARK: - Concat

    func testConcat() throws {
        let a = f([2, 1], [1, 2]), b = f([2, 2], [3, 4, 5, 6])
        assertTensor(try one(.concat, [a, b], ["axis": .int(1)]), shape: [2, 3], floats: [1, 3, 4, 2, 5, 6])
        assertTensor(try one(.concat, [a, b], ["axis": .int(-1)]), shape: [2, 3], floats: [1, 3, 4, 2, 5, 6])
        // int64 shape pieces, with an empty part.
        let r = try one(.concat, [i([2], [1, 3]), i([0], []), i([1], [-1])], ["axis": .int(0)])
        assertTensor(r, shape: [3], ints: [1, 3, -1])
        // rank 3 along the middle axis
        let c = try one(.concat, [f([2, 1, 2], [1, 2, 3, 4]), f([2, 2, 2], [5, 6, 7, 8, 9, 10, 11, 12])], ["axis": .int(1)])
        assertTensor(c, shape: [2, 3, 2], floats: [1, 2, 5, 6, 7, 8, 3, 4, 9, 10, 11, 12])
    }

    func testConcatErrors() {
        assertFails(.invalidModel, .concat, [f([2, 1], [1, 2]), f([3, 1], [1, 2, 3])], ["axis": .int(1)])
        assertFails(.invalidModel, .concat, [f([2], [1, 2]), f([1], [1])], ["axis": .int(1)])
        assertFails(.invalidModel, .concat, [f([2], [1, 2]), f([1], [1])])   // axis is required
        assertFails(.invalidModel, .concat, [f([2], [1, 2]), i([1], [1])], ["axis": .int(0)])
    }

    // MARK: - Split

    func testSplitAttributeBefore13() throws {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        let r = try run(.split, [x], ["axis": .int(1), "split": .ints([1, 2])], opset: 11, outputs: 2)
        assertTensor(r[0], shape: [2, 1], floats: [1, 4])
        assertTensor(r[1], shape: [2, 2], floats: [2, 3, 5, 6])
    }

    func testSplitInputAndEqual() throws {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        let r = try run(.split, [x, i([2], [2, 1])], ["axis": .int(-1)], opset: 13, outputs: 2)
        assertTensor(r[0], shape: [2, 2], floats: [1, 2, 4, 5])
        assertTensor(r[1], shape: [2, 1], floats: [3, 6])
        // No split: equal parts.
        let e = try run(.split, [i([6], [0, 1, 2, 3, 4, 5])], opset: 13, outputs: 3)
        XCTAssertEqual(e.map(\.ints), [[0, 1], [2, 3], [4, 5]])
        let rows = try run(.split, [x], [:], opset: 11, outputs: 2)
        assertTensor(rows[1], shape: [1, 3], floats: [4, 5, 6])
    }

    func testSplitNumOutputs18() throws {
        let x = f([7], [0, 1, 2, 3, 4, 5, 6])
        let r = try run(.split, [x], ["num_outputs": .int(3)], opset: 18, outputs: 3)
        XCTAssertEqual(r.map(\.shape), [[3], [3], [1]])
        XCTAssertEqual(r[2].floats, [6])
    }

    func testSplitErrors() {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        assertFails(.invalidModel, .split, [x, i([2], [1, 1])], ["axis": .int(1)], opset: 13, outputs: 2)
        assertFails(.invalidModel, .split, [x], ["axis": .int(1)], opset: 13, outputs: 2)   // 3 not divisible by 2
        assertFails(.unsupported, .split, [x, i([2], [1, 2])], ["axis": .int(1)], opset: 13, outputs: 2, runtime: [1])
        assertFails(.invalidModel, .split, [x], ["split": .ints([1, 2]), "axis": .int(1)], opset: 13, outputs: 2)
    }

    // MARK: - Flatten

    func testFlatten() throws {
        let x = f([2, 3, 4], (0..<24).map(Float.init))
        XCTAssertEqual(try one(.flatten, [x]).shape, [2, 12])
        XCTAssertEqual(try one(.flatten, [x], ["axis": .int(0)]).shape, [1, 24])
        XCTAssertEqual(try one(.flatten, [x], ["axis": .int(-1)]).shape, [6, 4])
        XCTAssertEqual(try one(.flatten, [x], ["axis": .int(3)]).shape, [24, 1])
        XCTAssertEqual(try one(.flatten, [x], ["axis": .int(-3)]).shape, [1, 24])
        XCTAssertEqual(try one(.flatten, [x]).floats, x.floats)
        assertFails(.invalidModel, .flatten, [x], ["axis": .int(4)])
        assertFails(.invalidModel, .flatten, [x], ["axis": .int(-4)])
    }

    // MARK: - Transpose

    func testTranspose() throws {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        assertTensor(try one(.transpose, [x]), shape: [3, 2], floats: [1, 4, 2, 5, 3, 6])
        // NCHW -> NHWC on [1,2,3,2]
        let y = try one(.transpose, [i([1, 2, 3, 2], Array(0..<12))], ["perm": .ints([0, 2, 3, 1])])
        assertTensor(y, shape: [1, 3, 2, 2], ints: [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11])
        let z = try one(.transpose, [f([2, 3, 4], (0..<24).map(Float.init))], ["perm": .ints([1, 0, 2])])
        assertTensor(z, shape: [3, 2, 4], floats: [0, 1, 2, 3, 12, 13, 14, 15, 4, 5, 6, 7, 16, 17, 18, 19,
                                                   8, 9, 10, 11, 20, 21, 22, 23])
        // Default perm reverses a rank-3 tensor.
        XCTAssertEqual(try one(.transpose, [f([2, 3, 4], (0..<24).map(Float.init))]).shape, [4, 3, 2])
    }

    func testTransposeErrors() {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        assertFails(.invalidModel, .transpose, [x], ["perm": .ints([0, 0])])
        assertFails(.invalidModel, .transpose, [x], ["perm": .ints([2, 1, 0])])
    }

    // MARK: - Squeeze / Unsqueeze

    func testSqueeze() throws {
        let x = f([1, 3, 1], [1, 2, 3])
        XCTAssertEqual(try one(.squeeze, [x], ["axes": .ints([-1])], opset: 11).shape, [1, 3])
        XCTAssertEqual(try one(.squeeze, [x], opset: 13).shape, [3])
        XCTAssertEqual(try one(.squeeze, [x, i([1], [0])], opset: 13).shape, [3, 1])
        XCTAssertEqual(try one(.squeeze, [x, i([1], [0])], opset: 13).floats, [1, 2, 3])
        XCTAssertEqual(try one(.squeeze, [x, i([0], [])], opset: 13).shape, [3])
        assertFails(.invalidModel, .squeeze, [x, i([1], [1])], opset: 13)
        assertFails(.invalidModel, .squeeze, [x], ["axes": .ints([3])], opset: 11)
        assertFails(.unsupported, .squeeze, [x, i([1], [0])], opset: 13, runtime: [1])
    }

    func testUnsqueeze() throws {
        let x = i([2, 3], [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try one(.unsqueeze, [x], ["axes": .ints([0, -1])], opset: 11).shape, [1, 2, 3, 1])
        let y = try one(.unsqueeze, [x, i([2], [3, 1])], opset: 13)
        assertTensor(y, shape: [2, 1, 3, 1], ints: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try one(.unsqueeze, [i([], [7]), i([1], [0])], opset: 13).shape, [1])
        assertFails(.invalidModel, .unsqueeze, [x, i([2], [1, -3])], opset: 13)   // both are axis 1
        assertFails(.invalidModel, .unsqueeze, [x, i([1], [3])], opset: 13)
        assertFails(.invalidModel, .unsqueeze, [x], opset: 13)
    }

    // MARK: - Pad

    func testPadConstant() throws {
        let x = f([2, 2], [1, 2, 3, 4])
        // Opset 2 attributes.
        let a = try one(.pad, [x], ["pads": .ints([0, 1, 1, 0]), "value": .float(9)], opset: 2)
        assertTensor(a, shape: [3, 3], floats: [9, 1, 2, 9, 3, 4, 9, 9, 9])
        // Opset 11 inputs, default constant 0.
        let b = try one(.pad, [x, i([4], [1, 0, 0, 1])], opset: 11)
        assertTensor(b, shape: [3, 3], floats: [0, 0, 0, 1, 2, 0, 3, 4, 0])
        // int data with a constant value input.
        let c = try one(.pad, [i([3], [1, 2, 3]), i([2], [2, 1]), i([], [-1])], opset: 13)
        assertTensor(c, shape: [6], ints: [-1, -1, 1, 2, 3, -1])
    }

    func testPadNegativeCrops() throws {
        let t = f([3, 4], (0..<12).map(Float.init))
        let r = try one(.pad, [t, i([4], [-1, 1, 0, -2]), f([], [9])], opset: 13)
        assertTensor(r, shape: [2, 3], floats: [9, 4, 5, 9, 8, 9])
        // Crop then reflect: [1,2,3,4,5] -> [2,3,4,5] -> [2,3,4,5,4,3]
        let s = try one(.pad, [f([5], [1, 2, 3, 4, 5]), i([2], [-1, 2])], ["mode": .string("reflect")], opset: 13)
        assertTensor(s, shape: [6], floats: [2, 3, 4, 5, 4, 3])
    }

    func testPadReflectEdge() throws {
        let a = f([3], [1, 2, 3])
        // numpy.pad(a, (5, 4), mode='reflect')
        assertTensor(try one(.pad, [a, i([2], [5, 4])], ["mode": .string("reflect")], opset: 11),
                     shape: [12], floats: [2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3])
        assertTensor(try one(.pad, [a, i([2], [2, 1])], ["mode": .string("edge")], opset: 11),
                     shape: [6], floats: [1, 1, 1, 2, 3, 3])
        // numpy.pad(arange(12).reshape(3,4), ((1,0),(2,1)), mode='reflect')
        let t = f([3, 4], (0..<12).map(Float.init))
        assertTensor(try one(.pad, [t, i([4], [1, 2, 0, 1])], ["mode": .string("reflect")], opset: 11),
                     shape: [4, 7], floats: [6, 5, 4, 5, 6, 7, 6, 2, 1, 0, 1, 2, 3, 2, 6, 5, 4, 5, 6, 7, 6,
                                             10, 9, 8, 9, 10, 11, 10])
    }

    func testPadAxes18() throws {
        let x = f([1, 2, 2], [1, 2, 3, 4])
        let r = try one(.pad, [x, i([2], [1, 0]), f([], [7]), i([1], [-1])], opset: 18)
        assertTensor(r, shape: [1, 2, 3], floats: [7, 1, 2, 7, 3, 4])
    }

    func testPadErrors() {
        let x = f([2, 2], [1, 2, 3, 4])
        assertFails(.unsupported, .pad, [x, i([4], [1, 1, 1, 1])], ["mode": .string("wrap")], opset: 19)
        assertFails(.invalidModel, .pad, [x, i([4], [1, 1, 1, 1])], ["mode": .string("mirror")], opset: 13)
        assertFails(.invalidModel, .pad, [x, i([2], [1, 1])], opset: 13)
        assertFails(.invalidModel, .pad, [x, i([4], [-2, 0, -1, 0])], opset: 13)
        assertFails(.unsupported, .pad, [x, i([4], [1, 1, 1, 1])], opset: 13, runtime: [1])
    }

    // MARK: - Slice

    func testSliceAttributes() throws {
        let d = i([4, 5], Array(0..<20))
        let r = try one(.slice, [d], ["starts": .ints([1, -4]), "ends": .ints([1000, -1]), "axes": .ints([0, 1])], opset: 9)
        assertTensor(r, shape: [3, 3], ints: [6, 7, 8, 11, 12, 13, 16, 17, 18])
    }

    func testSliceInputs() throws {
        let d = i([4, 5], Array(0..<20))
        // d[1:1000, -4:-1:2]
        let a = try one(.slice, [d, i([2], [1, -4]), i([2], [1000, -1]), nil, i([2], [1, 2])], opset: 13)
        assertTensor(a, shape: [3, 2], ints: [6, 8, 11, 13, 16, 18])
        // d[3:0:-2, ::-2] using INT64 sentinels
        let b = try one(.slice, [d, i([2], [3, Int64.max]), i([2], [0, Int64.min]), i([2], [0, -1]), i([2], [-2, -2])], opset: 13)
        assertTensor(b, shape: [2, 3], ints: [19, 17, 15, 9, 7, 5])
        // Reverse rows, every third column from the end
        let c = try one(.slice, [d, i([2], [-1, Int64.max]), i([2], [Int64.min, 0]), i([2], [0, 1]), i([2], [-1, -3])], opset: 13)
        assertTensor(c, shape: [4, 2], ints: [19, 16, 14, 11, 9, 6, 4, 1])
        // Empty result and a huge step.
        XCTAssertEqual(try one(.slice, [d, i([1], [3]), i([1], [1])], opset: 13).shape, [0, 5])
        assertTensor(try one(.slice, [d, i([1], [1]), i([1], [Int64.max]), i([1], [1]), i([1], [Int64.max])], opset: 13),
                     shape: [4, 1], ints: [1, 6, 11, 16])
        // float data, only the last axis
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        assertTensor(try one(.slice, [x, i([1], [1]), i([1], [3]), i([1], [-1])], opset: 10), shape: [2, 2], floats: [2, 3, 5, 6])
    }

    func testSliceErrors() {
        let d = i([4, 5], Array(0..<20))
        assertFails(.invalidModel, .slice, [d, i([1], [0]), i([1], [2]), i([1], [0]), i([1], [0])], opset: 13)
        assertFails(.invalidModel, .slice, [d, i([1], [0]), i([1], [2]), i([1], [2])], opset: 13)
        assertFails(.invalidModel, .slice, [d, i([2], [0, 0]), i([1], [2])], opset: 13)
        assertFails(.unsupported, .slice, [d, i([1], [0]), i([1], [2])], opset: 13, runtime: [2])
    }

    // MARK: - Gather

    func testGather() throws {
        // Shape arithmetic: gather a dimension of a shape vector.
        assertTensor(try one(.gather, [i([4], [1, 3, 224, 224]), i([], [-1])]), shape: [], ints: [224])
        assertTensor(try one(.gather, [i([4], [1, 3, 224, 224]), i([2], [1, 0], .i32)]), shape: [2], ints: [3, 1])
        // np.take(arange(12).reshape(3,4), [[0,-1],[2,1]], axis=1)
        let g = f([3, 4], (0..<12).map(Float.init))
        let r = try one(.gather, [g, i([2, 2], [0, -1, 2, 1])], ["axis": .int(1)])
        assertTensor(r, shape: [3, 2, 2], floats: [0, 3, 2, 1, 4, 7, 6, 5, 8, 11, 10, 9])
        // Rows, axis 0 with a negative axis attribute on rank 2 (-2 == 0)
        let rows = try one(.gather, [g, i([1], [2])], ["axis": .int(-2)])
        assertTensor(rows, shape: [1, 4], floats: [8, 9, 10, 11])
    }

    func testGatherErrors() {
        let g = f([3, 4], (0..<12).map(Float.init))
        assertFails(.invalidModel, .gather, [g, i([1], [3])])
        assertFails(.invalidModel, .gather, [g, i([1], [-4])])
        assertFails(.invalidModel, .gather, [g, i([1], [0])], ["axis": .int(2)])
        assertFails(.invalidModel, .gather, [g, f([1], [0])])
    }

    func testGatherRuntimeIndices() throws {
        let g = f([3, 2], [1, 2, 3, 4, 5, 6])
        let r = try one(.gather, [g, i([2], [-1, 0])], runtime: [1])
        assertTensor(r, shape: [2, 2], floats: [5, 6, 1, 2])
    }

    // MARK: - Shape

    func testShape() throws {
        let x = f([2, 3, 4], [Float](repeating: 0, count: 24))
        let s = try one(.shape, [x], runtime: [0])
        assertTensor(s, shape: [3], ints: [2, 3, 4])
        assertTensor(try one(.shape, [x], ["start": .int(-1)], opset: 15, runtime: [0]), shape: [1], ints: [4])
        assertTensor(try one(.shape, [x], ["end": .int(-1)], opset: 15), shape: [2], ints: [2, 3])
        assertTensor(try one(.shape, [x], ["start": .int(1), "end": .int(2)], opset: 15), shape: [1], ints: [3])
        assertTensor(try one(.shape, [x], ["start": .int(-10), "end": .int(10)], opset: 15), shape: [3], ints: [2, 3, 4])
        assertTensor(try one(.shape, [x], ["start": .int(2), "end": .int(1)], opset: 15), shape: [0], ints: [])
        // The value is known from shapes alone.
        let n = Node(name: "n", op: .shape, inputs: ["x"], outputs: ["s"], opset: 13)
        let info = try ShapeOp.inferShapes(n, [ValueInfo(dtype: .f32, shape: [1, 3, 5])])
        XCTAssertEqual(info[0].constant?.ints, [1, 3, 5])
    }

    // MARK: - Constant

    func testConstant() throws {
        let t = f([2], [1.5, -2])
        assertTensor(try one(.constant, [], ["value": .tensor(t)]), shape: [2], floats: [1.5, -2])
        assertTensor(try one(.constant, [], ["value_float": .float(0.25)], opset: 13), shape: [], floats: [0.25])
        assertTensor(try one(.constant, [], ["value_floats": .floats([1, 2, 3])], opset: 13), shape: [3], floats: [1, 2, 3])
        assertTensor(try one(.constant, [], ["value_int": .int(-7)], opset: 13), shape: [], ints: [-7])
        assertTensor(try one(.constant, [], ["value_ints": .ints([4, 5])], opset: 13), shape: [2], ints: [4, 5])
        let n = Node(name: "n", op: .constant, inputs: [], outputs: ["c"], attributes: ["value_ints": .ints([1])], opset: 13)
        XCTAssertEqual(try ConstantOp.inferShapes(n, [])[0].constant?.ints, [1])
    }

    func testConstantErrors() {
        assertFails(.unsupported, .constant, [], ["value_string": .string("hi")], opset: 13)
        assertFails(.unsupported, .constant, [], ["value_strings": .strings(["a"])], opset: 13)
        assertFails(.unsupported, .constant, [], ["sparse_value": .unsupported("sparse tensor")], opset: 13)
        assertFails(.invalidModel, .constant, [], [:], opset: 13)
        assertFails(.invalidModel, .constant, [], ["value_int": .int(1), "value_float": .float(1)], opset: 13)
    }

    // MARK: - ConstantOfShape

    func testConstantOfShape() throws {
        assertTensor(try one(.constantOfShape, [i([2], [2, 3])]), shape: [2, 3], floats: [0, 0, 0, 0, 0, 0])
        assertTensor(try one(.constantOfShape, [i([1], [3])], ["value": .tensor(i([1], [-1]))]), shape: [3], ints: [-1, -1, -1])
        assertTensor(try one(.constantOfShape, [i([0], [])], ["value": .tensor(f([1], [2.5]))]), shape: [], floats: [2.5])
        XCTAssertEqual(try one(.constantOfShape, [i([2], [0, 4])]).shape, [0, 4])
        assertFails(.unsupported, .constantOfShape, [i([1], [3])], runtime: [0])
        assertFails(.invalidModel, .constantOfShape, [i([1], [-3])])
        assertFails(.invalidModel, .constantOfShape, [i([1], [3])], ["value": .tensor(f([2], [1, 2]))])
    }

    // MARK: - DequantizeLinear

    func testDequantizePerTensor() throws {
        let r = try one(.dequantizeLinear, [i([3], [0, 128, 255], .u8), f([], [0.1]), i([], [128], .u8)], opset: 10)
        assertTensor(r, shape: [3], floats: [-12.8, 0, 12.7], accuracy: 1e-5)
        // No zero point; int32 input (bias).
        let b = try one(.dequantizeLinear, [i([2], [-1000, 7], .i32), f([], [0.5])], opset: 13)
        assertTensor(b, shape: [2], floats: [-500, 3.5])
    }

    func testDequantizePerAxis() throws {
        let x = i([2, 3], [-128, 0, 127, 5, 6, 7], .i8)
        let r = try one(.dequantizeLinear, [x, f([2], [0.5, 2]), i([2], [1, -1], .i8)], ["axis": .int(0)], opset: 13)
        assertTensor(r, shape: [2, 3], floats: [-64.5, -0.5, 63, 12, 14, 16])
        // Default axis 1.
        let c = try one(.dequantizeLinear, [x, f([3], [1, 2, 3])], opset: 13)
        assertTensor(c, shape: [2, 3], floats: [-128, 0, 381, 5, 12, 21])
    }

    func testDequantizeBlocked() throws {
        // x [2,5], axis 1, block 2: scale [2,3]; last block is partial.
        let x = i([2, 5], [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6], .i8)
        let s = f([2, 3], [0.5, 1, 2, 0.25, 4, -1])
        let z = i([2, 3], [1, 0, -2, 0, 1, 2], .i8)
        let r = try one(.dequantizeLinear, [x, s, z], ["axis": .int(1), "block_size": .int(2)], opset: 21)
        assertTensor(r, shape: [2, 5], floats: [-2, -1.5, -1, 0, 6, 0.5, 0.75, 12, 16, -4])
        // Conv-weight layout [2,5,1,2] blocked along input channels.
        let x4 = i([2, 5, 1, 2], (0..<20).map { Int64($0) - 10 }, .i8)
        let s4 = f([2, 3, 1, 2], (0..<12).map { Float($0) * 0.5 + 0.5 })
        let r4 = try one(.dequantizeLinear, [x4, s4], ["axis": .int(1), "block_size": .int(2)], opset: 21)
        assertTensor(r4, shape: [2, 5, 1, 2], floats: [-5, -9, -4, -7, -9, -10, -6, -6, -5, -3,
                                                      0, 4, 7, 12, 18, 25, 27, 35, 44, 54])
        // Blocks along axis 0 with uint8.
        let r0 = try one(.dequantizeLinear, [i([3, 2], [1, 2, 3, 4, 5, 6], .u8), f([2, 2], [1, 2, 10, 20]), i([2, 2], [1, 1, 0, 2], .u8)],
                         ["axis": .int(0), "block_size": .int(2)], opset: 21)
        assertTensor(r0, shape: [3, 2], floats: [0, 2, 2, 6, 50, 80])
    }

    func testDequantizeErrors() {
        let x = i([2, 5], [Int64](repeating: 1, count: 10), .i8)
        // Scale dimension does not equal ceil(5 / 2).
        assertFails(.invalidModel, .dequantizeLinear, [x, f([2, 2], [1, 1, 1, 1])], ["axis": .int(1), "block_size": .int(2)], opset: 21)
        // Same-rank scale without block_size.
        assertFails(.invalidModel, .dequantizeLinear, [x, f([2, 3], [Float](repeating: 1, count: 6))], opset: 21)
        // Per-axis length mismatch.
        assertFails(.invalidModel, .dequantizeLinear, [x, f([3], [1, 1, 1])], opset: 13)
        // Per-axis before opset 13.
        assertFails(.invalidModel, .dequantizeLinear, [x, f([5], [1, 1, 1, 1, 1])], opset: 10)
        // Zero point type differs from x.
        assertFails(.invalidModel, .dequantizeLinear, [x, f([], [1]), i([], [0], .u8)], opset: 13)
        assertFails(.unsupported, .dequantizeLinear, [x, f([], [1])], ["output_dtype": .int(10)], opset: 21)
        assertFails(.invalidModel, .dequantizeLinear, [f([1], [1]), f([], [1])], opset: 13)
    }

    // MARK: - QuantizeLinear

    func testQuantizeRounding() throws {
        let x = f([9], [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 300, -300, 0.26])
        let a = try one(.quantizeLinear, [x, f([], [1]), i([], [0], .i8)], opset: 13)
        assertTensor(a, shape: [9], ints: [0, 2, 2, 0, -2, -2, 127, -128, 0], dtype: .i8)
        // Default output uint8.
        let b = try one(.quantizeLinear, [x, f([], [0.5])], opset: 10)
        assertTensor(b, shape: [9], ints: [1, 3, 5, 0, 0, 0, 255, 0, 1], dtype: .u8)
        let c = try one(.quantizeLinear, [x, f([], [2]), i([], [128], .u8)], ["saturate": .int(1)], opset: 19)
        assertTensor(c, shape: [9], ints: [128, 129, 129, 128, 127, 127, 255, 0, 128], dtype: .u8)
        // output_dtype without a zero point.
        let d = try one(.quantizeLinear, [x, f([], [1])], ["output_dtype": .int(3)], opset: 21)
        XCTAssertEqual(d.dtype, .i8)
    }

    func testQuantizePerAxisAndBlocked() throws {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        let r = try one(.quantizeLinear, [x, f([3], [0.5, 2, 4]), i([3], [0, 10, -10], .i8)], ["axis": .int(1)], opset: 13)
        assertTensor(r, shape: [2, 3], ints: [2, 11, -9, 8, 12, -8], dtype: .i8)
        let xb = f([1, 5], [1, 2, 3, 4, 5])
        let b = try one(.quantizeLinear, [xb, f([1, 3], [1, 2, 4]), i([1, 3], [0, 1, 2], .i8)],
                        ["axis": .int(1), "block_size": .int(2)], opset: 21)
        assertTensor(b, shape: [1, 5], ints: [1, 2, 3, 3, 3], dtype: .i8)
        // Round trip through DequantizeLinear.
        let back = try one(.dequantizeLinear, [r, f([3], [0.5, 2, 4]), i([3], [0, 10, -10], .i8)], ["axis": .int(1)], opset: 13)
        assertTensor(back, shape: [2, 3], floats: [1, 2, 4, 4, 4, 8])
    }

    func testQuantizeErrors() {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        assertFails(.invalidModel, .quantizeLinear, [x, f([2], [1, 1])], ["axis": .int(1)], opset: 13)
        assertFails(.invalidModel, .quantizeLinear, [x, f([], [1]), i([], [0], .i8)], ["output_dtype": .int(2)], opset: 21)
        assertFails(.unsupported, .quantizeLinear, [x, f([], [1])], ["output_dtype": .int(17)], opset: 21)
    }
}
