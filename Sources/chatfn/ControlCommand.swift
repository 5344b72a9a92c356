import AdminServer
import ArgumentParser
import ChatfnCore
import ControlPlane
import Dashboard
import Dispatcher
import Foundation
import Hosting
import KafkaClient
import Logging
import Registry
import ServiceLifecycle

/// `chatfn control`: the control plane. Any number of replicas serve the same registry; any answers any
/// request.
struct Control: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the control plane: the API over the registry (applications, versions, runtime, secrets, invocations).",
        discussion: """
            Needs CHATFN_API_TOKEN (full access) unless it listens on a loopback address; CHATFN_API_READ_TOKEN may only read. \
            CHATFN_SECRETS_KEY (base64 of 32 bytes) seals secrets; workers need the same key.
            """)

    @OptionGroup var kafkaOptions: KafkaOptions

    @Option(name: .long, help: "Serve the API on HOST:PORT.")
    var listen: String

    @Option(name: .long, help: "Partitions of chatfn's event topics when they are created here.")
    var partitions: Int32 = 4

    func run() async throws {
        let startupSignals = StartupSignals()
        let logger = try kafkaOptions.makeLogger()
        PrometheusExport.bootstrap()
        // The group's 15 s bound, then closing the producer and the invocation log: past 19 s, chatfn ends itself.
        startupSignals.exitAtLatest(.seconds(19), logger: logger)
        let (host, port) = try parseListenAddress(listen, flag: "--listen")
        let tokens = try ControlPlaneRunner.tokens(listeningOn: host)
        let sealer = try ControlPlaneRunner.sealer(embeddedBroker: false, logger: logger)
        let outputs = OutputTopics()
        let topics = KafkaConnection.controlTopics + outputs.all.map { TopicSpec(name: $0, partitions: partitions) }
        let connection = try await KafkaConnection.open(kafkaOptions, embeddedWhenUnnamed: false, topics: topics, logger: logger)
        let follower = try await RegistryFollower.start(configuration: connection.configuration)
        let applications = RegistryApplications(follower: follower, sealer: sealer, configuration: .init(eventWorkers: 1, blockingWorkers: 1, idleTimeout: .seconds(120)), logger: logger)
        let control = try await ControlPlaneRunner.start(
            connection: connection, follower: follower, applications: applications, sealer: sealer, tokens: tokens,
            host: host, port: port, logger: logger) { url in
            ConsoleOutput.write("chatfn: control plane listening on \(url) (dashboard: \(url)/, ready once the registry is read: \(url)/readyz)")
        }
        // Shutdown goes last to first: the tests' workers stop first (a running test ends within their
        // 10 s grace), so the server's wait for its requests is bounded; what is still running after
        // 15 s (an npm install) is cancelled.
        let stopTests = OnGracefulShutdown {
            await applications.shutdown(.events, grace: .seconds(10))
            await applications.shutdown(.blocking, grace: .seconds(10))
        }
        try await startupSignals.run(serviceGroup([applications] + control.services + [stopTests],
                                                  finite: [RegistryTopicCheck(connection: connection, logger: logger)],
                                                  shutdownBound: .seconds(15), logger: logger))
        await control.close()
        await follower.shutdown()
        connection.close()
    }
}

/// What `chatfn control` and `chatfn dev` run of the control plane: the API server with its registry
/// writer and invocation log.
struct ControlPlaneRunner {
    var services: [any Service]
    private var producer: KafkaProducer
    private var invocations: InvocationLog

    /// The API's tokens from the environment; without a full-access token, only a loopback address.
    static func tokens(listeningOn host: String) throws -> APITokens {
        let tokens = APITokens(full: ChatfnEnvironment.apiToken, read: ChatfnEnvironment.apiReadToken)
        if tokens.isOpen && !isLoopback(host) {
            throw CommandFailure("set CHATFN_API_TOKEN to serve the API on \(host): without a token it may listen on a loopback address only (127.0.0.1, ::1, localhost)")
        }
        if tokens.isOpen && tokens.read != nil {
            throw CommandFailure("CHATFN_API_READ_TOKEN is set without CHATFN_API_TOKEN: set both, or neither")
        }
        return tokens
    }

    /// The secrets key from `CHATFN_SECRETS_KEY`; without one, a development key, but only for a registry
    /// that lives in an embedded broker (it is public: anyone can derive it from chatfn's source).
    static func sealer(embeddedBroker: Bool, logger: Logger) throws -> SecretSealer {
        if let key = ChatfnEnvironment.secretsKey { return try SecretSealer(base64Key: key) }
        guard embeddedBroker else {
            throw CommandFailure("set CHATFN_SECRETS_KEY (the base64 of 32 bytes: openssl rand -base64 32): it seals applications' secrets in the registry, and workers need the same key")
        }
        logger.info("CHATFN_SECRETS_KEY is not set: secrets are sealed with a development key (the registry is the embedded broker's)")
        return .development
    }

    /// A literal loopback address: `localhost`, `::1` or 127.0.0.0/8 (a name that merely starts with
    /// "127." is not).
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// Starts following the invocations and returns the services to run (the API server).
    /// - Parameter announce: called with the API's URL once it listens.
    static func start(
        connection: KafkaConnection, follower: RegistryFollower, applications: RegistryApplications, sealer: SecretSealer, tokens: APITokens,
        host: String, port: Int, logger: Logger, announce: @escaping @Sendable (String) -> Void
    ) async throws -> ControlPlaneRunner {
        // A registry write the broker cannot take within 10 s is answered as failed, not held for
        // librdkafka's default 5 minutes.
        let producer = try KafkaProducer(configuration: connection.configuration.merging(["message.timeout.ms": "10000"]), lowLatency: true)
        try? await producer.prepare(topics: [RegistryTopics.registry, RegistryTopics.audit])
        let registry = ApplicationRegistry(follower: follower, producer: producer, sealer: sealer, logger: logger)
        let invocations = try await InvocationLog.start(configuration: connection.configuration, topic: OutputTopics().invocations, logger: logger)
        let api = ControlAPI(registry: registry, invocations: invocations, applications: applications, kafka: connection.configuration)
        let dashboard = try Dashboard(codeMirrorDirectory: ChatfnEnvironment.codeMirror)
        if !dashboard.hasCodeEditor {
            logger.notice("the dashboard edits code in a plain text area: Debian's libjs-codemirror is not installed (\(ChatfnEnvironment.codeMirror))")
        }
        let server = ControlServer.application(api: api, dashboard: dashboard, tokens: tokens, host: host, port: port, logger: logger) { boundPort in
            let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            announce("http://\(shownHost):\(boundPort)")
        }
        return ControlPlaneRunner(services: [server], producer: producer, invocations: invocations)
    }

    func close() async {
        await invocations.shutdown()
        await producer.shutdown()
    }
}

/// "0.0.0.0:9090" as host and port.
func parseListenAddress(_ address: String, flag: String) throws -> (String, Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("\(flag) \(address): expected HOST:PORT")
    }
    let host = String(address[..<colon])
    return (host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host, port)
}
