import Foundation

/// NumPy `.npy` files (format versions 1, 2 and 3): little-endian, C order.
extension Tensor {
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY

    private static let descrs: [String: DType] = [
        "<f4": .f32, "<f2": .f16, "<f8": .f64, "|i1": .i8, "<i1": .i8, "|u1": .u8, "<u1": .u8,
        "<i2": .i16, "<i4": .i32, "<i8": .i64, "|b1": .bool, "<b1": .bool,
    ]

    private static func descr(of dtype: DType) -> String {
        switch dtype {
        case .f32: return "<f4"
        case .f16: return "<f2"
        case .f64: return "<f8"
        case .i8: return "|i1"
        case .u8: return "|u1"
        case .i16: return "<i2"
        case .i32: return "<i4"
        case .i64: return "<i8"
        case .bool: return "|b1"
        }
    }

    /// Reads an `.npy` file. `label` names the file in errors.
    public init(npy data: Data, label: String) throws {
        func bad(_ why: String) -> IRError { IRError(.invalidInput, "\(label): not a valid .npy file: \(why)") }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == Self.magic else { throw bad("missing \\x93NUMPY magic") }
        let major = bytes[6]
        let headerLen: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header") }
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw bad("unsupported format version \(major)")
        }
        guard headerStart + headerLen <= bytes.count,
              let header = String(bytes: bytes[headerStart..<headerStart + headerLen], encoding: major == 3 ? .utf8 : .isoLatin1)
        else { throw bad("truncated header") }

        func field(_ key: String) throws -> String {
            guard let r = header.range(of: "'\(key)':") else { throw bad("header lacks '\(key)'") }
            return String(header[r.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
        let descrField = try field("descr")
        guard descrField.first == "'", let end = descrField.dropFirst().firstIndex(of: "'") else { throw bad("bad descr") }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<end])
        guard let dtype = Self.descrs[descr] else {
            throw IRError(.invalidInput, "\(label): unsupported dtype '\(descr)' (supported: float32, float16, float64, int8, uint8, int16, int32, int64, bool; little-endian)")
        }
        let fortran = try field("fortran_order")
        guard fortran.hasPrefix("False") else { throw IRError(.invalidInput, "\(label): Fortran-order arrays are not supported; save with C order") }
        let shapeField = try field("shape")
        guard shapeField.first == "(", let close = shapeField.firstIndex(of: ")") else { throw bad("bad shape") }
        let inner = shapeField[shapeField.index(after: shapeField.startIndex)..<close]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let s = part.trimmingCharacters(in: .whitespaces)
            if s.isEmpty { continue }
            guard let d = Int(s), d >= 0 else { throw bad("bad shape dimension '\(s)'") }
            shape.append(d)
        }
        let count = shape.reduce(1, *)
        let offset = headerStart + headerLen
        guard bytes.count - offset == count * dtype.byteSize else {
            throw bad("data is \(bytes.count - offset) bytes, shape \(shape) of \(descr) needs \(count * dtype.byteSize)")
        }
        self = bytes.withUnsafeBufferPointer { buf in
            Tensor.decode(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buf)[offset...]), dtype: dtype, shape: shape)
        }
    }

    /// Decodes little-endian packed elements.
    public static func decode(_ raw: UnsafeRawBufferPointer, dtype: DType, shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        func load<T: FixedWidthInteger>(_: T.Type) -> [Int64] {
            (0..<n).map { Int64(T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self))) }
        }
        switch dtype {
        case .f32:
            return Tensor(shape: shape, floats: (0..<n).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) })
        case .f16:
            return Tensor(shape: shape, floats: (0..<n).map {
                Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }, dtype: .f16)
        case .f64:
            return Tensor(shape: shape, floats: (0..<n).map {
                Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))) }, dtype: .f64)
        case .i8: return Tensor(shape: shape, ints: load(Int8.self), dtype: .i8)
        case .u8: return Tensor(shape: shape, ints: load(UInt8.self), dtype: .u8)
        case .i16: return Tensor(shape: shape, ints: load(Int16.self), dtype: .i16)
        case .i32: return Tensor(shape: shape, ints: load(Int32.self), dtype: .i32)
        case .i64: return Tensor(shape: shape, ints: load(Int64.self), dtype: .i64)
        case .bool: return Tensor(shape: shape, ints: load(UInt8.self).map { $0 != 0 ? 1 : 0 }, dtype: .bool)
        }
    }

    /// Little-endian packed element bytes in this tensor's dtype.
    public func encodedBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count * dtype.byteSize)
        func put<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        switch dtype {
        case .f32: for v in floats { put(v.bitPattern) }
        case .f16: for v in floats { put(Float16(v).bitPattern) }
        case .f64: for v in floats { put(Double(v).bitPattern) }
        case .i8: for v in ints { put(Int8(truncatingIfNeeded: v)) }
        case .u8, .bool: for v in ints { put(UInt8(truncatingIfNeeded: v)) }
        case .i16: for v in ints { put(Int16(truncatingIfNeeded: v)) }
        case .i32: for v in ints { put(Int32(truncatingIfNeeded: v)) }
        case .i64: for v in ints { put(v) }
        }
        return out
    }

    /// The tensor as `.npy` (format version 1.0) bytes.
    public func npyData() -> Data {
        let shapeText = shape.isEmpty ? "()" : shape.count == 1 ? "(\(shape[0]),)"
            : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(Self.descr(of: dtype))', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that the data starts at a multiple of 64 bytes.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var d = Data(Self.magic)
        d.append(contentsOf: [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: encodedBytes())
        return d
    }

    /// Reads an `.npy` file from disk.
    public init(npyFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IRError(.invalidInput, "\(path): cannot read file")
        }
        try self.init(npy: data, label: path)
    }
}
