import ChatEvents
import KafkaClient
import EventConsumer
import Foundation

/// Everything a test of the non-blocking lane needs: an embedded broker with chatfn's topics, an HTTP
/// recorder the functions POST to (as `RECORDER_URL`), an application directory, and a producer.
struct LaneFixture {
    /// How long a test's first blocking call waits: it also waits for `chatfn dev` to start, its group to
    /// form and a worker to start. The whole suite on two cores can take well over 10 s for that.
    static let firstCallTimeout: Duration = .seconds(60)

    static let topics = ["chatfn.events", "chatfn.dlq", "chatfn.invocations", "chatfn.commands", "chatfn.requests", "chatfn.replies"]

    let broker: EmbeddedKafkaBroker
    let recorder: HTTPRecorder
    let application: FunctionsFixture
    let producer: KafkaProducer

    static func make(functions: [String: String], settings: [String: [String: any Sendable]] = [:], partitions: Int32 = 4) async throws -> LaneFixture {
        let broker = try EmbeddedKafkaBroker()
        for topic in topics { try broker.createTopic(topic, partitions: partitions) }
        // The registry `chatfn dev` deploys the directory into (the embedded broker cannot create topics on request).
        for topic in ["chatfn.registry", "chatfn.audit"] { try broker.createTopic(topic, partitions: 1) }
        let recorder = try await HTTPRecorder.start()
        let application = try FunctionsFixture(functions: functions, environment: ["RECORDER_URL": recorder.url], settings: settings)
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
        return LaneFixture(broker: broker, recorder: recorder, application: application, producer: producer)
    }

    var kafka: KafkaConfiguration { KafkaConfiguration(bootstrapServers: broker.bootstrapServers) }

    func publish(_ trigger: String, id: String, key: String?, data: [String: Any], partition: Int32? = nil) async throws {
        try await producer.send(try eventRecord(trigger: trigger, id: id, key: key, data: data, partition: partition))
    }

    /// Starts `chatfn dev` against the embedded broker.
    func startChatfn(group: String = "lane", _ extra: [String] = [], environment: [String: String] = [:], includingErrors: Bool = false) throws -> ChatfnProcess {
        try ChatfnProcess(["dev", "--kafka", broker.bootstrapServers, "--functions", application.root.path, "--listen", "127.0.0.1:0",
                           "--group", group, "--log-level", "warning"] + extra,
                          environment: environment.merging(["CHATFN_SECRETS_KEY": ControlFleet.secretsKey]) { $1 }, includingErrors: includingErrors)
    }

    /// Starts `chatfn dev` and waits until it runs (its directory pushed, its API announced): from then on
    /// SIGTERM is a graceful shutdown, not the end of a process still starting.
    func startedChatfn(group: String = "lane", _ extra: [String] = [], includingErrors: Bool = false) async throws -> ChatfnProcess {
        let chatfn = try startChatfn(group: group, extra, includingErrors: includingErrors)
        try await eventually("chatfn dev running", timeout: .seconds(60)) { chatfn.stdout.contains("chatfn: API on http://") }
        return chatfn
    }

    /// Runs another chatfn command against the embedded broker to completion.
    func chatfn(_ arguments: [String]) async throws -> (status: Int32, stdout: String) {
        try await ChatfnProcess.run(arguments + ["--kafka", broker.bootstrapServers])
    }

    func tearDown() async {
        await producer.shutdown()
        await recorder.shutdown()
        application.remove()
    }
}

/// The function most lane tests run: it POSTs what it saw to the recorder.
let recordingFunction = """
    async function handleEvent(event, context) {
      const response = await fetch(process.env.RECORDER_URL, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...event, eventId: context.eventId, attempt: context.attempt, trigger: context.trigger, appId: context.appId }),
      });
      if (!response.ok) throw new Error(`recorder answered ${response.status}`);
    }
    """
