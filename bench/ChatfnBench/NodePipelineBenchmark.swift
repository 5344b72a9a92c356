import Foundation

/// The Node side's limit: `bench/node/pipeline.js` feeds the worker harness the trivial function over
/// the same pipes, with no chatfn in between.
enum NodePipelineBenchmark {
    static func invocationsPerSecond(harness: String, functionFile: String, workers: Int, invocations: Int = 200_000) throws -> Int {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("node/pipeline.js")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["node", script.path, harness, functionFile, "--workers", String(workers), "--invocations", String(invocations)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        struct Result: Decodable { var perSecond: Int }
        guard process.terminationStatus == 0, let result = try? JSONDecoder().decode(Result.self, from: data) else {
            throw BenchError("the Node pipeline failed: \(String(decoding: data, as: UTF8.self))")
        }
        return result.perSecond
    }
}
