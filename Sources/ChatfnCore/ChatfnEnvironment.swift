import Foundation

/// Every environment variable chatfn reads, read here and nowhere else: the documented ones
/// (`CHATFN_*`), the standard ones it builds on (`PATH`, `HOME`), and the secrets an application's
/// `chatfn.json` names (`runtime.platform.tokenEnv`).
package enum ChatfnEnvironment {
    private static var variables: [String: String] { ProcessInfo.processInfo.environment }

    /// A variable's value; nil when it is unset or empty.
    private static func value(_ name: String) -> String? {
        variables[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `CHATFN_KAFKA`: the bootstrap servers when `--kafka` is not given.
    package static var kafka: String? { value("CHATFN_KAFKA") }
    /// `CHATFN_KAFKA_CONFIG`: a file of librdkafka client properties (what `--kafka-config` names).
    package static var kafkaConfig: String? { value("CHATFN_KAFKA_CONFIG") }
    /// `CHATFN_LOG_LEVEL`: the default of `--log-level`.
    package static var logLevel: String? { value("CHATFN_LOG_LEVEL") }
    /// `CHATFN_LOG_FORMAT`: `text` or `json` (what `--log-format` takes).
    package static var logFormat: String? { value("CHATFN_LOG_FORMAT") }
    /// `CHATFN_HOME`: where `chatfn dev` leaves its broker's address (default `~/.chatfn`).
    package static var home: String { value("CHATFN_HOME") ?? (userHome + "/.chatfn") }
    /// `CHATFN_CACHE`: installed runtimes and compiled functions (default `~/.cache/chatfn`).
    package static var cache: String { value("CHATFN_CACHE") ?? (userHome + "/.cache/chatfn") }
    /// `CHATFN_HARNESS`: the worker harness to run instead of the bundled one.
    package static var harness: String? { value("CHATFN_HARNESS") }
    /// `HOME`, else the temporary directory.
    package static var userHome: String { value("HOME") ?? NSTemporaryDirectory() }
    /// `PATH`, else the usual system directories.
    package static var path: String { value("PATH") ?? "/usr/local/bin:/usr/bin:/bin" }

    /// `CHATFN_API_TOKEN`: full access to the control plane's API (and what the CLI sends it).
    package static var apiToken: String? { value("CHATFN_API_TOKEN") }
    /// `CHATFN_API_READ_TOKEN`: read-only access to the control plane's API.
    package static var apiReadToken: String? { value("CHATFN_API_READ_TOKEN") }
    /// `CHATFN_API_URL`: the control plane the CLI talks to when `--api` is not given.
    package static var apiUrl: String? { value("CHATFN_API_URL") }
    /// `CHATFN_SECRETS_KEY`: the base64 of the 32-byte key that seals applications' secrets.
    package static var secretsKey: String? { value("CHATFN_SECRETS_KEY") }
    /// Debian's libjs-codemirror, the dashboard's code editor (absent: a plain text area).
    package static var codeMirror: String { value("CHATFN_CODEMIRROR_DIR") ?? "/usr/share/javascript/codemirror" }

    /// The secret in the variable `name` (an application's `tokenEnv`), never logged.
    package static func secret(named name: String) -> String? { variables[name] }

    /// An external program chatfn runs (node, npm, esbuild, …): `CHATFN_<NAME>` when set (e.g.
    /// `CHATFN_NODE`), else the first match on `PATH`.
    package static func executable(_ name: String) -> String? {
        if let explicit = value("CHATFN_\(name.uppercased())") { return explicit }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
