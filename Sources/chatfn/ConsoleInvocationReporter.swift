import Dispatcher
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Workers

/// Prints one line per invocation (trigger, event id, status, duration) followed by that invocation's
/// own log lines, written as one block so concurrent invocations never interleave. What comes from
/// outside (ids, triggers, output) has its control characters escaped, and each line of a function's
/// output keeps its `│` prefix, so no event or function can forge a line of chatfn's.
package final class ConsoleInvocationReporter: InvocationReporter {
    private let showNoFunction: Bool

    /// - Parameter showNoFunction: also print events for triggers that have no function.
    package init(showNoFunction: Bool = true) {
        self.showNoFunction = showNoFunction
    }

    package func invocationFinished(_ report: InvocationReport) {
        let result = report.result
        let attributes = report.attributes
        var line = "\(Self.timestamp()) \(Self.safe(attributes.type)) \(Self.safe(attributes.id)) \(result.status.rawValue) \(Self.format(result.duration))"
        if attributes.appId != CloudEventAttributes.defaultAppId { line += " app=\(Self.safe(attributes.appId))" }
        if report.attempt > 1 { line += " attempt=\(report.attempt)" }
        if result.coldStart { line += " cold" }
        line += " invocation=\(result.invocationId) version=\(report.function.versionNumber.map { String($0) } ?? report.function.version)"
        var block = [line]
        for log in result.logs {
            block += Self.lines(of: log.message).map { "  │ \(log.level == "info" ? "" : "[\(log.level)] ")\($0)" }
        }
        if let error = result.error {
            block += Self.lines(of: error.stack ?? error.message).map { "  ✗ \($0)" }
        }
        if let retryIn = report.retryIn { block.append("  ↻ retrying in \(Self.format(retryIn))") }
        ConsoleOutput.write(lines: block)
    }

    package func recordSkipped(_ position: RecordPosition, eventId: String, trigger: String) {
        guard showNoFunction else { return }
        ConsoleOutput.write("\(Self.timestamp()) skipped \(Self.safe(eventId)) at \(position): no function deployed for \(Self.safe(trigger))")
    }

    package func recordDeadLettered(_ position: RecordPosition, eventId: String?, reason: DeadLetterReason) {
        ConsoleOutput.write("\(Self.timestamp()) dead-lettered \(Self.safe(eventId ?? "-")) at \(position): \(Self.safe(reason.description))")
    }

    private static func safe(_ text: String) -> String { text.escapingControlCharacters() }

    /// Text a function printed, as lines with their control characters escaped.
    private static func lines(of text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0).escapingControlCharacters() }
    }

    package static func format(_ duration: Duration) -> String {
        String(format: "%.1fms", duration.fractionalMilliseconds)
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.time(includingFractionalSeconds: true))
    }
}
