import ChatfnCore
import KafkaClient

/// A record handed out by a ``KafkaConsumer``, held until the application says what became of it:
/// ``complete()`` (processed, whatever the outcome: its offset may be committed once every earlier
/// record of its partition is) or ``abandon()`` (given up while stopping: not committed, so its next
/// owner runs it). Only the consumer makes leases, so no other record can be completed.
package struct RecordLease: Sendable {
    package let record: KafkaRecord
    private let generation: UInt64
    private let core: ConsumerCore

    init(record: KafkaRecord, generation: UInt64, core: ConsumerCore) {
        self.record = record
        self.generation = generation
        self.core = core
    }

    package func complete() {
        core.complete(record.position, generation: generation)
    }

    package func abandon() {
        core.abandon(record.position, generation: generation)
    }

    /// Fires when the record's partition is being revoked from this member: work for it that has not
    /// started must not start (its next owner runs it).
    package var revocation: StopSignal {
        core.revocationSignal(for: record.position, generation: generation)
    }
}

/// The leases a ``KafkaConsumer`` hands out, one by one. The poll thread delivers them in batches, so
/// the application wakes once per batch rather than once per record.
package struct RecordLeases: AsyncSequence, Sendable {
    package typealias Element = RecordLease

    let batches: AsyncStream<[RecordLease]>

    package struct AsyncIterator: AsyncIteratorProtocol {
        var batches: AsyncStream<[RecordLease]>.AsyncIterator
        var buffer: [RecordLease] = []
        var index = 0

        package mutating func next() async -> RecordLease? {
            await next(isolation: nil)
        }

        /// Runs on the caller's actor, so iterating costs no executor hop per record.
        package mutating func next(isolation actor: isolated (any Actor)?) async -> RecordLease? {
            while index >= buffer.count {
                guard let batch = await batches.next(isolation: actor) else { return nil }
                buffer = batch
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(batches: batches.makeAsyncIterator())
    }
}
