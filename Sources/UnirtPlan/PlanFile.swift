import Foundation
import UnirtIR

/// Reading and writing plan files (see docs/plan-format.md).
///
/// Layout: a 128-byte header (magic, version, endianness tag, file size,
/// section offsets, sha256 checksum), a JSON metadata section, then the
/// weights section; sections start at 64-byte boundaries so weights can be
/// memory-mapped. All integers are little-endian.
public enum PlanFile {
    public static let magic: [UInt8] = Array("UNIRTPLN".utf8)
    /// Bumped only for structural changes of the container or metadata.
    public static let versionMajor: UInt16 = 1
    public static let versionMinor: UInt16 = 3
    static let endianTag: UInt32 = 0x0102_0304
    static let headerSize = 128
    static let checksumRange = 64..<96

    /// Whether `data` starts with the plan magic.
    public static func isPlan(_ data: Data) -> Bool {
        data.count >= 8 && Array(data.prefix(8)) == magic
    }

    // MARK: writing

    /// Serializes a plan.
    public static func encode(_ plan: Plan) -> Data {
        var weights: [UInt8] = []
        func align() { while weights.count % 64 != 0 { weights.append(0) } }
        func store(_ t: Tensor, encoding requested: WeightEncoding?) -> PlanDocument.TensorRef {
            align()
            let offset = weights.count
            var encoding = requested ?? (t.dtype.isFloating ? .f32 : .raw)
            if !t.dtype.isFloating { encoding = .raw }
            var scales: [Float]? = nil
            switch encoding {
            case .raw:
                weights += t.encodedBytes()
            case .f32:
                for v in t.floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { weights += $0 } }
            case .f16:
                for v in t.floats { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { weights += $0 } }
            case .i8, .i7:
                let slices = max(t.shape.first ?? 1, 1)
                let per = t.count / slices
                let v = t.floats
                let levels: Float = encoding == .i7 ? 63 : 127
                var s = [Float](repeating: 0, count: slices)
                for c in 0..<slices {
                    let m = v[c * per..<(c + 1) * per].reduce(Float(0)) { max($0, abs($1)) }
                    s[c] = m > 0 ? m / levels : 1
                    for i in c * per..<(c + 1) * per {
                        let q = max(-levels, min(levels, (v[i] / s[c]).rounded(.toNearestOrEven)))
                        weights.append(UInt8(bitPattern: Int8(q)))
                    }
                }
                scales = s
            }
            return PlanDocument.TensorRef(dtype: t.dtype, shape: t.shape, encoding: encoding, offset: offset,
                                          length: weights.count - offset, scales: scales)
        }

        let g = plan.graph
        var inits: [String: PlanDocument.TensorRef] = [:]
        for name in g.initializers.keys.sorted() {
            inits[name] = store(g.initializers[name]!, encoding: plan.weightEncodings[name])
        }
        let nodes = g.nodes.map { n in
            PlanDocument.NodeCode(name: n.name, op: n.opType, inputs: n.inputs, outputs: n.outputs, opset: n.opset,
                                  attributes: n.attributes.compactMapValues { a -> PlanDocument.AttributeCode? in
                switch a {
                case .int(let v): return .init(i: v)
                case .float(let v): return .init(f: v)
                case .string(let v): return .init(s: v)
                case .ints(let v): return .init(ints: v)
                case .floats(let v): return .init(floats: v)
                case .strings(let v): return .init(strings: v)
                case .tensor(let t): return .init(tensor: store(t, encoding: nil))
                case .unsupported: return nil
                }
            })
        }
        var kernels: [PlanDocument.KernelRef] = []
        for k in plan.kernelImages {
            align()
            kernels.append(.init(architecture: k.architecture, sourceSHA256: k.sourceSHA256, offset: weights.count,
                                 length: k.bytes.count))
            weights += k.bytes
        }
        align()
        let doc = PlanDocument(format: "unirt-plan", provenance: plan.provenance, graphName: g.name, producer: g.producer,
                               opsets: g.opsets, inputs: g.inputs.map(PlanDocument.Decl.init),
                               outputs: g.outputs.map(PlanDocument.Decl.init), nodes: nodes, initializers: inits,
                               activationScales: plan.activationScales, kernels: kernels.isEmpty ? nil : kernels,
                               tactics: plan.gpuTactics.isEmpty ? nil : plan.gpuTactics)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var meta = [UInt8]((try? enc.encode(doc)) ?? Data())
        while (headerSize + meta.count) % 64 != 0 { meta.append(0x20) }
        let metaOffset = headerSize
        let weightsOffset = metaOffset + meta.count
        let fileSize = weightsOffset + weights.count

        var header = [UInt8](repeating: 0, count: headerSize)
        func put<T: FixedWidthInteger>(_ v: T, at o: Int) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { header[o + i] = b } }
        }
        header.replaceSubrange(0..<8, with: magic)
        put(versionMajor, at: 8)
        put(versionMinor, at: 10)
        put(endianTag, at: 12)
        put(UInt64(fileSize), at: 16)
        put(UInt64(metaOffset), at: 24)
        put(UInt64(meta.count), at: 32)
        put(UInt64(weightsOffset), at: 40)
        put(UInt64(weights.count), at: 48)
        var hasher = SHA256()
        hasher.update(header[0..<64])
        hasher.update(header[96..<headerSize])
        hasher.update(meta)
        hasher.update(weights)
        header.replaceSubrange(checksumRange, with: hasher.finalize())
        var out = Data(header)
        out.append(contentsOf: meta)
        out.append(contentsOf: weights)
        return out
    }

    /// Writes a plan to `path`.
    public static func write(_ plan: Plan, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: encode(plan)) else {
            throw PlanError(.io, "\(path): cannot write plan file")
        }
    }

    // MARK: reading

    /// Reads and checks a plan. `target` is the machine it must run on; a plan
    /// built for another ISA, GPU or format version is refused with the command
    /// that rebuilds it.
    public static func decode(_ data: Data, label: String, target: PlanTarget?) throws -> Plan {
        let bytes = [UInt8](data)
        guard bytes.count >= 8, Array(bytes[0..<8]) == magic else {
            throw PlanError(.notAPlan, "\(label): not a unirt plan (bad magic)")
        }
        guard bytes.count >= headerSize else {
            throw PlanError(.truncated, "\(label): plan is truncated (\(bytes.count) bytes, header alone is \(headerSize)); rebuild it with unirt build")
        }
        func u64(_ o: Int) -> Int {
            Int(bytes[o..<o + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        }
        let major = UInt16(bytes[8]) | UInt16(bytes[9]) << 8
        let tag = UInt32(bytes[12]) | UInt32(bytes[13]) << 8 | UInt32(bytes[14]) << 16 | UInt32(bytes[15]) << 24
        guard tag == endianTag else {
            throw PlanError(.corrupted, "\(label): plan has an unknown byte order tag; it is corrupted")
        }
        let fileSize = u64(16), metaOffset = u64(24), metaSize = u64(32), weightsOffset = u64(40), weightsSize = u64(48)
        guard bytes.count >= fileSize else {
            throw PlanError(.truncated, "\(label): plan is truncated (\(bytes.count) of \(fileSize) bytes); rebuild it with unirt build")
        }
        guard metaOffset >= headerSize, metaOffset + metaSize <= fileSize,
              weightsOffset >= metaOffset + metaSize, weightsOffset + weightsSize <= fileSize else {
            throw PlanError(.corrupted, "\(label): plan section table is inconsistent; the file is corrupted")
        }
        var hasher = SHA256()
        hasher.update(bytes[0..<64])
        hasher.update(bytes[96..<fileSize])
        let digest = hasher.finalize()
        let doc: PlanDocument
        do {
            doc = try JSONDecoder().decode(PlanDocument.self, from: Data(bytes[metaOffset..<metaOffset + metaSize]))
        } catch {
            throw PlanError(.corrupted, "\(label): plan metadata is unreadable (checksum \(digest == Array(bytes[checksumRange]) ? "ok" : "mismatch")); the file is corrupted")
        }
        let rebuild = doc.provenance.buildCommand
        guard digest == Array(bytes[checksumRange]) else {
            throw PlanError(.corrupted, "\(label): plan checksum mismatch (the file is corrupted); rebuild it: \(rebuild)")
        }
        guard major == versionMajor else {
            throw PlanError(.incompatibleVersion, "\(label): plan format version \(major) is not supported by unirt \(target?.unirtVersion ?? "") (format \(versionMajor)); rebuild it: \(rebuild)")
        }
        if let target {
            let p = doc.provenance
            guard p.arch == target.arch else {
                throw PlanError(.wrongISA, "\(label): plan was built for \(p.arch), this machine is \(target.arch); rebuild it here: \(rebuild)")
            }
            let missing = p.requiredCPUFeatures.filter { !target.cpuFeatures.contains($0) }
            guard missing.isEmpty else {
                throw PlanError(.wrongISA, "\(label): plan needs CPU features \(missing.joined(separator: ", ")) that this CPU lacks; rebuild it here: \(rebuild)")
            }
            if let gpu = p.gpuArch, !target.gpuArchs.contains(gpu) {
                let have = target.gpuArchs.isEmpty ? "no GPU" : "GPU \(target.gpuArchs.sorted().joined(separator: ", "))"
                throw PlanError(.wrongGPU, "\(label): plan was built for GPU compute capability \(gpu), this machine has \(have); rebuild it here: \(rebuild)")
            }
        }

        let weights = Array(bytes[weightsOffset..<weightsOffset + weightsSize])
        func load(_ r: PlanDocument.TensorRef, _ name: String) throws -> Tensor {
            let count = r.shape.reduce(1, *)
            guard r.offset >= 0, r.offset + r.length <= weights.count else {
                throw PlanError(.corrupted, "\(label): tensor '\(name)' lies outside the weights section; the file is corrupted")
            }
            let slice = weights[r.offset..<r.offset + r.length]
            return try slice.withUnsafeBytes { raw -> Tensor in
                switch r.encoding {
                case .raw:
                    guard r.length == count * r.dtype.byteSize else { throw PlanError(.corrupted, "\(label): tensor '\(name)' has the wrong size") }
                    return Tensor.decode(raw, dtype: r.dtype, shape: r.shape)
                case .f32:
                    guard r.length == count * 4 else { throw PlanError(.corrupted, "\(label): tensor '\(name)' has the wrong size") }
                    let t = Tensor.decode(raw, dtype: .f32, shape: r.shape)
                    return Tensor(shape: r.shape, floats: t.floats, dtype: r.dtype)
                case .f16:
                    guard r.length == count * 2 else { throw PlanError(.corrupted, "\(label): tensor '\(name)' has the wrong size") }
                    let t = Tensor.decode(raw, dtype: .f16, shape: r.shape)
                    return Tensor(shape: r.shape, floats: t.floats, dtype: r.dtype)
                case .i8, .i7:
                    let slices = max(r.shape.first ?? 1, 1)
                    guard r.length == count, let s = r.scales, s.count == slices else {
                        throw PlanError(.corrupted, "\(label): int8 tensor '\(name)' has the wrong size or scales")
                    }
                    let per = count / slices
                    let q = raw.bindMemory(to: Int8.self)
                    let v = (0..<count).map { Float(q[$0]) * s[$0 / max(per, 1)] }
                    return Tensor(shape: r.shape, floats: v, dtype: r.dtype)
                }
            }
        }
        var inits: [String: Tensor] = [:]
        var encodings: [String: WeightEncoding] = [:]
        for (name, r) in doc.initializers {
            inits[name] = try load(r, name)
            encodings[name] = r.encoding
        }
        var nodes: [Node] = []
        for n in doc.nodes {
            guard let op = OpKind(rawValue: n.op) else {
                throw PlanError(.incompatibleVersion, "\(label): plan uses operator \(n.op) that this unirt does not know; rebuild it: \(rebuild)")
            }
            var attrs: [String: Attribute] = [:]
            for (k, a) in n.attributes {
                if let v = a.i { attrs[k] = .int(v) }
                else if let v = a.f { attrs[k] = .float(v) }
                else if let v = a.s { attrs[k] = .string(v) }
                else if let v = a.ints { attrs[k] = .ints(v) }
                else if let v = a.floats { attrs[k] = .floats(v) }
                else if let v = a.strings { attrs[k] = .strings(v) }
                else if let t = a.tensor { attrs[k] = .tensor(try load(t, "\(n.name).\(k)")) }
            }
            var node = Node(name: n.name, op: op, inputs: n.inputs, outputs: n.outputs, attributes: attrs, opset: n.opset)
            node.opType = n.op
            nodes.append(node)
        }
        let graph = Graph(name: doc.graphName, inputs: doc.inputs.map(\.decl), outputs: doc.outputs.map(\.decl),
                          initializers: inits, nodes: nodes, opsets: doc.opsets, producer: doc.producer)
        var images: [KernelImage] = []
        for k in doc.kernels ?? [] {
            guard k.offset >= 0, k.length >= 0, k.offset + k.length <= weights.count else {
                throw PlanError(.corrupted, "\(label): GPU kernel image for \(k.architecture) lies outside the weights section; the file is corrupted")
            }
            images.append(KernelImage(architecture: k.architecture, sourceSHA256: k.sourceSHA256,
                                      bytes: Array(weights[k.offset..<k.offset + k.length])))
        }
        return Plan(graph: graph, provenance: doc.provenance, activationScales: doc.activationScales,
                    weightEncodings: encodings, kernelImages: images, gpuTactics: doc.tactics ?? [])
    }

    /// Reads and checks the plan at `path`.
    public static func read(_ path: String, target: PlanTarget?) throws -> Plan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PlanError(.io, "\(path): cannot read file")
        }
        return try decode(data, label: path, target: target)
    }
}
