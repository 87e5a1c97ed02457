import ArgumentParser
import Foundation

// One line on stderr and exit 2 for bad configuration, 1 for failures while running.
do {
    var command = try Daemon.parseAsRoot()
    try command.run()
    exit(0)
} catch let e as DaemonError {
    FileHandle.standardError.write(Data("unirtd: error: \(e.message)\n".utf8))
    exit(2)
} catch {
    Daemon.exit(withError: error)
}
