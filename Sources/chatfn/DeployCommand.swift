import ArgumentParser
import ChatfnCore
import Foundation
import Functions

/// `chatfn deploy DIR`: brings an application directory into the control plane's registry, creating a
/// version only for the functions whose file changed.
struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deploy an application directory (chatfn.json and its functions) to the control plane.",
        discussion: """
            Functions are DIR/functions/<trigger>.<js|cjs|mjs|ts|mts|cts> (or DIR/*.<ext> when DIR has no functions/ \
            folder). Only what differs from the registry is written: a function whose file is unchanged keeps its \
            version, and deploying an unchanged directory changes nothing.
            """)

    @Argument(help: ArgumentHelp("The application directory.", valueName: "dir"))
    var directory: String

    @OptionGroup var apiOptions: APIOptions

    @Flag(name: .long, help: "Undeploy the application's functions that have no file in DIR.")
    var prune = false

    func run() async throws {
        let client = try apiOptions.client()
        let manifest: ApplicationManifest
        do {
            manifest = try ApplicationManifest.load(fromDirectory: directory)
        } catch {
            throw CommandFailure("\(error)")
        }
        let app = apiOptions.application(default: manifest.app ?? "default")
        let report: PushReport
        do {
            report = try await ApplicationPush(directory: directory, app: app, client: client, prune: prune).run()
        } catch let failure as PushFailure {
            // The other functions were deployed: say so before the files that were not.
            ConsoleOutput.write(lines: failure.report.changes.map { $0.escapingControlCharacters() })
            throw CommandFailure("not deployed:\n\(failure.description)")
        }
        var lines = report.changes
        for trigger in report.notInDirectory {
            lines.append("note: \(trigger) is deployed but has no file in \(directory) (--prune undeploys it)")
        }
        let functions = report.createdVersions.count + report.unchangedFunctions.count
        if report.isEmpty {
            lines.append("unchanged: \(app) already matches \(directory) (\(functions) function\(functions == 1 ? "" : "s"))")
        } else {
            lines.append("\(app): \(report.changes.count) change\(report.changes.count == 1 ? "" : "s"), \(report.unchangedFunctions.count) function\(report.unchangedFunctions.count == 1 ? "" : "s") unchanged")
        }
        ConsoleOutput.write(lines: lines.map { $0.escapingControlCharacters() })
    }
}
