import Foundation
import CCUDA
import Synchronization
import UnirtPlan

/// unirt's kernels compiled by NVRTC for one device's architecture and loaded.
///
/// Compiled once per device per process (cached); functions are looked up by
/// name. Immutable after creation; shared by every plan on the device.
public final class CUDAModule: @unchecked Sendable {
    // Written once in init, read-only afterwards.
    public let device: CUDADevice
    /// The compiled CUBIN image (kept so a plan file can store it per architecture).
    public let cubin: [UInt8]
    /// Where the image came from: compiled here by NVRTC, or stored in a plan file.
    public let origin: Origin
    let functions: [String: CUfunction]

    public enum Origin: Sendable, Equatable {
        case compiled(seconds: Double)
        case stored

        public var description: String {
            switch self {
            case .compiled(let s): return String(format: "compiled by NVRTC in %.1f s", s)
            case .stored: return "loaded from the plan file"
            }
        }
    }

    /// sha256 of `CUDAKernelSource.source`: a stored image is used only for the same source.
    public static let sourceSHA256: String = SHA256.hex(Data(CUDAKernelSource.source.utf8))

    /// This module as an image to store in a plan.
    public var image: KernelImage {
        KernelImage(architecture: device.compileArchitecture, sourceSHA256: Self.sourceSHA256, bytes: cubin)
    }

    /// Compiles `CUDAKernelSource.source` for the device's architecture.
    public static func compile(source: String, architecture: String, nvrtc: unirt_cuda_nvrtc) throws -> [UInt8] {
        var prog: nvrtcProgram?
        func check(_ r: nvrtcResult, _ what: String) throws {
            guard r != 0 else { return }
            let text = nvrtc.nvrtcGetErrorString!(r).map { String(cString: $0) } ?? "unknown"
            throw CUDAError(.api, "NVRTC \(what): \(text)")
        }
        try check(nvrtc.nvrtcCreateProgram!(&prog, source, "unirt_kernels.cu", 0, nil, nil), "create program")
        defer { _ = nvrtc.nvrtcDestroyProgram!(&prog) }
        let options = ["--gpu-architecture=\(architecture)", "--std=c++17", "-default-device"]
        var cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let r = cOptions.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) {
                nvrtc.nvrtcCompileProgram!(prog, Int32(options.count), $0)
            }
        }
        if r != 0 {
            var size = 0
            _ = nvrtc.nvrtcGetProgramLogSize!(prog, &size)
            var log = [CChar](repeating: 0, count: max(size, 1))
            _ = nvrtc.nvrtcGetProgramLog!(prog, &log)
            let text = String(cString: log).split(separator: "\n").prefix(5).joined(separator: " | ")
            throw CUDAError(.api, "NVRTC could not compile unirt's kernels for \(architecture): \(text)")
        }
        var size = 0
        try check(nvrtc.nvrtcGetCUBINSize!(prog, &size), "CUBIN size")
        var bin = [UInt8](repeating: 0, count: size)
        try bin.withUnsafeMutableBytes { p in
            try check(nvrtc.nvrtcGetCUBIN!(prog, p.baseAddress!.assumingMemoryBound(to: CChar.self)), "get CUBIN")
        }
        return bin
    }

    init(device: CUDADevice, cubin: [UInt8], origin: Origin) throws {
        self.device = device
        self.cubin = cubin
        self.origin = origin
        let libs = device.libraries
        try device.makeCurrent()
        var module: CUmodule?
        try cubin.withUnsafeBytes { p in
            try libs.check(libs.driver.cuModuleLoadData!(&module, p.baseAddress), "cuModuleLoadData")
        }
        var fns: [String: CUfunction] = [:]
        for k in CUDAKernelSource.kernels {
            for fp16 in [false, true] {
                let n = CUDAKernelSource.name(k, fp16: fp16)
                var f: CUfunction?
                try libs.check(libs.driver.cuModuleGetFunction!(&f, module, n), "cuModuleGetFunction(\(n))")
                fns[n] = f!
            }
        }
        for k in CUDAKernelSource.immaKernels {
            var f: CUfunction?
            try libs.check(libs.driver.cuModuleGetFunction!(&f, module, k.name), "cuModuleGetFunction(\(k.name))")
            if k.sharedBytes > 48 << 10 && (k.hopper ? device.hasWarpgroupMMA : device.hasInt8TensorCores) {
                // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
                try libs.check(libs.driver.cuFuncSetAttribute!(f, 8, Int32(k.sharedBytes)), "shared memory of \(k.name)")
            }
            fns[k.name] = f!
        }
        self.functions = fns
    }

    /// The kernel entry point `name`; a missing name is a programming error.
    func function(_ name: String) -> CUfunction {
        guard let f = functions[name] else { preconditionFailure("unknown kernel \(name)") }
        return f
    }

    private static let cache = Mutex<[Int: CUDAModule]>([:])
    /// Images offered by loaded plans, by architecture (`offer`).
    private static let offered = Mutex<[String: KernelImage]>([:])

    /// Makes `images` (from a plan file) available to `forDevice`: a device whose
    /// architecture has an image compiled from this unirt's kernel source loads it instead
    /// of compiling. Images for other architectures or sources are ignored.
    public static func offer(_ images: [KernelImage]) {
        offered.withLock { map in
            for i in images where i.sourceSHA256 == sourceSHA256 && !i.bytes.isEmpty { map[i.architecture] = i }
        }
    }

    /// The module for `device`: on first use, a plan's stored image for its architecture
    /// (`offer`) when one loads, else compiled by NVRTC.
    public static func forDevice(_ device: CUDADevice) throws -> CUDAModule {
        try cache.withLock { map in
            if let m = map[device.ordinal] { return m }
            let arch = device.compileArchitecture
            if let stored = offered.withLock({ $0[arch] }), let m = try? CUDAModule(device: device, cubin: stored.bytes, origin: .stored) {
                map[device.ordinal] = m
                return m
            }
            guard let nvrtc = device.libraries.nvrtc else {
                throw CUDAError(.libraryUnavailable, "unirt's GPU kernels for \(arch) need compiling and NVRTC is not available ("
                    + "\(device.libraries.nvrtcUnavailable ?? "not found")); run a plan built on this GPU with `unirt build --device cuda`"
                    + " (it carries them), or set \(CUDALibraries.pathVariable) to the folder that holds libnvrtc")
            }
            let start = Date()
            let bin = try compile(source: CUDAKernelSource.source, architecture: arch, nvrtc: nvrtc)
            let m = try CUDAModule(device: device, cubin: bin, origin: .compiled(seconds: Date().timeIntervalSince(start)))
            map[device.ordinal] = m
            return m
        }
    }
}
