import Foundation
import Synchronization
import UnirtCUDA
import UnirtIR
import UnirtPlan
import UnirtRuntime
import UnirtServing
import XCTest

/// A backend standing for one device: output rows are the input rows times
/// `factor`; it refuses requests over its own limit and counts its runs.
/// With `rendezvous`, its first run waits (up to 10 s) until the other
/// backend sharing the rendezvous has started one, which proves both run at once.
final class DeviceBackend: InferenceBackend, @unchecked Sendable {
    let inputs = [ValueDecl(name: "x", dtype: .f32, dims: [.symbolic("N"), .fixed(2)])]
    let outputs = [ValueDecl(name: "y", dtype: .f32, dims: [.symbolic("N"), .fixed(2)])]
    let maxBatchSize: Int
    let batchingDisabledReason: String? = nil
    let factor: Float
    let runs = Mutex<[Int]>([])
    let rendezvous: Rendezvous?
    let side: Int

    init(maxBatchSize: Int, factor: Float = 2, rendezvous: Rendezvous? = nil, side: Int = 0) {
        self.maxBatchSize = maxBatchSize
        self.factor = factor
        self.rendezvous = rendezvous
        self.side = side
    }

    func validate(_ inputs: [String: Tensor]) throws {
        guard let x = inputs["x"], x.shape.count == 2, x.shape[1] == 2, (1...maxBatchSize).contains(x.shape[0]) else {
            throw ServingError(.invalidArgument, "input 'x' must be f32[1...\(maxBatchSize),2]")
        }
    }

    func run(_ inputs: [String: Tensor], items: Int) throws -> [String: Tensor] {
        let first = runs.withLock { r in r.append(items); return r.count == 1 }
        if first, let rendezvous { rendezvous.arrive(side) }
        let x = inputs["x"]!
        return ["y": Tensor(shape: x.shape, floats: x.floats.map { $0 * factor })]
    }
}

/// Two sides that each wait for the other to arrive. Thread-safe (NSCondition).
final class Rendezvous: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived: Set<Int> = []  // guarded by condition

    func arrive(_ side: Int) {
        condition.lock()
        arrived.insert(side)
        condition.broadcast()
        let until = Date(timeIntervalSinceNow: 10)
        while arrived.count < 2 && condition.wait(until: until) {}
        condition.unlock()
    }
}

/// Mixed CPU/GPU instance groups: the shared queue, per-instance batch limits,
/// GPU fallback, placement and the instance and GPU metrics. Fake backends, run on the CPU.
final class InstanceGroupTests: XCTestCase {
    func request(_ id: UInt64, _ value: Float, rows: Int = 1, clock: ManualClock, done: Completions) -> InferenceRequest {
        InferenceRequest(id: id, inputs: ["x": Tensor(shape: [rows, 2], floats: (0..<rows).flatMap { _ in [value, value + 1] })],
                         arrival: clock.now(), completion: done.callback(id))
    }

    /// A runner with one CPU instance (limit 4, ×2) and one GPU instance (limit 16, ×2), pumped by hand.
    func mixedRunner(clock: ManualClock, preferred: [Int] = [], metrics: MetricsRegistry = MetricsRegistry())
        -> (ModelRunner, cpu: DeviceBackend, gpu: DeviceBackend) {
        let cpu = DeviceBackend(maxBatchSize: 4), gpu = DeviceBackend(maxBatchSize: 16)
        let settings = ModelSettings(path: "fake", maxBatchSize: 4, maxQueueDelayMicros: 100, maxQueueSize: 64,
                                     preferredBatchSizes: preferred, cpuInstances: 1, gpuInstances: 1, gpuMaxBatchSize: 16)
        let runner = ModelRunner(name: "m", settings: settings,
                                 instances: [ModelInstance(device: .cpu, backend: cpu), ModelInstance(device: .gpu(0), backend: gpu)],
                                 clock: clock, metrics: metrics, startThreads: false)
        return (runner, cpu, gpu)
    }

    func testEachInstanceTakesTheNextBatchCutToItsOwnLimit() throws {
        let clock = ManualClock()
        let done = Completions()
        let metrics = MetricsRegistry()
        let (runner, cpu, gpu) = mixedRunner(clock: clock, metrics: metrics)
        for i in 1...20 { try runner.submit(request(UInt64(i), Float(i), clock: clock, done: done)) }
        XCTAssertTrue(runner.pump(instance: 0), "4 items fill the CPU instance")
        XCTAssertTrue(runner.pump(instance: 1), "16 items fill the GPU instance")
        XCTAssertFalse(runner.pump(instance: 0), "nothing left")
        XCTAssertEqual(cpu.runs.withLock { $0 }, [4])
        XCTAssertEqual(gpu.runs.withLock { $0 }, [16])
        for i in 1...20 { XCTAssertEqual(done.output(UInt64(i)), [Float(i) * 2, Float(i + 1) * 2], "request \(i)") }
        XCTAssertEqual(metrics.executionsByDevice(model: "m"), ["cpu": 1, "gpu0": 1])
        let text = metrics.render()
        XCTAssertTrue(text.contains("unirt_instance_executions_total{model=\"m\",device=\"gpu0\"} 1\n"), text)
        XCTAssertTrue(text.contains("unirt_instance_inferences_total{model=\"m\",device=\"cpu\"} 4\n"), text)
        XCTAssertTrue(text.contains("unirt_instance_inferences_total{model=\"m\",device=\"gpu0\"} 16\n"), text)
        XCTAssertTrue(text.contains("unirt_model_instances{model=\"m\",device=\"cpu\"} 1\n"), text)
        XCTAssertTrue(text.contains("unirt_executions_total{model=\"m\"} 2\n"), text)
    }

    func testGPUWaitsForItsLargerBatchWhileTheCPUIsAlreadyFull() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, cpu, gpu) = mixedRunner(clock: clock)
        for i in 1...6 { try runner.submit(request(UInt64(i), Float(i), clock: clock, done: done)) }
        XCTAssertFalse(runner.pump(instance: 1), "6 of 16: the GPU instance waits for the delay")
        XCTAssertTrue(runner.pump(instance: 0), "4 of 4: the CPU instance runs at once")
        XCTAssertFalse(runner.pump(instance: 1))
        clock.advance(100_000)
        XCTAssertTrue(runner.pump(instance: 1), "the delay passed: the GPU instance takes the rest")
        XCTAssertEqual(cpu.runs.withLock { $0 }, [4])
        XCTAssertEqual(gpu.runs.withLock { $0 }, [2])
        XCTAssertEqual(done.count, 6)
    }

    func testPreferredSizesAboveTheCPULimitCountForTheGPUOnly() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, cpu, gpu) = mixedRunner(clock: clock, preferred: [8])
        for i in 1...8 { try runner.submit(request(UInt64(i), Float(i), clock: clock, done: done)) }
        XCTAssertTrue(runner.pump(instance: 1), "8 is a preferred size for the GPU instance")
        XCTAssertEqual(gpu.runs.withLock { $0 }, [8])
        XCTAssertEqual(cpu.runs.withLock { $0 }, [])
    }

    func testRequestsAreLimitedByTheSmallestInstanceLimit() throws {
        let clock = ManualClock()
        let done = Completions()
        let (runner, _, _) = mixedRunner(clock: clock)
        XCTAssertThrowsError(try runner.submit(request(1, 1, rows: 5, clock: clock, done: done))) { e in
            XCTAssertEqual((e as? ServingError)?.code, .invalidArgument)
        }
        try runner.submit(request(2, 1, rows: 4, clock: clock, done: done))
        try runner.submit(request(3, 1, rows: 4, clock: clock, done: done))
        clock.advance(100_000)
        XCTAssertTrue(runner.pump(instance: 1), "the GPU instance combines requests past the CPU limit")
        XCTAssertEqual(done.output(3)?.count, 8)
    }

    func testCPUAndGPUInstancesComputeAtOnceUnderLoad() throws {
        let meet = Rendezvous()
        let cpu = DeviceBackend(maxBatchSize: 4, rendezvous: meet, side: 0)
        let gpu = DeviceBackend(maxBatchSize: 8, rendezvous: meet, side: 1)
        let scheduler = Scheduler(clock: SystemClock(), instanceFactory: { _, _ in
            { device in device == .cpu ? cpu : gpu }
        })
        try scheduler.load(name: "m", settings: ModelSettings(path: "fake", maxBatchSize: 4, maxQueueDelayMicros: 1_000,
                                                              cpuInstances: 1, gpuInstances: 1, gpuMaxBatchSize: 8))
        let done = Completions()
        onThreads(32) { i in
            for k in 0..<4 {
                let id = UInt64(i * 4 + k)
                let r = InferenceRequest(id: id, inputs: ["x": Tensor(shape: [1, 2], floats: [Float(id), 1])],
                                         arrival: scheduler.clock.now(), completion: done.callback(id))
                try! scheduler.submit(model: "m", r)
            }
        }
        scheduler.drainAll()
        XCTAssertEqual(done.count, 128)
        for id in 0..<UInt64(128) { XCTAssertEqual(done.output(id), [Float(id) * 2, 2]) }
        let byDevice = scheduler.metrics.executionsByDevice(model: "m")
        XCTAssertGreaterThan(byDevice["cpu"] ?? 0, 0, "\(byDevice)")
        XCTAssertGreaterThan(byDevice["gpu0"] ?? 0, 0, "\(byDevice)")
        XCTAssertTrue(gpu.runs.withLock { $0 }.allSatisfy { $0 <= 8 })
        XCTAssertTrue(cpu.runs.withLock { $0 }.allSatisfy { $0 <= 4 })
    }

    /// A factory whose GPU backends fail on the ordinals in `broken`; counts attempts per device.
    final class Factory: @unchecked Sendable {
        let broken: Set<Int>
        let attempts = Mutex<[String: Int]>([:])
        init(broken: Set<Int>) { self.broken = broken }
        var make: Scheduler.InstanceFactory {
            { _, _ in
                { device in
                    self.attempts.withLock { $0[device.description, default: 0] += 1 }
                    if case .gpu(let n) = device, self.broken.contains(n) {
                        throw ServingError(.unavailable, "no GPU \(n) on this machine")
                    }
                    return DeviceBackend(maxBatchSize: 4)
                }
            }
        }
    }

    func testMissingGPULeavesTheCPUInstancesServingAndSaysWhy() throws {
        let factory = Factory(broken: [0])
        let scheduler = Scheduler(clock: ManualClock(), instances: 0, instanceFactory: factory.make)
        try scheduler.load(name: "m", settings: ModelSettings(path: "fake", maxBatchSize: 4, cpuInstances: 1, gpuInstances: 2))
        XCTAssertEqual(factory.attempts.withLock { $0 }, ["cpu": 1, "gpu0": 1], "one failure per GPU is enough")
        let m = try XCTUnwrap(scheduler.describe().first)
        XCTAssertEqual(m.state, .ready)
        XCTAssertEqual(m.reason, "2 of 2 GPU instances not created (GPU 0: no GPU 0 on this machine); serving on 1 CPU instance")
        XCTAssertEqual(scheduler.runner("m")?.instances.map(\.device), [.cpu])
        let text = scheduler.metrics.render()
        XCTAssertTrue(text.contains("unirt_model_instances{model=\"m\",device=\"cpu\"} 1\n"), text)
        XCTAssertFalse(text.contains("device=\"gpu0\""), text)
    }

    func testGPUOnlyModelWithoutAGPUFailsToLoadNamingTheModel() throws {
        let scheduler = Scheduler(clock: ManualClock(), instances: 0, instanceFactory: Factory(broken: [0]).make)
        XCTAssertThrowsError(try scheduler.load(name: "gpuonly", settings: ModelSettings(path: "fake", cpuInstances: 0, gpuInstances: 1))) { e in
            let s = e as? ServingError
            XCTAssertEqual(s?.code, .unavailable)
            XCTAssertEqual(s?.message, "model 'gpuonly': asks for GPU instances only (instances.cpu = 0) and none could be created: GPU 0: no GPU 0 on this machine")
        }
        XCTAssertEqual(scheduler.describe().first?.state, .failed)
        XCTAssertThrowsError(try scheduler.submit(model: "gpuonly", InferenceRequest(id: 1, inputs: [:], arrival: 0) { _ in })) { e in
            XCTAssertEqual((e as? ServingError)?.code, .unavailable)
        }
    }

    func testGPUInstancesArePlacedRoundRobinAndABrokenGPUIsSkipped() throws {
        let factory = Factory(broken: [1])
        let scheduler = Scheduler(clock: ManualClock(), instances: 0, instanceFactory: factory.make)
        try scheduler.load(name: "m", settings: ModelSettings(path: "fake", maxBatchSize: 4, cpuInstances: 0, gpuInstances: 4,
                                                              gpuDevices: [0, 1]))
        XCTAssertEqual(scheduler.runner("m")?.instances.map(\.device), [.gpu(0), .gpu(0)])
        XCTAssertEqual(factory.attempts.withLock { $0 }, ["gpu0": 2, "gpu1": 1])
        XCTAssertEqual(scheduler.describe().first?.reason,
                       "2 of 4 GPU instances not created (GPU 1: no GPU 1 on this machine); serving on 2 GPU instances (gpu0)")
        XCTAssertTrue(scheduler.metrics.render().contains("unirt_model_instances{model=\"m\",device=\"gpu0\"} 2\n"))
        try scheduler.unload(name: "m")
        XCTAssertFalse(scheduler.metrics.render().contains("unirt_model_instances{model=\"m\""))
    }

    func testGPUMetricsAppearOnlyWithAProvider() {
        let m = MetricsRegistry()
        XCTAssertFalse(m.render().contains("unirt_gpu_"))
        m.setDeviceStatisticsProvider {
            [DeviceStatistics(ordinal: 0, name: "GPU \"A\"", memoryUsedBytes: 1_000, memoryTotalBytes: 8_000, utilization: 0.25),
             DeviceStatistics(ordinal: 1, name: "B", memoryUsedBytes: 2_000, memoryTotalBytes: 8_000, utilization: nil)]
        }
        let text = m.render()
        XCTAssertTrue(text.contains("# TYPE unirt_gpu_memory_used_bytes gauge\n"), text)
        XCTAssertTrue(text.contains("unirt_gpu_memory_used_bytes{gpu=\"0\",name=\"GPU \\\"A\\\"\"} 1000\n"), text)
        XCTAssertTrue(text.contains("unirt_gpu_memory_total_bytes{gpu=\"1\",name=\"B\"} 8000\n"), text)
        XCTAssertTrue(text.contains("unirt_gpu_utilization_ratio{gpu=\"0\",name=\"GPU \\\"A\\\"\"} 0.25\n"), text)
        XCTAssertFalse(text.contains("unirt_gpu_utilization_ratio{gpu=\"1\""), "no NVML reading, no line")
    }

    func testSettingsValidationNamesTheGPUFields() {
        func message(_ s: ModelSettings) -> String? {
            do { try s.validate(model: "r"); return nil } catch { return "\(error)" }
        }
        XCTAssertEqual(message(ModelSettings(path: "p", gpuInstances: 2, gpuDevices: [0, 0])), "model 'r': gpu lists a device twice")
        XCTAssertEqual(message(ModelSettings(path: "p", gpuInstances: 1, gpuDevices: [-1])), "model 'r': gpu entry -1 is outside 0...63")
        XCTAssertNil(message(ModelSettings(path: "p", gpuInstances: 1, precision: "int8")), "an int8 plan may run on GPU instances")
        XCTAssertEqual(message(ModelSettings(path: "p", gpuMaxBatchSize: 2000)), "model 'r': gpu_max_batch_size must be in 0...1024, got 2000")
        XCTAssertNil(message(ModelSettings(path: "p", maxBatchSize: 4, preferredBatchSizes: [16], gpuInstances: 1, gpuMaxBatchSize: 16)))
        XCTAssertNotNil(message(ModelSettings(path: "p", maxBatchSize: 4, preferredBatchSizes: [16], gpuInstances: 0, gpuMaxBatchSize: 16)))
        XCTAssertEqual(ModelSettings(path: "p", gpuDevices: [2, 3]).gpuOrdinal(ofInstance: 3), 3)
        XCTAssertEqual(ModelSettings(path: "p").gpuOrdinal(ofInstance: 5), 0)
    }
}

/// unirtd's `gpu` keys and the CPU-only fallback, through the real daemon.
final class GPUInstanceDaemonTests: XCTestCase {
    let conv = TestSupport.fixture("graphs/conv/model.onnx")

    func checkConfig(_ text: String) throws -> (status: Int32, out: String, err: String) {
        let dir = TestSupport.tempDir()
        let path = dir + "/unirtd.toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
        p.arguments = ["--config", path, "--check-config"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self).replacingOccurrences(of: path, with: "CFG"))
    }

    func testConfigTakesGPUPlacementAndLimit() throws {
        let ok = try checkConfig("""
            [models.r]
            path = "/m.onnx"
            instances = { cpu = 1, gpu = 2 }
            gpu = [0, 1]
            gpu_max_batch_size = 64

            """)
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertTrue(ok.out.hasSuffix(": ok, 1 models: r\n"), ok.out)
        let cases: [(String, String)] = [
            ("gpu = 0", "unirtd: error: CFG: models.r.gpu: must be an array of integers\n"),
            ("gpu = [0, 0]", "unirtd: error: CFG: model 'r': gpu lists a device twice\n"),
            ("gpu_max_batch_size = 5000", "unirtd: error: CFG: models.r.gpu_max_batch_size: must be in 0...1024, got 5000\n"),
            ("instances = { cpu = 1, gpu = 1, tpu = 1 }", "unirtd: error: CFG: models.r.instances.tpu: unknown key (known: cpu, gpu)\n"),
        ]
        for (line, expected) in cases {
            let r = try checkConfig("[models.r]\npath = \"/m.onnx\"\n\(line)\n")
            XCTAssertEqual(r.status, 2, line)
            XCTAssertEqual(r.err, expected, line)
        }
    }

    func testWithoutAGPUTheModelServesOnItsCPUInstancesAndAGPUOnlyModelFails() throws {
        if case .success = CUDALibraries.shared, !CUDADevice.computeCapabilities().isEmpty {
            throw XCTSkip("this machine has a GPU; scripts/gpu-daemon-check.sh covers GPU instances")
        }
        let d = try DaemonProcess(config: """
            [models.mixed]
            path = "\(conv)"
            max_batch_size = 4
            instances = { cpu = 1, gpu = 1 }

            [models.gpuonly]
            path = "\(conv)"
            instances = { cpu = 0, gpu = 1 }

            """, waitReady: false)
        defer { d.stop() }
        // Ready stays false with a failed model: wait until neither model is loading.
        var settled = false
        for _ in 0..<1500 where !settled {
            if let c = try? d.client() {
                defer { c.close() }
                if let models = try? c.listModels(), models.count == 2, models.allSatisfy({ $0.state != "loading" }) { settled = true }
            }
            if !settled { usleep(10_000) }
        }
        XCTAssertTrue(settled, d.logText)
        let c = try d.client()
        defer { c.close() }
        let inputs = try TestSupport.npyFolder(TestSupport.fixture("graphs/conv/in"))
        let refs = try TestSupport.npyFolder(TestSupport.fixture("graphs/conv/ref"))
        let out = try c.infer(model: "mixed", inputs: inputs)
        for (name, ref) in refs { TestSupport.assertClose(try XCTUnwrap(out[name]), ref, rtol: 1e-4, atol: 1e-5, name) }
        let models = try c.listModels()
        let mixed = try XCTUnwrap(models.first { $0.name == "mixed" })
        XCTAssertEqual(mixed.state, "ready")
        XCTAssertTrue(mixed.reason.hasPrefix("1 of 1 GPU instances not created (GPU 0: "), mixed.reason)
        XCTAssertTrue(mixed.reason.hasSuffix("); serving on 1 CPU instance"), mixed.reason)
        let gpuOnly = try XCTUnwrap(models.first { $0.name == "gpuonly" })
        XCTAssertEqual(gpuOnly.state, "failed")
        XCTAssertTrue(gpuOnly.reason.hasPrefix("asks for GPU instances only (instances.cpu = 0) and none could be created: GPU 0: "), gpuOnly.reason)
        let log = d.logText.split(separator: "\n")
        XCTAssertEqual(log.filter { $0.contains("model 'mixed'") && $0.contains("GPU instances not created") }.count, 1, d.logText)
        XCTAssertEqual(log.filter { $0.contains("model 'gpuonly': load failed: asks for GPU instances only") }.count, 1, d.logText)
        let metrics = try c.stats().metrics
        XCTAssertTrue(metrics.contains("unirt_model_instances{model=\"mixed\",device=\"cpu\"} 1\n"), metrics)
        XCTAssertTrue(metrics.contains("unirt_instance_executions_total{model=\"mixed\",device=\"cpu\"} 1\n"), metrics)
        XCTAssertFalse(metrics.contains("unirt_gpu_"), "no GPU, no GPU lines")
    }
}

/// GPU plans on a machine without that GPU: refused by `unirt run` and `unirt bench`
/// with one line and the rebuild command; the library versions survive a round trip.
final class GPUPlanCLITests: XCTestCase {
    func gpuPlan(arch: String) throws -> String {
        var rng = SeededRNG(seed: 5)
        let g = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [.fixed(1), .fixed(3), .fixed(4), .fixed(4)])],
                      outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)],
                      initializers: ["w": Tensor(shape: [2, 3, 1, 1], floats: rng.floats(6))],
                      nodes: [Node(name: "conv", op: .conv, inputs: ["x", "w"], outputs: ["y"], attributes: [:], opset: 17)])
        let p = Provenance(sourceName: "m.onnx", sourceSHA256: String(repeating: "cd", count: 32), precision: "fp16",
                           unirtVersion: "0.1.0", arch: CPUInfo.arch, gpuArch: arch,
                           gpuLibraries: ["driver": "13.0", "cudnn": "9.13.0"],
                           buildCommand: "unirt build m.onnx -o m.plan --device cuda --precision fp16",
                           createdAt: "2026-01-01T00:00:00Z")
        let path = TestSupport.tempDir() + "/m.plan"
        try PlanFile.write(Plan(graph: g, provenance: p), to: path)
        XCTAssertEqual(try PlanFile.read(path, target: nil).provenance.gpuLibraries, ["driver": "13.0", "cudnn": "9.13.0"])
        return path
    }

    func testGPUPlanForAnotherGPUIsRefusedWithTheRebuildCommand() throws {
        let here = CUDADevice.computeCapabilities()
        let path = try gpuPlan(arch: "1.0")  // no such GPU anywhere
        let x = TestSupport.tempDir() + "/x.npy"
        XCTAssertTrue(FileManager.default.createFile(atPath: x, contents: Tensor(shape: [1, 3, 4, 4], floats: [Float](repeating: 1, count: 48)).npyData()))
        let have = here.isEmpty ? "no GPU" : "GPU \(here.sorted().joined(separator: ", "))"
        let expected = "unirt: error: \(path): plan was built for GPU compute capability 1.0, this machine has \(have); "
            + "rebuild it here: unirt build m.onnx -o m.plan --device cuda --precision fp16\n"
        for args in [["run", path, "--input", "x=\(x)", "--output-dir", TestSupport.tempDir()], ["bench", path, "--iterations", "1"]] {
            let r = try TestSupport.unirt(args)
            XCTAssertEqual(r.status, 2, args[0])
            XCTAssertEqual(r.stderr, expected, args[0])
            XCTAssertEqual(r.stdout, "", args[0])
        }
    }

    func testBuildForCUDAWithoutAGPUSaysWhy() throws {
        guard CUDADevice.computeCapabilities().isEmpty else { throw XCTSkip("this machine has a GPU") }
        let r = try TestSupport.unirt(["build", TestSupport.fixture("graphs/conv/model.onnx"), "-o", TestSupport.tempDir() + "/c.plan",
                                       "--device", "cuda"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("unirt: error: --device cuda: no usable GPU 0: "), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        let int8 = try TestSupport.unirt(["build", TestSupport.fixture("graphs/conv/model.onnx"), "-o", TestSupport.tempDir() + "/c.plan",
                                          "--device", "cuda", "--precision", "int8"])
        XCTAssertEqual(int8.status, 2)
        XCTAssertTrue(int8.stderr.hasPrefix("unirt: error: --device cuda: no usable GPU 0: "), int8.stderr)
        let bench = try TestSupport.unirt(["gpu-bench", TestSupport.fixture("graphs/conv/model.onnx"), "--precision", "int8"])
        XCTAssertEqual(bench.status, 2)
        XCTAssertEqual(bench.stderr, "unirt: error: --precision int8: give the model's int8 plan with --int8-plan PLAN "
                       + "(unirt build --device cuda --precision int8)\n")
    }
}
