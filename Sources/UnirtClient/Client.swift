import CUV
import Foundation
import Synchronization
import UnirtIR
@_exported import UnirtServing
@_exported import UnirtTransport

/// A connection to unirtd over its Unix socket.
///
/// Thread-safe: any number of threads may call at once; requests are
/// pipelined on the one connection and answers are matched by id. A reader
/// thread owns the receiving side; senders take `writeLock`. Call `close()`
/// when done (the reader thread keeps the client alive until then).
public final class DaemonClient: @unchecked Sendable {
    /// Where the client is connected.
    public let socketPath: String
    private let fd: Int32
    private let nextID = Atomic<UInt64>(1)
    private let writeLock = Mutex<Void>(())
    private let waiters = Mutex<[UInt64: Waiter]>([:])
    /// Set once the connection is gone; later calls fail with this error.
    private let failure = Mutex<TransportError?>(nil)
    private let maxFrameSize: Int

    /// Connects; throws UNAVAILABLE naming the path when nothing listens there.
    public init(socketPath: String, maxFrameSize: Int = 1 << 30) throws {
        self.socketPath = socketPath
        self.maxFrameSize = maxFrameSize
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TransportError(.unavailable, "socket: \(String(cString: strerror(errno)))") }
        guard unirt_sock_connect_unix(fd, socketPath) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw TransportError(.unavailable, "cannot connect to unirtd at \(socketPath): \(message)")
        }
        let t = Thread { [self] in readLoop() }
        t.name = "unirt-client-reader"
        t.start()
    }

    /// Shuts the connection down; calls in flight fail with UNAVAILABLE.
    public func close() {
        shutdown(fd, Int32(SHUT_RDWR))
    }

    // MARK: Calls

    /// Sends `request` (its id is assigned here) and waits for the answer,
    /// whatever its status code.
    public func call(_ request: RPCRequest) throws -> RPCResponse {
        var r = request
        r.id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let frame = Codec.frame(r)
        return try exchange(id: r.id) { try self.write(frame) }
    }

    /// Sends `request` and returns the answer, throwing its status when it is not OK.
    public func checked(_ request: RPCRequest) throws -> RPCResponse {
        let response = try call(request)
        guard response.code == .ok else { throw TransportError(response.code, response.message) }
        return response
    }

    /// Runs `model` on `inputs`; returns the requested outputs (all when none are named).
    /// `timeout` is the request's deadline, counted from its arrival at the daemon.
    public func infer(model: String, inputs: [String: Tensor], outputs: [String] = [],
                      timeout: Duration? = nil, version: Int64 = 0) throws -> [String: Tensor] {
        var r = RPCRequest(method: .infer)
        r.model = model
        r.version = version
        r.inputs = inputs.sorted { $0.key < $1.key }.map { WireTensor(name: $0.key, $0.value) }
        r.outputs = outputs
        if let timeout { r.timeoutMicros = max(1, UInt64(timeout.components.seconds) * 1_000_000 + UInt64(timeout.components.attoseconds / 1_000_000_000_000)) }
        let response = try checked(r)
        var result: [String: Tensor] = [:]
        for t in response.outputs {
            guard t.shm == nil else { throw TransportError(.internal, "output '\(t.name)' came back in shared memory unasked") }
            result[t.name] = try t.tensor()
        }
        return result
    }

    /// Every model the daemon knows.
    public func listModels() throws -> [ModelInfo] {
        try checked(RPCRequest(method: .listModels)).models
    }

    /// One model's state, config and signature.
    public func modelStatus(_ name: String) throws -> ModelInfo {
        var r = RPCRequest(method: .modelStatus)
        r.model = name
        guard let m = try checked(r).models.first else { throw TransportError(.notFound, "no model named '\(name)'") }
        return m
    }

    /// Whether the daemon's loop answers.
    public func health() throws -> Bool { try checked(RPCRequest(method: .health)).live }

    /// Whether every configured model is loaded and the daemon is not draining.
    public func ready() throws -> Bool { try call(RPCRequest(method: .ready)).ready }

    /// Prometheus text and per-model totals.
    public func stats() throws -> (metrics: String, models: [ModelStatistics]) {
        let r = try checked(RPCRequest(method: .stats))
        return (r.metrics, r.stats)
    }

    /// Loads (or replaces) a model; needs root or the daemon's uid.
    public func loadModel(_ name: String, settings: ModelSettings) throws -> ModelInfo? {
        var r = RPCRequest(method: .loadModel)
        r.model = name
        r.config = settings
        return try checked(r).models.first
    }

    /// Unloads a model after its queue drains; needs root or the daemon's uid.
    public func unloadModel(_ name: String) throws {
        var r = RPCRequest(method: .unloadModel)
        r.model = name
        _ = try checked(r)
    }

    /// Writes raw bytes to the socket (for testing how the daemon handles bad frames).
    public func sendRaw(_ bytes: [UInt8]) throws { try write(bytes) }

    /// Waits for the next answer with id 0 (a connection-level error) after sending `bytes` raw.
    public func sendRawAwaitingConnectionError(_ bytes: [UInt8]) throws -> RPCResponse {
        try exchange(id: 0) { try self.write(bytes) }
    }

    // MARK: Shared memory

    /// Creates a memfd of `size` bytes, maps it and registers it with the daemon.
    public func registerRegion(size: Int) throws -> ClientRegion {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let region = try ClientRegion(id: id, size: size)
        var r = RPCRequest(id: id, method: .registerRegion)
        r.region = id
        r.regionSize = UInt64(size)
        let frame = Codec.frame(r)
        let response = try exchange(id: id) {
            try writeLock.withLock { _ in
                let sent = frame.withUnsafeBytes { unirt_sock_send_fd(fd, $0.baseAddress, $0.count, region.fd) }
                guard sent > 0 else { throw TransportError(.unavailable, "sendmsg: \(String(cString: strerror(errno)))") }
                try writeAll(frame, from: sent)
            }
        }
        guard response.code == .ok else { throw TransportError(response.code, response.message) }
        return region
    }

    /// Forgets a region on the daemon's side.
    public func unregisterRegion(_ region: ClientRegion) throws {
        var r = RPCRequest(method: .unregisterRegion)
        r.region = region.id
        _ = try checked(r)
    }

    /// Runs `model` with inputs placed in `region` (at increasing offsets from
    /// 0) and outputs written into the same region after them.
    public func inferShared(model: String, inputs: [String: Tensor], region: ClientRegion,
                            outputs: [String] = []) throws -> [String: Tensor] {
        var r = RPCRequest(method: .infer)
        r.model = model
        r.outputs = outputs
        var offset = 0
        for (name, t) in inputs.sorted(by: { $0.key < $1.key }) {
            r.inputs.append(try region.write(t, name: name, at: offset))
            offset += t.count * t.dtype.byteSize
        }
        r.outputRegion = ShmRef(region: region.id, offset: UInt64(offset), length: UInt64(region.size - offset))
        let response = try checked(r)
        var result: [String: Tensor] = [:]
        for t in response.outputs { result[t.name] = try region.read(t) }
        return result
    }

    // MARK: Plumbing

    private func exchange(id: UInt64, send: () throws -> Void) throws -> RPCResponse {
        if let f = failure.withLock({ $0 }) { throw f }
        let w = Waiter()
        waiters.withLock { $0[id] = w }
        do {
            try send()
        } catch {
            waiters.withLock { _ = $0.removeValue(forKey: id) }
            throw error
        }
        w.semaphore.wait()
        return try w.result!.get()
    }

    private func write(_ frame: [UInt8]) throws {
        try writeLock.withLock { _ in try writeAll(frame, from: 0) }
    }

    /// Caller holds `writeLock`.
    private func writeAll(_ frame: [UInt8], from start: Int) throws {
        var sent = start
        while sent < frame.count {
            let n = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw TransportError(.unavailable, "connection to \(socketPath) lost: \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    private func readLoop() {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        var reason = "connection closed by unirtd"
        reading: while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                if n < 0 { reason = "connection to \(socketPath) lost: \(String(cString: strerror(errno)))" }
                break
            }
            buffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            while true {
                let payload: [UInt8]?
                do { payload = try decoder.next() } catch { reason = "\(error)"; break reading }
                guard let payload else { break }
                do {
                    let response = try payload.withUnsafeBytes { try Codec.response($0) }
                    let w = waiters.withLock { $0.removeValue(forKey: response.id) }
                    w?.finish(.success(response))
                } catch {
                    reason = "undecodable answer: \(error)"
                    break reading
                }
            }
        }
        let error = TransportError(.unavailable, reason)
        failure.withLock { $0 = error }
        let all = waiters.withLock { w -> [Waiter] in
            defer { w.removeAll() }
            return Array(w.values)
        }
        for w in all { w.finish(.failure(error)) }
        Glibc.close(fd)
    }
}

/// One pending call: the reader thread stores the result, then signals.
private final class Waiter: @unchecked Sendable {
    let semaphore = DispatchSemaphore(value: 0)
    /// Written once by the reader before `signal`, read by the caller after `wait`.
    var result: Result<RPCResponse, TransportError>?
    func finish(_ r: Result<RPCResponse, TransportError>) {
        result = r
        semaphore.signal()
    }
}
