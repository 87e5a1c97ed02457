import XCTest
import UnirtIR
import UnirtRuntime

/// Running batch-1 exports at batch N: rewrites that are provably safe, refusals otherwise.
final class BatchOverrideTests: XCTestCase {
    /// x[1,2,3] → Relu → Reshape(target) → y
    func graph(target: [Int64], extra: [Node] = []) -> Graph {
        Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [.fixed(1), .fixed(2), .fixed(3)])],
              outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)],
              initializers: ["t": Tensor(shape: [target.count], ints: target)],
              nodes: [Node(name: "relu", op: .relu, inputs: ["x"], outputs: ["r"], opset: 13),
                      Node(name: "reshape", op: .reshape, inputs: ["r", "t"], outputs: ["y"], opset: 13)] + extra)
    }

    func runBoth(_ g: Graph, batch: Int) throws -> (batched: Tensor, perItem: [Tensor]) {
        var rng = SeededRNG(seed: 11)
        let x = Tensor(shape: [batch, 2, 3], floats: rng.floats(batch * 6))
        let batched = try Session(graph: try g.overridingBatch(batch)).run(["x": x])["y"]!
        let single = Session(graph: g)
        let items = try (0..<batch).map { b in
            try single.run(["x": Tensor(shape: [1, 2, 3], floats: Array(x.floats[b * 6..<(b + 1) * 6]))])["y"]!
        }
        return (batched, items)
    }

    func testHardCodedBatchInReshapeIsRewritten() throws {
        for target: [Int64] in [[1, -1], [1, 6], [1, 3, 2], [0, -1], [-1, 6]] {
            let (batched, items) = try runBoth(graph(target: target), batch: 4)
            XCTAssertEqual(batched.shape[0], 4, "\(target)")
            XCTAssertEqual(batched.floats, items.flatMap(\.floats), "\(target)")
        }
    }

    func testReshapeAcrossTheBatchIsRefused() {
        XCTAssertThrowsError(try graph(target: [6]).overridingBatch(2)) { e in
            XCTAssertTrue("\(e)".contains("node 'reshape' (Reshape)"), "\(e)")
        }
        XCTAssertThrowsError(try graph(target: [2, 3]).overridingBatch(2)) { e in
            XCTAssertTrue("\(e)".contains("cannot override batch to 2"), "\(e)")
        }
    }

    func testFlattenAtAxisZeroAndConcatOnBatchAreRefused() {
        let flat = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [.fixed(1), .fixed(2)])],
                         outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)], initializers: [:],
                         nodes: [Node(name: "f", op: .flatten, inputs: ["x"], outputs: ["y"], attributes: ["axis": .int(0)], opset: 13)])
        XCTAssertThrowsError(try flat.overridingBatch(3)) { XCTAssertTrue("\($0)".contains("flattens the batch axis"), "\($0)") }
        let cat = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [.fixed(1), .fixed(2)])],
                        outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)], initializers: [:],
                        nodes: [Node(name: "c", op: .concat, inputs: ["x", "x"], outputs: ["y"], attributes: ["axis": .int(0)], opset: 13)])
        XCTAssertThrowsError(try cat.overridingBatch(3)) { XCTAssertTrue("\($0)".contains("along the batch axis"), "\($0)") }
    }

    func testFixedBatchOtherThanOneIsRefused() {
        let g = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [.fixed(2), .fixed(2)])],
                      outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)], initializers: [:],
                      nodes: [Node(name: "r", op: .relu, inputs: ["x"], outputs: ["y"], opset: 13)])
        XCTAssertThrowsError(try g.overridingBatch(3)) { XCTAssertTrue("\($0)".contains("fixed batch 2"), "\($0)") }
        XCTAssertNoThrow(try g.overridingBatch(2))
    }
}
