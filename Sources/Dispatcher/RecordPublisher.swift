import Functions
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Logging
import Synchronization

/// Publishes what a lane produces for a record (dead letters, commands) so that no record can hold its
/// partition: while the broker is away it keeps trying (until chatfn stops or the partition is revoked;
/// a send still waiting when chatfn gives up, at the end of its shutdown's drain, is abandoned with the
/// producer's deliveries),
/// but a record the broker refuses for what it is (too large, invalid, not allowed) is sent once more in
/// its reduced form, when it has one, and is otherwise given up after ``maxRefusals`` attempts: counted
/// and logged, so the offset moves on.
struct RecordPublisher: Sendable {
    enum Outcome: Equatable {
        case delivered
        /// Refused for good: the caller moves on.
        case givenUp
        /// chatfn began stopping (or the partition was revoked) first: the record is left for the next owner.
        case stopped
    }

    static let maxRefusals = 3

    /// Pacing of attempts while the broker is away (unbounded in number: stopping ends them).
    private static let pacing = RetryPolicy(
        maxAttempts: .max, maxEventAge: .seconds(0), initialBackoff: .milliseconds(200), maxBackoff: .seconds(10))

    let producer: KafkaProducer
    let logger: Logger
    /// Records given up, for metrics.
    let givenUp: @Sendable () -> Void

    /// - Parameter reduce: the smaller form to send when `record` is refused as too large (nil: none).
    /// - Parameter stopSignals: no new attempt after any of them fired (a send under way still ends,
    ///   unless the producer's deliveries are abandoned).
    func publish(_ record: ProducerRecord, reduce: (ProducerRecord) -> ProducerRecord? = { _ in nil },
                 unlessAnyOf stopSignals: [StopSignal]) async -> Outcome {
        var record = record
        var reduced = false
        var refusals = 0
        var attempt = 1
        while true {
            do {
                try await producer.send(record)
                return .delivered
            } catch _ where producer.deliveriesAbandoned {
                return .stopped
            } catch let error as KafkaError where error.refusesRecord {
                refusals += 1
                if error.isRecordTooLarge, !reduced, let smaller = reduce(record) {
                    logger.warning("\(record.topic) refused a record of \(record.value.count) bytes (\(error)); sending it reduced")
                    record = smaller
                    reduced = true
                    continue
                }
                guard refusals < Self.maxRefusals else {
                    logger.error("giving up a record for \(record.topic) after \(refusals) refusals: \(error)")
                    givenUp()
                    return .givenUp
                }
            } catch {
                logger.warning("could not publish to \(record.topic), retrying: \(error)")
            }
            guard await StopSignal.sleep(for: Self.pacing.backoff(afterAttempt: attempt), unlessAnyOf: stopSignals) else { return .stopped }
            attempt += 1
        }
    }
}
