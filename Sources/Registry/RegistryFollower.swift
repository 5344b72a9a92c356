import ChatfnCore
import KafkaClient
import Logging
import Synchronization

/// Follows `chatfn.registry` from its first record, outside any consumer group, and keeps the
/// ``RegistryState`` those records build. Every control replica and every worker has one; it is caught
/// up once it has applied what the topic held when it started, and nothing is served before that.
package final class RegistryFollower: Sendable {
    private struct Followed {
        var state = RegistryState()
        var caughtUp: Bool
        var caughtUpWaiters: [CheckedContinuation<Void, Never>] = []
        var offsetWaiters: [Int: (offset: Int64, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var nextWaiterId = 0
    }

    package let topic: String
    /// The ids of applications as they change (one element per change), for workers to redeploy.
    package let changes: AsyncStream<String>
    private let followed: Mutex<Followed>
    private let changesInput: AsyncStream<String>.Continuation
    /// The offset to reach before serving; -1: the topic was empty.
    private let catchUpOffset: Mutex<Int64?> = Mutex(nil)
    private let tail: Mutex<PartitionTail?> = Mutex(nil)

    private init(topic: String) {
        self.topic = topic
        self.followed = Mutex(Followed(caughtUp: false))
        (changes, changesInput) = AsyncStream.makeStream(of: String.self)
    }

    /// Starts following; returns once positioned at the topic's first record (not yet caught up).
    package static func start(configuration: KafkaConfiguration, topic: String = RegistryTopics.registry) async throws -> RegistryFollower {
        let follower = RegistryFollower(topic: topic)
        let tail = try await PartitionTail.start(
            configuration: configuration, partitions: [TopicPartition(topic: topic, partition: 0)], from: .beginning
        ) { [follower] record in
            follower.apply(record)
        }
        follower.tail.withLock { $0 = tail }
        let end = tail.startingEnds[TopicPartition(topic: topic, partition: 0)] ?? 0
        follower.catchUpOffset.withLock { $0 = end - 1 }
        follower.checkCaughtUp()
        return follower
    }

    /// The state as of the last record applied.
    package var state: RegistryState { followed.withLock { $0.state } }

    /// The revision of application `id` as of the last record applied; nil when it does not exist.
    /// (Every event's lookup asks: it does not copy the state.)
    package func revision(of id: String) -> Int64? {
        followed.withLock { $0.state.application(id)?.revision }
    }

    package var isCaughtUp: Bool { followed.withLock { $0.caughtUp } }

    /// Returns once the records the topic held at start-up are applied.
    package func waitUntilCaughtUp() async {
        await withCheckedContinuation { continuation in
            let ready = followed.withLock { followed in
                if !followed.caughtUp { followed.caughtUpWaiters.append(continuation) }
                return followed.caughtUp
            }
            if ready { continuation.resume() }
        }
    }

    /// Returns once the record at `offset` is applied: a writer's read-back.
    package func waitUntilApplied(_ offset: Int64, timeout: Duration = .seconds(15)) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let id = followed.withLock { followed -> Int? in
                guard followed.state.appliedOffset < offset else { return nil }
                let id = followed.nextWaiterId
                followed.nextWaiterId += 1
                followed.offsetWaiters[id] = (offset, continuation)
                return id
            }
            guard let id else { return continuation.resume() }
            // A deadline, not synchronization: the record is applied by the poll thread, or never.
            Task { [self] in
                try? await Task.sleep(for: timeout)
                let waiter = followed.withLock { $0.offsetWaiters.removeValue(forKey: id) }
                waiter?.continuation.resume(throwing: RegistryFailure.unavailable(
                    "the registry write at offset \(offset) was acknowledged but not read back within \(timeout)"))
            }
        }
    }

    package func shutdown() async {
        let tail = tail.withLock { $0 }
        await tail?.shutdown()
        changesInput.finish()
    }

    private func apply(_ record: KafkaRecord) {
        let key = String(decoding: record.key ?? [], as: UTF8.self)
        let (changed, ready) = followed.withLock { followed in
            let changed = followed.state.apply(key: key, value: record.isTombstone ? nil : record.value, offset: record.offset)
            let ready = followed.offsetWaiters.filter { $0.value.offset <= record.offset }
            for id in ready.keys { followed.offsetWaiters[id] = nil }
            return (changed, ready.values.map(\.continuation))
        }
        ready.forEach { $0.resume() }
        if let changed { changesInput.yield(changed) }
        checkCaughtUp()
    }

    private func checkCaughtUp() {
        guard let target = catchUpOffset.withLock({ $0 }) else { return }
        let waiters = followed.withLock { followed -> [CheckedContinuation<Void, Never>] in
            guard !followed.caughtUp, followed.state.appliedOffset >= target else { return [] }
            followed.caughtUp = true
            defer { followed.caughtUpWaiters.removeAll() }
            return followed.caughtUpWaiters
        }
        waiters.forEach { $0.resume() }
    }
}

/// The topics of the control plane.
package enum RegistryTopics {
    /// Compacted, one partition: every application, version, runtime and sealed secret.
    package static let registry = "chatfn.registry"
    /// Every change with who made it; not compacted, since compaction erases history.
    package static let audit = "chatfn.audit"
}
