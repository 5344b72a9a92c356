import ChatfnCore
import Foundation
import Functions
import KafkaClient
import Logging

/// The control plane's side of the registry: checks a change against the state it has followed, writes
/// it to `chatfn.registry`, and returns only once its own follower has read it back, so the answer
/// reflects the log every worker reads (a version's number is its place in that log). Every change is
/// also appended to `chatfn.audit` with the fingerprint of the token that made it.
package final class ApplicationRegistry: Sendable {
    package let follower: RegistryFollower
    private let producer: KafkaProducer
    private let sealer: SecretSealer
    private let logger: Logger

    package init(follower: RegistryFollower, producer: KafkaProducer, sealer: SecretSealer, logger: Logger) {
        self.follower = follower
        self.producer = producer
        self.sealer = sealer
        self.logger = logger
    }

    package var state: RegistryState { follower.state }

    /// Who made a change: the fingerprint of their token.
    package struct Actor: Sendable {
        package var fingerprint: String
        package init(token: String?) { fingerprint = Digest.fingerprint(of: token) }
    }

    // MARK: applications

    /// Creates `id` unless it exists. - Returns: the application, and whether this call created it.
    package func createApplication(_ id: String, by actor: Actor) async throws -> (RegistryState.Application, created: Bool) {
        if let problem = RegistryNames.problem(application: id) { throw RegistryFailure.invalid(problem) }
        if let existing = state.application(id) { return (existing, false) }
        let generation = Self.newId()
        try await write([(.application(app: id, generation: generation), try Self.encode(ApplicationDocument(createdTime: EpochMilliseconds.now())))],
                        audit: AuditEntry(action: "application.create", application: id), by: actor)
        guard let created = state.application(id) else { throw RegistryFailure.conflict("application \(id) was deleted while being created") }
        if created.generation != generation {
            // Another replica created it at the same moment and its record came first: withdraw this one,
            // so that deleting the application later leaves no generation behind to take its place.
            try await write([(.application(app: id, generation: generation), nil)], audit: AuditEntry(action: "application.create-withdrawn", application: id), by: actor)
        }
        return (created, created.generation == generation)
    }

    /// Deletes `id`: its generation ends at once (its events are dead-lettered from then on), and its
    /// records are tombstoned so compaction reclaims them.
    package func deleteApplication(_ id: String, by actor: Actor) async throws {
        _ = try existing(id)
        // Every generation: one created at the same moment as the live one would otherwise take its place.
        let generations = state.generations(of: id)
        var records: [(RegistryKey, [UInt8]?)] = generations.map { (.application(app: id, generation: $0.generation), nil) }
        records += generations.flatMap { state.keys(of: $0) }.map { ($0, nil) }
        try await write(records, audit: AuditEntry(action: "application.delete", application: id), by: actor)
    }

    // MARK: functions

    /// Saves a new version of `trigger` and so deploys it. The script is checked by the caller.
    /// - Parameter requestId: the client's id for this save: saving again with it (after an answer that
    ///   was lost, or an outcome unknown) returns the version it made instead of making another.
    package func saveVersion(_ app: String, trigger: String, script: String, language: FunctionLanguage, rollbackOf: Int? = nil,
                             requestId: String? = nil, by actor: Actor) async throws -> RegistryState.Version {
        let application = try existing(app)
        if let problem = RegistryNames.problem(trigger: trigger) { throw RegistryFailure.invalid(problem) }
        if let requestId {
            if let problem = RegistryNames.problem(trigger: requestId) { throw RegistryFailure.invalid(problem.replacingOccurrences(of: "trigger", with: "requestId")) }
            if let saved = application.functions[trigger]?.versions.first(where: { $0.document.requestId == requestId }) { return saved }
        }
        let id = Self.newId()
        let document = VersionDocument(handlerScript: script, language: language, sha256: Digest.sha256(script),
                                       createdTime: EpochMilliseconds.now(), author: actor.fingerprint, rollbackOf: rollbackOf, requestId: requestId)
        try await write([(.version(app: app, generation: application.generation, trigger: trigger, id: id), try Self.encode(document))],
                        audit: AuditEntry(action: rollbackOf == nil ? "version.create" : "version.rollback", application: app, trigger: trigger), by: actor)
        let versions = state.application(app)?.functions[trigger]?.versions ?? []
        // The version of this request: this record, or one of the same request that came first.
        guard let version = versions.first(where: { $0.id == id }) ?? requestId.flatMap({ request in versions.first { $0.document.requestId == request } }) else {
            throw RegistryFailure.conflict("application \(app) was deleted while the version was being saved")
        }
        return version
    }

    /// A new version carrying version `number`'s code.
    package func rollback(_ app: String, trigger: String, to number: Int, by actor: Actor) async throws -> RegistryState.Version {
        guard let function = try existing(app).functions[trigger] else { throw RegistryFailure.notFound("\(app) has no function \(trigger)") }
        guard let target = function.versions.first(where: { $0.number == number }) else {
            throw RegistryFailure.notFound("\(trigger) of \(app) has no version \(number) (it has \(function.versions.first?.number ?? 0)–\(function.versions.last?.number ?? 0))")
        }
        return try await saveVersion(app, trigger: trigger, script: target.document.handlerScript, language: target.document.language,
                                     rollbackOf: number, by: actor)
    }

    package func undeploy(_ app: String, trigger: String, by actor: Actor) async throws {
        let application = try existing(app)
        guard application.functions[trigger]?.isDeployed == true else { throw RegistryFailure.notFound("\(trigger) is not deployed in \(app)") }
        try await write([(.undeploy(app: app, generation: application.generation, trigger: trigger), try Self.encode(UndeployDocument(time: EpochMilliseconds.now())))],
                        audit: AuditEntry(action: "function.undeploy", application: app, trigger: trigger), by: actor)
    }

    package func putSettings(_ app: String, trigger: String, _ settings: FunctionSettings, by actor: Actor) async throws {
        let application = try existing(app)
        if let problem = RegistryNames.problem(trigger: trigger) { throw RegistryFailure.invalid(problem) }
        if let problem = settings.problem { throw RegistryFailure.invalid("settings.\(problem)") }
        try await write([(.settings(app: app, generation: application.generation, trigger: trigger), try Self.encode(settings))],
                        audit: AuditEntry(action: "function.settings", application: app, trigger: trigger), by: actor)
    }

    // MARK: runtime

    /// Records an install of `dependencies` (tried by the caller): on success they become the runtime's,
    /// on failure only the status changes and the previous dependencies keep serving.
    package func putDependencies(_ app: String, _ dependencies: DependenciesDocument, installError: String?, by actor: Actor) async throws {
        let application = try existing(app)
        let generation = application.generation
        let status = RuntimeStatusDocument(state: installError == nil ? "installed" : "failed", message: installError,
                                           dependencies: dependencies.dependencies, time: EpochMilliseconds.now())
        var records: [(RegistryKey, [UInt8]?)] = [(.runtime(app: app, generation: generation, part: .status), try Self.encode(status))]
        if installError == nil { records.append((.runtime(app: app, generation: generation, part: .dependencies), try Self.encode(dependencies))) }
        try await write(records, audit: AuditEntry(action: "runtime.dependencies", application: app, detail: status.state), by: actor)
    }

    package func putInitializationScript(_ app: String, _ script: String?, by actor: Actor) async throws {
        let application = try existing(app)
        try await write([(.runtime(app: app, generation: application.generation, part: .initializationScript),
                          try Self.encode(InitializationScriptDocument(script: script)))],
                        audit: AuditEntry(action: "runtime.initialization-script", application: app), by: actor)
    }

    package func putEnvironment(_ app: String, _ variables: [String: String], by actor: Actor) async throws {
        let application = try existing(app)
        if let reserved = variables.keys.sorted().first(where: ApplicationManifest.Runtime.isReserved) {
            throw RegistryFailure.invalid("environment variable \(reserved) is reserved (NODE_*, OPENSSL_*, SSL_*, LD_*, GLIBC_*, MALLOC_*, UV_*, CHATFN_*, PATH, HOME, TMPDIR and shell variables steer the runtime itself)")
        }
        try await write([(.runtime(app: app, generation: application.generation, part: .environmentVariables),
                          try Self.encode(EnvironmentDocument(environmentVariables: variables)))],
                        audit: AuditEntry(action: "runtime.environment-variables", application: app), by: actor)
    }

    package func putOptions(_ app: String, _ options: RuntimeOptionsDocument, by actor: Actor) async throws {
        let application = try existing(app)
        guard application.options != options else { return }
        try await write([(.runtime(app: app, generation: application.generation, part: .options), try Self.encode(options))],
                        audit: AuditEntry(action: "runtime.options", application: app), by: actor)
    }

    // MARK: secrets

    package func putSecret(_ app: String, name: String, value: String, by actor: Actor) async throws {
        let application = try existing(app)
        if let problem = RegistryNames.problem(secret: name) { throw RegistryFailure.invalid(problem) }
        let sealed = try sealer.seal(value, application: app, name: name)
        try await write([(.secret(app: app, generation: application.generation, name: name),
                          try Self.encode(SealedSecretDocument(sealed: sealed, updatedTime: EpochMilliseconds.now())))],
                        audit: AuditEntry(action: "secret.set", application: app, detail: name), by: actor)
    }

    package func deleteSecret(_ app: String, name: String, by actor: Actor) async throws {
        let application = try existing(app)
        guard application.secrets[name] != nil else { throw RegistryFailure.notFound("\(app) has no secret \(name)") }
        try await write([(.secret(app: app, generation: application.generation, name: name), nil)],
                        audit: AuditEntry(action: "secret.delete", application: app, detail: name), by: actor)
    }

    // MARK: writing

    package func existing(_ app: String) throws -> RegistryState.Application {
        guard let application = state.application(app) else { throw RegistryFailure.notFound("no application \(app)") }
        return application
    }

    private func write(_ records: [(RegistryKey, [UInt8]?)], audit: AuditEntry, by actor: Actor) async throws {
        var last: Int64 = -1
        do {
            for (key, value) in records {
                let keyBytes = Array(key.encoded.utf8)
                let record = value.map { ProducerRecord(topic: follower.topic, partition: 0, key: keyBytes, value: $0) }
                    ?? ProducerRecord.tombstone(topic: follower.topic, key: keyBytes).onPartition(0)
                last = try await producer.send(record).offset
            }
        } catch {
            throw RegistryFailure.unavailable("the registry could not be written (\(error)): nothing of this change was saved, unless part of it was acknowledged before; check, then try again")
        }
        // The change is in the log from here on: audited whatever the read-back does.
        do {
            try await producer.send(audit.record(actor: actor))
        } catch {
            logger.error("audit record not written for \(audit.action) of \(audit.application): \(error)")
        }
        do {
            try await follower.waitUntilApplied(last)
        } catch {
            throw RegistryFailure.unavailable("the change was saved (offset \(last)) but not read back yet (\(error)): it takes effect once the registry is read; check before trying again")
        }
    }

    private static func encode<Document: Encodable>(_ document: Document) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(document))
    }

    private static func newId() -> String {
        UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    }
}

/// One line of `chatfn.audit`: what changed, and who changed it (a token fingerprint). Never a value.
struct AuditEntry: Sendable {
    var action: String
    var application: String
    var trigger: String?
    var detail: String?

    func record(actor: ApplicationRegistry.Actor) -> ProducerRecord {
        var json = JSONWriter(capacity: 160)
        json.field("time", EpochMilliseconds.now())
        json.field("actor", actor.fingerprint)
        json.field("action", action)
        json.field("application", application)
        if let trigger { json.field("trigger", trigger) }
        if let detail { json.field("detail", detail) }
        return ProducerRecord(topic: RegistryTopics.audit, key: Array(application.utf8), value: json.finish())
    }
}

/// Why a change was not made, as the API answers it.
package enum RegistryFailure: Error, CustomStringConvertible, Sendable {
    case invalid(String)
    case notFound(String)
    case conflict(String)
    case unavailable(String)

    package var description: String {
        switch self {
        case .invalid(let reason), .notFound(let reason), .conflict(let reason), .unavailable(let reason): reason
        }
    }
}

extension ProducerRecord {
    func onPartition(_ partition: Int32) -> ProducerRecord {
        var copy = self
        copy.partition = partition
        return copy
    }
}
