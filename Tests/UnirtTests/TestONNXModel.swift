import Foundation

/// A small ONNX model built in code and serialized as a ModelProto (opset 13, float32
/// tensors), for tests whose weights are too large to commit as a fixture. Only what
/// those tests need: nodes with int and ints attributes, float initializers, inputs of
/// fixed shape and outputs of float type.
struct TestONNXModel {
    struct Node {
        var name: String
        var op: String
        var inputs: [String]
        var outputs: [String]
        var ints: [String: [Int]] = [:]
        var int: [String: Int] = [:]
    }

    var inputs: [(name: String, shape: [Int])] = []
    var outputs: [String] = []
    var nodes: [Node] = []
    var initializers: [(name: String, shape: [Int], values: [Float])] = []

    /// The serialized ModelProto.
    func data() -> Data {
        var model = ProtoWriter()
        model.int(1, 8)  // ir_version
        model.string(2, "unirt-tests")  // producer_name
        model.message(7) { g in  // graph
            for n in nodes {
                g.message(1) { p in
                    for i in n.inputs { p.string(1, i) }
                    for o in n.outputs { p.string(2, o) }
                    p.string(3, n.name)
                    p.string(4, n.op)
                    for (k, v) in n.int.sorted(by: { $0.key < $1.key }) {
                        p.message(5) { a in a.string(1, k); a.int(3, v); a.int(20, 2) }  // INT
                    }
                    for (k, v) in n.ints.sorted(by: { $0.key < $1.key }) {
                        p.message(5) { a in a.string(1, k); for x in v { a.int(8, x) }; a.int(20, 7) }  // INTS
                    }
                }
            }
            g.string(2, "test")
            for t in initializers {
                g.message(5) { p in
                    for d in t.shape { p.int(1, d) }
                    p.int(2, 1)  // FLOAT
                    p.string(8, t.name)
                    p.bytes(9, t.values.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) })  // raw_data, little-endian
                }
            }
            for i in inputs { g.message(11) { v in v.valueInfo(i.name, shape: i.shape) } }
            for o in outputs { g.message(12) { v in v.valueInfo(o, shape: nil) } }
        }
        model.message(8) { o in o.string(1, ""); o.int(2, 13) }  // opset_import
        return Data(model.bytes)
    }
}

/// Protocol-buffer wire format, the few field kinds `TestONNXModel` writes.
struct ProtoWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func int(_ field: Int, _ value: Int) {
        varint(UInt64(field << 3))
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func bytes(_ field: Int, _ value: [UInt8]) {
        varint(UInt64(field << 3 | 2))
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }

    mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
        var inner = ProtoWriter()
        build(&inner)
        bytes(field, inner.bytes)
    }

    /// ValueInfoProto of a float32 tensor, with its shape when given.
    mutating func valueInfo(_ name: String, shape: [Int]?) {
        string(1, name)
        message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, 1)  // FLOAT
                if let shape { tensor.message(2) { s in for d in shape { s.message(1) { dim in dim.int(1, d) } } } }
            }
        }
    }
}
