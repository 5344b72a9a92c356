import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Testing

@Suite("Kafka layer against the embedded broker")
struct KafkaRoundTripTests {
    @Test("a consumer for which librdkafka names no rebalance protocol (in no group, or closing) unassigns without a crash; a stream of consumer errors ends a poll")
    func noRebalanceProtocol() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("no-group", partitions: 1)
        // No group.id: librdkafka names no rebalance protocol (NULL), as it can while a group member
        // closes, and with a partition assigned every poll answers "unknown group" at once.
        let client = try ConsumerClient(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
            .merging(["enable.auto.commit": "false"]), logger: testLogger)
        let partition = TopicPartition(topic: "no-group", partition: 0)
        client.assign([partition])
        #expect(client.poll(waitingMs: 200, atMost: 10) { _ in }.isEmpty, "the poll ends though errors keep coming")
        client.unassign([partition])
        client.unassignAll()
        #expect(client.poll(waitingMs: 200, atMost: 10) { _ in }.isEmpty)
    }

    @Test("records keep key, value, headers and order through producer and group consumer over TCP")
    func roundTrip() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("round-trip", partitions: 1)
        #expect(broker.bootstrapServers.hasPrefix("127.0.0.1:"))
        let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(configuration: kafka)
        let sent = (0..<5).map { index in
            ProducerRecord(
                topic: "round-trip", key: Array("key-\(index % 2)".utf8), value: Array("value-\(index)".utf8),
                headers: [KafkaHeader(key: "ce_id", string: "id-\(index)"), KafkaHeader(key: "binary", value: [0, 1, 255])])
        }
        var receipts: [DeliveryReceipt] = []
        for record in sent { receipts.append(try await producer.send(record)) }
        #expect(receipts.map(\.offset) == [0, 1, 2, 3, 4])

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: kafka, groupId: "round-trip-group", topics: ["round-trip"]),
            logger: testLogger)
        let collector = RecordCollector(consumer)
        let received = try await collector.waitForCount(5)
        #expect(received.map { String(decoding: $0.value, as: UTF8.self) } == sent.map { String(decoding: $0.value, as: UTF8.self) })
        #expect(received.map(\.key) == sent.map(\.key))
        #expect(received.map { $0.headers.last(named: "ce_id")?.stringValue } == (0..<5).map { "id-\($0)" })
        #expect(received.allSatisfy { $0.headers.last(named: "binary")?.value == [0, 1, 255] })
        #expect(received.allSatisfy { $0.timestampMs != nil })
        await consumer.shutdown()
        await producer.shutdown()
    }

    @Test("two members split the partitions, and committed offsets resume after a restart")
    func consumerGroupSplitAndResume() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("split", partitions: 4)
        let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        let configuration = KafkaConsumerConfiguration(kafka: kafka, groupId: "split-group", topics: ["split"])
        let first = try KafkaConsumer(configuration: configuration, logger: testLogger)
        let second = try KafkaConsumer(configuration: configuration, logger: testLogger)
        let firstRecords = RecordCollector(first)
        let secondRecords = RecordCollector(second)
        try await eventually("both members own partitions", timeout: .seconds(60)) {
            !first.assignment.isEmpty && !second.assignment.isEmpty && first.assignment.count + second.assignment.count == 4
        }
        #expect(Set(first.assignment).isDisjoint(with: Set(second.assignment)))

        let producer = try KafkaProducer(configuration: kafka)
        for index in 0..<40 {
            try await producer.send(ProducerRecord(topic: "split", partition: Int32(index % 4), key: nil, value: Array("\(index)".utf8)))
        }
        try await eventually("all 40 records consumed once") { firstRecords.all.count + secondRecords.all.count >= 40 }
        let firstPartitions = Set(firstRecords.all.map(\.partition))
        let secondPartitions = Set(secondRecords.all.map(\.partition))
        #expect(firstPartitions.isDisjoint(with: secondPartitions))
        #expect(!firstPartitions.isEmpty && !secondPartitions.isEmpty)
        let values = (firstRecords.all + secondRecords.all).map { String(decoding: $0.value, as: UTF8.self) }
        #expect(values.sorted() == (0..<40).map(String.init).sorted())
        for member in [first, second] {
            try await eventually("processed offsets committed") {
                try await member.committedOffsets().values.allSatisfy { $0 == 10 }
            }
        }
        await first.shutdown()
        await second.shutdown()

        for index in 40..<50 {
            try await producer.send(ProducerRecord(topic: "split", partition: Int32(index % 4), key: nil, value: Array("\(index)".utf8)))
        }
        let restarted = try KafkaConsumer(configuration: configuration, logger: testLogger)
        let resumed = RecordCollector(restarted)
        _ = try await resumed.waitForCount(10, timeout: .seconds(60))
        // Committed to the end: anything replayed from before the first members' commits has been handed out.
        try await waitUntilCommittedToEnd(group: configuration.groupId, topic: "split", partitions: 4, kafka: kafka)
        #expect(resumed.all.map { String(decoding: $0.value, as: UTF8.self) }.sorted() == (40..<50).map(String.init).sorted())
        await restarted.shutdown()
        await producer.shutdown()
    }

    @Test("an unprocessed record is not committed: a restarted member gets it again")
    func unprocessedRecordsAreRedelivered() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("redeliver", partitions: 1)
        let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(configuration: kafka)
        for index in 0..<5 { try await producer.send(ProducerRecord(topic: "redeliver", key: nil, value: Array("\(index)".utf8))) }
        let configuration = KafkaConsumerConfiguration(
            kafka: kafka, groupId: "redeliver-group", topics: ["redeliver"], drainTimeout: .milliseconds(200))

        // Process 0, 1 and 3, but not 2: only offsets 0 and 1 may be committed.
        let consumer = try KafkaConsumer(configuration: configuration, logger: testLogger)
        let collector = RecordCollector(consumer, markProcessed: false)
        _ = try await collector.waitForCount(5)
        for lease in collector.leases where [0, 1, 3].contains(lease.record.offset) { lease.complete() }
        #expect(consumer.inFlight == 3)
        await consumer.shutdown()

        let restarted = try KafkaConsumer(configuration: configuration, logger: testLogger)
        let again = RecordCollector(restarted)
        let redelivered = try await again.waitForCount(3, timeout: .seconds(60))
        #expect(redelivered.map(\.offset) == [2, 3, 4])
        await restarted.shutdown()
        await producer.shutdown()
    }
}

@Suite("Topic provisioning")
struct TopicProvisioningTests {
    @Test("existing topics are accepted; a topic the broker cannot create is named in the error")
    func missingTopicIsNamed() async throws {
        // The embedded broker, like a locked-down cluster, does not create topics on request.
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("present", partitions: 1)
        let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        try await TopicProvisioner.ensure([TopicSpec(name: "present", partitions: 1)], configuration: kafka, logger: testLogger)
        await #expect {
            try await TopicProvisioner.ensure(
                [TopicSpec(name: "present", partitions: 1), TopicSpec(name: "absent.topic", partitions: 1)],
                configuration: kafka, logger: testLogger, timeout: .seconds(2))
        } throws: { error in
            let message = "\(error)"
            return message.contains("missing Kafka topic(s)") && message.contains("absent.topic") && !message.contains("present")
        }
    }
}

@Suite("Flow control")
struct FlowControlTests {
    @Test("at the in-flight bound the consumer pauses, and resumes as records are processed")
    func pausesAtTheBound() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("backlog", partitions: 2)
        let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        let producer = try KafkaProducer(configuration: kafka)
        for index in 0..<500 { try await producer.send(ProducerRecord(topic: "backlog", key: nil, value: Array("\(index)".utf8))) }
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(kafka: kafka, groupId: "backlog-group", topics: ["backlog"], maxInFlight: 20),
            logger: testLogger)
        let held = RecordCollector(consumer, markProcessed: false)
        _ = try await held.waitForCount(20)
        try await eventually("fetching paused at the bound") { consumer.isFetchingPaused }
        // Paused at 20; what was already fetched when the pause landed may trickle in, but not the backlog.
        #expect(held.all.count < 100, "handed out \(held.all.count) records with a bound of 20")
        for lease in held.leases { lease.complete() }
        try await eventually("the rest is handed out as records complete") {
            for lease in held.leases { lease.complete() }
            return Set(held.all.map { String(decoding: $0.value, as: UTF8.self) }).count == 500
        }
        await consumer.shutdown()
        await producer.shutdown()
    }
}
