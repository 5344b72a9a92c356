import Crypto
import Foundation

/// The hashes the registry records: script checksums and token fingerprints.
package enum Digest {
    /// A token's fingerprint for audit records and version authors: never the token itself.
    package static func fingerprint(of token: String?) -> String {
        guard let token else { return "anonymous" }
        return "sha256:" + SHA256.hash(data: Data(token.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Hex SHA-256 of `text`.
    package static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
