import Foundation
import XCTest
import UnirtIR
import UnirtPlan
import UnirtRuntime

/// Plan files: round trip, and a clear refusal for every kind of bad plan.
final class PlanFileTests: XCTestCase {
    func smallPlan(gpu: String? = nil, features: [String] = ["avx2"], encoding: WeightEncoding = .f32) -> Plan {
        var rng = SeededRNG(seed: 21)
        let w = Tensor(shape: [4, 3, 3, 3], floats: rng.floats(108))
        let b = Tensor(shape: [4], floats: rng.floats(4))
        let g = Graph(inputs: [ValueDecl(name: "x", dtype: .f32, dims: [.symbolic("N"), .fixed(3), .fixed(8), .fixed(8)])],
                      outputs: [ValueDecl(name: "y", dtype: .f32, dims: nil)],
                      initializers: ["w": w, "b": b],
                      nodes: [Node(name: "conv", op: .fusedConv, inputs: ["x", "w", "b"], outputs: ["y"],
                                   attributes: ["pads": .ints([1, 1, 1, 1]), "activation": .string("Relu")], opset: 17)])
        let p = Provenance(sourceName: "tiny.onnx", sourceSHA256: String(repeating: "ab", count: 32), precision: "fp32",
                           layerPrecision: ["conv": "fp32"], unirtVersion: "test", arch: CPUInfo.arch,
                           requiredCPUFeatures: features, gpuArch: gpu,
                           buildCommand: "unirt build tiny.onnx -o tiny.plan", createdAt: "2026-01-01T00:00:00Z")
        return Plan(graph: g, provenance: p, activationScales: ["y": 0.05], weightEncodings: ["w": encoding])
    }

    let here = PlanTarget(arch: CPUInfo.arch, cpuFeatures: ["avx2", "fma", "f16c"], unirtVersion: "test")

    func testRoundTripRunsIdentically() throws {
        for enc in [WeightEncoding.f32, .f16, .i8] {
            let plan = smallPlan(encoding: enc)
            let data = PlanFile.encode(plan)
            XCTAssertEqual(data.count % 64, 0)
            let back = try PlanFile.decode(data, label: "tiny.plan", target: here)
            XCTAssertEqual(back.provenance, plan.provenance)
            XCTAssertEqual(back.activationScales, ["y": 0.05])
            XCTAssertEqual(back.graph.nodes.map(\.name), ["conv"])
            XCTAssertEqual(back.graph.inputs[0].dims, [.symbolic("N"), .fixed(3), .fixed(8), .fixed(8)])
            var rng = SeededRNG(seed: 2)
            let x = Tensor(shape: [2, 3, 8, 8], floats: rng.floats(384))
            let a = try Session(graph: plan.graph).run(["x": x])["y"]!
            let b = try Session(graph: back.graph).run(["x": x])["y"]!
            // Named bounds per storage: exact for f32, f16 and int8 weight rounding otherwise.
            let bound: Float = enc == .f32 ? 0 : enc == .f16 ? 2e-3 : 2e-2
            TestSupport.assertClose(b, a, rtol: bound, atol: bound == 0 ? 0 : 1e-4, "round trip \(enc)")
        }
    }

    /// GPU plans carry compiled kernel images (one per architecture) in the weights section.
    func testKernelImagesRoundTrip() throws {
        var plan = smallPlan(gpu: "9.0")
        let a = KernelImage(architecture: "sm_90a", sourceSHA256: String(repeating: "c3", count: 32),
                            bytes: (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let b = KernelImage(architecture: "sm_80", sourceSHA256: String(repeating: "d4", count: 32), bytes: [1, 2, 3])
        plan.kernelImages = [a, b]
        let data = PlanFile.encode(plan)
        XCTAssertEqual(data.count % 64, 0)
        let gpuHere = PlanTarget(arch: CPUInfo.arch, cpuFeatures: ["avx2", "fma", "f16c"], gpuArchs: ["9.0"], unirtVersion: "test")
        let back = try PlanFile.decode(data, label: "tiny.plan", target: gpuHere)
        XCTAssertEqual(back.kernelImages, [a, b])
        XCTAssertEqual(back.graph.initializers["w"]?.floats, plan.graph.initializers["w"]?.floats, "weights around the images")
        XCTAssertEqual(try PlanFile.decode(PlanFile.encode(smallPlan()), label: "cpu.plan", target: here).kernelImages, [],
                       "CPU plans store none")

        // An image reaching past the weights section is refused, even with a valid checksum.
        var bytes = [UInt8](data)
        let key = Array("\"length\":1000,".utf8)
        guard let start = (0...(bytes.count - key.count)).first(where: { Array(bytes[$0..<$0 + key.count]) == key }) else {
            return XCTFail("no kernel length in the metadata")
        }
        let at = start + key.count - 5
        bytes.replaceSubrange(at..<at + 4, with: Array("9999".utf8))
        var h = SHA256()
        h.update(bytes[0..<64])
        h.update(bytes[96...])
        bytes.replaceSubrange(64..<96, with: h.finalize())
        assertRefused(Data(bytes), target: gpuHere, code: .corrupted, mentions: ["kernel image", "sm_90a"])
    }

    /// A GPU plan's tactic choices come back as written; CPU plans store none.
    func testGPUTacticsRoundTrip() throws {
        var plan = smallPlan(gpu: "9.0")
        let t = GPUTactics(device: "NVIDIA H200, compute capability 9.0, cudnn 9.10.2, kernels 0123456789abcdef",
                           entries: ["int8 conv|int8|Conv|128x64x56x56n 64x64x3x3c|128x64x56x56n|pads=1 1 1 1|out s8": "tmconv_128x64k64s6",
                                     "cudnn conv|fp16|nhwc|[128, 3, 112, 112]": "1:0.203:0;0:0.31:1024"])
        plan.gpuTactics = [t]
        let gpuHere = PlanTarget(arch: CPUInfo.arch, cpuFeatures: ["avx2", "fma", "f16c"], gpuArchs: ["9.0"], unirtVersion: "test")
        XCTAssertEqual(try PlanFile.decode(PlanFile.encode(plan), label: "gpu.plan", target: gpuHere).gpuTactics, [t])
        XCTAssertEqual(try PlanFile.decode(PlanFile.encode(smallPlan()), label: "cpu.plan", target: here).gpuTactics, [])
    }

    func assertRefused(_ data: Data, target: PlanTarget?, code: PlanError.Code, mentions: [String],
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try PlanFile.decode(data, label: "bad.plan", target: target), file: file, line: line) { e in
            guard let e = e as? PlanError else { return XCTFail("\(e)", file: file, line: line) }
            XCTAssertEqual(e.code, code, e.message, file: file, line: line)
            XCTAssertFalse(e.message.contains("\n"), file: file, line: line)
            XCTAssertTrue(e.message.hasPrefix("bad.plan: "), e.message, file: file, line: line)
            for m in mentions { XCTAssertTrue(e.message.contains(m), "\(e.message) lacks \(m)", file: file, line: line) }
        }
    }

    func testFlippedByteIsRefused() {
        var data = PlanFile.encode(smallPlan())
        data[data.count - 10] ^= 0x40
        assertRefused(data, target: here, code: .corrupted, mentions: ["checksum", "unirt build tiny.onnx -o tiny.plan"])
    }

    func testTruncatedIsRefused() {
        let data = PlanFile.encode(smallPlan())
        assertRefused(data.prefix(data.count - 100), target: here, code: .truncated, mentions: ["truncated"])
        assertRefused(data.prefix(40), target: here, code: .truncated, mentions: ["truncated"])
        assertRefused(Data("not a plan at all".utf8), target: here, code: .notAPlan, mentions: ["not a unirt plan"])
    }

    func testWrongISAAndGPUAreRefused() {
        let data = PlanFile.encode(smallPlan(features: ["avx2", "avx512vnni"]))
        assertRefused(data, target: here, code: .wrongISA, mentions: ["avx512vnni", "rebuild it here: unirt build tiny.onnx"])
        let other = PlanTarget(arch: "aarch64", cpuFeatures: [], unirtVersion: "test")
        assertRefused(PlanFile.encode(smallPlan()), target: other, code: .wrongISA, mentions: ["aarch64"])
        assertRefused(PlanFile.encode(smallPlan(gpu: "9.0")), target: here, code: .wrongGPU, mentions: ["9.0", "no GPU"])
    }

    func testFutureFormatVersionIsRefused() {
        var bytes = [UInt8](PlanFile.encode(smallPlan()))
        bytes[8] = 2 // major version 2, with a checksum that matches
        var h = SHA256()
        h.update(bytes[0..<64])
        h.update(bytes[96...])
        bytes.replaceSubrange(64..<96, with: h.finalize())
        assertRefused(Data(bytes), target: here, code: .incompatibleVersion, mentions: ["version 2", "unirt build tiny.onnx"])
    }

    func testSHA256KnownAnswers() {
        XCTAssertEqual(SHA256.hex(Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(SHA256.hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testCLIRefusesCorruptPlanWithOneLine() throws {
        let dir = TestSupport.tempDir()
        var data = PlanFile.encode(smallPlan(features: []))
        data[data.count - 1] ^= 1
        FileManager.default.createFile(atPath: "\(dir)/bad.plan", contents: data)
        let r = try TestSupport.unirt(["inspect", "\(dir)/bad.plan"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("rebuild it: unirt build tiny.onnx -o tiny.plan"), r.stderr)
    }
}
