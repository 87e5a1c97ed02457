/// Splits a byte stream into frames: a 4-byte little-endian payload length,
/// then the payload. Accepts input in pieces of any size.
///
/// Not thread-safe: owned by one connection on the loop thread.
public struct FrameDecoder: Sendable {
    /// Payloads longer than this are refused.
    public let maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrameSize: Int = Codec.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
    }

    /// Bytes received but not yet returned as frames.
    public var pendingBytes: Int { buffer.count - start }

    /// Appends received bytes.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete payload, nil if more bytes are needed; throws
    /// RESOURCE_EXHAUSTED for a length prefix above `maxFrameSize`
    /// (the stream cannot be resynchronised after that).
    public mutating func next() throws -> [UInt8]? {
        guard buffer.count - start >= 4 else { return nil }
        let n = Int(buffer[start]) | Int(buffer[start + 1]) << 8 | Int(buffer[start + 2]) << 16 | Int(buffer[start + 3]) << 24
        guard n <= maxFrameSize else {
            throw TransportError(.resourceExhausted, "frame of \(n) bytes exceeds the maximum of \(maxFrameSize)")
        }
        guard buffer.count - start - 4 >= n else { return nil }
        let payload = Array(buffer[(start + 4)..<(start + 4 + n)])
        start += 4 + n
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            start = 0
        } else if start >= 1 << 20 {
            buffer.removeFirst(start)
            start = 0
        }
        return payload
    }
}
