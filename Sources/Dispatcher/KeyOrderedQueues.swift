import DequeModule
import EventConsumer
import KafkaClient
import Synchronization

/// Which records must run one after another: those of one topic with the same Kafka key.
struct OrderingKey: Hashable, Sendable {
    var topic: String
    var key: [UInt8]
}

/// Per-key FIFO queues: work items with the same key run one at a time in arrival order, different
/// keys run in parallel. A key has a run going while it has work; `enqueue` tells the caller when to start
/// one. Items without a key carry no ordering and run at once.
///
/// Memory is bounded by the consumer's in-flight limit, which counts queued records too.
final class KeyOrderedQueues<Item: Sendable>: Sendable {
    private let orderingKey: @Sendable (Item) -> OrderingKey?
    private let waiting = Mutex<[OrderingKey: Deque<Item>]>([:])

    init(orderingKey: @escaping @Sendable (Item) -> OrderingKey?) {
        self.orderingKey = orderingKey
    }

    /// Returns the item when the caller must start a run with it; nil when it was queued behind an
    /// earlier item of its key.
    func enqueue(_ item: Item) -> Item? {
        guard let key = orderingKey(item) else { return item }
        return waiting.withLock { queues in
            if queues[key] != nil {
                queues[key]!.append(item)
                return nil
            }
            queues[key] = []  // present and empty: the key has a run going
            return item
        }
    }

    /// Runs `first` and then every item queued behind it for the same key.
    func run(startingWith first: Item, _ body: (Item) async -> Void) async {
        var next: Item? = first
        while let item = next {
            await body(item)
            guard let key = orderingKey(item) else { return }
            next = waiting.withLock { queues in
                guard let following = queues[key]?.popFirst() else {
                    queues[key] = nil
                    return nil
                }
                return following
            }
        }
    }
}

extension KeyOrderedQueues where Item == RecordLease {
    /// Records of one topic with the same key, in offset order.
    convenience init() {
        self.init { lease in lease.record.key.map { OrderingKey(topic: lease.record.topic, key: $0) } }
    }
}
