import Foundation

/// Tracks, per assigned partition, which delivered records are still being processed, and lets the poll
/// thread wait for them to finish (on revoke and on shutdown).
final class ConsumerProgress: @unchecked Sendable {
    // Every stored property below is guarded by `condition`.
    private let condition = NSCondition()
    private var partitions: [TopicPartition: PartitionProgress] = [:]
    private var nextGeneration: UInt64 = 1
    private var totalInFlight = 0

    var inFlight: Int {
        condition.lock()
        defer { condition.unlock() }
        return totalInFlight
    }

    var assignment: [TopicPartition] {
        condition.lock()
        defer { condition.unlock() }
        return partitions.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    func assign(_ assigned: [TopicPartition]) {
        condition.lock()
        defer { condition.unlock() }
        for topicPartition in assigned where partitions[topicPartition] == nil {
            partitions[topicPartition] = PartitionProgress(generation: nextGeneration)
            nextGeneration += 1
        }
    }

    /// Forgets `revoked`; records of theirs that complete later are ignored.
    func remove(_ revoked: [TopicPartition]) {
        condition.lock()
        defer { condition.unlock() }
        for topicPartition in revoked {
            if let progress = partitions.removeValue(forKey: topicPartition) {
                totalInFlight -= progress.inFlight
            }
        }
        condition.broadcast()
    }

    /// Notes a record handed to the application; returns its assignment generation.
    func delivered(_ position: RecordPosition) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        let key = TopicPartition(topic: position.topic, partition: position.partition)
        if partitions[key] == nil {
            // A record can arrive before the assignment is seen when librdkafka assigned on its own
            // (e.g. manual assignment); track it all the same.
            partitions[key] = PartitionProgress(generation: nextGeneration)
            nextGeneration += 1
        }
        partitions[key]!.delivered(position.offset)
        totalInFlight += 1
        return partitions[key]!.generation
    }

    /// Notes a record as processed; returns the offset to store when its partition's prefix advanced.
    func completed(_ position: RecordPosition, generation: UInt64) -> Int64? {
        condition.lock()
        defer { condition.unlock() }
        let key = TopicPartition(topic: position.topic, partition: position.partition)
        guard var progress = partitions[key], progress.generation == generation else { return nil }
        let before = progress.inFlight
        let nextToCommit = progress.completed(position.offset)
        totalInFlight -= before - progress.inFlight
        partitions[key] = progress
        condition.broadcast()
        return nextToCommit
    }

    /// Notes a record given up without processing (shutdown): it is not committed, and not waited for.
    func abandoned(_ position: RecordPosition, generation: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        let key = TopicPartition(topic: position.topic, partition: position.partition)
        guard partitions[key]?.generation == generation else { return }
        partitions[key]!.abandon(position.offset)
        condition.broadcast()
    }

    /// Blocks the calling (dedicated) thread until `subset` (all partitions when nil) has nothing running,
    /// or `deadline` passed; returns how many records were still in flight.
    func waitUntilDrained(_ subset: [TopicPartition]?, deadline: Date) -> Int {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let remaining = (subset ?? Array(partitions.keys)).reduce(0) { $0 + (partitions[$1]?.running ?? 0) }
            if remaining == 0 || !condition.wait(until: deadline) { return remaining }
        }
    }
}
