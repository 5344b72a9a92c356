import ControlPlane
import ChatfnCore
import Foundation
import Functions
import Registry
import Synchronization

/// Brings an application directory (`chatfn.json` and its function files, laid out as `chatfn dev` reads
/// them) into the control plane's registry, writing only what differs: `chatfn deploy`, and `chatfn dev`
/// each time the directory changes.
///
/// Everything is read and checked locally before the first write, so a bad `chatfn.json` or an unreadable
/// file changes nothing. Then, in this order (the runtime before the functions that may need it):
/// the application (created when missing), its runtime (dependencies, initialization script,
/// environment, options), each function's settings, each function's version (a new one only when the
/// file's SHA-256 or language differs from the current version's), and, with `prune`, the undeploying
/// of deployed functions whose file is gone. A push of an unchanged directory makes no write request.
///
/// A file that does not compile does not stop the others: they are deployed, and then the push throws
/// a ``PushFailure`` naming each such file at its line and column, with the report of what was done.
struct ApplicationPush: Sendable {
    /// What of the directory to push: what changed since the last push (`chatfn dev`), so that what was
    /// changed through the API meanwhile (a rollback, a version saved from elsewhere) stays.
    struct Scope: Sendable {
        /// The functions whose file changed, appeared or went away.
        var functions: Set<String>
        /// Whether `chatfn.json`, the initialization script or another file changed: the runtime and the
        /// settings are pushed then.
        var manifest: Bool
        /// Whether a helper changed (`functions/lib/…`, `functions/_…`): every function that imports local
        /// files is bundled again, and those whose bundle changed get a new version.
        var helpers = false
    }

    let directory: String
    let app: String
    let client: APIClient
    let prune: Bool
    /// nil: everything.
    let scope: Scope?

    init(directory: String, app: String, client: APIClient, prune: Bool, scope: Scope? = nil) {
        self.directory = directory
        self.app = app
        self.client = client
        self.prune = prune
        self.scope = scope
    }

    func run() async throws -> PushReport {
        var local = try await LocalApplication.read(directory)
        var report = PushReport(app: app)
        let application = try await ensureApplication(&report)
        let cacheKey = "\(client.baseURL.absoluteString)|\(app)|\(application.createdTime)"
        if scope?.manifest ?? true { try await pushRuntime(local, cacheKey: cacheKey, &report) }
        let remote = try await client.get(AppPaths.functions(app), as: [APIModels.Function].self)
        let remoteByTrigger = Dictionary(remote.map { ($0.trigger, $0) }, uniquingKeysWith: { first, _ in first })
        if scope?.manifest ?? true { try await pushSettings(local, remote: remoteByTrigger, &report) }
        if let scope { local.functions = local.functions.filter { scope.functions.contains($0.key) || (scope.helpers && $0.value.bundled) } }
        let problems = try await pushVersions(local, remote: remoteByTrigger, cacheKey: cacheKey, &report)
        let stray = remote.filter { function in
            function.currentVersionNumber != nil && local.functions[function.trigger] == nil && (scope?.functions.contains(function.trigger) ?? true)
        }.map(\.trigger).sorted()
        if prune {
            for trigger in stray {
                try await client.delete(APIClient.functionPath(app, trigger))
                report.undeployed.append(trigger)
            }
        } else {
            report.notInDirectory = stray
        }
        if !problems.isEmpty { throw PushFailure(description: problems.joined(separator: "\n"), report: report) }
        return report
    }

    // MARK: application

    private func ensureApplication(_ report: inout PushReport) async throws -> APIModels.Application {
        do {
            return try await client.get(APIClient.applicationPath(app), as: APIModels.Application.self)
        } catch let failure as APIFailure where failure.status == 404 {
            let created = try await client.put(APIClient.applicationPath(app), EmptyBody(), as: APIModels.Application.self)
            report.createdApplication = true
            return created
        }
    }

    // MARK: runtime

    private struct InitializationScriptBody: Encodable {
        var script: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(script, forKey: .script)  // null, not absent: "no script"
        }

        enum CodingKeys: String, CodingKey { case script }
    }


    /// The dependencies whose install failed when this process last sent them, and npm's message.
    private static let failedInstalls = Mutex<[String: (dependencies: DependenciesDocument, message: String)]>([:])


    private func pushRuntime(_ local: LocalApplication, cacheKey: String, _ report: inout PushReport) async throws {
        let runtime = try await client.get(AppPaths.runtime(app), as: APIModels.Runtime.self)
        let manifestRuntime = local.manifest.runtime

        let dependencies = DependenciesDocument(
            dependencies: (manifestRuntime?.dependencies ?? [:]).map { Dependency(name: $0.key, version: $0.value) }.sorted { $0.name < $1.name },
            npmRegistry: manifestRuntime?.npmRegistry)
        let installed = DependenciesDocument(dependencies: runtime.dependencies.sorted { $0.name < $1.name }, npmRegistry: runtime.npmRegistry)
        if dependencies != installed {
            // A set that failed to install in this process is not tried again each push (chatfn dev pushes
            // every second): only once chatfn.json changes it.
            if let failed = Self.failedInstalls.withLock({ $0[cacheKey] }), failed.dependencies == dependencies {
                throw CommandFailure(Self.installFailure(failed.message))
            }
            do {
                // The control plane runs npm before it answers.
                _ = try await client.put(AppPaths.runtime(app, "/dependencies"), dependencies, as: NoContent.self, timeout: 900)
            } catch let failure as APIFailure where failure.status == 422 {
                Self.failedInstalls.withLock { $0[cacheKey] = (dependencies, failure.message) }
                throw CommandFailure(Self.installFailure(failure.message))
            }
            Self.failedInstalls.withLock { _ = $0.removeValue(forKey: cacheKey) }
            report.runtimeChanged.append(.dependencies)
        }

        if local.initializationScript?.content != runtime.initializationScript {
            do {
                _ = try await client.put(AppPaths.runtime(app, "/initialization-script"),
                                         InitializationScriptBody(script: local.initializationScript?.content), as: NoContent.self)
            } catch let failure as APIFailure where failure.status == 422 {
                throw CommandFailure(Self.located(local.initializationScript?.displayName ?? "runtime.initScript", failure))
            }
            report.runtimeChanged.append(.initializationScript)
        }

        if local.manifest.environment != runtime.environmentVariables {
            _ = try await client.put(AppPaths.runtime(app, "/environment-variables"), local.manifest.environment, as: NoContent.self)
            report.runtimeChanged.append(.environmentVariables)
        }

        let options = RuntimeOptionsDocument(minWarm: manifestRuntime?.minWarm, maxProcesses: manifestRuntime?.maxProcesses,
                                  recycleAfter: manifestRuntime?.recycleAfter, platform: manifestRuntime?.platform)
        if options != runtime.options {
            _ = try await client.put(AppPaths.runtime(app, "/options"), options, as: NoContent.self)
            report.runtimeChanged.append(.options)
        }
    }

    private static func installFailure(_ message: String) -> String {
        "runtime.dependencies could not be installed (the previous runtime keeps serving until chatfn.json's runtime.dependencies install): \(message)"
    }

    /// `file:line:column: message`, as compilers say it.
    private static func located(_ file: String, _ failure: APIFailure) -> String {
        guard let line = failure.line else { return "\(file): \(failure.message)" }
        return "\(file):\(line):\(failure.column ?? 1): \(failure.message)"
    }

    // MARK: functions

    private func pushSettings(_ local: LocalApplication, remote: [String: APIModels.Function], _ report: inout PushReport) async throws {
        let triggers = Set(local.functions.keys).union(local.manifest.functions.map { Array($0.keys) } ?? [])
        for trigger in triggers.sorted() {
            let wanted = local.manifest.settings(for: trigger)
            let current = remote[trigger]?.settings ?? FunctionSettings()
            guard wanted != current else { continue }
            _ = try await client.put(APIClient.functionPath(app, trigger, "/settings"), wanted, as: NoContent.self)
            report.settingsChanged.append(trigger)
        }
    }

    private struct SaveVersionBody: Encodable {
        var handlerScript: String
        var language: String
        /// The same for a retry: the control plane then answers with the version the first try made.
        var requestId = UUID().uuidString.lowercased()
    }

    /// The checksum and language of versions already seen (versions never change), keyed by API,
    /// application, its creation time, trigger and number: a push of an unchanged directory reads no
    /// version list.
    private static let knownVersions = Mutex<[String: (sha256: String, language: String)]>([:])

    /// - Returns: `file:line:column: message` of each file that does not compile.
    private func pushVersions(_ local: LocalApplication, remote: [String: APIModels.Function], cacheKey: String,
                              _ report: inout PushReport) async throws -> [String] {
        var problems: [String] = []
        for (trigger, file) in local.functions.sorted(by: { $0.key < $1.key }) {
            if let number = remote[trigger]?.currentVersionNumber {
                let key = "\(cacheKey)|\(trigger)|\(number)"
                var current = Self.knownVersions.withLock { $0[key] }
                if current == nil {
                    let versions = try await client.get(APIClient.functionPath(app, trigger, "/versions"), as: [APIModels.Version].self)
                    current = versions.first { $0.versionNumber == number }.map { ($0.sha256, $0.language) }
                    if let current { Self.knownVersions.withLock { $0[key] = current } }
                }
                if let current, current.sha256 == file.sha256, current.language == file.language {
                    report.unchangedFunctions.append(trigger)
                    continue
                }
            }
            let version: APIModels.Version
            let body = SaveVersionBody(handlerScript: file.script, language: file.language)
            do {
                do {
                    version = try await client.post(APIClient.functionPath(app, trigger, "/versions"), body, as: APIModels.Version.self)
                } catch let failure as APIFailure where failure.status == 503 {
                    // The outcome may be unknown (saved, not yet read back): once more with the same request id.
                    version = try await client.post(APIClient.functionPath(app, trigger, "/versions"), body, as: APIModels.Version.self)
                }
            } catch let failure as APIFailure where failure.status == 422 {
                problems.append(Self.located(file.displayName, failure))
                continue
            }
            Self.knownVersions.withLock { $0["\(cacheKey)|\(trigger)|\(version.versionNumber)"] = (version.sha256, version.language) }
            report.createdVersions.append(.init(trigger: trigger, versionNumber: version.versionNumber))
        }
        return problems
    }
}

/// Files that do not compile (each as `file:line:column: message`, one a line), after the rest was pushed.
struct PushFailure: Error, CustomStringConvertible, Sendable {
    let description: String
    /// What the push did.
    let report: PushReport
}

/// What a push changed.
struct PushReport: Sendable {
    struct CreatedVersion: Sendable, Equatable {
        var trigger: String
        var versionNumber: Int
    }

    enum RuntimePart: String, Sendable {
        case dependencies = "dependencies"
        case initializationScript = "initialization script"
        case environmentVariables = "environment variables"
        case options = "runtime options"
    }

    var app: String
    var createdApplication = false
    var runtimeChanged: [RuntimePart] = []
    /// Triggers whose settings were replaced by chatfn.json's.
    var settingsChanged: [String] = []
    var createdVersions: [CreatedVersion] = []
    /// Functions undeployed because their file is gone (`prune`).
    var undeployed: [String] = []
    /// Functions whose file is the deployed version.
    var unchangedFunctions: [String] = []
    /// Deployed functions that have no file in the directory, left deployed (no `prune`).
    var notInDirectory: [String] = []

    init(app: String) {
        self.app = app
    }

    /// Nothing was written.
    var isEmpty: Bool {
        !createdApplication && runtimeChanged.isEmpty && settingsChanged.isEmpty && createdVersions.isEmpty && undeployed.isEmpty
    }

    /// One line per change, in the order they were made.
    var changes: [String] {
        var lines: [String] = []
        if createdApplication { lines.append("created application \(app)") }
        lines += runtimeChanged.map { "updated \($0.rawValue)" }
        lines += settingsChanged.map { "updated settings of \($0)" }
        lines += createdVersions.map { "deployed \($0.trigger) version \($0.versionNumber)" }
        lines += undeployed.map { "undeployed \($0)" }
        return lines
    }
}

/// `/v1/applications/{app}/…` paths the push uses.
private enum AppPaths {
    static func functions(_ app: String) -> String { APIClient.applicationPath(app, "/functions") }
    static func runtime(_ app: String, _ rest: String = "") -> String { APIClient.applicationPath(app, "/runtime\(rest)") }
}

/// `{}`
private struct EmptyBody: Encodable {}

/// An application directory as read for a push: its checked `chatfn.json`, its function files (found as
/// ``FunctionCatalog`` finds them) and its initialization script.
struct LocalApplication {
    struct FunctionFile {
        var script: String
        var language: String
        /// Hex SHA-256 of the script's UTF-8 bytes, as the registry records it.
        var sha256: String
        /// The file as its author knows it: relative to the directory (`functions/x.ts`).
        var displayName: String
        /// Whether `script` is the file bundled with the local files it imports.
        var bundled = false
    }

    var manifest: ApplicationManifest
    var functions: [String: FunctionFile]
    var initializationScript: (content: String, displayName: String)?

    static func read(_ directory: String) async throws -> LocalApplication {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CommandFailure("\(directory) is not a directory")
        }
        let manifest: ApplicationManifest
        do {
            manifest = try ApplicationManifest.load(fromDirectory: root.path)
        } catch {
            throw CommandFailure("\(error)")
        }

        let nested = root.appendingPathComponent("functions")
        var nestedIsDirectory: ObjCBool = false
        let hasNested = FileManager.default.fileExists(atPath: nested.path, isDirectory: &nestedIsDirectory) && nestedIsDirectory.boolValue
        let folder = hasNested ? nested : root
        let entries: [(trigger: String, file: URL)]
        do {
            entries = try FunctionFiles.entries(in: folder)
        } catch {
            throw CommandFailure("cannot read \(folder.path): \(error.localizedDescription)")
        }
        var functions: [String: FunctionFile] = [:]
        for (trigger, url) in entries {
            let displayName = hasNested ? "functions/\(url.lastPathComponent)" : url.lastPathComponent
            if let other = functions[trigger] {
                throw CommandFailure("two files for \(trigger): \(other.displayName) and \(displayName); keep one")
            }
            if let warning = FunctionFiles.nameWarning(trigger), warnedNames.withLock({ $0.insert(displayName).inserted }) {
                ConsoleOutput.write("warning: \(displayName): \(warning)")
            }
            let source = try readText(url, displayName: displayName)
            guard FunctionFiles.importsLocalFiles(source) else {
                let language: FunctionLanguage = FunctionFiles.typescriptExtensions.contains(url.pathExtension) ? .typescript : .javascript
                functions[trigger] = FunctionFile(script: source, language: language.rawValue, sha256: Digest.sha256(source), displayName: displayName)
                continue
            }
            // A version in the registry is one script: the function with what it imports.
            let script: String
            do {
                script = try await FunctionCompiler.bundledScript(of: url, root: root, displayedAs: URL(fileURLWithPath: displayName))
            } catch {
                throw CommandFailure("\(error)")
            }
            functions[trigger] = FunctionFile(script: script, language: FunctionLanguage.javascript.rawValue, sha256: Digest.sha256(script),
                                              displayName: displayName, bundled: true)
        }

        var initializationScript: (String, String)?
        if let relative = manifest.runtime?.initScript {
            let file = root.appendingPathComponent(relative).standardizedFileURL
            guard file.path.hasPrefix(root.path + "/"), FileManager.default.fileExists(atPath: file.path) else {
                throw CommandFailure("runtime.initScript \(relative) not found in \(directory)")
            }
            let content = try readText(file, displayName: relative)
            // The registry keeps a blank script as none.
            if !content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { initializationScript = (content, relative) }
        }
        return LocalApplication(manifest: manifest, functions: functions, initializationScript: initializationScript)
    }

    /// Files already warned about in this process (`chatfn dev` reads the directory at every change).
    private static let warnedNames = Mutex<Set<String>>([])

    private static func readText(_ url: URL, displayName: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw CommandFailure("cannot read \(displayName)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandFailure("\(displayName) is not UTF-8 text") }
        return text
    }
}
