import ChatFunctionsClient
import ChatfnCore
import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Workers

/// Round trips of blocking calls through chatfn, and of a bare Kafka request/reply echo on the same
/// broker as the reference.
enum BlockingBenchmark {
    /// Calls at `rate` per second for `duration` and while `condition` holds, each started on schedule;
    /// returns round trips in ms.
    static func pacedCalls(_ client: ChatFunctionsClient, trigger: String, rate: Int, duration: Duration,
                           while condition: @escaping @Sendable () -> Bool = { true }) async -> [Double] {
        let interval = Duration.seconds(1) / rate
        let samples = Samples()
        let start = ContinuousClock.now
        await withDiscardingTaskGroup { group in
            var sequence = 0
            while ContinuousClock.now - start < duration, condition() {
                let name = "user\(sequence)"
                group.addTask {
                    let began = ContinuousClock.now
                    let decision = await client.call(
                        trigger: trigger, data: Array(#"{"username":"\#(name)","authParams":{}}"#.utf8),
                        timeout: .seconds(5), fallback: .deny)
                    let elapsed = (ContinuousClock.now - began).fractionalMilliseconds
                    if decision.status != "timeout" { samples.append(elapsed) }
                }
                sequence += 1
                try? await Task.sleep(until: start + interval * sequence, clock: .continuous)
            }
        }
        return samples.all
    }

    /// A responder that answers every request at once, without chatfn: the Kafka round trip alone.
    static func startEcho(kafka: KafkaConfiguration, requestTopic: String) async throws -> (PartitionTail, KafkaProducer) {
        // As chatfn's replies go out (`BlockingLaneService`).
        let producer = try KafkaProducer(configuration: kafka, lowLatency: true, idempotent: false)
        let answer = Decision(decision: .allow, status: "succeeded").encoded()
        let tail = try await PartitionTail.start(configuration: kafka, topic: requestTopic, partition: 0) { record in
            guard case .success(let request) = BlockingRequest.read(record) else { return }
            producer.sendInBackground(ProducerRecord(
                topic: request.replyTo, partition: request.replyPartition, key: nil, value: answer,
                headers: [KafkaHeader(key: BlockingHeaders.correlationId, string: request.correlationId)]))
        }
        return (tail, producer)
    }
}
