import ArgumentParser
import UnirtClient

/// `unirt models`: lists the models unirtd hosts.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "List the models unirtd hosts.")

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let client = try daemon.connect()
        defer { client.close() }
        for m in try client.listModels() {
            let batch = m.batching ? "batch \(m.config?.maxBatchSize ?? 1)" : "no batching"
            print("\(m.name)\tv\(m.version)\t\(m.state)\t\(batch)\t\(m.config?.path ?? "")")
        }
    }
}
