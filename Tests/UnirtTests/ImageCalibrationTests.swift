import Foundation
import XCTest
import UnirtIR
import UnirtQuant

/// `unirt build --calib DIR --calib-preprocess SPEC` on a folder of face photos:
/// SFace calibrated from JPEGs aligned by their landmarks, checked on a face that
/// is not in the folder; images without a spec are refused naming the file.
final class ImageCalibrationTests: XCTestCase {
    /// INT8 embedding cosine vs FP32 on a held-out face (the quantization bar is 0.98 at the minimum).
    static let cosineBound = 0.98

    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.unirt(args)
        XCTAssertEqual(r.status, 0, "unirt \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        return r
    }

    func testSFaceCalibratedFromAlignedPhotos() throws {
        let faces = TestSupport.cacheDir.appendingPathComponent("refs/faces").path
        let model = TestSupport.cacheDir.appendingPathComponent("models/sface.onnx").path
        let heldOut = TestSupport.cacheDir.appendingPathComponent("refs/sface/in/data.npy").path  // obama.jpg
        guard FileManager.default.fileExists(atPath: faces + "/meta.json"), FileManager.default.fileExists(atPath: heldOut) else {
            if TestSupport.requireModels { XCTFail("missing \(faces); run make refs") }
            throw XCTSkip("reference faces not made (make refs)")
        }
        let tmp = TestSupport.tempDir()
        let calib = tmp + "/calib"
        try FileManager.default.createDirectory(atPath: calib, withIntermediateDirectories: true)
        for photo in try FileManager.default.contentsOfDirectory(atPath: faces) where photo.hasSuffix(".jpg") && !photo.hasPrefix("obama") {
            try FileManager.default.copyItem(atPath: faces + "/" + photo, toPath: calib + "/" + photo)
            try FileManager.default.copyItem(atPath: faces + "/" + photo + ".landmarks", toPath: calib + "/" + photo + ".landmarks")
        }

        let refused = try TestSupport.unirt(["build", model, "-o", tmp + "/x.plan", "--precision", "int8", "--calib", calib])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--calib-preprocess") && refused.stderr.contains(".jpg"), refused.stderr)

        let plan = tmp + "/sface.plan"
        _ = try run(["build", model, "-o", plan, "--precision", "int8", "--calib", calib, "--calib-preprocess", "fit=align order=rgb"])
        _ = try run(["run", plan, "--input", "data=\(heldOut)", "--output-dir", tmp + "/q"])
        _ = try run(["run", model, "--input", "data=\(heldOut)", "--output-dir", tmp + "/f"])
        let q = try Tensor(npyFile: tmp + "/q/fc1.npy"), f = try Tensor(npyFile: tmp + "/f/fc1.npy")
        XCTAssertGreaterThan(Sensitivity.cosine(f.floats, q.floats), Self.cosineBound)
        let inspect = try run(["inspect", plan])
        XCTAssertTrue(inspect.stdout.contains("int8"), inspect.stdout)
    }
}
