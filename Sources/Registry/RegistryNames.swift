/// The names the registry keys are made of. Each is checked before it is written: none may hold a `/`
/// (the keys' separator), and every one is safe as a file name.
package enum RegistryNames {
    /// An application id (the events' `ce_appid`): 1–64 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
    package static func problem(application name: String) -> String? {
        check(name, what: "application id", maxLength: 64, allowed: isNameCharacter, first: { $0 != "." && $0 != "-" })
    }

    /// A trigger (`user.received.notification`, or a custom dotted type): 1–128 of `A-Z a-z 0-9 . _ -`.
    package static func problem(trigger name: String) -> String? {
        check(name, what: "trigger", maxLength: 128, allowed: isNameCharacter, first: { $0 != "." && $0 != "-" })
    }

    /// A secret's name, as functions read it (`context.secrets.NAME`): 1–128 of `A-Z a-z 0-9 _`, not
    /// starting with a digit.
    package static func problem(secret name: String) -> String? {
        check(name, what: "secret name", maxLength: 128, allowed: { isNameCharacter($0) && $0 != "." && $0 != "-" },
              first: { !("0"..."9").contains($0) })
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || character == "." || character == "_" || character == "-")
    }

    private static func check(_ name: String, what: String, maxLength: Int, allowed: (Character) -> Bool,
                              first: (Character) -> Bool) -> String? {
        guard let head = name.first else { return "\(what) is empty" }
        guard name.count <= maxLength else { return "\(what) is longer than \(maxLength) characters" }
        guard name.allSatisfy(allowed), first(head) else {
            return "\(what) \(name.escapingForMessage) may hold only letters, digits\(what == "secret name" ? " and _" : ", '.', '_' and '-'")"
                + (first(head) ? "" : ", and may not start with \(head)")
        }
        return nil
    }
}

extension String {
    /// Quoted, at most 80 characters, control characters escaped: safe to echo back in an error.
    var escapingForMessage: String {
        let shown = count > 80 ? prefix(80) + "…" : Substring(self)
        return "\"" + shown.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }
}
