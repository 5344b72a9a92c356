import ChatEvents
import ChatfnCore
import Foundation

/// Turns TypeScript, ES-module functions and functions that import local files into the CommonJS the
/// harness loads, with esbuild (Debian's `esbuild` package): one bundle per function with the local files
/// it imports (runtime dependencies stay `require`s), types stripped, `import`/`export` rewritten, an
/// inline source map so stack traces point at the user's own files. Nothing is tree-shaken: a ChatKitty-style
/// `async function handleEvent` is used by no code esbuild sees (the harness finds it). Bundles are cached by what went into
/// them, so a helper's change rebuilds, and redeploys, exactly the functions that import it.
package struct FunctionCompiler: Sendable {
    let outputDirectory: URL

    static let compiledExtensions = FunctionFiles.typescriptExtensions.union(["mjs"])

    /// Whether `file` must be compiled: TypeScript, `.mjs`, or JavaScript written as an ES module.
    static func needsCompiling(_ file: URL, content: Data) -> Bool {
        if compiledExtensions.contains(file.pathExtension) { return true }
        let source = String(decoding: content, as: UTF8.self)
        return source.range(of: #"(^|\n)\s*(export\s+(default|async|function|const|let|class|\{)|import\s+[\w{*])"#, options: .regularExpression) != nil
    }

    /// What the function of `source` runs, and its version: the file itself when it needs nothing, else its
    /// bundle, whose version hashes every file that went into it.
    /// - Parameter root: where relative imports resolve (the application's snapshot).
    /// - Parameter displayedAs: the file as its author knows it, for error messages.
    func build(_ source: URL, trigger: String, content: Data, root: URL, displayedAs: URL) async throws -> (file: String, version: String) {
        let ownVersion = ContentHash.hex(of: content)
        guard Self.needsCompiling(source, content: content) || FunctionFiles.importsLocalFiles(String(decoding: content, as: UTF8.self)) else {
            return (source.path, ownVersion)
        }
        let inputsFile = outputDirectory.appendingPathComponent("\(trigger)-\(ownVersion).inputs")
        if let listed = try? String(contentsOf: inputsFile, encoding: .utf8),
           let version = Self.version(of: listed.split(separator: "\n").map(String.init), root: root, ownVersion: ownVersion) {
            let output = outputDirectory.appendingPathComponent("\(trigger)-\(version).js")
            if FileManager.default.fileExists(atPath: output.path) { return (output.path, version) }
        }
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let attempt = UUID().uuidString
        let bundle = outputDirectory.appendingPathComponent("\(trigger)-\(attempt).building.js")
        let metafile = outputDirectory.appendingPathComponent("\(trigger)-\(attempt).meta.json")
        defer { try? FileManager.default.removeItem(at: metafile) }
        do {
            try await Self.bundle(source, root: root, into: bundle, metafile: metafile, displayedAs: displayedAs)
        } catch {
            try? FileManager.default.removeItem(at: bundle)
            throw error
        }
        let inputs = Self.inputs(ofMetafile: metafile)
        guard let version = Self.version(of: inputs, root: root, ownVersion: ownVersion) else {
            try? FileManager.default.removeItem(at: bundle)
            throw CatalogError("\(displayedAs.path): esbuild did not say which files it bundled")
        }
        let output = outputDirectory.appendingPathComponent("\(trigger)-\(version).js")
        try? FileManager.default.removeItem(at: output)
        try FileManager.default.moveItem(at: bundle, to: output)
        try Data(inputs.joined(separator: "\n").utf8).write(to: inputsFile, options: .atomic)
        return (output.path, version)
    }

    /// `file` bundled with the local files it imports, as one CommonJS script (runtime dependencies stay
    /// `require`s), for a registry version: what `chatfn deploy` pushes for a function with helpers.
    /// - Parameter root: where relative imports resolve; `displayedAs` names the file in errors.
    package static func bundledScript(of file: URL, root: URL, displayedAs: URL) async throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-bundle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("bundle.js")
        try await bundle(file, root: root, into: output, displayedAs: displayedAs)
        guard let data = FileManager.default.contents(atPath: output.path) else { throw CatalogError("\(displayedAs.path): esbuild wrote no bundle") }
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs esbuild: `file` and the local files it imports into `output` (runtime dependencies stay
    /// `require`s; nothing tree-shaken, see the type's comment; an inline source map, so stack traces name
    /// the user's files and lines), and which files went in into `metafile`.
    private static func bundle(_ file: URL, root: URL, into output: URL, metafile: URL? = nil, displayedAs: URL) async throws {
        let (status, message) = try await ChildCommand.run(try locateEsbuild(), [
            file.path, "--bundle", "--packages=external", "--tree-shaking=false", "--format=cjs", "--platform=node", "--target=node18",
            "--sourcemap=inline", "--log-level=error", "--color=false", "--outfile=\(output.path)",
        ] + (metafile.map { ["--metafile=\($0.path)"] } ?? []), in: root)
        guard status == 0 else { throw CatalogError(summarize(message, source: displayedAs)) }
    }

    /// The files esbuild read (relative to the directory it ran in), sorted.
    static func inputs(ofMetafile metafile: URL) -> [String] {
        guard let data = FileManager.default.contents(atPath: metafile.path),
              let meta = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let inputs = meta["inputs"] as? [String: Any] else { return [] }
        return inputs.keys.sorted()
    }

    /// A bundle's version: its one file's own version, or a hash of every file's path and content; nil
    /// when one of them cannot be read any more (then the bundle is built again).
    static func version(of inputs: [String], root: URL, ownVersion: String) -> String? {
        guard !inputs.isEmpty else { return nil }
        if inputs.count == 1 { return ownVersion }
        var manifest = ""
        for input in inputs {
            guard let content = FileManager.default.contents(atPath: root.appendingPathComponent(input).path) else { return nil }
            manifest += "\(input)\u{0}\(ContentHash.hex(of: content))\n"
        }
        return ContentHash.hex(of: Array(manifest.utf8))
    }

    /// esbuild's "✘ [ERROR] Unexpected "="  …  functions/x.ts:1:9:" as "…/functions/x.ts:1:10: Unexpected "="",
    /// with a 1-based column, as everywhere in chatfn (esbuild counts columns from 0).
    static func summarize(_ message: String, source: URL) -> String {
        let problem = problem(in: message)
        guard message.contains("[ERROR]"), let line = problem.line, let column = problem.column else {
            return "\(source.path): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        return "\(source.path):\(line):\(column): \(problem.message)"
    }

    static func locateEsbuild() throws -> String {
        if let esbuild = ChatfnEnvironment.executable("esbuild") { return esbuild }
        throw CatalogError("esbuild was not found on PATH (set CHATFN_ESBUILD; scripts/bootstrap.sh installs Debian's esbuild): TypeScript and ES-module functions need it")
    }
}

/// Where a script does not compile: what the API answers a save with, before anything is stored.
package struct CompileProblem: Error, Sendable, CustomStringConvertible {
    package var message: String
    /// 1-based; nil when the compiler named no position.
    package var line: Int?
    package var column: Int?

    package var description: String {
        line.map { "line \($0), column \(column ?? 1): \(message)" } ?? message
    }
}

extension FunctionCompiler {
    /// Compiles `script` (TypeScript when `typescript`) the way deploying it would, and throws where
    /// it does not compile.
    package static func check(_ script: String, typescript: Bool) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent(typescript ? "function.ts" : "function.js")
        try Data(script.utf8).write(to: source)
        let (status, message) = try await ChildCommand.run(try locateEsbuild(), [
            source.path, "--format=cjs", "--platform=node", "--target=node18", "--log-level=error", "--color=false",
            "--outfile=\(directory.appendingPathComponent("out.js").path)",
        ])
        guard status != 0 else { return }
        throw problem(in: message)
    }

    /// esbuild's first error: its message, and its position made 1-based (esbuild counts columns from 0).
    static func problem(in output: String) -> CompileProblem {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let reason = lines.first { $0.contains("[ERROR]") }.map { $0.components(separatedBy: "[ERROR] ").last ?? $0 }
            ?? output.trimmingCharacters(in: .whitespacesAndNewlines)
        var problem = CompileProblem(message: reason)
        if let location = lines.first(where: { $0.range(of: #"^\s+\S+:\d+:\d+:$"#, options: .regularExpression) != nil }) {
            let numbers = location.trimmingCharacters(in: .whitespaces).dropLast().split(separator: ":").suffix(2).compactMap { Int($0) }
            if numbers.count == 2 {
                problem.line = numbers[0]
                problem.column = numbers[1].addingReportingOverflow(1).overflow ? numbers[1] : numbers[1] + 1
            }
        }
        return problem
    }
}
