import ChatfnCore
import Foundation
import Logging
import NIOCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The invocations in flight in one worker process: registers them, attributes log lines to them, and
/// completes each exactly once (result, timeout, or the process dying).
final class InvocationTable: Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<InvocationResult, Never>
        var logs = InvocationLogBuffer()
        var emits: [EmittedCommand] = []
        var emitBytes = 0
        /// Set when the invocation sent more than ``WorkerLimits`` allow: it fails with this, whatever it returned.
        var overLimit: String?
        var started: ContinuousClock.Instant
        /// When it times out, once written to the process (``arm(_:timeout:)``), and its timeout.
        var deadline: NIODeadline?
        var timeout: Duration = .zero
        var coldStart: Bool
    }

    private struct State {
        var pending: [String: Pending] = [:]
        var closedReason: String?
        /// Liveness probes sent and not yet answered.
        var probes: Set<String> = []
        var nextProbe = 0
        var started = 0
        /// Output that belongs to no invocation, in the current window.
        var unattributed = UnattributedOutput()
    }

    let pid: Int32
    let ready: EventLoopPromise<Void>
    /// Named in the message of a process that died, since going over it is the likeliest reason.
    private let memoryLimitMb: Int?
    private let logger: Logger
    private let state = Mutex(State())

    /// Performs a function's `context.api` request and answers it.
    private let onPlatformRequest: @Sendable (PlatformRequest) -> Void

    init(pid: Int32, ready: EventLoopPromise<Void>, memoryLimitMb: Int? = nil, logger: Logger,
         onPlatformRequest: @escaping @Sendable (PlatformRequest) -> Void = { _ in }) {
        self.pid = pid
        self.ready = ready
        self.onPlatformRequest = onPlatformRequest
        self.memoryLimitMb = memoryLimitMb
        self.logger = logger
    }

    var inFlight: Int { state.withLock { $0.pending.count } }
    /// Invocations registered over the process's life.
    var started: Int { state.withLock { $0.started } }
    var isOpen: Bool { state.withLock { $0.closedReason == nil } }

    /// Set once the process was reaped: its pid may belong to another process from then on.
    private let exited = Atomic<Bool>(false)

    /// Set when chatfn stops the process (its shutdown): what it leaves unfinished is said to be that,
    /// not a crash of the function's.
    let stopping = Atomic<Bool>(false)

    /// Set when chatfn killed the process for a blocked event loop: its neighbours are told that, not a
    /// crash or the memory limit.
    private let killedUnresponsive = Atomic<Bool>(false)

    /// Results the process sent, late ones included: they prove its event loop turns.
    private let results = Atomic<Int>(0)
    var resultsReceived: Int { results.load(ordering: .relaxed) }

    func killUnresponsive() {
        killedUnresponsive.store(true, ordering: .sequentiallyConsistent)
        killProcess()
    }

    func markExited() {
        exited.store(true, ordering: .sequentiallyConsistent)
    }

    /// Kills the process unless it was reaped already (a broken pipe, a protocol violation, a retired
    /// process that would not exit: none may linger).
    func killProcess() {
        if !exited.load(ordering: .sequentiallyConsistent) { _ = kill(pid, SIGKILL) }
    }

    /// Adds an invocation; false (and the continuation untouched) when the process is gone.
    func register(_ id: String, coldStart: Bool, continuation: CheckedContinuation<InvocationResult, Never>) -> Bool {
        state.withLock { state in
            guard state.closedReason == nil else { return false }
            state.pending[id] = Pending(continuation: continuation, started: .now, coldStart: coldStart)
            state.started += 1
            return true
        }
    }

    /// Starts `id`'s timeout; returns its deadline (nil when it already ended).
    func arm(_ id: String, timeout: Duration) -> NIODeadline? {
        state.withLock { state in
            guard state.pending[id] != nil else { return nil }
            let deadline = NIODeadline.now() + timeout.timeAmount
            state.pending[id]!.deadline = deadline
            state.pending[id]!.timeout = timeout
            return deadline
        }
    }

    /// Ends every invocation past its deadline as timed out; returns how many did, and the next deadline.
    /// One scan per sweep (``WorkerProcess``) instead of a timer per invocation: NIO cancels a
    /// scheduled task by searching its whole queue, which made every result cost as much as the number of
    /// invocations in flight.
    func expire(now: NIODeadline) -> (timedOut: Int, next: NIODeadline?) {
        let (expired, next) = state.withLock { state -> ([(String, Duration)], NIODeadline?) in
            var expired: [(String, Duration)] = []
            var next: NIODeadline?
            for (id, pending) in state.pending {
                guard let deadline = pending.deadline else { continue }
                if deadline <= now { expired.append((id, pending.timeout)) } else { next = min(next ?? deadline, deadline) }
            }
            return (expired, next)
        }
        var timedOut = 0
        for (id, timeout) in expired where finish(id, status: .timeout, error: InvocationError(
            name: "TimeoutError", message: "the function did not finish within \(timeout)")) {
            timedOut += 1
        }
        return (timedOut, next)
    }

    /// Ends invocation `id`; false when it had already ended.
    @discardableResult
    func finish(_ id: String, status: InvocationStatus, value: [UInt8]? = nil, error: InvocationError? = nil) -> Bool {
        guard var pending = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return false }
        var status = status
        var error = error
        var value = value
        if status == .succeeded, let size = value?.count, size > WorkerLimits.maxResultBytes {
            pending.overLimit = pending.overLimit ?? "the function returned \(size) bytes of JSON, above the limit of \(WorkerLimits.maxResultBytes)"
        }
        if let overLimit = pending.overLimit, status == .succeeded {
            (status, error, value) = (.failed, InvocationError(name: "LimitError", message: overLimit), nil)
        }
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

    /// True while probe `id` has not been answered.
    func probePending(_ id: String) -> Bool {
        state.withLock { $0.probes.contains(id) }
    }

    func forgetProbe(_ id: String) {
        _ = state.withLock { $0.probes.remove(id) }
    }

    /// Ends every in-flight invocation as crashed; later registrations are refused.
    func close(reason: String) {
        var reason = reason
        if stopping.load(ordering: .sequentiallyConsistent) {
            reason = "was stopped by chatfn's shutdown before the invocation ended (not committed: the event runs again)"
        } else if killedUnresponsive.load(ordering: .sequentiallyConsistent) {
            reason = "was killed by chatfn: after an invocation timed out, its event loop answered nothing for "
                + "\(WorkerProcess.unresponsiveAfter) (a function that never yields, such as while (true) {})"
        } else if let memoryLimitMb, !reason.hasPrefix("exited with code 0") {
            reason += " (its memory limit is memoryMb \(memoryLimitMb) MiB; a process that goes over it is ended)"
        }
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
            if !attributed { logUnattributed(line, claimedId: id) }
        case .emit(let id, let command):
            state.withLock { state in
                guard var pending = state.pending[id] else { return }
                let typeBytes = command.type.utf8.count
                let keyBytes = command.key?.utf8.count ?? 0
                let bytes = command.data.count + typeBytes + keyBytes
                if pending.overLimit == nil {
                    if pending.emits.count >= WorkerLimits.maxEmits {
                        pending.overLimit = "context.emit: more than \(WorkerLimits.maxEmits) commands"
                    } else if typeBytes > WorkerLimits.maxCommandTypeBytes || keyBytes > WorkerLimits.maxCommandKeyBytes {
                        pending.overLimit = "context.emit: a command's type is limited to \(WorkerLimits.maxCommandTypeBytes) bytes and its key to \(WorkerLimits.maxCommandKeyBytes)"
                    } else if command.data.count > WorkerLimits.maxCommandBytes || pending.emitBytes + bytes > WorkerLimits.maxEmitBytes {
                        pending.overLimit = "context.emit: commands above \(WorkerLimits.maxCommandBytes / 1024) KiB each or "
                            + "\(WorkerLimits.maxEmitBytes / 1024) KiB per invocation"
                    } else {
                        pending.emitBytes += bytes
                        pending.emits.append(command)
                    }
                }
                state.pending[id] = pending
            }
        case .result(let id, let status, let error, let value):
            results.add(1, ordering: .relaxed)
            finish(id, status: status, value: value, error: error)
        case .pong(let probeId):
            _ = state.withLock { $0.probes.remove(probeId) }
        case .apiRequest(let id, let request):
            // Only on behalf of an invocation that is running.
            guard state.withLock({ $0.pending[id] != nil }) else { return }
            onPlatformRequest(request)
        }
    }

    /// Output after a function returned (a timer it left behind, say) belongs to nobody: it is logged
    /// as the worker's, escaped, and bounded per window so that a chatty leftover cannot flood chatfn's log.
    private func logUnattributed(_ line: InvocationLogLine, claimedId: String?) {
        let (keep, dropped) = state.withLock { $0.unattributed.admit(now: .now) }
        if dropped > 0 {
            logger.warning("worker \(pid): \(dropped) line(s) of output after their function returned were dropped")
        }
        guard keep else { return }
        logger.info("\(line.message.escapingControlCharacters(keepingNewlines: false))",
                    metadata: ["worker": "\(pid)", "invocation": "\(claimedId?.escapingControlCharacters(keepingNewlines: false) ?? "-")"])
    }
}

/// A fixed-window bound on output that belongs to no invocation.
struct UnattributedOutput {
    private var windowStart: ContinuousClock.Instant?
    private var lines = 0
    private var dropped = 0

    /// Whether a line arriving `now` is logged, and how many were dropped in the window that just ended.
    mutating func admit(now: ContinuousClock.Instant) -> (keep: Bool, droppedBefore: Int) {
        var droppedBefore = 0
        if windowStart.map({ now - $0 >= WorkerLimits.unattributedWindow }) ?? true {
            droppedBefore = dropped
            (windowStart, lines, dropped) = (now, 0, 0)
        }
        guard lines < WorkerLimits.maxUnattributedLines else {
            dropped += 1
            return (false, droppedBefore)
        }
        lines += 1
        return (true, droppedBefore)
    }
}
