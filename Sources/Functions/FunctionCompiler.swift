import ChatEvents
import ChatfnCore
import Foundation

/// Turns TypeScript and ES-module functions into the CommonJS the harness loads, with esbuild (Debian's
/// `esbuild` package): types stripped, `import`/`export` rewritten, an inline source map so stack traces
/// point at the user's own lines. Compiled files are cached by content hash.
package struct FunctionCompiler: Sendable {
    let outputDirectory: URL

    static let compiledExtensions: Set<String> = ["ts", "mts", "cts", "mjs"]

    /// Whether `file` must be compiled: TypeScript, `.mjs`, or JavaScript written as an ES module.
    static func needsCompiling(_ file: URL, content: Data) -> Bool {
        if compiledExtensions.contains(file.pathExtension) { return true }
        let source = String(decoding: content, as: UTF8.self)
        return source.range(of: #"(^|\n)\s*(export\s+(default|async|function|const|let|class|\{)|import\s+[\w{*])"#, options: .regularExpression) != nil
    }

    /// The compiled file for `source` (whose content hashes to `version`).
    /// - Parameter displayedAs: the file as its author knows it, for error messages.
    func compile(_ source: URL, trigger: String, version: String, displayedAs: URL) async throws -> String {
        let output = outputDirectory.appendingPathComponent("\(trigger)-\(version).js")
        if FileManager.default.fileExists(atPath: output.path) { return output.path }
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let (status, message) = try await ChildCommand.run(try Self.locateEsbuild(), [
            source.path, "--format=cjs", "--platform=node", "--target=node18", "--sourcemap=inline",
            "--log-level=error", "--color=false", "--outfile=\(output.path)",
        ])
        guard status == 0 else {
            try? FileManager.default.removeItem(at: output)
            throw CatalogError(Self.summarize(message, source: displayedAs))
        }
        return output.path
    }

    /// esbuild's "✘ [ERROR] Unexpected "="  …  functions/x.ts:1:9:" as "…/functions/x.ts:1:9: Unexpected "="",
    /// with esbuild's own (0-based) column.
    static func summarize(_ message: String, source: URL) -> String {
        let problem = problem(in: message)
        guard message.contains("[ERROR]"), let line = problem.line, let column = problem.column else {
            return "\(source.path): \(message.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        return "\(source.path):\(line):\(column - 1): \(problem.message)"
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
