import CCUDA
import Synchronization

/// One GPU as the driver reports it, with its primary context retained.
///
/// Immutable; any thread may make the context current with `makeCurrent()`.
public final class CUDADevice: @unchecked Sendable {
    // Written once in init; the driver's context handle is safe to share between threads.
    public let libraries: CUDALibraries
    /// Driver ordinal.
    public let ordinal: Int
    public let name: String
    /// Compute capability, e.g. (9, 0).
    public let computeCapability: (major: Int, minor: Int)
    public let totalMemory: Int
    public let multiprocessors: Int
    let device: CUdevice
    let context: CUcontext

    /// `sm_90`-style architecture name for NVRTC.
    public var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }
    /// Whether the device has sm_90a's warpgroup MMA (compute capability 9.0 exactly).
    public var hasWarpgroupMMA: Bool { computeCapability.major == 9 && computeCapability.minor == 0 }
    /// Whether the device runs the int8 tensor-core convolutions (mma.sync with cp.async and ldmatrix: sm_80+).
    public var hasInt8TensorCores: Bool { computeCapability.major >= 8 }
    /// The NVRTC target: the arch-specific `sm_90a` where warpgroup MMA exists, else `architecture`.
    var compileArchitecture: String { hasWarpgroupMMA ? "sm_90a" : architecture }

    init(libraries: CUDALibraries, ordinal: Int) throws {
        self.libraries = libraries
        self.ordinal = ordinal
        let d = libraries.driver
        var dev: CUdevice = 0
        try libraries.check(d.cuDeviceGet!(&dev, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        var buf = [CChar](repeating: 0, count: 256)
        try libraries.check(d.cuDeviceGetName!(&buf, 255, dev), "cuDeviceGetName")
        var mem = 0
        try libraries.check(d.cuDeviceTotalMem_v2!(&mem, dev), "cuDeviceTotalMem")
        func attr(_ a: Int32) throws -> Int {
            var v: Int32 = 0
            try libraries.check(d.cuDeviceGetAttribute!(&v, a, dev), "cuDeviceGetAttribute(\(a))")
            return Int(v)
        }
        let major = try attr(Int32(UNIRT_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR))
        let minor = try attr(Int32(UNIRT_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR))
        let sms = try attr(Int32(UNIRT_CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT))
        var ctx: CUcontext?
        try libraries.check(d.cuDevicePrimaryCtxRetain!(&ctx, dev), "cuDevicePrimaryCtxRetain")
        self.device = dev
        self.context = ctx!
        self.name = String(cString: buf)
        self.totalMemory = mem
        self.computeCapability = (major, minor)
        self.multiprocessors = sms
    }

    /// Makes this device's primary context current on the calling thread.
    public func makeCurrent() throws {
        try libraries.check(libraries.driver.cuCtxSetCurrent!(context), "cuCtxSetCurrent")
    }

    /// Free and total device memory in bytes.
    public func memoryInfo() throws -> (free: Int, total: Int) {
        try makeCurrent()
        var free = 0, total = 0
        try libraries.check(libraries.driver.cuMemGetInfo_v2!(&free, &total), "cuMemGetInfo")
        return (free, total)
    }

    private static let opened = Mutex<[Int: CUDADevice]>([:])

    /// Every GPU the driver sees. Throws when the libraries or the driver are unusable.
    public static func all() throws -> [CUDADevice] {
        let libs = try CUDALibraries.shared.get()
        try libs.check(libs.driver.cuInit!(0), "cuInit")
        var count: Int32 = 0
        try libs.check(libs.driver.cuDeviceGetCount!(&count), "cuDeviceGetCount")
        guard count > 0 else { throw CUDAError(.noDevice, "the CUDA driver reports no GPU") }
        return try (0..<Int(count)).map { try device($0, libs) }
    }

    /// The GPU with driver ordinal `ordinal` (opened once per process).
    public static func device(_ ordinal: Int) throws -> CUDADevice {
        let libs = try CUDALibraries.shared.get()
        try libs.check(libs.driver.cuInit!(0), "cuInit")
        var count: Int32 = 0
        try libs.check(libs.driver.cuDeviceGetCount!(&count), "cuDeviceGetCount")
        guard ordinal >= 0, ordinal < Int(count) else {
            throw CUDAError(.noDevice, "GPU \(ordinal) does not exist (the driver reports \(count))")
        }
        return try device(ordinal, libs)
    }

    private static func device(_ ordinal: Int, _ libs: CUDALibraries) throws -> CUDADevice {
        try opened.withLock { map in
            if let d = map[ordinal] { return d }
            let d = try CUDADevice(libraries: libs, ordinal: ordinal)
            map[ordinal] = d
            return d
        }
    }
}
