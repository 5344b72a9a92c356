import ChatfnCore
import EventConsumer
import Foundation
import Logging
import Synchronization
import Workers

/// Answers blocking requests: runs the trigger's function within the caller's deadline and turns its
/// outcome into a ``Decision``. A request whose deadline passed is not run and gets no reply.
public final class BlockingDispatcher: Sendable {
    public let appId: String
    private let catalog: FunctionCatalog
    private let pool: WorkerPool
    private let reporter: any InvocationReporter
    private let invocationIds = UniqueIdentifiers()
    private let logger: Logger
    /// Requests that arrived after their deadline, not run.
    public let expired = Atomic<Int>(0)
    /// Requests answered, by decision.
    public let allowed = Atomic<Int>(0)
    public let denied = Atomic<Int>(0)

    public init(appId: String, catalog: FunctionCatalog, pool: WorkerPool, reporter: any InvocationReporter, logger: Logger) {
        self.appId = appId
        self.catalog = catalog
        self.pool = pool
        self.reporter = reporter
        self.logger = logger
    }

    /// The reply to `record`, or nil when there is none to send (expired, or no reply address).
    public func reply(to record: KafkaRecord) async -> ProducerRecord? {
        let request: BlockingRequest
        switch BlockingRequest.read(record) {
        case .success(let read): request = read
        case .failure(let error):
            logger.warning("blocking request at \(record.position) cannot be answered: \(error.reason)")
            return nil
        }
        let remaining = request.deadlineMs - BlockingRequest.nowMs()
        guard remaining > 0 else {
            expired.add(1, ordering: .relaxed)
            logger.debug("expired blocking request not run", metadata: ["correlation": "\(request.correlationId)"])
            return nil
        }
        let decision = await decide(record, remainingMs: remaining)
        if decision.decision == .allow {
            allowed.add(1, ordering: .relaxed)
        } else {
            denied.add(1, ordering: .relaxed)
        }
        return ProducerRecord(
            topic: request.replyTo, partition: request.replyPartition, key: record.key, value: decision.encoded(),
            headers: [KafkaHeader(key: BlockingHeaders.correlationId, string: request.correlationId),
                      KafkaHeader(key: "content-type", string: "application/json")])
    }

    private func decide(_ record: KafkaRecord, remainingMs: Int64) async -> Decision {
        let attributes: CloudEventAttributes
        let mode: CloudEventContentMode
        do {
            (attributes, mode) = try CloudEventKafkaBinding.decode(record)
        } catch {
            return Decision(decision: .deny, status: "failed", reason: "malformed request: \(error.reason)")
        }
        guard attributes.appId == appId else {
            return Decision(decision: .deny, status: "failed", reason: "unknown application \(attributes.appId)")
        }
        guard let function = catalog.function(for: attributes.type) else {
            let settings = catalog.manifest.settings(for: attributes.type)
            return Decision(decision: BlockingTriggers.onMissing(settings), status: "no_function",
                            reason: "no function deployed for \(attributes.type)")
        }
        let ownTimeout = function.settings.timeoutMs.map { Duration.milliseconds($0) } ?? BlockingTriggers.defaultTimeout
        let request = function.invocation(
            id: invocationIds.next(), event: attributes, mode: mode,
            attempt: 1, timeout: min(ownTimeout, .milliseconds(remainingMs)), payload: record.value)
        let result = await pool.invoke(request)
        reporter.invocationFinished(InvocationReport(attributes: attributes, function: function, position: record.position, attempt: 1, result: result))
        return Self.decision(for: result, function: function)
    }

    /// Maps an invocation to a decision: a return allows (with the returned `user` or `message`); a throw
    /// or `context.deny` denies; a timeout, a crash, a function that does not load, or bad data applies
    /// the trigger's `onFailure`.
    public static func decision(for result: InvocationResult, function: FunctionDefinition) -> Decision {
        var decision = Decision(decision: .allow, status: result.status.rawValue, durationMs: result.duration.fractionalMilliseconds,
                                functionVersion: function.version)
        switch result.status {
        case .succeeded:
            if let value = result.value, let object = try? JSONSerialization.jsonObject(with: Data(value)) as? [String: Any] {
                decision.user = object["user"].flatMap(Self.json)
                decision.message = object["message"].flatMap(Self.json)
            }
        case .failed where result.error?.isLoadFailure == true:
            decision.decision = BlockingTriggers.onFailure(function.trigger, function.settings)
            decision.reason = result.error?.message
        case .failed:
            decision.decision = .deny
            decision.reason = result.error?.message
            decision.userMessage = result.error?.userMessage
        case .timeout, .crashed, .invalidEvent:
            decision.decision = BlockingTriggers.onFailure(function.trigger, function.settings)
            decision.status = result.status == .invalidEvent ? "failed" : result.status.rawValue
            decision.reason = result.error?.message ?? result.status.rawValue
        }
        return decision
    }

    private static func json(_ value: Any) -> [UInt8]? {
        guard !(value is NSNull) else { return nil }
        return (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])).map(Array.init)
    }
}
