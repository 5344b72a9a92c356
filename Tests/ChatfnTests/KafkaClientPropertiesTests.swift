import Foundation
import KafkaClient
import Testing

/// Client properties for a secured cluster (`-X`, `--kafka-config`, `CHATFN_KAFKA_CONFIG`) on every command
/// that talks to Kafka. The embedded broker has no SASL or TLS, so a SASL login it refuses is what proves
/// the properties reached librdkafka.
@Suite("Kafka client properties on every command", .serialized)
struct KafkaClientPropertiesTests {
    static let secret = "hunter2-in-a-file"

    @Test("every Kafka command refuses an unknown property at start, in one line naming it")
    func unknownPropertyStopsEveryCommand() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("chatfn.events", partitions: 1)
        let kafka = ["--kafka", broker.bootstrapServers]
        let commands: [[String]] = [
            ["emit", "user.sent.message", "--data", "{}"] + kafka,
            ["call", "user.attempted.start_session", "--data", "{}"] + kafka,
            ["dlq", "list"] + kafka,
            ["run", "--functions", ChatfnProcess.packageRoot.appendingPathComponent("examples").path] + kafka,
            ["control", "--listen", "127.0.0.1:0"] + kafka,
            ["dev", "--functions", ChatfnProcess.packageRoot.appendingPathComponent("examples").path, "--listen", "127.0.0.1:0"],
        ]
        for command in commands {
            let (status, output) = try await Self.run(command + ["-X", "no.such.property=1", "-X", "sasl.password=\(Self.secret)"])
            #expect(status != 0, "\(command[0]): \(output)")
            let mentions = output.split(separator: "\n").filter { $0.contains("no.such.property") }
            #expect(mentions.count == 1 && mentions[0].contains("invalid Kafka property no.such.property=1: No such configuration property"),
                    "\(command[0]): \(output)")
            #expect(!output.contains(Self.secret), "\(command[0]) shows a secret: \(output)")
        }
    }

    @Test("a properties file (--kafka-config or CHATFN_KAFKA_CONFIG) reaches librdkafka, -X overrides it, and its secrets never show")
    func propertiesFileReachesLibrdkafka() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("chatfn.events", partitions: 1)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-client-\(UUID().uuidString).properties")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data("""
            # as for Kafka's own tools
            security.protocol=SASL_PLAINTEXT
            sasl.mechanism=PLAIN
            sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="chatfn" password="\(Self.secret)";
            message.timeout.ms=3000

            """.utf8).write(to: file)
        let emit = ["emit", "user.sent.message", "--data", #"{"message":{"body":"hi"}}"#, "--kafka", broker.bootstrapServers, "--log-level", "debug"]

        let (status, output) = try await Self.run(emit + ["--kafka-config", file.path])
        #expect(status != 0, "\(output)")
        #expect(output.contains("SASL"), "librdkafka tried the file's SASL login: \(output)")
        #expect(!output.contains(Self.secret), "the password shows: \(output)")
        #expect(!output.contains("|ERROR|") && !output.contains("%3|"), "raw librdkafka lines: \(output)")

        let (fromEnvironment, environmentOutput) = try await Self.run(emit, environment: ["CHATFN_KAFKA_CONFIG": file.path])
        #expect(fromEnvironment != 0 && environmentOutput.contains("SASL") && !environmentOutput.contains(Self.secret), "\(environmentOutput)")

        let (overridden, overriddenOutput) = try await Self.run(emit + ["--kafka-config", file.path, "-X", "security.protocol=PLAINTEXT"])
        #expect(overridden == 0 && overriddenOutput.contains("published user.sent.message"), "\(overriddenOutput)")
        #expect(!overriddenOutput.contains(Self.secret), "\(overriddenOutput)")

        let (missing, missingOutput) = try await Self.run(emit + ["--kafka-config", "/nonexistent/client.properties"])
        #expect(missing != 0 && missingOutput.contains("--kafka-config /nonexistent/client.properties: file not found"), "\(missingOutput)")
    }

    @Test("a broker nobody answers at is one line within 10 s that names the address and what set it, for a one-shot command and for a service")
    func unreachableBroker() async throws {
        let address = "127.0.0.1:\(try await freeLocalPort())"
        for (arguments, source) in [(["emit", "user.sent.message", "--data", "{}", "--kafka", address], "--kafka"),
                                    (["run", "--functions", ChatfnProcess.packageRoot.appendingPathComponent("examples").path], "CHATFN_KAFKA")] {
            let started = ContinuousClock.now
            let child = try ChatfnProcess(arguments, environment: source == "CHATFN_KAFKA" ? ["CHATFN_KAFKA": address] : [:], includingErrors: true)
            let status = try await child.waitForExit(timeout: .seconds(10))
            print("\(arguments[0]) failed \(ContinuousClock.now - started) after it started")
            #expect(status != 0)
            let lines = child.stdout.split(separator: "\n")
            #expect(lines.contains { $0.contains("cannot reach Kafka at \(address)") && $0.contains("Connection refused") && $0.contains(source) },
                    "\(child.stdout)")
            if arguments[0] == "emit" {
                #expect(lines.count == 1, "one line: \(child.stdout)")
            }
            #expect(!child.stdout.contains("%3|"), "\(child.stdout)")
        }
    }

    /// Runs chatfn to completion with its log lines (standard error) collected too.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String) {
        let child = try ChatfnProcess(arguments, environment: environment.merging(["CHATFN_SECRETS_KEY": ControlFleet.secretsKey]) { $1 },
                                      includingErrors: true)
        let status = try await child.waitForExit(timeout: .seconds(60))
        return (status, child.stdout)
    }
}
