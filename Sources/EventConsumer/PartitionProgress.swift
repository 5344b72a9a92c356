import DequeModule

/// The records of one assigned partition that were handed out but whose offset cannot be committed yet.
///
/// Records complete out of order (different keys run in parallel), but a partition's committed offset may
/// only move past a record once it and every record before it completed: the contiguous completed prefix.
struct PartitionProgress {
    /// Distinguishes this assignment from an earlier one of the same partition, so that a straggler
    /// completing after a revoke cannot move the offset of the new assignment.
    let generation: UInt64
    private var outstanding = Deque<Int64>()
    private var completedOutOfOrder = Set<Int64>()

    init(generation: UInt64) {
        self.generation = generation
    }

    var inFlight: Int { outstanding.count }

    mutating func delivered(_ offset: Int64) {
        outstanding.append(offset)
    }

    /// Records `offset` as done; returns the next offset to commit when the completed prefix advanced.
    mutating func completed(_ offset: Int64) -> Int64? {
        guard let head = outstanding.first, offset >= head else { return nil }
        completedOutOfOrder.insert(offset)
        var nextToCommit: Int64?
        while let first = outstanding.first, completedOutOfOrder.remove(first) != nil {
            outstanding.removeFirst()
            nextToCommit = first + 1
        }
        return nextToCommit
    }
}
