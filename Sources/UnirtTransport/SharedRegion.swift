import Foundation

/// A shared-memory region a client registered: a memfd mapped read-write.
///
/// Unmapped and closed when the last reference goes away (the connection's
/// table and any in-flight request that reads or writes it). Reads and writes
/// of distinct byte ranges may happen from any thread; the client owns the
/// contents and must not touch ranges used by requests in flight.
public final class SharedRegion: @unchecked Sendable {
    public let id: UInt64
    public let size: Int
    public let base: UnsafeMutableRawPointer
    private let fd: Int32

    /// Maps `size` bytes of `fd`; takes ownership of `fd`.
    public init(id: UInt64, fd: Int32, size: Int) throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw TransportError(.invalidArgument, "region \(id): cannot stat the passed descriptor: \(String(cString: strerror(errno)))")
        }
        guard size > 0, Int(st.st_size) >= size else {
            close(fd)
            throw TransportError(.invalidArgument, "region \(id): size \(size) but the file holds \(st.st_size) bytes")
        }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else {
            close(fd)
            throw TransportError(.invalidArgument, "region \(id): mmap of \(size) bytes failed: \(String(cString: strerror(errno)))")
        }
        self.id = id
        self.size = size
        self.base = p
        self.fd = fd
    }

    deinit {
        munmap(base, size)
        close(fd)
    }

    /// The bytes of `ref`, or INVALID_ARGUMENT naming the tensor when out of range.
    public func bytes(_ ref: ShmRef, tensor: String) throws -> UnsafeMutableRawBufferPointer {
        guard ref.offset <= UInt64(size), ref.length <= UInt64(size) - ref.offset else {
            throw TransportError(.invalidArgument, "tensor '\(tensor)': range \(ref.offset)+\(ref.length) is outside region \(id) (\(size) bytes)")
        }
        return UnsafeMutableRawBufferPointer(start: base + Int(ref.offset), count: Int(ref.length))
    }
}
