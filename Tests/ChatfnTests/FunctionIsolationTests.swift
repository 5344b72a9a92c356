import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Testing
import Workers

/// What a hostile function must not reach (docs/security.md): chatfn's process, other applications'
/// workers, descriptors and secrets of chatfn's, anything outside its application; and the bounds on
/// what it can make chatfn hold.
@Suite("Function isolation")
struct FunctionIsolationTests {
    private func object(_ result: InvocationResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(result.value ?? []))) as? [String: Any] ?? [:]
    }

    @Test("a function cannot signal chatfn or another application's worker")
    func signalsStayInside() async throws {
        #expect(await WorkerIsolation.detected().hasNamespaces, "this machine runs the tests as root: namespaces must be available")
        let other = try FunctionsFixture(functions: ["test.ok": "module.exports = async () => 'alive';"])
        try await withApplicationPool(other) { otherPool, otherCatalog in
            #expect(try await invoke(otherPool, otherCatalog, "test.ok").status == .succeeded)
            let otherPid = try #require(otherPool.workers.first?.pid)
            let attacker = try FunctionsFixture(functions: [
                "test.kill": """
                    module.exports = async (event) => {
                      const tried = {};
                      for (const [name, pid] of Object.entries(event.targets)) {
                        try { process.kill(pid, 'SIGKILL'); tried[name] = 'sent'; } catch (error) { tried[name] = error.code; }
                      }
                      return { tried, ppid: process.ppid };
                    };
                    """,
                "test.stop": "module.exports = async () => { process.kill(process.ppid, 'SIGSTOP'); return 'stopped?'; };",
            ])
            try await withApplicationPool(attacker) { pool, catalog in
                let data = #"{"targets":{"chatfn":\#(getpid()),"otherApplication":\#(otherPid)}}"#
                let result = try await invoke(pool, catalog, "test.kill", data: data, timeout: .seconds(20))
                let tried = object(result)["tried"] as? [String: String]
                #expect(tried == ["chatfn": "ESRCH", "otherApplication": "ESRCH"], "\(object(result))")
                #expect(object(result)["ppid"] as? Int == 0, "the worker sees no parent")
                // SIGSTOP to its own process group reaches only the worker itself, the init of its namespace,
                // which the kernel does not stop: the pool goes on serving.
                let stopped = try await invoke(pool, catalog, "test.stop", timeout: .seconds(2))
                #expect(stopped.status == .succeeded, "\(stopped.status)")
                #expect(try await invoke(pool, catalog, "test.kill", data: data).status == .succeeded)
            }
            #expect(try await invoke(otherPool, otherCatalog, "test.ok").status == .succeeded, "the other application's worker lives")
            #expect(otherPool.workers.first?.pid == otherPid)
        }
    }

    @Test("a worker inherits no descriptor of chatfn's beyond 0-4, and its environment holds no platform token")
    func nothingInherited() async throws {
        var leaked: [Int32] = [0, 0]
        #expect(pipe(&leaked) == 0)  // not close-on-exec: a careless spawn would pass it on
        defer { close(leaked[0]); close(leaked[1]) }
        let leakedTarget = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(leaked[0])")
        setenv("CHATFN_PLATFORM_TOKEN_ISOLATION_TEST", "t0ken-\(UUID().uuidString)", 1)
        let token = String(cString: getenv("CHATFN_PLATFORM_TOKEN_ISOLATION_TEST"))
        let fixture = try FunctionsFixture(functions: ["test.ok": "module.exports = async () => 'ok';"])
        let manifest: [String: Any] = ["runtime": ["platform": ["baseUrl": "http://127.0.0.1:9/api", "tokenEnv": "CHATFN_PLATFORM_TOKEN_ISOLATION_TEST"]]]
        try JSONSerialization.data(withJSONObject: manifest).write(to: fixture.root.appendingPathComponent("chatfn.json"))
        try await withApplicationPool(fixture) { pool, catalog in
            #expect(try await invoke(pool, catalog, "test.ok").status == .succeeded)
            let launched = try #require(pool.workers.first?.pid)
            let processes = [launched] + Self.children(of: launched)
            #expect(processes.count >= 2, "unshare and its node child")
            for pid in processes {
                let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap(Int32.init)
                let targets = descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
                #expect(!targets.contains(leakedTarget), "process \(pid) holds the test's pipe")
                let environment = (FileManager.default.contents(atPath: "/proc/\(pid)/environ")).map { String(decoding: $0, as: UTF8.self) } ?? ""
                #expect(!environment.contains(token), "process \(pid) has the platform token in its environment")
            }
            let spawnedDescriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(launched)/fd").compactMap(Int32.init)
            #expect(spawnedDescriptors.allSatisfy { $0 <= 4 }, "\(spawnedDescriptors.sorted())")
        }
    }

    static func children(of pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [Int32] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }

    @Test("memoryMb bounds the whole process: a Buffer bomb ends crashed, naming the limit")
    func bufferBomb() async throws {
        let fixture = try FunctionsFixture(
            functions: [
                "test.bomb": "module.exports = async () => { const hoard = []; for (let i = 0; i < 48; i++) hoard.push(Buffer.alloc(64 * 1024 * 1024, 1)); return hoard.length; };",
                "test.ok": "module.exports = async () => 'ok';",
            ],
            settings: ["test.bomb": ["memoryMb": 256]])
        try await withApplicationPool(fixture) { pool, catalog in
            let bomb = try await invoke(pool, catalog, "test.bomb")
            #expect(bomb.status == .crashed)
            #expect(bomb.error?.message.contains("memoryMb") == true && bomb.error?.message.contains("256") == true, "\(bomb.error?.message ?? "")")
            #expect(try await invoke(pool, catalog, "test.ok").status == .succeeded)
        }
    }

    @Test("the scratch directory is a bounded tmpfs and disappears with its process")
    func scratchIsBoundedAndRemoved() async throws {
        let fixture = try FunctionsFixture(functions: ["test.fill": """
            const fs = require('fs'), os = require('os'), path = require('path');
            module.exports = async () => {
              const chunk = Buffer.alloc(1024 * 1024, 7);
              let written = 0;
              try { for (let i = 0; i < 200; i++) { fs.appendFileSync(path.join(os.tmpdir(), 'fill'), chunk); written += 1; } }
              catch (error) { return { written, code: error.code, dir: os.tmpdir() }; }
              return { written, dir: os.tmpdir() };
            };
            """])
        var scratch: String?
        try await withApplicationPool(fixture) { pool, catalog in
            let result = object(try await invoke(pool, catalog, "test.fill"))
            #expect(result["code"] as? String == "ENOSPC" || result["code"] as? String == "EFBIG", "\(result)")
            #expect((result["written"] as? Int ?? 999) <= 64)
            scratch = result["dir"] as? String
        }
        let directory = try #require(scratch)
        try await eventually("the scratch directory removed") { !FileManager.default.fileExists(atPath: directory) }
    }

    @Test("a link out of the application, or a file: dependency, is refused at deploy time")
    func linkEscapesRefused() async throws {
        let fixture = try FunctionsFixture(functions: ["test.ok": "module.exports = async () => 'ok';"])
        defer { fixture.remove() }
        try FileManager.default.createSymbolicLink(atPath: fixture.root.appendingPathComponent("functions/proc").path, withDestinationPath: "/proc")
        await #expect {
            _ = try await FunctionCatalog(directory: fixture.root.path, logger: testLogger)
        } throws: { error in
            "\(error)".contains("functions/proc -> /proc")
        }

        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outside) }
        try Data(#"{"name":"outside","version":"1.0.0"}"#.utf8).write(to: outside.appendingPathComponent("package.json"))
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        await #expect {
            _ = try await RuntimeInstaller(cacheRoot: cache).install(
                RuntimeDependencies(packages: ["outside": "file:\(outside.path)"]), logger: testLogger)
        } throws: { error in
            "\(error)".contains("link outside their install directory")
        }
    }

    @Test("a link that appears in the application after it was deployed leads nowhere: workers read a checked snapshot")
    func linkAfterDeploy() async throws {
        let fixture = try FunctionsFixture(functions: ["test.read": """
            const fs = require('fs');
            module.exports = async (event) => {
              try { return { read: fs.readFileSync(event.path, 'utf8').length }; } catch (error) { return { code: error.code }; }
            };
            """])
        let live = fixture.root.appendingPathComponent("functions/escape").path
        try await withApplicationPool(fixture) { pool, catalog in
            #expect(try await invoke(pool, catalog, "test.read", data: #"{"path":"\#(catalog.function(for: "test.read")!.file)"}"#).status == .succeeded)
            try FileManager.default.createSymbolicLink(atPath: live, withDestinationPath: "/etc")
            let result = try await invoke(pool, catalog, "test.read", data: #"{"path":"\#(live)/passwd"}"#)
            #expect(object(result)["code"] as? String == "ERR_ACCESS_DENIED", "\(object(result))")
            await #expect(throws: CatalogError.self) { try await catalog.reload() }
        }
    }

    @Test("context.api sends the token only under its base URL, whatever the function does to fetch or its dispatcher")
    func platformTokenStaysHome() async throws {
        let seen = Locked<[ReceivedRequest]>([])
        let server = try await TestHTTPServer.start { request in
            seen.withLock { $0.append(request) }
            return (.ok, "application/json", Array("{}".utf8))
        }
        setenv("CHATFN_PLATFORM_TOKEN_API_TEST", "s3cret-token", 1)
        let fixture = try FunctionsFixture(functions: ["test.api": """
            module.exports = async (event, context) => {
              const outcome = {};
              for (const target of [event.elsewhere + '/x', event.elsewhere.replace('http:', '') + '/x', '\\\\\\\\evil/x', '../outside']) {
                try { await context.api.get(target); outcome[target] = 'sent'; } catch (error) { outcome[target] = error.name; }
              }
              const captured = [];
              globalThis.fetch = async (url, init) => { captured.push(JSON.stringify(init)); throw new Error('spy'); };
              globalThis[Symbol.for('undici.globalDispatcher.1')] = { dispatch(options) { captured.push(JSON.stringify(options.headers)); return false; } };
              const answer = await context.api.get('v1/ok');
              return { outcome, captured, answer };
            };
            """])
        let manifest: [String: Any] = ["runtime": ["platform": ["baseUrl": "\(server.baseURL)/api", "tokenEnv": "CHATFN_PLATFORM_TOKEN_API_TEST"]]]
        try JSONSerialization.data(withJSONObject: manifest).write(to: fixture.root.appendingPathComponent("chatfn.json"))
        try await withApplicationPool(fixture) { pool, catalog in
            let result = try await invoke(pool, catalog, "test.api", data: #"{"elsewhere":"\#(server.baseURL)/elsewhere"}"#)
            #expect(result.status == .succeeded, "\(result.error?.message ?? "")")
            let outcome = object(result)["outcome"] as? [String: String] ?? [:]
            #expect(outcome.count == 4 && outcome.values.allSatisfy { $0 == "TypeError" }, "\(outcome)")
            #expect((object(result)["captured"] as? [Any])?.isEmpty == true, "the replaced fetch and dispatcher saw nothing")
            #expect(object(result)["answer"] as? [String: Any] != nil, "the request went out through chatfn")
        }
        await server.shutdown()
        let requests = seen.withLock { $0 }
        #expect(requests.map(\.path) == ["/api/v1/ok"], "only the base URL was called: \(requests.map(\.path))")
        #expect(requests.first?.headers["authorization"] == "Bearer s3cret-token")
    }

    @Test("commands are bounded in bytes per invocation, also when a function writes to the pipe itself")
    func emitBounds() async throws {
        let fixture = try FunctionsFixture(functions: [
            "test.big": "module.exports = async (event, context) => { context.emit('big', 'x'.repeat(3 * 1024 * 1024)); };",
            "test.many": "module.exports = async (event, context) => { for (let i = 0; i < 8; i++) context.emit('chunk', 'x'.repeat(200 * 1024)); };",
            "test.raw": """
                const fs = require('fs');
                function writeAll(buffer) {  // fd 4 is non-blocking: whole frames or the stream breaks
                  for (let offset = 0; offset < buffer.length;) {
                    try { offset += fs.writeSync(4, buffer, offset); } catch (error) { if (error.code !== 'EAGAIN') throw error; }
                  }
                }
                module.exports = async (event, context) => {
                  const id = Buffer.from(context.invocationId), type = Buffer.from('raw'), data = Buffer.from(JSON.stringify('y'.repeat(900 * 1024)));
                  for (let i = 0; i < 4; i++) {
                    const head = Buffer.alloc(7); head.writeUInt32BE(1 + 2 + id.length + 2 + type.length + 4 + data.length, 0); head.writeUInt8(13, 4); head.writeUInt16BE(id.length, 5);
                    const typeLength = Buffer.alloc(2); typeLength.writeUInt16BE(type.length, 0);
                    const key = Buffer.alloc(4); key.writeInt32BE(-1, 0);
                    writeAll(Buffer.concat([head, id, typeLength, type, key, data]));
                  }
                  return 'done';
                };
                """,
        ])
        try await withApplicationPool(fixture) { pool, catalog in
            let big = try await invoke(pool, catalog, "test.big")
            #expect(big.status == .failed && big.error?.message.contains("above the limit") == true, "\(big.error?.message ?? "")")
            let many = try await invoke(pool, catalog, "test.many")
            #expect(many.status == .failed && many.emits.count <= 5, "\(many.status) \(many.emits.count)")
            let raw = try await invoke(pool, catalog, "test.raw")
            #expect(raw.status == .failed && raw.error?.name == "LimitError", "\(raw.status) \(raw.error?.name ?? "") \(raw.error?.message ?? "")")
            #expect(raw.emits.reduce(0) { $0 + $1.data.count } <= WorkerLimits.maxEmitBytes)
        }
    }

    @Test("context.emit in a blocking function throws a clear error")
    func noEmitWhenBlocking() async throws {
        let fixture = try FunctionsFixture(functions: ["user.attempted.start_session": "module.exports = async (e, context) => { context.emit('x', {}); };"])
        try await withApplicationPool(fixture) { pool, catalog in
            let function = try #require(catalog.function(for: "user.attempted.start_session"))
            var request = function.invocation(
                id: "b", event: CloudEventAttributes(id: "e", type: function.trigger, source: "tests"), mode: .binary, attempt: 1,
                timeout: .seconds(10), payload: Array("{}".utf8))
            request.allowsEmit = false
            let result = await pool.invoke(request)
            #expect(result.status == .failed && result.error?.message.contains("not available in blocking functions") == true)
        }
    }
}
