/// PNG decoding (non-interlaced and Adam7; bit depths 1–16; gray, RGB,
/// palette, gray+alpha, RGBA) to 8-bit RGB. Alpha is dropped, as calibration
/// feeds RGB models; 16-bit samples keep their high byte. Chunk CRCs are checked
/// so a damaged file is refused rather than decoded into noise.
enum PNGDecoder {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func decode(_ data: [UInt8]) throws -> Image {
        guard data.count >= 8, Array(data[0..<8]) == signature else { throw ImageError(.unsupported, "not a PNG file") }
        var pos = 8
        var width = 0, height = 0, depth = 0, colorType = 0, interlace = 0
        var palette: [UInt8] = []
        var idat: [UInt8] = []
        var sawHeader = false, sawEnd = false
        while pos + 12 <= data.count {
            let length = Int(be32(data, pos))
            let type = String(decoding: data[pos + 4..<pos + 8], as: UTF8.self)
            guard length <= data.count - pos - 12 else { throw ImageError(.corrupt, "chunk \(type) at byte \(pos) is truncated") }
            let body = pos + 8
            guard crc32(data[pos + 4..<body + length]) == be32(data, body + length) else {
                throw ImageError(.corrupt, "chunk \(type) at byte \(pos) fails its CRC")
            }
            switch type {
            case "IHDR":
                guard length == 13 else { throw ImageError(.corrupt, "IHDR of \(length) bytes") }
                width = Int(be32(data, body))
                height = Int(be32(data, body + 4))
                depth = Int(data[body + 8])
                colorType = Int(data[body + 9])
                interlace = Int(data[body + 12])
                sawHeader = true
            case "PLTE": palette = Array(data[body..<body + length])
            case "IDAT": idat.append(contentsOf: data[body..<body + length])
            case "IEND": sawEnd = true
            default: break
            }
            pos = body + length + 4
            if sawEnd { break }
        }
        guard sawHeader else { throw ImageError(.corrupt, "no IHDR chunk") }
        guard sawEnd else { throw ImageError(.corrupt, "no IEND chunk (truncated file)") }
        guard width > 0, height > 0, width <= 1 << 15, height <= 1 << 15 else {
            throw ImageError(.unsupported, "image size \(width)×\(height)")
        }
        let channels: Int
        switch colorType {
        case 0: channels = 1
        case 2: channels = 3
        case 3: channels = 1
        case 4: channels = 2
        case 6: channels = 4
        default: throw ImageError(.corrupt, "color type \(colorType)")
        }
        let validDepths: Set<Int> = colorType == 0 ? [1, 2, 4, 8, 16] : colorType == 3 ? [1, 2, 4, 8] : [8, 16]
        guard validDepths.contains(depth) else { throw ImageError(.corrupt, "bit depth \(depth) with color type \(colorType)") }
        guard colorType != 3 || !palette.isEmpty else { throw ImageError(.corrupt, "palette image without a PLTE chunk") }
        guard interlace <= 1 else { throw ImageError(.corrupt, "interlace method \(interlace)") }

        let bitsPerPixel = channels * depth
        let passes: [(x0: Int, y0: Int, dx: Int, dy: Int)] = interlace == 1
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        var expected = 0
        for p in passes {
            let w = (width - p.x0 + p.dx - 1) / p.dx, h = (height - p.y0 + p.dy - 1) / p.dy
            if w > 0 && h > 0 { expected += h * (1 + (w * bitsPerPixel + 7) / 8) }
        }
        let raw = try Inflate.zlib(idat, expectedSize: expected)
        guard raw.count >= expected else { throw ImageError(.corrupt, "pixel data holds \(raw.count) bytes, \(expected) expected") }

        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        var offset = 0
        for p in passes {
            let w = (width - p.x0 + p.dx - 1) / p.dx, h = (height - p.y0 + p.dy - 1) / p.dy
            guard w > 0 && h > 0 else { continue }
            let stride = (w * bitsPerPixel + 7) / 8
            let bpp = max(1, bitsPerPixel / 8)
            var previous = [UInt8](repeating: 0, count: stride)
            var line = [UInt8](repeating: 0, count: stride)
            for y in 0..<h {
                let filter = raw[offset]
                for i in 0..<stride { line[i] = raw[offset + 1 + i] }
                offset += 1 + stride
                try unfilter(&line, previous: previous, filter: filter, bpp: bpp)
                for x in 0..<w {
                    let (r, g, b) = pixel(line, x: x, depth: depth, colorType: colorType, channels: channels, palette: palette)
                    let o = ((p.y0 + y * p.dy) * width + p.x0 + x * p.dx) * 3
                    rgb[o] = r
                    rgb[o + 1] = g
                    rgb[o + 2] = b
                }
                swap(&line, &previous)
            }
        }
        return Image(width: width, height: height, rgb: rgb)
    }

    private static func unfilter(_ line: inout [UInt8], previous: [UInt8], filter: UInt8, bpp: Int) throws {
        let n = line.count
        switch filter {
        case 0: break
        case 1: for i in bpp..<max(bpp, n) { line[i] &+= line[i - bpp] }
        case 2: for i in 0..<n { line[i] &+= previous[i] }
        case 3:
            for i in 0..<n {
                let left = i >= bpp ? Int(line[i - bpp]) : 0
                line[i] &+= UInt8((left + Int(previous[i])) / 2)
            }
        case 4:
            for i in 0..<n {
                let a = i >= bpp ? Int(line[i - bpp]) : 0, b = Int(previous[i]), c = i >= bpp ? Int(previous[i - bpp]) : 0
                let p = a + b - c
                let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                line[i] &+= UInt8(pa <= pb && pa <= pc ? a : pb <= pc ? b : c)
            }
        default: throw ImageError(.corrupt, "scanline filter \(filter)")
        }
    }

    /// Sample `index` of a scanline, scaled to 8 bits.
    private static func sample(_ line: [UInt8], _ index: Int, depth: Int) -> Int {
        switch depth {
        case 8: return Int(line[index])
        case 16: return Int(line[index * 2])
        default:
            let bit = index * depth
            let v = Int(line[bit / 8]) >> (8 - depth - bit % 8) & ((1 << depth) - 1)
            return v
        }
    }

    private static func pixel(_ line: [UInt8], x: Int, depth: Int, colorType: Int, channels: Int,
                              palette: [UInt8]) -> (UInt8, UInt8, UInt8) {
        switch colorType {
        case 3:
            let i = sample(line, x, depth: depth) * 3
            guard i + 2 < palette.count else { return (0, 0, 0) }
            return (palette[i], palette[i + 1], palette[i + 2])
        case 0, 4:
            var v = sample(line, x * channels, depth: depth)
            if depth < 8 { v = v * 255 / ((1 << depth) - 1) }
            return (UInt8(v), UInt8(v), UInt8(v))
        default:
            return (UInt8(sample(line, x * channels, depth: depth)), UInt8(sample(line, x * channels + 1, depth: depth)),
                    UInt8(sample(line, x * channels + 2, depth: depth)))
        }
    }

    private static func be32(_ d: [UInt8], _ i: Int) -> UInt32 {
        UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
