import ChatfnCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One Node.js process running the harness, serving many concurrent invocations over its pipes.
package final class WorkerProcess: Sendable {
    package let pid: Int32
    private let channel: any Channel
    private let table: InvocationTable
    private let exit: EventLoopPromise<ExitStatus>
    private let logger: Logger
    /// Callers that picked this process and have not had their result yet, and whether it is retired:
    /// a retired process's request pipe closes once no caller uses it.
    private let users = Mutex<(count: Int, retired: Bool)>((0, false))
    /// Why chatfn ended this process, when it did (the first reason given wins): see ``ExitReason``.
    private let ending = Mutex<ExitReason?>(nil)
    /// Invocations on their way to the request pipe.
    private let outbox = RequestOutbox()
    /// The one scheduled sweep of timed-out invocations, and when it runs (touched on the event loop).
    private let sweep = Mutex<(at: NIODeadline, task: Scheduled<Void>)?>(nil)

    /// Why a worker process ended.
    package enum ExitReason: String, Sendable {
        /// Its pool stopped (chatfn's shutdown, an idle application): not a restart.
        case shutdown
        /// It ran `recycleAfter` invocations.
        case recycled
        /// Its application's runtime (environment, dependencies, init script, secrets) changed.
        case runtimeChanged = "runtime_changed"
        /// Its event loop was blocked after a timeout, so chatfn killed it.
        case unresponsive
        /// It died by itself (a crash, its memory limit, a signal).
        case crashed
    }

    private init(pid: Int32, channel: any Channel, table: InvocationTable, exit: EventLoopPromise<ExitStatus>, logger: Logger) {
        self.pid = pid
        self.logger = logger
        self.channel = channel
        self.table = table
        self.exit = exit
    }

    /// Starts a worker and waits until its harness reports ready. A pool passes its lane's loop
    /// (`LaneThreads`); a worker outside any lane (`chatfn test`) is on the shared loops.
    package static func launch(configuration: WorkerConfiguration, eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
                               logger: Logger) async throws -> WorkerProcess {
        let scratch = try ScratchDirectory.create()
        let commandLine = configuration.commandLine(scratch: scratch)
        let child: ChildProcess
        do {
            child = try await ChildProcess.spawn(
                executable: commandLine[0], arguments: Array(commandLine.dropFirst()), environment: configuration.environment(scratch: scratch))
        } catch {
            scratch.remove()
            throw error
        }
        let platform = configuration.platform.flatMap(PlatformClient.init)
        let answers = PlatformAnswers()
        let table = InvocationTable(pid: child.pid, ready: eventLoop.makePromise(), memoryLimitMb: configuration.memoryLimitMb, logger: logger) { request in
            guard answers.begin() else {
                answers.send(PlatformResponse(pathname: "", attempts: 0, body: [],
                                              error: "more than \(PlatformAnswers.maxInFlight) calls in flight in this process"), to: request)
                return
            }
            Task {
                answers.send(await Self.answer(request, with: platform), to: request)
                answers.end()
            }
        }
        let exit = eventLoop.makePromise(of: ExitStatus.self)
        ChildProcess.awaitExit(of: child.pid) { status in
            table.markExited()
            scratch.remove()
            table.close(reason: status.description)
            exit.succeed(status)
        }
        let channel: any Channel
        do {
            channel = try await NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(WireFrameDecoder()), WorkerChannelHandler(table: table))
                    }
                }
                .takingOwnershipOfDescriptors(input: child.replyFD, output: child.requestFD)
                .get()
            _ = try await NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(WorkerOutputHandler(table: table)) }
                }
                .takingOwnershipOfDescriptor(input: child.outputFD)
                .get()
        } catch {
            kill(child.pid, SIGKILL)
            throw WorkerError.launchFailed("could not attach to the worker's pipes: \(error)")
        }
        let worker = WorkerProcess(pid: child.pid, channel: channel, table: table, exit: exit, logger: logger)
        answers.attach(channel)
        worker.configure(configuration)
        let startTimeout = eventLoop.scheduleTask(in: configuration.startTimeout.timeAmount) {
            table.ready.fail(WorkerError.launchFailed("worker \(child.pid) was not ready within \(configuration.startTimeout)"))
        }
        do {
            try await table.ready.futureResult.get()
            startTimeout.cancel()
        } catch {
            kill(child.pid, SIGKILL)
            channel.close(promise: nil)
            throw error
        }
        logger.debug("worker started", metadata: ["worker": "\(child.pid)"])
        return worker
    }

    /// The first frame: the limits the harness applies.
    private func configure(_ configuration: WorkerConfiguration) {
        var header = JSONWriter(capacity: 256)
        if let memoryLimitMb = configuration.memoryLimitMb { header.field("memoryMb", memoryLimitMb) }
        for (name, value) in WorkerLimits.forHarness { header.field(name, value) }
        if !configuration.secrets.isEmpty {
            var secrets = JSONWriter(capacity: 128)
            for (name, value) in configuration.secrets.sorted(by: { $0.key < $1.key }) { secrets.field(name, value) }
            header.field("secrets", json: secrets.finish())
        }
        var frame = channel.allocator.buffer(capacity: 512)
        WireFrame.writeRequest(.configure, header: header.finish(), into: &frame)
        channel.writeAndFlush(frame, promise: nil)
    }

    private static func answer(_ request: PlatformRequest, with platform: PlatformClient?) async -> PlatformResponse {
        guard let platform else {
            return PlatformResponse(pathname: "", attempts: 0, body: [], error: "no chat platform configured (runtime.platform.baseUrl in chatfn.json)")
        }
        return await platform.send(request)
    }

    /// Invocations sent and not yet ended.
    package var inFlight: Int { table.inFlight }

    /// Invocations this process was given over its life.
    package var invocationsStarted: Int { table.started }

    /// Takes no new work: once the callers that picked it (``beginUse()``) have their results, its
    /// request pipe closes and the harness exits, or is killed ``retireGrace`` later (an invocation that
    /// timed out here may never end there).
    package func retire(_ reason: ExitReason) {
        ending.withLock { $0 = $0 ?? reason }
        let idle = users.withLock { users in
            users.retired = true
            return users.count == 0
        }
        if idle { closeRetired() }
    }

    static let retireGrace: Duration = .seconds(10)

    private func closeRetired() {
        channel.close(mode: .output, promise: nil)
        let table = table
        channel.eventLoop.scheduleTask(in: Self.retireGrace.timeAmount) { table.killProcess() }
    }

    /// A caller picked this process (under its pool's lock, so never after ``retire()``).
    func beginUse() {
        users.withLock { $0.count += 1 }
    }

    /// That caller has its result.
    func endUse() {
        let closeNow = users.withLock { users in
            users.count -= 1
            return users.retired && users.count == 0
        }
        if closeNow { closeRetired() }
    }

    /// Calls `body` once the process has exited, with why.
    package func whenExited(_ body: @escaping @Sendable (ExitReason) -> Void) {
        exit.futureResult.whenComplete { [self] _ in body(ending.withLock { $0 } ?? .crashed) }
    }

    /// False once the process died or its pipes closed.
    package var isAlive: Bool { table.isOpen }

    /// Runs one invocation. Never throws: every failure is an ``InvocationStatus``.
    package func invoke(_ request: InvocationRequest, coldStart: Bool = false) async -> InvocationResult {
        let deadline = EpochMilliseconds.now().addingSaturated(request.timeout.wholeMilliseconds)
        var header = JSONWriter(capacity: 320)
        header.field("id", request.invocationId)
        header.field("file", request.functionFile)
        header.field("version", request.functionVersion)
        header.field("trigger", request.trigger)
        header.field("eventId", request.eventId)
        header.field("appId", request.appId)
        header.field("source", request.source)
        header.field("time", request.time)
        header.field("attempt", request.attempt)
        header.field("deadline", deadline)
        header.field("mode", request.encoding.rawValue)
        header.field("init", request.initScript)
        header.field("initVersion", request.initScriptVersion)
        if !request.allowsEmit { header.field("emit", false) }
        if let traceparent = request.traceparent { header.field("traceparent", traceparent) }
        let headerBytes = header.finish()
        var frame = channel.allocator.buffer(capacity: 9 + headerBytes.count + request.payload.count)
        WireFrame.writeRequest(.invoke, header: headerBytes, payload: request.payload, into: &frame)
        let id = request.invocationId
        return await withCheckedContinuation { continuation in
            guard table.register(id, coldStart: coldStart, continuation: continuation) else {
                continuation.resume(returning: InvocationResult(
                    invocationId: id, status: .crashed, error: .workerCrashed("worker process \(pid) is gone"),
                    coldStart: coldStart, workerPid: pid))
                return
            }
            if outbox.add(OutgoingInvocation(id: id, timeout: request.timeout, frame: frame)) {
                channel.eventLoop.execute { [self] in writeOutbox() }
            }
        }
    }

    /// On the event loop: writes the invocations queued since the last turn, arms their timeouts, and
    /// flushes once.
    private func writeOutbox() {
        let batch = outbox.take()
        guard let last = batch.last else { return }
        let table = table
        var earliest: NIODeadline?
        for (index, invocation) in batch.enumerated() {
            if let deadline = table.arm(invocation.id, timeout: invocation.timeout) { earliest = min(earliest ?? deadline, deadline) }
            if index < batch.count - 1 { channel.write(invocation.frame, promise: nil) }
        }
        if let earliest { sweepTimeouts(at: earliest) }
        // Writes to a pipe fail together (it closed): the last one's failure ends the whole batch.
        channel.writeAndFlush(last.frame).whenFailure { error in
            for invocation in batch {
                table.finish(invocation.id, status: .crashed, error: .workerCrashed("could not send to worker: \(error)"))
            }
        }
    }

    /// On the event loop: makes sure a sweep of the timeouts runs at `deadline` or before. One sweep is
    /// scheduled at a time, at the earliest deadline in flight.
    private func sweepTimeouts(at deadline: NIODeadline) {
        let replaced = sweep.withLock { current -> Scheduled<Void>? in
            if let scheduled = current, scheduled.at <= deadline { return nil }
            let previous = current?.task
            current = (deadline, channel.eventLoop.scheduleTask(deadline: deadline) { [self] in
                sweep.withLock { $0 = nil }
                let (timedOut, next) = table.expire(now: .now())
                if let next { sweepTimeouts(at: next) }
                if timedOut > 0 { probeEventLoop() }
            })
            return previous
        }
        replaced?.cancel()
    }

    /// How long a process may answer nothing (no result, no probe answer) after a timeout before chatfn
    /// takes its event loop for blocked.
    static let unresponsiveAfter: Duration = .seconds(1)

    /// After a timeout: a worker whose event loop answers nothing for ``unresponsiveAfter`` is blocked
    /// (say, `while (true) {}`) and is killed, so its other invocations end as crashed and the pool
    /// replaces it, instead of every later invocation on it timing out too. A process that keeps sending
    /// results is busy, not blocked (a burst of CPU-bound invocations): it is watched again, not killed.
    private func probeEventLoop() {
        let probe = table.newProbe()
        var frame = channel.allocator.buffer(capacity: 64)
        var header = JSONWriter(capacity: 32)
        header.field("id", probe)
        WireFrame.writeRequest(.ping, header: header.finish(), into: &frame)
        channel.writeAndFlush(frame, promise: nil)
        watch(probe, resultsBefore: table.resultsReceived)
    }

    private func watch(_ probe: String, resultsBefore: Int) {
        let table = table
        channel.eventLoop.scheduleTask(in: Self.unresponsiveAfter.timeAmount) { [self] in
            guard table.probePending(probe) else { return }
            let results = table.resultsReceived
            if results != resultsBefore, table.isOpen { return watch(probe, resultsBefore: results) }
            table.forgetProbe(probe)
            guard table.isOpen else { return }
            logger.warning("worker \(pid) answered nothing for \(Self.unresponsiveAfter) after a timeout: its event loop is blocked; killing it")
            ending.withLock { $0 = $0 ?? .unresponsive }
            table.killUnresponsive()
        }
    }

    /// Closes the request pipe so the harness finishes its in-flight invocations and exits; kills the
    /// process when it has not exited after `grace`.
    package func shutdown(grace: Duration = .seconds(5)) async {
        ending.withLock { $0 = $0 ?? .shutdown }
        table.stopping.store(true, ordering: .sequentiallyConsistent)
        try? await channel.close(mode: .output)
        let killer = channel.eventLoop.scheduleTask(in: grace.timeAmount) { [pid] in _ = kill(pid, SIGKILL) }
        _ = try? await exit.futureResult.get()
        killer.cancel()
        try? await channel.close()
    }

    /// Kills the process at once; its in-flight invocations end as crashed.
    package func sendSignal(_ signal: Int32 = SIGKILL) {
        _ = kill(pid, signal)
    }
}

extension Duration {
    /// NIO's time amount, clamped (NIO schedules in signed 64-bit nanoseconds).
    var timeAmount: TimeAmount { .nanoseconds(wholeNanoseconds) }
}

/// Writes the answers to a worker's `context.api` requests on its request pipe, once attached.
private final class PlatformAnswers: Sendable {
    /// `context.api` calls one worker process may have chatfn make at once: a function cannot move
    /// unbounded work (and memory) into chatfn.
    static let maxInFlight = 32

    private let channel = Mutex<(any Channel)?>(nil)
    private let inFlight = Mutex(0)

    func begin() -> Bool {
        inFlight.withLock { count in
            guard count < Self.maxInFlight else { return false }
            count += 1
            return true
        }
    }

    func end() {
        inFlight.withLock { $0 -= 1 }
    }

    func attach(_ channel: any Channel) {
        self.channel.withLock { $0 = channel }
    }

    func send(_ response: PlatformResponse, to request: PlatformRequest) {
        guard let channel = self.channel.withLock({ $0 }) else { return }
        var header = JSONWriter(capacity: 128)
        header.field("request", Int(request.number))
        if let status = response.status { header.field("status", status) }
        header.field("pathname", response.pathname)
        header.field("attempts", response.attempts)
        header.field("error", response.error)
        if response.invalid { header.field("invalid", true) }
        var frame = channel.allocator.buffer(capacity: 64 + response.body.count)
        WireFrame.writeRequest(.apiResponse, header: header.finish(), payload: response.body, into: &frame)
        channel.writeAndFlush(frame, promise: nil)
    }
}
