/// Element types a tensor can hold.
///
/// Floating types (`f32`, `f16`, `f64`) are held as `Float` values in memory by the
/// reference path; integer and boolean types are held as `Int64`. The declared
/// dtype is kept so that outputs are written with the model's element type.
public enum DType: String, Sendable, CaseIterable, Hashable, Codable {
    case f32, f16, f64, i8, u8, i16, i32, i64, bool

    /// True for the types that the reference path stores as `Float`.
    public var isFloating: Bool {
        switch self {
        case .f32, .f16, .f64: return true
        default: return false
        }
    }

    /// Size of one element in bytes in files and on the wire.
    public var byteSize: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// Clamps and truncates an integer value to this type's range (used by Cast).
    public func wrap(_ v: Int64) -> Int64 {
        switch self {
        case .i8: return Int64(Int8(truncatingIfNeeded: v))
        case .u8: return Int64(UInt8(truncatingIfNeeded: v))
        case .i16: return Int64(Int16(truncatingIfNeeded: v))
        case .i32: return Int64(Int32(truncatingIfNeeded: v))
        case .bool: return v != 0 ? 1 : 0
        default: return v
        }
    }
}
