import XCTest
import UnirtQuant

final class QuantCacheTests: XCTestCase {
    func testSerializationIsExact() throws {
        let cache = CalibrationCache(method: .percentile(99.99), dataHash: "ab12",
                                     entries: [.init(name: "conv 1:out%", scale: 1), .init(name: "x", scale: 0.5)])
        XCTAssertEqual(try cache.serialized(), """
            #unirt-calibration-cache version=1 method=percentile percentile=99.99 data=ab12
            conv%201%3Aout%25: 3f800000
            x: 3f000000

            """)
    }

    func testRoundTripThroughFileKeepsEveryBit() throws {
        var rng = SeededRNG(seed: 21)
        let names = ["input", "a b", "x:y", "100%", "tab\there", "new\nline", "naïve/卷积", "#not-a-header", "%41"]
        let entries = names.map { CalibrationCache.Entry(name: $0, scale: Float.random(in: 1e-6...10, using: &rng)) }
        for method in [CalibrationMethod.entropy, .minmax, .mse, .percentile(99.999)] {
            for hash in [nil, "sha256:0f3e"] as [String?] {
                let cache = CalibrationCache(method: method, dataHash: hash, entries: entries)
                let path = TestSupport.tempDir() + "/calib.cache"
                try cache.write(toFile: path)
                let back = try CalibrationCache(contentsOfFile: path)
                XCTAssertEqual(back, cache)
                XCTAssertEqual(back.entries.map(\.scale.bitPattern), entries.map(\.scale.bitPattern))
            }
        }
    }

    func testCacheFromCalibrationKeepsScales() throws {
        let c = try QuantTestData.calibrate(QuantTestData.gaussianWithOutliers(10_000, seed: 7), method: .entropy)
        let cache = CalibrationCache(method: .entropy, calibrations: [c])
        let back = try CalibrationCache(parsing: try cache.serialized())
        XCTAssertEqual(back.scales["t"]?.bitPattern, c.scale.bitPattern)
    }

    /// Each malformed cache gives one line naming the source and line number.
    func testMalformedCachesNameTheLine() {
        let header = "#unirt-calibration-cache version=1 method=entropy\n"
        let cases: [(String, Int, String)] = [
            ("", 1, "header"),
            ("conv: 3f800000\n", 1, "header"),
            ("#unirt-calibration-cache version=2 method=entropy\n", 1, "version 2"),
            ("#unirt-calibration-cache version=1\n", 1, "method"),
            ("#unirt-calibration-cache version=1 method=percentile\n", 1, "percentile="),
            ("#unirt-calibration-cache version=1 method=kl\n", 1, "kl"),
            ("#unirt-calibration-cache version=1 method=entropy color=red\n", 1, "color"),
            (header + "a: 3f800000\nb 3f800000\n", 3, "':'"),
            (header + "a: 3f80000\n", 2, "8 hex"),
            (header + "a: 3f80000g\n", 2, "8 hex"),
            (header + "a:3f800000\n", 2, "space"),
            (header + "a: 7fc00000\n", 2, "finite"),
            (header + "a: 00000000\n", 2, "> 0"),
            (header + "a: bf800000\n", 2, "> 0"),
            (header + "a: 3f800000\n\na: 3f800000\n", 4, "twice"),
            (header + "a%G1: 3f800000\n", 2, "escape"),
            (header + "a b: 3f800000\n", 2, "escape"),
            (header + ": 3f800000\n", 2, "empty"),
        ]
        for (text, line, word) in cases {
            XCTAssertThrowsError(try CalibrationCache(parsing: text, source: "my.cache")) { e in
                let msg = "\(e)"
                XCTAssertTrue(msg.hasPrefix("my.cache line \(line): "), "\(text.debugDescription) → \(msg)")
                XCTAssertTrue(msg.contains(word), "\(text.debugDescription) → \(msg)")
                XCTAssertFalse(msg.contains("\n"), msg)
            }
        }
    }

    func testCRLFAndMissingFileAreHandled() throws {
        let c = try CalibrationCache(parsing: "#unirt-calibration-cache version=1 method=minmax\r\nx: 3F800000\r\n")
        XCTAssertEqual(c.entries, [.init(name: "x", scale: 1)])
        XCTAssertThrowsError(try CalibrationCache(contentsOfFile: "/nonexistent/x.cache")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent/x.cache"))
        }
    }
}
