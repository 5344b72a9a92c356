import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Runs a short-lived helper program (npm, esbuild, a Node version probe) to completion with
/// swift-subprocess, and collects what it printed (standard output and error together).
package enum ChildCommand {
    /// What a helper may print before chatfn stops collecting: npm's longest error reports fit.
    static let outputLimit = 4 * 1_024 * 1_024

    /// Waits without blocking a thread; the exit status is the code, or 128 + the signal.
    package static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) async throws -> (status: Int32, output: String) {
        let result = try await Subprocess.run(
            .path(FilePath(executable)), arguments: Arguments(arguments),
            workingDirectory: directory.map { FilePath($0.path) },
            output: .string(limit: outputLimit), error: .combinedWithOutput)
        let status: Int32 = switch result.terminationStatus {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
        return (status, result.standardOutput)
    }
}
