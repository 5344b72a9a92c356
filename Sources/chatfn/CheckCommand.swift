import ArgumentParser
import ChatfnCore
import Foundation
import Functions
import Logging
import Registry

/// `chatfn check`: what `dev`, `run` and `deploy` would refuse or warn about, and TypeScript's type errors,
/// without running anything.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an application: chatfn.json, function names, compile errors, and TypeScript types (with Debian's tsc).",
        discussion: "Errors and warnings are printed as file:line:column. Exits 1 when there is an error (warnings do not fail).")

    @Argument(help: "The application directory (default: the current directory).")
    var directory: String = "."

    func run() async throws {
        let logger = try KafkaOptions.parse(["--log-level", "critical"]).makeLogger()
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var errors = 0
        let catalog: FunctionCatalog
        do {
            catalog = try await FunctionCatalog(directory: root.path, logger: logger)
        } catch {
            throw CommandFailure("\(error)")
        }
        if let app = catalog.manifest.app, let problem = RegistryNames.problem(application: app) {
            ConsoleOutput.write("error: \(ApplicationManifest.fileName): app: \(problem)")
            errors += 1
        }
        // Settings for a trigger with no function are kept (a function may come later), but a near miss of
        // a known trigger is likely a typo.
        for trigger in (catalog.manifest.functions ?? [:]).keys.sorted() {
            if let warning = FunctionFiles.nameWarning(trigger) { ConsoleOutput.write("\(ApplicationManifest.fileName): functions.\(trigger): warning: \(warning)") }
        }
        let folder = URL(fileURLWithPath: catalog.directory)
        let entries = try FunctionFiles.entries(in: folder)
        for (trigger, file) in entries {
            let name = Self.relative(file, to: root)
            if let warning = FunctionFiles.nameWarning(trigger) { ConsoleOutput.write("\(name): warning: \(warning)") }
            if let problem = catalog.problem(for: trigger) {
                ConsoleOutput.write("error: \(problem)")
                errors += 1
            }
        }
        errors += try await typeCheck(root: root, dependencies: Array((catalog.manifest.runtime?.dependencies ?? [:]).keys))
        let functions = entries.count
        ConsoleOutput.write(errors == 0 ? "ok: \(functions) function(s) checked" : "\(errors) error(s) in \(functions) function(s)")
        if errors > 0 { throw ExitCode.failure }
    }

    /// Runs tsc over the TypeScript files of `functions/` with chatfn.d.ts; the number of errors.
    private func typeCheck(root: URL, dependencies: [String]) async throws -> Int {
        let functions = root.appendingPathComponent("functions")
        let typescript = (FileManager.default.enumerator(atPath: functions.path)?.allObjects as? [String] ?? [])
            .filter { FunctionFiles.typescriptExtensions.contains(URL(fileURLWithPath: $0).pathExtension) && !$0.hasSuffix(".d.ts") }
        guard !typescript.isEmpty else { return 0 }
        guard let tsc = ChatfnEnvironment.executable("tsc") else {
            ConsoleOutput.write("note: TypeScript not type-checked: tsc was not found (Debian's node-typescript; scripts/bootstrap.sh installs it)")
            return 0
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let typings = scratch.appendingPathComponent("chatfn.d.ts")
        try Data(try Init.typings().utf8).write(to: typings)
        // The runtime's npm packages are not installed here: they type as `any`.
        let modules = scratch.appendingPathComponent("dependencies.d.ts")
        try Data(dependencies.sorted().map { "declare module '\($0)';\n" }.joined().utf8).write(to: modules)
        var configuration = try JSONSerialization.jsonObject(with: Data(Init.tsconfig.utf8)) as? [String: Any] ?? [:]
        configuration["include"] = nil
        configuration["files"] = typescript.map { functions.appendingPathComponent($0).path } + [typings.path, modules.path]
        let project = scratch.appendingPathComponent("tsconfig.json")
        try JSONSerialization.data(withJSONObject: configuration).write(to: project)
        let (_, output) = try await ChildCommand.run(tsc, ["-p", project.path, "--pretty", "false"], in: root)
        var errors = 0
        for line in output.split(separator: "\n") {
            // "/abs/functions/x.ts(3,7): error TS2339: …" as "functions/x.ts:3:7: error TS2339: …"
            guard let match = line.firstMatch(of: /^(.+)\((\d+),(\d+)\): (error|warning) (.*)$/) else {
                if !line.trimmingCharacters(in: .whitespaces).isEmpty { ConsoleOutput.write(String(line)) }
                continue
            }
            let file = Self.relative(URL(fileURLWithPath: String(match.1), relativeTo: root), to: root)
            ConsoleOutput.write("\(file):\(match.2):\(match.3): \(match.4) \(match.5)")
            if match.4 == "error" { errors += 1 }
        }
        return errors
    }

    private static func relative(_ file: URL, to root: URL) -> String {
        let path = file.standardizedFileURL.path
        return path.hasPrefix(root.path + "/") ? String(path.dropFirst(root.path.count + 1)) : path
    }
}
