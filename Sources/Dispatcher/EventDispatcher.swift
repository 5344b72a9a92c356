import EventConsumer
import Foundation
import Logging
import Workers

/// Routes a consumed record to its application's function and runs it on a worker.
///
/// Only the CloudEvent attributes are decoded here; the event data goes to the worker as the bytes it
/// arrived as.
public final class EventDispatcher: Sendable {
    public let appId: String
    private let catalog: FunctionCatalog
    private let pool: WorkerPool
    private let reporter: any InvocationReporter
    private let timeout: Duration

    public init(appId: String = CloudEventAttributes.defaultAppId, catalog: FunctionCatalog, pool: WorkerPool,
                reporter: any InvocationReporter, timeout: Duration = .seconds(30)) {
        self.appId = appId
        self.catalog = catalog
        self.pool = pool
        self.reporter = reporter
        self.timeout = timeout
    }

    /// Runs the function for `record`, if any; returns when the record is done with (run, or skipped
    /// with a reason), so its offset may be committed.
    public func process(_ record: KafkaRecord) async {
        let attributes: CloudEventAttributes
        let mode: CloudEventContentMode
        do {
            (attributes, mode) = try CloudEventKafkaBinding.decode(record)
        } catch {
            reporter.recordSkipped(record.position, eventId: nil, reason: .malformed(error.reason))
            return
        }
        guard attributes.appId == appId else {
            reporter.recordSkipped(record.position, eventId: attributes.id, reason: .unknownApplication(attributes.appId))
            return
        }
        guard let function = catalog.function(for: attributes.type) else {
            reporter.recordSkipped(record.position, eventId: attributes.id, reason: .noFunction(trigger: attributes.type))
            return
        }
        let request = InvocationRequest(
            invocationId: UUID().uuidString.lowercased(), functionFile: function.file, functionVersion: function.version,
            trigger: attributes.type, eventId: attributes.id, appId: attributes.appId, source: attributes.source,
            time: attributes.time, attempt: 1, timeout: timeout,
            encoding: mode == .structured ? .structured : .binary, payload: record.value)
        let result = await pool.invoke(request)
        reporter.invocationFinished(InvocationReport(attributes: attributes, function: function, position: record.position, result: result))
    }
}
