import ChatfnCore
import DequeModule

/// The records of one assigned partition that were handed out but whose offset cannot be committed yet.
///
/// Records complete out of order (different keys run in parallel), but a partition's committed offset may
/// only move past a record once it and every record before it completed: the contiguous completed prefix.
struct PartitionProgress {
    /// Distinguishes this assignment from an earlier one of the same partition, so that a straggler
    /// completing after a revoke cannot move the offset of the new assignment.
    let generation: UInt64
    /// Fires when the partition is being revoked: work not yet started for it must not start.
    let revoked = StopSignal()
    private var outstanding = Deque<Int64>()
    private var completedOutOfOrder = Set<Int64>()
    /// Handed out but given up without processing (shutdown): they hold the committed offset back,
    /// so the next owner runs them, but nobody waits for them.
    private var abandoned = Set<Int64>()

    init(generation: UInt64) {
        self.generation = generation
    }

    var inFlight: Int { outstanding.count }

    /// Records still being worked on: neither completed nor abandoned.
    var running: Int { outstanding.count - completedOutOfOrder.count - abandoned.count }

    mutating func delivered(_ offset: Int64) {
        outstanding.append(offset)
    }

    /// Records `offset` as done; returns the next offset to commit when the completed prefix advanced.
    mutating func completed(_ offset: Int64) -> Int64? {
        guard let head = outstanding.first, offset >= head, !abandoned.contains(offset) else { return nil }
        completedOutOfOrder.insert(offset)
        var nextToCommit: Int64?
        while let first = outstanding.first, completedOutOfOrder.remove(first) != nil {
            outstanding.removeFirst()
            nextToCommit = first + 1
        }
        return nextToCommit
    }
}

extension PartitionProgress {
    /// Gives `offset` up: it will not complete here, and the commit stays before it.
    mutating func abandon(_ offset: Int64) {
        guard let head = outstanding.first, offset >= head, !completedOutOfOrder.contains(offset) else { return }
        abandoned.insert(offset)
    }
}
