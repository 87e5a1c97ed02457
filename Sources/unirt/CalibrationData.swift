import Foundation
import UnirtIR
import UnirtPlan

/// Calibration samples read from `--calib DIR`: one input dictionary per sample.
///
/// Calibration data is NumPy `.npy` tensors in one of two layouts:
/// - flat (models with one input): `DIR/*.npy`, any file names;
/// - one subfolder per input name (any model): `DIR/<input>/*.npy`, where files
///   of the same name across the subfolders form one sample.
///
/// A file holds one sample (the input's shape, or that shape without the batch
/// axis) or several stacked along axis 0; stacked files are split into samples
/// of batch 1. Files are read in byte order of their names. Images are refused:
/// decode and preprocess them into `.npy` first (scripts/facepipe.py does it for
/// the face models), so the preprocessing is explicit and reproducible.
struct CalibrationData {
    /// The samples, each with every graph input at batch 1.
    var samples: [[String: Tensor]]
    /// sha256 over the file names and contents, in reading order.
    var sha256: String

    /// Image extensions refused with a pointer to the conversion step.
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "bmp", "webp"]

    init(folder: String, inputs: [ValueDecl]) throws {
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
        if subfolders.count == names.count && !names.isEmpty {
            for n in names {
                perInput[n] = try Self.readFolder(folder + "/" + ModelLoading.fileName(for: n), hasher: &hasher)
            }
        } else {
            guard names.count == 1 else {
                throw CLIError("--calib \(folder): the model has \(names.count) inputs (\(names.joined(separator: ", "))); put each input's .npy files in a subfolder named after it")
            }
            perInput[names[0]] = try Self.readFolder(folder, hasher: &hasher)
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

    /// The `.npy` files of one folder, sorted by name, hashed as they are read.
    static func readFolder(_ dir: String, hasher: inout SHA256) throws -> [(String, Tensor)] {
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw CLIError("--calib \(dir): cannot list folder (\(error.localizedDescription))")
        }
        var files: [String] = []
        for e in entries.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let ext = (e as NSString).pathExtension.lowercased()
            if imageExtensions.contains(ext) {
                throw CLIError("--calib \(dir)/\(e): images are not read directly; convert calibration images to .npy input tensors with the model's preprocessing (see docs/quantization.md)")
            }
            if ext == "npy" { files.append(e) }
        }
        guard !files.isEmpty else { throw CLIError("--calib \(dir): no .npy files") }
        var out: [(String, Tensor)] = []
        for f in files {
            let path = dir + "/" + f
            guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("--calib \(path): cannot read file") }
            hasher.update(Array(f.utf8) + [0])
            hasher.update(data)
            out.append((path, try Tensor(npy: data, label: path)))
        }
        return out
    }
}
