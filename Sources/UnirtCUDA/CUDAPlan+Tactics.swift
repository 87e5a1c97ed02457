import Synchronization
import UnirtIR
import UnirtPlan

/// Tactic choices offered by loaded plans (`GPUTactics`), by device string: a plan built on
/// this GPU with these libraries and kernels picks what the build timed instead of timing again.
public enum CUDATacticCache {
    private static let offered = Mutex<[String: [String: String]]>([:])

    /// Makes `tactics` (from a plan file) available to the plans compiled after this call.
    public static func offer(_ tactics: [GPUTactics]) {
        offered.withLock { map in
            for t in tactics { map[t.device, default: [:]].merge(t.entries) { _, new in new } }
        }
    }

    static func choice(device: String, key: String) -> String? {
        offered.withLock { $0[device]?[key] }
    }
}

extension CUDAPlan {
    /// What a device's timings hold for: the GPU, its compute capability, the driver, cuDNN and cuBLASLt, and the
    /// kernel source (`CUDAPlan.tacticDevice` keeps it for the plan's device).
    static func tacticDevice(for device: CUDADevice) -> String {
        // NVRTC is left out: the kernels' source hash names them, and a plan may run where NVRTC is not installed.
        let libs = device.libraries.versions.filter { $0.key != "nvrtc" }.sorted { $0.key < $1.key }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(device.name), compute capability \(device.computeCapability.major).\(device.computeCapability.minor), "
            + "\(libs), kernels \(CUDAModule.sourceSHA256.prefix(16))"
    }

    /// The choices this plan made (timed, or taken from an offered plan), to store in a plan file.
    public var tactics: GPUTactics { GPUTactics(device: tacticDevice, entries: tacticEntries) }

    /// The choice for `key` an offered plan recorded on this device, if `valid` accepts it.
    func recordedTactic(_ key: String, valid: (String) -> Bool = { _ in true }) -> String? {
        guard let c = CUDATacticCache.choice(device: tacticDevice, key: key), valid(c) else { return nil }
        return c
    }

    /// Records the choice for `key`, and whether it was timed here or taken from a plan.
    func recordTactic(_ key: String, _ choice: String, timed: Bool) {
        tacticEntries[key] = choice
        if timed { tacticsTimed += 1 } else { tacticsReused += 1 }
    }

    /// A signature of what a node's tactic depends on, without its name: operator, plan precision, the
    /// shapes of its inputs and output (constants marked), which values are NHWC, its attributes and `extra`.
    func tacticSignature(_ kind: String, _ node: Node, info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                         extra: String = "") -> String {
        Self.tacticSignature(kind, node, precision: precision, nhwcValues: nhwcValues, info: info, constant: constant,
                             extra: extra)
    }

    /// `tacticSignature` for a plan of `precision` whose NHWC values are `nhwcValues`.
    public static func tacticSignature(_ kind: String, _ node: Node, precision: CUDAPrecision, nhwcValues: Set<String>,
                                       info: (String) -> ValueInfo, constant: (String) -> Tensor?,
                                       extra: String = "") -> String {
        func value(_ v: String) -> String {
            if v.isEmpty { return "-" }
            let shape = constant(v)?.shape ?? info(v).shape
            return shape.map(String.init).joined(separator: "x") + (constant(v) != nil ? "c" : "")
                + (nhwcValues.contains(v) ? "n" : "")
        }
        func text(_ a: Attribute) -> String {
            switch a {
            case .int(let v): return "\(v)"
            case .float(let v): return "\(v)"
            case .string(let v): return v
            case .ints(let v): return v.map(String.init).joined(separator: " ")
            case .floats(let v): return v.map { "\($0)" }.joined(separator: " ")
            case .strings(let v): return v.joined(separator: " ")
            case .tensor(let t): return "tensor " + t.shape.map(String.init).joined(separator: "x")
            case .unsupported(let v): return v
            }
        }
        let attrs = node.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",")
        return [kind, precision.rawValue, node.opType, node.inputs.map(value).joined(separator: " "),
                node.outputs.map(value).joined(separator: " "), attrs, extra].joined(separator: "|")
    }
}
