/// Where a JSON text stops being JSON (RFC 8259: no comments, no trailing commas), for an error that says
/// "line 3, column 7" where Foundation says only that the data is not valid.
package enum JSONSyntax {
    package struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// 1-based.
        package var line: Int
        package var column: Int
        package var message: String

        package var description: String { "line \(line), column \(column): \(message)" }
    }

    /// The first syntax error of `text`, or nil when it is one JSON value.
    package static func firstProblem(in text: [UInt8]) -> Problem? {
        var parser = Parser(bytes: text)
        do throws(Problem) {
            parser.skipSpace()
            try parser.value(depth: 0)
            parser.skipSpace()
            if parser.index < text.count { throw parser.problem("unexpected text after the JSON value") }
            return nil
        } catch {
            return error
        }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        /// Deep enough for any chatfn.json, shallow enough for the stack.
        static let maxDepth = 200

        func problem(_ message: String) -> Problem {
            var (line, column) = (1, 1)
            for byte in bytes[..<min(index, bytes.count)] {
                if byte == UInt8(ascii: "\n") {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {  // a character, not a continuation byte
                    column += 1
                }
            }
            return Problem(line: line, column: column, message: message)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = current, [0x20, 0x09, 0x0A, 0x0D].contains(byte) { index += 1 }
        }

        mutating func expect(_ character: Character, _ message: String) throws(Problem) {
            guard current == character.asciiValue else { throw problem(message) }
            index += 1
        }

        mutating func value(depth: Int) throws(Problem) {
            guard depth < Self.maxDepth else { throw problem("nested too deeply") }
            switch current {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): try string()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case .some(let byte) where byte == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte): try number()
            case nil: throw problem("unexpected end: a value is missing")
            default: throw problem("expected a value (an object, array, string, number, true, false or null)")
            }
        }

        mutating func object(depth: Int) throws(Problem) {
            index += 1
            skipSpace()
            if current == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else {
                    throw problem(current == UInt8(ascii: "}") ? "a comma before } (trailing commas are not JSON)" : "expected a key in double quotes")
                }
                try string()
                skipSpace()
                try expect(":", "expected : after the key")
                skipSpace()
                try value(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("}", "expected , or } (a comma may be missing)")
                return
            }
        }

        mutating func array(depth: Int) throws(Problem) {
            index += 1
            skipSpace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipSpace()
                if current == UInt8(ascii: "]") { throw problem("a comma before ] (trailing commas are not JSON)") }
                try value(depth: depth + 1)
                skipSpace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("]", "expected , or ] (a comma may be missing)")
                return
            }
        }

        mutating func string() throws(Problem) {
            index += 1
            while let byte = current {
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current, Array("\"\\/bfnrtu".utf8).contains(escaped) else { throw problem("invalid escape in a string") }
                    index += 1
                    if escaped == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            guard let hex = current, (hex >= 0x30 && hex <= 0x39) || (hex | 0x20 >= 0x61 && hex | 0x20 <= 0x66) else {
                                throw problem("\\u needs four hex digits")
                            }
                            index += 1
                        }
                    }
                case 0x00..<0x20: throw problem("a control character (a line break?) inside a string")
                default: index += 1
                }
            }
            throw problem("a string is not closed")
        }

        mutating func literal(_ word: String) throws(Problem) {
            for expected in word.utf8 {
                guard current == expected else { throw problem("expected \(word)") }
                index += 1
            }
        }

        mutating func number() throws(Problem) {
            func digits() -> Int {
                let start = index
                while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
                return index - start
            }
            if current == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw problem("expected a digit") }
            if current == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw problem("expected a digit after the decimal point") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw problem("expected a digit in the exponent") }
            }
        }
    }
}
