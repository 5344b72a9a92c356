import NIOCore
import Synchronization

/// An invocation frame on its way to a worker's request pipe.
struct OutgoingInvocation: Sendable {
    let id: String
    let timeout: Duration
    let frame: ByteBuffer
}

/// The invocations a worker process is about to be sent. Callers on any thread add theirs; the first of
/// a batch has the event loop scheduled, and that one turn writes the whole batch and flushes once: under
/// load, one wake-up of the loop and one write(2) carry many invocations instead of one each.
final class RequestOutbox: Sendable {
    private struct Pending {
        var invocations: [OutgoingInvocation] = []
        var scheduled = false
    }

    private let pending = Mutex(Pending())

    /// Queues `invocation`; true when the caller must schedule a turn that calls ``take()``.
    func add(_ invocation: OutgoingInvocation) -> Bool {
        pending.withLock { pending in
            pending.invocations.append(invocation)
            defer { pending.scheduled = true }
            return !pending.scheduled
        }
    }

    /// What was queued since the last turn; the next ``add(_:)`` schedules another.
    func take() -> [OutgoingInvocation] {
        pending.withLock { pending in
            pending.scheduled = false
            defer { pending.invocations.removeAll(keepingCapacity: true) }
            return pending.invocations
        }
    }
}
