import Foundation
import UnirtIR
import COnnxProto
import CProtobufC

/// An imported ONNX model: the graph plus what the file says about itself.
public struct ONNXModel: Sendable {
    public var graph: Graph
    public var irVersion: Int
    public var producerName: String
    public var producerVersion: String
    /// Opset version per domain ("" is the default ONNX domain).
    public var opsets: [String: Int]
    /// Node count per operator as written in the file, before folding.
    public var fileOpHistogram: [(String, Int)]

    /// Oldest and newest default-domain opsets the importer accepts.
    public static let supportedOpsets = 9...21

    /// Reads and imports the model at `path`.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ImportError(.io, "\(path): \(exists ? "cannot read file" : "no such file")")
        }
        try self.init(data: data, label: path)
    }

    /// Imports a serialized ModelProto; `label` names the model in errors.
    public init(data: Data, label: String) throws {
        let proto: UnsafeMutablePointer<Onnx__ModelProto>? = data.withUnsafeBytes { raw in
            onnx__model_proto__unpack(nil, raw.count, raw.bindMemory(to: UInt8.self).baseAddress)
        }
        guard let proto else {
            throw ImportError(.invalidModel, "\(label): not a valid ONNX model (protobuf decoding failed: the file is truncated or not an ONNX ModelProto)")
        }
        defer { onnx__model_proto__free_unpacked(proto, nil) }
        let m = proto.pointee
        guard let g = m.graph else {
            throw ImportError(.invalidModel, "\(label): not a valid ONNX model (no graph)")
        }
        guard m.has_ir_version != 0, m.ir_version >= 3 else {
            throw ImportError(.invalidModel, "\(label): not a valid ONNX model (missing or old ir_version; opsets 9–21 need IR version 4 or newer)")
        }
        irVersion = Int(m.ir_version)
        producerName = string(m.producer_name)
        producerVersion = string(m.producer_version)

        var opsets: [String: Int] = [:]
        for i in 0..<m.n_opset_import {
            let o = m.opset_import[i]!.pointee
            var domain = string(o.domain)
            if domain == "ai.onnx" { domain = "" }
            opsets[domain] = Int(o.version)
        }
        let opset = opsets[""] ?? 0
        guard Self.supportedOpsets.contains(opset) else {
            throw ImportError(.unsupported, "\(label): ONNX opset \(opset) is not supported (supported: \(Self.supportedOpsets.lowerBound)–\(Self.supportedOpsets.upperBound)); convert it with onnx.version_converter")
        }
        self.opsets = opsets

        let converter = GraphConverter(label: label, opset: opset, opsets: opsets)
        var graph = try converter.convert(g.pointee)
        graph.producer = producerVersion.isEmpty ? producerName : "\(producerName) \(producerVersion)"
        fileOpHistogram = graph.opHistogram
        do {
            graph = try graph.foldingConstants()
        } catch let e as IRError {
            throw ImportError(e.code == .unsupported ? .unsupported : .invalidModel, "\(label): \(e.message)", cause: e)
        }
        self.graph = graph
    }
}

/// A Swift string from a protobuf-c string field (NULL or the empty default).
func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
    guard let p else { return "" }
    return String(cString: p)
}
