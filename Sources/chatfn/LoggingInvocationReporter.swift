import ChatEvents
import ChatfnCore
import Dispatcher
import EventConsumer
import Foundation
import KafkaClient
import Logging
import Synchronization

/// What `chatfn run` says about invocations: nothing per success (the metrics count them; `--log-level
/// debug` prints every invocation as `chatfn dev` does), a warning per failure and per dead letter, and a
/// summary a minute at most, so a worker under load stays quiet.
final class LoggingInvocationReporter: InvocationReporter {
    private struct Window {
        var started = ContinuousClock.now
        var succeeded = 0
        var failed = 0
        var deadLettered = 0
    }

    private let logger: Logger
    private let window = Mutex(Window())
    static let summaryInterval: Duration = .seconds(60)

    init(logger: Logger) {
        self.logger = logger
    }

    func invocationFinished(_ report: InvocationReport) {
        let result = report.result
        if result.status != .succeeded {
            let error = (result.error?.message ?? result.status.rawValue).escapingControlCharacters()
            let retry = report.retryIn.map { ", retrying in \(ConsoleInvocationReporter.format($0))" } ?? ""
            logger.warning("\(report.attributes.type.escapingControlCharacters()) \(report.attributes.id.escapingControlCharacters()) \(result.status.rawValue) (attempt \(report.attempt)\(retry)): \(error)",
                           metadata: ["app": "\(report.attributes.appId.escapingControlCharacters())", "invocation": "\(result.invocationId)"])
        }
        count { result.status == .succeeded ? ($0.succeeded += 1) : ($0.failed += 1) }
    }

    func recordSkipped(_ position: RecordPosition, eventId: String, trigger: String) {
        logger.debug("skipped \(eventId.escapingControlCharacters()) at \(position): no function deployed for \(trigger.escapingControlCharacters())")
    }

    func recordDeadLettered(_ position: RecordPosition, eventId: String?, reason: DeadLetterReason) {
        logger.warning("dead-lettered \((eventId ?? "-").escapingControlCharacters()) at \(position): \(reason.description.escapingControlCharacters())")
        count { $0.deadLettered += 1 }
    }

    /// Counts, and logs the window's summary once it is a minute old.
    private func count(_ update: (inout Window) -> Void) {
        let summary = window.withLock { window -> Window? in
            update(&window)
            guard ContinuousClock.now - window.started >= Self.summaryInterval else { return nil }
            defer { window = Window() }
            return window
        }
        guard let summary else { return }
        logger.info("\(summary.succeeded + summary.failed) invocations in the last \(Int((ContinuousClock.now - summary.started).components.seconds)) s: \(summary.succeeded) succeeded, \(summary.failed) failed, \(summary.deadLettered) dead-lettered")
    }
}
