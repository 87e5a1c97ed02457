import Foundation
import XCTest
import UnirtIR

final class NPYTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        var rng = SeededRNG(seed: 7)
        for dtype in DType.allCases {
            let shape = [2, 3, 13]
            let t: Tensor
            if dtype.isFloating {
                t = Tensor(shape: shape, floats: rng.floats(78).map { dtype == .f16 ? Float(Float16($0)) : $0 }, dtype: dtype)
            } else {
                t = Tensor(shape: shape, ints: (0..<78).map { dtype.wrap(Int64($0 * 37 - 1000)) }, dtype: dtype)
            }
            let back = try Tensor(npy: t.npyData(), label: "x.npy")
            XCTAssertEqual(back.dtype, dtype)
            XCTAssertEqual(back.shape, shape)
            if dtype.isFloating {
                XCTAssertEqual(back.floats, t.floats, "\(dtype)")
            } else {
                XCTAssertEqual(back.ints, t.ints, "\(dtype)")
            }
        }
    }

    func testHeaderIsAlignedAndScalarAndVectorShapes() throws {
        for shape in [[], [5], [1, 1, 1]] {
            let t = Tensor(shape: shape, floats: [Float](repeating: 1.5, count: shape.reduce(1, *)))
            let d = t.npyData()
            XCTAssertEqual((d.count - t.count * 4) % 64, 0)
            XCTAssertEqual(try Tensor(npy: d, label: "x").shape, shape)
        }
    }

    func testVersion2Header() throws {
        let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n"
        var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0])
        let n = UInt32(header.utf8.count)
        d.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8 & 0xff), 0, 0])
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: [7, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        let t = try Tensor(npy: d, label: "v2.npy")
        XCTAssertEqual(t.ints, [7, -1])
    }

    func testMalformedFilesAreClearErrors() {
        let good = Tensor(shape: [4], floats: [1, 2, 3, 4]).npyData()
        let cases: [(Data, String)] = [
            (Data("hello world".utf8), "magic"),
            (good.prefix(good.count - 3), "needs 16"),
            (Data(good.map { $0 == UInt8(ascii: "<") ? UInt8(ascii: ">") : $0 }), "unsupported dtype"),
        ]
        for (data, expected) in cases {
            XCTAssertThrowsError(try Tensor(npy: data, label: "bad.npy")) { e in
                let msg = String(describing: e)
                XCTAssertTrue(msg.hasPrefix("bad.npy"), msg)
                XCTAssertTrue(msg.contains(expected), msg)
                XCTAssertFalse(msg.contains("\n"), msg)
            }
        }
    }
}
