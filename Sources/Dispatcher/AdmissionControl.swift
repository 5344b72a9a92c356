import KafkaClient
import ChatEvents
import Functions
import ChatfnCore
import DequeModule
import Synchronization

/// Admission for the blocking lane: at most `capacity` requests run at once and the rest wait in arrival
/// order. A request that cannot start before its deadline is turned away (answered `overloaded`) instead
/// of expiring in a queue: at once when the queue ahead of it is longer than what the lane gets through
/// before its deadline (at the pace of the last `capacity` requests, re-estimated whenever one ends),
/// otherwise when its deadline comes while it still waits. Turning requests away quickly also keeps the consumer
/// fetching, so a request behind a flood reaches admission before its deadline.
final class AdmissionControl: Sendable {
    private struct Waiter {
        var id: UInt64
        var giveUpAt: Int64
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        var running = 0
        var waiting = Deque<Waiter>()
        var nextId: UInt64 = 0
        /// How long the last requests held their slot, in milliseconds: at most `capacity` of them.
        var holds = Deque<Double>()
        var holdsTotal = 0.0

        /// The mean hold over a full window of `capacity` requests; nil before that many ran (no request
        /// is then turned away before its deadline). A mean over as many requests as run at once weighs
        /// one slow request as one slot of many: weighed more, it would turn away a flood the other slots
        /// serve in time. A request that waited for its process to start is not counted: a launch holds
        /// every slot that waits for it at once.
        func averageHoldMs(capacity: Int) -> Double? {
            holds.count >= capacity ? max(0, holdsTotal) / Double(holds.count) : nil
        }

        mutating func recordHold(_ heldMs: Double, capacity: Int) {
            holds.append(heldMs)
            holdsTotal += heldMs
            if holds.count > capacity, let oldest = holds.popFirst() { holdsTotal -= oldest }
        }
    }

    let capacity: Int
    /// Time left for the reply to reach the caller after a request was turned away.
    private let replyMarginMs: Int64
    private let state = Mutex(State())

    init(capacity: Int, replyMarginMs: Int64 = 20) {
        self.capacity = max(1, capacity)
        self.replyMarginMs = replyMarginMs
    }

    /// Waits for a slot until `deadlineMs` (epoch milliseconds); false when the request cannot start
    /// in time. A true answer must be followed by ``release(heldFor:)``.
    func admit(deadlineMs: Int64) async -> Bool {
        let giveUpAt = deadlineMs.subtractingSaturated(replyMarginMs)
        let remainingMs = giveUpAt.subtractingSaturated(EpochMilliseconds.now())
        let id: UInt64? = state.withLock { state in
            if state.running < capacity, state.waiting.isEmpty {
                state.running += 1
                return nil
            }
            state.nextId += 1
            return state.nextId
        }
        guard let id else { return true }
        if remainingMs <= 0 || !canStartInTime(remainingMs: remainingMs) { return false }
        return await withTaskGroup(of: Void.self) { group in
            // The deadline: fires at or after `giveUpAt`, so a waiter queued before then is found.
            group.addTask { [self] in
                guard (try? await Task.sleep(for: .milliseconds(remainingMs))) != nil else { return }
                turnAway(id)
            }
            let admitted = await withCheckedContinuation { continuation in
                let immediate: Bool? = state.withLock { state in
                    if state.running < capacity, state.waiting.isEmpty {  // a slot came free meanwhile
                        state.running += 1
                        return true
                    }
                    if EpochMilliseconds.now() >= giveUpAt { return false }
                    state.waiting.append(Waiter(id: id, giveUpAt: giveUpAt, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
            group.cancelAll()
            return admitted
        }
    }

    /// Frees a slot for the next waiter, and turns away the waiters that can no longer start in time.
    /// - Parameter coldStart: the request waited for its process to start; its hold says nothing of the pace.
    func release(heldFor duration: Duration, coldStart: Bool = false) {
        let now = EpochMilliseconds.now()
        let (next, late): (Waiter?, [Waiter]) = state.withLock { state in
            if !coldStart { state.recordHold(duration.fractionalMilliseconds, capacity: capacity) }
            let next = state.waiting.popFirst()  // takes the released slot
            if next == nil { state.running -= 1 }
            guard let average = state.averageHoldMs(capacity: capacity) else { return (next, []) }
            var late: [Waiter] = []
            var kept = Deque<Waiter>()
            for waiter in state.waiting {
                let expectedStart = Double(now) + Double(kept.count + 1) / Double(capacity) * average
                if expectedStart >= Double(waiter.giveUpAt) { late.append(waiter) } else { kept.append(waiter) }
            }
            if !late.isEmpty { state.waiting = kept }
            return (next, late)
        }
        next?.continuation.resume(returning: true)
        for waiter in late { waiter.continuation.resume(returning: false) }
    }

    /// Requests running or waiting now.
    var load: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waiting.count) } }

    /// Whether the requests queued ahead, at the lane's recent pace, leave a slot before the deadline.
    private func canStartInTime(remainingMs: Int64) -> Bool {
        state.withLock { state in
            guard let average = state.averageHoldMs(capacity: capacity), average > 0 else { return true }
            let expectedWaitMs = Double(state.waiting.count + 1) / Double(capacity) * average
            return expectedWaitMs < Double(remainingMs)
        }
    }

    private func turnAway(_ id: UInt64) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiting.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }
}
