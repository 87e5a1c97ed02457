import CCUDA
import Foundation

/// The four CUDA libraries unirt uses, opened with dlopen at run time.
///
/// Each library is looked up first in the folders of `UNIRT_CUDA_LIBRARY_PATH`
/// (colon-separated), then by soname through the dynamic loader's own search
/// (`LD_LIBRARY_PATH`, the ld cache), then in well-known folders: the CUDA
/// toolkit and the `nvidia/cu13/lib` folder of PyTorch's wheels. Nothing is
/// linked at build time, so the same binary runs on a machine without CUDA and
/// reports why the GPU backend is unavailable.
///
/// Immutable once loaded; the tables of function pointers may be used from any thread.
public final class CUDALibraries: @unchecked Sendable {
    // The C tables are written once in `load` and only read afterwards.
    public let driver: unirt_cuda_driver
    /// NVRTC compiles unirt's kernels; without it only plans that carry them for this GPU run.
    public let nvrtc: unirt_cuda_nvrtc?
    /// Why NVRTC is not loaded, when it is not.
    public let nvrtcUnavailable: String?
    public let cublasLt: unirt_cuda_cublaslt
    public let cudnn: unirt_cuda_cudnn
    /// Where each library was found, by short name (`cuda`, `nvrtc`, `cublasLt`, `cudnn`).
    public let paths: [String: String]

    /// Library names tried for each component, newest first.
    public static let sonames: [(key: String, names: [String])] = [
        ("cuda", ["libcuda.so.1", "libcuda.so"]),
        ("nvrtc", ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]),
        ("cublasLt", ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"]),
        ("cudnn", ["libcudnn.so.9", "libcudnn.so"]),
    ]

    /// The environment variable naming extra library folders.
    public static let pathVariable = "UNIRT_CUDA_LIBRARY_PATH"
    /// Set to 1 to run without NVRTC, as a machine without it does: only plans that carry their kernels run.
    public static let noNVRTCVariable = "UNIRT_CUDA_NO_NVRTC"

    /// Folders searched after the dynamic loader's own search.
    public static func wellKnownFolders() -> [String] {
        var dirs = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/x86_64-linux-gnu",
                    "/lib/x86_64-linux-gnu"]
        let venvs = ["/opt/torch/.venv/lib", "/usr/local/lib", "/usr/lib"]
        let fm = FileManager.default
        for lib in venvs {
            guard let entries = try? fm.contentsOfDirectory(atPath: lib) else { continue }
            for py in entries.sorted() where py.hasPrefix("python3") {
                for site in ["site-packages", "dist-packages"] {
                    for sub in ["nvidia/cu13/lib", "nvidia/cudnn/lib", "nvidia/cublas/lib", "nvidia/cuda_nvrtc/lib"] {
                        let d = "\(lib)/\(py)/\(site)/\(sub)"
                        if fm.fileExists(atPath: d) { dirs.append(d) }
                    }
                }
            }
        }
        return dirs
    }

    /// Folders from `UNIRT_CUDA_LIBRARY_PATH`, in order.
    public static func configuredFolders(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        (environment[pathVariable] ?? "").split(separator: ":").map(String.init).filter { !$0.isEmpty }
    }

    private init(driver: unirt_cuda_driver, nvrtc: unirt_cuda_nvrtc?, nvrtcUnavailable: String?, cublasLt: unirt_cuda_cublaslt,
                 cudnn: unirt_cuda_cudnn, paths: [String: String]) {
        self.driver = driver
        self.nvrtc = nvrtc
        self.nvrtcUnavailable = nvrtcUnavailable
        self.cublasLt = cublasLt
        self.cudnn = cudnn
        self.paths = paths
    }

    /// Opens one library: configured folders, then the loader's search, then well-known folders.
    /// - Returns: the handle and the path or soname that worked.
    static func open(_ key: String, names: [String], folders: [String]) throws -> (UnsafeMutableRawPointer, String) {
        var reasons: [String] = []
        var why = [CChar](repeating: 0, count: 512)
        func attempt(_ path: String) -> UnsafeMutableRawPointer? {
            if let h = unirt_cuda_dlopen(path, &why, why.count) { return h }
            reasons.append(String(cString: why))
            return nil
        }
        for dir in configuredFolders() {
            for n in names where FileManager.default.fileExists(atPath: "\(dir)/\(n)") {
                if let h = attempt("\(dir)/\(n)") { return (h, "\(dir)/\(n)") }
            }
        }
        for n in names { if let h = attempt(n) { return (h, n) } }
        for dir in folders {
            for n in names where FileManager.default.fileExists(atPath: "\(dir)/\(n)") {
                if let h = attempt("\(dir)/\(n)") { return (h, "\(dir)/\(n)") }
            }
        }
        let first = reasons.first ?? "not found"
        throw CUDAError(.libraryUnavailable,
                        "\(names[0]) not found (\(first)); set \(pathVariable) to the folder that holds it")
    }

    /// Opens and resolves the libraries; the first failure names the library and why. NVRTC may be
    /// missing (`nvrtcUnavailable` says why): plans that carry their compiled kernels run without it.
    public static func load(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> CUDALibraries {
        let folders = wellKnownFolders()
        var handles: [String: UnsafeMutableRawPointer] = [:]
        var paths: [String: String] = [:]
        var nvrtcWhy: String? = environment[noNVRTCVariable] == "1" ? "turned off by \(noNVRTCVariable)=1" : nil
        for (key, names) in sonames {
            if key == "nvrtc" {
                guard nvrtcWhy == nil else { continue }
                do {
                    (handles[key], paths[key]) = try open(key, names: names, folders: folders)
                } catch let e as CUDAError {
                    nvrtcWhy = e.message
                }
                continue
            }
            let (h, p) = try open(key, names: names, folders: folders)
            handles[key] = h
            paths[key] = p
        }
        var driver = unirt_cuda_driver(), nvrtc = unirt_cuda_nvrtc()
        var lt = unirt_cuda_cublaslt(), dnn = unirt_cuda_cudnn()
        func check(_ missing: UnsafePointer<CChar>?, _ key: String) throws {
            if let missing {
                throw CUDAError(.libraryUnavailable, "\(paths[key]!) has no entry point \(String(cString: missing)) (too old?)")
            }
        }
        try check(unirt_cuda_resolve_driver(handles["cuda"], &driver), "cuda")
        if let h = handles["nvrtc"], let missing = unirt_cuda_resolve_nvrtc(h, &nvrtc) {
            nvrtcWhy = "\(paths["nvrtc"]!) has no entry point \(String(cString: missing)) (too old?)"
        }
        try check(unirt_cuda_resolve_cublaslt(handles["cublasLt"], &lt), "cublasLt")
        try check(unirt_cuda_resolve_cudnn(handles["cudnn"], &dnn), "cudnn")
        return CUDALibraries(driver: driver, nvrtc: nvrtcWhy == nil ? nvrtc : nil, nvrtcUnavailable: nvrtcWhy,
                             cublasLt: lt, cudnn: dnn, paths: paths)
    }

    /// The libraries, loaded once per process; the error says why when they cannot be.
    public static let shared: Result<CUDALibraries, CUDAError> = {
        do { return .success(try load()) } catch let e as CUDAError { return .failure(e) } catch {
            return .failure(CUDAError(.libraryUnavailable, "\(error)"))
        }
    }()

    /// Library versions as text: driver API, NVRTC, cuBLASLt and cuDNN.
    public var versions: [String: String] {
        var v: [String: String] = [:]
        var d: Int32 = 0
        if driver.cuDriverGetVersion!(&d) == 0 { v["driver"] = "\(d / 1000).\(d % 1000 / 10)" }
        var major: Int32 = 0, minor: Int32 = 0
        if let nvrtc, nvrtc.nvrtcVersion!(&major, &minor) == 0 { v["nvrtc"] = "\(major).\(minor)" }
        let lt = cublasLt.cublasLtGetVersion!()
        v["cublasLt"] = "\(lt / 10000).\(lt % 10000 / 100).\(lt % 100)"
        let dn = cudnn.cudnnGetVersion!()
        v["cudnn"] = "\(dn / 10000).\(dn % 10000 / 100).\(dn % 100)"
        return v
    }

    /// Throws a `CUDAError` naming `what` when a driver call failed.
    public func check(_ r: CUresult, _ what: @autoclosure () -> String) throws {
        guard r != 0 else { return }
        var text: UnsafePointer<CChar>?
        _ = driver.cuGetErrorString!(r, &text)
        throw CUDAError(.api, "\(what()): CUDA error \(r) (\(text.map { String(cString: $0) } ?? "unknown"))")
    }

    /// Throws a `CUDAError` naming `what` when a cuDNN call failed.
    public func checkDNN(_ r: cudnnStatus_t, _ what: @autoclosure () -> String) throws {
        guard r != 0 else { return }
        let text = cudnn.cudnnGetErrorString!(r).map { String(cString: $0) } ?? "unknown"
        throw CUDAError(.api, "\(what()): cuDNN status \(r) (\(text))")
    }

    /// Throws a `CUDAError` naming `what` when a cuBLASLt call failed.
    public func checkLt(_ r: cublasStatus_t, _ what: @autoclosure () -> String) throws {
        guard r != 0 else { return }
        throw CUDAError(.api, "\(what()): cuBLASLt status \(r)")
    }
}
