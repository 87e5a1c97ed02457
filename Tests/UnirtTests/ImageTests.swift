import Foundation
import XCTest
import UnirtImage
import UnirtIR

/// JPEG/PNG decoding against Pillow's decoding of the generated fixtures
/// (scripts/make-test-images.py), damaged files, the preprocessing spec, and
/// face alignment on real photos against the Python face pipeline.
final class ImageTests: XCTestCase {
    /// JPEG: the inverse DCT and chroma upsampling differ from libjpeg's integer
    /// versions by rounding, at most this many levels per sample.
    static let jpegMaxError: Float = 3
    static let jpegMeanError: Float = 0.5
    /// fit=align vs the Python pipeline's bilinear warp of the same landmarks.
    static let alignMeanError: Float = 0.5
    static let alignMaxError: Float = 2.5

    let dir = TestSupport.fixture("images")

    func fixtures() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter { ($0.hasSuffix(".jpg") || $0.hasSuffix(".png")) && !$0.hasPrefix("bad-") }.sorted()
    }

    func testDecodersMatchReferenceDecoding() throws {
        let names = try fixtures()
        XCTAssertGreaterThanOrEqual(names.count, 16)
        for name in names {
            let image = try Image.decode(file: dir + "/" + name)
            let ref = try Tensor(npyFile: dir + "/" + name + ".npy")
            XCTAssertEqual(ref.shape, [image.height, image.width, 3], name)
            let r = ref.floats
            var maxError: Float = 0, total: Float = 0
            for i in 0..<r.count {
                let d = abs(Float(image.rgb[i]) - r[i])
                maxError = max(maxError, d)
                total += d
            }
            let mean = total / Float(r.count)
            if name.hasSuffix(".png") {
                XCTAssertEqual(maxError, 0, "\(name): PNG decoding is exact")
            } else {
                XCTAssertLessThanOrEqual(maxError, Self.jpegMaxError, "\(name): max error")
                XCTAssertLessThanOrEqual(mean, Self.jpegMeanError, "\(name): mean error")
            }
        }
    }

    func testDamagedFilesAreRefusedWithTheReason() throws {
        let expected = ["bad-truncated.jpg": "truncated", "bad-crc.png": "CRC", "bad-not-image.png": "not a JPEG or PNG",
                        "bad-cmyk.jpg": "CMYK"]
        for (name, phrase) in expected {
            let path = dir + "/" + name
            XCTAssertThrowsError(try Image.decode(file: path), name) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix(path), "\(name): \(message)")
                XCTAssertTrue(message.contains(phrase), "\(name): \(message)")
                XCTAssertFalse(message.contains("\n"), "\(name): one line")
            }
        }
        // Every prefix of a valid file is refused or decodes, never crashes.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/progressive-420.jpg")))
        for cut in stride(from: 0, to: bytes.count, by: 97) { _ = try? Image.decode(Array(bytes[0..<cut]), label: "cut") }
        let png = Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/interlaced.png")))
        for cut in stride(from: 0, to: png.count, by: 41) { _ = try? Image.decode(Array(png[0..<cut]), label: "cut") }
    }

    func testSpecParsingAndErrors() throws {
        let p = try ImagePreprocessing(spec: "size=112x96; fit=letterbox order=bgr mean=1,2,3 std=2 layout=nhwc")
        XCTAssertEqual(p.width, 112)
        XCTAssertEqual(p.height, 96)
        XCTAssertEqual(p.fit, .letterbox)
        XCTAssertEqual(p.order, .bgr)
        XCTAssertEqual(p.mean, [1, 2, 3])
        XCTAssertEqual(p.std, [2, 2, 2])
        XCTAssertEqual(p.layout, .nhwc)
        XCTAssertEqual(try ImagePreprocessing(spec: p.description), p)
        for bad in ["size=12", "fit=squash", "order=rgba", "mean=1,2", "std=0", "colour=rgb", "size"] {
            XCTAssertThrowsError(try ImagePreprocessing(spec: bad), bad) { e in
                XCTAssertEqual((e as? ImageError)?.code, .invalidSpec, bad)
            }
        }
    }

    /// A 4×2 image letterboxed into 4×4 (top-left), BGR, normalized, in both layouts.
    func testLetterboxOrderNormalizationAndLayout() throws {
        var rgb: [UInt8] = []
        for i in 0..<8 { rgb += [UInt8(10 * i), UInt8(10 * i + 1), UInt8(10 * i + 2)] }
        let image = Image(width: 4, height: 2, rgb: rgb)
        let p = try ImagePreprocessing(spec: "fit=letterbox order=bgr mean=1 std=2")
        let nchw = try p.tensor(from: image, inputShape: [1, 3, 4, 4])
        XCTAssertEqual(nchw.shape, [1, 3, 4, 4])
        let f = nchw.floats
        // Channel 0 is blue; pixel (x=1, y=0) has blue 12 → (12 − 1) / 2.
        XCTAssertEqual(f[0 * 16 + 0 * 4 + 1], 5.5, accuracy: 1e-5)
        // Red of pixel (x=3, y=1) = 70 → 34.5 in channel 2.
        XCTAssertEqual(f[2 * 16 + 1 * 4 + 3], 34.5, accuracy: 1e-5)
        // Padding rows hold (0 − mean) / std.
        XCTAssertEqual(f[1 * 16 + 3 * 4 + 2], -0.5, accuracy: 1e-6)
        let nhwc = try p.tensor(from: image, inputShape: [1, 4, 4, 3])
        XCTAssertEqual(nhwc.shape, [1, 4, 4, 3])
        XCTAssertEqual(nhwc.floats[(1 * 4 + 3) * 3 + 2], 34.5, accuracy: 1e-5)
        XCTAssertThrowsError(try p.tensor(from: image, inputShape: [1, 3, nil, nil]))  // symbolic size, no size=
        XCTAssertThrowsError(try ImagePreprocessing(spec: "size=5x5").tensor(from: image, inputShape: [1, 3, 4, 4]))
    }

    func testSimilarityRecoversAKnownTransform() {
        let (a, b, tx, ty) = (1.7 * cos(0.3), 1.7 * sin(0.3), 12.5, -4.0)
        let source = ImagePreprocessing.faceTemplate
        let target = source.map { (a * $0.0 - b * $0.1 + tx, b * $0.0 + a * $0.1 + ty) }
        let (ea, eb, etx, ety) = Image.similarity(from: source, to: target)
        XCTAssertEqual(ea, a, accuracy: 1e-9)
        XCTAssertEqual(eb, b, accuracy: 1e-9)
        XCTAssertEqual(etx, tx, accuracy: 1e-9)
        XCTAssertEqual(ety, ty, accuracy: 1e-9)
    }

    /// Real photos: decoding, then fit=align on the detector's landmarks, against
    /// the Python face pipeline's aligned crops (scripts/make-model-refs.py).
    func testAlignedFacesMatchThePythonPipeline() throws {
        let faces = TestSupport.cacheDir.appendingPathComponent("refs/faces").path
        guard FileManager.default.fileExists(atPath: faces + "/meta.json") else {
            if TestSupport.requireModels { XCTFail("missing \(faces); run make refs") }
            throw XCTSkip("reference faces not made (make refs)")
        }
        let photos = try FileManager.default.contentsOfDirectory(atPath: faces).filter { $0.hasSuffix(".jpg") }.sorted()
        XCTAssertGreaterThanOrEqual(photos.count, 4)
        let spec = try ImagePreprocessing(spec: "size=112x112 fit=align layout=nhwc")
        for photo in photos {
            let path = faces + "/" + photo
            let t = try spec.tensor(from: try Image.decode(file: path), inputShape: [1, 112, 112, 3],
                                    landmarks: try ImagePreprocessing.landmarks(for: path))
            let ref = try Tensor(npyFile: path + ".crop.npy").floats
            let got = t.floats
            var maxError: Float = 0, total: Float = 0
            for i in 0..<ref.count {
                let d = abs(got[i] - ref[i])
                maxError = max(maxError, d)
                total += d
            }
            XCTAssertLessThanOrEqual(total / Float(ref.count), Self.alignMeanError, "\(photo): mean error")
            XCTAssertLessThanOrEqual(maxError, Self.alignMaxError, "\(photo): max error")
        }
    }
}
