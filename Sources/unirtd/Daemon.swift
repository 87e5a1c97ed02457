import ArgumentParser
import CUV
import Foundation
import Logging
import UnirtCUDA
import UnirtIR
import UnirtONNX
import UnirtOptimizer
import UnirtPlan
import UnirtRuntime
import UnirtServing
import UnirtTransport

/// `unirtd`: serves models over a Unix socket.
struct Daemon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unirtd",
        abstract: "Serve unirt models to clients over a Unix socket.",
        discussion: """
            Signals: SIGHUP re-reads the config and loads, replaces or unloads models without dropping \
            requests; SIGTERM (or SIGINT) stops accepting, finishes queued requests and exits 0.
            """)

    @Option(name: .long, help: "Model repository (TOML). Without it the embedded default serves detector, recognizer and portrait from the fetch cache.")
    var config: String?

    @Option(name: .long, help: "Unix socket path (overrides the config; default /run/unirt/unirtd.sock).")
    var socket: String?

    @Option(name: .long, help: "Also serve Prometheus metrics on http://127.0.0.1:PORT/metrics.")
    var metricsPort: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Flag(name: .long, help: "Check the config and exit.")
    var checkConfig = false

    func run() throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level: unknown level '\(logLevel)'")
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "unirtd")
        var cfg = try readConfig()
        if let socket { cfg.socket = socket }
        if let metricsPort { cfg.metricsPort = metricsPort }
        if checkConfig {
            print("\(config ?? "embedded default"): ok, \(cfg.models.count) models: \(cfg.models.keys.sorted().joined(separator: ", "))")
            return
        }
        signal(SIGPIPE, SIG_IGN)

        let scheduler = Scheduler(clock: SystemClock(), logger: logger, instanceFactory: Self.instanceFactory(logger: logger))
        scheduler.metrics.setDeviceStatisticsProvider(Self.gpuStatistics)
        var options = ServerOptions(socketPath: cfg.socket)
        options.listenFD = try SystemdNotifier.listenFD()
        options.socketMode = cfg.socketMode
        options.maxFrameSize = cfg.maxFrameBytes
        options.maxQueuedOutputBytes = cfg.maxOutputBytes
        options.metricsPort = cfg.metricsPort
        options.extraAdminUIDs = Set(cfg.adminUIDs)
        if let g = cfg.socketGroup {
            guard let gr = getgrnam(g) else { throw DaemonError("socket_group: no group named '\(g)'") }
            options.socketGroup = gr.pointee.gr_gid
        }
        if options.listenFD == nil {
            let dir = (cfg.socket as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let server = Server(options: options, scheduler: scheduler, logger: logger)
        do {
            try server.listen()
        } catch let e as TransportError {
            throw DaemonError(e.message)
        }
        let notifier = SystemdNotifier()
        logger.info("listening on \(options.listenFD.map { "socket-activated fd \($0)" } ?? cfg.socket)")

        // Models load off the loop so that Health answers at once and Ready turns true when done.
        let models = cfg.models
        Thread {
            for failure in scheduler.reconcile(models) { logger.error("\(failure)") }
            server.startupFinished()
            notifier.notify("READY=1\nSTATUS=serving \(scheduler.describe().filter { $0.state == .ready }.count) models")
            logger.info("ready")
        }.start()

        let configPath = config
        let reloading = ReloadGate()
        server.onSignal(SIGHUP) {
            guard reloading.begin() else { logger.warning("SIGHUP: a reload is already running"); return }
            notifier.notify("RELOADING=1")
            Thread {
                defer { reloading.end(); notifier.notify("READY=1") }
                do {
                    var next = try configPath.map { try DaemonConfig.load(path: $0) } ?? DaemonConfig.embeddedDefault()
                    if let socket = self.socket { next.socket = socket }
                    logger.info("SIGHUP: reloading \(configPath ?? "embedded default")")
                    for failure in scheduler.reconcile(next.models) { logger.error("\(failure)") }
                    unirt_malloc_release()  // models the new configuration dropped were just freed
                    logger.info("reload done: \(scheduler.describe().map { "\($0.name)=\($0.state.rawValue)" }.joined(separator: " "))")
                } catch {
                    logger.error("SIGHUP: keeping the current models: \(error)")
                }
            }.start()
        }
        let stop = {
            logger.info("stopping: draining queued requests")
            notifier.notify("STOPPING=1")
            server.drainAndStop { logger.info("drained; exiting") }
        }
        server.onSignal(SIGTERM, stop)
        server.onSignal(SIGINT, stop)
        if let ms = notifier.watchdogIntervalMs {
            server.every(milliseconds: ms) { notifier.notify("WATCHDOG=1") }
        }
        server.run()
    }

    private func readConfig() throws -> DaemonConfig {
        if let config { return try DaemonConfig.load(path: config) }
        let cfg = DaemonConfig.embeddedDefault()
        let missing = cfg.models.values.filter { !FileManager.default.fileExists(atPath: $0.path) }
        if !missing.isEmpty {
            let script = FileManager.default.currentDirectoryPath + "/scripts/fetch-models.sh"
            if FileManager.default.isExecutableFile(atPath: script) {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: script)
                try p.run()
                p.waitUntilExit()
            }
        }
        return cfg
    }

    /// A model file as loaded: the graph, and for GPU plans the precision they were built at.
    struct LoadedModel {
        var graph: Graph
        /// Set for plans built with `--device cuda`: their GPU instances run at this precision.
        var gpuPrecision: CUDAPrecision?
    }

    /// Reads a model file: a plan (checked against this machine's CPU and, for
    /// GPU plans, its GPUs) or an ONNX model, optimized at the default level.
    static func loadModel(_ path: String) throws -> LoadedModel {
        if let h = FileHandle(forReadingAtPath: path),
           PlanFile.isPlan((try? h.read(upToCount: 8)) ?? Data()) {
            try? h.close()
            let target = PlanTarget(arch: CPUInfo.arch, cpuFeatures: CPUInfo.features,
                                    gpuArchs: CUDADevice.computeCapabilities(), unirtVersion: "0.1.0")
            let plan = try PlanFile.read(path, target: target)
            CUDAModule.offer(plan.kernelImages)
            CUDATacticCache.offer(plan.gpuTactics)
            let gpu = plan.provenance.gpuArch == nil ? nil : CUDAPrecision(rawValue: plan.provenance.precision)
            return LoadedModel(graph: plan.graph, gpuPrecision: gpu)
        }
        let graph = try ONNXModel(contentsOf: path).graph
        return LoadedModel(graph: try Optimizer(level: .extended).optimize(graph).0, gpuPrecision: nil)
    }

    /// The backends handed to the serving core: the model is read once; CPU
    /// instances share a `SessionBackend`, each GPU instance gets a `GPUBackend`
    /// (its own plans) at the plan's precision, else the model's `precision`.
    static func instanceFactory(logger: Logger) -> Scheduler.InstanceFactory {
        { name, settings in
            let model = try loadModel(settings.path)
            return { device in
                switch device {
                case .cpu:
                    return SessionBackend(graph: model.graph, maxBatchSize: settings.maxBatchSize, logger: logger)
                case .gpu(let ordinal):
                    guard let precision = model.gpuPrecision ?? CUDAPrecision(rawValue: settings.precision) else {
                        throw ServingError(.invalidArgument, "GPU instances run fp32, fp16 or int8, not \(settings.precision)")
                    }
                    if precision == .int8, !model.graph.nodes.contains(where: { FusedConvOp.inputScale($0) != nil }) {
                        throw ServingError(.invalidArgument, "precision int8 on a GPU needs an int8 plan as path "
                                           + "(unirt build --precision int8 --calib ...); \(settings.path) has no int8 layers")
                    }
                    do {
                        return try GPUBackend(graph: model.graph, maxBatchSize: settings.gpuMaxBatchSize ?? settings.maxBatchSize,
                                              ordinal: ordinal, precision: precision, logger: logger)
                    } catch let e as CUDAError {
                        throw ServingError(.unavailable, e.message, cause: e)
                    }
                }
            }
        }
    }

    /// Memory (cuMemGetInfo) and utilization (NVML, when present) of every GPU
    /// that has hosted an instance; empty when none has.
    @Sendable static func gpuStatistics() -> [DeviceStatistics] {
        GPUBackend.devicesUsed.compactMap { d in
            guard let mem = try? d.memoryInfo() else { return nil }
            return DeviceStatistics(ordinal: d.ordinal, name: d.name, memoryUsedBytes: mem.total - mem.free,
                                    memoryTotalBytes: mem.total, utilization: d.utilization())
        }
    }
}

/// Lets one SIGHUP reload run at a time. Thread-safe (a lock guards the flag).
final class ReloadGate: @unchecked Sendable {
    private let lock = NSLock()
    private var running = false  // guarded by lock
    func begin() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if running { return false }
        running = true
        return true
    }
    func end() {
        lock.lock(); running = false; lock.unlock()
    }
}
