import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Synchronization

/// What a chat server uses to talk to chatfn: `publish` for non-blocking events, `call` for blocking
/// ones (sign-in, message moderation) with a deadline and a fallback, so a call never hangs and never
/// throws for a slow or broken function.
public final class ChatFunctionsClient: Sendable {
    public struct Configuration: Sendable {
        public var kafka: KafkaConfiguration
        public var eventsTopic = "chatfn.events"
        public var requestTopic = "chatfn.requests"
        public var replyTopic = "chatfn.replies"
        /// The reply partition this client reads, assigned (not group-managed): give each client
        /// instance its own when there are several, so none reads the others' replies.
        public var replyPartition: Int32 = 0
        public var appId = CloudEventAttributes.defaultAppId
        /// `ce_source` of the events this client publishes.
        public var source = "chat-platform"

        public init(kafka: KafkaConfiguration) {
            self.kafka = kafka
        }
    }

    public let configuration: Configuration
    /// Events: idempotent, so a retry neither duplicates nor reorders a key's events.
    private let events: KafkaProducer
    /// Requests: not idempotent (see `KafkaProducer`): none waits behind another's sequence. A request
    /// the producer retried after a lost acknowledgement can run twice; its second reply is dropped.
    private let requests: KafkaProducer
    private let replies: PendingReplies
    private let tail: PartitionTail
    private let correlationIds = UniqueIdentifiers()

    private init(configuration: Configuration, events: KafkaProducer, requests: KafkaProducer, replies: PendingReplies, tail: PartitionTail) {
        self.configuration = configuration
        self.events = events
        self.requests = requests
        self.replies = replies
        self.tail = tail
    }

    /// Connects, and starts following this client's reply partition before the first call.
    public static func connect(_ configuration: Configuration) async throws -> ChatFunctionsClient {
        let events = try KafkaProducer(configuration: configuration.kafka, lowLatency: true)
        let requests = try KafkaProducer(configuration: configuration.kafka, lowLatency: true, idempotent: false)
        // Looked up now only to spare the first record the lookup: a client that only calls needs no
        // events topic, one that only publishes no request topic; a topic missing fails its first use.
        try? await events.prepare(topics: [configuration.eventsTopic])
        try? await requests.prepare(topics: [configuration.requestTopic])
        let replies = PendingReplies()
        let tail = try await PartitionTail.start(
            configuration: configuration.kafka, topic: configuration.replyTopic, partition: configuration.replyPartition
        ) { record in replies.receive(record) }
        return ChatFunctionsClient(configuration: configuration, events: events, requests: requests, replies: replies, tail: tail)
    }

    /// Publishes a non-blocking event (e.g. `user.received.notification`); returns once the broker has it.
    @discardableResult
    public func publish(trigger: String, data: [UInt8], key: String?, id: String = UUID().uuidString.lowercased()) async throws -> DeliveryReceipt {
        try await events.send(CloudEventKafkaBinding.binaryRecord(
            topic: configuration.eventsTopic, key: key.map { Array($0.utf8) }, attributes: attributes(trigger, id: id), data: data))
    }

    /// Asks a blocking function (e.g. `user.attempted.start_session`) and waits at most `timeout` for
    /// its decision; past that, returns `fallback` with status `timeout`.
    public func call(trigger: String, data: [UInt8], key: String? = nil, timeout: Duration, fallback: Decision.Verdict) async -> Decision {
        let correlationId = correlationIds.next()
        let request = BlockingRequest(
            correlationId: correlationId, replyTo: configuration.replyTopic, replyPartition: configuration.replyPartition,
            deadlineMs: EpochMilliseconds.now().addingSaturated(timeout.wholeMilliseconds))
        var record = CloudEventKafkaBinding.binaryRecord(
            topic: configuration.requestTopic, key: key.map { Array($0.utf8) }, attributes: attributes(trigger, id: correlationId), data: data)
        record.headers += request.headers
        let replies = replies
        return await withTaskGroup(of: Void.self) { group in
            let decision = await withCheckedContinuation { continuation in
                replies.register(correlationId, continuation)
                // Armed only once the call is registered, so that even a zero timeout finds it. Cancelling
                // the caller cancels it too: the call then ends with its fallback (a no-op once answered).
                group.addTask {
                    let timedOut = (try? await Task.sleep(for: timeout)) != nil
                    replies.resolve(correlationId, with: Decision(
                        decision: fallback, status: timedOut ? "timeout" : "cancelled",
                        reason: timedOut ? "no decision within \(timeout)" : "the call was cancelled"))
                }
                requests.sendInBackground(record)  // a lost request ends as the timeout fallback
            }
            group.cancelAll()
            return decision
        }
    }

    /// Replies that arrived for no pending call: late (after the caller's timeout) or not this client's.
    public var unmatchedReplies: Int { replies.unmatched.load(ordering: .relaxed) }

    public func shutdown() async {
        await tail.shutdown()
        async let requestsFlushed: Void = requests.shutdown()
        await events.shutdown()
        await requestsFlushed
    }

    private func attributes(_ trigger: String, id: String) -> CloudEventAttributes {
        CloudEventAttributes(id: id, type: trigger, source: configuration.source, time: Date().formatted(.iso8601), appId: configuration.appId)
    }
}
