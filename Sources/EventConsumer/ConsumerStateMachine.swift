import ChatfnCore
import KafkaClient

/// The decisions of a consumer group member, as a value: what it holds (partitions, records handed out,
/// offsets to store), whether it fetches, and what each event calls for. Every transition returns the
/// actions to perform; the caller (``ConsumerCore``) performs them outside its lock, with the client.
/// Time is passed in, so the machine is tested with instants of the test's choosing.
struct ConsumerStateMachine {
    /// Fetching, as flow control sees it.
    enum Flow: Equatable {
        case flowing
        /// At the in-flight bound since then: waiting for room before pausing.
        case full(since: ContinuousClock.Instant)
        /// Partitions paused; resumes at half the bound.
        case paused
    }

    enum Phase: Equatable {
        case consuming
        /// Shutdown began: nothing more is handed out.
        case closing
        case closed
    }

    /// What the poll thread does next.
    enum PollStep: Equatable {
        /// Fetch and hand out at most this many records.
        case poll(atMost: Int)
        /// Resume fetching, then poll.
        case resumeAndPoll(atMost: Int)
        /// Wait (for a completion) until this instant, then ask again.
        case waitForRoom(until: ContinuousClock.Instant)
        /// Pause every assigned partition, then ask again.
        case pause
        /// Paused: poll briefly to serve the group protocol; a record fetched before the pause landed
        /// is still handed out (dropping it would skip it until the next rebalance).
        case pollWhilePaused
    }

    /// What a rebalance event calls for, in order.
    enum RebalanceAction: Equatable {
        case assign([TopicPartition])
        case pause([TopicPartition])
        /// Fire these partitions' revocation signals: work not yet started must not start.
        case signalRevocation([TopicPartition])
        /// Wait until the partitions' running records finish, or until the deadline.
        case drain([TopicPartition], until: ContinuousClock.Instant)
        case storeOffsets([StoredOffset])
        case commit
        case unassign([TopicPartition])
        case unassignAll
    }

    struct StoredOffset: Equatable {
        var partition: TopicPartition
        var nextOffset: Int64
    }

    let maxInFlight: Int
    let maxBatch: Int
    let pauseAfter: Duration
    let drainTimeout: Duration

    private(set) var flow = Flow.flowing
    private(set) var phase = Phase.consuming
    private(set) var inFlight = 0
    /// Whether a rebalance ever assigned partitions to this member (librdkafka #4312, see the client).
    private(set) var everAssigned = false
    private var partitions: [TopicPartition: PartitionProgress] = [:]
    private var nextGeneration: UInt64 = 1
    private var pendingStores: [TopicPartition: Int64] = [:]

    init(maxInFlight: Int, maxBatch: Int = 512, pauseAfter: Duration = .seconds(1), drainTimeout: Duration) {
        self.maxInFlight = max(1, maxInFlight)
        self.maxBatch = max(1, maxBatch)
        self.pauseAfter = pauseAfter
        self.drainTimeout = drainTimeout
    }

    var assignment: [TopicPartition] {
        partitions.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
    }

    // MARK: flow control

    /// At the in-flight bound the poll thread first just waits for room (completions wake it at once),
    /// so that a busy consumer resumes in microseconds. When the bound holds longer than `pauseAfter`,
    /// it pauses every assigned partition and keeps polling, so that rebalances are served and memory
    /// stays bounded however long the functions take; it resumes at half the bound.
    mutating func nextPollStep(now: ContinuousClock.Instant) -> PollStep {
        let room = maxInFlight - inFlight
        switch flow {
        case .paused:
            guard inFlight <= maxInFlight / 2 else { return .pollWhilePaused }
            flow = .flowing
            return .resumeAndPoll(atMost: min(maxBatch, room))
        case .flowing, .full:
            if room > 0 {
                flow = .flowing
                return .poll(atMost: min(maxBatch, room))
            }
            let since: ContinuousClock.Instant
            if case .full(let start) = flow { since = start } else { since = now }
            if now - since >= pauseAfter {
                flow = .paused
                return .pause
            }
            flow = .full(since: since)
            return .waitForRoom(until: now + .milliseconds(100))
        }
    }

    /// Whether enough room came free to wake a poll thread waiting for room: a batch's worth (or the
    /// whole bound when it is smaller), so that a full consumer refills in batches rather than waking
    /// for every record that completes.
    var hasRefillRoom: Bool { maxInFlight - inFlight >= min(maxBatch, max(1, maxInFlight / 8)) }

    // MARK: records

    /// Notes records handed to the application; returns each one's assignment generation, or nil for
    /// a record not to hand out: all of them while closing, and those of a partition this member no
    /// longer holds (fetched before a revoke that the same poll served). Their next owner runs them.
    mutating func delivered(_ positions: [RecordPosition]) -> [UInt64?] {
        guard phase == .consuming else { return positions.map { _ in nil } }
        return positions.map { position in
            let key = TopicPartition(topic: position.topic, partition: position.partition)
            // Before any assignment was seen, librdkafka assigned on its own: take the record.
            guard partitions[key] != nil || !everAssigned else { return nil }
            // Mutated in place: a copy out of the dictionary would copy its offsets on every record.
            if partitions[key] == nil { partitions[key] = newAssignment() }
            partitions[key]!.delivered(position.offset)
            inFlight += 1
            return partitions[key]!.generation
        }
    }

    /// Notes a record processed; returns whether someone waiting (for room, for a drain) should look again.
    mutating func completed(_ position: RecordPosition, generation: UInt64) -> Bool {
        let key = TopicPartition(topic: position.topic, partition: position.partition)
        guard partitions[key]?.generation == generation else { return false }
        let before = partitions[key]!.inFlight
        let nextToCommit = partitions[key]!.completed(position.offset)  // in place, as in delivered(_:)
        inFlight -= before - partitions[key]!.inFlight
        if let nextToCommit { pendingStores[key] = nextToCommit }
        return true
    }

    /// Notes a record given up without processing: not committed, not waited for.
    mutating func abandoned(_ position: RecordPosition, generation: UInt64) -> Bool {
        let key = TopicPartition(topic: position.topic, partition: position.partition)
        guard partitions[key]?.generation == generation else { return false }
        partitions[key]!.abandon(position.offset)
        return true
    }

    /// The signal that fires when the assignment that delivered a record is being revoked (already
    /// fired when that assignment is over).
    func revocationSignal(for position: RecordPosition, generation: UInt64) -> StopSignal {
        let progress = partitions[TopicPartition(topic: position.topic, partition: position.partition)]
        guard let progress, progress.generation == generation else { return StopSignal.stopped() }
        return progress.revoked
    }

    /// The revocation signals of the current assignments of `revoked`.
    func revocationSignals(of revoked: [TopicPartition]) -> [StopSignal] {
        revoked.compactMap { partitions[$0]?.revoked }
    }

    /// The offsets that became committable since the last call.
    mutating func takePendingStores() -> [StoredOffset] {
        guard !pendingStores.isEmpty else { return [] }
        defer { pendingStores.removeAll(keepingCapacity: true) }
        return pendingStores.map { StoredOffset(partition: $0.key, nextOffset: $0.value) }
            .sorted { ($0.partition.topic, $0.partition.partition) < ($1.partition.topic, $1.partition.partition) }
    }

    /// Records of `subset` (all partitions when nil) still running: neither completed nor abandoned.
    func running(in subset: [TopicPartition]?) -> Int {
        (subset ?? Array(partitions.keys)).reduce(0) { $0 + (partitions[$1]?.running ?? 0) }
    }

    // MARK: rebalances

    mutating func rebalance(_ event: RebalanceEvent, now: ContinuousClock.Instant) -> [RebalanceAction] {
        switch event {
        case .assign(let assigned):
            everAssigned = true
            for partition in assigned where partitions[partition] == nil { partitions[partition] = newAssignment() }
            return [.assign(assigned)] + (flow == .paused ? [.pause(assigned)] : [])
        case .revoke(let revoked, lost: true):
            // Another member may own them already: no drain, no commit; what ran will run again there.
            forget(revoked)
            return [.unassign(revoked)]
        case .revoke(let revoked, lost: false) where phase != .consuming:
            // Leaving the group: everything was drained already, within the shutdown's own bound.
            return [.signalRevocation(revoked)] + revokeDrained(revoked)
        case .revoke(let revoked, lost: false):
            return [.signalRevocation(revoked), .drain(revoked, until: now + drainTimeout)]
        case .failed(_, let partitions):
            forget(partitions)
            return [.unassignAll]
        }
    }

    /// After a revoke's drain: commit what completed, then let the partitions go.
    mutating func revokeDrained(_ revoked: [TopicPartition]) -> [RebalanceAction] {
        let stores = takePendingStores()
        forget(revoked)
        return (stores.isEmpty ? [] : [.storeOffsets(stores)]) + [.commit, .unassign(revoked)]
    }

    /// Drops the progress of `revoked` (firing their revocation signals, which are lock-free to fire);
    /// records of theirs that complete later are ignored.
    private mutating func forget(_ revoked: [TopicPartition]) {
        for partition in revoked {
            if let progress = partitions.removeValue(forKey: partition) {
                inFlight -= progress.inFlight
                progress.revoked.stop()
            }
            pendingStores[partition] = nil
        }
    }

    private mutating func newAssignment() -> PartitionProgress {
        defer { nextGeneration += 1 }
        return PartitionProgress(generation: nextGeneration)
    }

    // MARK: shutdown

    /// Shutdown: stop handing out and fetching (the caller pauses the assignment), then drain everything
    /// until the returned deadline and store what completed (``takePendingStores()``).
    mutating func beginClose(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        phase = .closing
        flow = .paused
        return now + drainTimeout
    }

    mutating func closed() {
        phase = .closed
    }
}
