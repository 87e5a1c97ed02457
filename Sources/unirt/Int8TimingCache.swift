import Foundation
import UnirtPlan
import UnirtRuntime

/// The speed check's timing cache (`unirt build --timing-cache FILE`): each entry is one build's
/// speed-check outcome — which int8 layers fell back and the times it measured — under a key made
/// of everything the timing depends on: the source model, the plan's batch, the candidate layers
/// and those the accuracy step already keeps in FP32, the weights' bits, the threads, the CPU
/// (model name and the kernels' features) and the unirt executable (version and SHA-256). A build whose key is in the
/// cache takes its outcome without timing, so rebuilding a plan gives the same layer choice; a
/// build whose key is not is timed and added. JSON, rewritten whole (through a temporary file).
struct Int8TimingCache {
    static let format = "unirt-int8-timing-cache"
    static let version = 1

    struct Entry: Codable {
        /// What the key was made of, for people reading the file.
        var description: [String: String]
        var createdAt: String
        var fallbacks: [Fallback]
        var record: Int8SpeedCheck
    }
    struct Fallback: Codable {
        var layer: String
        var reason: String
    }
    private struct File: Codable {
        var format: String
        var version: Int
        var entries: [String: Entry]
    }

    let path: String
    private(set) var entries: [String: Entry] = [:]

    /// The cache at `path`; empty when the file does not exist yet. A file that is not a timing cache
    /// of this version is refused with one line naming it (delete it to start a new one).
    init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { return }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError("--timing-cache \(path): cannot read it (\(error.localizedDescription))")
        }
        guard let file = try? JSONDecoder().decode(File.self, from: data), file.format == Self.format else {
            throw CLIError("--timing-cache \(path): not a unirt int8 timing cache (delete it to start a new one)")
        }
        guard file.version == Self.version else {
            throw CLIError("--timing-cache \(path): version \(file.version), this unirt reads version \(Self.version) (delete it to start a new one)")
        }
        entries = file.entries
    }

    /// The key of a build: the SHA-256 of its parts, one `name=value` line each, in a fixed order.
    static func key(_ parts: [(String, String)]) -> String {
        SHA256.hex(Data(parts.map { "\($0.0)=\($0.1)\n" }.joined().utf8))
    }

    /// What the key depends on for this machine: its CPU's model name and the kernels' features, and this
    /// unirt — its version and the SHA-256 of its executable, so that a rebuilt unirt (kernels that may have
    /// changed speed) times again.
    static var machine: [(String, String)] {
        [("cpu", cpuModelName), ("arch", CPUInfo.arch), ("features", CPUInfo.features.sorted().joined(separator: ",")),
         ("unirt", UnirtVersion.string), ("executable", executableSHA256)]
    }

    static var executableSHA256: String {
        guard let data = FileManager.default.contents(atPath: "/proc/self/exe") else { return "unknown" }
        return SHA256.hex(data)
    }

    static var cpuModelName: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    func outcome(for key: String) -> (fallbacks: [(layer: String, reason: String)], record: Int8SpeedCheck, createdAt: String)? {
        entries[key].map { e in (e.fallbacks.map { ($0.layer, $0.reason) }, e.record, e.createdAt) }
    }

    mutating func add(key: String, description: [(String, String)], fallbacks: [(layer: String, reason: String)],
                      record: Int8SpeedCheck) throws {
        entries[key] = Entry(description: Dictionary(description, uniquingKeysWith: { a, _ in a }),
                             createdAt: ISO8601DateFormatter().string(from: Date()),
                             fallbacks: fallbacks.map { Fallback(layer: $0.layer, reason: $0.reason) }, record: record)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(File(format: Self.format, version: Self.version, entries: entries))
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CLIError("--timing-cache \(path): cannot write it (\(error.localizedDescription))")
        }
    }
}
