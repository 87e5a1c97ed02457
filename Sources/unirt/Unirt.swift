import ArgumentParser
import Foundation
import UnirtClient
import UnirtCUDA
import UnirtIR
import UnirtONNX
import UnirtRuntime
import UnirtPlan
import UnirtOptimizer

/// The `unirt` command-line tool.
@main
struct Unirt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unirt",
        abstract: "Import, inspect and run ONNX models on the unirt runtime.",
        version: UnirtVersion.string,
        subcommands: [RunCommand.self, InspectCommand.self, BenchCommand.self, BuildCommand.self, InferCommand.self, ModelsCommand.self,
                      StatusCommand.self, LoadCommand.self, UnloadCommand.self, HealthCommand.self, MetricsCommand.self,
                      PerfCommand.self, ReportCommand.self, PreprocessCommand.self, DevicesCommand.self, GPUCheckCommand.self, GPUBenchCommand.self])

    /// Parses, runs and maps every failure to one line on stderr and an exit code:
    /// 0 success, 2 bad input, 1 internal failure.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            Foundation.exit(report(error))
        }
    }

    static func report(_ error: any Error) -> Int32 {
        func fail(_ message: String, _ code: Int32) -> Int32 {
            FileHandle.standardError.write(Data("unirt: error: \(message)\n".utf8))
            return code
        }
        switch error {
        case let e as ImportError:
            return fail(e.message, 2)
        case let e as IRError:
            return fail(e.message, e.isUserError ? 2 : 1)
        case let e as RuntimeError:
            return fail(e.message, e.isUserError ? 2 : 1)
        case let e as PlanError:
            return fail(e.message, 2)
        case let e as CLIError:
            return fail(e.message, 2)
        case let e as CUDAError:
            return fail(e.message, e.isUserError ? 2 : 1)
        case let e as OptimizerError:
            return fail(e.message, e.isUserError ? 2 : 1)
        case let e as TransportError:
            // Daemon answers: bad input → 2, unavailable/internal → 1.
            let userError: Set<RPCCode> = [.invalidArgument, .notFound, .permissionDenied, .alreadyExists, .failedPrecondition]
            return fail(e.description, userError.contains(e.code) ? 2 : 1)
        default:
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                return 0
            }
            if error is ExitCode { return code.rawValue }
            let message = fullMessage(for: error)
            FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
            // Usage errors are bad input.
            return code == .validationFailure ? 2 : 1
        }
    }
}

/// A bad command line or file the user can fix (exit code 2).
struct CLIError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

enum UnirtVersion {
    static let string = "0.1.0"
}
