import Foundation

/// JPEG decoding (ITU-T T.81): baseline and extended sequential Huffman, and
/// progressive Huffman (spectral selection and successive approximation), 8-bit
/// precision, one or three components with any sampling factors, restart
/// intervals. Output is 8-bit RGB: YCbCr is converted with the JFIF equations
/// (components marked RGB by an Adobe segment are taken as they are), chroma is
/// upsampled with a centred linear filter (the "fancy" upsampling of common
/// decoders), and the inverse DCT is a separable float transform.
///
/// All scans decode into per-component coefficient arrays first, so baseline
/// and progressive files share the dequantize/IDCT/colour stage.
struct JPEGDecoder {
    private struct HuffmanTable {
        var maxCode = [Int](repeating: -1, count: 18)
        var valueOffset = [Int](repeating: 0, count: 17)
        var values: [UInt8] = []
    }

    private struct Component {
        var id: Int
        var h: Int, v: Int
        var quantTable: Int
        var blocksPerLine = 0, blocksPerColumn = 0
        /// Blocks allocated: whole MCUs, so interleaved scans may write padding blocks.
        var allocatedPerLine = 0, allocatedPerColumn = 0
        var coefficients: [Int32] = []
        var dcPredictor: Int32 = 0
        var dcTable = 0, acTable = 0
    }

    /// Natural (row-major) index of the k-th coefficient in zig-zag order.
    private static let zigzag: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
        28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
        54, 47, 55, 62, 63,
    ]

    private let data: [UInt8]
    private var pos = 0
    private var quant = [[Int32]](repeating: [Int32](repeating: 1, count: 64), count: 4)
    private var dcTables = [HuffmanTable](repeating: HuffmanTable(), count: 4)
    private var acTables = [HuffmanTable](repeating: HuffmanTable(), count: 4)
    private var components: [Component] = []
    private var width = 0, height = 0
    private var hMax = 1, vMax = 1
    private var mcusPerLine = 0, mcusPerColumn = 0
    private var progressive = false
    private var restartInterval = 0
    private var adobeTransform: Int?
    private var sawFrame = false
    // Entropy-coded segment reader.
    private var bitBuffer: UInt32 = 0
    private var bitCount = 0
    private var markerHit = false
    private var eobRun = 0

    static func decode(_ data: [UInt8]) throws -> Image {
        var d = JPEGDecoder(data: data)
        return try d.run()
    }

    private init(data: [UInt8]) { self.data = data }

    private mutating func u16() throws -> Int {
        guard pos + 2 <= data.count else { throw ImageError(.corrupt, "truncated at byte \(pos)") }
        defer { pos += 2 }
        return Int(data[pos]) << 8 | Int(data[pos + 1])
    }

    private mutating func run() throws -> Image {
        guard data.count >= 4, data[0] == 0xFF, data[1] == 0xD8 else { throw ImageError(.unsupported, "not a JPEG file") }
        pos = 2
        while true {
            // Markers may be preceded by any number of 0xFF fill bytes.
            guard pos < data.count else { throw ImageError(.corrupt, "truncated: no end-of-image marker") }
            guard data[pos] == 0xFF else { throw ImageError(.corrupt, "expected a marker at byte \(pos)") }
            while pos < data.count && data[pos] == 0xFF { pos += 1 }
            guard pos < data.count else { throw ImageError(.corrupt, "truncated at byte \(pos)") }
            let marker = Int(data[pos])
            pos += 1
            switch marker {
            case 0xD9: return try finish()
            case 0xD0...0xD7, 0x01: continue
            case 0xC0, 0xC1, 0xC2: try readFrame(progressive: marker == 0xC2)
            case 0xC3, 0xC5...0xC7, 0xC9...0xCB, 0xCD...0xCF:
                throw ImageError(.unsupported, "JPEG process SOF\(marker - 0xC0) (lossless, hierarchical or arithmetic-coded) is not supported")
            case 0xC4: try readHuffmanTables()
            case 0xDB: try readQuantTables()
            case 0xDD:
                _ = try u16()
                restartInterval = try u16()
            case 0xDA: try readScan()
            case 0xEE:
                let start = pos
                let length = try u16()
                // "Adobe", version, two flag words, then the colour transform byte.
                if length >= 14, start + 14 <= data.count, String(decoding: data[start + 2..<start + 7], as: UTF8.self) == "Adobe" {
                    adobeTransform = Int(data[start + 13])
                }
                pos = start + length
            default:
                let length = try u16()
                guard length >= 2 else { throw ImageError(.corrupt, "segment length \(length) at byte \(pos - 2)") }
                pos += length - 2
            }
        }
    }

    private mutating func readQuantTables() throws {
        let end = pos + (try u16())
        while pos < end {
            guard pos < data.count else { throw ImageError(.corrupt, "truncated quantization table") }
            let pq = Int(data[pos]) >> 4, tq = Int(data[pos]) & 15
            pos += 1
            guard tq < 4, pq <= 1 else { throw ImageError(.corrupt, "quantization table \(tq) precision \(pq)") }
            guard pos + 64 * (pq + 1) <= data.count else { throw ImageError(.corrupt, "truncated quantization table") }
            for k in 0..<64 {
                let v = pq == 0 ? Int32(data[pos + k]) : Int32(data[pos + 2 * k]) << 8 | Int32(data[pos + 2 * k + 1])
                quant[tq][Self.zigzag[k]] = v
            }
            pos += 64 * (pq + 1)
        }
        pos = end
    }

    private mutating func readHuffmanTables() throws {
        let end = pos + (try u16())
        while pos < end {
            guard pos + 17 <= data.count else { throw ImageError(.corrupt, "truncated Huffman table") }
            let tc = Int(data[pos]) >> 4, th = Int(data[pos]) & 15
            guard tc <= 1, th < 4 else { throw ImageError(.corrupt, "Huffman table class \(tc) id \(th)") }
            let counts = (1...16).map { Int(data[pos + $0]) }
            pos += 17
            let total = counts.reduce(0, +)
            guard total <= 256, pos + total <= data.count else { throw ImageError(.corrupt, "truncated Huffman table") }
            var table = HuffmanTable()
            table.values = Array(data[pos..<pos + total])
            pos += total
            var code = 0, k = 0
            for l in 1...16 {
                table.valueOffset[l] = k - code
                code += counts[l - 1]
                k += counts[l - 1]
                table.maxCode[l] = counts[l - 1] > 0 ? code - 1 : -1
                code <<= 1
            }
            if tc == 0 { dcTables[th] = table } else { acTables[th] = table }
        }
        pos = end
    }

    private mutating func readFrame(progressive: Bool) throws {
        guard !sawFrame else { throw ImageError(.unsupported, "more than one frame") }
        sawFrame = true
        self.progressive = progressive
        let start = pos
        let length = try u16()
        guard start + length <= data.count, length >= 8 else { throw ImageError(.corrupt, "truncated frame header") }
        let precision = Int(data[pos])
        guard precision == 8 else { throw ImageError(.unsupported, "\(precision)-bit samples (8-bit only)") }
        height = Int(data[pos + 1]) << 8 | Int(data[pos + 2])
        width = Int(data[pos + 3]) << 8 | Int(data[pos + 4])
        let count = Int(data[pos + 5])
        pos += 6
        guard width > 0, height > 0 else { throw ImageError(.unsupported, "image size \(width)×\(height) (DNL-defined heights are not read)") }
        guard count == 1 || count == 3 else { throw ImageError(.unsupported, "\(count) colour components (CMYK/YCCK are not read)") }
        guard length == 8 + 3 * count else { throw ImageError(.corrupt, "frame header length \(length)") }
        for _ in 0..<count {
            let h = Int(data[pos + 1]) >> 4, v = Int(data[pos + 1]) & 15, tq = Int(data[pos + 2])
            guard (1...4).contains(h), (1...4).contains(v), tq < 4 else { throw ImageError(.corrupt, "component sampling \(h)×\(v) table \(tq)") }
            components.append(Component(id: Int(data[pos]), h: h, v: v, quantTable: tq))
            pos += 3
        }
        hMax = components.map(\.h).max()!
        vMax = components.map(\.v).max()!
        mcusPerLine = (width + 8 * hMax - 1) / (8 * hMax)
        mcusPerColumn = (height + 8 * vMax - 1) / (8 * vMax)
        for i in components.indices {
            let c = components[i]
            components[i].blocksPerLine = ((width * c.h + hMax - 1) / hMax + 7) / 8
            components[i].blocksPerColumn = ((height * c.v + vMax - 1) / vMax + 7) / 8
            components[i].allocatedPerLine = mcusPerLine * c.h
            components[i].allocatedPerColumn = mcusPerColumn * c.v
            components[i].coefficients = [Int32](repeating: 0, count: mcusPerLine * c.h * mcusPerColumn * c.v * 64)
        }
    }

    // MARK: Entropy-coded data

    private mutating func fill() {
        while bitCount <= 24 {
            var byte: UInt32 = 0
            if !markerHit && pos < data.count {
                let b = data[pos]
                if b == 0xFF {
                    let next = pos + 1 < data.count ? data[pos + 1] : 0xD9
                    if next == 0x00 {
                        pos += 2
                        byte = 0xFF
                    } else {
                        markerHit = true
                    }
                } else {
                    pos += 1
                    byte = UInt32(b)
                }
            }
            bitBuffer |= byte << UInt32(24 - bitCount)
            bitCount += 8
        }
    }

    private mutating func bits(_ n: Int) -> Int32 {
        if n == 0 { return 0 }
        if bitCount < n { fill() }
        let v = Int32(bitBuffer >> UInt32(32 - n))
        bitBuffer <<= UInt32(n)
        bitCount -= n
        return v
    }

    /// The value of an `s`-bit magnitude category (T.81 F.2.2.1 EXTEND).
    private mutating func extended(_ s: Int) -> Int32 {
        if s == 0 { return 0 }
        let v = bits(s)
        return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v
    }

    private mutating func decode(_ table: HuffmanTable) throws -> Int {
        if bitCount < 16 { fill() }
        let peek = Int(bitBuffer >> 16)
        for l in 1...16 {
            let code = peek >> (16 - l)
            if code <= table.maxCode[l] {
                bitBuffer <<= UInt32(l)
                bitCount -= l
                let index = table.valueOffset[l] + code
                guard index >= 0 && index < table.values.count else { break }
                return Int(table.values[index])
            }
        }
        throw ImageError(.corrupt, "invalid Huffman code near byte \(pos)")
    }

    private mutating func resetReader() {
        bitBuffer = 0
        bitCount = 0
        markerHit = false
    }

    private mutating func readScan() throws {
        guard sawFrame else { throw ImageError(.corrupt, "scan before the frame header") }
        let start = pos
        let length = try u16()
        guard start + length <= data.count, length >= 6 else { throw ImageError(.corrupt, "truncated scan header") }
        let count = Int(data[pos])
        pos += 1
        guard (1...components.count).contains(count), length == 6 + 2 * count else { throw ImageError(.corrupt, "scan header with \(count) components") }
        var scanComponents: [Int] = []
        for _ in 0..<count {
            let id = Int(data[pos]), tables = Int(data[pos + 1])
            guard let i = components.firstIndex(where: { $0.id == id }) else { throw ImageError(.corrupt, "scan names unknown component \(id)") }
            components[i].dcTable = tables >> 4
            components[i].acTable = tables & 15
            guard tables >> 4 < 4, tables & 15 < 4 else { throw ImageError(.corrupt, "scan Huffman table ids") }
            scanComponents.append(i)
            pos += 2
        }
        let ss = Int(data[pos]), se = Int(data[pos + 1]), ah = Int(data[pos + 2]) >> 4, al = Int(data[pos + 2]) & 15
        pos += 3
        if progressive {
            guard ss <= se, se <= 63, (ss == 0) == (se == 0), ss == 0 || count == 1 else {
                throw ImageError(.corrupt, "progressive scan with spectral range \(ss)…\(se) over \(count) components")
            }
        } else {
            guard ss == 0, se == 63, ah == 0, al == 0 else { throw ImageError(.corrupt, "sequential scan with spectral range \(ss)…\(se)") }
        }
        resetReader()
        eobRun = 0
        for i in components.indices { components[i].dcPredictor = 0 }

        let block: (inout JPEGDecoder, Int, Int) throws -> Void = { d, ci, offset in
            if !d.progressive {
                try d.decodeSequential(ci, offset)
            } else if ss == 0 {
                try d.decodeDC(ci, offset, refine: ah != 0, al: al)
            } else if ah == 0 {
                try d.decodeACFirst(ci, offset, ss: ss, se: se, al: al)
            } else {
                try d.decodeACRefine(ci, offset, ss: ss, se: se, al: al)
            }
        }

        // Only the geometry is copied out: holding a Component copy would share its
        // coefficient array and turn every write below into a full copy.
        let geometry = components.map { (h: $0.h, v: $0.v, perLine: $0.blocksPerLine, perColumn: $0.blocksPerColumn,
                                         allocatedPerLine: $0.allocatedPerLine) }
        var mcu = 0
        let single = count == 1
        let c0 = geometry[scanComponents[0]]
        let totalMCUs = single ? c0.perLine * c0.perColumn : mcusPerLine * mcusPerColumn
        while mcu < totalMCUs {
            let run = restartInterval > 0 ? min(restartInterval, totalMCUs - mcu) : totalMCUs
            for _ in 0..<run {
                if single {
                    let ci = scanComponents[0]
                    let row = mcu / c0.perLine, col = mcu % c0.perLine
                    try block(&self, ci, (row * c0.allocatedPerLine + col) * 64)
                } else {
                    let mrow = mcu / mcusPerLine, mcol = mcu % mcusPerLine
                    for ci in scanComponents {
                        let c = geometry[ci]
                        for y in 0..<c.v {
                            for x in 0..<c.h {
                                let row = mrow * c.v + y, col = mcol * c.h + x
                                try block(&self, ci, (row * c.allocatedPerLine + col) * 64)
                            }
                        }
                    }
                }
                mcu += 1
            }
            if restartInterval > 0 && mcu < totalMCUs {
                try restart()
                for i in components.indices { components[i].dcPredictor = 0 }
            }
        }
        // Move to the next marker: the reader may have stopped short of it.
        resetReader()
        while pos + 1 < data.count && !(data[pos] == 0xFF && data[pos + 1] != 0 && !(0xD0...0xD7).contains(data[pos + 1])) {
            pos += 1
        }
    }

    private mutating func restart() throws {
        resetReader()
        eobRun = 0
        while pos + 1 < data.count && !(data[pos] == 0xFF && data[pos + 1] != 0 && data[pos + 1] != 0xFF) { pos += 1 }
        guard pos + 1 < data.count, (0xD0...0xD7).contains(data[pos + 1]) else {
            throw ImageError(.corrupt, "missing restart marker near byte \(pos)")
        }
        pos += 2
    }

    private mutating func decodeSequential(_ ci: Int, _ offset: Int) throws {
        let t = try decode(dcTables[components[ci].dcTable])
        guard t <= 11 else { throw ImageError(.corrupt, "DC magnitude category \(t)") }
        components[ci].dcPredictor &+= extended(t)
        components[ci].coefficients[offset] = components[ci].dcPredictor
        let ac = acTables[components[ci].acTable]
        var k = 1
        while k < 64 {
            let rs = try decode(ac)
            let r = rs >> 4, s = rs & 15
            if s == 0 {
                if r != 15 { break }
                k += 16
                continue
            }
            k += r
            guard k < 64 else { throw ImageError(.corrupt, "AC coefficient index past 63 near byte \(pos)") }
            components[ci].coefficients[offset + Self.zigzag[k]] = extended(s)
            k += 1
        }
    }

    private mutating func decodeDC(_ ci: Int, _ offset: Int, refine: Bool, al: Int) throws {
        if refine {
            if bits(1) != 0 { components[ci].coefficients[offset] |= Int32(1) << Int32(al) }
            return
        }
        let t = try decode(dcTables[components[ci].dcTable])
        guard t <= 11 else { throw ImageError(.corrupt, "DC magnitude category \(t)") }
        components[ci].dcPredictor &+= extended(t)
        components[ci].coefficients[offset] = components[ci].dcPredictor << Int32(al)
    }

    private mutating func decodeACFirst(_ ci: Int, _ offset: Int, ss: Int, se: Int, al: Int) throws {
        if eobRun > 0 {
            eobRun -= 1
            return
        }
        let ac = acTables[components[ci].acTable]
        var k = ss
        while k <= se {
            let rs = try decode(ac)
            let r = rs >> 4, s = rs & 15
            if s == 0 {
                if r < 15 {
                    eobRun = (1 << r) - 1 + Int(bits(r))
                    return
                }
                k += 16
                continue
            }
            k += r
            guard k <= 63 else { throw ImageError(.corrupt, "AC coefficient index past 63 near byte \(pos)") }
            components[ci].coefficients[offset + Self.zigzag[k]] = extended(s) * (Int32(1) << Int32(al))
            k += 1
        }
    }

    /// Successive-approximation refinement of AC coefficients (T.81 G.1.2.3):
    /// nonzero coefficients met on the way get one correction bit each, and a
    /// new ±1 lands on the r-th zero coefficient after them.
    private mutating func decodeACRefine(_ ci: Int, _ offset: Int, ss: Int, se: Int, al: Int) throws {
        let plus = Int32(1) << Int32(al), minus = Int32(-1) << Int32(al)
        var k = ss
        func refine(_ d: inout JPEGDecoder, _ index: Int) {
            let c = d.components[ci].coefficients[index]
            if d.bits(1) != 0 && c & plus == 0 {
                d.components[ci].coefficients[index] = c >= 0 ? c + plus : c + minus
            }
        }
        if eobRun == 0 {
            let ac = acTables[components[ci].acTable]
            while k <= se {
                let rs = try decode(ac)
                var r = rs >> 4
                let s = rs & 15
                var value: Int32 = 0
                if s != 0 {
                    guard s == 1 else { throw ImageError(.corrupt, "refinement magnitude \(s) near byte \(pos)") }
                    value = bits(1) != 0 ? plus : minus
                } else if r != 15 {
                    eobRun = (1 << r) + Int(bits(r))
                    break
                }
                // Skip r zero coefficients (refining nonzero ones on the way), then place the value.
                while k <= se {
                    let index = offset + Self.zigzag[k]
                    if components[ci].coefficients[index] != 0 {
                        refine(&self, index)
                    } else {
                        if r == 0 {
                            if value != 0 { components[ci].coefficients[index] = value }
                            k += 1
                            break
                        }
                        r -= 1
                    }
                    k += 1
                }
            }
        }
        if eobRun > 0 {
            while k <= se {
                let index = offset + Self.zigzag[k]
                if components[ci].coefficients[index] != 0 { refine(&self, index) }
                k += 1
            }
            eobRun -= 1
        }
    }

    // MARK: Reconstruction

    private static let idctBasis: [Float] = {
        var t = [Float](repeating: 0, count: 64)
        for x in 0..<8 {
            for u in 0..<8 {
                let cu: Double = u == 0 ? 1 / 2.0.squareRoot() : 1
                t[x * 8 + u] = Float(cu / 2 * cos(Double(2 * x + 1) * Double(u) * Double.pi / 16))
            }
        }
        return t
    }()

    /// Dequantized inverse DCT of every block of a component into an 8-bit plane
    /// of allocatedPerLine·8 × allocatedPerColumn·8 samples.
    private func plane(_ c: Component) -> [UInt8] {
        let stride = c.allocatedPerLine * 8
        var out = [UInt8](repeating: 0, count: stride * c.allocatedPerColumn * 8)
        let q = quant[c.quantTable]
        let basis = Self.idctBasis
        var block = [Float](repeating: 0, count: 64), temp = [Float](repeating: 0, count: 64)
        for by in 0..<c.blocksPerColumn {
            for bx in 0..<c.blocksPerLine {
                let offset = (by * c.allocatedPerLine + bx) * 64
                for i in 0..<64 { block[i] = Float(c.coefficients[offset + i] &* q[i]) }
                // Rows: temp[v][x] = Σ_u basis[x][u] · F[v][u]
                for v in 0..<8 {
                    for x in 0..<8 {
                        var s: Float = 0
                        for u in 0..<8 { s += basis[x * 8 + u] * block[v * 8 + u] }
                        temp[v * 8 + x] = s
                    }
                }
                for x in 0..<8 {
                    for y in 0..<8 {
                        var s: Float = 0
                        for v in 0..<8 { s += basis[y * 8 + v] * temp[v * 8 + x] }
                        let value = (s + 128).rounded()
                        out[(by * 8 + y) * stride + bx * 8 + x] = UInt8(max(0, min(255, value)))
                    }
                }
            }
        }
        return out
    }

    private func finish() throws -> Image {
        guard sawFrame else { throw ImageError(.corrupt, "no frame header") }
        let planes = components.map { plane($0) }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        // Upsampled sample of component `ci` at image pixel (x, y): centred linear interpolation.
        func sampler(_ ci: Int) -> (Int, Int) -> Float {
            let c = components[ci], p = planes[ci], stride = c.allocatedPerLine * 8
            let cw = (width * c.h + hMax - 1) / hMax, ch = (height * c.v + vMax - 1) / vMax
            if c.h == hMax && c.v == vMax { return { x, y in Float(p[y * stride + x]) } }
            let sx = Float(c.h) / Float(hMax), sy = Float(c.v) / Float(vMax)
            return { x, y in
                let fx = max(0, (Float(x) + 0.5) * sx - 0.5), fy = max(0, (Float(y) + 0.5) * sy - 0.5)
                let x0 = min(Int(fx), cw - 1), y0 = min(Int(fy), ch - 1)
                let x1 = min(x0 + 1, cw - 1), y1 = min(y0 + 1, ch - 1)
                let ax = fx - Float(x0), ay = fy - Float(y0)
                let top = Float(p[y0 * stride + x0]) * (1 - ax) + Float(p[y0 * stride + x1]) * ax
                let bottom = Float(p[y1 * stride + x0]) * (1 - ax) + Float(p[y1 * stride + x1]) * ax
                return top * (1 - ay) + bottom * ay
            }
        }
        func clamp(_ v: Float) -> UInt8 { UInt8(max(0, min(255, v.rounded()))) }
        if components.count == 1 {
            let s = sampler(0)
            for y in 0..<height {
                for x in 0..<width {
                    let v = clamp(s(x, y))
                    let o = (y * width + x) * 3
                    rgb[o] = v
                    rgb[o + 1] = v
                    rgb[o + 2] = v
                }
            }
        } else {
            let isRGB = adobeTransform == 0 || components.map(\.id) == [0x52, 0x47, 0x42]
            let s0 = sampler(0), s1 = sampler(1), s2 = sampler(2)
            for y in 0..<height {
                for x in 0..<width {
                    let a = s0(x, y), b = s1(x, y), c = s2(x, y)
                    let o = (y * width + x) * 3
                    if isRGB {
                        rgb[o] = clamp(a)
                        rgb[o + 1] = clamp(b)
                        rgb[o + 2] = clamp(c)
                    } else {
                        let cb = b - 128, cr = c - 128
                        rgb[o] = clamp(a + 1.402 * cr)
                        rgb[o + 1] = clamp(a - 0.344136 * cb - 0.714136 * cr)
                        rgb[o + 2] = clamp(a + 1.772 * cb)
                    }
                }
            }
        }
        return Image(width: width, height: height, rgb: rgb)
    }
}
