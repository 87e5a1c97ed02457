import CUV
import Foundation
import UnirtIR
import UnirtServing

/// The RPC methods: each frame is decoded and answered on the loop thread,
/// except Infer (computed on the model's instance threads) and Load/Unload
/// (run on a helper thread), whose answers come back through `post`.
extension Server {
    func handleFrame(_ payload: [UInt8], from c: Connection) {
        let arrival = scheduler.clock.now()
        let request: RPCRequest
        do {
            request = try payload.withUnsafeBytes { try Codec.request($0) }
        } catch {
            let e = error as? TransportError ?? TransportError(.invalidArgument, "\(error)")
            c.send(Codec.frame(RPCResponse(id: 0, code: e.code, message: e.message)))
            return
        }
        var response = RPCResponse(id: request.id)
        switch request.method {
        case .health:
            response.live = true
        case .ready:
            response.ready = !draining && hasStarted && scheduler.isReady
            if !response.ready { response.message = draining ? "draining" : "models are loading or failed" }
        case .listModels:
            response.models = scheduler.describe().map(Self.info)
        case .modelStatus:
            guard let m = scheduler.describe().first(where: { $0.name == request.model }) else {
                return c.send(Codec.frame(RPCResponse(id: request.id, code: .notFound, message: "no model named '\(request.model)'")))
            }
            response.models = [Self.info(m)]
        case .stats:
            response.metrics = scheduler.metrics.render()
            response.stats = scheduler.metrics.snapshot()
        case .infer:
            return infer(request, from: c, arrival: arrival)
        case .loadModel, .unloadModel:
            return administer(request, from: c)
        case .registerRegion:
            response = registerRegion(request, from: c)
        case .unregisterRegion:
            if c.regions.removeValue(forKey: request.region) == nil {
                response = RPCResponse(id: request.id, code: .notFound, message: "no region \(request.region) on this connection")
            }
        case .unspecified:
            response = RPCResponse(id: request.id, code: .unimplemented, message: "unknown method \(request.methodNumber)")
        }
        c.send(Codec.frame(response))
    }

    static func info(_ m: ModelDescription) -> ModelInfo {
        func decl(_ v: ValueDecl) -> TensorInfo {
            TensorInfo(name: v.name, dtype: v.dtype, shape: (v.dims ?? []).map { Int64($0.fixedValue ?? -1) })
        }
        return ModelInfo(name: m.name, version: m.version, state: m.state.rawValue, reason: m.reason ?? "",
                         config: m.settings, inputs: m.inputs.map(decl), outputs: m.outputs.map(decl), batching: m.batching)
    }

    private func infer(_ request: RPCRequest, from c: Connection, arrival: UInt64) {
        let model = request.model
        func reply(_ code: RPCCode, _ message: String) {
            // Unknown names are not counted: clients must not be able to grow the label set.
            if code != .notFound { scheduler.metrics.recordRequest(model: model, code: code.name) }
            c.send(Codec.frame(RPCResponse(id: request.id, code: code, message: message)))
        }
        if draining { return reply(.unavailable, "daemon is shutting down") }
        var inputs: [String: Tensor] = [:]
        var outputRegion: (SharedRegion, ShmRef)?
        do {
            for t in request.inputs {
                guard inputs[t.name] == nil else { throw TransportError(.invalidArgument, "input '\(t.name)' given twice") }
                if let ref = t.shm {
                    guard let region = c.regions[ref.region] else {
                        throw TransportError(.invalidArgument, "tensor '\(t.name)': no region \(ref.region) on this connection")
                    }
                    let bytes = try region.bytes(ref, tensor: t.name)
                    guard bytes.count == t.expectedByteCount, t.shape.allSatisfy({ $0 >= 0 }) else {
                        throw TransportError(.invalidArgument, "tensor '\(t.name)': \(bytes.count) bytes, \(t.dtype.rawValue)\(t.shape) needs \(t.expectedByteCount)")
                    }
                    inputs[t.name] = Tensor.wireDecode(UnsafeRawBufferPointer(bytes), dtype: t.dtype, shape: t.shape)
                } else {
                    inputs[t.name] = try t.tensor()
                }
            }
            if let ref = request.outputRegion {
                guard let region = c.regions[ref.region] else {
                    throw TransportError(.invalidArgument, "output_region: no region \(ref.region) on this connection")
                }
                _ = try region.bytes(ref, tensor: "output_region")
                outputRegion = (region, ref)
            }
        } catch {
            let e = error as? TransportError ?? TransportError(.invalidArgument, "\(error)")
            return reply(e.code, e.message)
        }
        let deadline = request.timeoutMicros > 0 ? arrival &+ request.timeoutMicros &* 1000 : nil
        let connectionID = c.id
        let id = request.id
        let metrics = scheduler.metrics
        let outputBox = UncheckedBox(outputRegion)
        let job = InferenceRequest(id: id, owner: connectionID, inputs: inputs, requestedOutputs: request.outputs,
                                   arrival: arrival, deadline: deadline) { [self] result in
            // Worker thread: encode here so the loop only writes bytes.
            let response = Self.response(id: id, result, outputRegion: outputBox.value)
            metrics.recordRequest(model: model, code: response.code.name)
            let frame = Codec.frame(response)
            post { [self] in connections[connectionID]?.send(frame) }
        }
        do {
            try scheduler.submit(model: model, version: request.version, job)
        } catch let e as ServingError {
            reply(RPCCode(e.code), e.message)
        } catch {
            reply(.internal, "\(error)")
        }
    }

    private static func response(id: UInt64, _ result: Result<InferenceResult, ServingError>,
                                 outputRegion: (SharedRegion, ShmRef)?) -> RPCResponse {
        switch result {
        case .failure(let e):
            return RPCResponse(id: id, code: RPCCode(e.code), message: e.message)
        case .success(let r):
            var response = RPCResponse(id: id)
            var offset = outputRegion?.1.offset ?? 0
            for (name, t) in r.outputs.sorted(by: { $0.key < $1.key }) {
                if let (region, ref) = outputRegion {
                    let byteCount = t.count * t.dtype.byteSize
                    let end = offset + UInt64(byteCount)
                    guard end <= ref.offset + ref.length else {
                        return RPCResponse(id: id, code: .resourceExhausted,
                                           message: "output_region of \(ref.length) bytes is too small for the outputs (need at least \(end - ref.offset))")
                    }
                    let slot = ShmRef(region: ref.region, offset: offset, length: UInt64(byteCount))
                    // Already range-checked against the region when the request arrived.
                    let dst = try! region.bytes(slot, tensor: name)
                    t.withWireBytes { dst.copyMemory(from: $0) }
                    response.outputs.append(WireTensor(name: name, dtype: t.dtype, shape: t.shape, shm: slot))
                    offset = end
                } else {
                    response.outputs.append(WireTensor(name: name, dtype: t.dtype, shape: t.shape, data: t.wireBytes()))
                }
            }
            return response
        }
    }

    private func administer(_ request: RPCRequest, from c: Connection) {
        guard isAdmin(c.uid) else {
            return c.send(Codec.frame(RPCResponse(id: request.id, code: .permissionDenied,
                message: "uid \(c.uid) may not load or unload models (allowed: root and uid \(getuid()))")))
        }
        guard !request.model.isEmpty else {
            return c.send(Codec.frame(RPCResponse(id: request.id, code: .invalidArgument, message: "model: name is empty")))
        }
        if request.method == .loadModel && request.config == nil {
            return c.send(Codec.frame(RPCResponse(id: request.id, code: .invalidArgument, message: "config: missing (needs at least a path)")))
        }
        let scheduler = self.scheduler
        let connectionID = c.id
        // Loading and draining take a while: keep them off the loop.
        Thread { [self] in
            var response = RPCResponse(id: request.id)
            do {
                if request.method == .loadModel {
                    try scheduler.load(name: request.model, settings: request.config!)
                    response.models = scheduler.describe().filter { $0.name == request.model }.map(Self.info)
                } else {
                    try scheduler.unload(name: request.model)
                    // The model's weights and arenas were just freed: give the pages back.
                    unirt_malloc_release()
                }
            } catch let e as ServingError {
                response = RPCResponse(id: request.id, code: RPCCode(e.code), message: e.message)
            } catch {
                response = RPCResponse(id: request.id, code: .internal, message: "\(error)")
            }
            let frame = Codec.frame(response)
            post { [self] in connections[connectionID]?.send(frame) }
        }.start()
    }

    private func registerRegion(_ request: RPCRequest, from c: Connection) -> RPCResponse {
        guard !c.passedFDs.isEmpty else {
            return RPCResponse(id: request.id, code: .invalidArgument,
                               message: "region \(request.region): no descriptor arrived with the frame (send it with SCM_RIGHTS)")
        }
        let fd = c.passedFDs.removeFirst()
        guard c.regions[request.region] == nil else {
            Glibc.close(fd)
            return RPCResponse(id: request.id, code: .alreadyExists, message: "region \(request.region) is already registered")
        }
        do {
            c.regions[request.region] = try SharedRegion(id: request.region, fd: fd, size: Int(clamping: request.regionSize))
            return RPCResponse(id: request.id)
        } catch let e as TransportError {
            return RPCResponse(id: request.id, code: e.code, message: e.message)
        } catch {
            return RPCResponse(id: request.id, code: .internal, message: "\(error)")
        }
    }
}
