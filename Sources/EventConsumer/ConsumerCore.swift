import ChatfnCore
import Foundation
import KafkaClient
import Logging

/// Runs a ``ConsumerStateMachine`` against a ``ConsumerClient``: the poll thread asks the machine what
/// to do and does it with the client; the application reports completions from any thread. Transitions
/// happen under `condition`; their actions are performed outside it, except the waits, which are
/// condition waits (completions wake them).
///
/// `@unchecked Sendable`: `machine`, `roomWaiters` and `drainWaiters` are guarded by `condition`; the rest is immutable or
/// Sendable.
final class ConsumerCore: @unchecked Sendable {
    let client: ConsumerClient
    private let logger: Logger
    private let cooperativeStrategy: Bool
    private let continuation: AsyncStream<[RecordLease]>.Continuation
    private let condition = NSCondition()
    private var machine: ConsumerStateMachine
    /// The poll thread when it waits for room (woken once a batch's worth came free) or for a drain
    /// (woken by every completion): completions signal only when someone waits for what they changed.
    private var roomWaiters = 0
    private var drainWaiters = 0

    init(client: ConsumerClient, configuration: KafkaConsumerConfiguration, logger: Logger,
         continuation: AsyncStream<[RecordLease]>.Continuation) {
        self.client = client
        self.logger = logger
        self.continuation = continuation
        self.cooperativeStrategy = client.configuredCooperative
        self.machine = ConsumerStateMachine(maxInFlight: configuration.maxInFlight, drainTimeout: configuration.drainTimeout)
    }

    private func withMachine<Result>(_ body: (inout ConsumerStateMachine) -> Result) -> Result {
        condition.lock()
        defer { condition.unlock() }
        return body(&machine)
    }

    // MARK: poll thread

    func pollOnce() {
        storeCompletedOffsets()
        switch withMachine({ $0.nextPollStep(now: .now) }) {
        case .poll(let limit):
            handOut(waitingMs: 100, atMost: limit)
        case .resumeAndPoll(let limit):
            client.setPaused(false)
            logger.debug("resumed fetching")
            handOut(waitingMs: 100, atMost: limit)
        case .waitForRoom(let deadline):
            _ = wait(until: deadline, forRoom: true) { $0.hasRefillRoom }
        case .pause:
            client.setPaused(true)
            logger.debug("paused fetching: the in-flight bound held")
        case .pollWhilePaused:
            handOut(waitingMs: 10, atMost: 1)
        }
    }

    private func handOut(waitingMs: Int32, atMost limit: Int) {
        let records = client.poll(waitingMs: waitingMs, atMost: limit, rebalance: handleRebalance)
        guard !records.isEmpty else { return }
        let generations = withMachine { $0.delivered(records.map(\.position)) }
        let leases = zip(records, generations).compactMap { record, generation in
            generation.map { RecordLease(record: record, generation: $0, core: self) }
        }
        if !leases.isEmpty { continuation.yield(leases) }
    }

    private func storeCompletedOffsets() {
        store(withMachine { $0.takePendingStores() })
    }

    private func store(_ offsets: [ConsumerStateMachine.StoredOffset]) {
        client.storeOffsets(offsets.map { ($0.partition, $0.nextOffset) })
    }

    private func handleRebalance(_ event: RebalanceEvent) {
        switch event {
        case .assign(let partitions):
            logger.info("partitions assigned", metadata: ["partitions": "\(partitions.map(\.description).joined(separator: ","))"])
        case .revoke(let partitions, let lost):
            logger.info(lost ? "partitions lost" : "partitions revoked", metadata: ["partitions": "\(partitions.map(\.description).joined(separator: ","))"])
        case .failed(let reason, _):
            logger.error("rebalance failed", metadata: ["error": "\(reason)"])
        }
        perform(withMachine { $0.rebalance(event, now: .now) })
    }

    private func perform(_ actions: [ConsumerStateMachine.RebalanceAction]) {
        for action in actions {
            switch action {
            case .assign(let partitions): client.assign(partitions)
            case .pause(let partitions): client.setPaused(true, partitions)
            case .signalRevocation(let partitions): withMachine { $0.revocationSignals(of: partitions) }.forEach { $0.stop() }
            case .drain(let partitions, let deadline):
                drain(partitions, until: deadline)
                perform(withMachine { $0.revokeDrained(partitions) })
            case .storeOffsets(let offsets): store(offsets)
            case .commit: logCommitFailure(client.commit())
            case .unassign(let partitions): client.unassign(partitions)
            case .unassignAll: client.unassignAll()
            }
        }
    }

    /// Waits for the running records of `partitions` (all when nil), bounded by `deadline`.
    private func drain(_ partitions: [TopicPartition]?, until deadline: ContinuousClock.Instant) {
        _ = wait(until: deadline, forRoom: false) { $0.running(in: partitions) == 0 }
        let unfinished = withMachine { $0.running(in: partitions) }
        if unfinished > 0 {
            logger.warning("drain timed out; unfinished records will run again on the next owner", metadata: ["unfinished": "\(unfinished)"])
        }
    }

    /// Blocks the poll thread until `condition` holds or `deadline` passes; whether it holds.
    private func wait(until deadline: ContinuousClock.Instant, forRoom: Bool, for holds: (ConsumerStateMachine) -> Bool) -> Bool {
        condition.lock()
        if forRoom { roomWaiters += 1 } else { drainWaiters += 1 }
        defer {
            if forRoom { roomWaiters -= 1 } else { drainWaiters -= 1 }
            condition.unlock()
        }
        while !holds(machine) {
            let remaining = deadline - .now
            guard remaining > .zero, condition.wait(until: Date().addingTimeInterval(remaining.fractionalSeconds)) else {
                return holds(machine)
            }
        }
        return true
    }

    /// Runs on the poll thread once the loop stopped: stop handing out and fetching, drain, commit,
    /// leave the group, end the lease stream.
    func close() {
        let deadline = withMachine { $0.beginClose(now: .now) }
        client.setPaused(true)
        drain(nil, until: deadline)
        store(withMachine { $0.takePendingStores() })
        logCommitFailure(client.commitServingRebalances(until: deadline, rebalance: handleRebalance))
        let everAssigned = withMachine { $0.everAssigned }
        client.close(everAssigned: everAssigned, cooperativeStrategy: cooperativeStrategy, rebalance: handleRebalance)
        withMachine { $0.closed() }
        continuation.finish()
    }

    private func logCommitFailure(_ outcome: CommitOutcome) {
        switch outcome {
        case .committed, .nothingToCommit: break
        case .retriable(let reason), .failed(let reason): logger.warning("commit failed", metadata: ["error": "\(reason)"])
        }
    }

    // MARK: any thread

    /// After a completion or abandonment, under `condition`: whether the poll thread waits for what it
    /// changed (a drain waits on every one; a wait for room on a batch's worth).
    private var someoneWaitsForThis: Bool {
        drainWaiters > 0 || (roomWaiters > 0 && machine.hasRefillRoom)
    }

    func complete(_ position: RecordPosition, generation: UInt64) {
        condition.lock()
        if machine.completed(position, generation: generation), someoneWaitsForThis { condition.broadcast() }
        condition.unlock()
    }

    func abandon(_ position: RecordPosition, generation: UInt64) {
        condition.lock()
        if machine.abandoned(position, generation: generation), someoneWaitsForThis { condition.broadcast() }
        condition.unlock()
    }

    func revocationSignal(for position: RecordPosition, generation: UInt64) -> StopSignal {
        withMachine { $0.revocationSignal(for: position, generation: generation) }
    }

    var inFlight: Int { withMachine { $0.inFlight } }
    var isFetchingPaused: Bool { withMachine { $0.flow == .paused } }
    var assignment: [TopicPartition] { withMachine { $0.assignment } }
}
