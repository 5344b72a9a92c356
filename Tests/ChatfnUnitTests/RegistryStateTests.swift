import Foundation
import Functions
@testable import Registry
import Testing

@Suite("Registry state")
struct RegistryStateTests {
    /// A log being built: each record gets the next offset, as a one-partition topic gives them.
    struct Log {
        var state = RegistryState()
        var offset: Int64 = 0

        @discardableResult
        mutating func append(_ key: RegistryKey, _ json: String?) -> String? {
            defer { offset += 1 }
            return state.apply(key: key.encoded, value: json.map { Array($0.utf8) }, offset: offset)
        }

        mutating func create(_ app: String, generation: String = "g1") {
            append(.application(app: app, generation: generation), #"{"createdTime": 1}"#)
        }

        mutating func save(_ app: String, _ trigger: String, id: String, script: String = "x", generation: String = "g1") {
            append(.version(app: app, generation: generation, trigger: trigger, id: id),
                   #"{"handlerScript": "\#(script)", "language": "javascript", "sha256": "s", "createdTime": 2, "author": "a"}"#)
        }
    }

    @Test("versions are numbered by their place in the log, whoever wrote them")
    func numbering() throws {
        var log = Log()
        log.create("app")
        log.save("app", "user.received.notification", id: "replica-a")
        log.save("app", "user.received.notification", id: "replica-b")
        log.save("app", "user.sent.message", id: "other")
        let function = try #require(log.state.application("app")?.functions["user.received.notification"])
        #expect(function.versions.map(\.number) == [1, 2])
        #expect(function.versions.map(\.id) == ["replica-a", "replica-b"])
        #expect(function.current?.id == "replica-b")
        #expect(log.state.application("app")?.functions["user.sent.message"]?.current?.number == 1)
    }

    @Test("an undeploy hides the function until the next version is saved")
    func undeployAndSaveAgain() throws {
        var log = Log()
        log.create("app")
        log.save("app", "t.x", id: "1")
        log.append(.undeploy(app: "app", generation: "g1", trigger: "t.x"), #"{"time": 3}"#)
        #expect(log.state.application("app")?.functions["t.x"]?.current == nil)
        #expect(log.state.application("app")?.deployed.isEmpty == true)
        log.save("app", "t.x", id: "2")
        #expect(log.state.application("app")?.functions["t.x"]?.current?.number == 2)
    }

    @Test("deleting an application ends its generation: a record written late for it, and a new application of the same id, do not bring it back")
    func deletionEndsTheGeneration() throws {
        var log = Log()
        log.create("app")
        log.save("app", "t.x", id: "1", script: "old")
        #expect(log.append(.application(app: "app", generation: "g1"), nil) == "app")
        #expect(log.state.application("app") == nil)
        log.save("app", "t.x", id: "late")  // a writer that had not seen the deletion
        #expect(log.state.application("app") == nil)
        log.create("app", generation: "g2")
        let recreated = try #require(log.state.application("app"))
        #expect(recreated.functions.isEmpty)
        log.save("app", "t.x", id: "new", generation: "g2")
        #expect(log.state.application("app")?.functions["t.x"]?.versions.map(\.number) == [1])
    }

    @Test("of two generations created at once, the earlier in the log is the application; the other's records are not")
    func racingCreations() {
        var log = Log()
        log.create("app", generation: "first")
        log.create("app", generation: "second")
        log.save("app", "t.x", id: "v", generation: "second")
        #expect(log.state.application("app")?.generation == "first")
        #expect(log.state.application("app")?.functions.isEmpty == true)
    }

    @Test("a key or value this chatfn cannot read is counted and skipped; the rest still applies")
    func unreadableRecords() {
        var log = Log()
        _ = log.state.apply(key: "future-kind/app/g1/x", value: Array("{}".utf8), offset: 0)
        log.offset = 1
        log.create("app")
        log.append(.settings(app: "app", generation: "g1", trigger: "t.x"), #"{"timeoutMs": "soon"}"#)
        log.append(.settings(app: "app", generation: "g1", trigger: "t.y"), #"{"timeoutMs": 500}"#)
        #expect(log.state.unreadable == 2)
        #expect(log.state.application("app")?.functions["t.y"]?.settings?.timeoutMs == 500)
        #expect(log.state.appliedOffset == 3)
    }

    @Test("deleting an application tombstones every key of its generation")
    func deletionKeys() throws {
        var log = Log()
        log.create("app")
        log.save("app", "t.x", id: "1")
        log.append(.secret(app: "app", generation: "g1", name: "API_KEY"), #"{"sealed": "s", "updatedTime": 1}"#)
        let keys = log.state.keys(of: try #require(log.state.application("app"))).map(\.encoded)
        #expect(keys.contains("version/app/g1/t.x/1"))
        #expect(keys.contains("secret/app/g1/API_KEY"))
        #expect(keys.contains("runtime/app/g1/dependencies"))
    }

    @Test("names that would break a key or a path are refused")
    func names() {
        #expect(RegistryNames.problem(application: "my-app.1") == nil)
        #expect(RegistryNames.problem(application: "a/b") != nil)
        #expect(RegistryNames.problem(application: "..") != nil)
        #expect(RegistryNames.problem(application: "") != nil)
        #expect(RegistryNames.problem(trigger: "user.received.notification") == nil)
        #expect(RegistryNames.problem(trigger: "x\ny") != nil)
        #expect(RegistryNames.problem(secret: "API_KEY") == nil)
        #expect(RegistryNames.problem(secret: "1KEY") != nil)
        #expect(RegistryNames.problem(secret: "A.B") != nil)
    }
}

@Suite("Secret sealing")
struct SecretSealerTests {
    let sealer: SecretSealer

    init() throws {
        sealer = try SecretSealer(base64Key: Data((0..<32).map { UInt8($0) }).base64EncodedString())
    }

    @Test("a sealed value opens for its application and name only, and does not contain the value")
    func bound() throws {
        let sealed = try sealer.seal("hunter2-very-secret", application: "app", name: "API_KEY")
        #expect(!sealed.contains("hunter2"))
        #expect(!String(decoding: Data(base64Encoded: sealed) ?? Data(), as: UTF8.self).contains("hunter2"))
        #expect(try sealer.open(sealed, application: "app", name: "API_KEY") == "hunter2-very-secret")
        #expect(throws: SecretError.self) { try sealer.open(sealed, application: "other", name: "API_KEY") }
        #expect(throws: SecretError.self) { try sealer.open(sealed, application: "app", name: "OTHER") }
        let otherKey = try SecretSealer(base64Key: Data(repeating: 7, count: 32).base64EncodedString())
        #expect(throws: SecretError.self) { try otherKey.open(sealed, application: "app", name: "API_KEY") }
    }

    @Test("a key that is not 32 bytes of base64 is refused with how to make one")
    func badKey() {
        #expect(throws: SecretError.self) { try SecretSealer(base64Key: "c2hvcnQ=") }
        #expect(throws: SecretError.self) { try SecretSealer(base64Key: "not base64!") }
    }
}

@Suite("Registry state: deletion after a racing creation")
struct RegistryRacingDeletionTests {
    @Test("tombstoning every generation of an id, as deleting does, leaves no generation to take the live one's place")
    func everyGenerationEnds() throws {
        var log = RegistryStateTests.Log()
        log.create("app", generation: "first")
        log.create("app", generation: "second")
        let generations = log.state.generations(of: "app").map(\.generation)
        #expect(generations == ["first", "second"])
        log.append(.application(app: "app", generation: "first"), nil)
        #expect(log.state.application("app")?.generation == "second", "deleting only the live one brings the other back")
        log.append(.application(app: "app", generation: "second"), nil)
        #expect(log.state.application("app") == nil)
    }
}

@Suite("Registry state: records it cannot read")
struct RegistryUnreadableRecordTests {
    @Test("a version record this chatfn cannot read keeps its number: later versions are numbered as a newer chatfn numbers them")
    func numbersSurviveUnreadableVersions() throws {
        var log = RegistryStateTests.Log()
        log.create("app")
        log.save("app", "t.x", id: "1")
        log.append(.version(app: "app", generation: "g1", trigger: "t.x", id: "2"), #"{"handlerScript": "x", "language": "cobol", "sha256": "s", "createdTime": 2, "author": "a"}"#)
        log.save("app", "t.x", id: "3")
        let function = try #require(log.state.application("app")?.functions["t.x"])
        #expect(function.versions.map(\.number) == [1, 3])
        #expect(log.state.unreadable == 1)
    }

    @Test("names chatfn would never write (an application `..` or `.hidden`) are not applied")
    func invalidNames() {
        var log = RegistryStateTests.Log()
        log.append(.application(app: "..", generation: "g1"), #"{"createdTime": 1}"#)
        log.append(.application(app: ".hidden", generation: "g1"), #"{"createdTime": 1}"#)
        #expect(log.state.applications.isEmpty)
        #expect(log.state.unreadable == 2)
    }
}

@Suite("Registry state: retried saves")
struct RegistryRetriedSaveTests {
    @Test("two version records of one request are one version, whichever replica wrote the second; the next save is numbered after it")
    func oneVersionPerRequest() throws {
        var log = RegistryStateTests.Log()
        log.create("app")
        for id in ["first-try", "retry"] {
            log.append(.version(app: "app", generation: "g1", trigger: "t.x", id: id),
                       #"{"handlerScript": "x", "language": "javascript", "sha256": "s", "createdTime": 2, "author": "a", "requestId": "req-1"}"#)
        }
        log.save("app", "t.x", id: "next")
        let function = try #require(log.state.application("app")?.functions["t.x"])
        #expect(function.versions.map(\.id) == ["first-try", "next"])
        #expect(function.versions.map(\.number) == [1, 2])
    }
}

