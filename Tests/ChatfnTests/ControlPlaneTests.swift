import Foundation
import KafkaClient
import Synchronization
import Testing

/// The control plane with the fleet that follows it: `chatfn control` replicas writing the registry,
/// `chatfn run` workers serving every application in it, all over the embedded broker's Kafka protocol,
/// with real Node workers and real HTTP.
@Suite("Control plane", .serialized)
struct ControlPlaneTests {
    /// A function that tells the recorder which version of it ran.
    static func taggedFunction(_ tag: String) -> String {
        """
        async function handleEvent(event, context) {
          console.log('ran \(tag) for', context.eventId);
          await fetch(process.env.RECORDER_URL, { method: 'POST', headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ tag: '\(tag)', eventId: context.eventId }) });
        }
        """
    }

    static let trigger = "user.received.notification"

    /// Publishes a probe to every partition until each of them has run `tag`: then every worker, each
    /// owning some of the partitions, runs that version.
    static func waitUntilEveryPartitionRuns(_ tag: String, fleet: ControlFleet, app: String, round: Locked<Int>) async throws {
        try await eventually("every partition runs \(tag)", timeout: .seconds(60)) {
            let n = round.withLock { $0 += 1; return $0 }
            let ids = (0..<4).map { "probe-\(tag)-\(n)-\($0)" }
            for (partition, id) in ids.enumerated() {
                try await fleet.publish(trigger, app: app, id: id, key: "k\(partition)", partition: Int32(partition))
            }
            try await eventually("probes ran") { Set(fleet.recorder.received().compactMap { $0["eventId"] as? String }).isSuperset(of: ids) }
            let tags = fleet.recorder.received().filter { ids.contains($0["eventId"] as? String ?? "") }.compactMap { $0["tag"] as? String }
            return tags.count == 4 && tags.allSatisfy { $0 == tag }
        }
    }

    @Test("two replicas and three workers: a save, a rollback and concurrent saves reach every worker; a compile error keeps the live version; a late worker catches up")
    func fleet() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control1, api1) = try await fleet.startControl()
        let (control2, api2) = try await fleet.startControl()
        var workers: [ChatfnProcess] = []
        for _ in 0..<3 { workers.append(try await fleet.startWorker()) }
        defer { (workers + [control1, control2]).forEach { $0.signal(SIGTERM) } }

        let app = "\(api1)/v1/applications/acme"
        #expect(try await callAPI("PUT", app).status == 201)
        #expect(try await callAPI("PUT", "\(api2)/v1/applications/acme").status == 200, "any replica answers; creating is idempotent")
        #expect(try await callAPI("PUT", "\(app)/runtime/environment-variables", json: ["RECORDER_URL": fleet.recorder.url]).status == 200)

        let versions = "\(app)/functions/\(Self.trigger)/versions"
        let first = try await callAPI("POST", versions, json: ["handlerScript": Self.taggedFunction("one"), "language": "javascript"])
        #expect(first.status == 201)
        #expect(first.object["versionNumber"] as? Int == 1)
        let round = Locked(0)
        try await Self.waitUntilEveryPartitionRuns("one", fleet: fleet, app: "acme", round: round)

        let second = try await callAPI("POST", "\(api2)/v1/applications/acme/functions/\(Self.trigger)/versions",
                                       json: ["handlerScript": Self.taggedFunction("two")])
        #expect(second.object["versionNumber"] as? Int == 2)
        try await Self.waitUntilEveryPartitionRuns("two", fleet: fleet, app: "acme", round: round)

        // A script that does not compile: 422 at its line and column, nothing saved, the live version stays.
        let broken = try await callAPI("POST", versions, json: ["handlerScript": "async function handleEvent(event) {\n  return event.;\n}"])
        #expect(broken.status == 422)
        #expect(broken.object["line"] as? Int == 2)
        #expect(broken.object["column"] as? Int != nil)
        // Version 2 was saved through replica 2: replica 1 shows it once its follower has read it.
        try await eventually("replica 1 shows version 2, still live") {
            try await callAPI("GET", "\(app)/functions/\(Self.trigger)/current-version").object["versionNumber"] as? Int == 2
        }
        #expect(try await callAPI("GET", versions).array.count == 2)

        let rollback = try await callAPI("POST", "\(app)/functions/\(Self.trigger)/rollback", json: ["versionNumber": 1])
        #expect(rollback.status == 201)
        #expect(rollback.object["versionNumber"] as? Int == 3)
        // Replica 2 shows replica 1's write once its follower has read it (a replica reads its own at once).
        try await eventually("replica 2 shows the rollback") {
            let current = try await callAPI("GET", "\(api2)/v1/applications/acme/functions/\(Self.trigger)/current-version").object
            return current["versionNumber"] as? Int == 3
        }
        let current = try await callAPI("GET", "\(api2)/v1/applications/acme/functions/\(Self.trigger)/current-version").object
        #expect(current["rollbackOf"] as? Int == 1)
        #expect((current["handlerScript"] as? String)?.contains("'one'") == true)
        try await Self.waitUntilEveryPartitionRuns("one", fleet: fleet, app: "acme", round: round)

        // Concurrent saves on both replicas: all succeed with distinct numbers; none is lost.
        let concurrentTrigger = "custom.concurrent"
        let numbers = try await withThrowingTaskGroup(of: Int?.self) { group in
            for index in 0..<16 {
                let api = index % 2 == 0 ? api1 : api2
                group.addTask {
                    try await callAPI("POST", "\(api)/v1/applications/acme/functions/\(concurrentTrigger)/versions",
                                      json: ["handlerScript": "async function handleEvent() { return \(index); }"]).object["versionNumber"] as? Int
                }
            }
            return try await group.reduce(into: [Int?]()) { $0.append($1) }
        }
        #expect(numbers.compactMap { $0 }.sorted() == Array(1...16))
        // Each replica reads its own writes at once; the other replica's, once its follower has read them.
        for api in [api1, api2] {
            try await eventually("every version listed by \(api)") {
                let listed = try await callAPI("GET", "\(api)/v1/applications/acme/functions/\(concurrentTrigger)/versions").array
                return listed.compactMap { $0["versionNumber"] as? Int }.sorted() == Array(1...16)
            }
        }

        // Created on both replicas at once, then deleted: it stays deleted (no second generation takes over).
        for round in 0..<5 {
            let name = "twice-\(round)"
            async let first = callAPI("PUT", "\(api1)/v1/applications/\(name)")
            async let second = callAPI("PUT", "\(api2)/v1/applications/\(name)")
            let statuses = try await [first.status, second.status].sorted()
            #expect(statuses == [200, 201] || statuses == [201, 201], "\(statuses)")
            #expect(try await callAPI("DELETE", "\(api2)/v1/applications/\(name)").status == 204)
            for api in [api1, api2] {
                try await eventually("\(name) deleted on every replica") { try await callAPI("GET", "\(api)/v1/applications/\(name)").status == 404 }
            }
        }
        #expect(try await callAPI("GET", "\(api1)/v1/applications").array.compactMap { $0["id"] as? String } == ["acme"])

        // A worker started now reads the registry from its start and runs the live version.
        let (late, lateAdmin) = try await fleet.startWorkerWithAdmin()
        workers.append(late)
        try await eventually("the late worker ran an event", timeout: .seconds(60)) {
            let n = round.withLock { $0 += 1; return $0 }
            for partition in 0..<4 { try await fleet.publish(Self.trigger, app: "acme", id: "late-\(n)-\(partition)", key: "k", partition: Int32(partition)) }
            try await Task.sleep(for: .milliseconds(300))
            return metricSum(try await httpGet("\(lateAdmin)/metrics").1, "chatfn_invocations_total", ["app": "acme", "status": "succeeded"]) ?? 0 > 0
        }
        let lateRuns = fleet.recorder.received().filter { ($0["eventId"] as? String)?.hasPrefix("late-") == true }
        #expect(!lateRuns.isEmpty && lateRuns.allSatisfy { $0["tag"] as? String == "one" })
    }

    @Test("tokens: none or a wrong one is 401, the read-only token reads and gets 403 on a write; errors are JSON")
    func authentication() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, api) = try await fleet.startControl()
        defer { control.signal(SIGTERM) }
        let missing = try await callAPI("GET", "\(api)/v1/applications", token: nil)
        #expect(missing.status == 401)
        #expect(missing.object["error"] is String)
        #expect(try await callAPI("GET", "\(api)/v1/applications", token: "wrong").status == 401)
        #expect(try await callAPI("GET", "\(api)/v1/applications", token: ControlFleet.readToken).status == 200)
        let write = try await callAPI("PUT", "\(api)/v1/applications/acme", token: ControlFleet.readToken)
        #expect(write.status == 403)
        #expect(write.object["error"] as? String == "the read-only token cannot make changes")
        #expect(try await callAPI("GET", "\(api)/v1/applications/acme").status == 404)
        #expect(try await callAPI("PUT", "\(api)/v1/applications/bad%2Fname").status == 400)
        #expect(try await callAPI("GET", "\(api)/v1/openapi.json", token: nil).object["openapi"] is String)
        #expect(try await callAPI("GET", "\(api)/v1/nothing-here").status == 404)
        // The token is the route's, whatever path reaches it: an empty segment does not skip it.
        for path in ["//v1/applications/acme", "/v1//applications/acme", "//v1//applications//acme"] {
            let sneaky = try await callAPI("PUT", "\(api)\(path)", token: nil)
            #expect(sneaky.status == 401 || sneaky.status == 404, "\(path): \(sneaky.status)")
        }
        #expect(try await callAPI("GET", "\(api)/v1/applications/acme").status == 404, "nothing was created")
    }

    @Test("the control plane refuses to serve a non-loopback address without a token")
    func tokenRequired() async throws {
        let control = try ChatfnProcess(["control", "--kafka", "127.0.0.1:1", "--listen", "0.0.0.0:0"],
                                        environment: ["CHATFN_API_TOKEN": "", "CHATFN_SECRETS_KEY": ControlFleet.secretsKey], includingErrors: true)
        #expect(try await control.waitForExit() != 0)
        #expect(control.stdout.contains("set CHATFN_API_TOKEN to serve the API on 0.0.0.0"))
    }

    @Test("applications are isolated; secrets reach functions and nowhere else; a test runs a draft; invocations carry logs; a deleted application's events are dead-lettered")
    func applicationsAndSecrets() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, api) = try await fleet.startControl()
        let worker = try await fleet.startWorker()
        defer { [control, worker].forEach { $0.signal(SIGTERM) } }
        let secret = "s3cr3t-value-4242-do-not-leak"
        let alpha = "\(api)/v1/applications/alpha", beta = "\(api)/v1/applications/beta"
        for app in [alpha, beta] {
            #expect(try await callAPI("PUT", app).status == 201)
        }
        #expect(try await callAPI("PUT", "\(alpha)/runtime/environment-variables", json: ["RECORDER_URL": fleet.recorder.url, "ALPHA_ONLY": "1"]).status == 200)
        #expect(try await callAPI("PUT", "\(beta)/runtime/environment-variables", json: ["RECORDER_URL": fleet.recorder.url]).status == 200)
        #expect(try await callAPI("PUT", "\(alpha)/secrets/API_KEY", json: ["value": secret]).status == 204)
        let alphaFunction = """
            async function handleEvent(event, context) {
              console.log('using key', context.secrets.API_KEY);
              await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ app: 'alpha', eventId: context.eventId,
                keyWorks: context.secrets.API_KEY.split('').reverse().join('') === '\(String(secret.reversed()))' }) });
            }
            """
        let betaFunction = """
            const fs = require('fs'); const path = require('path');
            async function handleEvent(event, context) {
              let listing;
              try { listing = fs.readdirSync(path.resolve(__dirname, '..', '..', '..')); } catch (error) { listing = 'denied: ' + error.code; }
              await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ app: 'beta', eventId: context.eventId,
                env: Object.keys(process.env), secrets: Object.keys(context.secrets), listing }) });
            }
            """
        #expect(try await callAPI("POST", "\(alpha)/functions/\(Self.trigger)/versions", json: ["handlerScript": alphaFunction]).status == 201)
        #expect(try await callAPI("POST", "\(beta)/functions/\(Self.trigger)/versions", json: ["handlerScript": betaFunction]).status == 201)

        try await fleet.publish(Self.trigger, app: "alpha", id: "alpha-1", key: "a")
        try await fleet.publish(Self.trigger, app: "beta", id: "beta-1", key: "b")
        let runs = try await fleet.recorder.waitForCount(2)
        let alphaRun = try #require(runs.first { $0["app"] as? String == "alpha" })
        let betaRun = try #require(runs.first { $0["app"] as? String == "beta" })
        #expect(alphaRun["keyWorks"] as? Bool == true)
        #expect((betaRun["env"] as? [String])?.contains("ALPHA_ONLY") == false)
        #expect((betaRun["secrets"] as? [String])?.isEmpty == true)
        #expect((betaRun["listing"] as? String)?.hasPrefix("denied") == true, "beta cannot list what lies beside its own files: \(betaRun["listing"] ?? "")")

        // The invocation log carries each run's output, with the secret masked.
        try await eventually("alpha's invocation listed") {
            try await !callAPI("GET", "\(alpha)/functions/\(Self.trigger)/invocations?limit=10").array.isEmpty
        }
        let invocations = try await callAPI("GET", "\(alpha)/functions/\(Self.trigger)/invocations?limit=10").array
        #expect(invocations.first?["versionNumber"] as? Int == 1)
        #expect(invocations.first?["eventId"] as? String == "alpha-1")
        #expect((invocations.first?["logs"] as? [String])?.first?.contains("using key [secret API_KEY]") == true)

        // A test runs a draft in the application's sandbox, with its secrets, and deploys nothing.
        let test = try await callAPI("POST", "\(alpha)/functions/\(Self.trigger)/test", json: [
            "event": ["hello": "world"],
            "handlerScript": "async function handleEvent(event, context) { console.log('draft sees', event.hello, context.secrets.API_KEY.length); return { ok: true }; }",
        ])
        #expect(test.status == 200)
        #expect(test.object["status"] as? String == "succeeded")
        #expect((test.object["result"] as? [String: Any])?["ok"] as? Bool == true)
        #expect((test.object["logs"] as? [String]) == ["[info] draft sees world \(secret.count)"])
        #expect(try await callAPI("GET", "\(alpha)/functions/\(Self.trigger)/versions").array.count == 1)
        // What a test shows of a function besides its output is masked too: its result, its error's name.
        let leaky = try await callAPI("POST", "\(alpha)/functions/\(Self.trigger)/test", json: [
            "event": [:], "handlerScript": "async function handleEvent(e, context) { return { leaked: context.secrets.API_KEY }; }",
        ])
        #expect((leaky.object["result"] as? [String: Any])?["leaked"] as? String == "[secret API_KEY]", "\(leaky.text)")
        let thrower = try await callAPI("POST", "\(alpha)/functions/\(Self.trigger)/test", json: [
            "event": [:],
            "handlerScript": "async function handleEvent(e, context) { const error = new Error('no'); error.name = context.secrets.API_KEY; throw error; }",
        ])
        #expect(thrower.object["status"] as? String == "failed" && !thrower.text.contains(secret), "\(thrower.text)")

        // The secret's value is nowhere but in the function: not in the registry, the audit log, the API, or the logs.
        let listed = try await callAPI("GET", "\(alpha)/secrets")
        #expect(listed.array.first?["name"] as? String == "API_KEY")
        let kafka = KafkaConfiguration(bootstrapServers: fleet.broker.bootstrapServers)
        let dumps = try await ["chatfn.registry", "chatfn.audit", "chatfn.invocations"].asyncMap { topic in
            try await TopicReader.readAll(topic: topic, configuration: kafka).map { String(decoding: $0.value, as: UTF8.self) }.joined()
        }
        #expect(!dumps[0].isEmpty && dumps.allSatisfy { !$0.contains(secret) })
        #expect(dumps[1].contains("secret.set") && dumps[1].contains("sha256:"), "the audit log says who set it")
        for path in ["", "/runtime", "/secrets", "/functions/\(Self.trigger)/invocations"] {
            #expect(try await !callAPI("GET", "\(alpha)\(path)").text.contains(secret))
        }
        #expect(!control.stdout.contains(secret) && !worker.stdout.contains(secret))

        // Deleting beta: its events are dead-lettered as an unknown application.
        #expect(try await callAPI("DELETE", beta).status == 204)
        #expect(try await callAPI("GET", beta).status == 404)
        try await fleet.publish(Self.trigger, app: "beta", id: "beta-after-delete", key: "b")
        try await eventually("beta's event dead-lettered") {
            let letters = try await callAPI("GET", "\(alpha)/dead-letters").array  // alpha's: none of beta's
            #expect(letters.isEmpty)
            let records = try await TopicReader.readAll(topic: "chatfn.dlq", configuration: kafka)
            return records.contains { record in
                record.headers.contains { $0.key == "ce_id" && $0.stringValue == "beta-after-delete" }
                    && record.headers.contains { $0.key == "chatfn_dlq_reason" && $0.stringValue == "unknown_application" }
            }
        }
    }

    @Test("stopping everything and starting again: the registry is intact and a new worker runs the live version with its secrets")
    func restart() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        var (control, api) = try await fleet.startControl()
        let app = "\(api)/v1/applications/acme"
        #expect(try await callAPI("PUT", app).status == 201)
        #expect(try await callAPI("PUT", "\(app)/runtime/environment-variables", json: ["RECORDER_URL": fleet.recorder.url]).status == 200)
        #expect(try await callAPI("PUT", "\(app)/secrets/TOKEN", json: ["value": "restart-secret"]).status == 204)
        for tag in ["a", "b", "c"] {
            #expect(try await callAPI("POST", "\(app)/functions/\(Self.trigger)/versions", json: ["handlerScript": Self.taggedFunction(tag)]).status == 201)
        }
        #expect(try await callAPI("POST", "\(app)/functions/\(Self.trigger)/rollback", json: ["versionNumber": 2]).status == 201)
        control.signal(SIGTERM)
        #expect(try await control.waitForExit() == 0)

        (control, api) = try await fleet.startControl()
        let worker = try await fleet.startWorker()
        defer { [control, worker].forEach { $0.signal(SIGTERM) } }
        let versions = try await callAPI("GET", "\(api)/v1/applications/acme/functions/\(Self.trigger)/versions").array
        #expect(versions.compactMap { $0["versionNumber"] as? Int } == [1, 2, 3, 4])
        #expect(versions.last?["rollbackOf"] as? Int == 2)
        #expect(try await callAPI("GET", "\(api)/v1/applications/acme/secrets").array.first?["name"] as? String == "TOKEN")
        try await fleet.publish(Self.trigger, app: "acme", id: "after-restart", key: "k")
        let runs = try await fleet.recorder.waitForCount(1)
        #expect(runs.first?["tag"] as? String == "b")
    }

    @Test("an application that exists but cannot start (its secrets do not open here) dead-letters its events as application_unavailable, to replay once fixed")
    func unavailableApplication() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, api) = try await fleet.startControl()
        let worker = try await fleet.startWorker(secretsKey: "")
        defer { [control, worker].forEach { $0.signal(SIGTERM) } }
        let app = "\(api)/v1/applications/keyed"
        #expect(try await callAPI("PUT", app).status == 201)
        #expect(try await callAPI("PUT", "\(app)/secrets/API_KEY", json: ["value": "v"]).status == 204)
        #expect(try await callAPI("POST", "\(app)/functions/\(Self.trigger)/versions", json: ["handlerScript": Self.taggedFunction("x")]).status == 201)
        try await fleet.publish(Self.trigger, app: "keyed", id: "keyed-1", key: "k")
        let kafka = KafkaConfiguration(bootstrapServers: fleet.broker.bootstrapServers)
        try await eventually("the event dead-lettered with the reason") {
            try await TopicReader.readAll(topic: "chatfn.dlq", configuration: kafka).contains { record in
                record.headers.contains { $0.key == "chatfn_dlq_reason" && $0.stringValue == "application_unavailable" }
                    && record.headers.contains { $0.key == "chatfn_dlq_error" && ($0.stringValue ?? "").contains("CHATFN_SECRETS_KEY") }
            }
        }
        let listed = try await callAPI("GET", "\(app)/dead-letters").array
        #expect(listed.first?["reason"] as? String == "application_unavailable")
    }

    /// The value of `metric` (with `labels`, e.g. `{pool="events"}`) on a Prometheus page.
    @Test("an application's processes start on its first event and stop once it is idle; its next event starts them again")
    func idleApplicationsGiveTheirProcessesBack() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, api) = try await fleet.startControl()
        let (worker, admin) = try await fleet.startWorkerWithAdmin(["--idle-timeout", "1"])
        defer { [control, worker].forEach { $0.signal(SIGTERM) } }
        let app = "\(api)/v1/applications/sleepy"
        #expect(try await callAPI("PUT", app).status == 201)
        #expect(try await callAPI("PUT", "\(app)/runtime/environment-variables", json: ["RECORDER_URL": fleet.recorder.url]).status == 200)
        #expect(try await callAPI("POST", "\(app)/functions/\(Self.trigger)/versions", json: ["handlerScript": Self.taggedFunction("z")]).status == 201)
        let metrics: @Sendable () async throws -> String = { try await httpGet("\(admin)/metrics").1 }
        #expect(metricSum(try await metrics(), "chatfn_applications_served") == 0, "registered, not started")

        try await fleet.publish(Self.trigger, app: "sleepy", id: "first", key: "k")
        _ = try await fleet.recorder.waitForCount(1)
        #expect(metricSum(try await metrics(), "chatfn_applications_served") == 1)
        try await eventually("the idle application stopped") {
            let page = try await metrics()
            return metricSum(page, "chatfn_applications_served") == 0 && metricSum(page, "chatfn_workers", ["app": "sleepy", "lane": "events"]) == 0
        }
        try await fleet.publish(Self.trigger, app: "sleepy", id: "second", key: "k")
        let runs = try await fleet.recorder.waitForCount(2)
        #expect(runs.last?["eventId"] as? String == "second")
    }

    @Test("every kind of response the API gives matches the OpenAPI document it serves (jsonschema)")
    func responsesMatchTheDocument() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, api) = try await fleet.startControl()
        defer { control.signal(SIGTERM) }
        let samples = Locked<[[String: any Sendable]]>([])
        /// Calls `template` (the document's path) with its parameters filled in, and keeps the response.
        @discardableResult
        func call(_ method: String, _ template: String, _ parameters: [String: String] = [:], token: String? = ControlFleet.fullToken,
                  json: Any? = nil) async throws -> APIResponse {
            let path = parameters.reduce(template) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
            let response = try await callAPI(method, "\(api)\(path)", token: token, json: json)
            let body: (any Sendable)? = response.text.isEmpty ? nil : response.text
            samples.withLock { $0.append(["method": method, "path": template, "status": response.status, "body": body]) }
            return response
        }
        let app = ["app": "shapes"], function = ["app": "shapes", "trigger": "user.received.notification"]
        try await call("GET", "/v1/applications")
        try await call("PUT", "/v1/applications/{app}", app)
        try await call("PUT", "/v1/applications/{app}", app)
        try await call("GET", "/v1/applications/{app}", app)
        try await call("GET", "/v1/applications/{app}", ["app": "missing"])
        try await call("GET", "/v1/applications", token: nil)
        try await call("PUT", "/v1/applications/{app}", ["app": "other"], token: ControlFleet.readToken)
        try await call("PUT", "/v1/applications/{app}", ["app": "bad..name"])
        let source = "async function handleEvent(event, context) { console.log('hi'); context.emit('x.y', { a: 1 }); return { ok: true }; }"
        try await call("POST", "/v1/applications/{app}/functions/{trigger}/versions", function, json: ["handlerScript": source, "language": "javascript"])
        let once = try await call("POST", "/v1/applications/{app}/functions/{trigger}/versions", function,
                                  json: ["handlerScript": source, "requestId": "save-42"])
        let again = try await call("POST", "/v1/applications/{app}/functions/{trigger}/versions", function,
                                   json: ["handlerScript": source, "requestId": "save-42"])
        #expect(once.object["versionNumber"] as? Int == 2 && again.object["versionNumber"] as? Int == 2, "a retried save is the same version")
        try await call("POST", "/v1/applications/{app}/functions/{trigger}/versions", function, json: ["handlerScript": "function ("])
        try await call("POST", "/v1/applications/{app}/functions/{trigger}/versions", function, json: ["language": "javascript"])
        try await call("GET", "/v1/applications/{app}/functions", app)
        try await call("PUT", "/v1/applications/{app}/functions/{trigger}/settings", function, json: ["timeoutMs": 5_000, "maxAttempts": 2])
        try await call("PUT", "/v1/applications/{app}/functions/{trigger}/settings", function, json: ["timeoutMs": -1])
        try await call("GET", "/v1/applications/{app}/functions/{trigger}/versions", function)
        try await call("GET", "/v1/applications/{app}/functions/{trigger}/versions/{number}", function.merging(["number": "1"]) { $1 })
        try await call("GET", "/v1/applications/{app}/functions/{trigger}/current-version", function)
        try await call("POST", "/v1/applications/{app}/functions/{trigger}/rollback", function, json: ["versionNumber": 1])
        #expect(try await callAPI("GET", "\(api)/v1/applications/shapes/functions/user.received.notification/versions").array.count == 3)
        try await call("POST", "/v1/applications/{app}/functions/{trigger}/test", function, json: ["event": ["a": 1]])
        try await call("POST", "/v1/applications/{app}/functions/{trigger}/test", function,
                       json: ["event": [:], "handlerScript": "async function handleEvent() { throw new Error('no'); }"])
        try await call("POST", "/v1/applications/{app}/functions/{trigger}/test", ["app": "shapes", "trigger": "user.attempted.start_session"],
                       json: ["event": ["username": "ada"], "handlerScript": "async function handleEvent(e) { return { user: { displayName: e.username } }; }"])
        try await call("GET", "/v1/applications/{app}/functions/{trigger}/invocations", function)
        try await call("GET", "/v1/applications/{app}/invocations", app)
        try await call("PUT", "/v1/applications/{app}/runtime/environment-variables", app, json: ["A": "b"])
        try await call("PUT", "/v1/applications/{app}/runtime/environment-variables", app, json: ["NODE_OPTIONS": "--x"])
        try await call("PUT", "/v1/applications/{app}/runtime/initialization-script", app, json: ["script": "module.exports = { ready: true };"])
        try await call("PUT", "/v1/applications/{app}/runtime/options", app, json: ["minWarm": 1])
        try await call("PUT", "/v1/applications/{app}/runtime/dependencies", app, json: [] as [Any])
        try await call("GET", "/v1/applications/{app}/runtime", app)
        try await call("PUT", "/v1/applications/{app}/secrets/{name}", app.merging(["name": "API_KEY"]) { $1 }, json: ["value": "v4lue"])
        try await call("GET", "/v1/applications/{app}/secrets", app)
        try await call("DELETE", "/v1/applications/{app}/secrets/{name}", app.merging(["name": "API_KEY"]) { $1 })
        try await call("GET", "/v1/applications/{app}/dead-letters", app)
        try await call("POST", "/v1/applications/{app}/dead-letters/replay", app, json: [:] as [String: Any])
        try await call("DELETE", "/v1/applications/{app}/functions/{trigger}", function)
        try await call("GET", "/v1/openapi.json", token: nil)
        let session = try await call("GET", "/v1/session", token: ControlFleet.readToken)
        #expect(session.object["canChange"] as? Bool == false, "\(session.text)")
        try await call("GET", "/v1/session")
        try await call("GET", "/v1/session", token: nil)
        let triggers = try await call("GET", "/v1/triggers")
        #expect(triggers.array.count == 10 && triggers.array.allSatisfy { ($0["exampleEvent"] as? String).map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil } == true },
                "every known trigger with an example event that is JSON: \(triggers.text)")
        try await call("DELETE", "/v1/applications/{app}", app)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-api-samples-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let samplesFile = directory.appendingPathComponent("samples.json")
        let parsed = samples.withLock { $0 }.map { sample -> [String: Any] in
            var sample: [String: Any] = sample
            sample["body"] = (sample["body"] as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8), options: [.fragmentsAllowed]) } ?? NSNull()
            return sample
        }
        try JSONSerialization.data(withJSONObject: parsed).write(to: samplesFile)
        let documentFile = directory.appendingPathComponent("openapi.json")
        try Data(try await callAPI("GET", "\(api)/v1/openapi.json", token: nil).text.utf8).write(to: documentFile)
        let (status, output) = try await ChatfnProcess.run(
            [ChatfnProcess.packageRoot.appendingPathComponent("scripts/check-api-responses.py").path, documentFile.path, samplesFile.path],
            executable: try ChatfnProcess.bootstrapPython())
        #expect(status == 0, "\(output)")
        #expect(output.contains("\(parsed.count) responses checked, 0 problem(s)"), "\(output)")
    }

    @Test("chatfn dev pushes what changed in its directory: a version saved through its API stays live until its own file changes")
    func devKeepsWhatTheAPIChanged() async throws {
        let lane = try await LaneFixture.make(functions: ["test.a": Self.taggedFunction("a1"), "test.b": Self.taggedFunction("b1")])
        defer { Task { await lane.tearDown() } }
        let chatfn = try lane.startChatfn(["--log-level", "info"], includingErrors: true)
        defer { chatfn.signal(SIGTERM) }
        try await eventually("the API announced") { chatfn.stdout.contains("chatfn: API on http://") }
        let announced = try #require(chatfn.stdout.split(separator: "\n").first { $0.hasPrefix("chatfn: API on ") })
        let api = String(try #require(announced.split(separator: " ").first { $0.hasPrefix("http://") }))
        let versions = "\(api)/v1/applications/default/functions/test.a/versions"
        #expect(try await callAPI("POST", versions, json: ["handlerScript": Self.taggedFunction("from-api")]).object["versionNumber"] as? Int == 2)

        // Another function's file changes: that one is pushed, test.a is left as the API made it.
        try lane.application.write(trigger: "test.b", source: Self.taggedFunction("b2"))
        try await eventually("test.b pushed again") { chatfn.stdout.contains("deployed test.b version 2") }
        let current = try await callAPI("GET", "\(api)/v1/applications/default/functions/test.a/current-version").object
        #expect(current["versionNumber"] as? Int == 2)
        #expect((current["handlerScript"] as? String)?.contains("from-api") == true)

        // Its own file changing pushes it again.
        try lane.application.write(trigger: "test.a", source: Self.taggedFunction("a2"))
        try await eventually("test.a pushed from its file") { chatfn.stdout.contains("deployed test.a version 3") }
    }

    @Test("a registry topic of more than one partition stops the control plane with a clear message")
    func registryTopicChecked() async throws {
        let broker = try EmbeddedKafkaBroker()
        for topic in LaneFixture.topics { try broker.createTopic(topic, partitions: 2) }
        try broker.createTopic("chatfn.registry", partitions: 3)
        try broker.createTopic("chatfn.audit", partitions: 1)
        let port = try await freeLocalPort()
        let control = try ChatfnProcess(["control", "--kafka", broker.bootstrapServers, "--listen", "127.0.0.1:\(port)"],
                                        environment: ["CHATFN_SECRETS_KEY": ControlFleet.secretsKey], includingErrors: true)
        #expect(try await control.waitForExit() != 0)
        #expect(control.stdout.contains("chatfn.registry has 3 partitions: it must have exactly 1"), "\(control.stdout)")
    }

    @Test("SIGTERM while chatfn dev is still starting (its broker up, the registry not read yet) ends it cleanly")
    func sigtermWhileStarting() async throws {
        let fixture = try FunctionsFixture(functions: ["test.x": Self.taggedFunction("x")])
        defer { fixture.remove() }
        let chatfn = try ChatfnProcess(["dev", "--functions", fixture.root.path, "--listen", "127.0.0.1:0"],
                                       environment: ["CHATFN_HOME": fixture.root.appendingPathComponent(".home").path])
        try await eventually("the embedded broker started") { chatfn.stdout.contains("embedded Kafka broker listening on") }
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
