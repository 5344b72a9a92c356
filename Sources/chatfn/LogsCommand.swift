import Registry
import ControlPlane
import ArgumentParser
import ChatfnCore
import Foundation

/// `chatfn logs`: an application's recent invocations with their console output, newest last; with
/// `--follow`, new ones as they come.
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show recent invocations and their console output (newest last).",
        discussion: "One line per invocation (time, trigger, event id, status, duration, version, attempt), followed by what the function printed.")

    @OptionGroup var apiOptions: APIOptions

    @Option(name: .long, help: "Only this function's invocations.")
    var trigger: String?

    @Option(name: .long, help: "How many recent invocations to show first (1-\(Self.capacity)).")
    var limit = 50

    @Flag(name: [.short, .long], help: "Keep polling (every second) and show new invocations until Ctrl-C.")
    var follow = false

    /// The most invocations the API answers with (per function it keeps that many).
    static let capacity = 200

    func validate() throws {
        guard (1...Self.capacity).contains(limit) else { throw ValidationError("--limit must be between 1 and \(Self.capacity)") }
    }

    func run() async throws {
        let client = try apiOptions.client()
        let app = apiOptions.application()
        // Following, each poll asks for all the API keeps, so that a burst between two polls is not missed;
        // only the newest `limit` of the first answer are shown.
        let first = try await fetch(client, app: app, limit: follow ? Self.capacity : limit)
        let shown = first.suffix(limit)
        if !shown.isEmpty {
            ConsoleOutput.write(lines: shown.flatMap(Self.lines))
        } else if !follow {
            ConsoleOutput.write("no invocations\(trigger.map { " of \($0.escapingControlCharacters())" } ?? "") in \(app.escapingControlCharacters()) yet")
        }
        guard follow else { return }
        var seen = Swift.Set(first.map(\.invocationId))
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(1))
            let recent: [InvocationLog.Entry]
            do {
                recent = try await fetch(client, app: app, limit: Self.capacity)
            } catch let failure as APIFailure where failure.status == nil || failure.status.map({ $0 >= 500 }) == true {
                FileHandle.standardError.write(Data("chatfn logs: \(failure) (retrying)\n".utf8))
                continue
            }
            let new = recent.filter { !seen.contains($0.invocationId) }
            if !new.isEmpty { ConsoleOutput.write(lines: new.flatMap(Self.lines)) }
            // What left the API's window never comes back: remembering the window is enough.
            seen = Swift.Set(recent.map(\.invocationId))
        }
    }

    /// Oldest first.
    private func fetch(_ client: APIClient, app: String, limit: Int) async throws -> [InvocationLog.Entry] {
        let path = trigger.map { APIClient.functionPath(app, $0, "/invocations") } ?? APIClient.applicationPath(app, "/invocations")
        let newestFirst = try await client.get("\(path)?limit=\(limit)", as: [InvocationLog.Entry].self)
        return newestFirst.sorted { ($0.createdTime, $0.invocationId) < ($1.createdTime, $1.invocationId) }
    }

    /// An invocation's line, then what it printed (`│`) and its error (`✗`), control characters escaped:
    /// a function's output cannot forge a line of chatfn's.
    static func lines(_ invocation: InvocationLog.Entry) -> [String] {
        var line = [
            APIModels.time(invocation.createdTime, fractional: true), invocation.trigger.escapingControlCharacters(),
            invocation.eventId.escapingControlCharacters(), invocation.status.escapingControlCharacters(),
            String(format: "%.1fms", invocation.durationMs),
            "version=\(invocation.versionNumber.map(String.init) ?? "-")", "attempt=\(invocation.attempt)",
        ].joined(separator: " ")
        if invocation.coldStart == true { line += " cold" }
        var block = [line]
        for log in invocation.logs {
            // Logs come as "[level] text"; info is the plain console.log.
            let text = log.hasPrefix("[info] ") ? String(log.dropFirst(7)) : log
            block += text.split(separator: "\n", omittingEmptySubsequences: false).map { "  │ \(String($0).escapingControlCharacters())" }
        }
        if let error = invocation.error {
            let text = error.stack ?? [error.name, error.message].compactMap { $0 }.joined(separator: ": ")
            block += text.split(separator: "\n", omittingEmptySubsequences: false).map { "  ✗ \(String($0).escapingControlCharacters())" }
        }
        return block
    }
}
