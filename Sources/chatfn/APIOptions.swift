import ArgumentParser
import ChatfnCore

/// Options every command that talks to the control plane's API shares (`deploy`, `versions`, `rollback`,
/// `secrets`, `logs`).
struct APIOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The control plane's API, http(s)://HOST:PORT. Default: $CHATFN_API_URL, else the API of a running `chatfn dev`.",
        valueName: "url"))
    var api: String?

    @Option(name: .long, help: ArgumentHelp(
        "The application. Default: `default` (for deploy: chatfn.json's `app`, else `default`).", valueName: "app"))
    var app: String?

    /// The API to use: `--api`, then $CHATFN_API_URL, then `chatfn dev`'s.
    func resolvedURL() throws -> String {
        if let api, !api.isEmpty { return api }
        if let fromEnvironment = ChatfnEnvironment.apiUrl { return fromEnvironment }
        if let devAPI = DevFile.api.read() { return devAPI }
        throw CommandFailure("no control plane to talk to: start `chatfn dev` (it serves the API), or pass --api URL or set CHATFN_API_URL to a running `chatfn control`")
    }

    /// A client of the API, sending `CHATFN_API_TOKEN` when it is set.
    func client() throws -> APIClient {
        try APIClient(url: try resolvedURL(), token: ChatfnEnvironment.apiToken)
    }

    /// `--app`, else `fallback`.
    func application(default fallback: String = "default") -> String {
        if let app, !app.isEmpty { return app }
        return fallback
    }
}
