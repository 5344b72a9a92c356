import ChatfnCore
import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// SIGTERM or SIGINT that comes while chatfn is still starting (connecting, reading the registry), before
/// its service group handles them: noted instead of ending the process mid-start, so that chatfn stops
/// cleanly (exit 0) as soon as it can. Kubernetes sends SIGTERM whenever it likes.
final class StartupSignals: Sendable {
    let received = StopSignal()
    /// Kept for the process's life; a signal source is only read on its queue.
    private nonisolated(unsafe) let sources: [any DispatchSourceSignal]

    init() {
        let received = received
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)  // delivered to the source, not the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { received.stop() }
            source.resume()
            return source
        }
    }

    /// Ends the process `bound` after the first signal, whatever is still running: the last resort that
    /// keeps a shutdown within what an orchestrator allows (a commit or a group leave that waits on a
    /// broker gone away). Workers die with chatfn; records not committed run again on their next owner.
    func exitAtLatest(_ bound: Duration, logger: Logger) {
        let received = received
        Task.detached {
            await received.waitUntilStopped()
            let watchdog = Thread {
                Thread.sleep(forTimeInterval: bound.fractionalSeconds)
                logger.critical("shutdown took longer than \(bound): exiting now; what was not committed runs again on its next owner")
                _exit(1)
            }
            watchdog.name = "chatfn-shutdown-watchdog"
            watchdog.start()
        }
    }

    /// Runs `group`; a signal that came before, or comes meanwhile, shuts it down gracefully.
    func run(_ group: ServiceGroup) async throws {
        guard !received.isStopped else { return }
        let forwarding = Task {
            await received.waitUntilStopped()
            if received.isStopped { await group.triggerGracefulShutdown() }
        }
        defer { forwarding.cancel() }
        try await group.run()
    }
}
