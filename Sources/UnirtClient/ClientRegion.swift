import CUV
import Foundation
import UnirtIR
import UnirtTransport

/// A client-side shared-memory region (a mapped memfd) registered with unirtd.
///
/// The caller owns the bytes: do not write a range that a request in flight
/// reads, nor read outputs before their answer arrives. Unmapped on deinit.
public final class ClientRegion: @unchecked Sendable {
    public let id: UInt64
    public let size: Int
    public let base: UnsafeMutableRawPointer
    let fd: Int32

    init(id: UInt64, size: Int) throws {
        guard size > 0 else { throw TransportError(.invalidArgument, "region size must be positive, got \(size)") }
        let fd = unirt_memfd("unirt-region-\(id)", size)
        guard fd >= 0 else { throw TransportError(.internal, "memfd_create: \(String(cString: strerror(errno)))") }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else {
            Glibc.close(fd)
            throw TransportError(.internal, "mmap of \(size) bytes: \(String(cString: strerror(errno)))")
        }
        self.id = id
        self.size = size
        self.base = p
        self.fd = fd
    }

    deinit {
        munmap(base, size)
        Glibc.close(fd)
    }

    /// Copies `tensor` to `offset` and returns the reference that names it.
    public func write(_ tensor: Tensor, name: String, at offset: Int) throws -> WireTensor {
        let byteCount = tensor.count * tensor.dtype.byteSize
        guard offset >= 0, offset + byteCount <= size else {
            throw TransportError(.invalidArgument, "tensor '\(name)': \(byteCount) bytes at \(offset) do not fit region \(id) (\(size) bytes)")
        }
        tensor.withWireBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return WireTensor(name: name, dtype: tensor.dtype, shape: tensor.shape,
                          shm: ShmRef(region: id, offset: UInt64(offset), length: UInt64(byteCount)))
    }

    /// Reads a tensor the daemon wrote into this region.
    public func read(_ t: WireTensor) throws -> Tensor {
        guard let ref = t.shm else { return try t.tensor() }
        guard ref.region == id, ref.offset + ref.length <= UInt64(size), Int(ref.length) == t.expectedByteCount else {
            throw TransportError(.internal, "output '\(t.name)': reference \(ref) does not fit region \(id)")
        }
        return Tensor.wireDecode(UnsafeRawBufferPointer(start: base + Int(ref.offset), count: Int(ref.length)), dtype: t.dtype, shape: t.shape)
    }
}
