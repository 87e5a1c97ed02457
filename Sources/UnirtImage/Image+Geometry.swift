import Foundation

extension Image {
    /// Resizes to `width`×`height` with a separable triangle filter whose
    /// support widens with the scale factor when shrinking (antialiased, like the
    /// usual imaging libraries' bilinear resize), plain bilinear when enlarging.
    /// Works in float planes: `[Float]` of width·height·3.
    func resized(width ow: Int, height oh: Int) -> [Float] {
        let horizontal = Self.weights(from: width, to: ow)
        let vertical = Self.weights(from: height, to: oh)
        // Horizontal pass: height × ow × 3.
        var mid = [Float](repeating: 0, count: height * ow * 3)
        for y in 0..<height {
            for x in 0..<ow {
                let (start, w) = horizontal[x]
                var r: Float = 0, g: Float = 0, b: Float = 0
                for (k, wk) in w.enumerated() {
                    let o = (y * width + start + k) * 3
                    r += wk * Float(rgb[o])
                    g += wk * Float(rgb[o + 1])
                    b += wk * Float(rgb[o + 2])
                }
                let o = (y * ow + x) * 3
                mid[o] = r
                mid[o + 1] = g
                mid[o + 2] = b
            }
        }
        var out = [Float](repeating: 0, count: oh * ow * 3)
        for y in 0..<oh {
            let (start, w) = vertical[y]
            for x in 0..<ow {
                var r: Float = 0, g: Float = 0, b: Float = 0
                for (k, wk) in w.enumerated() {
                    let o = ((start + k) * ow + x) * 3
                    r += wk * mid[o]
                    g += wk * mid[o + 1]
                    b += wk * mid[o + 2]
                }
                let o = (y * ow + x) * 3
                out[o] = r
                out[o + 1] = g
                out[o + 2] = b
            }
        }
        return out
    }

    /// For each output index: the first input index and normalized weights.
    private static func weights(from n: Int, to m: Int) -> [(Int, [Float])] {
        let scale = Double(n) / Double(m)
        let support = max(scale, 1.0)
        return (0..<m).map { i in
            let center = (Double(i) + 0.5) * scale
            let lo = max(0, Int((center - support).rounded(.down)))
            let hi = min(n, Int((center + support).rounded(.up)))
            var w: [Double] = []
            for j in lo..<hi {
                let d = abs((Double(j) + 0.5 - center) / support)
                w.append(max(0, 1 - d))
            }
            var total = w.reduce(0, +)
            if total <= 0 {
                // Degenerate: take the nearest sample.
                let j = min(n - 1, max(0, Int(center)))
                return (j, [1])
            }
            total = 1 / total
            return (lo, w.map { Float($0 * total) })
        }
    }

    /// Warps the image by the affine map `target = A·source + t` into a
    /// `width`×`height` float RGB buffer, bilinear, zero outside the image.
    func warped(a: Double, b: Double, tx: Double, ty: Double, width ow: Int, height oh: Int) -> [Float] {
        // target = [a -b; b a]·source + t  ⇒  source = [a b; -b a]·(target - t) / (a² + b²)
        let det = a * a + b * b
        var out = [Float](repeating: 0, count: ow * oh * 3)
        for y in 0..<oh {
            for x in 0..<ow {
                let u = Double(x) - tx, v = Double(y) - ty
                let sx = (a * u + b * v) / det, sy = (-b * u + a * v) / det
                guard sx > -1, sy > -1, sx < Double(width), sy < Double(height) else { continue }
                let x0 = Int(sx.rounded(.down)), y0 = Int(sy.rounded(.down))
                let fx = Float(sx - Double(x0)), fy = Float(sy - Double(y0))
                for c in 0..<3 {
                    func at(_ px: Int, _ py: Int) -> Float {
                        px < 0 || py < 0 || px >= width || py >= height ? 0 : sample(px, py, c)
                    }
                    let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
                    let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
                    out[(y * ow + x) * 3 + c] = top * (1 - fy) + bottom * fy
                }
            }
        }
        return out
    }

    /// The similarity transform (scale, rotation, translation) that maps
    /// `source` points onto `target` points in the least-squares sense, as
    /// (a, b, tx, ty) with target ≈ [a -b; b a]·source + t.
    public static func similarity(from source: [(Double, Double)], to target: [(Double, Double)]) -> (Double, Double, Double, Double) {
        let n = Double(source.count)
        let sx = source.map(\.0).reduce(0, +) / n, sy = source.map(\.1).reduce(0, +) / n
        let tx = target.map(\.0).reduce(0, +) / n, ty = target.map(\.1).reduce(0, +) / n
        var norm = 0.0, dot = 0.0, cross = 0.0
        for (p, q) in zip(source, target) {
            let px = p.0 - sx, py = p.1 - sy, qx = q.0 - tx, qy = q.1 - ty
            norm += px * px + py * py
            dot += px * qx + py * qy
            cross += px * qy - py * qx
        }
        let a = norm > 0 ? dot / norm : 1, b = norm > 0 ? cross / norm : 0
        return (a, b, tx - (a * sx - b * sy), ty - (b * sx + a * sy))
    }
}
