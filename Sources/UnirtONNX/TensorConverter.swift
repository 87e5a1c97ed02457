import Foundation
import UnirtIR
import COnnxProto
import CProtobufC

/// Converts TensorProto payloads (raw_data or typed fields) into IR tensors.
struct TensorConverter {
    let label: String

    static func dtype(onnx: Int) -> DType? {
        switch onnx {
        case 1: return .f32
        case 2: return .u8
        case 3: return .i8
        case 5: return .i16
        case 6: return .i32
        case 7: return .i64
        case 9: return .bool
        case 10: return .f16
        case 11: return .f64
        default: return nil
        }
    }

    static func typeName(_ onnx: Int) -> String {
        let names = [0: "UNDEFINED", 4: "UINT16", 8: "STRING", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64",
                     15: "COMPLEX128", 16: "BFLOAT16", 17: "FLOAT8E4M3FN", 21: "UINT4", 22: "INT4"]
        return names[onnx] ?? "data type \(onnx)"
    }

    /// - Parameter compactBytes: 8-bit integer data is stored as (exact) float values
    ///   with the integer dtype, half the memory of the usual Int64 storage; only for
    ///   tensors whose readers take either storage (DequantizeLinear's input).
    func convert(_ t: Onnx__TensorProto, name: String, compactBytes: Bool = false) throws -> Tensor {
        if t.has_data_location != 0 && t.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
            throw ImportError(.unsupported, "\(label): tensor '\(name)' keeps its data in an external file; external data is not supported — save the model as one file (onnx.save_model(model, path, save_as_external_data=False))")
        }
        let elem = Int(t.data_type)
        guard let dtype = Self.dtype(onnx: elem) else {
            throw ImportError(.unsupported, "\(label): tensor '\(name)' has unsupported element type \(Self.typeName(elem))")
        }
        let shape = (0..<t.n_dims).map { Int(t.dims[$0]) }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ImportError(.invalidModel, "\(label): tensor '\(name)' has negative dimensions \(shape)")
        }
        let count = shape.reduce(1, *)
        func mismatch(_ have: Int) -> ImportError {
            ImportError(.invalidModel, "\(label): tensor '\(name)' holds \(have) values but its shape \(shape) needs \(count)")
        }
        if t.has_raw_data != 0 {
            let len = t.raw_data.len
            guard len == count * dtype.byteSize else { throw mismatch(len / max(dtype.byteSize, 1)) }
            guard count > 0, let p = t.raw_data.data else { return Tensor(zeros: shape, dtype: dtype) }
            if compactBytes && (dtype == .i8 || dtype == .u8) {
                let raw = UnsafeRawBufferPointer(start: p, count: len)
                let values = dtype == .i8 ? raw.map { Float(Int8(bitPattern: $0)) } : raw.map { Float($0) }
                return Tensor(shape: shape, compactBytes: values, dtype: dtype)
            }
            return Tensor.decode(UnsafeRawBufferPointer(start: p, count: len), dtype: dtype, shape: shape)
        }
        switch dtype {
        case .f32:
            guard t.n_float_data == count else { throw mismatch(t.n_float_data) }
            return Tensor(shape: shape, floats: Array(UnsafeBufferPointer(start: t.float_data, count: count)))
        case .f64:
            guard t.n_double_data == count else { throw mismatch(t.n_double_data) }
            return Tensor(shape: shape, floats: UnsafeBufferPointer(start: t.double_data, count: count).map { Float($0) }, dtype: .f64)
        case .i64:
            guard t.n_int64_data == count else { throw mismatch(t.n_int64_data) }
            return Tensor(shape: shape, ints: Array(UnsafeBufferPointer(start: t.int64_data, count: count)))
        case .f16:
            guard t.n_int32_data == count else { throw mismatch(t.n_int32_data) }
            let v = UnsafeBufferPointer(start: t.int32_data, count: count).map {
                Float(Float16(bitPattern: UInt16(truncatingIfNeeded: $0)))
            }
            return Tensor(shape: shape, floats: v, dtype: .f16)
        default:
            guard t.n_int32_data == count else { throw mismatch(t.n_int32_data) }
            let v = UnsafeBufferPointer(start: t.int32_data, count: count).map { dtype.wrap(Int64($0)) }
            return Tensor(shape: shape, ints: v, dtype: dtype)
        }
    }
}
