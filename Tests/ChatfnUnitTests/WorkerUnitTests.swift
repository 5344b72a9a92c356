import ChatfnCore
import NIOCore
import NIOEmbedded
import Testing
@testable import Workers

@Suite("Worker protocol")
struct WorkerProtocolTests {
    func frame(_ kind: UInt8, id: String, _ fields: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1 + 2 + id.utf8.count + fields.count))
        buffer.writeInteger(kind)
        buffer.writeInteger(UInt16(id.utf8.count))
        buffer.writeString(id)
        buffer.writeBytes(fields)
        return buffer
    }

    func decode(_ buffer: ByteBuffer) throws -> [WorkerMessage] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder()))
        try channel.writeInbound(buffer)
        var messages: [WorkerMessage] = []
        while let message = try channel.readInbound(as: WorkerMessage.self) { messages.append(message) }
        return messages
    }

    @Test("a result frame: status, error JSON (bounded), value bytes")
    func resultFrame() throws {
        let error = Array(#"{"name":"E","message":"\#(String(repeating: "m", count: 20_000))"}"#.utf8)
        var fields: [UInt8] = [1]
        fields += withUnsafeBytes(of: UInt32(error.count).bigEndian, Array.init) + error + Array("42".utf8)
        guard case .result(let id, let status, let decoded?, let value) = try decode(frame(12, id: "inv-1", fields)).first else {
            Issue.record("not a result")
            return
        }
        #expect(id == "inv-1" && status == .failed && value == Array("42".utf8))
        #expect(decoded.message.utf8.count < WorkerLimits.maxErrorMessageBytes + 100)
    }

    @Test("frames split across reads are reassembled; several in one read are all delivered")
    func framing() throws {
        var both = frame(14, id: "p-1", [])
        var second = frame(11, id: "", [1] + Array("hello".utf8))
        both.writeBuffer(&second)
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WireFrameDecoder()))
        try channel.writeInbound(both.getSlice(at: 0, length: 5)!)
        #expect(try channel.readInbound(as: WorkerMessage.self) == nil)
        try channel.writeInbound(both.getSlice(at: 5, length: both.readableBytes - 5)!)
        guard case .pong("p-1") = try channel.readInbound(as: WorkerMessage.self),
              case .log(nil, let line) = try channel.readInbound(as: WorkerMessage.self) else {
            Issue.record("expected a pong and a log line")
            return
        }
        #expect(line == InvocationLogLine(level: "info", message: "hello"))
    }

    @Test("a frame above the limit, a request frame or an unknown kind is a protocol violation")
    func violations() {
        var huge = ByteBuffer()
        huge.writeInteger(UInt32(WorkerLimits.maxFrameBytes + 1))
        #expect(throws: (any Error).self) { try decode(huge) }
        #expect(throws: (any Error).self) { try decode(frame(1, id: "x", [])) }
        #expect(throws: (any Error).self) { try decode(frame(99, id: "x", [])) }
    }
}

@Suite("Invocation table")
struct InvocationTableTests {
    let loop = EmbeddedEventLoop()

    @Test("an invocation completes exactly once: the first of result, timeout or crash wins")
    func exactlyOnce() async {
        let table = InvocationTable(pid: 1, ready: loop.makePromise(), logger: .init(label: "test"))
        let result = await withCheckedContinuation { continuation in
            #expect(table.register("a", coldStart: false, continuation: continuation))
            #expect(table.finish("a", status: .timeout))
            #expect(!table.finish("a", status: .succeeded), "a late result is dropped")
            table.close(reason: "exited")
        }
        #expect(result.status == .timeout && table.inFlight == 0)
    }

    @Test("a closed table ends what is in flight as crashed and refuses new invocations")
    func closeCrashesInFlight() async {
        let table = InvocationTable(pid: 7, ready: loop.makePromise(), memoryLimitMb: 256, logger: .init(label: "test"))
        let result = await withCheckedContinuation { continuation in
            _ = table.register("b", coldStart: true, continuation: continuation)
            table.close(reason: "killed by signal 9")
        }
        #expect(result.status == .crashed && result.coldStart)
        #expect(result.error?.message.contains("memoryMb 256") == true)
        let refused = await withCheckedContinuation { continuation in
            let registered = table.register("c", coldStart: false, continuation: continuation)
            if !registered { continuation.resume(returning: InvocationResult(invocationId: "c", status: .crashed)) }
        }
        #expect(refused.invocationId == "c" && !table.isOpen)
    }

    @Test("commands past the byte limit fail the invocation, whatever it returned")
    func emitLimit() async {
        let table = InvocationTable(pid: 1, ready: loop.makePromise(), logger: .init(label: "test"))
        let result = await withCheckedContinuation { continuation in
            _ = table.register("d", coldStart: false, continuation: continuation)
            for _ in 0..<5 {
                table.receive(.emit(invocationId: "d", EmittedCommand(type: "x", key: nil, data: Array(repeating: 0x61, count: 250 * 1024))))
            }
            table.receive(.result(invocationId: "d", status: .succeeded, error: nil, value: nil))
            table.close(reason: "exited with code 0")
        }
        #expect(result.status == .failed && result.error?.name == "LimitError" && result.emits.count == 4)
    }
}

@Suite("Small shared pieces")
struct SharedPiecesTests {
    @Test("JSONWriter escapes quotes, backslashes and control characters, and keeps UTF-8")
    func jsonEscaping() throws {
        var json = JSONWriter(capacity: 64)
        json.field("text", "a\"b\\c\nd\u{1}é/")
        json.field("n", 3)
        let text = String(decoding: json.finish(), as: UTF8.self)
        #expect(text == #"{"text":"a\"b\\c\nd\u0001é/","n":3}"#)
        var edges = JSONWriter()
        edges.field("escapeLast", "x\u{1f}")
        edges.field("empty", "")
        for value in [0, -7, Int64.max, Int64.min] { edges.field("i", value) }
        #expect(String(decoding: edges.finish(), as: UTF8.self)
            == #"{"escapeLast":"x\u001f","empty":"","i":0,"i":-7,"i":9223372036854775807,"i":-9223372036854775808}"#)
    }

    @Test("a stop signal wakes its sleepers, and a stopped one does not sleep")
    func stopSignal() async {
        let signal = StopSignal()
        async let slept = signal.sleep(for: .seconds(60))
        signal.stop()
        #expect(await slept == false, "woken by the stop")
        #expect(await StopSignal.stopped().sleep(for: .seconds(60)) == false)
        #expect(await StopSignal().sleep(for: .milliseconds(1)) == true)
    }

    @Test("sleeping unless any of several signals stops")
    func anyOfSignals() async {
        let first = StopSignal(), second = StopSignal()
        async let slept = StopSignal.sleep(for: .seconds(60), unlessAnyOf: [first, second])
        second.stop()
        #expect(await slept == false)
        #expect(!first.isStopped)
    }
}

@Suite("Platform API paths")
struct PlatformPathTests {
    let client = PlatformClient(PlatformAccess(baseUrl: "https://chat.example.com/api", token: "t"))!

    @Test("paths resolve under the base URL, with or without a leading slash")
    func underTheBase() throws {
        #expect(try client.url(for: "v1/users").get().absoluteString == "https://chat.example.com/api/v1/users")
        #expect(try client.url(for: "/v1/users?x=1").get().absoluteString == "https://chat.example.com/api/v1/users?x=1")
    }

    @Test("absolute, protocol-relative, backslash and escaping paths are refused", arguments: [
        "https://attacker.example/x", "//attacker.example/x", "\\\\attacker/x", "/\\attacker/x", "../apix/y", "../../x", "javascript:alert(1)",
        "%2e%2e/admin", "..%2fadmin", "v1/%2E%2E/x", "./v1",
    ])
    func refused(path: String) {
        #expect(throws: PlatformRefusal.self) { try client.url(for: path).get() }
    }

    @Test("a Retry-After that is not a finite non-negative number is ignored")
    func retryAfter() {
        #expect(PlatformExchange.retryAfter("2") == 2)
        #expect(PlatformExchange.retryAfter("nan") == nil && PlatformExchange.retryAfter("inf") == nil && PlatformExchange.retryAfter("-1") == nil)
        #expect(PlatformExchange.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil && PlatformExchange.retryAfter(nil) == nil)
    }
}
