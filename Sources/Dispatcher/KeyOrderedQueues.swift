import Functions
import DequeModule
import ChatEvents
import KafkaClient
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
    private let waiting = Mutex<[OrderingKey: Deque<RecordLease>]>([:])

    /// Returns the lease when the caller must start a runner for it; nil when it was queued behind
    /// an earlier record of its key.
    func enqueue(_ lease: RecordLease) -> RecordLease? {
        guard let key = lease.record.key else { return lease }
        let orderingKey = OrderingKey(topic: lease.record.topic, key: key)
        return waiting.withLock { queues in
            if queues[orderingKey] != nil {
                queues[orderingKey]!.append(lease)
                return nil
            }
            queues[orderingKey] = []  // present and empty: the key has a runner
            return lease
        }
    }

    /// Runs `first` and then every record queued behind it for the same key.
    func run(startingWith first: RecordLease, _ body: (RecordLease) async -> Void) async {
        var next: RecordLease? = first
        while let lease = next {
            await body(lease)
            guard let key = lease.record.key else { return }
            let orderingKey = OrderingKey(topic: lease.record.topic, key: key)
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
