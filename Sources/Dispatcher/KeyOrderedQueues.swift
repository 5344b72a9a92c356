import DequeModule
import EventConsumer
import Synchronization

/// Which records must run one after another: those of one topic with the same Kafka key.
struct OrderingKey: Hashable, Sendable {
    var topic: String
    var key: [UInt8]
}

/// Per-key FIFO queues: records with the same key run one at a time in offset order, different keys run
/// in parallel. A key has a runner while it has work; `enqueue` tells the caller when to start one.
/// Records without a key carry no ordering and run at once.
///
/// Memory is bounded by the consumer's in-flight limit, which counts queued records too.
final class KeyOrderedQueues: Sendable {
    private let waiting = Mutex<[OrderingKey: Deque<KafkaRecord>]>([:])

    /// Returns the record when the caller must start a runner for it; nil when it was queued behind
    /// an earlier record of its key.
    func enqueue(_ record: KafkaRecord) -> KafkaRecord? {
        guard let key = record.key else { return record }
        let orderingKey = OrderingKey(topic: record.topic, key: key)
        return waiting.withLock { queues in
            if queues[orderingKey] != nil {
                queues[orderingKey]!.append(record)
                return nil
            }
            queues[orderingKey] = []  // present and empty: the key has a runner
            return record
        }
    }

    /// Runs `first` and then every record queued behind it for the same key.
    func run(startingWith first: KafkaRecord, _ body: (KafkaRecord) async -> Void) async {
        var next: KafkaRecord? = first
        while let record = next {
            await body(record)
            guard let key = record.key else { return }
            let orderingKey = OrderingKey(topic: record.topic, key: key)
            next = waiting.withLock { queues in
                guard let following = queues[orderingKey]?.popFirst() else {
                    queues[orderingKey] = nil
                    return nil
                }
                return following
            }
        }
    }
}
