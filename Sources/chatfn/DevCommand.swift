import ArgumentParser
import ChatfnCore
import Dispatcher

/// `chatfn dev`: everything on one machine: an embedded broker (or an existing one), the control plane's
/// API on a loopback address, workers serving the registry, and a functions directory synced into it.
struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run chatfn locally: a broker, the API, and the functions of a directory, deployed on every save.",
        discussion: """
            Without --kafka, chatfn starts an embedded Kafka-protocol broker and prints its address; any Kafka client (or `chatfn emit`) \
            can publish to it. The directory (--functions, default .) is deployed into the registry as its application; the API \
            (printed at start) shows it, and `chatfn deploy`, `versions`, `rollback`, `secrets` and `logs` find it by themselves.
            """
    )

    @OptionGroup var options: LaneOptions

    @Option(name: .long, help: "Serve the API on HOST:PORT (a loopback address unless CHATFN_API_TOKEN is set; port 0: any free port).")
    var listen: String = "127.0.0.1:8317"

    @Flag(name: .long, help: "Do not redeploy functions when their files change.")
    var noReload = false

    func run() async throws {
        try await runChatfn(options, source: .registry(dev: .init(listen: listen, directory: options.functions ?? ".", sync: !noReload)))
    }
}

/// `chatfn run`: the production entry point: an existing Kafka cluster, no embedded broker.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run chatfn against a Kafka cluster (production): both lanes, graceful shutdown on SIGTERM.",
        discussion: """
            Without --functions, serves every application of the registry (chatfn control writes it; CHATFN_SECRETS_KEY opens \
            their secrets). Scale out by running more instances with the same --group: Kafka's consumer group spreads the partitions.
            """
    )

    @OptionGroup var options: LaneOptions

    @Flag(name: .long, help: "With --functions: redeploy functions and runtime when their files change.")
    var watch = false

    func run() async throws {
        if let directory = options.functions {
            try await runChatfn(options, source: .directory(directory, reload: watch))
        } else {
            try await runChatfn(options, source: .registry(dev: nil))
        }
    }
}
