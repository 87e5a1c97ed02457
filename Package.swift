// swift-tools-version: 6.0
import PackageDescription
import Foundation

/// `UNIRT_STATIC=1` links libuv, protobuf-c and OpenBLAS statically so the
/// release binaries run on machines without those libraries (see README).
let staticLink = ProcessInfo.processInfo.environment["UNIRT_STATIC"] == "1"

let protobufLink: [LinkerSetting] = staticLink
    ? [.linkedLibrary(":libprotobuf-c.a")] : [.linkedLibrary("protobuf-c")]
let uvLink: [LinkerSetting] = staticLink
    ? [.linkedLibrary("uv_a"), .linkedLibrary("pthread"), .linkedLibrary("dl")] : [.linkedLibrary("uv")]
let blasLink: [LinkerSetting] = staticLink
    ? [.linkedLibrary(":libopenblas.a"), .linkedLibrary("pthread"), .linkedLibrary("m")]
    : [.linkedLibrary("openblas")]

let package = Package(
    name: "unirt",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "unirt", targets: ["unirt"]),
        .library(name: "UnirtIR", targets: ["UnirtIR"]),
        .library(name: "UnirtONNX", targets: ["UnirtONNX"]),
        .library(name: "UnirtRuntime", targets: ["UnirtRuntime"]),
        .library(name: "UnirtClient", targets: ["UnirtClient"]),
        .executable(name: "unirtd", targets: ["unirtd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // System libraries: header-only module maps; linking is decided here.
        .systemLibrary(name: "CProtobufC", path: "Sources/CProtobufC"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CUV", path: "Sources/CUV"),

        // SIMD microkernels (AVX2/FMA with portable fallbacks, chosen at run time).
        .target(
            name: "CUnirtKernels",
            path: "Sources/CUnirtKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-strict-aliasing"])]),

        // Generated protobuf-c code (scripts/gen-protos.sh).
        .target(
            name: "COnnxProto",
            dependencies: ["CProtobufC"],
            path: "Sources/COnnxProto",
            linkerSettings: protobufLink),
        .target(
            name: "CUnirtProto",
            dependencies: ["CProtobufC"],
            path: "Sources/CUnirtProto",
            linkerSettings: protobufLink),

        // Graph IR: dtypes, tensors, shapes, graphs and the operator registry.
        .target(name: "UnirtIR", path: "Sources/UnirtIR"),

        // ONNX import (offline step): protobuf decode, opset conversion, folding.
        .target(
            name: "UnirtONNX",
            dependencies: ["UnirtIR", "COnnxProto", "CProtobufC"],
            path: "Sources/UnirtONNX"),

        // Graph optimizer passes (offline step).
        .target(name: "UnirtOptimizer", dependencies: ["UnirtIR"], path: "Sources/UnirtOptimizer"),

        // Plan files: serialized optimized graphs with weights and provenance.
        .target(name: "UnirtPlan", dependencies: ["UnirtIR"], path: "Sources/UnirtPlan"),

        // Image decoding (JPEG, PNG) and preprocessing into input tensors (offline step: calibration data).
        .target(name: "UnirtImage", dependencies: ["UnirtIR"], path: "Sources/UnirtImage"),

        // Calibration, quantization, calibration cache and report (offline step).
        .target(name: "UnirtQuant", dependencies: ["UnirtIR"], path: "Sources/UnirtQuant"),

        // Execution: planner, activation arena, CPU kernels.
        .target(
            name: "UnirtRuntime",
            dependencies: ["UnirtIR", "UnirtPlan", "CBLAS", "CUnirtKernels", .product(name: "Logging", package: "swift-log")],
            path: "Sources/UnirtRuntime",
            linkerSettings: blasLink),

        // CUDA API declarations for dlopen (nothing CUDA is linked).
        .target(name: "CCUDA", path: "Sources/CCUDA", linkerSettings: [.linkedLibrary("dl")]),

        // CUDA backend: dlopen'd driver, NVRTC, cuBLASLt and cuDNN; GPU executor.
        .target(
            name: "UnirtCUDA",
            dependencies: ["UnirtIR", "UnirtRuntime", "UnirtPlan", "CCUDA", .product(name: "Logging", package: "swift-log")],
            path: "Sources/UnirtCUDA"),

        // Serving core: scheduler, batcher, queues (pure Swift, no libuv).
        .target(
            name: "UnirtServing",
            dependencies: ["UnirtIR", "UnirtRuntime", .product(name: "Logging", package: "swift-log")],
            path: "Sources/UnirtServing"),

        // Transport: libuv loop on a Unix socket, protobuf-c frames.
        .target(
            name: "UnirtTransport",
            dependencies: ["UnirtServing", "UnirtIR", "CUV", "CUnirtProto", "CProtobufC",
                           .product(name: "Logging", package: "swift-log")],
            path: "Sources/UnirtTransport",
            linkerSettings: uvLink),

        // Client library for unirtd.
        .target(
            name: "UnirtClient",
            dependencies: ["UnirtIR", "UnirtTransport", "CUV", "CUnirtProto", "CProtobufC"],
            path: "Sources/UnirtClient"),

        .executableTarget(
            name: "unirtd",
            dependencies: [
                "UnirtIR", "UnirtONNX", "UnirtRuntime", "UnirtServing", "UnirtTransport", "UnirtOptimizer", "UnirtPlan",
                "UnirtCUDA",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            path: "Sources/unirtd"),

        .executableTarget(
            name: "unirt",
            dependencies: [
                "UnirtIR", "UnirtONNX", "UnirtRuntime", "UnirtOptimizer", "UnirtQuant", "UnirtClient", "UnirtPlan", "UnirtCUDA",
                "UnirtImage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/unirt"),

        .testTarget(
            name: "UnirtTests",
            dependencies: ["UnirtIR", "UnirtONNX", "UnirtRuntime", "UnirtOptimizer", "UnirtQuant", "UnirtPlan", "UnirtCUDA",
                           "UnirtImage", "UnirtServing", "UnirtTransport", "UnirtClient", "CUnirtKernels"],
            path: "Tests/UnirtTests"),
    ],
    swiftLanguageModes: [.v6]
)
