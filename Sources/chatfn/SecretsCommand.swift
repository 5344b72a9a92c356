import Registry
import ControlPlane
import ArgumentParser
import ChatfnCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `chatfn secrets`: an application's secrets (functions read them as `context.secrets`). Values are
/// written, never read back: nothing here prints one.
struct Secrets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set, list and delete an application's secrets (context.secrets).",
        subcommands: [SetSecret.self, ListSecrets.self, DeleteSecret.self])

    struct SetSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Set a secret.",
            discussion: """
                Without VALUE or --value, the value is read from standard input (one line typed at a prompt without \
                echo, or everything piped in, less its final newline), so that it stays out of the shell's history.
                """)

        @Argument(help: "The secret's name.")
        var name: String

        @Argument(help: ArgumentHelp("The value (it stays in the shell's history: prefer standard input).", valueName: "value"))
        var positionalValue: String?

        @Option(name: .long, help: "The value (it stays in the shell's history: prefer standard input).")
        var value: String?

        @OptionGroup var apiOptions: APIOptions

        func validate() throws {
            if positionalValue != nil && value != nil { throw ValidationError("give the value once: as VALUE or as --value") }
        }

        func run() async throws {
            struct Body: Encodable { var value: String }
            let client = try apiOptions.client()
            let app = apiOptions.application()
            let secret = try value ?? positionalValue ?? Self.readValue(name: name)
            guard !secret.isEmpty else { throw CommandFailure("the value of \(name) is empty: nothing was set") }
            try await client.send("PUT", APIClient.applicationPath(app, "/secrets/\(APIClient.segment(name))"), Body(value: secret))
            ConsoleOutput.write("set secret \(name.escapingControlCharacters()) of \(app.escapingControlCharacters())")
        }

        /// The value from standard input: typed without echo at a terminal, else all of it (less one final newline).
        static func readValue(name: String) throws -> String {
            if isatty(STDIN_FILENO) == 1 {
                FileHandle.standardError.write(Data("Value of \(name) (not shown): ".utf8))
                let line = withoutEcho { readLine(strippingNewline: true) }
                FileHandle.standardError.write(Data("\n".utf8))
                guard let line else { throw CommandFailure("no value given for \(name)") }
                return line
            }
            var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            if text.hasSuffix("\r\n") {
                text.removeLast(2)
            } else if text.hasSuffix("\n") {
                text.removeLast()
            }
            return text
        }

        /// Runs `body` with the terminal's echo off.
        private static func withoutEcho<Result>(_ body: () -> Result) -> Result {
            var saved = termios()
            guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return body() }
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
            defer { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            return body()
        }
    }

    struct ListSecrets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the secrets' names and when each was set (never their values).")

        @OptionGroup var apiOptions: APIOptions

        func run() async throws {
            let client = try apiOptions.client()
            let app = apiOptions.application()
            let secrets = try await client.get(APIClient.applicationPath(app, "/secrets"), as: [APIModels.Secret].self)
            guard !secrets.isEmpty else {
                ConsoleOutput.write("\(app.escapingControlCharacters()) has no secrets")
                return
            }
            let rows = [["NAME", "UPDATED"]] + secrets.map { [$0.name.escapingControlCharacters(), APIModels.time($0.updatedTime)] }
            ConsoleOutput.write(lines: Table.lines(rows))
        }
    }

    struct DeleteSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a secret.")

        @Argument(help: "The secret's name.")
        var name: String

        @OptionGroup var apiOptions: APIOptions

        func run() async throws {
            let client = try apiOptions.client()
            let app = apiOptions.application()
            try await client.delete(APIClient.applicationPath(app, "/secrets/\(APIClient.segment(name))"))
            ConsoleOutput.write("deleted secret \(name.escapingControlCharacters()) of \(app.escapingControlCharacters())")
        }
    }
}
