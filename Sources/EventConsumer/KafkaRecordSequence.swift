/// The records a ``KafkaConsumer`` hands out, one by one. The poll thread delivers them in batches, so
/// the application wakes once per batch rather than once per record.
public struct KafkaRecordSequence: AsyncSequence, Sendable {
    public typealias Element = KafkaRecord

    let batches: AsyncStream<[KafkaRecord]>

    public struct AsyncIterator: AsyncIteratorProtocol {
        var batches: AsyncStream<[KafkaRecord]>.AsyncIterator
        var buffer: [KafkaRecord] = []
        var index = 0

        public mutating func next() async -> KafkaRecord? {
            await next(isolation: nil)
        }

        /// Runs on the caller's actor, so iterating costs no executor hop per record.
        public mutating func next(isolation actor: isolated (any Actor)?) async -> KafkaRecord? {
            while index >= buffer.count {
                guard let batch = await batches.next(isolation: actor) else { return nil }
                buffer = batch
                index = 0
            }
            defer { index += 1 }
            return buffer[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(batches: batches.makeAsyncIterator())
    }
}
