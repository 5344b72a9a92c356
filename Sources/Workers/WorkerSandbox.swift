import Foundation

/// What a worker process may touch, enforced by Node's permission model (`--experimental-permission`):
/// file reads only under the application's code (its functions and `node_modules`) and the harness,
/// writes only to a private scratch directory (also its TMPDIR and HOME), no child processes, no worker
/// threads. Outbound network stays open: functions call HTTP APIs.
public struct WorkerSandbox: Sendable, Hashable {
    public var readableDirectories: [String]
    public var scratchDirectory: String

    public init(readableDirectories: [String], scratchDirectory: String) {
        self.readableDirectories = readableDirectories
        self.scratchDirectory = scratchDirectory
    }

    /// A sandbox reading `codeDirectories`, with a new private (0700) scratch directory.
    public static func make(codeDirectories: [String]) throws -> WorkerSandbox {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-scratch-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return WorkerSandbox(readableDirectories: codeDirectories, scratchDirectory: scratch.path)
    }

    /// Node's flags for this sandbox; `harnessPath` is always readable.
    func nodeArguments(harnessPath: String) -> [String] {
        let harnessDirectory = URL(fileURLWithPath: harnessPath).deletingLastPathComponent().path
        return ["--experimental-permission", "--disable-warning=ExperimentalWarning"]
            + ([harnessDirectory] + readableDirectories).map { "--allow-fs-read=\(URL(fileURLWithPath: $0).standardizedFileURL.path)/*" }
            + ["--allow-fs-write=\(scratchDirectory)/*"]
    }
}
