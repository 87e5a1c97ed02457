import UnirtIR

/// The JSON metadata section of a plan file: the graph structure with weights
/// referenced by (offset, length) into the weights section.
struct PlanDocument: Codable {
    struct Decl: Codable {
        var name: String
        var dtype: DType
        /// Fixed dimensions as numbers, symbolic ones as names; nil when unknown.
        var dims: [DimCode]?
    }

    enum DimCode: Codable {
        case fixed(Int)
        case symbolic(String)

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { self = .fixed(n) } else { self = .symbolic(try c.decode(String.self)) }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .fixed(let n): try c.encode(n)
            case .symbolic(let s): try c.encode(s)
            }
        }
    }

    struct TensorRef: Codable {
        var dtype: DType
        var shape: [Int]
        var encoding: WeightEncoding
        /// Byte offset into the weights section (64-byte aligned) and length.
        var offset: Int
        var length: Int
        /// Per-slice scales for `i8`.
        var scales: [Float]?
    }

    struct AttributeCode: Codable {
        var i: Int?
        var f: Float?
        var s: String?
        var ints: [Int]?
        var floats: [Float]?
        var strings: [String]?
        var tensor: TensorRef?
    }

    /// A compiled GPU kernel image stored in the weights section.
    struct KernelRef: Codable {
        var architecture: String
        var sourceSHA256: String
        var offset: Int
        var length: Int
    }

    struct NodeCode: Codable {
        var name: String
        var op: String
        var inputs: [String]
        var outputs: [String]
        var opset: Int
        var attributes: [String: AttributeCode]
    }

    var format: String
    var provenance: Provenance
    var graphName: String
    var producer: String
    var opsets: [String: Int]
    var inputs: [Decl]
    var outputs: [Decl]
    var nodes: [NodeCode]
    var initializers: [String: TensorRef]
    var activationScales: [String: Float]
    /// GPU plans: unirt's kernels compiled for the plan's GPU architecture (absent in CPU plans).
    var kernels: [KernelRef]?
    /// GPU plans (format 1.3): the build's tactic choices per GPU (absent in CPU plans and older GPU plans).
    var tactics: [GPUTactics]?
}

extension PlanDocument.Decl {
    init(_ d: ValueDecl) {
        name = d.name
        dtype = d.dtype
        dims = d.dims?.map { dim in
            switch dim {
            case .fixed(let n): return .fixed(n)
            case .symbolic(let s): return .symbolic(s)
            }
        }
    }

    var decl: ValueDecl {
        ValueDecl(name: name, dtype: dtype, dims: dims?.map {
            switch $0 {
            case .fixed(let n): return .fixed(n)
            case .symbolic(let s): return .symbolic(s)
            }
        })
    }
}
