import UnirtIR
import CBLAS

/// 2-D convolution for NCHW float tensors: im2col + sgemm per group, 1×1
/// stride-1 convolutions straight on the input, depthwise convolutions direct.
enum CPUConv {
    struct Geometry {
        var kh, kw, sh, sw, dh, dw, padTop, padLeft: Int
    }

    static func geometry(_ node: Node, input: [Int], weight: [Int], output: [Int]) -> Geometry {
        let strides = ((try? node.ints("strides")) ?? nil) ?? [1, 1]
        let dil = ((try? node.ints("dilations")) ?? nil) ?? [1, 1]
        let kh = weight[2], kw = weight[3]
        let autoPad = (try? node.string("auto_pad", default: "NOTSET")) ?? "NOTSET"
        var top = 0, left = 0
        switch autoPad {
        case "SAME_UPPER", "SAME_LOWER":
            let th = max((output[2] - 1) * strides[0] + (kh - 1) * dil[0] + 1 - input[2], 0)
            let tw = max((output[3] - 1) * strides[1] + (kw - 1) * dil[1] + 1 - input[3], 0)
            top = autoPad == "SAME_UPPER" ? th / 2 : th - th / 2
            left = autoPad == "SAME_UPPER" ? tw / 2 : tw - tw / 2
        case "VALID":
            break
        default:
            let pads = ((try? node.ints("pads")) ?? nil) ?? [0, 0, 0, 0]
            top = pads[0]
            left = pads[1]
        }
        return Geometry(kh: kh, kw: kw, sh: strides[0], sw: strides[1], dh: dil[0], dw: dil[1],
                        padTop: top, padLeft: left)
    }

    static let run: Kernel = { node, inputs, outputs in
        let x = inputs[0]!, w = inputs[1]!
        let bias = inputs.count > 2 ? inputs[2]?.floats : nil
        let outShape = outputs[0].shape
        let (n, c, h, wid) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (m, oh, ow) = (outShape[1], outShape[2], outShape[3])
        let group = ((try? node.int("group", default: 1)) ?? 1)
        let geo = geometry(node, input: x.shape, weight: w.shape, output: outShape)
        let xv = x.floats, wv = w.floats
        var y = [Float](repeating: 0, count: n * m * oh * ow)
        let cg = c / group, mg = m / group
        let kdim = cg * geo.kh * geo.kw
        let plane = oh * ow

        if group == c && mg == 1 {
            depthwise(xv, wv, &y, n: n, c: c, h: h, w: wid, oh: oh, ow: ow, geo: geo)
        } else {
            let pointwise = geo.kh == 1 && geo.kw == 1 && geo.sh == 1 && geo.sw == 1
                && geo.padTop == 0 && geo.padLeft == 0 && oh == h && ow == wid
            var col = [Float](repeating: 0, count: pointwise ? 0 : kdim * plane)
            xv.withUnsafeBufferPointer { xp in
                wv.withUnsafeBufferPointer { wp in
                    y.withUnsafeMutableBufferPointer { yp in
                        col.withUnsafeMutableBufferPointer { cp in
                            for b in 0..<n {
                                for g in 0..<group {
                                    let xg = xp.baseAddress! + (b * c + g * cg) * h * wid
                                    let src: UnsafePointer<Float>
                                    if pointwise {
                                        src = UnsafePointer(xg)
                                    } else {
                                        im2col(xg, cp.baseAddress!, channels: cg, h: h, w: wid, oh: oh, ow: ow, geo: geo)
                                        src = UnsafePointer(cp.baseAddress!)
                                    }
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                                Int32(mg), Int32(plane), Int32(kdim), 1,
                                                wp.baseAddress! + g * mg * kdim, Int32(kdim),
                                                src, Int32(plane), 0,
                                                yp.baseAddress! + (b * m + g * mg) * plane, Int32(plane))
                                }
                            }
                        }
                    }
                }
            }
        }
        if let bias {
            for b in 0..<n {
                for oc in 0..<m {
                    let base = (b * m + oc) * plane
                    let v = bias[oc]
                    for i in 0..<plane { y[base + i] += v }
                }
            }
        }
        return [Tensor(shape: outShape, floats: y)]
    }

    /// Unfolds `channels` input planes into a [channels·kh·kw, oh·ow] matrix.
    static func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, channels: Int,
                       h: Int, w: Int, oh: Int, ow: Int, geo: Geometry) {
        var row = 0
        for ch in 0..<channels {
            let xc = x + ch * h * w
            for ky in 0..<geo.kh {
                for kx in 0..<geo.kw {
                    let dst = col + row * oh * ow
                    for oy in 0..<oh {
                        let iy = oy * geo.sh - geo.padTop + ky * geo.dh
                        let drow = dst + oy * ow
                        if iy < 0 || iy >= h {
                            drow.update(repeating: 0, count: ow)
                            continue
                        }
                        let xrow = xc + iy * w
                        let ix0 = kx * geo.dw - geo.padLeft
                        for ox in 0..<ow {
                            let ix = ox * geo.sw + ix0
                            drow[ox] = (ix >= 0 && ix < w) ? xrow[ix] : 0
                        }
                    }
                    row += 1
                }
            }
        }
    }

    /// Depthwise convolution (one filter per channel), accumulated per kernel tap.
    static func depthwise(_ x: [Float], _ w: [Float], _ y: inout [Float], n: Int, c: Int, h: Int, w wid: Int,
                          oh: Int, ow: Int, geo: Geometry) {
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    for b in 0..<n {
                        for ch in 0..<c {
                            let xc = xp.baseAddress! + (b * c + ch) * h * wid
                            let yc = yp.baseAddress! + (b * c + ch) * oh * ow
                            let wc = wp.baseAddress! + ch * geo.kh * geo.kw
                            for ky in 0..<geo.kh {
                                for kx in 0..<geo.kw {
                                    let wt = wc[ky * geo.kw + kx]
                                    // Output columns whose input column is inside the image.
                                    let off = kx * geo.dw - geo.padLeft
                                    var ox0 = 0
                                    while ox0 < ow && ox0 * geo.sw + off < 0 { ox0 += 1 }
                                    var ox1 = ow
                                    while ox1 > ox0 && (ox1 - 1) * geo.sw + off >= wid { ox1 -= 1 }
                                    for oy in 0..<oh {
                                        let iy = oy * geo.sh - geo.padTop + ky * geo.dh
                                        if iy < 0 || iy >= h { continue }
                                        let xrow = xc + iy * wid + off
                                        let yrow = yc + oy * ow
                                        if geo.sw == 1 {
                                            for ox in ox0..<ox1 { yrow[ox] += wt * xrow[ox] }
                                        } else {
                                            for ox in ox0..<ox1 { yrow[ox] += wt * xrow[ox * geo.sw] }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
