import Foundation
import Synchronization
import UnirtClient
import UnirtIR
import XCTest

/// End-to-end: the real `unirtd` binary on a temporary socket, the real Swift client.
final class DaemonTests: XCTestCase {
    let conv = TestSupport.fixture("graphs/conv/model.onnx")
    let sface = TestSupport.fixture("graphs/sface_like/model.onnx")

    func convInputs() throws -> [String: Tensor] { try TestSupport.npyFolder(TestSupport.fixture("graphs/conv/in")) }
    func sfaceInputs() throws -> [String: Tensor] { try TestSupport.npyFolder(TestSupport.fixture("graphs/sface_like/in")) }

    func testConcurrentClientsOnSeveralModelsAreBatched() throws {
        let d = try DaemonProcess(config: DaemonProcess.modelTable("conv", path: conv, delayMicros: 20_000)
                                  + DaemonProcess.modelTable("face", path: sface, delayMicros: 20_000))
        defer { d.stop() }
        let convIn = try convInputs(), faceIn = try sfaceInputs()
        let convRef = try TestSupport.npyFolder(TestSupport.fixture("graphs/conv/ref"))
        let faceRef = try TestSupport.npyFolder(TestSupport.fixture("graphs/sface_like/ref"))
        let failures = Mutex<[String]>([])
        let results = Mutex<[(String, [String: Tensor])]>([])
        onThreads(16) { i in
            do {
                let c = try d.client()
                defer { c.close() }
                for _ in 0..<4 {
                    let model = i % 2 == 0 ? "conv" : "face"
                    let out = try c.infer(model: model, inputs: model == "conv" ? convIn : faceIn)
                    results.withLock { $0.append((model, out)) }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        for (model, out) in results.withLock({ $0 }) {
            for (name, ref) in model == "conv" ? convRef : faceRef {
                guard let got = out[name] else { XCTFail("\(model): missing output \(name)"); continue }
                TestSupport.assertClose(got, ref, rtol: 1e-4, atol: 1e-5, "\(model).\(name)")
            }
        }
        let c = try d.client()
        defer { c.close() }
        let stats = try c.stats()
        for name in ["conv", "face"] {
            let s = try XCTUnwrap(stats.models.first { $0.name == name })
            XCTAssertEqual(s.inferences, 32)
            XCTAssertLessThan(s.executions, s.inferences, "\(name): requests were batched")
            XCTAssertEqual(s.inflight, 0)
        }
        XCTAssertTrue(stats.metrics.contains("unirt_requests_total{model=\"conv\",code=\"OK\"} 32"))
        XCTAssertTrue(stats.metrics.contains("unirt_executions_total{model=\"face\"}"))
        let models = try c.listModels().map(\.name)
        XCTAssertEqual(models, ["conv", "face"])
        XCTAssertEqual(try c.modelStatus("face").inputs.first?.shape, [1, 3, 15, 15])
    }

    func testOverloadDeadlineAndMalformedFrames() throws {
        let d = try DaemonProcess(config: DaemonProcess.modelTable("slow", path: conv, maxBatch: 64, delayMicros: 300_000, queue: 4)
                                  + DaemonProcess.modelTable("face", path: sface, maxBatch: 1, delayMicros: 0))
        defer { d.stop() }
        let convIn = try convInputs()
        let observer = try d.client()
        defer { observer.close() }

        // Overload: 4 fit in the queue, the rest are refused at once.
        let codes = Mutex<[RPCCode]>([])
        onThreads(12) { _ in
            let c = try! d.client()
            defer { c.close() }
            let r = try! c.rawInfer(model: "slow", inputs: convIn)
            codes.withLock { $0.append(r.code) }
        }
        let all = codes.withLock { $0 }
        XCTAssertEqual(all.count, 12)
        XCTAssertTrue(all.contains(.resourceExhausted), "\(all)")
        XCTAssertTrue(all.contains(.ok), "\(all)")
        XCTAssertEqual(all.filter { $0 == .ok }.count + all.filter { $0 == .resourceExhausted }.count, 12)

        // Deadline shorter than the batching delay: answered DEADLINE_EXCEEDED, never computed.
        let before = try observer.stats().models.first { $0.name == "slow" }!.inferences
        let late = try observer.rawInfer(model: "slow", inputs: convIn, timeoutMicros: 1_000)
        XCTAssertEqual(late.code, .deadlineExceeded, late.message)
        XCTAssertEqual(try observer.stats().models.first { $0.name == "slow" }!.inferences, before)

        // Malformed frames; the observer keeps being served throughout.
        let faceIn = try sfaceInputs()
        let bad = try d.client()
        let garbage = try bad.sendRawAwaitingConnectionError([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
        XCTAssertEqual(garbage.code, .invalidArgument)
        XCTAssertTrue(try bad.health(), "a well-framed bad message keeps the connection")
        var unknown = RPCRequest(method: .health)
        unknown.methodNumber = 99
        XCTAssertEqual(try bad.call(unknown).code, .unimplemented)
        var wrongSize = RPCRequest(method: .infer)
        wrongSize.model = "face"
        wrongSize.inputs = [WireTensor(name: "data", dtype: .f32, shape: [1, 3, 15, 15], data: [0, 0, 0, 0])]
        let ws = try bad.call(wrongSize)
        XCTAssertEqual(ws.code, .invalidArgument)
        XCTAssertTrue(ws.message.contains("'data'"), ws.message)
        XCTAssertEqual(try bad.rawInfer(model: "missing", inputs: faceIn).code, .notFound)
        XCTAssertEqual(try bad.rawInfer(model: "face", inputs: ["nope": Tensor(shape: [1], floats: [0])]).code, .invalidArgument)
        // An oversized length prefix: error answer, then the daemon hangs up.
        let huge = try bad.sendRawAwaitingConnectionError([0xff, 0xff, 0xff, 0x7f])
        XCTAssertEqual(huge.code, .resourceExhausted)
        XCTAssertThrowsError(try bad.health())
        // A truncated frame followed by a hang-up.
        let trunc = try d.client()
        try trunc.sendRaw(Array(Codec.frame(RPCRequest(id: 5, method: .health)).dropLast(2)))
        trunc.close()
        XCTAssertTrue(try observer.health())
        XCTAssertEqual(try observer.infer(model: "face", inputs: faceIn).count, 1)
    }

    func testClientDisconnectMidRequestCancelsQueuedWork() throws {
        let d = try DaemonProcess(config: DaemonProcess.modelTable("slow", path: conv, maxBatch: 64, delayMicros: 500_000))
        defer { d.stop() }
        let quitter = try d.client()
        var r = RPCRequest(id: 1, method: .infer)
        r.model = "slow"
        r.inputs = try convInputs().map { WireTensor(name: $0.key, $0.value) }
        try quitter.sendRaw(Codec.frame(r))
        let observer = try d.client()
        defer { observer.close() }
        // Wait until the daemon has queued it, then disconnect.
        for _ in 0..<500 where try observer.stats().models.first?.inflight != 1 { usleep(2_000) }
        quitter.close()
        for _ in 0..<500 where try observer.stats().models.first?.inflight != 0 { usleep(2_000) }
        let s = try observer.stats()
        XCTAssertEqual(s.models.first?.inflight, 0)
        XCTAssertTrue(s.metrics.contains("code=\"CANCELLED\"} 1"), s.metrics)
        XCTAssertEqual(s.models.first?.inferences, 0, "the cancelled request was never computed")
        XCTAssertTrue(try observer.health())
    }

    func testReloadUnderLoadLosesNothingAndTermDrains() throws {
        let d = try DaemonProcess(config: DaemonProcess.modelTable("conv", path: conv, delayMicros: 1_000))
        let convIn = try convInputs()
        let stop = Atomic<Bool>(false)
        let codes = Mutex<[RPCCode: Int]>([:])
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                guard let c = try? d.client() else { return }
                defer { c.close() }
                while !stop.load(ordering: .relaxed) {
                    let code = (try? c.rawInfer(model: "conv", inputs: convIn).code) ?? .unknown
                    codes.withLock { $0[code, default: 0] += 1 }
                }
            }.start()
        }
        // Replace conv (new batch size) and add a second model while requests flow.
        try ("socket = \"\(d.socket)\"\n" + DaemonProcess.modelTable("conv", path: conv, maxBatch: 4, delayMicros: 500)
             + DaemonProcess.modelTable("face", path: sface)).write(toFile: d.configPath, atomically: true, encoding: .utf8)
        d.signal(SIGHUP)
        let c = try d.client()
        var versions: [String: Int64] = [:]
        for _ in 0..<1000 {
            versions = Dictionary(uniqueKeysWithValues: try c.listModels().filter { $0.state == "ready" }.map { ($0.name, $0.version) })
            if versions["face"] != nil && versions["conv"] == 2 { break }
            usleep(10_000)
        }
        XCTAssertEqual(versions["conv"], 2, d.logText)
        XCTAssertNotNil(versions["face"])
        stop.store(true, ordering: .relaxed)
        group.wait()
        let seen = codes.withLock { $0 }
        XCTAssertEqual(seen.keys.sorted { $0.rawValue < $1.rawValue }, [.ok], "\(seen)")
        XCTAssertGreaterThan(seen[.ok] ?? 0, 0)

        // SIGTERM with requests queued: they are computed and answered, then exit 0.
        try ("socket = \"\(d.socket)\"\n" + DaemonProcess.modelTable("conv", path: conv, maxBatch: 64, delayMicros: 400_000))
            .write(toFile: d.configPath, atomically: true, encoding: .utf8)
        d.signal(SIGHUP)
        for _ in 0..<1000 where (try c.modelStatus("conv").version) != 3 { usleep(10_000) }
        let answers = Mutex<[RPCCode]>([])
        let pending = DispatchGroup()
        for _ in 0..<3 {
            pending.enter()
            Thread {
                defer { pending.leave() }
                let r = (try? c.rawInfer(model: "conv", inputs: convIn).code) ?? .unknown
                answers.withLock { $0.append(r) }
            }.start()
        }
        for _ in 0..<500 where try c.stats().models.first { $0.name == "conv" }?.queueDepth != 3 { usleep(2_000) }
        XCTAssertEqual(d.stop(), 0, d.logText)
        pending.wait()
        XCTAssertEqual(answers.withLock { $0 }, [.ok, .ok, .ok])
        XCTAssertFalse(FileManager.default.fileExists(atPath: d.socket), "socket file removed on exit")
        c.close()
    }

    func testLoadUnloadAndPermissionDenied() throws {
        let d = try DaemonProcess(config: "socket_mode = \"0666\"\n" + DaemonProcess.modelTable("face", path: sface))
        defer { d.stop() }
        let c = try d.client()
        defer { c.close() }
        let info = try c.loadModel("extra", settings: ModelSettings(path: conv, maxBatchSize: 2))
        XCTAssertEqual(info?.state, "ready")
        XCTAssertEqual(try c.infer(model: "extra", inputs: convInputs()).count, 8)
        try c.unloadModel("extra")
        XCTAssertThrowsError(try c.unloadModel("extra")) { e in XCTAssertEqual((e as? TransportError)?.code, .notFound) }
        XCTAssertThrowsError(try c.loadModel("bad", settings: ModelSettings(path: "/nonexistent.onnx"))) { e in
            XCTAssertEqual((e as? TransportError)?.code, .invalidArgument)
        }

        // A second uid: through the CLI run as nobody.
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv to act as a second uid")
        }
        chmod(d.dir, 0o755)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", TestSupport.unirtBinary,
                       "unload", "--socket", d.socket, "face"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = Pipe()
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 2, text)
        XCTAssertTrue(text.contains("PERMISSION_DENIED"), text)
        XCTAssertEqual(try c.modelStatus("face").state, "ready")
    }

    func testSharedMemoryTensorsMatchInline() throws {
        let d = try DaemonProcess(config: DaemonProcess.modelTable("conv", path: conv))
        defer { d.stop() }
        let c = try d.client()
        defer { c.close() }
        let inputs = try convInputs()
        let inline = try c.infer(model: "conv", inputs: inputs)
        let region = try c.registerRegion(size: 1 << 20)
        let shared = try c.inferShared(model: "conv", inputs: inputs, region: region)
        XCTAssertEqual(Set(shared.keys), Set(inline.keys))
        for (k, t) in inline { XCTAssertEqual(shared[k]?.floats, t.floats, k) }
        var r = RPCRequest(method: .infer)
        r.model = "conv"
        r.inputs = [WireTensor(name: "x", dtype: .f32, shape: [1, 6, 13, 11], shm: ShmRef(region: region.id, offset: 1 << 20, length: 4))]
        XCTAssertEqual(try c.call(r).code, .invalidArgument)
        try c.unregisterRegion(region)
    }

    func testNotifySocketGetsReadyAndCLIWorks() throws {
        let dir = TestSupport.tempDir()
        let path = dir + "/notify"
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.utf8.enumerated() { p[i] = b }
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        defer { close(fd) }
        let d = try DaemonProcess(config: DaemonProcess.modelTable("face", path: sface), environment: ["NOTIFY_SOCKET": path])
        var buf = [UInt8](repeating: 0, count: 512)
        let n = recv(fd, &buf, buf.count, 0)
        XCTAssertTrue(String(decoding: buf[0..<max(0, n)], as: UTF8.self).hasPrefix("READY=1"))

        let out = TestSupport.tempDir()
        let r = try TestSupport.unirt(["infer", "--socket", d.socket, "--model", "face", "--input",
                                       "data=" + TestSupport.fixture("graphs/sface_like/in/data.npy"), "--output-dir", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "fc1 f32[1, 12] -> \(out)/fc1.npy\n")
        let h = try TestSupport.unirt(["health", "--socket", d.socket])
        XCTAssertEqual(h.stdout, "live: yes\nready: yes\n")
        let m = try TestSupport.unirt(["models", "--socket", d.socket])
        XCTAssertTrue(m.stdout.hasPrefix("face\tv1\tready\tbatch 8\t"), m.stdout)
        let missing = try TestSupport.unirt(["status", "--socket", d.socket, "nope"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.stderr, "unirt: error: NOT_FOUND: no model named 'nope'\n")
        let down = try TestSupport.unirt(["health", "--socket", dir + "/none.sock"])
        XCTAssertEqual(down.status, 1)
        XCTAssertEqual(d.stop(), 0)
        var stopping = false
        for _ in 0..<4 {
            let k = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            if k > 0 && String(decoding: buf[0..<k], as: UTF8.self).contains("STOPPING=1") { stopping = true }
        }
        XCTAssertTrue(stopping)
    }

    func testRealRecognizerThroughDaemon() throws {
        let model = TestSupport.cacheDir.appendingPathComponent("models/sface.onnx").path
        let refDir = TestSupport.cacheDir.appendingPathComponent("refs/sface").path
        guard FileManager.default.fileExists(atPath: model), FileManager.default.fileExists(atPath: refDir + "/in") else {
            if TestSupport.requireModels { XCTFail("missing \(model) or its references") }
            throw XCTSkip("real models not fetched")
        }
        let d = try DaemonProcess(config: DaemonProcess.modelTable("recognizer", path: model))
        defer { d.stop() }
        let c = try d.client()
        defer { c.close() }
        let inputs = try TestSupport.npyFolder(refDir + "/in")
        let refs = try TestSupport.npyFolder(refDir + "/ref")
        let out = try c.infer(model: "recognizer", inputs: inputs)
        for (name, ref) in refs {
            TestSupport.assertClose(try XCTUnwrap(out[name]), ref, rtol: 1e-3, atol: 1e-4, "recognizer.\(name)")
        }
    }
}
