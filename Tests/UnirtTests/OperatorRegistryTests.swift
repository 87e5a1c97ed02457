import Foundation
import XCTest
import UnirtIR

/// Every operator in the one list has a schema, a reference kernel (enforced by
/// the `Operator` protocol) and a section in docs/operators.md.
final class OperatorRegistryTests: XCTestCase {
    func testEveryOperatorHasSchemaAndDocs() throws {
        let docs = try String(contentsOf: TestSupport.repoRoot.appendingPathComponent("docs/operators.md"), encoding: .utf8)
        let headings = Set(docs.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { String($0.dropFirst(3)).trimmingCharacters(in: .whitespaces) })
        for op in OpKind.allCases {
            let s = op.definition.schema
            XCTAssertFalse(s.summary.isEmpty, "\(op.rawValue): schema has no summary")
            XCTAssertLessThanOrEqual(s.sinceOpset, 21, "\(op.rawValue)")
            XCTAssertTrue(headings.contains(op.rawValue), "\(op.rawValue): no '## \(op.rawValue)' section in docs/operators.md")
            XCTAssertTrue(FileManager.default.fileExists(atPath: TestSupport.repoRoot.appendingPathComponent("Sources/UnirtIR/Ops/\(op.rawValue).swift").path),
                          "\(op.rawValue): no Sources/UnirtIR/Ops/\(op.rawValue).swift")
        }
        // No section for an operator that does not exist.
        let known = Set(OpKind.allCases.map(\.rawValue))
        for h in headings where h.first?.isUppercase == true && !h.contains(" ") {
            XCTAssertTrue(known.contains(h), "docs/operators.md documents unknown operator \(h)")
        }
    }
}
