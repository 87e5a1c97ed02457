import Foundation

/// An 8-bit RGB image, rows top to bottom, pixels interleaved R G B.
public struct Image: Sendable {
    public let width: Int
    public let height: Int
    /// width · height · 3 samples.
    public var rgb: [UInt8]

    public init(width: Int, height: Int, rgb: [UInt8]) {
        precondition(rgb.count == width * height * 3, "RGB buffer does not match \(width)×\(height)")
        self.width = width
        self.height = height
        self.rgb = rgb
    }

    /// File extensions `decode(file:)` reads.
    public static let fileExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Decodes a JPEG or PNG by its leading bytes (not its extension). Errors
    /// name the file.
    public static func decode(file path: String) throws -> Image {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageError(.corrupt, "\(path): cannot read file")
        }
        return try decode(Array(data), label: path)
    }

    /// Decodes JPEG or PNG bytes; `label` prefixes error messages.
    public static func decode(_ bytes: [UInt8], label: String) throws -> Image {
        do {
            if bytes.count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8 { return try JPEGDecoder.decode(bytes) }
            if bytes.starts(with: PNGDecoder.signature) { return try PNGDecoder.decode(bytes) }
            throw ImageError(.unsupported, "not a JPEG or PNG image")
        } catch let e as ImageError {
            throw e.labeled(label)
        }
    }

    /// Sample (x, y, channel) with coordinates clamped to the image.
    @inline(__always)
    func sample(_ x: Int, _ y: Int, _ c: Int) -> Float {
        Float(rgb[(min(max(y, 0), height - 1) * width + min(max(x, 0), width - 1)) * 3 + c])
    }
}
