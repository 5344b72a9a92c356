import Foundation
import Functions

/// What the registry says, built by applying its records in log order; every follower of the topic
/// that has applied the same records holds the same state. Pure: no I/O, no clock.
package struct RegistryState: Sendable {
    /// One application, as its live generation's records describe it.
    package struct Application: Sendable {
        package var id: String
        package var generation: String
        package var createdTime: Int64
        /// The offset of the record that created it: of two generations created at once, the earlier wins.
        package var createdOffset: Int64
        package var functions: [String: Function] = [:]
        package var dependencies: DependenciesDocument?
        package var runtimeStatus: RuntimeStatusDocument?
        package var initializationScript: String?
        package var environmentVariables: [String: String] = [:]
        package var options = RuntimeOptionsDocument()
        package var secrets: [String: SealedSecretDocument] = [:]
        /// The offset of the last record that changed it.
        package var revision: Int64

        /// The deployed functions.
        package var deployed: [(trigger: String, version: Version, settings: FunctionSettings)] {
            functions.sorted { $0.key < $1.key }.compactMap { trigger, function in
                function.current.map { (trigger, $0, function.settings ?? FunctionSettings()) }
            }
        }
    }

    package struct Function: Sendable {
        /// Ascending by number.
        package var versions: [Version] = []
        /// Version records seen, readable or not: a version's number is its place among them, so a
        /// record this chatfn cannot read (a newer writer's) does not shift the numbers of later ones.
        var versionRecords = 0
        package var settings: FunctionSettings?
        /// The offset of its latest version and of its latest undeploy: deployed while the version is later.
        var latestVersionOffset: Int64 = -1
        var undeployOffset: Int64 = -1

        package var isDeployed: Bool { !versions.isEmpty && latestVersionOffset > undeployOffset }
        /// The live version: the latest one saved, unless undeployed since.
        package var current: Version? { isDeployed ? versions.last : nil }
    }

    package struct Version: Sendable {
        package var number: Int
        /// The id in its key (the writer's, to find which number its record got).
        package var id: String
        package var document: VersionDocument
    }

    private var applicationsById: [String: [Application]] = [:]
    /// The offset of the last record applied; -1 before any.
    package private(set) var appliedOffset: Int64 = -1
    /// Records whose key or value this chatfn could not read (a newer writer's): skipped, counted.
    package private(set) var unreadable = 0

    package init() {}

    /// Applications by id, each its live generation (the earliest created of those not deleted).
    package var applications: [String: Application] {
        applicationsById.compactMapValues(\.first)
    }

    package func application(_ id: String) -> Application? {
        applicationsById[id]?.first
    }

    /// Every generation of `id` not deleted: the live one first, then any created at the same moment.
    package func generations(of id: String) -> [Application] {
        applicationsById[id] ?? []
    }

    /// Applies the record at `offset`; returns the application it changed, if any.
    @discardableResult
    package mutating func apply(key text: String, value: [UInt8]?, offset: Int64) -> String? {
        appliedOffset = max(appliedOffset, offset)
        guard let key = RegistryKey(text), key.hasValidNames else {
            unreadable += 1
            return nil
        }
        do {
            return try apply(key, value: value, offset: offset)
        } catch {
            unreadable += 1
            return nil
        }
    }

    private mutating func apply(_ key: RegistryKey, value: [UInt8]?, offset: Int64) throws -> String? {
        let decoder = JSONDecoder()
        if case .application(let id, let generation) = key {
            var generations = applicationsById[id] ?? []
            let wasLive = generations.first?.generation
            if let value {
                guard !generations.contains(where: { $0.generation == generation }) else { return nil }
                let document = try decoder.decode(ApplicationDocument.self, from: Data(value))
                generations.append(Application(id: id, generation: generation, createdTime: document.createdTime, createdOffset: offset, revision: offset))
                generations.sort { $0.createdOffset < $1.createdOffset }
            } else {
                generations.removeAll { $0.generation == generation }
            }
            applicationsById[id] = generations.isEmpty ? nil : generations
            return wasLive != generations.first?.generation ? id : nil
        }
        // Records of a generation not (or no longer) created: left by a writer that raced a deletion.
        guard let index = applicationsById[key.app]?.firstIndex(where: { $0.generation == key.generation }) else { return nil }
        var application = applicationsById[key.app]![index]
        defer { applicationsById[key.app]![index] = application }
        application.revision = offset
        switch key {
        case .application: return nil
        case .version(_, _, let trigger, let id):
            guard let value else { return nil }  // versions are never deleted one by one
            var function = application.functions[trigger] ?? Function()
            function.versionRecords += 1
            application.functions[trigger] = function
            let document = try decoder.decode(VersionDocument.self, from: Data(value))
            if let requestId = document.requestId, function.versions.contains(where: { $0.document.requestId == requestId }) {
                function.versionRecords -= 1  // a retried save: the first record of its request is the version
                application.functions[trigger] = function
                return nil
            }
            function.versions.append(Version(number: function.versionRecords, id: id, document: document))
            function.latestVersionOffset = offset
            application.functions[trigger] = function
        case .undeploy(_, _, let trigger):
            guard value != nil else { return nil }
            application.functions[trigger, default: Function()].undeployOffset = offset
        case .settings(_, _, let trigger):
            application.functions[trigger, default: Function()].settings = try value.map { try decoder.decode(FunctionSettings.self, from: Data($0)) }
        case .runtime(_, _, let part):
            let data = value.map { Data($0) }
            switch part {
            case .dependencies: application.dependencies = try data.map { try decoder.decode(DependenciesDocument.self, from: $0) }
            case .status: application.runtimeStatus = try data.map { try decoder.decode(RuntimeStatusDocument.self, from: $0) }
            case .initializationScript:
                application.initializationScript = try data.flatMap { try decoder.decode(InitializationScriptDocument.self, from: $0).script }
            case .environmentVariables:
                application.environmentVariables = try data.map { try decoder.decode(EnvironmentDocument.self, from: $0).environmentVariables } ?? [:]
            case .options: application.options = try data.map { try decoder.decode(RuntimeOptionsDocument.self, from: $0) } ?? RuntimeOptionsDocument()
            }
        case .secret(_, _, let name):
            application.secrets[name] = try value.map { try decoder.decode(SealedSecretDocument.self, from: Data($0)) }
        }
        return index == 0 ? key.app : nil
    }

    /// Every key of `application`'s generation: what deleting it tombstones.
    package func keys(of application: Application) -> [RegistryKey] {
        let (id, generation) = (application.id, application.generation)
        var keys: [RegistryKey] = []
        for (trigger, function) in application.functions.sorted(by: { $0.key < $1.key }) {
            keys += function.versions.map { .version(app: id, generation: generation, trigger: trigger, id: $0.id) }
            keys += [.undeploy(app: id, generation: generation, trigger: trigger), .settings(app: id, generation: generation, trigger: trigger)]
        }
        keys += RegistryKey.RuntimePart.allCases.map { .runtime(app: id, generation: generation, part: $0) }
        keys += application.secrets.keys.sorted().map { .secret(app: id, generation: generation, name: $0) }
        return keys
    }
}
