import ChatEvents
import ChatfnCore
import Foundation
import Functions
import Logging
import ServiceLifecycle

/// `chatfn dev`'s deployer: pushes its functions directory into the registry through the API, as
/// `chatfn deploy` does, at start and then whenever the directory changes (looked at every second when
/// `watch`). Only a change of the directory pushes: a rollback or a save made through the API stays until
/// the files are edited again. A push that fails is reported once and tried again every second; what was
/// deployed before keeps serving.
struct DirectorySync: Service {
    let directory: String
    /// The application id; nil: chatfn.json's `app`, else `default`.
    let app: String?
    let watch: Bool
    /// The API's URL, once every one of `apiReady` is signalled (it listens, the registry is read).
    let apiURL: @Sendable () -> String?
    let apiReady: [StopSignal]
    /// Signalled once the first push is done (or failed): the lanes consume from then on, so that the
    /// directory's first events find its functions.
    let firstPushDone: StopSignal
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            for signal in apiReady { await signal.waitUntilStopped() }
            guard let url = apiURL() else { return }
            var lastProblem: String?
            var pushed: String?  // the fingerprint of the directory as last pushed
            while !Task.isCancelled {
                let fingerprint = Self.fingerprint(of: directory)
                if fingerprint != pushed {
                    let problem = await push(to: url)
                    if let problem, problem != lastProblem { logger.error("not deployed: \(problem)") }
                    if problem == nil, lastProblem != nil { logger.info("deployed: the directory's problems are fixed") }
                    lastProblem = problem
                    if problem == nil { pushed = fingerprint }
                    firstPushDone.stop()
                }
                if !watch { return }
                try await Task.sleep(for: .seconds(1))  // the rescan interval
            }
        }
    }

    /// What changes when any file of the directory does: each path with its size and modification and
    /// change times (not `.git`, not `node_modules`).
    static func fingerprint(of directory: String) -> String {
        var lines: [String] = []
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey, .attributeModificationDateKey, .isDirectoryKey]
        guard let walk = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else { return "" }
        for case let url as URL in walk {
            if [".git", "node_modules"].contains(url.lastPathComponent) {
                walk.skipDescendants()
                continue
            }
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isDirectory != true else { continue }
            lines.append("\(url.path) \(values.fileSize ?? -1) \(values.contentModificationDate?.timeIntervalSince1970 ?? 0) \(values.attributeModificationDate?.timeIntervalSince1970 ?? 0)")
        }
        return lines.sorted().joined(separator: "\n")
    }

    /// One push; the problem when it failed.
    private func push(to url: String) async -> String? {
        let app = app ?? (try? ApplicationManifest.load(fromDirectory: directory))?.app ?? CloudEventAttributes.defaultAppId
        do {
            let client = try APIClient(url: url, token: ChatfnEnvironment.apiToken)
            let report = try await ApplicationPush(directory: directory, app: app, client: client, prune: true).run()
            for change in report.changes { logger.info("\(change)") }
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// Runs `action` when graceful shutdown begins (its place in the service list says when).
struct OnGracefulShutdown: Service {
    let action: @Sendable () async -> Void

    init(_ action: @escaping @Sendable () async -> Void) {
        self.action = action
    }

    func run() async throws {
        try? await gracefulShutdown()
        await action()
    }
}

/// Runs `service` once every one of `gates` is signalled; ends without running it when shutdown comes
/// first.
struct GatedService<Gated: Service>: Service {
    let gates: [StopSignal]
    let service: Gated

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for gate in gates { await gate.waitUntilStopped() }
        }
        guard gates.allSatisfy(\.isStopped) else { return }
        try await service.run()
    }
}
