/// Element storage of a tensor on the reference path.
public enum TensorStorage: Sendable {
    /// Values of `f32`, `f16` and `f64` tensors.
    case float([Float])
    /// Values of integer and boolean tensors.
    case int([Int64])
}

/// A dense, row-major (C order) tensor with a concrete shape.
///
/// A value type: copies share storage until written (Swift arrays).
public struct Tensor: Sendable {
    public var dtype: DType
    public var shape: [Int]
    public var storage: TensorStorage

    /// A float tensor; `values.count` must equal the product of `shape`.
    public init(shape: [Int], floats values: [Float], dtype: DType = .f32) {
        precondition(values.count == shape.reduce(1, *), "tensor size does not match shape")
        precondition(dtype.isFloating)
        self.dtype = dtype
        self.shape = shape
        self.storage = .float(values)
    }

    /// An 8-bit integer tensor that keeps its values as exact floats: a quarter of the
    /// memory of Int64 storage minus the float, for the int8 weights of quantized models.
    /// `ints` and `floats` read it as usual, but kernels that switch on `storage` see
    /// `.float`, so it is only for tensors read by kernels that accept both
    /// (DequantizeLinear's input).
    public init(shape: [Int], compactBytes values: [Float], dtype: DType) {
        precondition(values.count == shape.reduce(1, *), "tensor size does not match shape")
        precondition(!dtype.isFloating && dtype.byteSize == 1)
        self.dtype = dtype
        self.shape = shape
        self.storage = .float(values)
    }

    /// An integer or boolean tensor; `values.count` must equal the product of `shape`.
    public init(shape: [Int], ints values: [Int64], dtype: DType = .i64) {
        precondition(values.count == shape.reduce(1, *), "tensor size does not match shape")
        precondition(!dtype.isFloating)
        self.dtype = dtype
        self.shape = shape
        self.storage = .int(values)
    }

    /// A zero-filled tensor of the given type.
    public init(zeros shape: [Int], dtype: DType) {
        let n = shape.reduce(1, *)
        self.dtype = dtype
        self.shape = shape
        self.storage = dtype.isFloating ? .float([Float](repeating: 0, count: n))
            : .int([Int64](repeating: 0, count: n))
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Values as `Float`, converting integers.
    public var floats: [Float] {
        switch storage {
        case .float(let v): return v
        case .int(let v): return v.map { Float($0) }
        }
    }

    /// Values as `Int64`, truncating floats toward zero.
    public var ints: [Int64] {
        switch storage {
        case .int(let v): return v
        case .float(let v): return v.map { $0.isFinite ? Int64($0) : 0 }
        }
    }

    /// The same data with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count)
        var t = self
        t.shape = newShape
        return t
    }

    /// This tensor converted to `dtype` with ONNX Cast semantics.
    public func cast(to target: DType) -> Tensor {
        if target.isFloating {
            var v = floats
            if target == .f16 { v = v.map { Float(Float16($0)) } }
            return Tensor(shape: shape, floats: v, dtype: target)
        }
        switch storage {
        case .int(let v):
            return Tensor(shape: shape, ints: v.map { target.wrap($0) }, dtype: target)
        case .float(let v):
            if target == .bool { return Tensor(shape: shape, ints: v.map { $0 != 0 ? 1 : 0 }, dtype: .bool) }
            return Tensor(shape: shape, ints: v.map { $0.isFinite ? target.wrap(Int64($0)) : 0 }, dtype: target)
        }
    }

    /// A one-line summary such as `f32[1,3,112,112]`.
    public var typeDescription: String { "\(dtype.rawValue)\(shape)" }
}
