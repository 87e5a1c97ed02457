import ArgumentParser
import Foundation
import UnirtCUDA

/// `unirt devices`: the GPUs the CUDA backend can use, or why it cannot.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List GPUs usable by the CUDA backend (name, compute capability, memory, library versions).",
        discussion: "CUDA libraries are searched in \(CUDALibraries.pathVariable) (colon-separated folders), then by soname, then in the CUDA toolkit and PyTorch's nvidia/cu13/lib folders.")

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    struct Report: Codable {
        struct GPU: Codable {
            var index: Int
            var name: String
            var computeCapability: String
            var memoryBytes: Int
            var multiprocessors: Int
        }
        var available: Bool
        var reason: String?
        var gpus: [GPU]
        var libraries: [String: String]
        var versions: [String: String]
        /// Why NVRTC is missing (then only plans that carry their compiled kernels run).
        var nvrtcUnavailable: String?
    }

    func run() throws {
        var report = Report(available: false, reason: nil, gpus: [], libraries: [:], versions: [:])
        do {
            let devices = try CUDADevice.all()
            let libs = devices[0].libraries
            report.available = true
            report.libraries = libs.paths
            report.versions = libs.versions
            report.nvrtcUnavailable = libs.nvrtcUnavailable
            report.gpus = devices.map {
                Report.GPU(index: $0.ordinal, name: $0.name,
                           computeCapability: "\($0.computeCapability.major).\($0.computeCapability.minor)",
                           memoryBytes: $0.totalMemory, multiprocessors: $0.multiprocessors)
            }
        } catch let e as CUDAError {
            report.reason = e.message
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
            return
        }
        guard report.available else {
            print("cpu: available")
            print("GPU backend unavailable: \(report.reason ?? "unknown reason")")
            return
        }
        print("cpu: available")
        for g in report.gpus {
            let gib = Double(g.memoryBytes) / Double(1 << 30)
            print("gpu \(g.index): \(g.name), compute capability \(g.computeCapability), \(String(format: "%.1f", gib)) GiB, \(g.multiprocessors) SMs")
        }
        let v = report.versions
        print("libraries: driver API \(v["driver"] ?? "?"), NVRTC \(v["nvrtc"] ?? "none"), cuBLASLt \(v["cublasLt"] ?? "?"), cuDNN \(v["cudnn"] ?? "?")")
        if let why = report.nvrtcUnavailable {
            print("NVRTC unavailable (\(why)): only plans built with their compiled kernels for this GPU run here")
        }
        for (k, p) in report.libraries.sorted(by: { $0.key < $1.key }) { print("  \(k): \(p)") }
    }
}
