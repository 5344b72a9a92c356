import Dispatcher
import ChatfnCore
import ArgumentParser

/// `chatfn dev`: runs the functions of a directory against an embedded broker, or an existing one, and
/// deploys every save.
struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run chatfn locally: consume events and run the functions of a directory.",
        discussion: "Without --kafka, chatfn starts an embedded Kafka-protocol broker and prints its address; any Kafka client (or `chatfn emit`) can publish to it."
    )

    @OptionGroup var options: LaneOptions

    @Flag(name: .long, help: "Do not redeploy functions when their files change.")
    var noReload = false

    func run() async throws {
        try await runChatfn(options, embedded: true, reload: !noReload)
    }
}

/// `chatfn run`: the production entry point: an existing Kafka cluster, no embedded broker.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run chatfn against a Kafka cluster (production): both lanes, graceful shutdown on SIGTERM.",
        discussion: "Scale out by running more instances with the same --group: Kafka's consumer group spreads the partitions."
    )

    @OptionGroup var options: LaneOptions

    @Flag(name: .long, help: "Redeploy functions and runtime when their files change.")
    var watch = false

    func run() async throws {
        try await runChatfn(options, embedded: false, reload: watch)
    }
}
