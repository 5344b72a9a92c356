import ChatEvents
import Foundation
import KafkaClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A control plane and its workers on an embedded broker: `chatfn control` replicas and `chatfn run`
/// workers serving the registry, with tokens and a secrets key, and an HTTP recorder functions POST to.
struct ControlFleet {
    static let fullToken = "full-token-for-tests-7c1f"
    static let readToken = "read-token-for-tests-51a0"
    static let secretsKey = Data((0..<32).map { UInt8(($0 * 7 + 3) % 256) }).base64EncodedString()
    static let topics: [(String, Int32)] = LaneFixture.topics.map { ($0, 4) } + [("chatfn.registry", 1), ("chatfn.audit", 1)]

    let broker: EmbeddedKafkaBroker
    let recorder: HTTPRecorder
    let producer: KafkaProducer

    static func make() async throws -> ControlFleet {
        let broker = try EmbeddedKafkaBroker()
        for (topic, partitions) in topics { try broker.createTopic(topic, partitions: partitions) }
        return ControlFleet(broker: broker, recorder: try await HTTPRecorder.start(),
                            producer: try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers)))
    }

    var environment: [String: String] {
        ["CHATFN_API_TOKEN": Self.fullToken, "CHATFN_API_READ_TOKEN": Self.readToken, "CHATFN_SECRETS_KEY": Self.secretsKey]
    }

    /// Starts a control replica and waits until it has read the registry; returns it and its URL.
    /// - Parameter tokens: with the fleet's tokens; without, open to anyone on loopback.
    func startControl(tokens: Bool = true) async throws -> (process: ChatfnProcess, url: String) {
        let port = try await freeLocalPort()
        let process = try ChatfnProcess(["control", "--kafka", broker.bootstrapServers, "--listen", "127.0.0.1:\(port)", "--log-level", "warning"],
                                        environment: tokens ? environment : environment.merging(["CHATFN_API_TOKEN": "", "CHATFN_API_READ_TOKEN": ""]) { $1 },
                                        includingErrors: true)
        let url = "http://127.0.0.1:\(port)"
        do {
            try await eventually("control plane ready", timeout: .seconds(60)) { (try? await httpGet("\(url)/readyz"))?.0 == 200 }
        } catch {
            throw TestFailure("\(error): \(process.stdout)")
        }
        return (process, url)
    }

    /// Starts a worker serving the registry and waits until both lanes consume.
    /// - Parameter secretsKey: the worker's `CHATFN_SECRETS_KEY` ("" for none).
    func startWorker(group: String = "fleet", secretsKey: String = ControlFleet.secretsKey) async throws -> ChatfnProcess {
        try await startWorkerWithAdmin(group: group, secretsKey: secretsKey).process
    }

    /// A worker and the URL of its admin server (`/metrics`).
    func startWorkerWithAdmin(group: String = "fleet", secretsKey: String = ControlFleet.secretsKey, _ extra: [String] = []) async throws
        -> (process: ChatfnProcess, admin: String) {
        let port = try await freeLocalPort()
        let process = try ChatfnProcess(["run", "--kafka", broker.bootstrapServers, "--group", group, "--admin", "127.0.0.1:\(port)",
                                         "--log-level", "warning"] + extra, environment: ["CHATFN_SECRETS_KEY": secretsKey], includingErrors: true)
        let admin = "http://127.0.0.1:\(port)"
        do {
            try await eventually("worker ready", timeout: .seconds(60)) { (try? await httpGet("\(admin)/readyz"))?.0 == 200 }
        } catch {
            throw TestFailure("\(error): \(process.stdout)")
        }
        return (process, admin)
    }

    func publish(_ trigger: String, app: String, id: String, key: String, data: [String: Any] = [:], partition: Int32? = nil) async throws {
        try await producer.send(try eventRecord(trigger: trigger, id: id, key: key, data: data, appId: app, partition: partition))
    }

    func tearDown() async {
        await producer.shutdown()
        await recorder.shutdown()
    }
}

/// One API call: the status and the body (parsed JSON when it is JSON, else the text).
struct APIResponse {
    var status: Int
    var body: Any?
    var text: String
    var response: HTTPURLResponse?

    /// A response header, by its name in any case.
    func header(_ name: String) -> String? { response?.value(forHTTPHeaderField: name) }

    var object: [String: Any] { body as? [String: Any] ?? [:] }
    var array: [[String: Any]] { body as? [[String: Any]] ?? [] }
}

func callAPI(_ method: String, _ url: String, token: String? = ControlFleet.fullToken, json: Any? = nil,
             headers: [String: String] = [:], body: Data? = nil) async throws -> APIResponse {
    var request = URLRequest(url: URL(string: url)!)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body { request.httpBody = body }
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    if let json {
        request.httpBody = try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    let (data, response) = try await uncachedSession.data(for: request)
    return APIResponse(status: (response as? HTTPURLResponse)?.statusCode ?? 0,
                       body: try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
                       text: String(decoding: data, as: UTF8.self), response: response as? HTTPURLResponse)
}

/// Every call reaches the server: no cache answers a revalidation (304) or a repeated GET.
private let uncachedSession: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.urlCache = nil
    configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
    return URLSession(configuration: configuration)
}()
