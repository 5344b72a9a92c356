import ChatfnCore
import ChatEvents
import Foundation
import Logging
import NIOPosix
import Synchronization
import Workers

/// The functions of one application, read from a functions directory laid out as
/// `DIR/functions/<trigger>.js` (or the `.js` files of `DIR` itself when it has no `functions/` folder),
/// with their settings from `DIR/chatfn.json`.
///
/// ``reload()`` rescans both; saving a file deploys its new version on the next reload.
package final class FunctionCatalog: Sendable {
    /// The application directory (where `chatfn.json` is).
    package let root: String
    /// Where the function files are.
    package let directory: String
    private let logger: Logger
    private let functions = Mutex<[String: FunctionDefinition]>([:])
    private let currentManifest = Mutex(ApplicationManifest())
    /// The installed dependencies and their directory: replaced only by a successful install.
    private let installedRuntime = Mutex<(dependencies: RuntimeDependencies, directory: String)?>(nil)

    private let compiler: FunctionCompiler
    /// Where the application's snapshots are: what its workers may read.
    private let snapshots: ApplicationSnapshot
    /// Why a function's latest save could not be deployed, by trigger (its previous version keeps serving).
    private let problems = Mutex<[String: String]>([:])
    /// Function names already warned about.
    private let warnedNames = Mutex<Set<String>>([])
    /// The application's secrets, opened (registry applications): workers get them with their first frame.
    let secrets = Mutex<[String: String]>([:])
    /// Whether the runtime the manifest names is not the one the workers run (its install or roll-out
    /// failed): the next redeploy tries again even if nothing changed.
    let runtimeBehind = Mutex(false)
    /// The initialization script of the last reload, and its version.
    private let currentInitScript = Mutex<(file: String, version: String)?>(nil)

    /// - Parameter versionNumbers: the registry's number of each function's version, when it comes from there.
    package init(directory: String, versionNumbers: [String: Int] = [:], logger: Logger) async throws {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CatalogError("functions directory \(directory) does not exist")
        }
        let nested = root.appendingPathComponent("functions")
        var nestedIsDirectory: ObjCBool = false
        let hasNested = FileManager.default.fileExists(atPath: nested.path, isDirectory: &nestedIsDirectory) && nestedIsDirectory.boolValue
        self.root = root.path
        self.directory = hasNested ? nested.path : root.path
        let cacheRoot = RuntimeInstaller().cacheRoot
        let applicationKey = ContentHash.hex(of: Array(root.path.utf8))
        self.compiler = FunctionCompiler(outputDirectory: cacheRoot.appendingPathComponent("build/\(applicationKey)"))
        self.snapshots = ApplicationSnapshot(base: cacheRoot.appendingPathComponent("apps/\(applicationKey)"))
        self.logger = logger
        currentManifest.withLock { $0 = ApplicationManifest() }
        try await reload(versionNumbers: versionNumbers)
    }

    /// Why the latest save of `trigger` was not deployed, if it was not.
    package func problem(for trigger: String) -> String? {
        problems.withLock { $0[trigger] }
    }

    /// A function file whose name is likely a mistake (``FunctionFiles/nameWarning(_:)``), said once.
    private func warnAboutName(_ trigger: String) {
        guard let warning = FunctionFiles.nameWarning(trigger), warnedNames.withLock({ $0.insert(trigger).inserted }) else { return }
        logger.warning("\(warning.escapingControlCharacters())")
    }

    private func reportProblem(_ trigger: String, _ problem: String?) {
        let changed = problems.withLock { problems in
            defer { problems[trigger] = problem }
            return problems[trigger] != problem
        }
        if changed, let problem { logger.error("not deployed \(trigger.escapingControlCharacters()): \(problem.escapingControlCharacters())") }
    }

    /// Where compiled (TypeScript, ES-module) functions are kept.
    var buildDirectory: String { compiler.outputDirectory.path }

    /// The application's `chatfn.json` as last read.
    package var manifest: ApplicationManifest { currentManifest.withLock { $0 } }

    /// The function deployed for `trigger`, if any.
    package func function(for trigger: String) -> FunctionDefinition? {
        functions.withLock { $0[trigger] }
    }

    package var all: [FunctionDefinition] {
        functions.withLock { Array($0.values) }.sorted { $0.trigger < $1.trigger }
    }

    /// Rescans the directory and `chatfn.json`, and logs what was deployed, changed or removed. What
    /// deploys is a checked snapshot of the directory (``ApplicationSnapshot``): workers read only that.
    package func reload(versionNumbers: [String: Int] = [:]) async throws {
        let (root, snapshots) = (root, snapshots)
        // One walk checks the links and copies the tree.
        let snapshot = try await NIOThreadPool.singleton.runIfActive { try snapshots.take(of: root) }
        let snapshotFunctions = snapshot + directory.dropFirst(root.count)
        let manifest = try ApplicationManifest.load(fromDirectory: snapshot, displayedAs: URL(fileURLWithPath: root).appendingPathComponent(ApplicationManifest.fileName).path)
        var initScript: (file: String, version: String)?
        if let relative = manifest.runtime?.initScript {
            let file = URL(fileURLWithPath: snapshot).appendingPathComponent(relative).standardizedFileURL.path
            guard file.hasPrefix(snapshot + "/"), let content = FileManager.default.contents(atPath: file) else {
                throw CatalogError("runtime.initScript \(relative) not found in \(root)")
            }
            initScript = (file, ContentHash.hex(of: content))
        }
        currentManifest.withLock { $0 = manifest }
        currentInitScript.withLock { $0 = initScript }
        let entries: [(trigger: String, file: URL)]
        do {
            entries = try FunctionFiles.entries(in: URL(fileURLWithPath: snapshotFunctions))
        } catch {
            throw CatalogError("cannot read functions directory \(directory): \(error.localizedDescription)")
        }
        var found: [String: FunctionDefinition] = [:]
        for (trigger, url) in entries {
            guard let content = FileManager.default.contents(atPath: url.path) else { continue }
            warnAboutName(trigger)
            let file: String, version: String
            do {
                (file, version) = try await compiler.build(url, trigger: trigger, content: content, root: URL(fileURLWithPath: snapshot),
                                                           displayedAs: URL(fileURLWithPath: directory).appendingPathComponent(url.lastPathComponent))
            } catch {
                reportProblem(trigger, "\(error)")
                if let previous = function(for: trigger) { found[trigger] = previous }
                continue
            }
            reportProblem(trigger, nil)
            var function = FunctionDefinition(trigger: trigger, file: file, version: version, settings: manifest.settings(for: trigger))
            function.initScript = initScript?.file
            function.initScriptVersion = initScript?.version
            function.versionNumber = versionNumbers[trigger]
            found[trigger] = function
        }
        let previous = functions.withLock { current in
            defer { current = found }
            return current
        }
        // A new snapshot moves every file: what counts as a change is the content and the settings.
        for function in found.values.sorted(by: { $0.trigger < $1.trigger })
        where previous[function.trigger]?.version != function.version || previous[function.trigger]?.settings != function.settings {
            logger.info("deployed \(function.trigger.escapingControlCharacters())",
                        metadata: ["version": "\(function.versionNumber.map { "\($0) " } ?? "")\(function.version)"])
        }
        for trigger in previous.keys.sorted() where found[trigger] == nil {
            logger.info("removed \(trigger.escapingControlCharacters())")
        }
        snapshots.prune(keeping: snapshot)
    }
}

/// A functions directory that cannot be used.
package struct CatalogError: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}

extension FunctionCatalog {
    /// How the application's worker processes start: the runtime's environment over PATH/HOME/TMPDIR,
    /// confined to the application directory (Node 20+). The memory limit is each pool's
    /// (``WorkerPools``); this one is the default.
    package func workerConfiguration() async throws -> WorkerConfiguration {
        var configuration = try WorkerConfiguration(
            environment: WorkerConfiguration.baseEnvironment().merging(manifest.environment) { _, declared in declared })
        if let platform = manifest.runtime?.platform {
            var token: String?
            if let tokenEnv = platform.tokenEnv {
                guard let value = ChatfnEnvironment.secret(named: tokenEnv) else {
                    throw CatalogError("runtime.platform.tokenEnv names \(tokenEnv), which is not set in chatfn's environment")
                }
                token = value
            }
            configuration.platform = PlatformAccess(baseUrl: platform.baseUrl, token: token)
        }
        let runtimeDirectory = installedRuntime.withLock { $0?.directory }
        if let runtimeDirectory { configuration.environment["NODE_PATH"] = "\(runtimeDirectory)/node_modules" }
        configuration.isolation = await WorkerIsolation.detected()
        if await configuration.supportsPermissionModel() {
            configuration.sandbox = WorkerSandbox(readableDirectories: [snapshots.base.path, buildDirectory] + (runtimeDirectory.map { [$0] } ?? []))
        }
        configuration.memoryLimitMb = FunctionSettings.defaultMemoryMb
        configuration.secrets = secrets.withLock { $0 }
        return configuration
    }
}

extension FunctionCatalog {
    /// Installs the manifest's npm dependencies when they changed since the last successful install.
    /// On failure it throws npm's message and the previously installed runtime stays in use.
    /// - Returns: true when a different runtime was installed (workers must restart to see it).
    @discardableResult
    package func prepareRuntime(installer: RuntimeInstaller = RuntimeInstaller()) async throws -> Bool {
        let wanted = manifest.dependencies
        let current = installedRuntime.withLock { $0?.dependencies }
        guard wanted != current else { return false }
        guard let wanted else {
            installedRuntime.withLock { $0 = nil }
            return true
        }
        let directory = try await installer.install(wanted, logger: logger)
        installedRuntime.withLock { $0 = (wanted, directory) }
        return true
    }
}

extension FunctionCatalog {
    /// The application's worker pool sizing: `chatfn.json` where it speaks, else the given defaults.
    package func poolConfiguration(worker: WorkerConfiguration, minWarm: Int, maxProcesses: Int) -> WorkerPoolConfiguration {
        let runtime = manifest.runtime
        return WorkerPoolConfiguration(
            worker: worker, minWarm: runtime?.minWarm ?? minWarm, maxProcesses: runtime?.maxProcesses ?? maxProcesses,
            recycleAfter: runtime?.recycleAfter)
    }
}

extension FunctionCatalog {
    /// `script` as a function of `trigger` that is not deployed: what a test of a draft runs, with the
    /// application's settings, runtime and initialization script.
    package func draft(trigger: String, script: String, typescript: Bool) async throws -> FunctionDefinition {
        let content = Data(script.utf8)
        let version = "draft-" + ContentHash.hex(of: content)
        let drafts = compiler.outputDirectory.appendingPathComponent("drafts")
        try FileManager.default.createDirectory(at: drafts, withIntermediateDirectories: true)
        let source = drafts.appendingPathComponent("\(version).\(typescript ? "ts" : "js")")
        try content.write(to: source, options: .atomic)
        // A draft has no helpers beside it: a local import in it does not resolve.
        let (file, _) = try await compiler.build(source, trigger: trigger, content: content, root: drafts,
                                                 displayedAs: URL(fileURLWithPath: "\(trigger).\(typescript ? "ts" : "js")"))
        var function = FunctionDefinition(trigger: trigger, file: file, version: version, settings: manifest.settings(for: trigger))
        let initScript = currentInitScript.withLock { $0 }
        function.initScript = initScript?.file
        function.initScriptVersion = initScript?.version
        return function
    }
}
