import CProtobufC
import CUnirtProto
import Foundation
import UnirtIR
import UnirtServing

/// Converts between the Swift message types and protobuf-c frames.
///
/// Encoding builds a protobuf-c message in malloc'd memory owned by a
/// `CArena`, packs it after a 4-byte little-endian length, and frees the arena.
/// Decoding unpacks with protobuf-c, copies into Swift values and frees.
public enum Codec {
    /// The largest frame payload accepted by default (64 MiB).
    public static let defaultMaxFrameSize = 64 << 20

    static func wireType(_ d: DType) -> Unirt__V1__DataType {
        Unirt__V1__DataType(rawValue: UInt32(DType.allCases.firstIndex(of: d)! + 1))
    }

    static func dtype(_ w: Unirt__V1__DataType, tensor: String) throws -> DType {
        let i = Int(w.rawValue) - 1
        guard i >= 0 && i < DType.allCases.count else {
            throw TransportError(.invalidArgument, "tensor '\(tensor)': unknown data type \(w.rawValue)")
        }
        return DType.allCases[i]
    }

    // MARK: Request

    /// The request as one frame: 4-byte little-endian length, then the message.
    public static func frame(_ r: RPCRequest) -> [UInt8] {
        let arena = CArena()
        var m = Unirt__V1__Request()
        unirt__v1__request__init(&m)
        m.id = r.id
        m.method = Unirt__V1__Method(rawValue: r.methodNumber)
        m.timeout_us = r.timeoutMicros
        m.model = arena.string(r.model)
        m.version = r.version
        m.n_metadata = r.metadata.count
        m.metadata = arena.array(r.metadata.map { k, v in
            let e = arena.alloc(Unirt__V1__MetadataEntry.self)
            unirt__v1__metadata_entry__init(e)
            e.pointee.key = arena.string(k)
            e.pointee.value = arena.string(v)
            return Optional(e)
        })
        m.n_inputs = r.inputs.count
        m.inputs = arena.array(r.inputs.map { Optional(tensor($0, arena)) })
        m.n_outputs = r.outputs.count
        m.outputs = arena.array(r.outputs.map { Optional(arena.string($0)) })
        m.output_region = r.outputRegion.map { shm($0, arena) }
        if let c = r.config { m.config = config(c, arena) }
        m.region = r.region
        m.region_size = r.regionSize
        return withUnsafePointer(to: &m.base) { base in pack(base) }
    }

    /// Decodes one request message (without its length prefix).
    public static func request(_ bytes: UnsafeRawBufferPointer) throws -> RPCRequest {
        guard let p = unirt__v1__request__unpack(nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)) else {
            throw TransportError(.invalidArgument, "frame of \(bytes.count) bytes is not a valid unirt.v1.Request")
        }
        defer { unirt__v1__request__free_unpacked(p, nil) }
        let m = p.pointee
        var r = RPCRequest(id: m.id, method: RPCMethod(rawValue: m.method.rawValue) ?? .unspecified)
        r.methodNumber = m.method.rawValue
        r.timeoutMicros = m.timeout_us
        r.model = str(m.model)
        r.version = m.version
        for i in 0..<m.n_metadata {
            let e = m.metadata[i]!.pointee
            r.metadata.append((str(e.key), str(e.value)))
        }
        for i in 0..<m.n_inputs { r.inputs.append(try tensor(m.inputs[i]!.pointee)) }
        for i in 0..<m.n_outputs { r.outputs.append(str(m.outputs[i])) }
        r.outputRegion = m.output_region.map { shm($0.pointee) }
        r.config = m.config.map { config($0.pointee) }
        r.region = m.region
        r.regionSize = m.region_size
        return r
    }

    // MARK: Response

    /// The response as one frame: 4-byte little-endian length, then the message.
    public static func frame(_ r: RPCResponse) -> [UInt8] {
        let arena = CArena()
        var m = Unirt__V1__Response()
        unirt__v1__response__init(&m)
        m.id = r.id
        let status = arena.alloc(Unirt__V1__Status.self)
        unirt__v1__status__init(status)
        status.pointee.code = Unirt__V1__Code(rawValue: r.code.rawValue)
        status.pointee.message = arena.string(r.message)
        m.status = status
        m.n_outputs = r.outputs.count
        m.outputs = arena.array(r.outputs.map { Optional(tensor($0, arena)) })
        m.n_models = r.models.count
        m.models = arena.array(r.models.map { info in
            let p = arena.alloc(Unirt__V1__ModelInfo.self)
            unirt__v1__model_info__init(p)
            p.pointee.name = arena.string(info.name)
            p.pointee.version = info.version
            p.pointee.state = arena.string(info.state)
            p.pointee.reason = arena.string(info.reason)
            if let c = info.config { p.pointee.config = config(c, arena) }
            p.pointee.n_inputs = info.inputs.count
            p.pointee.inputs = arena.array(info.inputs.map { Optional(tensorInfo($0, arena)) })
            p.pointee.n_outputs = info.outputs.count
            p.pointee.outputs = arena.array(info.outputs.map { Optional(tensorInfo($0, arena)) })
            p.pointee.batching = info.batching ? 1 : 0
            return Optional(p)
        })
        m.live = r.live ? 1 : 0
        m.ready = r.ready ? 1 : 0
        m.metrics = arena.string(r.metrics)
        m.n_stats = r.stats.count
        m.stats = arena.array(r.stats.map { s in
            let p = arena.alloc(Unirt__V1__ModelStats.self)
            unirt__v1__model_stats__init(p)
            p.pointee.name = arena.string(s.name)
            p.pointee.requests = s.requests
            p.pointee.inferences = s.inferences
            p.pointee.executions = s.executions
            p.pointee.queue_seconds = s.queueSeconds
            p.pointee.compute_seconds = s.computeSeconds
            p.pointee.queue_depth = UInt64(s.queueDepth)
            p.pointee.inflight = UInt64(max(0, s.inflight))
            return Optional(p)
        })
        return withUnsafePointer(to: &m.base) { base in pack(base) }
    }

    /// Decodes one response message (without its length prefix).
    public static func response(_ bytes: UnsafeRawBufferPointer) throws -> RPCResponse {
        guard let p = unirt__v1__response__unpack(nil, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)) else {
            throw TransportError(.internal, "frame of \(bytes.count) bytes is not a valid unirt.v1.Response")
        }
        defer { unirt__v1__response__free_unpacked(p, nil) }
        let m = p.pointee
        var r = RPCResponse(id: m.id)
        if let s = m.status {
            r.code = RPCCode(rawValue: s.pointee.code.rawValue) ?? .unknown
            r.message = str(s.pointee.message)
        }
        for i in 0..<m.n_outputs { r.outputs.append(try tensor(m.outputs[i]!.pointee)) }
        for i in 0..<m.n_models {
            let x = m.models[i]!.pointee
            var info = ModelInfo(name: str(x.name), version: x.version, state: str(x.state), reason: str(x.reason),
                                 config: x.config.map { config($0.pointee) }, batching: x.batching != 0)
            for j in 0..<x.n_inputs { info.inputs.append(try tensorInfo(x.inputs[j]!.pointee)) }
            for j in 0..<x.n_outputs { info.outputs.append(try tensorInfo(x.outputs[j]!.pointee)) }
            r.models.append(info)
        }
        r.live = m.live != 0
        r.ready = m.ready != 0
        r.metrics = str(m.metrics)
        for i in 0..<m.n_stats {
            let s = m.stats[i]!.pointee
            r.stats.append(ModelStatistics(name: str(s.name), requests: s.requests, inferences: s.inferences,
                                           executions: s.executions, queueSeconds: s.queue_seconds,
                                           computeSeconds: s.compute_seconds, queueDepth: Int(s.queue_depth),
                                           inflight: Int(s.inflight)))
        }
        return r
    }

    // MARK: Pieces

    private static func pack(_ base: UnsafePointer<ProtobufCMessage>) -> [UInt8] {
        let size = protobuf_c_message_get_packed_size(base)
        return [UInt8](unsafeUninitializedCapacity: size + 4) { buf, count in
            let n = UInt32(size)
            buf[0] = UInt8(n & 0xff); buf[1] = UInt8((n >> 8) & 0xff)
            buf[2] = UInt8((n >> 16) & 0xff); buf[3] = UInt8(n >> 24)
            _ = protobuf_c_message_pack(base, buf.baseAddress! + 4)
            count = size + 4
        }
    }

    private static func str(_ p: UnsafeMutablePointer<CChar>?) -> String {
        p.map { String(cString: $0) } ?? ""
    }

    private static func shm(_ s: ShmRef, _ arena: CArena) -> UnsafeMutablePointer<Unirt__V1__ShmRef> {
        let p = arena.alloc(Unirt__V1__ShmRef.self)
        unirt__v1__shm_ref__init(p)
        p.pointee.region = s.region
        p.pointee.offset = s.offset
        p.pointee.length = s.length
        return p
    }

    private static func shm(_ m: Unirt__V1__ShmRef) -> ShmRef {
        ShmRef(region: m.region, offset: m.offset, length: m.length)
    }

    private static func tensor(_ t: WireTensor, _ arena: CArena) -> UnsafeMutablePointer<Unirt__V1__Tensor> {
        let p = arena.alloc(Unirt__V1__Tensor.self)
        unirt__v1__tensor__init(p)
        p.pointee.name = arena.string(t.name)
        p.pointee.dtype = wireType(t.dtype)
        p.pointee.n_shape = t.shape.count
        p.pointee.shape = arena.array(t.shape.map { Int64($0) })
        p.pointee.data = ProtobufCBinaryData(len: t.data.count, data: arena.bytes(t.data))
        p.pointee.shm = t.shm.map { shm($0, arena) }
        return p
    }

    private static func tensor(_ m: Unirt__V1__Tensor) throws -> WireTensor {
        let name = str(m.name)
        let dims = (0..<m.n_shape).map { Int(m.shape[$0]) }
        let data = m.data.len > 0 ? [UInt8](UnsafeBufferPointer(start: m.data.data, count: m.data.len)) : []
        return WireTensor(name: name, dtype: try dtype(m.dtype, tensor: name), shape: dims, data: data,
                          shm: m.shm.map { shm($0.pointee) })
    }

    private static func tensorInfo(_ t: TensorInfo, _ arena: CArena) -> UnsafeMutablePointer<Unirt__V1__TensorInfo> {
        let p = arena.alloc(Unirt__V1__TensorInfo.self)
        unirt__v1__tensor_info__init(p)
        p.pointee.name = arena.string(t.name)
        p.pointee.dtype = wireType(t.dtype)
        p.pointee.n_shape = t.shape.count
        p.pointee.shape = arena.array(t.shape)
        return p
    }

    private static func tensorInfo(_ m: Unirt__V1__TensorInfo) throws -> TensorInfo {
        let name = str(m.name)
        return TensorInfo(name: name, dtype: try dtype(m.dtype, tensor: name), shape: (0..<m.n_shape).map { m.shape[$0] })
    }

    private static func config(_ c: ModelSettings, _ arena: CArena) -> UnsafeMutablePointer<Unirt__V1__ModelConfig> {
        let p = arena.alloc(Unirt__V1__ModelConfig.self)
        unirt__v1__model_config__init(p)
        p.pointee.path = arena.string(c.path)
        p.pointee.max_batch_size = UInt32(clamping: c.maxBatchSize)
        p.pointee.max_queue_delay_us = c.maxQueueDelayMicros
        p.pointee.max_queue_size = UInt32(clamping: c.maxQueueSize)
        p.pointee.n_preferred_batch_sizes = c.preferredBatchSizes.count
        p.pointee.preferred_batch_sizes = arena.array(c.preferredBatchSizes.map { UInt32(clamping: $0) })
        p.pointee.cpu_instances = UInt32(clamping: c.cpuInstances)
        p.pointee.gpu_instances = UInt32(clamping: c.gpuInstances)
        p.pointee.precision = arena.string(c.precision)
        return p
    }

    private static func config(_ m: Unirt__V1__ModelConfig) -> ModelSettings {
        var s = ModelSettings(path: str(m.path))
        s.maxBatchSize = Int(m.max_batch_size)
        s.maxQueueDelayMicros = m.max_queue_delay_us
        if m.max_queue_size > 0 { s.maxQueueSize = Int(m.max_queue_size) }
        s.preferredBatchSizes = (0..<m.n_preferred_batch_sizes).map { Int(m.preferred_batch_sizes[$0]) }
        s.cpuInstances = Int(m.cpu_instances)
        s.gpuInstances = Int(m.gpu_instances)
        let precision = str(m.precision)
        if !precision.isEmpty { s.precision = precision }
        if s.cpuInstances + s.gpuInstances == 0 { s.cpuInstances = 1 }
        return s
    }
}

/// malloc'd memory for one protobuf-c message under construction; freed with the arena.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit { for b in blocks { free(b) } }

    func alloc<T>(_: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let raw = malloc(max(1, MemoryLayout<T>.stride * count))!
        blocks.append(raw)
        return raw.bindMemory(to: T.self, capacity: count)
    }

    func string(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s)!
        blocks.append(UnsafeMutableRawPointer(p))
        return p
    }

    func array<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let p = alloc(T.self, count: values.count)
        p.initialize(from: values, count: values.count)
        return p
    }

    func bytes(_ b: [UInt8]) -> UnsafeMutablePointer<UInt8>? {
        guard !b.isEmpty else { return nil }
        let p = alloc(UInt8.self, count: b.count)
        b.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: b.count) }
        return p
    }
}
