import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Testing
import Workers

/// The chat runtime around a function: confinement, the init script, limits — through the same catalog
/// and worker configuration `chatfn dev` uses.
@Suite("Chat runtime")
struct RuntimeTests {
    private func text(_ result: InvocationResult) -> String { String(decoding: result.value ?? [], as: UTF8.self) }

    @Test("functions read only their application, write only their private scratch directory, and spawn nothing")
    func confinement() async throws {
        let fixture = try FunctionsFixture(functions: ["test.probe": """
            const fs = require('fs'), os = require('os'), path = require('path');
            function attempt(action) { try { action(); return 'ok'; } catch (error) { return error.code ?? error.message; } }
            module.exports = async () => ({
              ownCode: attempt(() => fs.readFileSync(path.join(__dirname, '..', 'chatfn.json'))),
              etcPasswd: attempt(() => fs.readFileSync('/etc/passwd')),
              writeScratch: attempt(() => fs.writeFileSync(path.join(os.tmpdir(), 'scratch.txt'), 'x')),
              writeCode: attempt(() => fs.writeFileSync(path.join(__dirname, 'evil.js'), 'x')),
              spawn: attempt(() => require('child_process').execSync('true')),
              thread: attempt(() => new (require('worker_threads').Worker)('1', { eval: true })),
              homeIsScratch: process.env.HOME === os.tmpdir(),
            });
            """])
        try await withApplicationPool(fixture) { pool, catalog in
            let result = try await invoke(pool, catalog, "test.probe")
            #expect(text(result) == #"{"ownCode":"ok","etcPasswd":"ERR_ACCESS_DENIED","writeScratch":"ok","writeCode":"ERR_ACCESS_DENIED","spawn":"ERR_ACCESS_DENIED","thread":"ERR_ACCESS_DENIED","homeIsScratch":true}"#)
        }
    }

    @Test("the init script runs once per process; what it exports is context.init; context.env is the runtime environment")
    func initScriptRunsOnce() async throws {
        let fixture = try FunctionsFixture(
            functions: ["test.init": "module.exports = async (event, context) => ({ runs: globalThis.initRuns, token: context.init.token, greeting: context.env.GREETING });"],
            environment: ["GREETING": "hello"],
            initScript: "globalThis.initRuns = (globalThis.initRuns ?? 0) + 1; module.exports = { token: 'tok-' + process.env.GREETING };")
        try await withApplicationPool(fixture) { pool, catalog in
            for _ in 0..<3 {
                let result = try await invoke(pool, catalog, "test.init")
                #expect(text(result) == #"{"runs":1,"token":"tok-hello","greeting":"hello"}"#)
            }
        }
    }

    @Test("a throwing init script fails every invocation with its error, without crash-looping the process")
    func failingInitScript() async throws {
        let fixture = try FunctionsFixture(
            functions: ["test.init": "module.exports = async () => 'never';"],
            initScript: "throw new Error('firebase credentials missing');")
        try await withApplicationPool(fixture) { pool, catalog in
            let first = try await invoke(pool, catalog, "test.init")
            let second = try await invoke(pool, catalog, "test.init")
            for result in [first, second] {
                #expect(result.status == .failed && result.error?.name == "InitScriptError")
                #expect(result.error?.message.contains("firebase credentials missing") == true)
                #expect(result.error?.stack?.contains("init.js:1") == true)
            }
            #expect(first.workerPid == second.workerPid)
        }
    }

    @Test("a memory bomb crashes only its process; an unhandled rejection and a syntax error are contained")
    func failuresAreContained() async throws {
        let fixture = try FunctionsFixture(
            functions: [
                "test.bomb": "module.exports = async () => { const hoard = []; while (true) hoard.push(new Array(1e5).fill(Math.random())); };",
                "test.reject": "module.exports = async () => { Promise.reject(new Error('nobody listens')); return 'returned'; };",
                "test.syntax": "async function handleEvent(event) {\n  return {{ };\n}",
                "test.ok": "module.exports = async () => process.pid;",
            ],
            settings: ["test.bomb": ["memoryMb": 64]])
        try await withApplicationPool(fixture) { pool, catalog in
            let bomb = try await invoke(pool, catalog, "test.bomb", timeout: .seconds(30))
            #expect(bomb.status == .crashed)
            let afterBomb = try await invoke(pool, catalog, "test.ok")
            #expect(afterBomb.status == .succeeded && afterBomb.workerPid != bomb.workerPid)

            let rejected = try await invoke(pool, catalog, "test.reject")
            #expect(rejected.status == .succeeded && text(rejected) == #""returned""#)
            let syntax = try await invoke(pool, catalog, "test.syntax")
            #expect(syntax.status == .failed && syntax.error?.name == "FunctionLoadError")
            #expect(syntax.error?.stack?.contains("test.syntax.js:2") == true, "\(syntax.error?.stack ?? "")")
            let afterAll = try await invoke(pool, catalog, "test.ok")
            #expect(afterAll.status == .succeeded && afterAll.workerPid == afterBomb.workerPid, "the rejection and the syntax error cost no process")
        }
    }

    @Test("processes are recycled after N invocations")
    func recycling() async throws {
        let fixture = try FunctionsFixture(functions: ["test.ok": "module.exports = async () => process.pid;"])
        try await withApplicationPool(fixture, recycleAfter: 2) { pool, catalog in
            var pids: [Int32?] = []
            for _ in 0..<3 { pids.append(try await invoke(pool, catalog, "test.ok").workerPid) }
            #expect(pids[0] == pids[1] && pids[2] != pids[0])
        }
    }

    @Test("200 concurrent async invocations in one process keep their logs apart")
    func manyConcurrentInvocations() async throws {
        let fixture = try FunctionsFixture(functions: ["test.many": """
            module.exports = async (event, context) => {
              console.log(`start ${event.n}`);
              await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
              context.log(`end ${event.n}`);
              return event.n;
            };
            """])
        try await withApplicationPool(fixture) { pool, catalog in
            let results = try await withThrowingTaskGroup(of: (Int, InvocationResult).self) { group in
                for n in 0..<200 { group.addTask { (n, try await invoke(pool, catalog, "test.many", data: #"{"n":\#(n)}"#)) } }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(Set(results.values.compactMap(\.workerPid)).count == 1)
            let wrong = results.filter { n, result in result.logs.map(\.message) != ["start \(n)", "end \(n)"] || text(result) != "\(n)" }
            #expect(wrong.isEmpty, "invocations with another's logs or result: \(wrong.keys.sorted().prefix(5))")
        }
    }
}

@Suite("Runtime dependencies")
struct RuntimeDependencyTests {
    @Test("dependencies install with real npm from a registry, once per machine, and functions require them; a failed install keeps the previous runtime")
    func npmDependencies() async throws {
        let registry = try await LocalNpmRegistry.start(serving: [
            (name: "chatfn-greeter", version: "1.0.0", code: "exports.greet = (name) => `hello, ${name}`;"),
            (name: "chatfn-greeter", version: "1.1.0", code: "exports.greet = (name) => `hi, ${name}`;"),
        ])
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let installer = RuntimeInstaller(cacheRoot: cache)
        let fixture = try FunctionsFixture(functions: [
            "test.greet": "const { greet } = require('chatfn-greeter'); module.exports = async (event) => greet(event.name);",
        ])
        defer { fixture.remove() }
        func writeManifest(_ version: String) throws {
            let manifest: [String: Any] = ["runtime": ["dependencies": ["chatfn-greeter": version], "npmRegistry": registry.url]]
            try JSONSerialization.data(withJSONObject: manifest).write(to: fixture.root.appendingPathComponent("chatfn.json"))
        }
        try writeManifest("1.0.0")
        let catalog = try await FunctionCatalog(directory: fixture.root.path, logger: testLogger)
        #expect(try await catalog.prepareRuntime(installer: installer))
        let pool = WorkerPool(configuration: WorkerPoolConfiguration(worker: try await catalog.workerConfiguration(), minWarm: 0, maxProcesses: 1),
                              logger: testLogger)
        func greet() async throws -> String {
            let function = try #require(catalog.function(for: "test.greet"))
            let result = await pool.invoke(function.invocation(
                id: UUID().uuidString, event: CloudEventAttributes(id: "e", type: "test.greet", source: "tests"),
                mode: .binary, attempt: 1, timeout: .seconds(10), payload: Array(#"{"name":"ada"}"#.utf8)))
            return String(decoding: result.value ?? [], as: UTF8.self) + (result.error.map { " \($0.message)" } ?? "")
        }
        #expect(try await greet() == #""hello, ada""#)
        let runtimes = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("runtimes").path)
        #expect(runtimes.count == 1)
        #expect(FileManager.default.fileExists(atPath: cache.appendingPathComponent("runtimes/\(runtimes[0])/package-lock.json").path), "lockfile kept")

        // The same dependencies on this machine: no second install.
        let requestsBefore = registry.requestCount
        let sibling = try await FunctionCatalog(directory: fixture.root.path, logger: testLogger)
        try await sibling.prepareRuntime(installer: installer)
        #expect(registry.requestCount == requestsBefore)

        // A version the registry lacks: npm's message, and the installed runtime keeps serving.
        try writeManifest("9.9.9")
        let deployer = FunctionDeployer(catalog: catalog, pools: [pool], installer: installer, logger: testLogger)
        await deployer.deployChanges()
        await #expect {
            try await catalog.prepareRuntime(installer: installer)
        } throws: { error in
            "\(error)".contains("npm install failed") && "\(error)".contains("chatfn-greeter")
        }
        #expect(try await greet() == #""hello, ada""#)

        // A version it has: deployed onto fresh processes.
        try writeManifest("1.1.0")
        await deployer.deployChanges()
        #expect(try await greet() == #""hi, ada""#)
        await pool.shutdown()
        await registry.shutdown()
    }
}

@Suite("TypeScript and ES modules")
struct CompiledFunctionTests {
    @Test("TypeScript with a type-only import and ES-module exports run; errors point at the source's own lines")
    func typescriptAndModules() async throws {
        let fixture = try FunctionsFixture(functions: [:])
        defer { fixture.remove() }
        let functions = fixture.root.appendingPathComponent("functions")
        try Data("export interface Notification { title: string }\n".utf8).write(to: fixture.root.appendingPathComponent("types.ts"))
        try Data("""
            import type { Notification } from '../types';
            interface Event { user: { name: string }; notification: Notification }

            async function handleEvent(event: Event, context: any): Promise<string> {
              const title: string = event.notification.title;
              if (title === 'boom') throw new Error('typed failure');
              return `${event.user.name}: ${title}`;
            }
            """.utf8).write(to: functions.appendingPathComponent("test.typed.ts"))
        try Data("export default async function (event) { return { module: 'esm', n: event.n }; }\n".utf8)
            .write(to: functions.appendingPathComponent("test.esm.mjs"))
        try Data("const broken: = 3;\n".utf8).write(to: functions.appendingPathComponent("test.broken.ts"))

        let catalog = try await FunctionCatalog(directory: fixture.root.path, logger: testLogger)
        let problem = try #require(catalog.problem(for: "test.broken"))
        #expect(problem.contains("test.broken.ts:1:15: Unexpected \"=\""), "1-based: \(problem)")
        #expect(catalog.function(for: "test.broken") == nil)

        let pool = WorkerPool(configuration: WorkerPoolConfiguration(worker: try await catalog.workerConfiguration(), minWarm: 0, maxProcesses: 1),
                              logger: testLogger)
        func run(_ trigger: String, _ data: String) async throws -> InvocationResult {
            let function = try #require(catalog.function(for: trigger))
            return await pool.invoke(function.invocation(
                id: UUID().uuidString, event: CloudEventAttributes(id: "e", type: trigger, source: "tests"),
                mode: .binary, attempt: 1, timeout: .seconds(10), payload: Array(data.utf8)))
        }
        let typed = try await run("test.typed", #"{"user":{"name":"ada"},"notification":{"title":"hi"}}"#)
        #expect(String(decoding: typed.value ?? [], as: UTF8.self) == #""ada: hi""#)
        let failing = try await run("test.typed", #"{"user":{"name":"ada"},"notification":{"title":"boom"}}"#)
        #expect(failing.status == .failed)
        #expect(failing.error?.stack?.contains("test.typed.ts:6") == true, "\(failing.error?.stack ?? "")")
        #expect(failing.error?.stack?.contains("harness.js") == false && failing.error?.stack?.contains("node:internal") == false,
                "the user's frames only: \(failing.error?.stack ?? "")")
        let esm = try await run("test.esm", #"{"n":7}"#)
        #expect(String(decoding: esm.value ?? [], as: UTF8.self) == #"{"module":"esm","n":7}"#)
        await pool.shutdown()
    }
}

@Suite("The platform API client")
struct PlatformAPITests {
    @Test("context.api sends the bearer token it never shows, retries 429 and 5xx, and fails clearly otherwise")
    func platformClient() async throws {
        let received = Locked<[ReceivedRequest]>([])
        let failuresLeft = Locked(2)
        let platform = try await TestHTTPServer.start { request in
            received.withLock { $0.append(request) }
            if request.path.hasSuffix("/missing") { return (.notFound, "application/json", Array(#"{"error":"no such user"}"#.utf8)) }
            let fail = failuresLeft.withLock { left in
                defer { left -= 1 }
                return left > 0
            }
            if fail { return (.serviceUnavailable, "text/plain", Array("busy".utf8)) }
            return (.ok, "application/json", Array(#"{"id":42,"echo":\#(String(decoding: request.body, as: UTF8.self).isEmpty ? "null" : String(decoding: request.body, as: UTF8.self))}"#.utf8))
        }
        setenv("CHATFN_PLATFORM_TOKEN_TEST", "s3cret", 1)
        let fixture = try FunctionsFixture(functions: [
            "test.api": """
                module.exports = async (event, context) => {
                  const created = await context.api.post('v1/users', { name: event.name });
                  let missing;
                  try { await context.api.get('v1/users/missing'); } catch (error) { missing = { status: error.status, message: error.message }; }
                  return { created, missing, tokenVisible: JSON.stringify(process.env).includes('s3cret') };
                };
                """,
        ])
        defer { fixture.remove() }
        let manifest: [String: Any] = ["runtime": ["platform": ["baseUrl": "\(platform.baseURL)/api", "tokenEnv": "CHATFN_PLATFORM_TOKEN_TEST"]]]
        try JSONSerialization.data(withJSONObject: manifest).write(to: fixture.root.appendingPathComponent("chatfn.json"))
        let catalog = try await FunctionCatalog(directory: fixture.root.path, logger: testLogger)
        let worker = try await WorkerProcess.launch(configuration: try await catalog.workerConfiguration(), logger: testLogger)
        let function = try #require(catalog.function(for: "test.api"))
        let result = await worker.invoke(function.invocation(
            id: "api", event: CloudEventAttributes(id: "e", type: "test.api", source: "tests"), mode: .binary, attempt: 1,
            timeout: .seconds(20), payload: Array(#"{"name":"ada"}"#.utf8)))
        await worker.shutdown()
        await platform.shutdown()
        let value = try #require(try JSONSerialization.jsonObject(with: Data(result.value ?? [])) as? [String: Any])
        #expect((value["created"] as? [String: Any])?["id"] as? Int == 42)
        #expect(((value["created"] as? [String: Any])?["echo"] as? [String: Any])?["name"] as? String == "ada")
        let missing = try #require(value["missing"] as? [String: Any])
        #expect(missing["status"] as? Int == 404)
        #expect((missing["message"] as? String)?.contains("GET /api/v1/users/missing answered 404") == true)
        #expect(value["tokenVisible"] as? Bool == false)
        let requests = received.withLock { $0 }
        #expect(requests.filter { $0.path == "/api/v1/users" }.count == 3, "two 503s retried, then the success")
        #expect(requests.allSatisfy { $0.headers["authorization"] == "Bearer s3cret" })
    }
}

@Suite("Runtime settings")
struct RuntimeSettingsTests {
    @Test("chatfn.json sizes the pools: min warm, max processes, recycling; memoryMb and concurrency stay each function's")
    func poolSizing() async throws {
        let fixture = try FunctionsFixture(
            functions: ["a.b": "module.exports = async () => 1;", "c.d": "module.exports = async () => 2;"],
            settings: ["a.b": ["concurrency": 8], "c.d": ["concurrency": 32, "memoryMb": 128]])
        defer { fixture.remove() }
        let manifest: [String: Any] = [
            "runtime": ["minWarm": 2, "maxProcesses": 3, "recycleAfter": 50],
            "functions": ["a.b": ["concurrency": 8], "c.d": ["concurrency": 32, "memoryMb": 128]],
        ]
        try JSONSerialization.data(withJSONObject: manifest).write(to: fixture.root.appendingPathComponent("chatfn.json"))
        let catalog = try await FunctionCatalog(directory: fixture.root.path, logger: testLogger)
        let worker = try await catalog.workerConfiguration()
        let pool = catalog.poolConfiguration(worker: worker, minWarm: 1, maxProcesses: 1)
        #expect(pool.minWarm == 2 && pool.maxProcesses == 3 && pool.recycleAfter == 50 && pool.concurrencyPerProcess == 64)
        #expect(worker.memoryLimitMb == FunctionSettings.defaultMemoryMb, "each pool sets its own (WorkerPools)")
        #expect(catalog.function(for: "c.d")?.settings.memoryLimitMb == 128 && catalog.function(for: "a.b")?.settings.concurrency == 8)

        let invalid: [String: Any] = ["functions": ["a.b": ["concurrency": 0]]]
        try JSONSerialization.data(withJSONObject: invalid).write(to: fixture.root.appendingPathComponent("chatfn.json"))
        await #expect(throws: CatalogError.self) { try await catalog.reload() }
    }
}
