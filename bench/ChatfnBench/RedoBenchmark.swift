import ChatEvents
import Foundation
import KafkaClient
import NIOCore
import NIOPosix
import Synchronization

/// How many events run twice after `kill -9`: the real `chatfn run` (the release binary beside
/// ChatfnBench) drains a backlog whose function reports each event it ran over a TCP connection; at
/// full speed chatfn is killed, started again, and left to finish. An event reported twice ran twice.
enum RedoBenchmark {
    struct Outcome {
        var events: Int
        var ranBeforeKill: Int
        var ranTwice: Int
        var rateAtKill: Int
    }

    static func run(broker: EmbeddedKafkaBroker, chatfn: URL, producer: KafkaProducer, events: Int, keys: Int, directory: URL) async throws -> Outcome {
        for (topic, partitions) in [("chatfn.events", Int32(8)), ("chatfn.requests", 1), ("chatfn.replies", 1)] {
            try? broker.createTopic(topic, partitions: partitions)
        }
        let ran = RanRecorder()
        let port = try await ran.start()
        let functions = directory.appendingPathComponent("redo")
        try FileManager.default.createDirectory(at: functions.appendingPathComponent("functions"), withIntermediateDirectories: true)
        // One connection per worker process, opened when the function loads; writes are buffered by Node.
        try Data("""
            const socket = require('net').connect(\(port), '127.0.0.1');
            module.exports = async (event) => { socket.write(event.n + '\\n'); };
            """.utf8).write(to: functions.appendingPathComponent("functions/bench.redo.js"))
        for sequence in 0..<events {
            producer.sendInBackground(CloudEventKafkaBinding.binaryRecord(
                topic: "chatfn.events", key: Array("user-\(sequence % keys)".utf8),
                attributes: CloudEventAttributes(id: "redo-\(sequence)", type: "bench.redo", source: "bench"),
                data: Array(#"{"n":\#(sequence)}"#.utf8)))
        }
        guard await producer.flush(timeoutMs: 60_000) else { throw BenchError("publishing the backlog failed") }

        func startChatfn() throws -> Process {
            let process = Process()
            process.executableURL = chatfn
            process.arguments = ["run", "--kafka", broker.bootstrapServers, "--functions", functions.path, "--group", "redo",
                                 "--log-level", "error"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            return process
        }
        let first = try startChatfn()
        // Full speed: half the backlog ran, and the rate over the last 200 ms is measured just before the kill.
        while ran.distinct < events / 2 {
            guard first.isRunning else { throw BenchError("chatfn run exited") }
            try await Task.sleep(for: .milliseconds(5))
        }
        let countBefore = ran.distinct
        try await Task.sleep(for: .milliseconds(200))
        let rateAtKill = (ran.distinct - countBefore) * 5
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        // Its workers die with it; what they reported until then counts as run.
        while ran.openConnections > 0 { try await Task.sleep(for: .milliseconds(10)) }
        let ranBeforeKill = ran.distinct

        let second = try startChatfn()
        while ran.distinct < events {
            guard second.isRunning else { throw BenchError("the second chatfn run exited") }
            try await Task.sleep(for: .milliseconds(20))
        }
        second.terminate()
        second.waitUntilExit()
        await ran.stop()
        return Outcome(events: events, ranBeforeKill: ranBeforeKill, ranTwice: ran.ranTwice, rateAtKill: rateAtKill)
    }
}

/// Counts the event numbers the function reports, one line each.
private final class RanRecorder: Sendable {
    private let counts = Mutex<[Int: Int]>([:])
    private let connections = Atomic<Int>(0)
    private let channel = Mutex<(any Channel)?>(nil)

    var distinct: Int { counts.withLock { $0.count } }
    var ranTwice: Int { counts.withLock { $0.values.filter { $0 > 1 }.count } }
    var openConnections: Int { connections.load(ordering: .relaxed) }

    func start() async throws -> Int {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(LineCounter(recorder: self)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        channel.withLock { $0 = server }
        return server.localAddress?.port ?? 0
    }

    func stop() async {
        try? await channel.withLock({ $0 })?.close()
    }

    func connected() { connections.add(1, ordering: .relaxed) }
    func disconnected() { connections.subtract(1, ordering: .relaxed) }

    func ran(_ numbers: [Int]) {
        counts.withLock { counts in
            for number in numbers { counts[number, default: 0] += 1 }
        }
    }
}

private final class LineCounter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    private let recorder: RanRecorder
    /// The bytes of a line cut by a read, carried to the next one (only the event loop touches it).
    private let partial = Mutex<[UInt8]>([])

    init(recorder: RanRecorder) { self.recorder = recorder }

    func channelActive(context: ChannelHandlerContext) { recorder.connected() }
    func channelInactive(context: ChannelHandlerContext) { recorder.disconnected() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var numbers: [Int] = []
        partial.withLock { partial in
            for byte in buffer.readableBytesView {
                if byte == UInt8(ascii: "\n") {
                    if let number = Int(String(decoding: partial, as: UTF8.self)) { numbers.append(number) }
                    partial.removeAll(keepingCapacity: true)
                } else {
                    partial.append(byte)
                }
            }
        }
        recorder.ran(numbers)
    }
}
