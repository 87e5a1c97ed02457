import ArgumentParser
import UnirtClient

/// The `--socket` option shared by the commands that talk to unirtd.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "unirtd's Unix socket.")
    var socket: String = "/run/unirt/unirtd.sock"

    func connect() throws -> DaemonClient {
        try DaemonClient(socketPath: socket)
    }
}
