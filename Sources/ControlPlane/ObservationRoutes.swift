import ChatEvents
import ChatfnCore
import Dispatcher
import Foundation
import Functions
import Hummingbird
import KafkaClient
import Registry
import Workers

/// Running a function without deploying it, its recent invocations, and the application's dead letters.
extension ControlAPI {
    struct TestRequest: Decodable {
        var event: JSONValue
        /// A draft to run instead of the deployed version.
        var handlerScript: String?
        var language: FunctionLanguage?
    }

    struct TestOutcome: Encodable {
        var status: String
        var result: JSONValue?
        var decision: Decision?
        var error: InvocationError?
        var logs: [String]
        var emitted: [Emitted]
        var durationMs: Double
        var versionNumber: Int?

        struct Emitted: Encodable {
            var type: String
            var key: String?
            var data: JSONValue?
        }
    }

    /// Runs the deployed version (or a draft) on an event, in the application's sandbox with its runtime
    /// and secrets; what it emits is shown, not published.
    func test(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (app, trigger) = (try parameter("app", context), try parameter("trigger", context))
        let body = try await decode(TestRequest.self, request, context)
        _ = try registry.existing(app)
        if let problem = RegistryNames.problem(trigger: trigger) { throw APIError(.badRequest, problem) }
        let served: ServedApplication
        switch await applications.application(app) {
        case .served(let application): served = application
        case .unknown: throw APIError(.notFound, "no application \(app)")
        case .unavailable(let reason): throw APIError(.serviceUnavailable, "\(app) cannot run functions: \(reason)")
        }
        let function: FunctionDefinition
        if let script = body.handlerScript {
            let typescript = body.language == .typescript
            try await FunctionCompiler.check(script, typescript: typescript)
            function = try await served.catalog.draft(trigger: trigger, script: script, typescript: typescript)
        } else if let deployed = served.catalog.function(for: trigger) {
            function = deployed
        } else {
            throw APIError(.notFound, "\(trigger) is not deployed in \(app): send a handlerScript to test a draft")
        }
        let blocking = BlockingTriggers.isBlocking(trigger)
        let attributes = CloudEventAttributes(id: "test-\(UUID().uuidString.lowercased())", type: trigger, source: "chatfn/test",
                                              time: Date().formatted(.iso8601), appId: app)
        var invocation = function.invocation(id: attributes.id, event: attributes, mode: .binary, attempt: 1,
                                             timeout: function.settings.timeout, payload: try JSONCoding.encode(body.event))
        invocation.allowsEmit = !blocking
        let result = await (blocking ? served.blocking : served.events).invoke(invocation, memoryMb: function.settings.memoryLimitMb)
        // What the function returned and emitted is shown with its application's secrets masked, as its output is.
        func shown(_ bytes: [UInt8]) -> JSONValue? {
            try? JSONDecoder().decode(JSONValue.self, from: Data(served.catalog.maskingSecrets(String(decoding: bytes, as: UTF8.self)).utf8))
        }
        let outcome = TestOutcome(
            status: result.status.rawValue,
            result: result.value.flatMap(shown),
            decision: blocking ? BlockingDispatcher.decision(for: result, function: function) : nil,
            error: result.error,
            logs: result.logs.map { "[\($0.level)] \($0.message)" },
            emitted: result.emits.map { .init(type: $0.type, key: $0.key, data: shown($0.data)) },
            durationMs: (result.duration.fractionalMilliseconds * 1_000).rounded() / 1_000,
            versionNumber: body.handlerScript == nil ? function.versionNumber : nil)
        return try JSONCoding.response(outcome)
    }

    /// `?limit=N` (default 50, at most ``InvocationLog/capacity``), `?status=failed`.
    func listInvocations(_ request: Request, _ context: ControlRequestContext, allFunctions: Bool) throws -> Response {
        let app = try parameter("app", context)
        let application = try registry.existing(app)
        let limitText = request.uri.queryParameters.get("limit")
        let limit = try limitText.map { text -> Int in
            guard let limit = Int(text), (1...InvocationLog.capacity).contains(limit) else {
                throw APIError(.badRequest, "limit must be between 1 and \(InvocationLog.capacity) (got \(text))")
            }
            return limit
        } ?? 50
        let trigger = allFunctions ? request.uri.queryParameters.get("trigger") : try parameter("trigger", context)
        if let trigger, application.functions[trigger] == nil { throw APIError(.notFound, "\(app) has no function \(trigger)") }
        let status = request.uri.queryParameters.get("status")
        // Invocations from before the application was (re)created are not its own.
        let recent = invocations.recent(application: app, trigger: trigger, status: status, limit: limit, since: application.createdTime)
        return try JSONCoding.response(recent)
    }

    struct DeadLetterView: Encodable {
        /// Its place in the dead-letter topic: what a replay names.
        var id: String
        var trigger: String?
        var eventId: String?
        var reason: String
        var error: String
        var status: String
        var attempts: Int
        var source: String?
        var time: String?
    }

    func listDeadLetters(_ context: ControlRequestContext) async throws -> Response {
        let entries = try await deadLetters(of: try parameter("app", context))
        return try JSONCoding.response(entries.map { entry in
            DeadLetterView(id: entry.record.position.description, trigger: entry.trigger, eventId: entry.eventId, reason: entry.reason,
                           error: entry.error, status: entry.status, attempts: entry.attempts, source: entry.source?.description,
                           time: entry.time?.formatted(.iso8601))
        })
    }

    struct ReplayOutcome: Encodable {
        var replayed: [String]
        var skipped: [Skipped]

        struct Skipped: Encodable {
            var id: String
            var reason: String
        }
    }

    /// Publishes the application's dead letters (or those of `ids`) again to the topic they came from.
    func replayDeadLetters(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        struct Body: Decodable { var ids: [String]? }
        let app = try parameter("app", context)
        let body = try await decode(Body.self, request, context)
        let wanted = body.ids.map(Set.init)
        let entries = try await deadLetters(of: app).filter { wanted?.contains($0.record.position.description) ?? true }
        if let wanted, wanted.count > entries.count { throw APIError(.notFound, "no dead letter of \(app) at \(wanted.subtracting(entries.map(\.record.position.description)).sorted().joined(separator: ", "))") }
        let producer = try KafkaProducer(configuration: kafka)
        defer { Task { await producer.shutdown() } }
        var outcome = ReplayOutcome(replayed: [], skipped: [])
        for entry in entries {
            let id = entry.record.position.description
            guard let record = DeadLetter.replay(entry.record) else {
                outcome.skipped.append(.init(id: id, reason: DeadLetter.replayProblem(entry.record) ?? "cannot be replayed"))
                continue
            }
            do {
                try await producer.send(record)
                outcome.replayed.append(id)
            } catch {
                throw APIError(.serviceUnavailable, "replay stopped after \(outcome.replayed.count): \(error)")
            }
        }
        return try JSONCoding.response(outcome)
    }

    private func deadLetters(of app: String) async throws -> [DeadLetterEntry] {
        _ = try registry.existing(app)
        do {
            return try await TopicReader.readAll(topic: deadLetterTopic, configuration: kafka).map(DeadLetterEntry.init).filter { $0.appId == app }
        } catch {
            throw APIError(.serviceUnavailable, "the dead-letter topic cannot be read: \(error)")
        }
    }
}
