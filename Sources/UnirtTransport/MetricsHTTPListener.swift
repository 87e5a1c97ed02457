import CUV
import Foundation

/// Serves `GET /metrics` in Prometheus text format on 127.0.0.1:PORT.
///
/// Accepts on the server's loop thread; each scrape is answered on its own
/// short-lived thread so a slow scraper never holds the loop.
final class MetricsHTTPListener {
    private let fd: Int32
    private let poll: UnsafeMutablePointer<uv_poll_t>
    private unowned let server: Server

    init(port: Int, server: Server) throws {
        self.server = server
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw TransportError(.unavailable, "metrics listener 127.0.0.1:\(port): \(message)")
        }
        self.fd = fd
        poll = UnsafeMutablePointer<uv_poll_t>.allocate(capacity: 1)
        uv_poll_init_socket(server.loop, poll, fd)
        poll.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        uv_poll_start(poll, Int32(UV_READABLE.rawValue)) { h, _, _ in
            Unmanaged<MetricsHTTPListener>.fromOpaque(h!.pointee.data).takeUnretainedValue().accept()
        }
    }

    private func accept() {
        let metrics = server.scheduler.metrics
        while true {
            let c = unirt_sock_accept(fd, Int32(SOCK_CLOEXEC.rawValue))
            guard c >= 0 else { return }
            Thread {
                var tv = timeval(tv_sec: 2, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var request = [UInt8]()
                var buf = [UInt8](repeating: 0, count: 4096)
                while request.count < 16384 {
                    let n = recv(c, &buf, buf.count, 0)
                    if n <= 0 { break }
                    request.append(contentsOf: buf[0..<n])
                    if request.count >= 4 && request.suffix(4) == [13, 10, 13, 10] { break }
                }
                let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
                let ok = line.hasPrefix("GET /metrics ") || line.hasPrefix("GET / ")
                let body = ok ? metrics.render() : "not found\n"
                let head = "HTTP/1.1 \(ok ? "200 OK" : "404 Not Found")\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                let bytes = Array((head + body).utf8)
                var sent = 0
                while sent < bytes.count {
                    let n = bytes[sent...].withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { break }
                    sent += n
                }
                Glibc.close(c)
            }.start()
        }
    }

    func close() {
        uv_poll_stop(poll)
        uv_close(UnsafeMutableRawPointer(poll).assumingMemoryBound(to: uv_handle_t.self)) { h in h?.deallocate() }
        Glibc.close(fd)
    }
}
