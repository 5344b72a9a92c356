/// Every key `chatfn.json` may have, as `docs/chatfn.schema.json` publishes them (a unit test keeps the
/// two the same): a key chatfn does not know is an error naming the nearest one it does, instead of a
/// setting silently ignored (`enviroment`, `initscript`).
package indirect enum ManifestKeys: Sendable {
    /// Any value: its content is checked by the decoder.
    case value
    /// An object with these keys.
    case object([String: ManifestKeys])
    /// An object whose keys are names (triggers, variables), each value of this shape.
    case map(ManifestKeys)

    package static let manifest = ManifestKeys.object([
        "$schema": .value,
        "app": .value,
        "runtime": .object([
            "environment": .value, "initScript": .value, "dependencies": .value, "npmRegistry": .value,
            "platform": .object(["baseUrl": .value, "tokenEnv": .value]),
            "minWarm": .value, "maxProcesses": .value, "recycleAfter": .value,
        ]),
        "functions": .map(.object([
            "timeoutMs": .value, "memoryMb": .value, "concurrency": .value, "maxAttempts": .value, "maxEventAgeMs": .value,
            "retryBackoffMs": .value, "retryBackoffMaxMs": .value, "onFailure": .value, "onMissing": .value,
        ])),
    ])

    /// The first unknown key of `json` (a parsed JSON value), as `runtime.enviroment: unknown key (did
    /// you mean environment?)`.
    package func firstUnknownKey(in json: Any, at path: String = "") -> String? {
        switch self {
        case .value:
            return nil
        case .map(let shape):
            guard let object = json as? [String: Any] else { return nil }
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                if let problem = shape.firstUnknownKey(in: value, at: path.isEmpty ? key : "\(path).\(key)") { return problem }
            }
            return nil
        case .object(let keys):
            guard let object = json as? [String: Any] else { return nil }
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                let here = path.isEmpty ? key : "\(path).\(key)"
                guard let shape = keys[key] else {
                    let nearest = keys.keys.filter { $0 != "$schema" }.min { FunctionFiles.editDistance($0, key) < FunctionFiles.editDistance($1, key) }
                    let suggestion = nearest.flatMap { FunctionFiles.editDistance($0.lowercased(), key.lowercased()) <= 3 ? " (did you mean \($0)?)" : nil }
                    return "\(here): unknown key\(suggestion ?? "; known here: \(keys.keys.filter { $0 != "$schema" }.sorted().joined(separator: ", "))")"
                }
                if let problem = shape.firstUnknownKey(in: value, at: here) { return problem }
            }
            return nil
        }
    }

    /// The key paths this describes (`runtime.platform.baseUrl`, `functions.*.timeoutMs`), for the test
    /// that holds the published schema to it.
    package var paths: Set<String> {
        switch self {
        case .value: return []
        case .map(let shape): return Set(shape.paths.map { "*.\($0)" })
        case .object(let keys):
            return Set(keys.flatMap { key, shape in [key] + shape.paths.map { "\(key).\($0)" } })
        }
    }
}
