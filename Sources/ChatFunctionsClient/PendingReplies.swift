import ChatEvents
import KafkaClient
import EventConsumer
import Synchronization

/// Calls waiting for their decision, by correlation id. Each is resolved exactly once: by its reply or
/// by its timeout, whichever comes first; the other is dropped.
final class PendingReplies: Sendable {
    private let waiting = Mutex<[String: CheckedContinuation<Decision, Never>]>([:])
    let unmatched = Atomic<Int>(0)

    func register(_ correlationId: String, _ continuation: CheckedContinuation<Decision, Never>) {
        waiting.withLock { $0[correlationId] = continuation }
    }

    func resolve(_ correlationId: String, with decision: Decision) {
        waiting.withLock { $0.removeValue(forKey: correlationId) }?.resume(returning: decision)
    }

    /// A record of the reply partition: resolves its call, or counts it as unmatched.
    func receive(_ record: KafkaRecord) {
        guard let correlationId = record.headers.last(named: BlockingHeaders.correlationId)?.stringValue,
              let continuation = waiting.withLock({ $0.removeValue(forKey: correlationId) }) else {
            unmatched.add(1, ordering: .relaxed)
            return
        }
        let decision = (try? Decision.decode(record.value))
            ?? Decision(decision: .deny, status: "failed", reason: "unreadable reply")
        continuation.resume(returning: decision)
    }
}
