import KafkaClient
import Testing

@Suite("Kafka client properties: -X, properties files, secrets kept out of messages")
struct KafkaPropertiesTests {
    @Test("a properties file: comments, both separators, continuations, and Java's sasl.jaas.config as librdkafka's username and password")
    func propertiesFile() throws {
        let text = """
            # Confluent Cloud
            ! another comment
            bootstrap.servers = pkc-123.eu-west-1.aws.confluent.cloud:9092
            security.protocol:SASL_SSL
            sasl.mechanism=PLAIN
            sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule \\
               required username="ABCDEF" password="s3cr=t";
            ssl.endpoint.identification.algorithm=https\r

            """
        let properties = try KafkaProperties.parse(text, source: "client.properties")
        #expect(properties.map(\.name) == ["bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.username", "sasl.password",
                                           "ssl.endpoint.identification.algorithm"])
        #expect(properties.first { $0.name == "sasl.password" }?.value == "s3cr=t")
        #expect(properties.first { $0.name == "bootstrap.servers" }?.value == "pkc-123.eu-west-1.aws.confluent.cloud:9092")
        #expect(properties.last?.value == "https")
    }

    @Test("a malformed line or a JAAS login librdkafka has no equivalent of is an error naming the file and line")
    func malformedFiles() {
        #expect(throws: KafkaError.self) { try KafkaProperties.parse("a=1\njust-a-word\n", source: "f") }
        do {
            _ = try KafkaProperties.parse("a=1\njust-a-word\n", source: "f.properties")
        } catch {
            #expect("\(error)" == "f.properties:2: expected key=value")
        }
        do {
            _ = try KafkaProperties.parse("sasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required;", source: "f")
            Issue.record("Kerberos JAAS accepted")
        } catch {
            #expect("\(error)".contains("f:1: sasl.jaas.config"))
        }
    }

    @Test("-X key=value, and which values are secret")
    func assignmentsAndSecrets() throws {
        #expect(try KafkaProperties.assignment("sasl.password=a=b") == ("sasl.password", "a=b"))
        #expect(throws: KafkaError.self) { try KafkaProperties.assignment("security.protocol") }
        #expect(throws: KafkaError.self) { try KafkaProperties.assignment("=value") }
        do {
            _ = try KafkaProperties.assignment("sasl.password:Hunter2Secret")
            Issue.record("accepted")
        } catch {
            #expect(!"\(error)".contains("Hunter2Secret"), "a mistyped -X echoes nothing: \(error)")
        }
        for name in ["sasl.password", "ssl.key.password", "ssl.key.pem", "sasl.oauthbearer.client.secret", "ssl.keystore.location", "sasl.jaas.config"] {
            #expect(KafkaProperties.isSensitive(name), "\(name)")
            #expect(KafkaProperties.shown(name, "hunter2") == "\(name)=(hidden)")
        }
        for name in ["security.protocol", "sasl.mechanism", "sasl.username", "bootstrap.servers"] {
            #expect(!KafkaProperties.isSensitive(name), "\(name)")
        }
    }

    @Test("librdkafka checks every property: an unknown name or a bad value is refused, a secret value never quoted")
    func validation() {
        #expect(throws: Never.self) { try KafkaConfiguration(bootstrapServers: "b:9092", properties: ["security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512"]).validate() }
        do {
            try KafkaConfiguration(bootstrapServers: "b:9092", properties: ["no.such.property": "1"]).validate()
            Issue.record("unknown property accepted")
        } catch {
            #expect("\(error)".hasPrefix("invalid Kafka property no.such.property=1: No such configuration property"), "\(error)")
        }
        do {
            try KafkaConfiguration(bootstrapServers: "b:9092", properties: ["ssl.truststore.location": "/etc/kafka.jks"]).validate()
            Issue.record("a Java truststore accepted")
        } catch {
            #expect("\(error)".contains("ssl.ca.location"), "librdkafka's alternative is named: \(error)")
        }
        // A secret of a client built once is hidden from every later message, librdkafka's log lines included.
        #expect(throws: Never.self) { try KafkaConfiguration(bootstrapServers: "b:9092", properties: ["ssl.keystore.password": "hunter2-pass"]).validate() }
        #expect(KafkaProperties.redacting("could not decrypt with hunter2-pass") == "could not decrypt with (hidden)")
    }
}
