// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "chatfn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chatfn", targets: ["chatfn"]),
        .library(name: "EventConsumer", targets: ["EventConsumer"]),
        .library(name: "Dispatcher", targets: ["Dispatcher"]),
        .library(name: "Workers", targets: ["Workers"]),
        .library(name: "ChatFunctionsClient", targets: ["ChatFunctionsClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(name: "ChatfnCore", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .target(
            name: "EventConsumer",
            dependencies: [
                "CKafka",
                "ChatfnCore",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Workers",
            dependencies: [
                "ChatfnCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Harness")]
        ),
        .target(
            name: "Dispatcher",
            dependencies: [
                "ChatfnCore",
                "EventConsumer",
                "Workers",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ChatFunctionsClient",
            dependencies: ["ChatfnCore", "EventConsumer"]
        ),
        .target(
            name: "AdminServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "chatfn",
            dependencies: [
                "AdminServer",
                "ChatFunctionsClient",
                "EventConsumer",
                "Dispatcher",
                "Workers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ChatfnBench",
            dependencies: [
                "ChatFunctionsClient",
                "CKafka",
                "ChatfnCore",
                "EventConsumer",
                "Dispatcher",
                "Workers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "bench/ChatfnBench"
        ),
        .testTarget(
            name: "ChatfnTests",
            dependencies: [
                "AdminServer",
                "ChatFunctionsClient",
                "ChatfnCore",
                "chatfn",
                "EventConsumer",
                "Dispatcher",
                "Workers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
