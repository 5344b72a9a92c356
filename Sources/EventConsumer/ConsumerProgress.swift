import ChatfnCore
import Foundation

/// Tracks, per assigned partition, which delivered records are still being processed, and lets the poll
/// thread wait for them to finish (on revoke and on shutdown).
final class ConsumerProgress: @unchecked Sendable {
    // Every stored property below is guarded by `condition`.
    private let condition = NSCondition()
    private var partitions: [TopicPartition: PartitionProgress] = [:]
    private var nextGeneration: UInt64 = 1
    private var totalInFlight = 0
    /// Offsets to store, by partition: the poll thread hands them to librdkafka in one call per loop.
    private var pendingStores: [TopicPartition: Int64] = [:]
    /// Threads waiting in ``waitUntilDrained(_:deadline:)`` or ``waitForRoom(below:deadline:)``:
    /// completions signal only when someone waits.
    private var waiters = 0

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
            partitions[topicPartition] = newAssignment()
        }
    }

    /// Progress for a newly assigned partition, with a generation of its own (`condition` held).
    private func newAssignment() -> PartitionProgress {
        defer { nextGeneration += 1 }
        return PartitionProgress(generation: nextGeneration)
    }

    /// Tells the work of `revoking` partitions to stop starting: what is running may finish.
    func markRevoking(_ revoking: [TopicPartition]) {
        let signals = condition.withLock { revoking.compactMap { partitions[$0]?.revoked } }
        signals.forEach { $0.stop() }
    }

    /// The signal that fires when the assignment that delivered a record is being revoked (already
    /// fired when that assignment is over).
    func revocationSignal(for position: RecordPosition, generation: UInt64) -> StopSignal {
        condition.lock()
        defer { condition.unlock() }
        let progress = partitions[TopicPartition(topic: position.topic, partition: position.partition)]
        guard let progress, progress.generation == generation else { return StopSignal.stopped() }
        return progress.revoked
    }

    /// Forgets `revoked`; records of theirs that complete later are ignored.
    func remove(_ revoked: [TopicPartition]) {
        condition.lock()
        defer { condition.unlock() }
        for topicPartition in revoked {
            if let progress = partitions.removeValue(forKey: topicPartition) {
                totalInFlight -= progress.inFlight
                progress.revoked.stop()
            }
            pendingStores[topicPartition] = nil
        }
        condition.broadcast()
    }

    /// Notes records handed to the application; returns each one's assignment generation.
    func delivered(_ positions: [RecordPosition]) -> [UInt64] {
        condition.lock()
        defer { condition.unlock() }
        return positions.map { position in
            let key = TopicPartition(topic: position.topic, partition: position.partition)
            if partitions[key] == nil {
                // A record can arrive before its assignment is seen here (librdkafka assigned on its own).
                partitions[key] = newAssignment()
            }
            partitions[key]!.delivered(position.offset)
            totalInFlight += 1
            return partitions[key]!.generation
        }
    }

    /// Notes a record as processed; when its partition's completed prefix advanced, the new offset
    /// waits in ``takePendingStores()``.
    func completed(_ position: RecordPosition, generation: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        let key = TopicPartition(topic: position.topic, partition: position.partition)
        guard var progress = partitions[key], progress.generation == generation else { return }
        let before = progress.inFlight
        let nextToCommit = progress.completed(position.offset)
        totalInFlight -= before - progress.inFlight
        partitions[key] = progress
        if let nextToCommit { pendingStores[key] = nextToCommit }
        if waiters > 0 { condition.broadcast() }
    }

    /// The offsets that became committable since the last call.
    func takePendingStores() -> [(TopicPartition, Int64)] {
        condition.lock()
        defer { condition.unlock() }
        guard !pendingStores.isEmpty else { return [] }
        defer { pendingStores.removeAll(keepingCapacity: true) }
        return pendingStores.map { ($0.key, $0.value) }
    }

    /// Notes a record given up without processing (shutdown): it is not committed, and not waited for.
    func abandoned(_ position: RecordPosition, generation: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        let key = TopicPartition(topic: position.topic, partition: position.partition)
        guard partitions[key]?.generation == generation else { return }
        partitions[key]!.abandon(position.offset)
        if waiters > 0 { condition.broadcast() }
    }

    /// Blocks the calling (dedicated) thread until fewer than `limit` records are in flight, or `deadline`
    /// passed; true when there is room.
    func waitForRoom(below limit: Int, deadline: Date) -> Bool {
        condition.lock()
        waiters += 1
        defer {
            waiters -= 1
            condition.unlock()
        }
        while totalInFlight >= limit {
            if !condition.wait(until: deadline) { return totalInFlight < limit }
        }
        return true
    }

    /// Blocks the calling (dedicated) thread until `subset` (all partitions when nil) has nothing running,
    /// or `deadline` passed; returns how many records were still in flight.
    func waitUntilDrained(_ subset: [TopicPartition]?, deadline: Date) -> Int {
        condition.lock()
        waiters += 1
        defer {
            waiters -= 1
            condition.unlock()
        }
        while true {
            let remaining = (subset ?? Array(partitions.keys)).reduce(0) { $0 + (partitions[$1]?.running ?? 0) }
            if remaining == 0 || !condition.wait(until: deadline) { return remaining }
        }
    }
}
