import Foundation
import Functions
import Registry

/// The API's JSON shapes (docs/api.md, `GET /v1/openapi.json`), as the server writes them and the CLI
/// reads them. Times are epoch milliseconds.
package enum APIModels {
    package struct Application: Codable, Sendable {
        package var id: String
        package var createdTime: Int64
        package var functionCount: Int

        init(_ application: RegistryState.Application) {
            id = application.id
            createdTime = application.createdTime
            functionCount = application.deployed.count
        }
    }

    package struct Function: Codable, Sendable {
        package var trigger: String
        package var blocking: Bool
        package var currentVersionNumber: Int?
        package var settings: FunctionSettings
    }

    package struct Version: Codable, Sendable {
        package var versionNumber: Int
        package var createdTime: Int64
        package var sha256: String
        package var language: String
        package var author: String
        package var rollbackOf: Int?
        /// Only when one version is asked for.
        package var handlerScript: String?

        init(_ version: RegistryState.Version, withScript: Bool) {
            versionNumber = version.number
            createdTime = version.document.createdTime
            sha256 = version.document.sha256
            language = version.document.language.rawValue
            author = version.document.author
            rollbackOf = version.document.rollbackOf
            handlerScript = withScript ? version.document.handlerScript : nil
        }
    }

    package struct Runtime: Codable, Sendable {
        package var dependencies: [Dependency]
        package var npmRegistry: String?
        package var initializationScript: String?
        package var environmentVariables: [String: String]
        package var status: RuntimeStatusDocument?
        /// What `chatfn.json`'s runtime says besides (set through `PUT …/runtime/options`).
        package var options: RuntimeOptionsDocument

        init(_ application: RegistryState.Application) {
            dependencies = application.dependencies?.dependencies ?? []
            npmRegistry = application.dependencies?.npmRegistry
            initializationScript = application.initializationScript
            environmentVariables = application.environmentVariables
            status = application.runtimeStatus
            options = application.options
        }
    }

    package struct Secret: Codable, Sendable {
        package var name: String
        package var updatedTime: Int64
    }

    struct SaveVersion: Decodable {
        var handlerScript: String
        var language: FunctionLanguage?
        /// Saving again with the same id returns the version the first save made.
        var requestId: String?
    }

    struct Rollback: Decodable {
        var versionNumber: Int
    }

    struct SecretValue: Decodable {
        var value: String
    }

    struct InitializationScript: Decodable {
        var script: String?
    }

    /// `PUT …/runtime/dependencies`: `[{"name", "version"}]`, or that under `dependencies` with an
    /// `npmRegistry` to install from.
    struct Dependencies: Decodable {
        var dependencies: [Dependency]
        var npmRegistry: String?

        init(from decoder: any Decoder) throws {
            if let list = try? [Dependency](from: decoder) {
                dependencies = list
                return
            }
            let container = try decoder.container(keyedBy: CodingKeys.self)
            dependencies = try container.decode([Dependency].self, forKey: .dependencies)
            npmRegistry = try container.decodeIfPresent(String.self, forKey: .npmRegistry)
        }

        enum CodingKeys: String, CodingKey { case dependencies, npmRegistry }
    }

    struct Options: Decodable {
        var minWarm: Int?
        var maxProcesses: Int?
        var recycleAfter: Int?
        var platform: ApplicationManifest.Platform?
    }

}
