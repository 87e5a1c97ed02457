import Foundation
import UnirtIR

/// How an image becomes a model input tensor: geometry (size and fit), channel
/// order, per-channel normalization `(pixel − mean) / std` on 0…255 values, and
/// layout. Written as a spec string of `key=value` items separated by spaces or
/// semicolons, for example
///
///     size=112x112 fit=align order=rgb mean=0 std=1
///     fit=letterbox order=bgr                      (size and layout from the input)
///     mean=123.675,116.28,103.53 std=58.395,57.12,57.375 layout=nhwc
///
/// Keys: `size=WxH` (default: the input's fixed height and width), `fit=`
/// `stretch` (default) | `letterbox` (aspect kept, top-left, zero padding) |
/// `letterbox-center` | `crop` (aspect kept, centre crop) | `align` (similarity
/// warp of five landmarks onto the 112×112 face template scaled to the size;
/// landmarks from a sidecar file `IMAGE.landmarks`), `order=rgb|bgr`, `mean=`
/// and `std=` (one value or three), `layout=nchw|nhwc` (default: from where the
/// input's dimension of 3 is).
public struct ImagePreprocessing: Sendable, Equatable, CustomStringConvertible {
    public enum Fit: String, Sendable, CaseIterable { case stretch, letterbox, letterboxCenter = "letterbox-center", crop, align }
    public enum Order: String, Sendable { case rgb, bgr }
    public enum Layout: String, Sendable { case nchw, nhwc }

    public var width: Int?
    public var height: Int?
    public var fit: Fit = .stretch
    public var order: Order = .rgb
    public var mean: [Float] = [0, 0, 0]
    public var std: [Float] = [1, 1, 1]
    public var layout: Layout?

    /// The five-point face template (right eye, left eye, nose tip, right and
    /// left mouth corners as seen in the image) for a 112×112 crop.
    public static let faceTemplate: [(Double, Double)] = [
        (38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366), (41.5493, 92.3655), (70.7299, 92.2041),
    ]

    public init() {}

    /// Parses a spec string (see the type's documentation).
    public init(spec: String) throws {
        let items = spec.split(whereSeparator: { $0 == " " || $0 == ";" || $0 == "\t" })
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw ImageError(.invalidSpec, "preprocessing item '\(item)' is not key=value")
            }
            let (key, value) = (parts[0], parts[1])
            switch key {
            case "size":
                let wh = value.lowercased().split(separator: "x").compactMap { Int($0) }
                guard wh.count == 2, wh[0] > 0, wh[1] > 0, wh[0] <= 16384, wh[1] <= 16384 else {
                    throw ImageError(.invalidSpec, "preprocessing size '\(value)' is not WIDTHxHEIGHT")
                }
                width = wh[0]
                height = wh[1]
            case "fit":
                guard let f = Fit(rawValue: value) else {
                    throw ImageError(.invalidSpec, "preprocessing fit '\(value)' (expected \(Fit.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                fit = f
            case "order":
                guard let o = Order(rawValue: value.lowercased()) else { throw ImageError(.invalidSpec, "preprocessing order '\(value)' (expected rgb or bgr)") }
                order = o
            case "layout":
                guard let l = Layout(rawValue: value.lowercased()) else { throw ImageError(.invalidSpec, "preprocessing layout '\(value)' (expected nchw or nhwc)") }
                layout = l
            case "mean", "std":
                let parts = value.split(separator: ",")
                let values = parts.compactMap { Float($0) }
                guard values.count == parts.count, values.count == 1 || values.count == 3, values.allSatisfy({ $0.isFinite }) else {
                    throw ImageError(.invalidSpec, "preprocessing \(key) '\(value)' is not one or three numbers")
                }
                let three = values.count == 1 ? [Float](repeating: values[0], count: 3) : values
                if key == "mean" {
                    mean = three
                } else {
                    guard three.allSatisfy({ $0 != 0 }) else { throw ImageError(.invalidSpec, "preprocessing std must not be 0") }
                    std = three
                }
            default:
                throw ImageError(.invalidSpec, "unknown preprocessing key '\(key)' (size, fit, order, mean, std, layout)")
            }
        }
    }

    /// The spec in canonical form (every key, fixed order), for provenance.
    public var description: String {
        func list(_ v: [Float]) -> String { Set(v).count == 1 ? "\(v[0])" : v.map { "\($0)" }.joined(separator: ",") }
        let size = width.map { "size=\($0)x\(height ?? $0) " } ?? ""
        return "\(size)fit=\(fit.rawValue) order=\(order.rawValue) mean=\(list(mean)) std=\(list(std))"
            + (layout.map { " layout=\($0.rawValue)" } ?? "")
    }

    /// Reads the sidecar landmark file of `imagePath` (`IMAGE.landmarks`: ten
    /// numbers, x y of the five template points in image pixels).
    public static func landmarks(for imagePath: String) throws -> [(Double, Double)] {
        let path = imagePath + ".landmarks"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ImageError(.invalidSpec, "\(imagePath): fit=align needs five landmarks in \(path)")
        }
        let words = text.split(whereSeparator: { " \t\n\r,".contains($0) })
        let v = words.compactMap { Double($0) }
        guard words.count == 10, v.count == 10, v.allSatisfy({ $0.isFinite }) else {
            throw ImageError(.invalidSpec, "\(path): expected ten numbers (x y of five landmarks)")
        }
        return (0..<5).map { (v[2 * $0], v[2 * $0 + 1]) }
    }

    /// The input tensor for `image`, batch 1. `inputShape` is the model input's
    /// shape (nil for symbolic dimensions); `landmarks` are needed for `fit=align`.
    public func tensor(from image: Image, inputShape: [Int?], landmarks: [(Double, Double)]? = nil) throws -> Tensor {
        guard inputShape.count == 4 else {
            throw ImageError(.invalidSpec, "an image input needs a rank-4 input, this one has shape \(inputShape.map { $0.map(String.init) ?? "?" })")
        }
        let resolvedLayout: Layout
        if let layout {
            resolvedLayout = layout
        } else if inputShape[1] == 3 {
            resolvedLayout = .nchw
        } else if inputShape[3] == 3 {
            resolvedLayout = .nhwc
        } else {
            throw ImageError(.invalidSpec, "cannot tell the layout of input shape \(inputShape.map { $0.map(String.init) ?? "?" }): add layout=nchw or layout=nhwc")
        }
        let (hAxis, wAxis, cAxis) = resolvedLayout == .nchw ? (2, 3, 1) : (1, 2, 3)
        if let c = inputShape[cAxis], c != 3 { throw ImageError(.invalidSpec, "input has \(c) channels where the image has 3") }
        guard let ow = width ?? inputShape[wAxis], let oh = height ?? inputShape[hAxis] else {
            throw ImageError(.invalidSpec, "the input's height and width are symbolic: add size=WIDTHxHEIGHT")
        }
        if let w = inputShape[wAxis], let h = inputShape[hAxis], w != ow || h != oh {
            throw ImageError(.invalidSpec, "size=\(ow)x\(oh) does not match the input's \(w)×\(h)")
        }
        let pixels = try geometry(image, width: ow, height: oh, landmarks: landmarks)
        let channel = order == .rgb ? [0, 1, 2] : [2, 1, 0]
        var out = [Float](repeating: 0, count: ow * oh * 3)
        for y in 0..<oh {
            for x in 0..<ow {
                for c in 0..<3 {
                    let v = (pixels[(y * ow + x) * 3 + channel[c]] - mean[c]) / std[c]
                    let o = resolvedLayout == .nchw ? (c * oh + y) * ow + x : (y * ow + x) * 3 + c
                    out[o] = v
                }
            }
        }
        let shape = resolvedLayout == .nchw ? [1, 3, oh, ow] : [1, oh, ow, 3]
        return Tensor(shape: shape, floats: out)
    }

    /// The image resampled to ow×oh RGB floats (0…255) by the fit mode.
    private func geometry(_ image: Image, width ow: Int, height oh: Int, landmarks: [(Double, Double)]?) throws -> [Float] {
        switch fit {
        case .stretch:
            return image.resized(width: ow, height: oh)
        case .letterbox, .letterboxCenter:
            let scale = min(Double(ow) / Double(image.width), Double(oh) / Double(image.height))
            let nw = max(1, min(ow, Int((Double(image.width) * scale).rounded())))
            let nh = max(1, min(oh, Int((Double(image.height) * scale).rounded())))
            let inner = image.resized(width: nw, height: nh)
            let (x0, y0) = fit == .letterbox ? (0, 0) : ((ow - nw) / 2, (oh - nh) / 2)
            var out = [Float](repeating: 0, count: ow * oh * 3)
            for y in 0..<nh {
                for x in 0..<nw {
                    for c in 0..<3 { out[((y + y0) * ow + x + x0) * 3 + c] = inner[(y * nw + x) * 3 + c] }
                }
            }
            return out
        case .crop:
            // Largest centred window with the target's aspect ratio, then resize.
            let aspect = Double(ow) / Double(oh)
            var cw = image.width, ch = image.height
            if Double(cw) / Double(ch) > aspect { cw = max(1, Int((Double(ch) * aspect).rounded())) } else { ch = max(1, Int((Double(cw) / aspect).rounded())) }
            let x0 = (image.width - cw) / 2, y0 = (image.height - ch) / 2
            var window = [UInt8](repeating: 0, count: cw * ch * 3)
            for y in 0..<ch {
                let src = ((y + y0) * image.width + x0) * 3
                window.replaceSubrange(y * cw * 3..<(y + 1) * cw * 3, with: image.rgb[src..<src + cw * 3])
            }
            return Image(width: cw, height: ch, rgb: window).resized(width: ow, height: oh)
        case .align:
            guard let landmarks, landmarks.count == 5 else {
                throw ImageError(.invalidSpec, "fit=align needs five landmarks per image")
            }
            let sx = Double(ow) / 112, sy = Double(oh) / 112
            let target = Self.faceTemplate.map { ($0.0 * sx, $0.1 * sy) }
            let (a, b, tx, ty) = Image.similarity(from: landmarks, to: target)
            return image.warped(a: a, b: b, tx: tx, ty: ty, width: ow, height: oh)
        }
    }
}
