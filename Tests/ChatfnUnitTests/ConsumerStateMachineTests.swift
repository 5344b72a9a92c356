@testable import EventConsumer
import KafkaClient
import Testing

/// The consumer's decisions without a broker: instants are chosen by the test.
@Suite("Consumer state machine")
struct ConsumerStateMachineTests {
    let t0 = ContinuousClock.now
    let p0 = TopicPartition(topic: "t", partition: 0)
    let p1 = TopicPartition(topic: "t", partition: 1)

    func machine(maxInFlight: Int = 4) -> ConsumerStateMachine {
        ConsumerStateMachine(maxInFlight: maxInFlight, maxBatch: 512, pauseAfter: .seconds(1), drainTimeout: .seconds(30))
    }

    func positions(_ partition: Int32, _ offsets: ClosedRange<Int64>) -> [RecordPosition] {
        offsets.map { RecordPosition(topic: "t", partition: partition, offset: $0) }
    }

    @Test("with room it polls at most the room left, capped by the batch size")
    func pollsWithinRoom() {
        var consumer = machine(maxInFlight: 1_000)
        #expect(consumer.nextPollStep(now: t0) == .poll(atMost: 512))
        _ = consumer.delivered(positions(0, 0...899))
        #expect(consumer.nextPollStep(now: t0) == .poll(atMost: 100))
    }

    @Test("at the bound it waits for room, pauses once the bound held for pauseAfter, and resumes at half")
    func flowControl() {
        var consumer = machine(maxInFlight: 4)
        let generations = consumer.delivered(positions(0, 0...3)).compactMap { $0 }
        #expect(consumer.nextPollStep(now: t0) == .waitForRoom(until: t0 + .milliseconds(100)))
        #expect(consumer.nextPollStep(now: t0 + .milliseconds(500)) == .waitForRoom(until: t0 + .milliseconds(600)))
        #expect(consumer.nextPollStep(now: t0 + .seconds(1)) == .pause)
        #expect(consumer.flow == .paused)
        #expect(consumer.nextPollStep(now: t0 + .seconds(2)) == .pollWhilePaused)
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 0), generation: generations[0])
        #expect(consumer.nextPollStep(now: t0 + .seconds(2)) == .pollWhilePaused, "3 in flight: above half of 4")
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 1), generation: generations[1])
        #expect(consumer.nextPollStep(now: t0 + .seconds(2)) == .resumeAndPoll(atMost: 2))
        #expect(consumer.flow == .flowing)
    }

    @Test("room coming back before pauseAfter resets the wait")
    func roomBeforePausing() {
        var consumer = machine(maxInFlight: 2)
        let generations = consumer.delivered(positions(0, 0...1)).compactMap { $0 }
        #expect(consumer.nextPollStep(now: t0) == .waitForRoom(until: t0 + .milliseconds(100)))
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 0), generation: generations[0])
        #expect(consumer.nextPollStep(now: t0 + .milliseconds(900)) == .poll(atMost: 1))
        _ = consumer.delivered(positions(0, 2...2))
        #expect(consumer.nextPollStep(now: t0 + .milliseconds(1_500)) == .waitForRoom(until: t0 + .milliseconds(1_600)),
                "a new full period starts: not paused yet")
    }

    @Test("completed offsets become one store per partition, at the contiguous prefix")
    func pendingStores() {
        var consumer = machine(maxInFlight: 100)
        let first = consumer.delivered(positions(0, 0...2)).compactMap { $0 }
        let second = consumer.delivered(positions(1, 5...5)).compactMap { $0 }
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 1), generation: first[1])
        #expect(consumer.takePendingStores().isEmpty, "offset 0 still running")
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 0), generation: first[0])
        _ = consumer.completed(RecordPosition(topic: "t", partition: 1, offset: 5), generation: second[0])
        #expect(consumer.takePendingStores() == [.init(partition: p0, nextOffset: 2), .init(partition: p1, nextOffset: 6)])
        #expect(consumer.takePendingStores().isEmpty)
        #expect(consumer.inFlight == 1)
    }

    @Test("an assignment while paused is paused too")
    func assignWhilePaused() {
        var consumer = machine(maxInFlight: 1)
        _ = consumer.delivered(positions(0, 0...0))
        _ = consumer.nextPollStep(now: t0)
        _ = consumer.nextPollStep(now: t0 + .seconds(2))
        #expect(consumer.rebalance(.assign([p1]), now: t0) == [.assign([p1]), .pause([p1])])
        #expect(consumer.everAssigned)
    }

    @Test("a revoke signals, drains with the drain timeout, then stores, commits and lets go")
    func revokeAndDrain() {
        var consumer = machine(maxInFlight: 100)
        #expect(consumer.rebalance(.assign([p0, p1]), now: t0) == [.assign([p0, p1])])
        let generations = consumer.delivered(positions(0, 0...1)).compactMap { $0 }
        let signal = consumer.revocationSignal(for: RecordPosition(topic: "t", partition: 0, offset: 0), generation: generations[0])
        #expect(consumer.rebalance(.revoke([p0], lost: false), now: t0) == [.signalRevocation([p0]), .drain([p0], until: t0 + .seconds(30))])
        #expect(consumer.running(in: [p0]) == 2 && consumer.running(in: [p1]) == 0)
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 0), generation: generations[0])
        _ = consumer.abandoned(RecordPosition(topic: "t", partition: 0, offset: 1), generation: generations[1])
        #expect(consumer.running(in: [p0]) == 0)
        #expect(consumer.revokeDrained([p0]) == [.storeOffsets([.init(partition: p0, nextOffset: 1)]), .commit, .unassign([p0])])
        #expect(signal.isStopped, "forgetting the partition fired its revocation signal")
        #expect(consumer.assignment == [p1] && consumer.inFlight == 0)
    }

    @Test("a lost assignment is let go at once: no drain, no commit")
    func lostAssignment() {
        var consumer = machine(maxInFlight: 100)
        _ = consumer.rebalance(.assign([p0]), now: t0)
        let generations = consumer.delivered(positions(0, 0...0)).compactMap { $0 }
        let signal = consumer.revocationSignal(for: RecordPosition(topic: "t", partition: 0, offset: 0), generation: generations[0])
        #expect(consumer.rebalance(.revoke([p0], lost: true), now: t0) == [.unassign([p0])])
        #expect(signal.isStopped && consumer.inFlight == 0 && consumer.assignment.isEmpty)
        let straggler = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 0), generation: generations[0])
        #expect(!straggler)
        let stores = consumer.takePendingStores()
        #expect(stores.isEmpty)
    }

    @Test("a straggler from an earlier assignment cannot move the new assignment's offset")
    func generationsAreSeparate() {
        var consumer = machine(maxInFlight: 100)
        _ = consumer.rebalance(.assign([p0]), now: t0)
        let position = RecordPosition(topic: "t", partition: 0, offset: 4)
        let old = consumer.delivered([position]).compactMap { $0 }[0]
        _ = consumer.rebalance(.revoke([p0], lost: true), now: t0)
        _ = consumer.rebalance(.assign([p0]), now: t0)
        let new = consumer.delivered([position]).compactMap { $0 }[0]
        #expect(old != new)
        let oldCompleted = consumer.completed(position, generation: old)
        let storesAfterOld = consumer.takePendingStores()
        #expect(!oldCompleted && consumer.inFlight == 1 && storesAfterOld.isEmpty)
        let newCompleted = consumer.completed(position, generation: new)
        #expect(newCompleted)
        #expect(consumer.takePendingStores() == [.init(partition: p0, nextOffset: 5)])
    }

    @Test("a failed rebalance forgets everything and unassigns")
    func failedRebalance() {
        var consumer = machine()
        _ = consumer.rebalance(.assign([p0]), now: t0)
        _ = consumer.delivered(positions(0, 0...1))
        #expect(consumer.rebalance(.failed(reason: "boom", [p0]), now: t0) == [.unassignAll])
        #expect(consumer.inFlight == 0 && consumer.assignment.isEmpty)
    }

    @Test("closing hands nothing more out, drains with the timeout, and stores what completed")
    func close() {
        var consumer = machine(maxInFlight: 100)
        let generations = consumer.delivered(positions(0, 0...1)).compactMap { $0 }
        let deadline = consumer.beginClose(now: t0)
        #expect(deadline == t0 + .seconds(30) && consumer.phase == .closing && consumer.flow == .paused)
        #expect(consumer.delivered(positions(0, 2...2)) == [nil], "records fetched while closing are not handed out")
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 0), generation: generations[0])
        #expect(consumer.running(in: nil) == 1)
        #expect(consumer.takePendingStores() == [.init(partition: p0, nextOffset: 1)])
        consumer.closed()
        #expect(consumer.phase == .closed)
    }

    @Test("a record delivered before its assignment was seen gets a generation of its own")
    func deliveredBeforeAssignment() {
        var consumer = machine()
        let generation = consumer.delivered(positions(1, 7...7)).compactMap { $0 }[0]
        #expect(consumer.assignment == [p1])
        let completed = consumer.completed(RecordPosition(topic: "t", partition: 1, offset: 7), generation: generation)
        #expect(completed)
        #expect(consumer.takePendingStores() == [.init(partition: p1, nextOffset: 8)])
    }

    @Test("records of a partition this member no longer holds are not handed out (a revoke inside the same poll)")
    func phantomPartition() {
        var consumer = machine(maxInFlight: 100)
        _ = consumer.rebalance(.assign([p0, p1]), now: t0)
        _ = consumer.rebalance(.revoke([p1], lost: true), now: t0)
        let generations = consumer.delivered(positions(0, 0...0) + positions(1, 3...3))
        #expect(generations[0] != nil && generations[1] == nil)
        #expect(consumer.assignment == [p0] && consumer.inFlight == 1)
    }

    @Test("a revoke while closing does not drain again: it stores, commits and lets go")
    func revokeWhileClosing() {
        var consumer = machine(maxInFlight: 100)
        _ = consumer.rebalance(.assign([p0]), now: t0)
        let generation = consumer.delivered(positions(0, 0...0))[0]!
        _ = consumer.beginClose(now: t0)
        _ = consumer.completed(RecordPosition(topic: "t", partition: 0, offset: 0), generation: generation)
        #expect(consumer.rebalance(.revoke([p0], lost: false), now: t0 + .seconds(40))
                == [.signalRevocation([p0]), .storeOffsets([.init(partition: p0, nextOffset: 1)]), .commit, .unassign([p0])])
    }
}
