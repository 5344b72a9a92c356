import Foundation
import Synchronization

/// Client properties an operator hands chatfn, the way Kafka tools take them: `-X key=value` (as kcat)
/// and properties files (as Kafka's `--command-config`). Values of secrets never appear in messages.
package enum KafkaProperties {
    /// A property whose value must never be shown: its name contains `password`, `secret` or `key`
    /// (`sasl.password`, `ssl.key.password`, `sasl.oauthbearer.client.secret`, `ssl.key.pem`, …).
    package static func isSensitive(_ name: String) -> Bool {
        let lowered = name.lowercased()
        return ["password", "secret", "key", "jaas"].contains { lowered.contains($0) }
    }

    /// The values of sensitive properties of every client built so far: librdkafka may quote them (a
    /// file path, a refused value) in an error or a log line, which carry them as "(hidden)" instead.
    private static let hiddenValues = Mutex<Set<String>>([])

    static func hide(_ values: [String]) {
        let values = values.filter { $0.count >= 3 }  // shorter ones would blank out ordinary words
        guard !values.isEmpty else { return }
        hiddenValues.withLock { $0.formUnion(values) }
    }

    /// `message` with every sensitive value replaced by "(hidden)".
    package static func redacting(_ message: String) -> String {
        let values = hiddenValues.withLock { $0 }
        return values.sorted { $0.count > $1.count }.reduce(message) { $0.replacingOccurrences(of: $1, with: "(hidden)") }
    }

    /// `name=value`, or `name=(hidden)` for a sensitive property.
    package static func shown(_ name: String, _ value: String) -> String {
        "\(name)=\(isSensitive(name) ? "(hidden)" : value)"
    }

    /// One `-X key=value`.
    package static func assignment(_ text: String) throws -> (name: String, value: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            // Not echoed: a mistyped `-X sasl.password:…` would print the password.
            throw KafkaError("-X expects KEY=VALUE, e.g. -X security.protocol=SASL_SSL (one given has no = or no key)")
        }
        return (String(text[..<equals]).trimmingCharacters(in: .whitespaces), String(text[text.index(after: equals)...]))
    }

    /// The properties of a Java-style `.properties` file: `key=value` or `key: value` lines, `#` and `!`
    /// comments, a trailing `\` continuing a line. Java's `sasl.jaas.config` for PLAIN and SCRAM becomes
    /// librdkafka's `sasl.username` and `sasl.password`, so a file written for Kafka's own tools works.
    /// - Parameter source: how to name the file in errors.
    package static func parse(_ text: String, source: String) throws -> [(name: String, value: String)] {
        var properties: [(name: String, value: String)] = []
        var pending = ""
        var pendingLine = 0
        // `isNewline`: "\r\n" is one Character in Swift.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            var line = String(rawLine)
            if pending.isEmpty {
                line = line.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
                pendingLine = index + 1
            } else {
                line = line.trimmingCharacters(in: .whitespaces)
            }
            if line.hasSuffix("\\") {
                pending += line.dropLast()
                continue
            }
            let entry = pending + line
            pending = ""
            guard let separator = entry.firstIndex(where: { $0 == "=" || $0 == ":" }), separator != entry.startIndex else {
                throw KafkaError("\(source):\(pendingLine): expected key=value")
            }
            let name = entry[..<separator].trimmingCharacters(in: .whitespaces)
            let value = entry[entry.index(after: separator)...].trimmingCharacters(in: .whitespaces)
            properties += try librdkafkaEquivalent(name: name, value: value, source: "\(source):\(pendingLine)")
        }
        if !pending.isEmpty { throw KafkaError("\(source):\(pendingLine): the last line ends with a continuation '\\'") }
        return properties
    }

    /// librdkafka has no `sasl.jaas.config`: its PLAIN and SCRAM logins are username and password.
    private static func librdkafkaEquivalent(name: String, value: String, source: String) throws -> [(name: String, value: String)] {
        guard name == "sasl.jaas.config" else { return [(name, value)] }
        guard value.contains("PlainLoginModule") || value.contains("ScramLoginModule") else {
            throw KafkaError("\(source): sasl.jaas.config: only PlainLoginModule and ScramLoginModule can be translated; set sasl.username and sasl.password (or sasl.oauthbearer.*) instead")
        }
        func option(_ key: String) -> String? {
            guard let start = value.range(of: "\(key)=\"") else { return nil }
            guard let end = value[start.upperBound...].firstIndex(of: "\"") else { return nil }
            return String(value[start.upperBound..<end])
        }
        guard let username = option("username"), let password = option("password") else {
            throw KafkaError("\(source): sasl.jaas.config: expected username=\"…\" and password=\"…\"")
        }
        return [("sasl.username", username), ("sasl.password", password)]
    }
}
