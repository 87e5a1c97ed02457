import Foundation
import UnirtClient
import UnirtIR
import XCTest

/// End-to-end checks of how unirtd lives in a system: socket activation,
/// the systemd watchdog, the HTTP metrics listener, memory under overload and
/// clients that stop reading.
final class DaemonSystemTests: XCTestCase {
    let conv = TestSupport.fixture("graphs/conv/model.onnx")
    let sface = TestSupport.fixture("graphs/sface_like/model.onnx")

    func convInputs() throws -> [String: Tensor] { try TestSupport.npyFolder(TestSupport.fixture("graphs/conv/in")) }

    func testSocketActivationUsesDescriptorThree() throws {
        let dir = TestSupport.tempDir()
        let activated = dir + "/activated.sock"
        let configured = dir + "/configured.sock"
        let listener = try RawSocket.listen(activated)
        try ("socket = \"\(configured)\"\n" + DaemonProcess.modelTable("face", path: sface))
            .write(toFile: dir + "/unirtd.toml", atomically: true, encoding: .utf8)
        // As systemd does: the socket on fd 3, LISTEN_FDS=1 and LISTEN_PID set to the
        // daemon's own pid (the shell's $$ survives its exec).
        var env = ProcessInfo.processInfo.environment
        env["LISTEN_FDS"] = "1"
        env["LISTEN_FDNAMES"] = "unirtd.socket"
        let pid = try spawn("/bin/sh", ["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", DaemonProcess.binary,
                                        "--config", dir + "/unirtd.toml"],
                            environment: env, fd3: listener, stderr: dir + "/unirtd.log")
        close(listener)
        defer { kill(pid, SIGKILL); _ = wait(pid) }
        let log = { (try? String(contentsOfFile: dir + "/unirtd.log", encoding: .utf8)) ?? "" }
        var ready = false
        for _ in 0..<1500 where !ready {
            if let c = try? DaemonClient(socketPath: activated) {
                ready = (try? c.ready()) == true
                c.close()
            }
            if !ready { usleep(10_000) }
        }
        XCTAssertTrue(ready, log())
        XCTAssertFalse(FileManager.default.fileExists(atPath: configured), "the configured socket is not created")
        let c = try DaemonClient(socketPath: activated)
        XCTAssertEqual(try c.infer(model: "face", inputs: TestSupport.npyFolder(TestSupport.fixture("graphs/sface_like/in")))["fc1"]?.shape, [1, 12])
        c.close()
        XCTAssertTrue(log().contains("socket-activated fd 3"), log())
        kill(pid, SIGTERM)
        XCTAssertEqual(wait(pid), 0, log())
    }

    func testWatchdogPingsArrive() throws {
        let dir = TestSupport.tempDir()
        let notify = try RawSocket.datagram(dir + "/notify")
        defer { close(notify) }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(notify, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // 40 ms watchdog: the daemon pings every 20 ms.
        let d = try DaemonProcess(config: DaemonProcess.modelTable("face", path: sface),
                                  environment: ["NOTIFY_SOCKET": dir + "/notify", "WATCHDOG_USEC": "40000"], waitReady: false)
        defer { d.stop() }
        var messages: [String] = []
        while messages.filter({ $0 == "WATCHDOG=1" }).count < 3 || !messages.contains(where: { $0.hasPrefix("READY=1") }) {
            var buf = [UInt8](repeating: 0, count: 512)
            let n = recv(notify, &buf, buf.count, 0)
            guard n > 0 else { return XCTFail("no datagram within 30 s; got \(messages); log:\n\(d.logText)") }
            messages.append(String(decoding: buf[0..<n], as: UTF8.self))
        }
        XCTAssertEqual(Set(messages.map { $0.hasPrefix("READY=1") ? "READY=1" : $0 }), ["READY=1", "WATCHDOG=1"])
    }

    func testHTTPMetricsListener() throws {
        let port = try RawSocket.freeTCPPort()
        let d = try DaemonProcess(config: "metrics_port = \(port)\n" + DaemonProcess.modelTable("conv", path: conv))
        defer { d.stop() }
        let c = try d.client()
        defer { c.close() }
        _ = try c.infer(model: "conv", inputs: convInputs())
        let page = try RawSocket.httpGet(port: port, path: "/metrics")
        XCTAssertTrue(page.hasPrefix("HTTP/1.1 200 OK\r\n"), page)
        XCTAssertTrue(page.contains("Content-Type: text/plain; version=0.0.4"), page)
        for name in ["unirt_requests_total{model=\"conv\",code=\"OK\"} 1", "unirt_inferences_total{model=\"conv\"} 1",
                     "unirt_executions_total{model=\"conv\"} 1", "unirt_queue_duration_seconds_bucket{model=\"conv\"",
                     "unirt_compute_duration_seconds_bucket{model=\"conv\"", "unirt_batch_size_bucket{model=\"conv\"",
                     "unirt_queue_depth{model=\"conv\"} 0", "unirt_inflight_requests{model=\"conv\"} 0",
                     "process_resident_memory_bytes "] {
            XCTAssertTrue(page.contains(name), "missing \(name) in:\n\(page)")
        }
        XCTAssertTrue(try RawSocket.httpGet(port: port, path: "/other").hasPrefix("HTTP/1.1 404"))
        XCTAssertTrue(try c.health(), "scrapes do not disturb the socket")
    }

    func testMemoryStaysBoundedUnderOverload() throws {
        // Queue of 4 behind a 10 s batching delay: nearly everything is refused.
        let d = try DaemonProcess(config: DaemonProcess.modelTable("slow", path: conv, maxBatch: 64, delayMicros: 10_000_000, queue: 4))
        defer { kill(d.process.processIdentifier, SIGKILL) }
        var request = RPCRequest(method: .infer)
        request.model = "slow"
        request.inputs = try convInputs().map { WireTensor(name: $0.key, $0.value) }
        let frame = Codec.frame(request)
        let clients = try (0..<4).map { _ in try d.client() }
        defer { for c in clients { c.close() } }
        func flood(_ rounds: Int) throws {
            // Pipelined: each client sends `rounds` frames back to back, then one
            // Health that is answered after every refusal (frames are handled in order).
            try clients.forEach { c in
                for _ in 0..<rounds { try c.sendRaw(frame) }
                XCTAssertTrue(try c.health())
            }
        }
        try flood(500)
        let before = try d.residentBytes()
        for _ in 0..<10 { try flood(500) }
        let after = try d.residentBytes()
        let stats = try clients[0].stats()
        XCTAssertTrue(stats.metrics.contains("unirt_requests_total{model=\"slow\",code=\"RESOURCE_EXHAUSTED\"} 21996"), stats.metrics)
        XCTAssertEqual(stats.models.first?.queueDepth, 4)
        XCTAssertLessThan(after - before, 16 << 20, "RSS grew from \(before) to \(after) bytes over 20000 refused requests")
    }

    func testClientThatStopsReadingIsDisconnectedAlone() throws {
        let d = try DaemonProcess(config: "max_output_bytes = 65536\n" + DaemonProcess.modelTable("conv", path: conv))
        defer { d.stop() }
        let observer = try d.client()
        defer { observer.close() }
        let stalled = try RawSocket.connect(d.socket)
        defer { close(stalled) }
        // Stats answers are a few KB each; never read them.
        let frame = Codec.frame(RPCRequest(id: 7, method: .stats))
        let answer = Codec.frame(try observer.checked(RPCRequest(method: .stats))).count
        var sent = 0
        while sent < 4000 {
            let n = frame.withUnsafeBytes { send(stalled, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n == frame.count else { break }  // the daemon hung up
            sent += 1
        }
        // Everything the daemon wrote before hanging up, then end of stream.
        var received = 0
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(stalled, &buf, buf.count, 0)
            if n <= 0 { break }
            received += n
        }
        XCTAssertLessThan(received, sent * answer / 2, "the connection was closed before all answers went out")
        XCTAssertTrue(d.logText.contains("exceed max_output_bytes 65536"), d.logText)
        XCTAssertTrue(try observer.health())
        XCTAssertEqual(try observer.infer(model: "conv", inputs: convInputs()).count, 8)
    }

    // MARK: Helpers

    /// posix_spawn with `fd3` duplicated onto descriptor 3 and stderr sent to a file.
    private func spawn(_ path: String, _ args: [String], environment: [String: String], fd3: Int32, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fd3, 3)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([path] + args).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw TransportError(.internal, "posix_spawn \(path): \(String(cString: strerror(rc)))") }
        return pid
    }

    private func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        guard waitpid(pid, &status, 0) == pid else { return -1 }
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// Plain POSIX sockets for the tests that must act below the client library.
enum RawSocket {
    static func address(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.utf8.enumerated() { p[i] = b }
        }
        return addr
    }

    static func bind(_ fd: Int32, _ path: String) throws {
        var addr = address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw TransportError(.internal, "bind \(path): \(String(cString: strerror(errno)))") }
    }

    /// A listening Unix stream socket at `path`, as systemd would pass it.
    static func listen(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try bind(fd, path)
        guard Glibc.listen(fd, 64) == 0 else { throw TransportError(.internal, "listen: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// A bound Unix datagram socket (a stand-in for $NOTIFY_SOCKET).
    static func datagram(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try bind(fd, path)
        return fd
    }

    /// A blocking stream connection to `path`.
    static func connect(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw TransportError(.internal, "connect \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    private static func inet(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return addr
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).
    static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = inet(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                Glibc.bind(fd, p, len) == 0 ? getsockname(fd, p, &len) : -1
            }
        }
        guard rc == 0 else { throw TransportError(.internal, "bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// The whole HTTP/1.0 answer to `GET path` on 127.0.0.1:port.
    static func httpGet(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = inet(port: UInt16(port))
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw TransportError(.internal, "connect 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var page = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            page += buf[0..<n]
        }
        return String(decoding: page, as: UTF8.self)
    }
}
