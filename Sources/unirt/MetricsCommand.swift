import ArgumentParser
import UnirtClient

/// `unirt metrics`: prints unirtd's metrics in Prometheus text format.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", abstract: "Print unirtd's metrics (Prometheus text).")

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let client = try daemon.connect()
        defer { client.close() }
        print(try client.stats().metrics, terminator: "")
    }
}
