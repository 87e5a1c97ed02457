import CCUDA
import Foundation
import Synchronization

extension CUDADevice {
    /// Compute capability as plans record it, e.g. "9.0".
    public var computeCapabilityText: String { "\(computeCapability.major).\(computeCapability.minor)" }

    /// Compute capabilities ("9.0", …) of every GPU the driver sees; empty when
    /// the CUDA libraries or the driver are unusable. Opens no context, so
    /// asking costs no device memory (plans are checked against this).
    public static func computeCapabilities() -> Set<String> {
        guard case .success(let libs) = CUDALibraries.shared else { return [] }
        let d = libs.driver
        guard d.cuInit!(0) == 0 else { return [] }
        var count: Int32 = 0
        guard d.cuDeviceGetCount!(&count) == 0 else { return [] }
        var result: Set<String> = []
        for i in 0..<count {
            var dev: CUdevice = 0
            var major: Int32 = 0, minor: Int32 = 0
            guard d.cuDeviceGet!(&dev, i) == 0,
                  d.cuDeviceGetAttribute!(&major, Int32(UNIRT_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), dev) == 0,
                  d.cuDeviceGetAttribute!(&minor, Int32(UNIRT_CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), dev) == 0
            else { continue }
            result.insert("\(major).\(minor)")
        }
        return result
    }

    /// PCI address "domain:bus:device.0" in hex, as NVML takes it; nil if the driver does not say.
    public var pciBusID: String? {
        // CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, _PCI_DEVICE_ID, _PCI_DOMAIN_ID.
        var bus: Int32 = 0, slot: Int32 = 0, domain: Int32 = 0
        let d = libraries.driver
        guard d.cuDeviceGetAttribute!(&bus, 33, device) == 0, d.cuDeviceGetAttribute!(&slot, 34, device) == 0,
              d.cuDeviceGetAttribute!(&domain, 50, device) == 0 else { return nil }
        return String(format: "%08x:%02x:%02x.0", domain, bus, slot)
    }

    /// Share of the driver's last sample period (about a second) in which a
    /// kernel ran on this GPU, 0...1, read through NVML (`libnvidia-ml.so.1`,
    /// opened with dlopen on first use); nil when NVML is missing or does not know the GPU.
    public func utilization() -> Double? {
        guard let nvml = NVML.shared, let bus = pciBusID else { return nil }
        return nvml.utilization(pciBusID: bus)
    }
}

/// The three NVML entry points unirt reads GPU utilization with, resolved with
/// dlopen/dlsym (nothing is linked; the library ships with the NVIDIA driver).
///
/// Thread-safe: the function pointers are immutable; the handle cache is guarded by a mutex.
final class NVML: @unchecked Sendable {
    private typealias Init = @convention(c) () -> Int32
    private typealias HandleByBusID = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    private typealias Utilization = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>?) -> Int32

    private let handleByBusID: HandleByBusID
    private let utilizationRates: Utilization
    /// NVML device handles by PCI bus id (opaque pointers owned by NVML); guarded by the mutex.
    private let handles = Mutex<[String: UInt]>([:])

    /// NVML when `libnvidia-ml.so.1` opens and initializes; nil otherwise.
    static let shared: NVML? = NVML()

    /// Opens NVML by soname, else from the folder the CUDA driver library was found in.
    private init?() {
        var lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)
        if lib == nil, case .success(let libs) = CUDALibraries.shared, let driver = libs.paths["cuda"], driver.contains("/") {
            lib = dlopen((driver as NSString).deletingLastPathComponent + "/libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL)
        }
        guard let lib else { return nil }
        guard let i = dlsym(lib, "nvmlInit_v2"), let h = dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2"),
              let u = dlsym(lib, "nvmlDeviceGetUtilizationRates") else { return nil }
        guard unsafeBitCast(i, to: Init.self)() == 0 else { return nil }
        handleByBusID = unsafeBitCast(h, to: HandleByBusID.self)
        utilizationRates = unsafeBitCast(u, to: Utilization.self)
    }

    /// GPU utilization 0...1 of the device at `pciBusID`; nil when NVML cannot tell.
    func utilization(pciBusID: String) -> Double? {
        var handle: OpaquePointer?
        if let cached = handles.withLock({ $0[pciBusID] }) {
            handle = OpaquePointer(bitPattern: cached)
        } else {
            guard handleByBusID(pciBusID, &handle) == 0, let h = handle else { return nil }
            handles.withLock { $0[pciBusID] = UInt(bitPattern: h) }
        }
        // nvmlUtilization_t: { unsigned int gpu; unsigned int memory; } in percent.
        var rates: [UInt32] = [0, 0]
        guard utilizationRates(handle, &rates) == 0 else { return nil }
        return Double(rates[0]) / 100
    }
}
