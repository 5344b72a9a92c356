import ChatfnCore
import EventConsumer
import Foundation
import Workers

/// Prints one line per invocation (trigger, event id, status, duration) followed by that invocation's
/// own log lines, written as one block so concurrent invocations never interleave.
public final class ConsoleInvocationReporter: InvocationReporter {
    private let showNoFunction: Bool

    /// - Parameter showNoFunction: also print events for triggers that have no function.
    public init(showNoFunction: Bool = true) {
        self.showNoFunction = showNoFunction
    }

    public func invocationFinished(_ report: InvocationReport) {
        let result = report.result
        var line = "\(Self.timestamp()) \(report.attributes.type) \(report.attributes.id) \(result.status.rawValue) \(Self.format(result.duration))"
        if report.attributes.appId != CloudEventAttributes.defaultAppId { line += " app=\(report.attributes.appId)" }
        if report.attempt > 1 { line += " attempt=\(report.attempt)" }
        if result.coldStart { line += " cold" }
        line += " invocation=\(result.invocationId) version=\(report.function.version)"
        var block = [line]
        block += result.logs.map { "  │ \($0.level == "info" ? "" : "[\($0.level)] ")\($0.message)" }
        if let error = result.error {
            block += (error.stack ?? error.message).split(separator: "\n", omittingEmptySubsequences: false).map { "  ✗ \($0)" }
        }
        if let retryIn = report.retryIn { block.append("  ↻ retrying in \(Self.format(retryIn))") }
        ConsoleOutput.write(lines: block)
    }

    public func recordSkipped(_ position: RecordPosition, eventId: String, trigger: String) {
        guard showNoFunction else { return }
        ConsoleOutput.write("\(Self.timestamp()) skipped \(eventId) at \(position): no function deployed for \(trigger)")
    }

    public func recordDeadLettered(_ position: RecordPosition, eventId: String?, reason: DeadLetterReason) {
        ConsoleOutput.write("\(Self.timestamp()) dead-lettered \(eventId ?? "-") at \(position): \(reason)")
    }

    public static func format(_ duration: Duration) -> String {
        String(format: "%.1fms", duration.fractionalMilliseconds)
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.time(includingFractionalSeconds: true))
    }
}
