import Functions
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Logging
import Workers

/// Routes a consumed record to its application's function, runs it on a worker with retries, and
/// publishes what follows: commands on success, the record to the dead-letter topic after the last
/// attempt or at once for bad input, and an invocation record per attempt.
///
/// Only the CloudEvent attributes are decoded here; the event data goes to the worker as the bytes it
/// arrived as.
package final class EventDispatcher: Sendable {
    package let configuration: DispatcherConfiguration
    package let statistics: DispatchStatistics
    private let applications: any ApplicationLookup
    private let producer: KafkaProducer
    private let publisher: RecordPublisher
    private let reporter: any InvocationReporter
    private let stop: StopSignal
    private let logger: Logger
    private let invocationIds = UniqueIdentifiers()
    /// Each function's `concurrency`.
    private let concurrency = ConcurrencyLimits()

    /// - Parameter stop: no new attempt after it fires (graceful shutdown began).
    package init(configuration: DispatcherConfiguration, applications: any ApplicationLookup, producer: KafkaProducer,
                reporter: any InvocationReporter, stop: StopSignal,
                statistics: DispatchStatistics = DispatchStatistics(), logger: Logger) {
        self.configuration = configuration
        self.statistics = statistics
        self.applications = applications
        self.producer = producer
        self.publisher = RecordPublisher(producer: producer, logger: logger) {
            statistics.givenUp.add(1, ordering: .relaxed)
            ChatfnMetrics.givenUp()
        }
        self.reporter = reporter
        self.stop = stop
        self.logger = logger
    }

    /// Handles `record` to the end, or gives it up when chatfn is stopping or `revoked` fires (its
    /// partition is going to another member).
    package func process(_ record: KafkaRecord, revoked: StopSignal = StopSignal()) async -> RecordOutcome {
        let stopSignals = [stop, revoked]
        guard !stopSignals.contains(where: \.isStopped) else { return abandon() }
        guard record.value.count <= configuration.maxRecordBytes else {
            return await deadLetter(record, event: nil, .tooLarge(bytes: record.value.count, limit: configuration.maxRecordBytes),
                                    version: nil, stopSignals)
        }
        let attributes: CloudEventAttributes
        let mode: CloudEventContentMode
        do {
            (attributes, mode) = try CloudEventKafkaBinding.decode(record)
        } catch {
            return await deadLetter(record, event: nil, .malformed(error.reason), version: nil, stopSignals)
        }
        guard !BlockingTriggers.isBlocking(attributes.type) else {
            return await deadLetter(record, event: attributes, .wrongLane(trigger: attributes.type, topic: record.topic),
                                    version: nil, stopSignals)
        }
        let application: ServedApplication
        switch await applications.application(attributes.appId) {
        case .served(let served): application = served
        case .unknown:
            return await deadLetter(record, event: attributes, .unknownApplication(attributes.appId), version: nil, stopSignals)
        case .unavailable(let reason):
            return await deadLetter(record, event: attributes, .applicationUnavailable(application: attributes.appId, reason: reason),
                                    version: nil, stopSignals)
        }
        guard let function = application.catalog.function(for: attributes.type) else {
            statistics.skippedNoFunction.add(1, ordering: .relaxed)
            ChatfnMetrics.withoutFunction()
            reporter.recordSkipped(record.position, eventId: attributes.id, trigger: attributes.type)
            return .processed
        }
        return await run(function, of: application, for: record, attributes: attributes, mode: mode, stopSignals)
    }

    private func run(_ function: FunctionDefinition, of served: ServedApplication, for record: KafkaRecord, attributes: CloudEventAttributes,
                     mode: CloudEventContentMode, _ stopSignals: [StopSignal]) async -> RecordOutcome {
        let policy = function.settings.retryPolicy
        var attempt = 1
        var application = served
        while true {
            // A retry after a long backoff finds the application as it is now (stopped while idle, started again).
            if attempt > 1, case .served(let current) = await applications.application(application.id) { application = current }
            var request = function.invocation(
                id: invocationIds.next(), event: attributes, mode: mode,
                attempt: attempt, timeout: function.settings.timeout, payload: record.value)
            guard let permit = await concurrency.acquire("\(application.id)/\(function.trigger)", limit: function.settings.concurrency,
                                                         unlessAnyOf: stopSignals) else { return abandon() }
            let trace = InvocationTrace.begin(function.trigger, parent: attributes.traceparent,
                                              attributes: Self.spanAttributes(request, attributes, topic: record.topic))
            request.traceparent = trace.traceparent
            statistics.running.add(1, ordering: .relaxed)
            let result = await application.events.invoke(request, memoryMb: function.settings.memoryLimitMb)
            statistics.running.subtract(1, ordering: .relaxed)
            trace.end(status: result.status.rawValue, succeeded: result.status == .succeeded, message: result.error?.message)
            concurrency.release(permit)
            statistics.invocations.add(1, ordering: .relaxed)
            ChatfnMetrics.invocationFinished(app: application.id, trigger: function.trigger, status: result.status.rawValue, duration: result.duration)
            let message = result.error?.message ?? result.status.rawValue

            let nextStep: NextStep = switch result.status {
            case .succeeded: .succeed
            case .invalidEvent: .deadLetter(.invalidEvent(message))
            case .failed, .timeout, .crashed:
                if attempt >= policy.maxAttempts {
                    .deadLetter(.exhausted(status: result.status, attempts: attempt, message: message))
                } else {
                    retryOrExpire(record, policy: policy, attempt: attempt, status: result.status, message: message)
                }
            }
            var report = InvocationReport(attributes: attributes, function: function, position: record.position, attempt: attempt, result: result)
            report.traceparent = trace.traceparent
            if case .retry(let delay) = nextStep { report.retryIn = delay }
            reporter.invocationFinished(report)
            publishInvocationRecord(report)

            switch nextStep {
            case .succeed:
                statistics.succeeded.add(1, ordering: .relaxed)
                return await publishCommands(result.emits, of: attributes, traceparent: trace.traceparent, record: record, stopSignals) ? .processed : abandon()
            case .deadLetter(let reason):
                return await deadLetter(record, event: attributes, reason, version: function.version, traceparent: trace.traceparent, stopSignals)
            case .retry(let delay):
                statistics.retries.add(1, ordering: .relaxed)
                ChatfnMetrics.retried()
                guard await StopSignal.sleep(for: delay, unlessAnyOf: stopSignals) else { return abandon() }
                attempt += 1
            }
        }
    }

    private enum NextStep {
        case succeed
        case retry(after: Duration)
        case deadLetter(DeadLetterReason)
    }

    /// Retries unless the event would be past its maximum age by the time the retry starts.
    private func retryOrExpire(_ record: KafkaRecord, policy: RetryPolicy, attempt: Int, status: InvocationStatus, message: String) -> NextStep {
        let delay = policy.backoff(afterAttempt: attempt)
        if let published = record.timestampMs {
            let ageAtRetry = Duration.milliseconds(EpochMilliseconds.now().subtractingSaturated(published)) + delay
            if ageAtRetry > policy.maxEventAge { return .deadLetter(.expired(status: status, attempts: attempt, message: message)) }
        }
        return .retry(after: delay)
    }

    private func abandon() -> RecordOutcome {
        statistics.abandoned.add(1, ordering: .relaxed)
        ChatfnMetrics.abandoned()
        return .abandoned
    }

    /// - Parameter event: the event's attributes, when the record could be read as one.
    private func deadLetter(_ record: KafkaRecord, event: CloudEventAttributes?, _ reason: DeadLetterReason, version: String?,
                            traceparent: String? = nil, _ stopSignals: [StopSignal]) async -> RecordOutcome {
        let deadLetter = DeadLetter.record(for: record, topic: configuration.outputs.deadLetters, reason: reason, functionVersion: version,
                                           traceparent: traceparent)
        switch await publisher.publish(deadLetter, reduce: DeadLetter.reduced, unlessAnyOf: stopSignals) {
        case .stopped: return abandon()
        case .givenUp:
            logger.error("event at \(record.position) could not be dead-lettered and is dropped: \(reason.description.escapingControlCharacters())")
            return .processed
        case .delivered: break
        }
        statistics.deadLettered.add(1, ordering: .relaxed)
        // Labels only from a function that ran: whatever a record claims (any ce_appid, any ce_type) would
        // otherwise make series without bound.
        let ran: Bool = switch reason {
        case .exhausted, .expired, .invalidEvent: true
        default: false
        }
        ChatfnMetrics.deadLettered(app: ran ? event?.appId ?? "" : "", trigger: ran ? event?.type ?? "" : "", reason: reason.code)
        reporter.recordDeadLettered(record.position, eventId: event?.id, reason: reason)
        return .processed
    }

    /// Publishes the commands a successful invocation emitted, as CloudEvents whose ids derive from the
    /// event id and the emit order: a re-run emits the same ids, so consumers can drop duplicates. A
    /// command the broker refuses is given up (counted and logged); the others still go out.
    private func publishCommands(_ commands: [EmittedCommand], of event: CloudEventAttributes, traceparent: String?, record: KafkaRecord,
                                 _ stopSignals: [StopSignal]) async -> Bool {
        for (index, command) in commands.enumerated() {
            let attributes = CloudEventAttributes(
                id: "\(event.id):\(index)", type: command.type, source: "chatfn/\(event.appId)/\(event.type)",
                time: Date().formatted(.iso8601), appId: event.appId, traceparent: traceparent)
            let published = CloudEventKafkaBinding.binaryRecord(
                topic: configuration.outputs.commands, key: command.key.map { Array($0.utf8) } ?? record.key,
                attributes: attributes, data: command.data.isEmpty ? Array("null".utf8) : command.data)
            guard await publisher.publish(published, unlessAnyOf: stopSignals) != .stopped else { return false }
        }
        return true
    }

    private func publishInvocationRecord(_ report: InvocationReport) {
        guard configuration.publishInvocationRecords else { return }
        producer.sendInBackground(InvocationRecord.producerRecord(for: report, topic: configuration.outputs.invocations))
    }

    /// What a span of an invocation says about it (OpenTelemetry's FaaS, messaging and CloudEvents conventions).
    static func spanAttributes(_ request: InvocationRequest, _ event: CloudEventAttributes, topic: String) -> [String: String] {
        ["faas.trigger": "pubsub", "faas.invocation_id": request.invocationId, "faas.name": event.type, "cloudevents.event_id": event.id,
         "cloudevents.event_type": event.type, "cloudevents.event_source": event.source, "messaging.system": "kafka",
         "messaging.destination.name": topic, "chatfn.app": event.appId, "chatfn.attempt": String(request.attempt),
         "chatfn.function_version": request.functionVersion]
    }
}
