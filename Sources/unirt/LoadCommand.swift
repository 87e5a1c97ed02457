import ArgumentParser
import UnirtClient

/// `unirt load`: loads or replaces a model in unirtd.
struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "load", abstract: "Load (or replace) a model in unirtd.")

    @OptionGroup var daemon: DaemonOptions

    @Argument(help: "Name to serve the model under.")
    var model: String

    @Option(name: .long, help: "Model file (.onnx), as the daemon sees it.")
    var path: String

    @Option(name: .long, help: "Largest batch (0 or 1: no batching).")
    var maxBatchSize: Int = 8

    @Option(name: .long, help: "Queue delay to fill a batch, in microseconds.")
    var maxQueueDelayUs: UInt64 = 500

    @Option(name: .long, help: "Queued requests beyond this are refused.")
    var maxQueueSize: Int = 1024

    @Option(name: .long, help: "CPU instances.")
    var cpu: Int = 1

    func run() throws {
        let client = try daemon.connect()
        defer { client.close() }
        let settings = ModelSettings(path: path, maxBatchSize: maxBatchSize, maxQueueDelayMicros: maxQueueDelayUs,
                                     maxQueueSize: maxQueueSize, cpuInstances: cpu)
        let m = try client.loadModel(model, settings: settings)
        print("loaded \(model) version \(m?.version ?? 0)")
    }
}
