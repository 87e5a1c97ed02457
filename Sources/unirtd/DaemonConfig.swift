import Foundation
import TOMLKit
import UnirtServing

/// unirtd's settings: the socket, limits and the model repository, read from
/// a TOML file (Config/unirtd.toml documents every key) or the embedded default.
struct DaemonConfig: Equatable {
    var socket = "/run/unirt/unirtd.sock"
    var socketGroup: String?
    var socketMode: mode_t = 0o660
    /// Default CPU instances of a model that names none.
    var threads = 1
    var maxFrameBytes = 64 << 20
    /// Answer bytes queued for a client that stopped reading before it is disconnected.
    var maxOutputBytes = 64 << 20
    var metricsPort: Int?
    var adminUIDs: [UInt32] = []
    var models: [String: ModelSettings] = [:]

    static let topKeys: Set<String> = ["socket", "socket_group", "socket_mode", "threads", "max_frame_bytes", "max_output_bytes",
                                       "metrics_port", "admin_uids", "model_dir", "models"]
    static let modelKeys: Set<String> = ["path", "precision", "max_batch_size", "max_queue_delay_us", "max_queue_size",
                                         "preferred_batch_sizes", "queue_delay_policy", "instances", "gpu",
                                         "gpu_max_batch_size"]

    /// The fetch cache's model folder: $UNIRT_CACHE/models, else .cache/models under the working directory.
    static var cacheModels: String {
        if let c = ProcessInfo.processInfo.environment["UNIRT_CACHE"], !c.isEmpty { return c + "/models" }
        return FileManager.default.currentDirectoryPath + "/.cache/models"
    }

    /// The configuration used when no file is given: detector, recognizer and portrait from the fetch cache.
    static func embeddedDefault() -> DaemonConfig {
        var c = DaemonConfig()
        let dir = cacheModels
        c.models["detector"] = ModelSettings(path: dir + "/yunet.onnx", maxBatchSize: 4, maxQueueDelayMicros: 2000,
                                             maxQueueSize: 256)
        c.models["recognizer"] = ModelSettings(path: dir + "/sface.onnx", maxBatchSize: 16, maxQueueDelayMicros: 1000,
                                               maxQueueSize: 1024)
        c.models["portrait"] = ModelSettings(path: dir + "/multistyle26.onnx", maxBatchSize: 1, maxQueueDelayMicros: 0,
                                             maxQueueSize: 64)
        return c
    }

    /// Reads and checks a TOML file; errors name the file and the key.
    static func load(path: String) throws -> DaemonConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DaemonError("\(path): cannot read: \(error.localizedDescription)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw DaemonError("\(path):\(e.source.begin.line):\(e.source.begin.column): \(e.description)")
        }
        return try parse(table, file: path)
    }

    static func parse(_ t: TOMLTable, file: String) throws -> DaemonConfig {
        func bad(_ key: String, _ why: String) -> DaemonError { DaemonError("\(file): \(key): \(why)") }
        for k in t.keys where !topKeys.contains(k) { throw bad(k, "unknown key (known: \(topKeys.sorted().joined(separator: ", ")))") }
        var c = DaemonConfig()
        func string(_ key: String, in table: TOMLTable, _ where_: String) throws -> String? {
            guard let v = table[key] else { return nil }
            guard let s = v.string else { throw bad(where_, "must be a string") }
            return s
        }
        func int(_ key: String, in table: TOMLTable, _ where_: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = table[key] else { return nil }
            guard let i = v.int else { throw bad(where_, "must be an integer") }
            guard range.contains(i) else { throw bad(where_, "must be in \(range.lowerBound)...\(range.upperBound), got \(i)") }
            return i
        }
        func ints(_ key: String, in table: TOMLTable, _ where_: String) throws -> [Int]? {
            guard let v = table[key] else { return nil }
            guard let a = v.array else { throw bad(where_, "must be an array of integers") }
            return try a.map { e in
                guard let i = e.int else { throw bad(where_, "must be an array of integers") }
                return i
            }
        }
        if let s = try string("socket", in: t, "socket") { c.socket = s }
        c.socketGroup = try string("socket_group", in: t, "socket_group")
        if let m = try string("socket_mode", in: t, "socket_mode") {
            guard let v = mode_t(m, radix: 8), v <= 0o777 else { throw bad("socket_mode", "must be octal such as \"0660\", got '\(m)'") }
            c.socketMode = v
        }
        if let n = try int("threads", in: t, "threads", 1...256) { c.threads = n }
        if let n = try int("max_frame_bytes", in: t, "max_frame_bytes", 1024...(1 << 31)) { c.maxFrameBytes = n }
        if let n = try int("max_output_bytes", in: t, "max_output_bytes", 1024...(1 << 40)) { c.maxOutputBytes = n }
        c.metricsPort = try int("metrics_port", in: t, "metrics_port", 1...65535)
        if let u = try ints("admin_uids", in: t, "admin_uids") { c.adminUIDs = u.map { UInt32(clamping: $0) } }
        let base = (file as NSString).deletingLastPathComponent
        var modelDir = try string("model_dir", in: t, "model_dir") ?? cacheModels
        if !modelDir.hasPrefix("/") { modelDir = (base.isEmpty ? "." : base) + "/" + modelDir }
        if let models = t["models"] {
            guard let mt = models.table else { throw bad("models", "must be a table of [models.NAME] tables") }
            for name in mt.keys {
                let key = "models.\(name)"
                guard let m = mt[name]?.table else { throw bad(key, "must be a table") }
                for k in m.keys where !modelKeys.contains(k) {
                    throw bad("\(key).\(k)", "unknown key (known: \(modelKeys.sorted().joined(separator: ", ")))")
                }
                guard var path = try string("path", in: m, "\(key).path") else { throw bad("\(key).path", "missing") }
                if !path.hasPrefix("/") { path = modelDir + "/" + path }
                var s = ModelSettings(path: path, cpuInstances: c.threads)
                if let p = try string("precision", in: m, "\(key).precision") { s.precision = p }
                if let n = try int("max_batch_size", in: m, "\(key).max_batch_size", 0...1024) { s.maxBatchSize = n }
                if let n = try int("max_queue_delay_us", in: m, "\(key).max_queue_delay_us", 0...10_000_000) { s.maxQueueDelayMicros = UInt64(n) }
                if let n = try int("max_queue_size", in: m, "\(key).max_queue_size", 1...1_000_000) { s.maxQueueSize = n }
                if let p = try ints("preferred_batch_sizes", in: m, "\(key).preferred_batch_sizes") { s.preferredBatchSizes = p }
                if let p = try string("queue_delay_policy", in: m, "\(key).queue_delay_policy") {
                    guard let policy = ModelSettings.QueueDelayPolicy(rawValue: p) else {
                        throw bad("\(key).queue_delay_policy", "must be \"fixed\" or \"adaptive\", got \"\(p)\"")
                    }
                    s.queueDelayPolicy = policy
                }
                if let inst = m["instances"] {
                    guard let it = inst.table else { throw bad("\(key).instances", "must be a table such as { cpu = 2, gpu = 0 }") }
                    for k in it.keys where !["cpu", "gpu"].contains(k) { throw bad("\(key).instances.\(k)", "unknown key (known: cpu, gpu)") }
                    if let n = try int("cpu", in: it, "\(key).instances.cpu", 0...64) { s.cpuInstances = n }
                    if let n = try int("gpu", in: it, "\(key).instances.gpu", 0...64) { s.gpuInstances = n }
                }
                if let g = try ints("gpu", in: m, "\(key).gpu") { s.gpuDevices = g }
                s.gpuMaxBatchSize = try int("gpu_max_batch_size", in: m, "\(key).gpu_max_batch_size", 0...1024)
                do { try s.validate(model: name) } catch let e as ServingError { throw DaemonError("\(file): \(e.message)") }
                c.models[name] = s
            }
        }
        return c
    }
}

/// A daemon startup or configuration failure: one line naming the file and key.
struct DaemonError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}
