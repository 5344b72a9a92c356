extension String {
    /// At most `maxBytes` bytes of UTF-8, cut at a character boundary, with a marker saying how much was
    /// cut: for text from outside (error messages, log lines) that goes into bounded places.
    package func truncated(toUTF8Bytes maxBytes: Int) -> String {
        let total = utf8.count
        guard total > maxBytes else { return self }
        var kept = 0
        var end = startIndex
        for character in self {
            let size = character.utf8.count
            guard kept + size <= maxBytes else { break }
            kept += size
            end = index(after: end)
        }
        return String(self[..<end]) + "… [\(total - kept) more bytes]"
    }
}

extension String {
    /// Control characters written visibly (`\n`, `\u{1b}`), so that text from outside (an event id, a
    /// trigger, a function's output) cannot forge log lines or drive the terminal: C0/C1 controls, line
    /// and paragraph separators, and the bidirectional overrides that reorder what a reader sees.
    /// - Parameter keepingNewlines: leave `\n` as it is, for text the caller splits into lines itself.
    package func escapingControlCharacters(keepingNewlines: Bool = false) -> String {
        guard unicodeScalars.contains(where: Self.needsEscaping) else { return self }
        var escaped = ""
        escaped.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            guard Self.needsEscaping(scalar), !(keepingNewlines && scalar == "\n") else {
                escaped.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return escaped
    }

    private static func needsEscaping(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
        }
    }
}
