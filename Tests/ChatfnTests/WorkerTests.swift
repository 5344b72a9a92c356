import Foundation
import Testing
import Workers

@Suite("Node workers")
struct WorkerTests {
    let configuration: WorkerConfiguration

    init() throws {
        configuration = try WorkerConfiguration()
    }

    /// Runs `body` with a fresh worker serving `functions`, then stops the worker.
    private func withWorker(_ functions: [String: String], _ body: (WorkerProcess, FunctionsFixture) async throws -> Void) async throws {
        let fixture = try FunctionsFixture(functions: functions)
        defer { fixture.remove() }
        let worker = try await WorkerProcess.launch(configuration: configuration, logger: testLogger)
        try await body(worker, fixture)
        await worker.shutdown()
    }

    private func request(_ fixture: FunctionsFixture, _ trigger: String, data: String, id: String = UUID().uuidString,
                         timeout: Duration = .seconds(10), encoding: EventEncoding = .binary) -> InvocationRequest {
        InvocationRequest(
            invocationId: id, functionFile: fixture.file(for: trigger).path, functionVersion: "v1", trigger: trigger,
            eventId: "event-\(id)", appId: "default", timeout: timeout, encoding: encoding, payload: Array(data.utf8))
    }

    @Test("timeouts of different lengths in flight at once each end at their own deadline, and the others succeed")
    func timeoutsOfDifferentLengths() async throws {
        try await withWorker(["test.sleep": "module.exports = (event) => new Promise((resolve) => setTimeout(resolve, event.ms));"]) { worker, fixture in
            // Later invocations have earlier deadlines, so the one sweep in flight must move earlier.
            let cases: [(sleepMs: Int, timeoutMs: Int)] = (0..<30).map { n in n % 3 == 0 ? (100, 3_000) : (3_000, 1_500 - n * 40) }
            let results = await withTaskGroup(of: (Int, InvocationResult).self) { group in
                for (index, item) in cases.enumerated() {
                    group.addTask {
                        (index, await worker.invoke(request(fixture, "test.sleep", data: #"{"ms":\#(item.sleepMs)}"#, timeout: .milliseconds(item.timeoutMs))))
                    }
                }
                return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            for (index, item) in cases.enumerated() {
                let result = try #require(results[index])
                if item.sleepMs < item.timeoutMs {
                    #expect(result.status == .succeeded, "case \(index)")
                } else {
                    #expect(result.status == .timeout, "case \(index)")
                    let ms = result.duration.fractionalMilliseconds
                    #expect(ms >= Double(item.timeoutMs) && ms < Double(item.timeoutMs) + 500, "case \(index): ended after \(ms) ms, timeout \(item.timeoutMs)")
                }
            }
        }
    }

    @Test("two invocations in flight in one process keep their console output apart")
    func logsStayWithTheirInvocation() async throws {
        try await withWorker(["test.interleave": """
            module.exports = async (event, context) => {
              console.log(`${event.name} start`);
              await new Promise((resolve) => setTimeout(resolve, event.delayMs));
              process.stdout.write(`${event.name} stdout\\n`);
              console.error(`${event.name} end`);
              context.log.warn(`${event.name} via context`);
              return { name: event.name, eventId: context.eventId };
            };
            """]) { worker, fixture in
            async let slow = worker.invoke(request(fixture, "test.interleave", data: #"{"name":"A","delayMs":150}"#, id: "a"))
            async let fast = worker.invoke(request(fixture, "test.interleave", data: #"{"name":"B","delayMs":10}"#, id: "b"))
            let (a, b) = await (slow, fast)
            #expect(a.status == .succeeded && b.status == .succeeded)
            #expect(a.workerPid == b.workerPid)
            #expect(a.logs == [.init(level: "info", message: "A start"), .init(level: "info", message: "A stdout"),
                               .init(level: "error", message: "A end"), .init(level: "warn", message: "A via context")])
            #expect(b.logs.map(\.message) == ["B start", "B stdout", "B end", "B via context"])
            #expect(String(decoding: a.value ?? [], as: UTF8.self) == #"{"name":"A","eventId":"event-a"}"#)
        }
    }

    @Test("ChatKitty's top-level handleEvent, module.exports and exports.handleEvent all run")
    func functionStyles() async throws {
        try await withWorker([
            "style.toplevel": "async function handleEvent(event, context) { return { style: 'toplevel', trigger: context.trigger, n: event.n }; }",
            "style.module": "module.exports = async (event) => ({ style: 'module', n: event.n });",
            "style.exports": "exports.handleEvent = async (event) => ({ style: 'exports', n: event.n });",
            "style.none": "const unused = 1;",
        ]) { worker, fixture in
            let toplevel = await worker.invoke(request(fixture, "style.toplevel", data: #"{"n":1}"#))
            #expect(String(decoding: toplevel.value ?? [], as: UTF8.self) == #"{"style":"toplevel","trigger":"style.toplevel","n":1}"#)
            let module = await worker.invoke(request(fixture, "style.module", data: #"{"n":2}"#))
            #expect(String(decoding: module.value ?? [], as: UTF8.self) == #"{"style":"module","n":2}"#)
            let exports = await worker.invoke(request(fixture, "style.exports", data: #"{"n":3}"#))
            #expect(String(decoding: exports.value ?? [], as: UTF8.self) == #"{"style":"exports","n":3}"#)
            let none = await worker.invoke(request(fixture, "style.none", data: "{}"))
            #expect(none.status == .failed)
            #expect(none.error?.message.contains("defines no handleEvent") == true)
        }
    }

    @Test("a throw fails the invocation with message and a stack pointing at the function's own line")
    func failureCarriesStack() async throws {
        try await withWorker(["test.throws": """
            async function handleEvent(event, context) {
              console.log('about to fail');
              throw new Error(`no push token for ${event.user}`);
            }
            """]) { worker, fixture in
            let result = await worker.invoke(request(fixture, "test.throws", data: #"{"user":"ada"}"#))
            #expect(result.status == .failed)
            #expect(result.error?.message == "no push token for ada")
            #expect(result.error?.stack?.contains("\(fixture.file(for: "test.throws").path):3") == true)
            #expect(result.logs.map(\.message) == ["about to fail"])
        }
    }

    @Test("event data that is not JSON is reported as invalid_event, and a structured CloudEvent yields its data")
    func eventDecoding() async throws {
        try await withWorker(["test.echo": "module.exports = async (event) => event;"]) { worker, fixture in
            let invalid = await worker.invoke(request(fixture, "test.echo", data: "not json"))
            #expect(invalid.status == .invalidEvent)
            #expect(invalid.error?.message.contains("not valid JSON") == true)
            let structured = await worker.invoke(request(
                fixture, "test.echo", data: #"{"specversion":"1.0","id":"1","type":"test.echo","source":"s","data":{"x":1}}"#,
                encoding: .structured))
            #expect(String(decoding: structured.value ?? [], as: UTF8.self) == #"{"x":1}"#)
        }
    }

    @Test("a function that never settles times out, and the worker keeps serving")
    func timeout() async throws {
        try await withWorker([
            "test.hang": "module.exports = () => new Promise(() => {});",
            "test.ok": "module.exports = async () => 'ok';",
        ]) { worker, fixture in
            let hung = await worker.invoke(request(fixture, "test.hang", data: "{}", timeout: .milliseconds(300)))
            #expect(hung.status == .timeout)
            #expect(hung.error?.message.contains("did not finish within") == true)
            let next = await worker.invoke(request(fixture, "test.ok", data: "{}"))
            #expect(next.status == .succeeded)
        }
    }

    @Test("a process that exits mid-invocation yields crashed, and the pool replaces it")
    func crashIsContained() async throws {
        let fixture = try FunctionsFixture(functions: [
            "test.exit": "module.exports = async () => { setTimeout(() => process.exit(3), 20); await new Promise(() => {}); };",
            "test.ok": "module.exports = async () => process.pid;",
        ])
        defer { fixture.remove() }
        let pool = WorkerPool(configuration: WorkerPoolConfiguration(worker: configuration, minWarm: 1, maxProcesses: 1), logger: testLogger)
        try await pool.prewarm()
        let crashed = await pool.invoke(request(fixture, "test.exit", data: "{}"))
        #expect(crashed.status == .crashed)
        #expect(crashed.error?.message.contains("worker process") == true)
        let next = await pool.invoke(request(fixture, "test.ok", data: "{}"))
        #expect(next.status == .succeeded)
        #expect(next.coldStart)
        #expect(next.workerPid != crashed.workerPid)
        // In a PID namespace of its own, the worker is process 1 of that namespace.
        let expectedPid = configuration.isolation.hasNamespaces ? "1" : "\(next.workerPid ?? -1)"
        #expect(String(decoding: next.value ?? [], as: UTF8.self) == expectedPid)
        await pool.shutdown()
    }

    @Test("functions see the declared environment and none of chatfn's own")
    func environmentIsIsolated() async throws {
        setenv("CHATFN_TEST_SECRET", "do-not-leak", 1)
        let fixture = try FunctionsFixture(functions: [
            "test.env": "module.exports = async () => ({ secret: process.env.CHATFN_TEST_SECRET ?? null, declared: process.env.DECLARED });",
        ])
        defer { fixture.remove() }
        let isolated = try WorkerConfiguration(environment: WorkerConfiguration.baseEnvironment().merging(["DECLARED": "yes"]) { $1 })
        let worker = try await WorkerProcess.launch(configuration: isolated, logger: testLogger)
        let result = await worker.invoke(request(fixture, "test.env", data: "{}"))
        #expect(String(decoding: result.value ?? [], as: UTF8.self) == #"{"secret":null,"declared":"yes"}"#)
        await worker.shutdown()
    }
}

@Suite("Harness input")
struct HarnessInputTests {
    @Test("invocations that arrive in the same read as the end of input all finish before the harness exits")
    func endOfInputWaitsForQueuedInvocations() async throws {
        let fixture = try FunctionsFixture(functions: ["test.ok": "module.exports = async () => 1;"])
        defer { fixture.remove() }
        // A driver that writes a configure frame, 20 invocations and the end of input in one write, then
        // counts the succeeded results the harness sends before it exits.
        let driver = """
            const { spawn } = require('child_process');
            const [harness, file] = process.argv.slice(1);
            const child = spawn(process.execPath, [harness], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'] });
            const frame = (kind, header) => {
              const json = Buffer.from(JSON.stringify(header)), body = Buffer.from('{}');
              const prefix = Buffer.alloc(9);
              prefix.writeUInt32BE(5 + json.length + body.length, 0); prefix.writeUInt8(kind, 4); prefix.writeUInt32BE(json.length, 5);
              return Buffer.concat([prefix, json, body]);
            };
            const frames = [frame(3, {})];
            for (let n = 0; n < 20; n++) frames.push(frame(1, { id: 'i' + n, file, version: 'v1', trigger: 'test.ok', eventId: 'e' + n,
              appId: 'default', source: 'test', time: null, attempt: 1, deadline: Date.now() + 60000, mode: 'binary', init: null, initVersion: null }));
            child.stdio[3].end(Buffer.concat(frames));
            let pending = Buffer.alloc(0), succeeded = 0;
            child.stdio[4].on('data', (chunk) => {
              pending = Buffer.concat([pending, chunk]);
              while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
                const length = pending.readUInt32BE(0), kind = pending.readUInt8(4), idLength = pending.readUInt16BE(5);
                if (kind === 12 && pending.readUInt8(7 + idLength) === 0) succeeded += 1;
                pending = pending.subarray(4 + length);
              }
            });
            child.on('exit', (code) => { console.log(JSON.stringify({ succeeded, code })); });
            """
        let harness = try WorkerConfiguration().harnessPath
        let (status, output) = try await ChatfnProcess.run(["-e", driver, harness, fixture.file(for: "test.ok").path],
                                                           executable: URL(fileURLWithPath: "/usr/bin/node"))
        #expect(status == 0)
        #expect(output.contains(#"{"succeeded":20,"code":0}"#), "\(output)")
    }
}

@Suite("Blocked event loops")
struct BlockedEventLoopTests {
    @Test("a function that blocks the event loop gets its process killed; its neighbours end as crashed; the next invocation succeeds")
    func blockedLoopIsKilled() async throws {
        let fixture = try FunctionsFixture(functions: [
            "test.spin": "module.exports = async () => { while (true) {} };",
            "test.wait": "module.exports = () => new Promise((resolve) => setTimeout(resolve, 3000));",
            "test.ok": "module.exports = async () => process.pid;",
        ])
        defer { fixture.remove() }
        // A memory limit, which the message of a process chatfn killed must not blame.
        var limited = try WorkerConfiguration()
        limited.memoryLimitMb = 512
        let pool = WorkerPool(configuration: WorkerPoolConfiguration(worker: limited, minWarm: 1, maxProcesses: 1), logger: testLogger)
        try await pool.prewarm()
        func request(_ trigger: String, timeout: Duration) -> InvocationRequest {
            InvocationRequest(invocationId: UUID().uuidString, functionFile: fixture.file(for: trigger).path, functionVersion: "v1",
                              trigger: trigger, eventId: "e", appId: "default", timeout: timeout, payload: Array("{}".utf8))
        }
        async let neighbour = pool.invoke(request("test.wait", timeout: .seconds(30)))
        try await eventually("the neighbour in flight") { pool.workers.first?.inFlight == 1 }
        let spinning = await pool.invoke(request("test.spin", timeout: .milliseconds(300)))
        #expect(spinning.status == .timeout)
        let waited = await neighbour
        #expect(waited.status == .crashed, "the neighbour shared the blocked process: \(waited.status)")
        #expect(waited.workerPid == spinning.workerPid)
        #expect(waited.error?.message.contains("killed by chatfn") == true, "\(waited.error?.message ?? "")")
        let next = await pool.invoke(request("test.ok", timeout: .seconds(10)))
        #expect(next.status == .succeeded && next.workerPid != spinning.workerPid)
        await pool.shutdown()
    }

    @Test("a process busy with a burst of CPU-bound invocations is not taken for a blocked one: its timeouts do not kill it")
    func busyLoopIsNotKilled() async throws {
        // 30 invocations that spin 80 ms each, sent at once: 2.4 s of work, well past both their timeouts
        // and the blocked-loop probe's window, arriving in one or two reads of the pipe.
        let fixture = try FunctionsFixture(functions: [
            "test.burst": """
                module.exports = async () => {
                  const until = Date.now() + 80; while (Date.now() < until) {}
                  return process.pid;
                };
                """,
            "test.ok": "module.exports = async () => process.pid;",
        ])
        defer { fixture.remove() }
        let pool = WorkerPool(configuration: WorkerPoolConfiguration(worker: try WorkerConfiguration(), minWarm: 1, maxProcesses: 1), logger: testLogger)
        try await pool.prewarm()
        func request(_ trigger: String, timeout: Duration) -> InvocationRequest {
            InvocationRequest(invocationId: UUID().uuidString, functionFile: fixture.file(for: trigger).path, functionVersion: "v1",
                              trigger: trigger, eventId: "e", appId: "default", timeout: timeout, payload: Array("{}".utf8))
        }
        let results = await withTaskGroup(of: InvocationResult.self) { group in
            for _ in 0..<30 { group.addTask { await pool.invoke(request("test.burst", timeout: .milliseconds(500))) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(!results.contains { $0.status == .crashed }, "\(results.map { "\($0.status): \($0.error?.message ?? "")" })")
        #expect(results.contains { $0.status == .timeout }, "the burst outlasted its timeouts, so the probe ran")
        let next = await pool.invoke(request("test.ok", timeout: .seconds(10)))
        #expect(next.status == .succeeded && next.workerPid == results.first?.workerPid, "the same process serves on")
        await pool.shutdown()
    }
}
