import Foundation

/// Runs a short-lived helper program (npm, esbuild, node) to completion and collects what it printed.
///
/// Output is read with plain blocking reads on the calling thread, not with FileHandle's
/// `readabilityHandler`, whose dispatch source has crashed the process when its descriptor closed.
package enum ChildCommand {
    /// Blocks the calling thread; stdout and stderr together are the output.
    package static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Read to the end before waiting, so that a chatty child never blocks on a full pipe.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs on a thread of its own, so no cooperative-pool thread waits on the child.
    package static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try run(executable, arguments, in: directory) }) }
            thread.name = "chatfn-child-command"
            thread.start()
        }
    }
}
