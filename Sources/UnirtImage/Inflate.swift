/// DEFLATE decompression (RFC 1951) inside a zlib stream (RFC 1950), as PNG
/// stores its pixel data. Decodes canonical Huffman codes one bit at a time by
/// comparing against the first code of each length: simple and fast enough for
/// calibration images (a few megabytes).
struct Inflate {
    private let input: [UInt8]
    private var position = 0
    private var bitBuffer: UInt64 = 0
    private var bitCount = 0
    private var output: [UInt8] = []

    /// A canonical Huffman code: symbol counts per code length and the symbols
    /// sorted by (length, value).
    private struct Code {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int] = []

        init(lengths: ArraySlice<Int>) throws {
            for l in lengths { counts[l] += 1 }
            counts[0] = 0
            var left = 1
            for l in 1...15 {
                left <<= 1
                left -= counts[l]
                if left < 0 { throw ImageError(.corrupt, "deflate: over-subscribed Huffman code") }
            }
            var offsets = [Int](repeating: 0, count: 16)
            for l in 1..<15 { offsets[l + 1] = offsets[l] + counts[l] }
            symbols = [Int](repeating: 0, count: lengths.count)
            for (symbol, l) in lengths.enumerated() where l != 0 {
                symbols[offsets[l]] = symbol
                offsets[l] += 1
            }
        }
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                     67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                       1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
                                        11, 11, 12, 12, 13, 13]
    /// Order in which code-length code lengths are stored in a dynamic block header.
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Decompresses a zlib stream (2-byte header, deflate data, Adler-32).
    static func zlib(_ data: [UInt8], expectedSize: Int) throws -> [UInt8] {
        guard data.count >= 6 else { throw ImageError(.corrupt, "zlib stream of \(data.count) bytes is truncated") }
        let cmf = Int(data[0]), flg = Int(data[1])
        guard cmf & 0x0F == 8, (cmf << 8 | flg) % 31 == 0 else { throw ImageError(.corrupt, "bad zlib header") }
        guard flg & 0x20 == 0 else { throw ImageError(.unsupported, "zlib stream with a preset dictionary") }
        var inflater = Inflate(input: data, start: 2)
        inflater.output.reserveCapacity(expectedSize)
        try inflater.run()
        return inflater.output
    }

    private init(input: [UInt8], start: Int) {
        self.input = input
        position = start
    }

    private mutating func bits(_ n: Int) throws -> Int {
        while bitCount < n {
            guard position < input.count else { throw ImageError(.corrupt, "deflate data is truncated") }
            bitBuffer |= UInt64(input[position]) << UInt64(bitCount)
            position += 1
            bitCount += 8
        }
        let v = Int(bitBuffer & ((1 << UInt64(n)) - 1))
        bitBuffer >>= UInt64(n)
        bitCount -= n
        return v
    }

    private mutating func decode(_ code: Code) throws -> Int {
        var value = 0, first = 0, index = 0
        for l in 1...15 {
            value |= try bits(1)
            let count = code.counts[l]
            if value - first < count { return code.symbols[index + value - first] }
            index += count
            first = (first + count) << 1
            value <<= 1
        }
        throw ImageError(.corrupt, "deflate: invalid Huffman code")
    }

    private mutating func run() throws {
        var last = 0
        while last == 0 {
            last = try bits(1)
            switch try bits(2) {
            case 0: try stored()
            case 1: try fixed()
            case 2: try dynamic()
            default: throw ImageError(.corrupt, "deflate: invalid block type")
            }
        }
    }

    private mutating func stored() throws {
        bitBuffer = 0
        bitCount = 0
        guard position + 4 <= input.count else { throw ImageError(.corrupt, "deflate data is truncated") }
        let len = Int(input[position]) | Int(input[position + 1]) << 8
        let nlen = Int(input[position + 2]) | Int(input[position + 3]) << 8
        position += 4
        guard len == ~nlen & 0xFFFF else { throw ImageError(.corrupt, "deflate: stored block length check failed") }
        guard position + len <= input.count else { throw ImageError(.corrupt, "deflate data is truncated") }
        output.append(contentsOf: input[position..<position + len])
        position += len
    }

    private mutating func fixed() throws {
        var lengths = [Int](repeating: 8, count: 288)
        for i in 144..<256 { lengths[i] = 9 }
        for i in 256..<280 { lengths[i] = 7 }
        let literal = try Code(lengths: lengths[...])
        let distance = try Code(lengths: [Int](repeating: 5, count: 30)[...])
        try codes(literal, distance)
    }

    private mutating func dynamic() throws {
        let nlen = try bits(5) + 257, ndist = try bits(5) + 1, ncode = try bits(4) + 4
        guard nlen <= 286, ndist <= 30 else { throw ImageError(.corrupt, "deflate: bad dynamic block counts") }
        var lengths = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { lengths[Self.codeLengthOrder[i]] = try bits(3) }
        let lengthCode = try Code(lengths: lengths[...])
        var all = [Int]()
        all.reserveCapacity(nlen + ndist)
        while all.count < nlen + ndist {
            let symbol = try decode(lengthCode)
            switch symbol {
            case 0..<16: all.append(symbol)
            case 16:
                guard let previous = all.last else { throw ImageError(.corrupt, "deflate: repeat with no previous length") }
                all.append(contentsOf: repeatElement(previous, count: 3 + (try bits(2))))
            case 17: all.append(contentsOf: repeatElement(0, count: 3 + (try bits(3))))
            default: all.append(contentsOf: repeatElement(0, count: 11 + (try bits(7))))
            }
        }
        guard all.count == nlen + ndist, all[256] != 0 else { throw ImageError(.corrupt, "deflate: bad code lengths") }
        try codes(try Code(lengths: all[0..<nlen]), try Code(lengths: all[nlen...]))
    }

    private mutating func codes(_ literal: Code, _ distance: Code) throws {
        while true {
            let symbol = try decode(literal)
            if symbol < 256 {
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let i = symbol - 257
                guard i < 29 else { throw ImageError(.corrupt, "deflate: bad length symbol") }
                let length = Self.lengthBase[i] + (try bits(Self.lengthExtra[i]))
                let d = try decode(distance)
                guard d < 30 else { throw ImageError(.corrupt, "deflate: bad distance symbol") }
                let dist = Self.distanceBase[d] + (try bits(Self.distanceExtra[d]))
                guard dist <= output.count else { throw ImageError(.corrupt, "deflate: distance beyond the start") }
                let from = output.count - dist
                for k in 0..<length { output.append(output[from + k]) }
            }
        }
    }
}
