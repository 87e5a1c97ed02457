import ArgumentParser
import UnirtClient

/// `unirt status`: shows one model's state, signature and serving settings.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a hosted model's state and signature.")

    @OptionGroup var daemon: DaemonOptions

    @Argument(help: "Model name.")
    var model: String

    func run() throws {
        let client = try daemon.connect()
        defer { client.close() }
        let m = try client.modelStatus(model)
        func shape(_ s: [Int64]) -> String { "[" + s.map { $0 < 0 ? "?" : String($0) }.joined(separator: ",") + "]" }
        print("model:    \(m.name) (version \(m.version))")
        print("state:    \(m.state)\(m.reason.isEmpty ? "" : " (\(m.reason))")")
        if let c = m.config {
            print("path:     \(c.path)")
            print("batching: \(m.batching ? "max \(c.maxBatchSize), delay \(c.maxQueueDelayMicros) µs" : "off"), queue \(c.maxQueueSize), instances cpu \(c.cpuInstances) gpu \(c.gpuInstances), \(c.precision)")
        }
        for t in m.inputs { print("input:    \(t.name) \(t.dtype.rawValue)\(shape(t.shape))") }
        for t in m.outputs { print("output:   \(t.name) \(t.dtype.rawValue)\(shape(t.shape))") }
    }
}
