import Foundation
import Synchronization

/// The `chatfn` executable run as a child process, its standard output collected.
final class ChatfnProcess: Sendable {
    private final class Output: Sendable {
        let text = Mutex("")
        /// Set once the reader saw the end of the output.
        let ended = Mutex(false)
    }

    private let process: Process
    private let output = Output()

    /// - Parameter includingErrors: collect standard error with standard output (chatfn's log lines).
    init(_ arguments: [String], environment: [String: String] = [:], executable: URL = ChatfnProcess.executable,
         includingErrors: Bool = false) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let stdout = Pipe()
        process.standardOutput = stdout
        if includingErrors { process.standardError = stdout }
        try process.run()
        self.process = process
        // Plain blocking reads on a thread of their own until EOF: FileHandle's readabilityHandler (a
        // dispatch source) has crashed the test process when the pipe closed.
        let output = output
        let reader = stdout.fileHandleForReading
        Thread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty {
                    output.ended.withLock { $0 = true }
                    return
                }
                output.text.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
            }
        }.start()
    }

    /// A test that failed before stopping its chatfn must not leave it running (holding the test
    /// runner's output open).
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The binary SwiftPM built beside the test bundle (or `CHATFN_BIN`).
    static var executable: URL {
        if let explicit = ProcessInfo.processInfo.environment["CHATFN_BIN"] { return URL(fileURLWithPath: explicit) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("chatfn").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("chatfn")
    }

    var stdout: String { output.text.withLock { $0 } }

    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit and returns its status, or fails after `timeout`.
    func waitForExit(timeout: Duration = .seconds(60)) async throws -> Int32 {
        try await eventually("chatfn to exit", timeout: timeout) { !self.process.isRunning }
        try await eventually("the end of chatfn's output") { self.output.ended.withLock { $0 } }
        return process.terminationStatus
    }

    /// The package's root folder (where Package.swift is), found from the test binary's location.
    static var packageRoot: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path), directory.path != "/" {
            directory = directory.deletingLastPathComponent()
        }
        return directory
    }

    /// The Python that scripts/bootstrap.sh set up with confluent-kafka and PyYAML (or `CHATFN_PYTHON`).
    static func bootstrapPython() throws -> URL {
        let python = ProcessInfo.processInfo.environment["CHATFN_PYTHON"].map(URL.init(fileURLWithPath:))
            ?? packageRoot.appendingPathComponent(".build/pyclient/bin/python3")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw TestFailure("no \(python.path): run scripts/bootstrap.sh")
        }
        return python
    }

    /// Runs `chatfn ARGS` (or another `executable`) to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:], executable: URL = ChatfnProcess.executable) async throws -> (status: Int32, stdout: String) {
        let child = try ChatfnProcess(arguments, environment: environment, executable: executable)
        let status = try await child.waitForExit()
        return (status, child.stdout)
    }
}
