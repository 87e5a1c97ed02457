import Foundation
import UnirtImage
import UnirtIR
import UnirtPlan

/// Calibration samples read from `--calib DIR`: one input dictionary per sample.
///
/// Calibration data is NumPy `.npy` tensors or JPEG/PNG images, in one of two layouts:
/// - flat (models with one input): `DIR/*.npy` or `DIR/*.jpg|png`, any file names;
/// - one subfolder per input name (any model): `DIR/<input>/…`, where files
///   of the same sorted position across the subfolders form one sample.
///
/// A `.npy` file holds one sample (the input's shape, or that shape without the
/// batch axis) or several stacked along axis 0; stacked files are split into
/// samples of batch 1. An image becomes one sample through the preprocessing
/// spec of `--calib-preprocess` (required when images are present, so that the
/// normalization is never guessed). Files are read in byte order of their names.
struct CalibrationData {
    /// The samples, each with every graph input at batch 1.
    var samples: [[String: Tensor]]
    /// sha256 over the file names and contents, in reading order.
    var sha256: String

    /// Image extensions read through the preprocessing spec.
    static let imageExtensions = Image.fileExtensions

    init(folder: String, inputs: [ValueDecl], preprocessing: ImagePreprocessing? = nil) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError("--calib \(folder): not a folder (expected a folder of .npy tensors)")
        }
        var hasher = SHA256()
        var perInput: [String: [(String, Tensor)]] = [:]
        let names = inputs.map(\.name)
        let subfolders = names.filter { n in
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder + "/" + ModelLoading.fileName(for: n), isDirectory: &d) && d.boolValue
        }
        if let preprocessing { hasher.update(Array("preprocess: \(preprocessing)".utf8) + [0]) }
        if subfolders.count == names.count && !names.isEmpty {
            for decl in inputs {
                perInput[decl.name] = try Self.readFolder(folder + "/" + ModelLoading.fileName(for: decl.name), input: decl,
                                                          preprocessing: preprocessing, hasher: &hasher)
            }
        } else {
            guard names.count == 1 else {
                throw CLIError("--calib \(folder): the model has \(names.count) inputs (\(names.joined(separator: ", "))); put each input's files in a subfolder named after it")
            }
            perInput[names[0]] = try Self.readFolder(folder, input: inputs[0], preprocessing: preprocessing, hasher: &hasher)
        }

        // Split stacked files into batch-1 samples, per input.
        var split: [String: [Tensor]] = [:]
        for decl in inputs {
            let rank = decl.dims?.count ?? 4
            var list: [Tensor] = []
            for (file, t) in perInput[decl.name] ?? [] {
                guard t.dtype == decl.dtype || (t.dtype.isFloating && decl.dtype.isFloating) else {
                    throw CLIError("--calib \(file): dtype \(t.dtype.rawValue), input '\(decl.name)' expects \(decl.dtype.rawValue)")
                }
                let v = t.dtype == decl.dtype ? t : t.cast(to: decl.dtype)
                let fixed = decl.dims?.map { d -> Int? in if case .fixed(let n) = d { return n } else { return nil } }
                if let fixed, fixed.count == v.shape.count, zip(fixed, v.shape).allSatisfy({ $0 == nil || $0 == $1 }),
                   fixed.first == 1 || rank == 1 {
                    // Exactly the input's shape (batch 1, or an input without a batch axis): one sample.
                    list.append(v)
                } else if v.shape.count == rank - 1 {
                    list.append(v.reshaped([1] + v.shape))
                } else if v.shape.count == rank, let n = v.shape.first, n >= 1 {
                    let per = v.count / n
                    let f = v.floats
                    for i in 0..<n {
                        list.append(Tensor(shape: [1] + Array(v.shape.dropFirst()), floats: Array(f[i * per..<(i + 1) * per]), dtype: v.dtype))
                    }
                } else {
                    throw CLIError("--calib \(file): shape \(v.shape) does not fit input '\(decl.name)' \(decl.shapeDescription)")
                }
            }
            split[decl.name] = list
        }
        let counts = Set(split.values.map(\.count))
        guard counts.count == 1, let count = counts.first, count > 0 else {
            throw CLIError("--calib \(folder): inputs have different numbers of samples (\(split.map { "\($0.key): \($0.value.count)" }.sorted().joined(separator: ", ")))")
        }
        samples = (0..<count).map { i in split.mapValues { $0[i] } }
        sha256 = SHA256.hex(hasher.finalize())
    }

    /// The `.npy` files and images of one folder, sorted by name, hashed as they are read.
    static func readFolder(_ dir: String, input: ValueDecl, preprocessing: ImagePreprocessing?,
                           hasher: inout SHA256) throws -> [(String, Tensor)] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw CLIError("--calib \(dir): cannot list folder (\(error.localizedDescription))")
        }
        var files: [String] = []
        for e in entries.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let ext = (e as NSString).pathExtension.lowercased()
            if ext == "npy" || imageExtensions.contains(ext) { files.append(e) }
        }
        guard !files.isEmpty else { throw CLIError("--calib \(dir): no .npy, JPEG or PNG files") }
        let shape = input.dims?.map { d -> Int? in if case .fixed(let n) = d { return n } else { return nil } }
        var out: [(String, Tensor)] = []
        for f in files {
            let path = dir + "/" + f
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("--calib \(path): cannot read file") }
            hasher.update(Array(f.utf8) + [0])
            hasher.update(data)
            if (f as NSString).pathExtension.lowercased() == "npy" {
                out.append((path, try Tensor(npy: data, label: path)))
                continue
            }
            guard let preprocessing else {
                throw CLIError("--calib \(path): images need --calib-preprocess SPEC (for example \"fit=letterbox order=bgr\"; see docs/quantization.md)")
            }
            do {
                let image = try Image.decode(Array(data), label: path)
                var landmarks: [(Double, Double)]?
                if preprocessing.fit == .align {
                    let points = try ImagePreprocessing.landmarks(for: path)
                    hasher.update(Array(points.map { "\($0.0) \($0.1)" }.joined(separator: " ").utf8) + [0])
                    landmarks = points
                }
                out.append((path, try preprocessing.tensor(from: image, inputShape: shape ?? [nil, nil, nil, nil], landmarks: landmarks)))
            } catch let e as ImageError {
                throw CLIError("--calib \(e.message.hasPrefix(path) ? e.message : path + ": " + e.message)")
            }
        }
        return out
    }
}
