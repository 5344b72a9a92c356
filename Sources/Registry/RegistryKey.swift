/// The key of a registry record. Every key names the application and the **generation** it belongs
/// to: deleting an application ends its generation, so nothing written for it before (or by a writer
/// that had not seen the deletion yet) comes back if an application of the same id is created again.
///
/// ```text
/// app/<app>/<generation>                         the application exists (tombstone: deleted)
/// version/<app>/<generation>/<trigger>/<id>      one saved version, immutable; numbered by log order
/// undeploy/<app>/<generation>/<trigger>          the function was undeployed (a later version deploys again)
/// settings/<app>/<generation>/<trigger>          the function's settings (latest wins)
/// runtime/<app>/<generation>/<part>              dependencies, status, initialization-script, environment-variables, options
/// secret/<app>/<generation>/<NAME>               a sealed secret (tombstone: deleted)
/// ```
package enum RegistryKey: Sendable, Hashable {
    case application(app: String, generation: String)
    case version(app: String, generation: String, trigger: String, id: String)
    case undeploy(app: String, generation: String, trigger: String)
    case settings(app: String, generation: String, trigger: String)
    case runtime(app: String, generation: String, part: RuntimePart)
    case secret(app: String, generation: String, name: String)

    package enum RuntimePart: String, Sendable, Hashable, CaseIterable {
        case dependencies
        case status
        case initializationScript = "initialization-script"
        case environmentVariables = "environment-variables"
        case options
    }

    package var app: String {
        switch self {
        case .application(let app, _), .version(let app, _, _, _), .undeploy(let app, _, _), .settings(let app, _, _),
             .runtime(let app, _, _), .secret(let app, _, _): app
        }
    }

    package var generation: String {
        switch self {
        case .application(_, let generation), .version(_, let generation, _, _), .undeploy(_, let generation, _),
             .settings(_, let generation, _), .runtime(_, let generation, _), .secret(_, let generation, _): generation
        }
    }

    /// Whether every name in the key is one chatfn writes (``RegistryNames``): a record written straight
    /// to the topic with, say, an application id of `..` is not applied.
    var hasValidNames: Bool {
        guard RegistryNames.problem(application: app) == nil, !generation.isEmpty, !generation.contains(".") else { return false }
        switch self {
        case .application, .runtime: return true
        case .version(_, _, let trigger, let id): return RegistryNames.problem(trigger: trigger) == nil && !id.isEmpty
        case .undeploy(_, _, let trigger), .settings(_, _, let trigger): return RegistryNames.problem(trigger: trigger) == nil
        case .secret(_, _, let name): return RegistryNames.problem(secret: name) == nil
        }
    }

    package var encoded: String {
        switch self {
        case .application(let app, let generation): "app/\(app)/\(generation)"
        case .version(let app, let generation, let trigger, let id): "version/\(app)/\(generation)/\(trigger)/\(id)"
        case .undeploy(let app, let generation, let trigger): "undeploy/\(app)/\(generation)/\(trigger)"
        case .settings(let app, let generation, let trigger): "settings/\(app)/\(generation)/\(trigger)"
        case .runtime(let app, let generation, let part): "runtime/\(app)/\(generation)/\(part.rawValue)"
        case .secret(let app, let generation, let name): "secret/\(app)/\(generation)/\(name)"
        }
    }

    /// Reads a key; nil for one this chatfn does not know (written by a newer chatfn: skipped).
    package init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3 else { return nil }
        let (app, generation) = (parts[1], parts[2])
        switch (parts[0], parts.count) {
        case ("app", 3): self = .application(app: app, generation: generation)
        case ("version", 5): self = .version(app: app, generation: generation, trigger: parts[3], id: parts[4])
        case ("undeploy", 4): self = .undeploy(app: app, generation: generation, trigger: parts[3])
        case ("settings", 4): self = .settings(app: app, generation: generation, trigger: parts[3])
        case ("runtime", 4):
            guard let part = RuntimePart(rawValue: parts[3]) else { return nil }
            self = .runtime(app: app, generation: generation, part: part)
        case ("secret", 4): self = .secret(app: app, generation: generation, name: parts[3])
        default: return nil
        }
    }
}
