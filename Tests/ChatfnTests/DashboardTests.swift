import Foundation
import Testing

/// The dashboard in a real browser: `Tests/Browser/dashboard_test.py` drives Debian's chromium through
/// Playwright (both installed by scripts/bootstrap.sh) against a real control plane, worker and broker.
/// `CHATFN_DASHBOARD_SCREENSHOTS=DIR` also writes the screenshots of docs/dashboard.md.
@Suite("Dashboard: sign in, edit, save, test, invocations, versions, secrets, dead letters, in chromium", .serialized)
struct DashboardTests {
    @Test("a user signs in, creates an application, writes, saves, tests and rolls back a function, watches its invocations live, sets a secret and replays a dead letter; a read-only token is offered no write")
    func fleetInTheBrowser() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, url) = try await fleet.startControl()
        defer { control.signal(SIGTERM) }
        let worker = try await fleet.startWorker()
        defer { worker.signal(SIGTERM) }

        let run = try await Self.browser(scenario: "fleet", url: url, environment: [
            "FULL_TOKEN": ControlFleet.fullToken, "READ_TOKEN": ControlFleet.readToken,
            "CHATFN": ChatfnProcess.executable.path, "KAFKA": fleet.broker.bootstrapServers,
        ])
        print(run.stdout)
        #expect(run.status == 0, "\(run.stdout)\ncontrol:\n\(control.stdout)\nworker:\n\(worker.stdout)")
        #expect(run.stdout.contains("a read-only token sees every page"), "\(run.stdout)")
        #expect(!control.stdout.contains(ControlFleet.fullToken) && !control.stdout.contains(ControlFleet.readToken), "a token in the log: \(control.stdout)")
    }

    @Test("chatfn dev prints the dashboard's URL; without CodeMirror the page edits in a plain text area and saves")
    func devWithoutCodeMirror() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-dashboard-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: home) }
        let examples = ChatfnProcess.packageRoot.appendingPathComponent("examples").path
        let dev = try ChatfnProcess(["dev", "--functions", examples, "--listen", "127.0.0.1:0", "--log-level", "warning"],
                                    environment: ["CHATFN_HOME": home.path, "CHATFN_CODEMIRROR_DIR": home.appendingPathComponent("absent").path])
        defer { dev.signal(SIGTERM) }
        try await eventually("the dashboard announced", timeout: .seconds(60)) { dev.stdout.contains("chatfn: dashboard on http://") }
        let line = try #require(dev.stdout.split(separator: "\n").first { $0.hasPrefix("chatfn: dashboard on ") })
        let url = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }).trimmingCharacters(in: CharacterSet(charactersIn: "/"))

        let run = try await Self.browser(scenario: "plain-editor", url: String(url), environment: [:])
        #expect(run.status == 0, "\(run.stdout)\nchatfn dev:\n\(dev.stdout)")
    }

    @Test("every response carries the Content-Security-Policy (no inline script), and the pages hold no inline script or handler")
    func securityHeadersAndNoInlineScript() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, url) = try await fleet.startControl()
        defer { control.signal(SIGTERM) }
        for path in ["/", "/dashboard/js/app.js", "/v1/applications", "/v1/nothing-here", "/vendor/codemirror/lib/codemirror.js"] {
            let response = try await callAPI("GET", url + path, token: nil)
            let policy = response.header("Content-Security-Policy")
            #expect(policy?.contains("script-src 'self';") == true && policy?.contains("unsafe-inline") == false, "\(path): \(policy ?? "none")")
            #expect(response.header("X-Content-Type-Options") == "nosniff", "\(path)")
        }
        let page = try await callAPI("GET", url + "/", token: nil)
        #expect(page.status == 200)
        let scripts = page.text.components(separatedBy: "<script").dropFirst()
        #expect(!scripts.isEmpty && scripts.allSatisfy { $0.prefix(while: { $0 != ">" }).contains("src=") }, "an inline script: \(page.text)")
        #expect(page.text.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil, "an inline handler: \(page.text)")
        // Only the editor's files are served from libjs-codemirror's folder, and nothing outside the pages.
        for path in ["/vendor/codemirror/mode/python/python.js", "/dashboard/../../etc/passwd", "/vendor/codemirror/../../../etc/passwd"] {
            #expect(try await callAPI("GET", url + path, token: nil).status == 404, "\(path)")
        }
    }

    @Test("each known trigger's template, which a new function starts from, runs on its example event")
    func templatesRunOnTheirExamples() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, url) = try await fleet.startControl()
        defer { control.signal(SIGTERM) }
        #expect(try await callAPI("PUT", "\(url)/v1/applications/templates").status == 201)
        let triggers = try await callAPI("GET", "\(url)/v1/triggers").array
        #expect(triggers.count == 10)
        for trigger in triggers {
            let type = try #require(trigger["type"] as? String)
            let event = try JSONSerialization.jsonObject(with: Data(try #require(trigger["exampleEvent"] as? String).utf8))
            let outcome = try await callAPI("POST", "\(url)/v1/applications/templates/functions/\(type)/test",
                                            json: ["event": event, "handlerScript": try #require(trigger["template"] as? String)])
            #expect(outcome.object["status"] as? String == "succeeded", "\(type): \(outcome.text)")
            if trigger["blocking"] as? Bool == true {
                #expect((outcome.object["decision"] as? [String: Any])?["decision"] as? String == "allow", "\(type): \(outcome.text)")
            } else {
                #expect((outcome.object["logs"] as? [String])?.isEmpty == false, "\(type) prints what it received: \(outcome.text)")
            }
        }
    }

    /// Runs the Playwright script with the bootstrap's Python.
    static func browser(scenario: String, url: String, environment: [String: String]) async throws -> (status: Int32, stdout: String) {
        var environment = environment.merging(["DASHBOARD_URL": url, "SCENARIO": scenario]) { $1 }
        if let screenshots = ProcessInfo.processInfo.environment["CHATFN_DASHBOARD_SCREENSHOTS"] { environment["SCREENSHOTS"] = screenshots }
        let script = ChatfnProcess.packageRoot.appendingPathComponent("Tests/Browser/dashboard_test.py").path
        let child = try ChatfnProcess([script], environment: environment, executable: try ChatfnProcess.bootstrapPython(), includingErrors: true)
        let status = try await child.waitForExit(timeout: .seconds(300))
        return (status, child.stdout)
    }
}
