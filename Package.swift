// swift-tools-version:6.1
import PackageDescription

// Modules, from the bottom up (docs/architecture.md):
//   ChatfnCore      small shared pieces (JSON writer, stop signal, saturating arithmetic, console output)
//   KafkaClient     librdkafka: the only module that imports CKafka (producer, consumer calls, admin, broker)
//   EventConsumer   consumer group membership: a state machine, flow control, contiguous commits, leases
//   ChatEvents      the chat platform's protocol: CloudEvents binding, triggers, blocking requests and decisions
//   Workers         Node worker processes, their isolation and the pipe protocol
//   Functions       an application's functions: catalog, compiler, runtime installs, deployer
//   Registry        the control plane's store: the compacted chatfn.registry topic, followed and written
//   Dispatcher      the two lanes: key-ordered dispatch with retries and dead letters, blocking answers
//   Hosting         a worker's registry applications: started on their first event, redeployed on change, reaped when idle
//   ControlPlane    the API over the registry (applications, versions, runtime, secrets, tests, invocations)
//   Dashboard       the browser pages over that API, served by the control plane with their security headers
//   AdminServer     /healthz, /readyz, /metrics
//   ChatFunctionsClient  the library chat servers link (the only public API)
//   chatfn          the command-line tool
let package = Package(
    name: "chatfn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chatfn", targets: ["chatfn"]),
        .library(name: "ChatFunctionsClient", targets: ["ChatFunctionsClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.1.0"),
        // Traces are exported over OTLP/HTTP only: the gRPC exporter's dependencies would double the build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.0.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .systemLibrary(
            name: "CKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(name: "CSwiftRuntimeHooks"),
        .target(
            name: "ChatfnCore",
            dependencies: [
                .product(name: "Logging", package: "swift-log"), .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Subprocess", package: "swift-subprocess"), .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "KafkaClient",
            dependencies: ["CKafka", "ChatfnCore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "EventConsumer",
            dependencies: [
                "ChatfnCore",
                "KafkaClient",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "ChatEvents", dependencies: ["ChatfnCore", "KafkaClient"]),
        .target(
            name: "Workers",
            dependencies: [
                "ChatfnCore", "CSwiftRuntimeHooks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Harness")]
        ),
        .target(
            name: "Functions",
            dependencies: [
                "ChatEvents",
                "ChatfnCore",
                "Workers",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Registry",
            dependencies: [
                "ChatfnCore",
                "Functions",
                "KafkaClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Dispatcher",
            dependencies: [
                "ChatEvents",
                "ChatfnCore",
                "EventConsumer",
                "Functions",
                "KafkaClient",
                "Workers",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Hosting",
            dependencies: [
                "ChatEvents",
                "ChatfnCore",
                "Dispatcher",
                "Functions",
                "Registry",
                "Workers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ControlPlane",
            dependencies: [
                "AdminServer",
                "ChatEvents",
                "ChatfnCore",
                "Dispatcher",
                "Functions",
                "Hosting",
                "KafkaClient",
                "Registry",
                "Workers",
                "Dashboard",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("openapi.json")]
        ),
        .target(
            name: "Dashboard",
            dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "Hummingbird", package: "hummingbird")],
            resources: [.copy("Assets")]
        ),
        .target(
            name: "ChatFunctionsClient",
            dependencies: ["ChatEvents", "ChatfnCore", "KafkaClient"]
        ),
        .target(
            name: "AdminServer",
            dependencies: [
                "ChatfnCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "chatfn",
            dependencies: [
                "AdminServer",
                "ChatEvents",
                "ChatFunctionsClient",
                "ControlPlane",
                "Dashboard",
                "Hosting",
                "Registry",
                "ChatfnCore",
                "Dispatcher",
                "EventConsumer",
                "Functions",
                "KafkaClient",
                "Workers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/chatfn.d.ts")]
        ),
        .executableTarget(
            name: "ChatfnBench",
            dependencies: [
                "AdminServer",
                "ChatEvents",
                "ChatFunctionsClient",
                "ChatfnCore",
                "Dispatcher",
                "EventConsumer",
                "Functions",
                "Hosting",
                "KafkaClient",
                "Registry",
                "Workers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "bench/ChatfnBench"
        ),
        // Needs nothing but the package: no broker, no Node, no network. `swift test --filter ChatfnUnitTests`.
        .testTarget(
            name: "ChatfnUnitTests",
            dependencies: [
                "ChatEvents",
                "ChatfnCore",
                "ControlPlane",
                "Dashboard",
                "Dispatcher",
                "EventConsumer",
                "Functions",
                "KafkaClient",
                "Registry",
                "Workers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The real thing: the embedded broker over TCP, Node processes, npm, HTTP, the chatfn binary.
        .testTarget(
            name: "ChatfnTests",
            dependencies: [
                "AdminServer",
                "ChatEvents",
                "ChatFunctionsClient",
                "ChatfnCore",
                "chatfn",
                "Dispatcher",
                "EventConsumer",
                "Functions",
                "Hosting",
                "KafkaClient",
                "Registry",
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
