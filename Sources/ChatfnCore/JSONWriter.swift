/// Writes small JSON objects straight into bytes, for the hot paths (worker requests, invocation
/// records) where Foundation's `JSONEncoder` costs more than the work around it.
package struct JSONWriter {
    package private(set) var bytes: [UInt8] = []
    private var needsComma = false

    package init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
        bytes.append(UInt8(ascii: "{"))
    }

    /// The finished object.
    package mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    package mutating func field(_ name: String, _ value: String?) {
        key(name)
        guard let value else { return append("null") }
        Self.writeString(value, into: &bytes)
    }

    package mutating func field(_ name: String, _ value: Int64) {
        key(name)
        append(String(value))
    }

    package mutating func field(_ name: String, _ value: Int) {
        field(name, Int64(value))
    }

    package mutating func field(_ name: String, _ value: Double) {
        key(name)
        append(value.isFinite ? String(value) : "null")
    }

    package mutating func field(_ name: String, _ value: Bool) {
        key(name)
        append(value ? "true" : "false")
    }

    package mutating func field(_ name: String, strings: [String]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (index, string) in strings.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.writeString(string, into: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A field whose value is already JSON (an object written by another writer, or bytes from Node).
    package mutating func field(_ name: String, json: [UInt8]?) {
        key(name)
        guard let json, !json.isEmpty else { return append("null") }
        bytes.append(contentsOf: json)
    }

    private mutating func key(_ name: String) {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
        Self.writeString(name, into: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func append(_ literal: String) {
        bytes.append(contentsOf: literal.utf8)
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped, everything else as UTF-8.
    static func writeString(_ string: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xf)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
