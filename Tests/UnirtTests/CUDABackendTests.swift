import Foundation
import UnirtCUDA
import UnirtIR
import XCTest

/// CPU-side checks of the CUDA backend: the library-missing path, the kernel
/// source and argument geometry. GPU execution is checked on a GPU machine by
/// `unirt gpu-check` (scripts/gpu-check.sh); here it is skipped with a note.
final class CUDABackendTests: XCTestCase {
    func testUnavailableLibrariesGiveAReason() throws {
        switch CUDALibraries.shared {
        case .success(let libs):
            // A GPU machine: every library resolved, versions readable.
            XCTAssertEqual(Set(libs.paths.keys), ["cuda", "nvrtc", "cublasLt", "cudnn"])
            XCTAssertNotNil(libs.versions["cudnn"])
        case .failure(let e):
            XCTAssertEqual(e.code, .libraryUnavailable)
            XCTAssertTrue(e.message.contains(".so"), e.message)
            XCTAssertTrue(e.message.contains(CUDALibraries.pathVariable), e.message)
            print("note: GPU tests skipped on this machine: \(e.message)")
        }
    }

    func testConfiguredFoldersComeFromTheEnvironment() {
        XCTAssertEqual(CUDALibraries.configuredFolders([CUDALibraries.pathVariable: "/a::/b/c"]), ["/a", "/b/c"])
        XCTAssertEqual(CUDALibraries.configuredFolders([:]), [])
    }

    func testDevicesCommandReportsWhyWithoutGPU() throws {
        let r = try TestSupport.unirt(["devices"])
        XCTAssertEqual(r.status, 0, r.stderr)
        if case .failure(let e) = CUDALibraries.shared {
            XCTAssertEqual(r.stdout, "cpu: available\nGPU backend unavailable: \(e.message)\n")
        } else {
            XCTAssertTrue(r.stdout.contains("compute capability"), r.stdout)
        }
    }

    func testKernelSourceDefinesEveryEntryPoint() {
        let src = CUDAKernelSource.source
        for k in CUDAKernelSource.kernels {
            XCTAssertTrue(src.contains("void \(k)_##S("), "kernel \(k) has no instantiated entry point")
        }
        XCTAssertEqual(CUDAKernelSource.name("unary", fp16: true), "unary_f16")
        XCTAssertTrue(src.contains("UNIRT_INSTANTIATE(float, f32)"))
        XCTAssertTrue(src.contains("UNIRT_INSTANTIATE(half_t, f16)"))
    }

    func testBroadcastGeometry() throws {
        // [2,3,4,5] + [3,1,1]: the second operand is per channel.
        let g = try CUDAPlan.broadcast(out: [2, 3, 4, 5], a: [2, 3, 4, 5], b: [3, 1, 1])
        let r = CUDAKernelSource.maxRank
        XCTAssertEqual(g[0], 4)
        XCTAssertEqual(Array(g[1...4]), [2, 3, 4, 5])
        XCTAssertEqual(Array(g[(1 + r)...(4 + r)]), [60, 20, 5, 1])
        XCTAssertEqual(Array(g[(1 + 2 * r)...(4 + 2 * r)]), [0, 1, 0, 0])
        // Scalar operand: every stride 0.
        let s = try CUDAPlan.broadcast(out: [7, 13], a: [7, 13], b: [])
        XCTAssertEqual(Array(s[(1 + 2 * r)...(2 + 2 * r)]), [0, 0])
        XCTAssertThrowsError(try CUDAPlan.broadcast(out: [2, 2, 2, 2, 2, 2, 2], a: [2, 2, 2, 2, 2, 2, 2], b: [1]))
    }
}
