import Foundation
import KafkaClient
import Testing

/// The CLI over the control plane's API, as users run it: `chatfn deploy`, `versions`, `rollback`,
/// `secrets` and `logs` (the real executable) against `chatfn control` on an embedded broker, with a
/// `chatfn run` worker serving the registry where events must run.
@Suite("Control CLI: deploy, versions, rollback, secrets, logs", .serialized)
struct ControlCLITests {
    static let trigger = "user.received.notification"
    static let typescriptTrigger = "user.sent.message"

    @Test("deploy twice creates versions only the first time; a changed file makes one version; a TypeScript compile error names file:line:column; rollback; prune")
    func deployVersionsRollback() async throws {
        let plane = try await CLIControlPlane.start()
        defer { plane.stop() }
        let fixture = try FunctionsFixture(
            functions: [Self.trigger: "async function handleEvent(event, context) { console.log('v1'); }"],
            environment: ["GREETING": "hello"], settings: [Self.trigger: ["timeoutMs": 5_000, "maxAttempts": 2]],
            initScript: "module.exports = { ready: true };")
        defer { fixture.remove() }
        let typescriptFile = fixture.root.appendingPathComponent("functions/\(Self.typescriptTrigger).ts")
        let typescript = "export async function handleEvent(event: { text: string }): Promise<number> {\n  return event.text.length;\n}\n"
        try Data(typescript.utf8).write(to: typescriptFile)
        let deploy = ["deploy", fixture.root.path, "--app", "cli-a", "--api", plane.url]

        let first = try await plane.cli(deploy)
        #expect(first.status == 0, "\(first.output)")
        for line in ["created application cli-a", "updated environment variables", "updated initialization script",
                     "updated settings of \(Self.trigger)", "deployed \(Self.trigger) version 1", "deployed \(Self.typescriptTrigger) version 1"] {
            #expect(first.output.contains(line), "missing \(line) in: \(first.output)")
        }

        // The same directory again: nothing is written.
        let second = try await plane.cli(deploy)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("unchanged"), "\(second.output)")
        #expect(!second.output.contains("deployed") && !second.output.contains("updated"), "\(second.output)")
        let afterTwo = try await plane.cli(["versions", Self.trigger, "--app", "cli-a", "--api", plane.url])
        #expect(afterTwo.status == 0, "\(afterTwo.output)")
        #expect(Self.versionRows(afterTwo.output).map(\.number) == [1], "\(afterTwo.output)")
        #expect(Self.versionRows(afterTwo.output).first?.line.contains("(current)") == true)
        #expect(Self.versionRows(afterTwo.output).first?.line.contains("anonymous") == true, "loopback without a token: \(afterTwo.output)")
        let typescriptVersions = try await plane.cli(["versions", Self.typescriptTrigger, "--app", "cli-a", "--api", plane.url])
        #expect(Self.versionRows(typescriptVersions.output).map(\.number) == [1], "\(typescriptVersions.output)")

        // One changed file: exactly one new version, of that function only.
        try fixture.write(trigger: Self.trigger, source: "async function handleEvent(event, context) { console.log('v2'); }")
        let changed = try await plane.cli(deploy)
        #expect(changed.status == 0, "\(changed.output)")
        #expect(changed.output.contains("deployed \(Self.trigger) version 2"), "\(changed.output)")
        #expect(!changed.output.contains("deployed \(Self.typescriptTrigger)") && !changed.output.contains("updated"), "\(changed.output)")
        let afterChange = try await plane.cli(["versions", Self.trigger, "--app", "cli-a", "--api", plane.url])
        #expect(Self.versionRows(afterChange.output).map(\.number) == [1, 2], "\(afterChange.output)")
        #expect(Self.versionRows(afterChange.output).last?.line.contains("(current)") == true, "\(afterChange.output)")
        #expect(Self.versionRows(afterChange.output).first?.line.contains("(current)") == false, "\(afterChange.output)")

        // A TypeScript file that does not compile: named as the user knows it, at its line and column; nothing
        // saved of it, while the other changed file is deployed.
        try fixture.write(trigger: Self.trigger, source: "async function handleEvent(event, context) { console.log('v3'); }")
        try Data("export async function handleEvent(event: { text: string }) {\n  const size: number = event.text.length;\n  return size +;\n}\n".utf8)
            .write(to: typescriptFile)
        let broken = try await plane.cli(deploy)
        #expect(broken.status != 0)
        #expect(broken.output.contains("functions/\(Self.typescriptTrigger).ts:3:"), "\(broken.output)")
        #expect(broken.output.contains("deployed \(Self.trigger) version 3"), "\(broken.output)")
        let afterBroken = try await plane.cli(["versions", Self.typescriptTrigger, "--app", "cli-a", "--api", plane.url])
        #expect(Self.versionRows(afterBroken.output).map(\.number) == [1], "\(afterBroken.output)")
        try Data(typescript.utf8).write(to: typescriptFile)

        // Rollback: a new version with version 1's code.
        let rollback = try await plane.cli(["rollback", Self.trigger, "1", "--app", "cli-a", "--api", plane.url])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(rollback.output.contains("deployed version 4"), "\(rollback.output)")
        let afterRollback = try await plane.cli(["versions", Self.trigger, "--app", "cli-a", "--api", plane.url])
        let rows = Self.versionRows(afterRollback.output)
        #expect(rows.map(\.number) == [1, 2, 3, 4], "\(afterRollback.output)")
        #expect(rows.last?.line.contains("(current)") == true && rows.last?.line.contains("rollback of 1") == true, "\(afterRollback.output)")
        #expect(rows.count == 4 && rows[0].line.split(separator: " ")[2] == rows[3].line.split(separator: " ")[2],
                "the rollback carries version 1's code (same checksum): \(afterRollback.output)")
        let missing = try await plane.cli(["rollback", Self.trigger, "9", "--app", "cli-a", "--api", plane.url])
        #expect(missing.status != 0 && missing.output.contains("no version 9"), "\(missing.output)")

        // The directory is the source of truth: deploying it again brings back its file (version 3's code).
        let redeploy = try await plane.cli(deploy)
        #expect(redeploy.output.contains("deployed \(Self.trigger) version 5") && !redeploy.output.contains(Self.typescriptTrigger),
                "\(redeploy.output)")

        // A function whose file is gone stays deployed unless --prune.
        try FileManager.default.removeItem(at: typescriptFile)
        let kept = try await plane.cli(deploy)
        #expect(kept.status == 0 && kept.output.contains("\(Self.typescriptTrigger) is deployed but has no file"), "\(kept.output)")
        let pruned = try await plane.cli(deploy + ["--prune"])
        #expect(pruned.output.contains("undeployed \(Self.typescriptTrigger)"), "\(pruned.output)")
        let afterPrune = try await plane.cli(["versions", Self.typescriptTrigger, "--app", "cli-a", "--api", plane.url])
        #expect(!afterPrune.output.contains("(current)") && afterPrune.output.contains("is not deployed"), "\(afterPrune.output)")
        #expect(try await plane.cli(deploy + ["--prune"]).output.contains("unchanged"))

        // A bad chatfn.json: its problem, and nothing pushed.
        try Data(#"{"functions": {"x": {"timeoutMs": -1}}}"#.utf8).write(to: fixture.root.appendingPathComponent("chatfn.json"))
        let invalid = try await plane.cli(deploy)
        #expect(invalid.status != 0 && invalid.output.contains("timeoutMs"), "\(invalid.output)")

        // Where the API is: --api, else CHATFN_API_URL, else chatfn dev's file, else a clear error.
        let fromEnvironment = try await plane.cli(["versions", Self.trigger, "--app", "cli-a"], environment: ["CHATFN_API_URL": plane.url])
        #expect(Self.versionRows(fromEnvironment.output).count == 5, "\(fromEnvironment.output)")
        let noAPI = try await plane.cli(["versions", Self.trigger])
        #expect(noAPI.status != 0 && noAPI.output.contains("chatfn dev") && noAPI.output.contains("--api"), "\(noAPI.output)")
        try Data(plane.url.utf8).write(to: plane.home.appendingPathComponent("dev-api"))
        let fromDev = try await plane.cli(["versions", Self.trigger, "--app", "cli-a"])
        #expect(Self.versionRows(fromDev.output).count == 5, "\(fromDev.output)")
        let unreachable = try await plane.cli(["versions", Self.trigger, "--api", "http://127.0.0.1:\(try await freeLocalPort())"])
        #expect(unreachable.status != 0 && unreachable.output.contains("cannot reach the control plane at"), "\(unreachable.output)")
    }

    @Test("secrets set/list/delete never print the value and reach the function; logs shows its console line, and --follow the next one")
    func secretsAndLogs() async throws {
        let plane = try await CLIControlPlane.start()
        defer { plane.stop() }
        let worker = try await plane.startWorker()
        defer { worker.signal(SIGTERM) }
        let secret = "s3cret-from-stdin-8251"
        let fixture = try FunctionsFixture(functions: [
            Self.trigger: "async function handleEvent(event, context) { console.log(`hello ${event.name}, key of ${(context.secrets.API_KEY || '').length} chars`); }",
        ])
        defer { fixture.remove() }
        let api = ["--app", "cli-logs", "--api", plane.url]
        #expect(try await plane.cli(["deploy", fixture.root.path] + api).output.contains("deployed \(Self.trigger) version 1"))

        let fromStdin = try await plane.cli(["secrets", "set", "API_KEY"] + api, stdin: secret + "\n")
        #expect(fromStdin.status == 0 && fromStdin.output.contains("API_KEY"), "\(fromStdin.output)")
        let fromOption = try await plane.cli(["secrets", "set", "OTHER", "--value", "other-value-1234"] + api)
        #expect(fromOption.status == 0, "\(fromOption.output)")
        let listed = try await plane.cli(["secrets", "list"] + api)
        #expect(listed.status == 0 && listed.output.contains("API_KEY") && listed.output.contains("OTHER"), "\(listed.output)")
        for output in [fromStdin.output, fromOption.output, listed.output] {
            #expect(!output.contains(secret) && !output.contains("other-value-1234"), "a value was printed: \(output)")
        }
        let deleted = try await plane.cli(["secrets", "delete", "OTHER"] + api)
        #expect(deleted.status == 0 && !deleted.output.contains("other-value-1234"), "\(deleted.output)")
        let afterDelete = try await plane.cli(["secrets", "list"] + api)
        #expect(afterDelete.output.contains("API_KEY") && !afterDelete.output.contains("OTHER"), "\(afterDelete.output)")
        #expect(try await plane.cli(["secrets", "set", "EMPTY"] + api, stdin: "").status != 0, "an empty value is refused")

        #expect(try await plane.cli(["logs"] + api).output.contains("no invocations"))
        let emit = try await plane.cli(["emit", Self.trigger, "--data", #"{"name":"ada"}"#, "--app", "cli-logs", "--kafka", plane.broker.bootstrapServers,
                                        "--id", "event-ada"])
        #expect(emit.status == 0, "\(emit.output)")
        // The stdin value lost only its final newline: the function sees all of its characters.
        let expected = "  │ hello ada, key of \(secret.count) chars"
        let shown = Locked("")
        try await eventually("chatfn logs shows the invocation", timeout: .seconds(90)) {
            let output = try await plane.cli(["logs"] + api).output
            shown.withLock { $0 = output }
            return output.contains(expected)
        }
        let logs = shown.withLock { $0 }
        #expect(logs.contains(" \(Self.trigger) event-ada succeeded ") && logs.contains("version=1 attempt=1"), "\(logs)")
        let byTrigger = try await plane.cli(["logs", "--trigger", Self.trigger] + api)
        #expect(byTrigger.output.contains(expected), "\(byTrigger.output)")
        let unknown = try await plane.cli(["logs", "--trigger", "no.such.trigger"] + api)
        #expect(unknown.status != 0 && unknown.output.contains("has no function no.such.trigger"), "a misspelled trigger is an error: \(unknown.output)")

        // --follow: what is there, then each new invocation once, newest last.
        let follow = try ChatfnProcess(["logs", "--follow"] + api, environment: plane.cliEnvironment, includingErrors: true)
        defer { follow.signal(SIGKILL) }
        try await eventually("the first invocation followed") { follow.stdout.contains(expected) }
        #expect(try await plane.cli(["emit", Self.trigger, "--data", #"{"name":"grace"}"#, "--app", "cli-logs",
                                     "--kafka", plane.broker.bootstrapServers, "--id", "event-grace"]).status == 0)
        try await eventually("the new invocation followed", timeout: .seconds(60)) { follow.stdout.contains("hello grace") }
        try await Task.sleep(for: .seconds(2))
        let followed = follow.stdout
        #expect(followed.components(separatedBy: "hello ada").count == 2, "printed once: \(followed)")
        #expect(followed.components(separatedBy: "hello grace").count == 2, "printed once: \(followed)")
        let ada = try #require(followed.range(of: "hello ada")), grace = try #require(followed.range(of: "hello grace"))
        #expect(ada.lowerBound < grace.lowerBound, "newest last: \(followed)")
        follow.signal(SIGINT)
        _ = try await follow.waitForExit(timeout: .seconds(10))
    }

    /// The rows of `chatfn versions`: each row's version number and text.
    static func versionRows(_ output: String) -> [(number: Int, line: String)] {
        output.split(separator: "\n").compactMap { line in
            guard let first = line.split(separator: " ").first, let number = Int(first) else { return nil }
            return (number, String(line))
        }
    }
}

/// `chatfn control` on an embedded broker, listening on loopback (no token), and the CLI run against it
/// with a `CHATFN_HOME` of its own (no `chatfn dev` of the machine's is found).
private struct CLIControlPlane {
    let fleet: ControlFleet
    let control: ChatfnProcess
    let url: String
    let home: URL

    var broker: EmbeddedKafkaBroker { fleet.broker }

    static func start() async throws -> CLIControlPlane {
        let fleet = try await ControlFleet.make()
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-cli-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let (control, url) = try await fleet.startControl(tokens: false)
        return CLIControlPlane(fleet: fleet, control: control, url: url, home: home)
    }

    /// A worker serving every application of the registry, once it consumes.
    func startWorker() async throws -> ChatfnProcess {
        try await fleet.startWorker(group: "cli-tests")
    }

    /// The CLI's environment: no API named, no token, a home of its own.
    var cliEnvironment: [String: String] {
        ["CHATFN_HOME": home.path, "CHATFN_API_URL": "", "CHATFN_API_TOKEN": "", "CHATFN_KAFKA": ""]
    }

    /// Runs `chatfn ARGS` to its end with `stdin` as its standard input (empty when nil); standard output
    /// and error together.
    func cli(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let environment = cliEnvironment.merging(environment) { $1 }
        return try await Task.detached {
            let process = Process()
            process.executableURL = ChatfnProcess.executable
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            let output = Pipe(), input = Pipe()
            process.standardOutput = output
            process.standardError = output
            process.standardInput = input
            try process.run()
            // A command that hangs fails the test instead of holding it.
            let pid = process.processIdentifier
            let finished = Locked(false)
            DispatchQueue.global().asyncAfter(deadline: .now() + 120) {
                if !finished.withLock({ $0 }) { kill(pid, SIGKILL) }
            }
            defer { finished.withLock { $0 = true } }
            if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
            try input.fileHandleForWriting.close()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }.value
    }

    func stop() {
        control.signal(SIGTERM)
        try? FileManager.default.removeItem(at: home)
        Task { [fleet] in await fleet.tearDown() }
    }
}
