import Foundation
import UnirtIR
import COnnxProto
import CProtobufC

/// Converts a decoded GraphProto into the IR.
struct GraphConverter {
    let label: String
    let opset: Int
    let opsets: [String: Int]

    func convert(_ g: Onnx__GraphProto) throws -> Graph {
        // 8-bit weights read only as DequantizeLinear's input are kept as exact float values
        // (4 bytes each instead of 8): they are folded into float weights anyway, and a
        // model's int8 weights are most of its size.
        var readers: [String: [(op: String, index: Int)]] = [:]
        for i in 0..<g.n_node {
            let n = g.node[i]!.pointee
            for k in 0..<n.n_input { readers[string(n.input[k]), default: []].append((string(n.op_type), k)) }
        }
        var initializers: [String: Tensor] = [:]
        for i in 0..<g.n_initializer {
            let t = g.initializer[i]!.pointee
            let name = string(t.name)
            let dequantizedOnly = readers[name].map { !$0.isEmpty && $0.allSatisfy { $0.op == "DequantizeLinear" && $0.index == 0 } } ?? false
            initializers[name] = try TensorConverter(label: label).convert(t, name: name, compactBytes: dequantizedOnly)
        }

        // Some exporters list values that nodes compute (dequantized weights) as
        // graph inputs too; the node's output defines them.
        var produced = Set<String>()
        for i in 0..<g.n_node {
            let n = g.node[i]!.pointee
            for k in 0..<n.n_output { produced.insert(string(n.output[k])) }
        }
        var inputs: [ValueDecl] = []
        var defaulted: [ValueDecl] = []
        for i in 0..<g.n_input {
            let decl = try valueDecl(g.input[i]!.pointee, role: "input")
            if produced.contains(decl.name) { continue }
            if initializers[decl.name] != nil { defaulted.append(decl) } else { inputs.append(decl) }
        }
        var outputs: [ValueDecl] = []
        for i in 0..<g.n_output {
            outputs.append(try valueDecl(g.output[i]!.pointee, role: "output"))
        }

        var nodes: [Node] = []
        var usedNames = Set<String>()
        for i in 0..<g.n_node {
            var node = try convertNode(g.node[i]!.pointee, index: i)
            if usedNames.contains(node.name) { node.name += "_\(i)" }
            usedNames.insert(node.name)
            nodes.append(node)
        }
        nodes = try topologicallySorted(nodes, available: Set(initializers.keys).union(inputs.map(\.name)))

        // Declared inputs that nothing reads (exporters leave them behind) are not required.
        let read = Set(nodes.flatMap(\.inputs)).union(outputs.map(\.name))
        let unused = inputs.filter { !read.contains($0.name) }
        inputs.removeAll { !read.contains($0.name) }

        var graph = Graph(name: string(g.name).isEmpty ? "graph" : string(g.name), inputs: inputs,
                     defaultedInputs: defaulted, outputs: outputs, initializers: initializers,
                     nodes: nodes, opsets: opsets)
        graph.unusedInputs = unused
        return graph
    }

    private func valueDecl(_ v: Onnx__ValueInfoProto, role: String) throws -> ValueDecl {
        let name = string(v.name)
        guard let type = v.type, type.pointee.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
              let tt = type.pointee.tensor_type else {
            throw ImportError(.unsupported, "\(label): graph \(role) '\(name)' is not a tensor")
        }
        let elem = Int(tt.pointee.elem_type)
        guard let dtype = TensorConverter.dtype(onnx: elem) else {
            throw ImportError(.unsupported, "\(label): graph \(role) '\(name)' has unsupported element type \(TensorConverter.typeName(elem))")
        }
        var dims: [Dim]? = nil
        if let shape = tt.pointee.shape {
            dims = (0..<shape.pointee.n_dim).map { k in
                let d = shape.pointee.dim[k]!.pointee
                switch d.value_case {
                case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE: return .fixed(Int(d.dim_value))
                case ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM: return .symbolic(string(d.dim_param))
                default: return .symbolic("?")
                }
            }
        }
        return ValueDecl(name: name, dtype: dtype, dims: dims)
    }

    private func convertNode(_ n: Onnx__NodeProto, index: Int) throws -> Node {
        let opType = string(n.op_type)
        var name = string(n.name)
        if name.isEmpty { name = "\(opType)_\(index)" }
        let domain = string(n.domain)
        guard domain.isEmpty || domain == "ai.onnx" else {
            throw ImportError(.unsupported, "\(label): node '\(name)' (\(opType), domain \(domain) opset \(opsets[domain] ?? 0)): operators outside the default ONNX domain are not supported")
        }
        guard let op = OpKind(rawValue: opType), !OpKind.internalOnly.contains(op) else {
            throw ImportError(.unsupported, "\(label): node '\(name)' (\(opType), opset \(opset)): operator \(opType) is not supported (see docs/operators.md)")
        }
        guard opset >= op.definition.schema.sinceOpset else {
            throw ImportError(.unsupported, "\(label): node '\(name)' (\(opType), opset \(opset)): supported from opset \(op.definition.schema.sinceOpset)")
        }
        var attributes: [String: Attribute] = [:]
        for i in 0..<n.n_attribute {
            let a = n.attribute[i]!.pointee
            attributes[string(a.name)] = try attribute(a, node: name, opType: opType)
        }
        let inputs = (0..<n.n_input).map { string(n.input[$0]) }
        let outputs = (0..<n.n_output).map { string(n.output[$0]) }
        var node = Node(name: name, op: op, inputs: inputs, outputs: outputs, attributes: attributes, opset: opset)
        node.opType = opType
        // Trailing omitted optional inputs are dropped so arity checks see the real count.
        while let last = node.inputs.last, last.isEmpty { node.inputs.removeLast() }
        do {
            try op.check(node)
        } catch let e as IRError {
            throw ImportError(e.code == .unsupported ? .unsupported : .invalidModel, "\(label): \(e.message)", cause: e)
        }
        return node
    }

    private func attribute(_ a: Onnx__AttributeProto, node: String, opType: String) throws -> Attribute {
        func bytesString(_ b: ProtobufCBinaryData) -> String {
            guard let p = b.data, b.len > 0 else { return "" }
            return String(decoding: UnsafeBufferPointer(start: p, count: b.len), as: UTF8.self)
        }
        switch a.type {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return .float(a.f)
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return .int(Int(a.i))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return .string(bytesString(a.s))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
            return .floats(Array(UnsafeBufferPointer(start: a.floats, count: a.n_floats)))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
            return .ints(UnsafeBufferPointer(start: a.ints, count: a.n_ints).map { Int($0) })
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
            return .strings((0..<a.n_strings).map { bytesString(a.strings[$0]) })
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
            guard let t = a.t else { return .unsupported("empty tensor") }
            return .tensor(try TensorConverter(label: label).convert(t.pointee, name: "\(node).\(string(a.name))"))
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
            return .unsupported("graph")
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS:
            return .unsupported("sparse tensor")
        default:
            // Pre-IR-3 files may omit the type; infer it from the field that is set.
            if a.has_f != 0 { return .float(a.f) }
            if a.has_i != 0 { return .int(Int(a.i)) }
            if a.n_ints > 0 { return .ints(UnsafeBufferPointer(start: a.ints, count: a.n_ints).map { Int($0) }) }
            if a.n_floats > 0 { return .floats(Array(UnsafeBufferPointer(start: a.floats, count: a.n_floats))) }
            if a.has_s != 0 { return .string(bytesString(a.s)) }
            return .unsupported("type \(a.type.rawValue)")
        }
    }

    /// The nodes in an order where every input is produced before it is used.
    private func topologicallySorted(_ nodes: [Node], available: Set<String>) throws -> [Node] {
        var ready = available
        var pending = nodes
        var sorted: [Node] = []
        sorted.reserveCapacity(nodes.count)
        while !pending.isEmpty {
            var progressed = false
            var rest: [Node] = []
            for n in pending {
                if n.inputs.allSatisfy({ $0.isEmpty || ready.contains($0) }) {
                    sorted.append(n)
                    for o in n.outputs where !o.isEmpty { ready.insert(o) }
                    progressed = true
                } else {
                    rest.append(n)
                }
            }
            if !progressed {
                let n = rest[0]
                let missing = n.inputs.first { !$0.isEmpty && !ready.contains($0) } ?? "?"
                throw ImportError(.invalidModel, "\(label): node '\(n.name)' (\(n.opType), opset \(opset)): input '\(missing)' is not produced by any node, initializer or graph input")
            }
            pending = rest
        }
        return sorted
    }
}
