import Foundation
import Functions
import Registry

/// The API's JSON shapes (docs/api.md, `GET /v1/openapi.json`).
enum APIModels {
    struct Application: Encodable {
        var id: String
        var createdTime: Int64
        var functionCount: Int

        init(_ application: RegistryState.Application) {
            id = application.id
            createdTime = application.createdTime
            functionCount = application.deployed.count
        }
    }

    struct Function: Encodable {
        var trigger: String
        var blocking: Bool
        var currentVersionNumber: Int?
        var settings: FunctionSettings
    }

    struct Version: Encodable {
        var versionNumber: Int
        var createdTime: Int64
        var sha256: String
        var language: String
        var author: String
        var rollbackOf: Int?
        /// Only when one version is asked for.
        var handlerScript: String?

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

    struct Runtime: Encodable {
        var dependencies: [Dependency]
        var npmRegistry: String?
        var initializationScript: String?
        var environmentVariables: [String: String]
        var status: RuntimeStatusDocument?
        /// What `chatfn.json`'s runtime says besides (set through `PUT …/runtime/options`).
        var options: RuntimeOptionsDocument

        init(_ application: RegistryState.Application) {
            dependencies = application.dependencies?.dependencies ?? []
            npmRegistry = application.dependencies?.npmRegistry
            initializationScript = application.initializationScript
            environmentVariables = application.environmentVariables
            status = application.runtimeStatus
            options = application.options
        }
    }

    struct Secret: Encodable {
        var name: String
        var updatedTime: Int64
    }

    struct SaveVersion: Decodable {
        var handlerScript: String
        var language: FunctionLanguage?
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
