import Dispatcher
import ChatfnCore
import ArgumentParser

@main
struct Chatfn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatfn",
        abstract: "Runs chat functions for the events a chat platform publishes to Kafka.",
        subcommands: [Dev.self, Run.self, Control.self, Emit.self, Call.self, TestFunction.self, DeadLetters.self,
                      Deploy.self, Versions.self, Rollback.self, Secrets.self, Logs.self, Init.self, Check.self]
    )
}
