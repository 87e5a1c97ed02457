import ArgumentParser
import Foundation
import UnirtClient

/// `unirt health`: liveness and readiness of unirtd (exit 1 when not ready).
struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Check that unirtd is live and ready.")

    @OptionGroup var daemon: DaemonOptions

    func run() throws {
        let client = try daemon.connect()
        defer { client.close() }
        let live = try client.health()
        let ready = try client.ready()
        print("live: \(live ? "yes" : "no")\nready: \(ready ? "yes" : "no")")
        if !live || !ready { throw ExitCode(1) }
    }
}
