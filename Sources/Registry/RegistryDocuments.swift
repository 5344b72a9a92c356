import Functions

/// The values of registry records, as JSON. Times are epoch milliseconds.

/// `app/…`: the application exists.
package struct ApplicationDocument: Codable, Sendable {
    package var createdTime: Int64

    package init(createdTime: Int64) {
        self.createdTime = createdTime
    }
}

package enum FunctionLanguage: String, Codable, Sendable, CaseIterable {
    case javascript
    case typescript

    /// The extension its file is given, which tells the compiler what it holds.
    package var fileExtension: String { self == .typescript ? "ts" : "js" }
}

/// `version/…`: one saved version of a function, never changed once written.
package struct VersionDocument: Codable, Sendable {
    package var handlerScript: String
    package var language: FunctionLanguage
    /// Hex SHA-256 of the script's UTF-8 bytes.
    package var sha256: String
    package var createdTime: Int64
    /// The fingerprint of the token that saved it.
    package var author: String
    /// When made by a rollback: the version whose code it carries.
    package var rollbackOf: Int?
    /// The client's id for the save: a retried save with the same id is the same version (the first
    /// record of an id in the log counts; a later one is not a version).
    package var requestId: String?

    package init(handlerScript: String, language: FunctionLanguage, sha256: String, createdTime: Int64, author: String, rollbackOf: Int?,
                 requestId: String? = nil) {
        self.handlerScript = handlerScript
        self.language = language
        self.sha256 = sha256
        self.createdTime = createdTime
        self.author = author
        self.rollbackOf = rollbackOf
        self.requestId = requestId
    }
}

/// `undeploy/…`
package struct UndeployDocument: Codable, Sendable {
    package var time: Int64
}

package struct Dependency: Codable, Sendable, Hashable {
    package var name: String
    package var version: String

    package init(name: String, version: String) {
        self.name = name
        self.version = version
    }
}

/// `runtime/…/dependencies`: what workers install. Written only once an install of it succeeded.
package struct DependenciesDocument: Codable, Sendable, Equatable {
    package var dependencies: [Dependency]
    /// The npm registry to install from; nil: npm's default on each machine.
    package var npmRegistry: String?

    package init(dependencies: [Dependency], npmRegistry: String?) {
        self.dependencies = dependencies
        self.npmRegistry = npmRegistry
    }
}

/// `runtime/…/status`: how the latest change of the dependencies went.
package struct RuntimeStatusDocument: Codable, Sendable, Equatable {
    /// `installed` or `failed`.
    package var state: String
    /// npm's message when it failed.
    package var message: String?
    package var dependencies: [Dependency]
    package var time: Int64
}

/// `runtime/…/initialization-script`
package struct InitializationScriptDocument: Codable, Sendable, Equatable {
    /// JavaScript run once per worker process; what it exports is `context.init`. nil: none.
    package var script: String?
}

/// `runtime/…/environment-variables`
package struct EnvironmentDocument: Codable, Sendable, Equatable {
    package var environmentVariables: [String: String]
}

/// `runtime/…/options`: what `chatfn.json`'s runtime says besides dependencies, script and environment
/// (set by `chatfn deploy` and `chatfn dev`).
package struct RuntimeOptionsDocument: Codable, Sendable, Equatable {
    package var minWarm: Int?
    package var maxProcesses: Int?
    package var recycleAfter: Int?
    package var platform: ApplicationManifest.Platform?

    package init(minWarm: Int? = nil, maxProcesses: Int? = nil, recycleAfter: Int? = nil, platform: ApplicationManifest.Platform? = nil) {
        self.minWarm = minWarm
        self.maxProcesses = maxProcesses
        self.recycleAfter = recycleAfter
        self.platform = platform
    }
}

/// `secret/…`: a secret's value sealed with the fleet's key (``SecretSealer``).
package struct SealedSecretDocument: Codable, Sendable {
    package var sealed: String
    package var updatedTime: Int64
}
