import ChatfnCore
import CKafka
import Logging

/// A topic chatfn needs, with the partition count to create it with when it is missing.
package struct TopicSpec: Sendable, Hashable {
    package var name: String
    package var partitions: Int32
    /// Topic configuration to create it with (e.g. `cleanup.policy`).
    package var configs: [String: String]

    package init(name: String, partitions: Int32, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.configs = configs
    }
}

/// Makes sure chatfn's topics exist on a real broker: creates the missing ones, and where the broker
/// refuses to create topics, accepts those that exist and names those that do not.
package enum TopicProvisioner {
    /// Creates those of `topics` that the cluster lacks; throws naming the ones that are still missing.
    /// - Parameter timeout: how long the broker may take to answer each request.
    package static func ensure(_ topics: [TopicSpec], configuration: KafkaConfiguration, logger: Logger,
                              timeout: Duration = .seconds(15)) async throws {
        let conf = try configuration.withoutConsumerProperties.makeNativeConfiguration()
        let handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, configuration: conf)
        let timeoutMs = Int32(clamping: timeout.wholeMilliseconds)
        let present = try await DedicatedThread.run(name: "chatfn-metadata") { try existingTopics(handle: handle, timeoutMs: timeoutMs) }
        let absent = topics.filter { !present.contains($0.name) }
        guard !absent.isEmpty else { return }
        let refusals = try await DedicatedThread.run(name: "chatfn-create-topics") {
            try createTopics(absent, handle: handle, timeoutMs: timeoutMs)
        }
        guard !refusals.isEmpty else {
            logger.info("created topics", metadata: ["topics": "\(absent.map(\.name).joined(separator: ","))"])
            return
        }
        let existing = try await DedicatedThread.run(name: "chatfn-metadata") { try existingTopics(handle: handle, timeoutMs: timeoutMs) }
        let missing = absent.filter { !existing.contains($0.name) }
        if missing.isEmpty {
            logger.debug("topics exist; the broker declined to create them", metadata: ["reasons": "\(refusals)"])
            return
        }
        let details = missing.map { "\($0.name) (\(refusals[$0.name] ?? "not created"))" }.joined(separator: ", ")
        throw KafkaError("missing Kafka topic(s) that chatfn could not create: \(details). Create them, or let chatfn's principal create topics.")
    }

    /// Returns, by topic, why the broker did not create it (absent: created or already there).
    private static func createTopics(_ topics: [TopicSpec], handle: KafkaHandle, timeoutMs: Int32) throws -> [String: String] {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        var newTopics: [OpaquePointer?] = []
        defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
        for topic in topics {
            guard let newTopic = rd_kafka_NewTopic_new(topic.name, topic.partitions, -1, &errorBuffer, errorBuffer.count) else {
                throw KafkaError("invalid topic \(topic.name): \(String(errorBuffer: errorBuffer))")
            }
            newTopics.append(newTopic)
            for (name, value) in topic.configs.sorted(by: { $0.key < $1.key }) {
                _ = rd_kafka_NewTopic_set_config(newTopic, name, value)
            }
        }
        let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errorBuffer, errorBuffer.count)
        let queue = rd_kafka_queue_new(handle.pointer)
        defer { rd_kafka_queue_destroy(queue) }
        rd_kafka_CreateTopics(handle.pointer, &newTopics, newTopics.count, options, queue)
        guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1_000) else {
            return Dictionary(uniqueKeysWithValues: topics.map { ($0.name, "no answer from the broker") })
        }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR {
            let reason = String(cString: rd_kafka_event_error_string(event))
            return Dictionary(uniqueKeysWithValues: topics.map { ($0.name, reason) })
        }
        var refusals: [String: String] = [:]
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
              let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return refusals }
        for index in 0..<count {
            let topicResult = results[index]
            let error = rd_kafka_topic_result_error(topicResult)
            guard error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else { continue }
            let name = String(cString: rd_kafka_topic_result_name(topicResult))
            refusals[name] = rd_kafka_topic_result_error_string(topicResult).map { String(cString: $0) }
                ?? String(cString: rd_kafka_err2str(error))
        }
        return refusals
    }

    private static func existingTopics(handle: KafkaHandle, timeoutMs: Int32) throws -> Set<String> {
        Set(try ClusterMetadata.topics(handle.pointer, timeoutMs: timeoutMs).keys)
    }

    /// What the cluster says `topic` is configured with, for the keys of `keys`; nil when the broker does
    /// not let chatfn describe topic configurations (an ACL, or a broker without the API).
    package static func describeConfigs(of topic: String, keys: Set<String>, configuration: KafkaConfiguration,
                                       timeout: Duration = .seconds(10)) async throws -> [String: String]? {
        let handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, configuration: try configuration.withoutConsumerProperties.makeNativeConfiguration())
        let timeoutMs = Int32(clamping: timeout.wholeMilliseconds)
        return try await DedicatedThread.run(name: "chatfn-describe-configs") {
            var resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)
            defer { rd_kafka_ConfigResource_destroy(resource) }
            let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            var errorBuffer = [CChar](repeating: 0, count: 512)
            _ = rd_kafka_AdminOptions_set_request_timeout(options, timeoutMs, &errorBuffer, errorBuffer.count)
            let queue = rd_kafka_queue_new(handle.pointer)
            defer { rd_kafka_queue_destroy(queue) }
            rd_kafka_DescribeConfigs(handle.pointer, &resource, 1, options, queue)
            guard let event = rd_kafka_queue_poll(queue, timeoutMs + 1_000) else { return nil }
            defer { rd_kafka_event_destroy(event) }
            guard rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR,
                  let result = rd_kafka_event_DescribeConfigs_result(event) else { return nil }
            var count = 0
            guard let resources = rd_kafka_DescribeConfigs_result_resources(result, &count), count == 1,
                  rd_kafka_ConfigResource_error(resources[0]) == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            var entryCount = 0
            guard let entries = rd_kafka_ConfigResource_configs(resources[0], &entryCount) else { return nil }
            var found: [String: String] = [:]
            for index in 0..<entryCount {
                let name = String(cString: rd_kafka_ConfigEntry_name(entries[index]))
                if keys.contains(name) { found[name] = rd_kafka_ConfigEntry_value(entries[index]).map { String(cString: $0) } ?? "" }
            }
            return found
        }
    }

    /// The partition count of each of `topics` that exists.
    package static func partitionCounts(of topics: [String], configuration: KafkaConfiguration) async throws -> [String: Int32] {
        let handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, configuration: try configuration.withoutConsumerProperties.makeNativeConfiguration())
        let all = try await DedicatedThread.run(name: "chatfn-metadata") { try ClusterMetadata.topics(handle.pointer, timeoutMs: 10_000) }
        return all.filter { topics.contains($0.key) }
    }
}
