import Foundation
import Testing

/// Writing functions as a developer expects: local imports in CommonJS, TypeScript and ES modules,
/// helpers that are not triggers, a helper's edit redeploying exactly its dependants, and typos named.
@Suite("Authoring", .serialized)
struct AuthoringTests {
    /// A function (`trigger.ext`) that posts what its helper made of the event's text.
    static func recording(_ call: String) -> String {
        """
        await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ id: context.eventId, trigger: context.trigger, said: \(call) }) });
        """
    }

    @Test("CommonJS, TypeScript and ES-module functions import local helpers; editing a helper redeploys exactly the functions that import it")
    func localImports() async throws {
        let lane = try await LaneFixture.make(functions: [:])
        defer { Task { await lane.tearDown() } }
        let functions = lane.application.root.appendingPathComponent("functions")
        try FileManager.default.createDirectory(at: functions.appendingPathComponent("lib"), withIntermediateDirectories: true)
        let files = [
            "lib/util.ts": "export function shout(text: string): string { return text.toUpperCase() + '!'; }\n",
            "lib/plain.js": "module.exports = { whisper: (text) => text.toLowerCase() };\n",
            "_shared.js": "module.exports = { tag: 'shared' };\n",
            "lib/boom.ts": "export function boom(): never {\n  throw new Error('boom from the helper');\n}\n",
            "test.thrower.ts": "import { boom } from './lib/boom';\nexport async function handleEvent() { boom(); }\n",
            "test.typed.ts": "import { shout } from './lib/util';\nexport async function handleEvent(event: { text: string }, context: any) {\n  \(Self.recording("shout(event.text)"))\n}\n",
            "test.module.mjs": "import { shout } from './lib/util';\nexport async function handleEvent(event, context) {\n  \(Self.recording("'esm ' + shout(event.text)"))\n}\n",
            "test.common.js": "const { whisper } = require('./lib/plain');\nconst { tag } = require('./_shared');\nmodule.exports = async (event, context) => {\n  \(Self.recording("tag + ' ' + whisper(event.text)"))\n};\n",
        ]
        for (name, source) in files { try Data(source.utf8).write(to: functions.appendingPathComponent(name)) }
        let chatfn = try lane.startChatfn(["--log-level", "info"], includingErrors: true)
        defer { chatfn.signal(SIGTERM) }
        try await eventually("chatfn running", timeout: .seconds(60)) { chatfn.stdout.contains("chatfn: API on http://") }
        #expect(!chatfn.stdout.contains("deployed _shared") && !chatfn.stdout.contains("deployed util") && !chatfn.stdout.contains("deployed plain"),
                "helpers are not triggers: \(chatfn.stdout)")

        for trigger in ["test.typed", "test.module", "test.common"] { try await lane.publish(trigger, id: "\(trigger)-1", key: trigger, data: ["text": "Hello"]) }
        // A throw inside a helper is reported at the helper's own line, not the bundle's.
        try await lane.publish("test.thrower", id: "thrower-1", key: "t", data: [:])
        try await eventually("the helper's frame in the stack", timeout: .seconds(30)) { chatfn.stdout.contains("boom.ts:2") }
        let first = try await lane.recorder.waitForCount(3)
        let said = Dictionary(first.compactMap { entry in (entry["trigger"] as? String).map { ($0, entry["said"] as? String ?? "") } }) { a, _ in a }
        #expect(said == ["test.typed": "HELLO!", "test.module": "esm HELLO!", "test.common": "shared hello"], "\(first)")

        // The TypeScript helper changes: the two functions importing it get version 2, the CommonJS one does not.
        try Data("export function shout(text: string): string { return text.toUpperCase() + '!!!'; }\n".utf8)
            .write(to: functions.appendingPathComponent("lib/util.ts"))
        // Pushed as version 2, then taken up by the worker (its own log line names the version it serves).
        try await eventually("the dependants redeployed", timeout: .seconds(30)) {
            chatfn.stdout.contains("deployed test.typed version 2") && chatfn.stdout.contains("deployed test.module version 2")
                && chatfn.stdout.range(of: #"version=2 \w+ \[Functions\] deployed test.typed"#, options: .regularExpression) != nil
        }
        try await lane.publish("test.typed", id: "test.typed-2", key: "test.typed", data: ["text": "again"])
        let second = try await lane.recorder.waitForCount(4)
        #expect(second.contains { $0["id"] as? String == "test.typed-2" && $0["said"] as? String == "AGAIN!!!" }, "\(second)")
        #expect(!chatfn.stdout.contains("deployed test.common version 2"), "the CommonJS function does not import the TypeScript helper: \(chatfn.stdout)")
    }

    @Test("a misspelled trigger warns with the nearest one; a file that is no event type says where helpers go")
    func misspelledTriggers() async throws {
        let lane = try await LaneFixture.make(functions: ["user.recieved.notification": "module.exports = async () => {};", "helpers": "module.exports = async () => {};"])
        defer { Task { await lane.tearDown() } }
        let chatfn = try lane.startChatfn(["--log-level", "info"], includingErrors: true)
        defer { chatfn.signal(SIGTERM) }
        try await eventually("both warnings", timeout: .seconds(60)) {
            chatfn.stdout.contains("user.recieved.notification is not a trigger chatfn knows: did you mean user.received.notification?")
                && chatfn.stdout.contains("helpers is not an event type")
        }
    }

    @Test("chatfn init scaffolds an application that passes chatfn check and chatfn test as generated, for every trigger; check reports a type error at its line and a chatfn.json mistake")
    func initAndCheck() async throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-init-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: parent) }
        let app = parent.appendingPathComponent("app").path
        let (initStatus, initOutput) = try await ChatfnProcess.run(["init", app])
        #expect(initStatus == 0, "\(initOutput)")
        for file in ["chatfn.json", "tsconfig.json", "types/chatfn.d.ts", "functions/user.received.notification.ts",
                     "functions/user.attempted.start_session.ts", "events/user.received.notification.json", "events/user.attempted.start_session.json"] {
            #expect(FileManager.default.fileExists(atPath: "\(app)/\(file)"), "\(file)")
        }
        let (checkStatus, checkOutput) = try await ChatfnProcess.run(["check", app])
        #expect(checkStatus == 0 && checkOutput.contains("ok: 2 function(s) checked"), "\(checkOutput)")
        for trigger in ["user.received.notification", "user.attempted.start_session"] {
            let (status, output) = try await ChatfnProcess.run(["test", trigger, "--functions", app, "--data", "@\(app)/events/\(trigger).json"])
            #expect(status == 0 && output.contains("\(trigger) succeeded"), "\(output)")
        }
        let (again, againOutput) = try await ChatfnProcess.run(["init", app])
        #expect(again != 0, "existing files are kept: \(againOutput)")

        // Every trigger chatfn knows, and a custom one: each template type-checks and runs on its example.
        let all = parent.appendingPathComponent("all").path
        let triggers = TriggerCatalogNames.all + ["order.shipped"]
        #expect(try await ChatfnProcess.run(["init", all] + triggers.flatMap { ["--trigger", $0] }).status == 0)
        let (allCheck, allCheckOutput) = try await ChatfnProcess.run(["check", all])
        #expect(allCheck == 0 && allCheckOutput.contains("ok: \(triggers.count) function(s) checked"), "\(allCheckOutput)")
        for trigger in triggers {
            let (status, output) = try await ChatfnProcess.run(["test", trigger, "--functions", all, "--data", "@\(all)/events/\(trigger).json"])
            #expect(status == 0, "\(trigger): \(output)")
        }

        // A type error, at its line and column; then a misspelled key of chatfn.json.
        try Data("export async function handleEvent(event: chatfn.Events['user.sent.message'], context: chatfn.Context) {\n  const n: number = event.user.name;\n}\n".utf8)
            .write(to: URL(fileURLWithPath: "\(app)/functions/user.sent.message.ts"))
        let (typeStatus, typeOutput) = try await ChatfnProcess.run(["check", app])
        #expect(typeStatus == 1 && typeOutput.contains("functions/user.sent.message.ts:2:9: error TS2322"), "\(typeOutput)")
        try Data(#"{ "app": "my app!", "functions": { "user.sent.mesage": { "timeoutMs": 1000 } } }"#.utf8).write(to: URL(fileURLWithPath: "\(app)/chatfn.json"))
        let (nameStatus, nameOutput) = try await ChatfnProcess.run(["check", app])
        #expect(nameStatus == 1 && nameOutput.contains("chatfn.json: app:"), "an application id dev and deploy refuse: \(nameOutput)")
        #expect(nameOutput.contains("functions.user.sent.mesage: warning:") && nameOutput.contains("did you mean user.sent.message?"), "\(nameOutput)")
        try Data(#"{ "app": "default", "runtime": { "enviroment": {} } }"#.utf8).write(to: URL(fileURLWithPath: "\(app)/chatfn.json"))
        let badKey = try ChatfnProcess(["check", app], includingErrors: true)
        #expect(try await badKey.waitForExit() != 0)
        #expect(badKey.stdout.contains("runtime.enviroment: unknown key (did you mean environment?)"), "\(badKey.stdout)")
    }
}

extension AuthoringTests {
    @Test("renaming the application in chatfn.json while chatfn dev runs deploys every function to the new application")
    func renamedApplication() async throws {
        let lane = try await LaneFixture.make(functions: ["test.a": "module.exports = async () => 'a';", "test.b": "module.exports = async () => 'b';"])
        defer { Task { await lane.tearDown() } }
        let chatfn = try lane.startChatfn(["--log-level", "info"], includingErrors: true)
        defer { chatfn.signal(SIGTERM) }
        try await eventually("the API announced", timeout: .seconds(60)) { chatfn.stdout.contains("chatfn: API on http://") }
        let announced = try #require(chatfn.stdout.split(separator: "\n").first { $0.hasPrefix("chatfn: API on ") })
        let api = String(try #require(announced.split(separator: " ").first { $0.hasPrefix("http://") }))
        let manifest = lane.application.root.appendingPathComponent("chatfn.json")
        var settings = try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as? [String: Any] ?? [:]
        settings["app"] = "renamed"
        try JSONSerialization.data(withJSONObject: settings).write(to: manifest)
        try await eventually("both functions deployed to the new application", timeout: .seconds(30)) {
            let functions = try await callAPI("GET", "\(api)/v1/applications/renamed/functions").array
            return Set(functions.filter { $0["currentVersionNumber"] as? Int != nil }.compactMap { $0["trigger"] as? String }) == ["test.a", "test.b"]
        }
    }

    @Test("every worked example of docs/writing-functions.md type-checks and runs on its trigger's sample event")
    func writingFunctionsGuide() async throws {
        let guide = try String(contentsOfFile: ChatfnProcess.packageRoot.appendingPathComponent("docs/writing-functions.md").path, encoding: .utf8)
        var examples: [String: String] = [:]
        for part in guide.components(separatedBy: "<!-- function: ").dropFirst() {
            let trigger = String(part.prefix { $0 != " " })
            let code = try #require(part.components(separatedBy: "```ts\n").dropFirst().first?.components(separatedBy: "\n```").first)
            examples[trigger] = code + "\n"
        }
        #expect(Set(examples.keys) == Set(TriggerCatalogNames.all), "one example per trigger: \(examples.keys.sorted())")
        let app = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-guide-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: app) }
        #expect(try await ChatfnProcess.run(["init", app] + TriggerCatalogNames.all.flatMap { ["--trigger", $0] }).status == 0)
        for (trigger, code) in examples { try Data(code.utf8).write(to: URL(fileURLWithPath: "\(app)/functions/\(trigger).ts")) }
        let (checkStatus, checkOutput) = try await ChatfnProcess.run(["check", app])
        #expect(checkStatus == 0, "\(checkOutput)")
        for trigger in examples.keys.sorted() {
            let (status, output) = try await ChatfnProcess.run(["test", trigger, "--functions", app, "--data", "@\(app)/events/\(trigger).json"])
            #expect(status == 0 && output.contains("\(trigger) succeeded"), "\(trigger): \(output)")
        }
    }
}

/// The triggers chatfn knows, as a test names them (the catalog lives in ChatEvents).
enum TriggerCatalogNames {
    static let all = ["user.attempted.start_session", "user.attempted.send_message", "user.received.notification", "user.sent.message",
                      "user.started.chat_session", "user.reacted.to_message", "user.read.message", "user.received.channel_invite",
                      "user.triggered.event", "system.triggered.event"]
}
