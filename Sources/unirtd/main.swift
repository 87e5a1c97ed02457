import ArgumentParser
import CUV
import Foundation

// Tensors of 100 KB and more are allocated and freed on every request. Above
// glibc's default 128 KB mmap threshold each one would be a fresh mmap whose
// pages fault in again (measured: a 150 KB input cost ~100 µs more); keep them
// on the heap and let freed memory be reused instead of trimmed.
unirt_malloc_tune(32 << 20, 128 << 20)

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
