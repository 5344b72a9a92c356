import Functions
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Logging
import Synchronization
import Workers

/// Answers blocking requests: runs the trigger's function within the caller's deadline and turns its
/// outcome into a ``Decision``. A request whose deadline passed is not run and gets no reply; one that
/// cannot start before its deadline is answered at once with the trigger's fallback, status `overloaded`.
/// Replies go only to chatfn's own reply topics, never to a topic a request names on its own.
package final class BlockingDispatcher: Sendable {
    private let applications: any ApplicationLookup
    private let reporter: any InvocationReporter
    private let invocationIds = UniqueIdentifiers()
    private let admission: AdmissionControl
    private let replyTopics: Mutex<[String: Int32]>
    private let outputs: OutputTopics
    private var deadLetterTopic: String { outputs.deadLetters }
    private let logger: Logger
    /// Requests that arrived after their deadline, not run.
    package let expired = Atomic<Int>(0)
    /// Requests answered, by decision.
    package let allowed = Atomic<Int>(0)
    package let denied = Atomic<Int>(0)
    /// Requests answered `overloaded` (they could not start before their deadline).
    package let overloaded = Atomic<Int>(0)
    /// Requests not answered: no usable reply address (a foreign topic, a partition that does not exist).
    package let refused = Atomic<Int>(0)
    /// Dead letters the broker refused for good.
    package let givenUp = Atomic<Int>(0)
    private let refusalLog: RateLimitedLog

    /// - Parameters:
    ///   - replyTopics: the topics replies may go to.
    ///   - capacity: requests run at once; the rest wait for a slot (admission control).
    package init(applications: any ApplicationLookup, reporter: any InvocationReporter, replyTopics: [String],
                outputs: OutputTopics = OutputTopics(), capacity: Int, logger: Logger) {
        self.applications = applications
        self.reporter = reporter
        self.admission = AdmissionControl(capacity: capacity)
        self.replyTopics = Mutex(Dictionary(replyTopics.map { ($0, Int32.max) }, uniquingKeysWith: { first, _ in first }))
        self.outputs = outputs
        self.logger = logger
        self.refusalLog = RateLimitedLog(logger: logger, interval: .seconds(10))
    }

    /// Learns how many partitions each reply topic has, so that a reply to one that does not exist is
    /// refused here rather than by the broker.
    package func learnReplyPartitions(from producer: KafkaProducer) async {
        let topics = replyTopics.withLock { Array($0.keys) }
        do {
            let counts = try await producer.partitionCounts(of: topics)
            replyTopics.withLock { known in
                for (topic, count) in counts { known[topic] = count }
            }
        } catch {
            logger.warning("could not read the reply topics' partitions: \(error)")
        }
    }

    /// What to publish for a request.
    package struct Answer: Sendable {
        /// None when the request expired or names no usable reply address.
        package var reply: ProducerRecord?
        /// For a trigger that does not belong on this lane.
        package var deadLetter: ProducerRecord?
        /// The invocation, for `chatfn.invocations`, when the function ran.
        package var invocationRecord: ProducerRecord?
    }

    /// A caller's deadline is honoured up to this far ahead: a request cannot hold the lane longer.
    static let maxDeadlineAheadMs: Int64 = 60_000

    /// What to publish for `record`: the reply, and a dead letter for a trigger that does not belong here.
    package func answer(_ record: KafkaRecord) async -> Answer {
        let received = ContinuousClock.now
        let request: BlockingRequest
        switch BlockingRequest.read(record) {
        case .success(let read): request = read
        case .failure(let error):
            // An ordinary event sent here by mistake is dead-lettered; anything else is refused.
            if let (attributes, _) = try? CloudEventKafkaBinding.decode(record), !BlockingTriggers.isBlocking(attributes.type) {
                let reason = DeadLetterReason.wrongLane(trigger: attributes.type, topic: record.topic)
                return Answer(deadLetter: DeadLetter.record(for: record, topic: deadLetterTopic, reason: reason, functionVersion: nil))
            }
            refuse("blocking request at \(record.position) cannot be answered: \(error.reason)")
            return Answer()
        }
        let known = replyTopics.withLock { $0[request.replyTo] }
        guard let partitions = known, request.replyPartition < partitions else {
            refuse(known == nil
                ? "reply topic \(request.replyTo.escapingControlCharacters()) is not one of chatfn's (--reply-topic)"
                : "reply partition \(request.replyPartition) of \(request.replyTo.escapingControlCharacters()) does not exist")
            return Answer()
        }
        let now = EpochMilliseconds.now()
        guard request.deadlineMs.subtractingSaturated(now) > 0 else {
            expired.add(1, ordering: .relaxed)
            ChatfnMetrics.blockingExpired()
            logger.debug("expired blocking request not run", metadata: ["correlation": "\(request.correlationId.escapingControlCharacters())"])
            return Answer()
        }
        let deadlineMs = min(request.deadlineMs, now.addingSaturated(Self.maxDeadlineAheadMs))
        let (decision, deadLetter, invocationRecord, event, traceparent) = await decide(record, deadlineMs: deadlineMs)
        // Labelled by application and trigger only when a function of theirs ran (see the dead letters' labels).
        let ran = invocationRecord != nil
        ChatfnMetrics.blockingAnswered(app: ran ? event?.appId ?? "" : "", trigger: ran ? event?.type ?? "" : "",
                                       decision: decision.decision.rawValue, duration: ContinuousClock.now - received)
        if decision.decision == .allow {
            allowed.add(1, ordering: .relaxed)
        } else {
            denied.add(1, ordering: .relaxed)
        }
        var headers = [KafkaHeader(key: BlockingHeaders.correlationId, string: request.correlationId),
                       KafkaHeader(key: "content-type", string: "application/json")]
        if let traceparent = traceparent ?? event?.traceparent { headers.append(KafkaHeader(key: TraceParent.header, string: traceparent)) }
        let reply = ProducerRecord(topic: request.replyTo, partition: request.replyPartition, key: record.key, value: decision.encoded(), headers: headers)
        return Answer(reply: reply, deadLetter: deadLetter, invocationRecord: invocationRecord)
    }

    private func refuse(_ reason: String) {
        refused.add(1, ordering: .relaxed)
        ChatfnMetrics.blockingRefused()
        refusalLog.warning(reason)
    }

    /// The decision, what else to publish, and the request's attributes when it could be read.
    private func decide(_ record: KafkaRecord, deadlineMs: Int64) async
        -> (Decision, deadLetter: ProducerRecord?, invocationRecord: ProducerRecord?, event: CloudEventAttributes?, traceparent: String?) {
        let attributes: CloudEventAttributes
        let mode: CloudEventContentMode
        do {
            (attributes, mode) = try CloudEventKafkaBinding.decode(record)
        } catch {
            return (Decision(decision: .deny, status: "failed", reason: "malformed request: \(error.reason)"), nil, nil, nil, nil)
        }
        guard BlockingTriggers.isBlocking(attributes.type) else {
            let reason = DeadLetterReason.wrongLane(trigger: attributes.type, topic: record.topic)
            return (Decision(decision: .deny, status: "rejected", reason: reason.description),
                    DeadLetter.record(for: record, topic: deadLetterTopic, reason: reason, functionVersion: nil), nil, attributes, nil)
        }
        let application: ServedApplication
        switch await applications.application(attributes.appId) {
        case .served(let served): application = served
        case .unknown: return (Decision(decision: .deny, status: "failed", reason: "unknown application \(attributes.appId)"), nil, nil, attributes, nil)
        case .unavailable(let reason):
            let fallback = FunctionSettings().onFailure(for: attributes.type)
            return (Decision(decision: fallback, status: "failed", reason: "application \(attributes.appId) cannot be served: \(reason)"), nil, nil, attributes, nil)
        }
        let settings = application.catalog.manifest.settings(for: attributes.type)
        guard let function = application.catalog.function(for: attributes.type) else {
            return (Decision(decision: settings.onMissingDecision, status: "no_function",
                             reason: "no function deployed for \(attributes.type)"), nil, nil, attributes, nil)
        }
        guard await admission.admit(deadlineMs: deadlineMs) else {
            overloaded.add(1, ordering: .relaxed)
            ChatfnMetrics.blockingOverloaded()
            return (Decision(decision: function.settings.onFailure(for: function.trigger), status: "overloaded",
                             reason: "chatfn could not start the function before the request's deadline (\(admission.capacity) running)"), nil, nil, attributes, nil)
        }
        let started = ContinuousClock.now
        let remainingMs = deadlineMs.subtractingSaturated(EpochMilliseconds.now())
        let ownTimeout = function.settings.timeoutMs.map { Duration.milliseconds($0) } ?? BlockingTriggers.defaultTimeout
        var request = function.invocation(
            id: invocationIds.next(), event: attributes, mode: mode,
            attempt: 1, timeout: min(ownTimeout, .milliseconds(max(remainingMs, 1))), payload: record.value)
        request.allowsEmit = false
        let trace = InvocationTrace.begin(function.trigger, parent: attributes.traceparent,
                                          attributes: EventDispatcher.spanAttributes(request, attributes, topic: record.topic).merging(["faas.trigger": "other"]) { $1 })
        request.traceparent = trace.traceparent
        let result = await application.blocking.invoke(request, memoryMb: function.settings.memoryLimitMb)
        trace.end(status: result.status.rawValue, succeeded: result.status == .succeeded, message: result.error?.message)
        admission.release(heldFor: ContinuousClock.now - started, coldStart: result.coldStart)
        var report = InvocationReport(attributes: attributes, function: function, position: record.position, attempt: 1, result: result)
        report.traceparent = trace.traceparent
        reporter.invocationFinished(report)
        ChatfnMetrics.invocationFinished(app: application.id, trigger: function.trigger, status: result.status.rawValue, duration: result.duration)
        return (Self.decision(for: result, function: function), nil, InvocationRecord.producerRecord(for: report, topic: outputs.invocations), attributes, trace.traceparent)
    }

    /// Maps an invocation to a decision: a return allows (with the returned `user` or `message`); a throw
    /// or `context.deny` denies; a timeout, a crash, a function that does not load, or bad data applies
    /// the trigger's `onFailure`.
    package static func decision(for result: InvocationResult, function: FunctionDefinition) -> Decision {
        var decision = Decision(decision: .allow, status: result.status.rawValue, durationMs: (result.duration.fractionalMilliseconds * 1_000).rounded() / 1_000,
                                functionVersion: function.version)
        switch result.status {
        case .succeeded:
            if let value = result.value, let returned = try? JSONDecoder().decode(JSONValue.self, from: Data(value)) {
                decision.user = returned["user"].flatMap { $0 == .null ? nil : $0 }
                decision.message = returned["message"].flatMap { $0 == .null ? nil : $0 }
            }
        case .failed where result.error?.isLoadFailure == true:
            decision.decision = function.settings.onFailure(for: function.trigger)
            decision.reason = result.error?.message
        case .failed:
            decision.decision = .deny
            decision.reason = result.error?.message
            decision.userMessage = result.error?.userMessage
        case .timeout, .crashed, .invalidEvent:
            decision.decision = function.settings.onFailure(for: function.trigger)
            decision.status = result.status == .invalidEvent ? "failed" : result.status.rawValue
            decision.reason = result.error?.message ?? result.status.rawValue
        }
        return decision
    }
}
