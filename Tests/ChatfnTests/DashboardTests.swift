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

    @Test("another site cannot make changes through a browser: a foreign Origin or Sec-Fetch-Site, a body that is not JSON, or (with no token) another host name is refused")
    func crossSiteRequestsAreRefused() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, url) = try await fleet.startControl()
        defer { control.signal(SIGTERM) }
        let create = "\(url)/v1/applications/csrf"
        #expect(try await callAPI("PUT", create, headers: ["Origin": "http://evil.example"]).status == 403)
        #expect(try await callAPI("PUT", create, headers: ["Sec-Fetch-Site": "cross-site"]).status == 403)
        let textBody = try await callAPI("POST", "\(url)/v1/applications/csrf/functions/a.b/versions", headers: ["Content-Type": "text/plain"],
                                         body: Data(#"{"handlerScript": "async function handleEvent() {}"}"#.utf8))
        #expect(textBody.status == 415, "\(textBody.text)")
        #expect(try await callAPI("GET", "\(url)/v1/applications").array.allSatisfy { $0["id"] as? String != "csrf" }, "nothing was created")
        // The dashboard's own requests: same origin.
        #expect(try await callAPI("PUT", create, headers: ["Origin": url, "Sec-Fetch-Site": "same-origin"]).status == 201)
        #expect(try await callAPI("GET", "\(url)/v1/applications", headers: ["Origin": "http://evil.example"]).status == 200, "reads are not changes")

        // Without a token, a page of another host name that resolves to 127.0.0.1 (DNS rebinding) gets nothing.
        let (open, openURL) = try await fleet.startControl(tokens: false)
        defer { open.signal(SIGTERM) }
        let rebound = try await callAPI("GET", "\(openURL)/v1/applications", token: nil, headers: ["Host": "evil.example"])
        #expect(rebound.status == 403, "\(rebound.text)")
        #expect(try await callAPI("GET", "\(openURL)/v1/applications", token: nil).status == 200)
        let localhost = openURL.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        #expect(try await callAPI("GET", "\(localhost)/v1/applications", token: nil).status == 200)
    }

    @Test("pages are revalidated by ETag: an unchanged page is 304")
    func pagesRevalidate() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, url) = try await fleet.startControl()
        defer { control.signal(SIGTERM) }
        let first = try await callAPI("GET", "\(url)/dashboard/js/app.js", token: nil)
        let etag = try #require(first.header("ETag"))
        #expect(first.status == 200 && first.header("Cache-Control") == "no-cache")
        #expect(try await callAPI("GET", "\(url)/dashboard/js/app.js", token: nil, headers: ["If-None-Match": etag]).status == 304)
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
