/// One sample for `/metrics`, in Prometheus' text exposition format.
package struct Metric: Sendable, Hashable {
    package enum Kind: String, Sendable {
        case counter
        case gauge
    }

    package var name: String
    package var help: String
    package var kind: Kind
    package var labels: [String: String]
    package var value: Double

    package init(_ name: String, _ kind: Kind, help: String, labels: [String: String] = [:], value: Double) {
        self.name = name
        self.kind = kind
        self.help = help
        self.labels = labels
        self.value = value
    }

    /// Renders samples grouped by name, each name with its HELP and TYPE lines once.
    package static func exposition(_ metrics: [Metric]) -> String {
        var lines: [String] = []
        var described: Set<String> = []
        for metric in metrics {
            if described.insert(metric.name).inserted {
                lines.append("# HELP \(metric.name) \(metric.help)")
                lines.append("# TYPE \(metric.name) \(metric.kind.rawValue)")
            }
            let labels = metric.labels.sorted { $0.key < $1.key }
                .map { "\($0.key)=\"\($0.value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\"" }
            let value = metric.value.rounded() == metric.value ? String(Int64(metric.value)) : String(metric.value)
            lines.append(labels.isEmpty ? "\(metric.name) \(value)" : "\(metric.name){\(labels.joined(separator: ","))} \(value)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
