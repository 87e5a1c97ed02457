import CUV
import Foundation

/// sd_notify(3) without libsystemd: datagrams to $NOTIFY_SOCKET, plus the
/// socket-activation ($LISTEN_FDS) and watchdog ($WATCHDOG_USEC) variables.
struct SystemdNotifier {
    let socketPath: String?
    /// Half the watchdog interval, in milliseconds, when systemd asks for pings.
    let watchdogIntervalMs: UInt64?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let pidMatches = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if pidMatches, let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0 {
            watchdogIntervalMs = max(1, usec / 2000)
        } else {
            watchdogIntervalMs = nil
        }
    }

    /// Sends `state` (e.g. "READY=1"); silently does nothing outside systemd.
    func notify(_ state: String) {
        guard let socketPath else { return }
        _ = unirt_sock_send_datagram(socketPath, state)
    }

    /// The listening socket passed by systemd, if any: fd 3 when LISTEN_FDS ≥ 1
    /// and LISTEN_PID (when set) is this process. Clears the variables.
    static func listenFD() throws -> Int32? {
        let env = ProcessInfo.processInfo.environment
        guard let n = env["LISTEN_FDS"].flatMap(Int.init), n >= 1 else { return nil }
        if let pid = env["LISTEN_PID"], Int32(pid) != getpid() { return nil }
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_PID")
        unsetenv("LISTEN_FDNAMES")
        if n > 1 { throw DaemonError("LISTEN_FDS: expected one socket, got \(n)") }
        _ = fcntl(3, F_SETFD, FD_CLOEXEC)
        return 3
    }
}
