import CUV
import Foundation
import Logging
import Synchronization
import UnirtServing

/// How the daemon's socket is set up.
public struct ServerOptions: Sendable {
    /// Path of the Unix socket to create (ignored when `listenFD` is given).
    public var socketPath: String
    /// An already listening socket passed by systemd (LISTEN_FDS), used instead of creating one.
    public var listenFD: Int32?
    /// Permission bits of the created socket.
    public var socketMode: mode_t = 0o660
    /// Group that owns the created socket; nil keeps the daemon's group.
    public var socketGroup: gid_t?
    /// Largest frame payload accepted, in bytes.
    public var maxFrameSize: Int = Codec.defaultMaxFrameSize
    /// Besides root and the daemon's own uid, uids allowed to load and unload models.
    public var extraAdminUIDs: Set<uid_t> = []
    /// Serve Prometheus metrics over HTTP on 127.0.0.1 at this port.
    public var metricsPort: Int?
    /// Most answer bytes queued for one connection that has stopped reading; beyond
    /// this the connection is closed (its queued requests cancelled) so that one
    /// stalled client cannot grow the daemon's memory. One answer larger than
    /// this is still delivered when nothing else is queued.
    public var maxQueuedOutputBytes: Int = 64 << 20

    public init(socketPath: String) { self.socketPath = socketPath }
}

/// The daemon's I/O: one libuv loop thread owning the listening socket, every
/// connection, signal handlers and timers. Requests are decoded and answered
/// on the loop; inference runs on the scheduler's instance threads, whose
/// completions come back through `post` (a mutex-guarded queue plus uv_async).
///
/// Thread ownership: everything except `post` and `pending` belongs to the
/// thread that calls `run()`. `pending` is guarded by its mutex.
public final class Server: @unchecked Sendable {
    public let options: ServerOptions
    public let scheduler: Scheduler
    let logger: Logger
    let loop: UnsafeMutablePointer<uv_loop_t>
    private let async: UnsafeMutablePointer<uv_async_t>
    private let pending = Mutex<[@Sendable () -> Void]>([])
    private var listener: UnsafeMutablePointer<uv_poll_t>?
    private var listenFD: Int32 = -1
    private var createdSocket = false
    private var handles: [UnsafeMutableRawPointer] = []  // signals and timers, closed on stop
    private var signalHandlers: [Int32: () -> Void] = [:]
    var connections: [UInt64: Connection] = [:]
    private var nextConnectionID: UInt64 = 1
    /// Set once SIGTERM handling starts: no new inference is accepted.
    public private(set) var draining = false
    /// Set when the first load of the configured models has finished (any thread):
    /// until then Ready is false even though no model is registered yet.
    private let startupDone = Atomic<Bool>(false)
    private var metricsListener: MetricsHTTPListener?

    /// Prepares the loop; call `run()` on the thread that should own it.
    public init(options: ServerOptions, scheduler: Scheduler, logger: Logger) {
        self.options = options
        self.scheduler = scheduler
        self.logger = logger
        loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        uv_loop_init(loop)
        async = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
        uv_async_init(loop, async) { h in
            Unmanaged<Server>.fromOpaque(h!.pointee.data).takeUnretainedValue().runPending()
        }
        async.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        uv_loop_close(loop)
        loop.deallocate()
        async.deallocate()
    }

    /// Marks the first load of the configured models as finished, so that Ready
    /// can turn true. Thread-safe.
    public func startupFinished() { startupDone.store(true, ordering: .releasing) }

    /// Whether the configured models have been loaded once. Thread-safe.
    public var hasStarted: Bool { startupDone.load(ordering: .acquiring) }

    /// Runs `work` on the loop thread soon. Thread-safe.
    public func post(_ work: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(work) }
        uv_async_send(async)
    }

    private func runPending() {
        let work = pending.withLock { q -> [@Sendable () -> Void] in
            defer { q.removeAll(keepingCapacity: true) }
            return q
        }
        for w in work { w() }
    }

    /// Calls `handler` on the loop thread when `signal` arrives. Before `run()`.
    public func onSignal(_ signal: Int32, _ handler: @escaping () -> Void) {
        let h = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
        uv_signal_init(loop, h)
        h.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        signalHandlers[signal] = handler
        uv_signal_start(h, { h, signum in
            let s = Unmanaged<Server>.fromOpaque(h!.pointee.data).takeUnretainedValue()
            s.signalHandlers[signum]?()
        }, signal)
        handles.append(UnsafeMutableRawPointer(h))
    }

    /// Calls `handler` on the loop thread every `milliseconds`. Before `run()`.
    public func every(milliseconds: UInt64, _ handler: @escaping () -> Void) {
        let h = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
        uv_timer_init(loop, h)
        let box = TimerBox(handler)
        h.pointee.data = Unmanaged.passRetained(box).toOpaque()
        uv_timer_start(h, { h in
            Unmanaged<TimerBox>.fromOpaque(h!.pointee.data).takeUnretainedValue().handler()
        }, milliseconds, milliseconds)
        handles.append(UnsafeMutableRawPointer(h))
    }

    /// Opens (or adopts) the listening socket. Call before `run()`; throws
    /// UNAVAILABLE naming the path when it cannot listen.
    public func listen() throws {
        if let fd = options.listenFD {
            guard unirt_sock_is_unix_listener(fd) != 0 else {
                throw TransportError(.unavailable, "LISTEN_FDS: descriptor \(fd) is not a listening Unix stream socket")
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            listenFD = fd
        } else {
            listenFD = try bindSocket(options.socketPath)
            createdSocket = true
        }
        let p = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
        uv_poll_init_socket(loop, p, listenFD)
        p.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_poll_start(p, Int32(UV_READABLE.rawValue)) { h, _, _ in
            Unmanaged<Server>.fromOpaque(h!.pointee.data).takeUnretainedValue().acceptAll()
        }
        listener = p
        if let port = options.metricsPort {
            metricsListener = try MetricsHTTPListener(port: port, server: self)
        }
    }

    private func bindSocket(_ path: String) throws -> Int32 {
        func fail(_ what: String) -> TransportError {
            TransportError(.unavailable, "socket \(path): \(what): \(String(cString: strerror(errno)))")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw fail("socket") }
        // A leftover socket file from a previous run is replaced; a live daemon is not.
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else { close(fd); throw TransportError(.unavailable, "socket \(path): exists and is not a socket") }
            let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let live = unirt_sock_connect_unix(probe, path) == 0
            close(probe)
            if live { close(fd); throw TransportError(.unavailable, "socket \(path): another daemon is listening there") }
            unlink(path)
        }
        guard unirt_sock_bind_unix(fd, path) == 0 else { let e = fail("bind"); close(fd); throw e }
        guard chmod(path, options.socketMode) == 0 else { let e = fail("chmod"); close(fd); throw e }
        if let g = options.socketGroup, chown(path, uid_t.max, g) != 0 {
            let e = fail("chown to group \(g)"); close(fd); throw e
        }
        guard Glibc.listen(fd, 512) == 0 else { let e = fail("listen"); close(fd); throw e }
        return fd
    }

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        uv_run(loop, UV_RUN_DEFAULT)
        // Let close callbacks finish.
        uv_run(loop, UV_RUN_DEFAULT)
    }

    private func acceptAll() {
        while true {
            let fd = unirt_sock_accept(listenFD, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    logger.warning("accept failed: \(String(cString: strerror(errno)))")
                }
                return
            }
            var uid: UInt32 = 0, pid: Int32 = 0
            _ = unirt_sock_peer(fd, &uid, &pid)
            let id = nextConnectionID
            nextConnectionID += 1
            let c = Connection(id: id, fd: fd, uid: uid, pid: pid, server: self)
            connections[id] = c
            c.start()
        }
    }

    /// Whether a peer may load and unload models: root, the daemon's uid, or a listed uid.
    func isAdmin(_ uid: uid_t) -> Bool {
        uid == 0 || uid == getuid() || options.extraAdminUIDs.contains(uid)
    }

    /// Stops accepting connections and removes the socket file. Loop thread.
    public func stopAccepting() {
        guard let l = listener else { return }
        uv_poll_stop(l)
        uv_close(UnsafeMutableRawPointer(l).assumingMemoryBound(to: uv_handle_t.self)) { h in h?.deallocate() }
        listener = nil
        close(listenFD)
        if createdSocket { unlink(options.socketPath) }
        metricsListener?.close()
        metricsListener = nil
    }

    /// SIGTERM: stops accepting, refuses new inference, computes everything
    /// queued, delivers the answers and stops the loop; then `done` runs on the loop.
    public func drainAndStop(_ done: @escaping () -> Void) {
        guard !draining else { return }
        draining = true
        stopAccepting()
        let scheduler = self.scheduler
        let doneBox = UncheckedBox(done)
        Thread { [self] in
            scheduler.drainAll()
            post { [self] in
                for c in Array(connections.values) { c.flushBlocking() }
                doneBox.value()
                stop()
            }
        }.start()
    }

    /// Closes every handle so that `run()` returns. Loop thread.
    public func stop() {
        stopAccepting()
        for c in Array(connections.values) { c.close() }
        for h in handles {
            uv_close(h.assumingMemoryBound(to: uv_handle_t.self)) { h in h?.deallocate() }
        }
        handles.removeAll()
        uv_close(UnsafeMutableRawPointer(async).assumingMemoryBound(to: uv_handle_t.self), nil)
    }

    func connectionClosed(_ id: UInt64) {
        connections[id] = nil
        scheduler.cancel(owner: id)
    }
}

/// A closure handed to a uv timer.
final class TimerBox {
    let handler: () -> Void
    init(_ handler: @escaping () -> Void) { self.handler = handler }
}

/// Carries a value across threads where the caller guarantees it is only used on one thread at a time.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
