// swift-tools-version: 6.0
import PackageDescription
import Foundation

/// `UNIRT_STATIC=1` links libuv, protobuf-c and OpenBLAS statically so the
/// release binaries run on machines without those libraries (see README).
let staticLink = ProcessInfo.processInfo.environment["UNIRT_STATIC"] == "1"

let protobufLink: [LinkerSetting] = staticLink
    ? [.linkedLibrary(":libprotobuf-c.a")] : [.linkedLibrary("protobuf-c")]
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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // System libraries: header-only module maps; linking is decided here.
        .systemLibrary(name: "CProtobufC", path: "Sources/CProtobufC"),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),

        // Generated protobuf-c code (scripts/gen-protos.sh).
        .target(
            name: "COnnxProto",
            dependencies: ["CProtobufC"],
            path: "Sources/COnnxProto",
            linkerSettings: protobufLink),

        // Graph IR: dtypes, tensors, shapes, graphs and the operator registry.
        .target(name: "UnirtIR", path: "Sources/UnirtIR"),

        // ONNX import (offline step): protobuf decode, opset conversion, folding.
        .target(
            name: "UnirtONNX",
            dependencies: ["UnirtIR", "COnnxProto", "CProtobufC"],
            path: "Sources/UnirtONNX"),

        // Execution: planner, activation arena, CPU kernels.
        .target(
            name: "UnirtRuntime",
            dependencies: ["UnirtIR", "CBLAS", .product(name: "Logging", package: "swift-log")],
            path: "Sources/UnirtRuntime",
            linkerSettings: blasLink),

        .executableTarget(
            name: "unirt",
            dependencies: [
                "UnirtIR", "UnirtONNX", "UnirtRuntime",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/unirt"),

        .testTarget(
            name: "UnirtTests",
            dependencies: ["UnirtIR", "UnirtONNX", "UnirtRuntime"],
            path: "Tests/UnirtTests"),
    ],
    swiftLanguageModes: [.v6]
)
