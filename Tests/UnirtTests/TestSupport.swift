import Foundation
import XCTest
import UnirtIR

/// Paths and comparisons shared by the tests.
enum TestSupport {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ path: String) -> String {
        repoRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(path).path
    }

    static var cacheDir: URL {
        if let c = ProcessInfo.processInfo.environment["UNIRT_CACHE"] { return URL(fileURLWithPath: c) }
        return repoRoot.appendingPathComponent(".cache")
    }

    /// Whether tests that need fetched models must fail (rather than skip) when they are missing.
    static var requireModels: Bool { ProcessInfo.processInfo.environment["UNIRT_REQUIRE_MODELS"] == "1" }

    /// The built `unirt` executable beside the test bundle.
    static var unirtBinary: String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("unirt").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        for config in ["release", "debug"] {
            let p = repoRoot.appendingPathComponent(".build/\(config)/unirt").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return "unirt"
    }

    /// Largest absolute difference, and whether it is within rtol·max|ref| + atol.
    static func assertClose(_ got: Tensor, _ ref: Tensor, rtol: Float = 1e-4, atol: Float = 1e-6,
                            _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.shape, ref.shape, "\(label): shape", file: file, line: line)
        guard got.shape == ref.shape else { return }
        let a = got.floats, b = ref.floats
        var maxRef: Float = 0, maxDiff: Float = 0
        for i in 0..<b.count {
            maxRef = max(maxRef, abs(b[i]))
            let d = abs(a[i] - b[i])
            if d.isNaN || d > maxDiff { maxDiff = d.isNaN ? .infinity : d }
        }
        XCTAssertLessThanOrEqual(maxDiff, rtol * maxRef + atol,
                                 "\(label): max |diff| \(maxDiff) vs max |ref| \(maxRef)", file: file, line: line)
    }

    struct ProcessResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `unirt` with arguments and captures its output.
    static func unirt(_ args: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: unirtBinary)
        p.arguments = args
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return ProcessResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                             stderr: String(decoding: e, as: UTF8.self))
    }

    static func tempDir() -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("unirt-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d.path
    }

    /// Loads every `<dir>/<name>.npy` as a tensor keyed by file stem.
    static func npyFolder(_ dir: String) throws -> [String: Tensor] {
        var r: [String: Tensor] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) where f.hasSuffix(".npy") {
            r[String(f.dropLast(4))] = try Tensor(npyFile: dir + "/" + f)
        }
        return r
    }
}

/// A small deterministic RNG (SplitMix64) for test data.
struct SeededRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func floats(_ n: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<n).map { _ in Float.random(in: range, using: &self) }
    }
}
