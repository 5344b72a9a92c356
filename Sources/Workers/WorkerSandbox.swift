import Foundation

/// What a worker process may touch, enforced by Node's permission model (`--experimental-permission`):
/// file reads only under the application's code (its functions and `node_modules`) and the harness,
/// writes only to its private scratch directory (also its TMPDIR and HOME), no child processes, no worker
/// threads. Outbound network stays open: functions call HTTP APIs.
package struct WorkerSandbox: Sendable, Hashable {
    package var readableDirectories: [String]

    package init(readableDirectories: [String]) {
        self.readableDirectories = readableDirectories
    }

    /// Node's flags for this sandbox; `harnessPath` is always readable. Paths are given resolved, as the
    /// permission model compares resolved paths.
    func nodeArguments(harnessPath: String, scratchDirectory: String) -> [String] {
        let harnessDirectory = URL(fileURLWithPath: harnessPath).deletingLastPathComponent().path
        return ["--experimental-permission", "--disable-warning=ExperimentalWarning"]
            + ([harnessDirectory] + readableDirectories).map { "--allow-fs-read=\(URL(fileURLWithPath: $0).resolvingSymlinksInPath().path)/*" }
            + ["--allow-fs-write=\(scratchDirectory)/*"]
    }
}

/// A worker process's private scratch directory (0700): created before the process starts, removed
/// once it has exited. With namespaces it is a size-bounded tmpfs that exists only inside the worker's
/// mount namespace.
struct ScratchDirectory {
    let path: String

    static func create() throws -> ScratchDirectory {
        let url = FileManager.default.temporaryDirectory.resolvingSymlinksInPath()
            .appendingPathComponent("chatfn-scratch-\(UUID().uuidString.lowercased())")
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw WorkerError.launchFailed("could not create a scratch directory \(url.path): \(error.localizedDescription)")
        }
        return ScratchDirectory(path: url.path)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
