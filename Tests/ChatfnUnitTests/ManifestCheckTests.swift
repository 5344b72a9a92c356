import Foundation
import Functions
import Testing

@Suite("chatfn.json checks")
struct ManifestCheckTests {
    static func load(_ text: String) -> String? {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-manifest-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try? Data(text.utf8).write(to: directory.appendingPathComponent("chatfn.json"))
        do {
            _ = try ApplicationManifest.load(fromDirectory: directory.path, displayedAs: "chatfn.json")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a syntax error names its line and column; an unknown key names the nearest known one")
    func mistakes() {
        #expect(Self.load("{\n  \"app\": \"x\",\n  \"runtime\": { \"environment\": { \"A\": \"1\" }, }\n}\n") == "chatfn.json:3:45: a comma before } (trailing commas are not JSON)")
        #expect(Self.load("{\n  \"app\": \"x\"\n  \"runtime\": {}\n}") == "chatfn.json:3:3: expected , or } (a comma may be missing)")
        #expect(Self.load("{ \"runtime\": { \"enviroment\": {} } }") == "invalid chatfn.json: runtime.enviroment: unknown key (did you mean environment?)")
        #expect(Self.load("{ \"runtime\": { \"initscript\": \"init.js\" } }")?.contains("did you mean initScript?") == true)
        #expect(Self.load("{ \"functions\": { \"user.sent.message\": { \"timeout\": 5 } } }")?.contains("functions.user.sent.message.timeout: unknown key (did you mean timeoutMs?)") == true)
        #expect(Self.load("{ \"$schema\": \"../docs/chatfn.schema.json\", \"app\": \"shop\", \"functions\": { \"a.b\": { \"timeoutMs\": 5 } } }") == nil)
    }

    @Test("JSONSyntax: valid JSON passes; errors are placed in characters, not bytes")
    func syntax() {
        #expect(JSONSyntax.firstProblem(in: Array(#"{"a": [1, -2.5e3, true, null, "\u00e9\n"], "b": {}}"#.utf8)) == nil)
        let placed = JSONSyntax.firstProblem(in: Array("{\"é\": x}".utf8))
        #expect(placed?.line == 1 && placed?.column == 7, "\(String(describing: placed))")
        #expect(JSONSyntax.firstProblem(in: Array("[1,]".utf8))?.message == "a comma before ] (trailing commas are not JSON)")
        #expect(JSONSyntax.firstProblem(in: Array("{} {}".utf8))?.message == "unexpected text after the JSON value")
        #expect(JSONSyntax.firstProblem(in: Array(String(repeating: "[", count: 10_000).utf8))?.message == "nested too deeply")
    }

    @Test("the published schema (docs/chatfn.schema.json) has exactly the keys chatfn reads")
    func publishedSchema() throws {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { directory.deleteLastPathComponent() }
        let data = try Data(contentsOf: directory.appendingPathComponent("docs/chatfn.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        func paths(_ node: [String: Any]) -> Set<String> {
            if let properties = node["properties"] as? [String: Any] {
                return Set(properties.flatMap { key, value in [key] + paths(value as? [String: Any] ?? [:]).map { "\(key).\($0)" } })
            }
            if let values = node["additionalProperties"] as? [String: Any], values["properties"] != nil {
                return Set(paths(values).map { "*.\($0)" })
            }
            return []
        }
        #expect(paths(schema) == ManifestKeys.manifest.paths)
        #expect(schema["additionalProperties"] as? Bool == false)
    }
}
