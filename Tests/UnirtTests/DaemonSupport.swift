import Foundation
import UnirtClient
import UnirtIR
import XCTest

/// A running `unirtd` on a temporary socket with a temporary config; stopped on `stop()`.
/// Immutable after init; `Process` calls are safe from any thread.
final class DaemonProcess: @unchecked Sendable {
    let dir: String
    let socket: String
    let configPath: String
    let process = Process()
    let log: String

    static var binary: String {
        let unirt = URL(fileURLWithPath: TestSupport.unirtBinary)
        return unirt.deletingLastPathComponent().appendingPathComponent("unirtd").path
    }

    /// Writes `config` (the socket line is added) and starts the daemon; waits until Ready.
    init(config: String, environment: [String: String] = [:], waitReady: Bool = true) throws {
        dir = TestSupport.tempDir()
        socket = dir + "/unirtd.sock"
        configPath = dir + "/unirtd.toml"
        log = dir + "/unirtd.log"
        try ("socket = \"\(socket)\"\n" + config).write(toFile: configPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--config", configPath, "--log-level", "debug"]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        if waitReady { try waitUntilReady() }
    }

    /// Polls Ready over fresh connections (the daemon loads models in the background).
    func waitUntilReady(attempts: Int = 1500) throws {
        for _ in 0..<attempts {
            if let c = try? DaemonClient(socketPath: socket) {
                defer { c.close() }
                if (try? c.ready()) == true { return }
            }
            guard process.isRunning else { break }
            usleep(10_000)
        }
        throw TransportError(.unavailable, "unirtd did not become ready; log:\n\(logText)")
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func client() throws -> DaemonClient { try DaemonClient(socketPath: socket) }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            signal(SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    static func modelTable(_ name: String, path: String, maxBatch: Int = 8, delayMicros: Int = 2000,
                           queue: Int = 256, cpu: Int = 1) -> String {
        """
        [models.\(name)]
        path = "\(path)"
        max_batch_size = \(maxBatch)
        max_queue_delay_us = \(delayMicros)
        max_queue_size = \(queue)
        instances = { cpu = \(cpu), gpu = 0 }

        """
    }
}

extension DaemonProcess {
    /// The daemon's resident set size (VmRSS), in bytes.
    func residentBytes() throws -> Int {
        let pid = process.processIdentifier
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else {
            throw TransportError(.internal, "no VmRSS in /proc/\(pid)/status")
        }
        return kb * 1024
    }
}

extension DaemonClient {
    /// One Infer returning the raw response (status included).
    func rawInfer(model: String, inputs: [String: Tensor], timeoutMicros: UInt64 = 0) throws -> RPCResponse {
        var r = RPCRequest(method: .infer)
        r.model = model
        r.inputs = inputs.map { WireTensor(name: $0.key, $0.value) }
        r.timeoutMicros = timeoutMicros
        return try call(r)
    }
}

/// Runs `body(i)` for i in 0..<n on n threads at once and waits for all
/// (concurrentPerform would cap the width at the core count).
func onThreads(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<n {
        group.enter()
        Thread { body(i); group.leave() }.start()
    }
    group.wait()
}
