import ChatEvents
import ChatfnCore
import Foundation
import Functions
import Logging
import ServiceLifecycle

/// `chatfn dev`'s deployer: pushes its functions directory into the registry through the API, as
/// `chatfn deploy` does, at start and then what changes in it (looked at every second when `watch`): the
/// functions whose files changed, and the runtime and settings when `chatfn.json` or another file did.
/// What was changed through the API (a rollback, a version saved from elsewhere) stays until its own
/// file changes. A push that fails is reported once and tried again every second (whole); what was
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
            var pushed: [String: String]?  // the directory's files as last pushed
            var pushedApp: String?  // and the application they went to
            while !Task.isCancelled {
                let files = Self.files(of: directory)
                if files != pushed {
                    // After a failed push, or to another application (chatfn.json's `app` changed),
                    // everything again.
                    let app = application()
                    let scope = lastProblem == nil && app == pushedApp ? pushed.map { Self.scope(from: $0, to: files) } : nil
                    let problem = await push(to: url, app: app, scope: scope)
                    if let problem, problem != lastProblem { logger.error("not deployed: \(problem)") }
                    if problem == nil, lastProblem != nil { logger.info("deployed: the directory's problems are fixed") }
                    lastProblem = problem
                    if problem == nil { (pushed, pushedApp) = (files, app) }
                    firstPushDone.stop()
                }
                if !watch { return }
                try await Task.sleep(for: .seconds(1))  // the rescan interval
            }
        }
    }

    /// Each file of the directory (not under `.git` or `node_modules`) by path, with what changes when it
    /// does: its size, modification and change times.
    static func files(of directory: String) -> [String: String] {
        var files: [String: String] = [:]
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        let keys: [URLResourceKey] = [.fileSizeKey, .contentModificationDateKey, .attributeModificationDateKey, .isDirectoryKey]
        guard let walk = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else { return [:] }
        for case let url as URL in walk {
            if [".git", "node_modules"].contains(url.lastPathComponent) {
                walk.skipDescendants()
                continue
            }
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isDirectory != true else { continue }
            files[url.path] = "\(values.fileSize ?? -1) \(values.contentModificationDate?.timeIntervalSince1970 ?? 0) \(values.attributeModificationDate?.timeIntervalSince1970 ?? 0)"
        }
        return files
    }

    /// What a change from `before` to `after` asks to push: the functions whose files changed (by name:
    /// `<trigger>.<ext>`), the functions that import local files when a helper changed (a script in a
    /// subfolder of `functions/`, or whose name starts with `_`), and the rest when any other file changed.
    static func scope(from before: [String: String], to after: [String: String]) -> ApplicationPush.Scope {
        let changed = Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.map { URL(fileURLWithPath: $0) }
        let scripts = changed.filter { FunctionFiles.extensions.contains($0.pathExtension) }
        let helpers = scripts.filter(FunctionFiles.isHelper)
        let functions = Set(scripts.filter { !FunctionFiles.isHelper($0) }.map { $0.deletingPathExtension().lastPathComponent })
        return ApplicationPush.Scope(functions: functions, manifest: scripts.count < changed.count, helpers: !helpers.isEmpty)
    }


    /// One push; the problem when it failed.
    /// The application the directory deploys to: --app, else chatfn.json's `app`, else `default`.
    private func application() -> String {
        app ?? (try? ApplicationManifest.load(fromDirectory: directory))?.app ?? CloudEventAttributes.defaultAppId
    }

    private func push(to url: String, app: String, scope: ApplicationPush.Scope?) async -> String? {
        do {
            let client = try APIClient(url: url, token: ChatfnEnvironment.apiToken)
            let report = try await ApplicationPush(directory: directory, app: app, client: client, prune: true, scope: scope).run()
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
