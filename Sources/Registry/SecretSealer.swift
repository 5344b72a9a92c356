import Crypto
import Foundation

/// Seals applications' secrets with AES-256-GCM under the fleet's key (`CHATFN_SECRETS_KEY`), binding
/// the application and the secret's name in as authenticated data: a sealed value copied to another
/// application or name does not open.
package struct SecretSealer: Sendable {
    /// The key's bytes (SymmetricKey is not Sendable): a key is made from them for each use.
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// - Parameter base64Key: the base64 of 32 random bytes (`openssl rand -base64 32`).
    package init(base64Key: String) throws {
        guard let bytes = Data(base64Encoded: base64Key.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
            throw SecretError("CHATFN_SECRETS_KEY must be the base64 of 32 bytes (make one with: openssl rand -base64 32)")
        }
        keyBytes = Array(bytes)
    }

    /// A key for local development only, derived from nothing secret: `chatfn dev` uses it when
    /// `CHATFN_SECRETS_KEY` is not set.
    package static let development = SecretSealer(developmentKey: ())

    private init(developmentKey: Void) {
        keyBytes = Array(SHA256.hash(data: Data("chatfn development secrets key: not for production".utf8)))
    }

    package func seal(_ value: String, application: String, name: String) throws -> String {
        let box = try AES.GCM.seal(Data(value.utf8), using: key, authenticating: Self.boundData(application, name))
        guard let combined = box.combined else { throw SecretError("could not seal the secret \(name)") }
        return combined.base64EncodedString()
    }

    /// The value; the error names the secret, never its content.
    package func open(_ sealed: String, application: String, name: String) throws -> String {
        do {
            guard let combined = Data(base64Encoded: sealed) else { throw SecretError("") }
            let box = try AES.GCM.SealedBox(combined: combined)
            let value = try AES.GCM.open(box, using: key, authenticating: Self.boundData(application, name))
            return String(decoding: value, as: UTF8.self)
        } catch {
            throw SecretError("the secret \(name) of \(application) does not open with this CHATFN_SECRETS_KEY (sealed with another key?)")
        }
    }

    private static func boundData(_ application: String, _ name: String) -> Data {
        Data("chatfn-secret/v1\u{0}\(application)\u{0}\(name)".utf8)
    }
}

package struct SecretError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ description: String) { self.description = description }
}
