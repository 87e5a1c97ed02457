import Foundation

/// Per-tensor activation scales saved as text, so that a plan can be rebuilt
/// without the calibration data (TensorRT's calibration cache, with a header
/// that records how the scales were made).
///
/// Format (UTF-8, lines end in `\n`; a `\r` before it is ignored; empty lines
/// are ignored):
///
///     #unirt-calibration-cache version=1 method=percentile percentile=99.99 data=3f2a…
///     conv1%3Aout: 3c23d70a
///     input: 3b808081
///
/// The header's fields are space-separated `key=value` pairs: `version`
/// (required, 1), `method` (required: entropy, minmax, percentile, mse),
/// `percentile` (required with, and only with, method=percentile) and `data`
/// (optional: a hash of the calibration data, any characters but space and
/// `=`). Each other line is `<escaped name>: <scale>`, where the scale is the
/// 8 hexadecimal digits of its IEEE-754 float32 bit pattern (written in lower
/// case, read in either case) and must be a finite number > 0. In the name,
/// `%`, `:`, space and every control character (U+0000–U+001F, U+007F) are
/// written as `%` and two upper-case hex digits of their UTF-8 byte; any other
/// `%` is an error. Names are unique.
public struct CalibrationCache: Sendable, Equatable {
    /// The format version this code writes and reads.
    public static let formatVersion = 1
    /// The first word of the header line.
    public static let magic = "#unirt-calibration-cache"

    /// One tensor's scale.
    public struct Entry: Sendable, Equatable {
        /// The tensor's name in the graph (unescaped).
        public var name: String
        /// The activation dequantization scale (x ≈ q · scale).
        public var scale: Float
        /// Creates an entry.
        public init(name: String, scale: Float) {
            self.name = name
            self.scale = scale
        }
    }

    /// The method that produced the scales (with its percentile).
    public var method: CalibrationMethod
    /// A hash of the calibration data, when the caller gave one.
    public var dataHash: String?
    /// The scales, in file order.
    public var entries: [Entry]

    /// A cache from parts.
    public init(method: CalibrationMethod, dataHash: String? = nil, entries: [Entry]) {
        self.method = method
        self.dataHash = dataHash
        self.entries = entries
    }

    /// A cache holding the chosen scale of every calibrated tensor.
    public init(method: CalibrationMethod, dataHash: String? = nil, calibrations: [TensorCalibration]) {
        self.init(method: method, dataHash: dataHash,
                  entries: calibrations.map { Entry(name: $0.name, scale: $0.scale) })
    }

    /// The scales keyed by tensor name.
    public var scales: [String: Float] {
        Dictionary(entries.map { ($0.name, $0.scale) }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: Writing

    /// The cache as text. Throws for an empty or duplicate name, a non-positive
    /// or non-finite scale, or a data hash with a space or `=`.
    public func serialized() throws -> String {
        var header = "\(Self.magic) version=\(Self.formatVersion) method=\(method.name)"
        if case .percentile(let p) = method { header += " percentile=\(p)" }
        if let h = dataHash {
            guard Self.isValidHash(h) else {
                throw QuantError(.invalidInput, "calibration data hash '\(h)' must be non-empty without spaces or '='")
            }
            header += " data=\(h)"
        }
        var out = header + "\n"
        var seen = Set<String>()
        for e in entries {
            guard !e.name.isEmpty else { throw QuantError(.invalidInput, "calibration cache: empty tensor name") }
            guard seen.insert(e.name).inserted else {
                throw QuantError(.invalidInput, "calibration cache: tensor '\(e.name)' listed twice")
            }
            guard e.scale.isFinite, e.scale > 0 else {
                throw QuantError(.invalidInput, "calibration cache: tensor '\(e.name)' has invalid scale \(e.scale)")
            }
            out += Self.escape(e.name) + ": " + Self.hex(e.scale) + "\n"
        }
        return out
    }

    /// Writes `serialized()` to `path`.
    public func write(toFile path: String) throws {
        let text = try serialized()
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw QuantError(.io, "cannot write calibration cache \(path): \(error.localizedDescription)", cause: error)
        }
    }

    // MARK: Reading

    /// Reads the cache at `path`; errors name the file and line.
    public init(contentsOfFile path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw QuantError(.io, "cannot read calibration cache \(path): \(error.localizedDescription)", cause: error)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw QuantError(.invalidInput, "calibration cache \(path): not UTF-8 text")
        }
        try self.init(parsing: text, source: path)
    }

    /// Parses cache text; `source` names it in errors ("<source> line N: …").
    public init(parsing text: String, source: String = "calibration cache") throws {
        // "\r\n" is one Character in Swift, so split on both forms.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        func fail(_ n: Int, _ why: String) -> QuantError {
            QuantError(.invalidInput, "\(source) line \(n): \(why)")
        }
        if lines.last == "" { lines.removeLast() }
        guard let first = lines.first else { throw fail(1, "empty file, expected the '\(Self.magic)' header") }
        (method, dataHash) = try Self.parseHeader(first, fail: { fail(1, $0) })

        var entries: [Entry] = []
        var seen = Set<String>()
        for (i, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let n = i + 1
            guard let colon = line.firstIndex(of: ":") else {
                throw fail(n, "expected '<name>: <8 hex digits>', found no ':'")
            }
            let rawName = line[..<colon]
            let rest = line[line.index(after: colon)...]
            guard rest.hasPrefix(" ") else { throw fail(n, "expected one space after ':'") }
            let digits = rest.dropFirst()
            guard digits.count == 8, let bits = UInt32(digits, radix: 16), digits.allSatisfy(\.isHexDigit) else {
                throw fail(n, "scale '\(digits)' is not 8 hex digits of a float32")
            }
            let scale = Float(bitPattern: bits)
            guard scale.isFinite, scale > 0 else { throw fail(n, "scale \(scale) must be a finite number > 0") }
            guard !rawName.isEmpty else { throw fail(n, "empty tensor name") }
            guard let name = Self.unescape(rawName) else {
                throw fail(n, "tensor name '\(rawName)' has a bad %-escape or a raw space/control character")
            }
            guard seen.insert(name).inserted else { throw fail(n, "tensor '\(name)' listed twice") }
            entries.append(Entry(name: name, scale: scale))
        }
        self.entries = entries
    }

    private static func parseHeader(_ line: Substring, fail: (String) -> QuantError) throws
        -> (CalibrationMethod, String?) {
        let words = line.split(separator: " ")
        guard words.first == Substring(magic) else {
            throw fail("expected a header starting with '\(magic)'")
        }
        var fields: [String: String] = [:]
        for w in words.dropFirst() {
            let kv = w.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2, !kv[0].isEmpty, !kv[1].isEmpty else { throw fail("header field '\(w)' is not key=value") }
            let key = String(kv[0])
            guard ["version", "method", "percentile", "data"].contains(key) else {
                throw fail("unknown header field '\(key)'")
            }
            guard fields[key] == nil else { throw fail("header field '\(key)' given twice") }
            fields[key] = String(kv[1])
        }
        guard let v = fields["version"] else { throw fail("header lacks version=") }
        guard v == String(formatVersion) else {
            throw fail("unsupported cache version \(v) (this unirt reads version \(formatVersion)); recalibrate")
        }
        guard let name = fields["method"] else { throw fail("header lacks method=") }
        var pct: Double?
        if let p = fields["percentile"] {
            guard name == "percentile" else { throw fail("percentile= given with method=\(name)") }
            guard let d = Double(p) else { throw fail("percentile '\(p)' is not a number") }
            pct = d
        } else if name == "percentile" {
            throw fail("method=percentile needs percentile=")
        }
        let method: CalibrationMethod
        do { method = try CalibrationMethod(name: name, percentile: pct) } catch let e as QuantError {
            throw fail(e.message)
        }
        return (method, fields["data"])
    }

    // MARK: Helpers

    /// The 8 lower-case hex digits of a float's bit pattern.
    public static func hex(_ x: Float) -> String {
        let s = String(x.bitPattern, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// A name with `%`, `:`, space and control characters %-escaped.
    public static func escape(_ name: String) -> String {
        var out = ""
        for u in name.unicodeScalars {
            if u == "%" || u == ":" || u == " " || u.value < 0x20 || u.value == 0x7F {
                out += "%" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16, uppercase: true)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// The inverse of `escape`; nil for a bad escape or an unescaped space/control character.
    public static func unescape(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2,
                      let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                it = it.dropFirst(2)
                bytes.append(v)
            } else {
                if b < 0x20 || b == 0x7F || b == UInt8(ascii: " ") { return nil }
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func isValidHash(_ h: String) -> Bool {
        !h.isEmpty && !h.contains(where: { $0 == " " || $0 == "=" || $0.isNewline || $0 == "\t" })
    }
}
