import ArgumentParser
import ChatEvents
import ChatfnCore
import Foundation
import Functions
import Registry

/// `chatfn init`: a new application that passes `chatfn check` and `chatfn test` as generated.
struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create an application: chatfn.json, a TypeScript function per trigger, a sample event each, typings and a tsconfig.",
        discussion: "Without --trigger it scaffolds user.received.notification and user.attempted.start_session. When any of the files it would write exists, it writes nothing (--force overwrites them).")

    @Argument(help: "Where to create it (default: the current directory).")
    var directory: String = "."

    @Option(name: .customLong("trigger"), help: "A trigger to scaffold (repeatable): any of chatfn's, or a dotted custom event type.")
    var triggers: [String] = []

    @Flag(name: .long, help: "Overwrite files that exist.")
    var force = false

    static let defaultTriggers = ["user.received.notification", BlockingTriggers.startSession]

    func run() async throws {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        let chosen = triggers.isEmpty ? Self.defaultTriggers : triggers
        for trigger in chosen {
            if let problem = RegistryNames.problem(trigger: trigger) { throw ValidationError("--trigger \(trigger): \(problem)") }
            if let warning = FunctionFiles.nameWarning(trigger) { ConsoleOutput.write("warning: \(warning)") }
        }
        var files: [(path: String, content: String)] = [
            ("chatfn.json", "{\n  \"app\": \"default\",\n  \"functions\": {}\n}\n"),
            ("tsconfig.json", Self.tsconfig),
            ("types/chatfn.d.ts", try Self.typings()),
        ]
        for trigger in chosen {
            files.append(("functions/\(trigger).ts", TriggerCatalog.typescriptTemplate(for: trigger)))
            let example = TriggerCatalog.trigger(trigger)?.exampleEvent ?? "{}"
            files.append(("events/\(trigger).json", Self.pretty(example)))
        }
        let existing = files.map(\.path).filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) }
        if !existing.isEmpty && !force {
            throw CommandFailure("\(root.path) already has \(existing.joined(separator: ", ")): nothing was written (--force overwrites)")
        }
        for (path, content) in files {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(content.utf8).write(to: url, options: .atomic)
        }
        let first = chosen[0]
        ConsoleOutput.write(
            "created \(root.path): \(files.map(\.path).joined(separator: ", "))",
            "next: chatfn check \(directory)",
            "      chatfn test \(first) --functions \(directory) --data @\(directory)/events/\(first).json",
            "      chatfn dev --functions \(directory)")
    }

    /// What `chatfn check` type-checks with, so an editor sees the same.
    static let tsconfig = """
        {
          "compilerOptions": {
            "strict": true,
            "noEmit": true,
            "target": "es2022",
            "lib": ["es2022", "dom"],
            "module": "commonjs",
            "moduleResolution": "node",
            "esModuleInterop": true,
            "skipLibCheck": true,
            "types": []
          },
          "include": ["functions/**/*.ts", "types/chatfn.d.ts"]
        }

        """

    /// chatfn.d.ts, as chatfn ships it.
    static func typings() throws -> String {
        guard let url = Bundle.module.url(forResource: "chatfn", withExtension: "d.ts"), let data = FileManager.default.contents(atPath: url.path) else {
            throw CommandFailure("chatfn.d.ts is missing from chatfn's resources")
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func pretty(_ json: String) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return json + "\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
