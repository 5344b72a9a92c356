import Foundation
import Logging
import NIOCore
import Synchronization

/// The invocations in flight in one worker process: registers them, attributes log lines to them, and
/// completes each exactly once (result, timeout, or the process dying).
final class InvocationTable: Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<InvocationResult, Never>
        var logs = InvocationLogBuffer()
        var emits: [EmittedCommand] = []
        var started: ContinuousClock.Instant
        var timeout: Scheduled<Void>?
        var coldStart: Bool
    }

    private struct State {
        var pending: [String: Pending] = [:]
        var closedReason: String?
        /// Liveness probes sent and not yet answered.
        var probes: Set<String> = []
        var nextProbe = 0
        var started = 0
    }

    let pid: Int32
    let ready: EventLoopPromise<Void>
    private let logger: Logger
    private let state = Mutex(State())

    init(pid: Int32, ready: EventLoopPromise<Void>, logger: Logger) {
        self.pid = pid
        self.ready = ready
        self.logger = logger
    }

    var inFlight: Int { state.withLock { $0.pending.count } }
    /// Invocations registered over the process's life.
    var started: Int { state.withLock { $0.started } }
    var isOpen: Bool { state.withLock { $0.closedReason == nil } }

    /// Adds an invocation; false (and the continuation untouched) when the process is gone.
    func register(_ id: String, coldStart: Bool, continuation: CheckedContinuation<InvocationResult, Never>) -> Bool {
        state.withLock { state in
            guard state.closedReason == nil else { return false }
            state.pending[id] = Pending(continuation: continuation, started: .now, coldStart: coldStart)
            state.started += 1
            return true
        }
    }

    func attachTimeout(_ id: String, _ timeout: Scheduled<Void>) {
        let attached = state.withLock { state in
            guard state.pending[id] != nil else { return false }
            state.pending[id]!.timeout = timeout
            return true
        }
        if !attached { timeout.cancel() }
    }

    /// Ends invocation `id`; false when it had already ended.
    @discardableResult
    func finish(_ id: String, status: InvocationStatus, value: [UInt8]? = nil, error: InvocationError? = nil) -> Bool {
        guard let pending = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return false }
        pending.timeout?.cancel()
        pending.continuation.resume(returning: InvocationResult(
            invocationId: id, status: status, value: value, error: error, logs: pending.logs.finished, emits: pending.emits,
            duration: ContinuousClock.now - pending.started, coldStart: pending.coldStart, workerPid: pid))
        return true
    }

    /// Registers a liveness probe and returns its id.
    func newProbe() -> String {
        state.withLock { state in
            state.nextProbe += 1
            let id = "probe-\(state.nextProbe)"
            state.probes.insert(id)
            return id
        }
    }

    /// True when probe `id` was never answered (and forgets it).
    func probeUnanswered(_ id: String) -> Bool {
        state.withLock { $0.probes.remove(id) != nil }
    }

    /// Ends every in-flight invocation as crashed; later registrations are refused.
    func close(reason: String) {
        let orphans = state.withLock { state -> [String] in
            if state.closedReason == nil { state.closedReason = reason }
            return Array(state.pending.keys)
        }
        ready.fail(WorkerError.launchFailed("worker \(pid) \(reason) before it was ready"))
        for id in orphans {
            finish(id, status: .crashed, error: .workerCrashed("worker process \(pid) \(reason)"))
        }
    }

    func receive(_ message: WorkerMessage) {
        switch message {
        case .ready:
            ready.succeed(())
        case .log(let id, let line):
            let attributed = id.map { id in
                state.withLock { state in
                    guard state.pending[id] != nil else { return false }
                    state.pending[id]!.logs.append(line)
                    return true
                }
            } ?? false
            if !attributed {
                logger.info("\(line.message)", metadata: ["worker": "\(pid)", "invocation": "\(id ?? "-")"])
            }
        case .emit(let id, let command):
            state.withLock { state in state.pending[id]?.emits.append(command) }
        case .result(let id, let status, let error, let value):
            finish(id, status: status, value: value, error: error)
        case .pong(let probeId):
            _ = state.withLock { $0.probes.remove(probeId) }
        }
    }
}
