import CUV
import Foundation

/// One client connection: its socket, frame decoder, output buffer,
/// descriptors received with SCM_RIGHTS and registered shared-memory regions.
///
/// Owned by the server's loop thread; every member is touched only there.
final class Connection {
    let id: UInt64
    let fd: Int32
    /// The peer's uid and pid (SO_PEERCRED).
    let uid: uid_t
    let pid: pid_t
    unowned let server: Server
    private let poll: UnsafeMutablePointer<uv_poll_t>
    private var decoder: FrameDecoder
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var wantsWritable = false
    /// Descriptors received but not yet claimed by a RegisterRegion frame, oldest first.
    var passedFDs: [Int32] = []
    var regions: [UInt64: SharedRegion] = [:]
    private(set) var isClosed = false
    private var closeWhenFlushed = false
    /// Reused receive buffer.
    private static let readSize = 256 * 1024
    private var readBuffer = [UInt8](repeating: 0, count: Connection.readSize)

    init(id: UInt64, fd: Int32, uid: uid_t, pid: pid_t, server: Server) {
        self.id = id
        self.fd = fd
        self.uid = uid
        self.pid = pid
        self.server = server
        decoder = FrameDecoder(maxFrameSize: server.options.maxFrameSize)
        poll = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
        uv_poll_init_socket(server.loop, poll, fd)
    }

    func start() {
        poll.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        updatePolling()
    }

    private func updatePolling() {
        var events = Int32(UV_READABLE.rawValue)
        if wantsWritable { events |= Int32(UV_WRITABLE.rawValue) }
        uv_poll_start(poll, events) { h, status, events in
            let c = Unmanaged<Connection>.fromOpaque(h!.pointee.data).takeUnretainedValue()
            if status < 0 { c.close(); return }
            if events & Int32(UV_WRITABLE.rawValue) != 0 { c.flush() }
            if !c.isClosed && events & Int32(UV_READABLE.rawValue) != 0 { c.readAvailable() }
        }
    }

    private func readAvailable() {
        // Bounded work per wake-up keeps the loop fair between connections.
        for _ in 0..<16 where !isClosed && !closeWhenFlushed {
            var fds = [Int32](repeating: -1, count: 16)
            var nfds: Int32 = 0
            let n = readBuffer.withUnsafeMutableBytes { buf in
                unirt_sock_recv(fd, buf.baseAddress, buf.count, &fds, 16, &nfds)
            }
            for i in 0..<Int(nfds) { passedFDs.append(fds[i]) }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { break }
                close()
                return
            }
            if n == 0 { close(); return }
            readBuffer.withUnsafeBytes { decoder.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            processFrames()
            if n < Connection.readSize { break }
        }
    }

    private func processFrames() {
        while !isClosed && !closeWhenFlushed {
            let payload: [UInt8]?
            do {
                payload = try decoder.next()
            } catch let e as TransportError {
                // The stream cannot be resynchronised: answer, then hang up.
                send(Codec.frame(RPCResponse(id: 0, code: e.code, message: e.message)))
                closeAfterFlush()
                return
            } catch {
                close()
                return
            }
            guard let payload else { return }
            server.handleFrame(payload, from: self)
        }
    }

    /// Queues a frame; writes at once when nothing is waiting.
    func send(_ frame: [UInt8]) {
        guard !isClosed else { return }
        if output.count == outputOffset {
            let written = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
            if written == frame.count { return }
            if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { close(); return }
            output.removeAll(keepingCapacity: true)
            outputOffset = 0
            output.append(contentsOf: frame[max(0, written)...])
        } else {
            guard output.count - outputOffset + frame.count <= server.options.maxQueuedOutputBytes else {
                server.logger.warning("connection \(id) (pid \(pid)): closed, \(output.count - outputOffset + frame.count) answer bytes queued exceed max_output_bytes \(server.options.maxQueuedOutputBytes) (the client stopped reading)")
                close()
                return
            }
            output.append(contentsOf: frame)
        }
        if !wantsWritable {
            wantsWritable = true
            updatePolling()
        }
    }

    /// Writes what the socket takes now; the rest waits for the next writable event.
    private func flush(blocking: Bool = false) {
        let flags = Int32(MSG_NOSIGNAL) | (blocking ? 0 : Int32(MSG_DONTWAIT))
        while outputOffset < output.count {
            let written = output.withUnsafeBytes { buf in
                Glibc.send(fd, buf.baseAddress! + outputOffset, buf.count - outputOffset, flags)
            }
            if written < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                    // Drop what was sent so a slow reader's backlog, not its history, is held.
                    if outputOffset >= 1 << 20 && outputOffset * 2 >= output.count {
                        output.removeFirst(outputOffset)
                        outputOffset = 0
                    }
                    return
                }
                close()
                return
            }
            outputOffset += written
        }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
        outputOffset = 0
        if closeWhenFlushed { close(); return }
        if wantsWritable {
            wantsWritable = false
            updatePolling()
        }
    }

    /// Writes what is buffered, waiting for the socket if needed (shutdown only).
    func flushBlocking() {
        guard !isClosed else { return }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        flush(blocking: true)
    }

    func closeAfterFlush() {
        closeWhenFlushed = true
        if output.count == outputOffset { close() }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        uv_poll_stop(poll)
        uv_close(UnsafeMutableRawPointer(poll).assumingMemoryBound(to: uv_handle_t.self)) { h in h?.deallocate() }
        Glibc.close(fd)
        for f in passedFDs { Glibc.close(f) }
        passedFDs.removeAll()
        regions.removeAll()
        server.connectionClosed(id)
    }
}
