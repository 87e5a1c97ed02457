import CUnirtKernels
import Foundation

/// What the running CPU offers, as plan files record it.
public enum CPUInfo {
    /// Machine architecture as `uname -m` prints it.
    public static var arch: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Feature names the kernels use: avx2, fma, f16c, avx512f, avx512vnni, avxvnni.
    public static var features: Set<String> {
        let f = unirt_cpu_features()
        var s: Set<String> = []
        if f & UInt32(UNIRT_CPU_AVX2) != 0 { s.insert("avx2") }
        if f & UInt32(UNIRT_CPU_FMA) != 0 { s.insert("fma") }
        if f & UInt32(UNIRT_CPU_F16C) != 0 { s.insert("f16c") }
        if f & UInt32(UNIRT_CPU_AVX512F) != 0 { s.insert("avx512f") }
        if f & UInt32(UNIRT_CPU_AVX512VNNI) != 0 { s.insert("avx512vnni") }
        if f & UInt32(UNIRT_CPU_AVXVNNI) != 0 { s.insert("avxvnni") }
        return s
    }
}
