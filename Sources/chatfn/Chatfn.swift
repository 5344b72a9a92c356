import Dispatcher
import Workers
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

    /// ArgumentParser's `main`, after Swift's tasks are put on NIO's shared loops, before any runs
    /// (`LaneThreads.runSwiftTasksOnSharedLoops`).
    static func main() async {
        LaneThreads.runSwiftTasksOnSharedLoops()
        await main(nil)
    }
}
