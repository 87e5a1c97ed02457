import ArgumentParser
import UnirtClient

/// `unirt unload`: unloads a model from unirtd after its queue drains.
struct UnloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unload", abstract: "Unload a model from unirtd.")

    @OptionGroup var daemon: DaemonOptions

    @Argument(help: "Model name.")
    var model: String

    func run() throws {
        let client = try daemon.connect()
        defer { client.close() }
        try client.unloadModel(model)
        print("unloaded \(model)")
    }
}
