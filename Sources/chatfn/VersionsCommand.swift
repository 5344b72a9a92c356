import Registry
import ControlPlane
import ArgumentParser
import ChatfnCore
import Foundation

/// `chatfn versions TRIGGER`: a function's versions, oldest first, the current one marked.
struct Versions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a function's versions (the current one marked).")

    @Argument(help: "The function's trigger, e.g. user.received.notification.")
    var trigger: String

    @OptionGroup var apiOptions: APIOptions

    func run() async throws {
        let client = try apiOptions.client()
        let app = apiOptions.application()
        let versions = try await client.get(APIClient.functionPath(app, trigger, "/versions"), as: [APIModels.Version].self)
        let functions = try await client.get(APIClient.applicationPath(app, "/functions"), as: [APIModels.Function].self)
        let current = functions.first { $0.trigger == trigger }?.currentVersionNumber
        guard !versions.isEmpty else {
            ConsoleOutput.write("\(trigger.escapingControlCharacters()) has no versions in \(app.escapingControlCharacters())")
            return
        }
        let rows = [["VERSION", "CREATED", "SHA256", "AUTHOR", ""]] + versions.map { version in
            var notes: [String] = []
            if version.versionNumber == current { notes.append("(current)") }
            if let origin = version.rollbackOf { notes.append("rollback of \(origin)") }
            return ["\(version.versionNumber)", APIModels.time(version.createdTime), String(version.sha256.prefix(12)),
                    version.author, notes.joined(separator: " ")]
        }
        var lines = Table.lines(rows.map { $0.map { $0.escapingControlCharacters() } })
        if current == nil { lines.append("\(trigger.escapingControlCharacters()) is not deployed now") }
        ConsoleOutput.write(lines: lines)
    }
}

/// `chatfn rollback TRIGGER N`: a new version carrying version N's code.
struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy an earlier version of a function again.",
        discussion: "Makes a new version with version N's code (its history stays), and prints its number.")

    @Argument(help: "The function's trigger.")
    var trigger: String

    @Argument(help: ArgumentHelp("The version whose code to deploy again (see `chatfn versions`).", valueName: "n"))
    var versionNumber: Int

    @OptionGroup var apiOptions: APIOptions

    func run() async throws {
        struct Body: Encodable { var versionNumber: Int }
        let client = try apiOptions.client()
        let app = apiOptions.application()
        let version = try await client.post(APIClient.functionPath(app, trigger, "/rollback"), Body(versionNumber: versionNumber),
                                            as: APIModels.Version.self)
        ConsoleOutput.write("rolled back \(trigger.escapingControlCharacters()) to version \(versionNumber): deployed version \(version.versionNumber)")
    }
}

/// Columns padded to their widest cell; the last one is not padded.
enum Table {
    static func lines(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
