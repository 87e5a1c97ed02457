import UnirtIR
import UnirtServing
import UnirtTransport
import XCTest

final class TransportTests: XCTestCase {
    func sampleRequest() -> RPCRequest {
        var r = RPCRequest(id: 42, method: .infer)
        r.model = "recognizer"
        r.timeoutMicros = 1500
        r.metadata = [("trace", "abc")]
        r.inputs = [WireTensor(name: "data", Tensor(shape: [1, 3], floats: [1, -2.5, 3]))]
        r.outputs = ["fc1"]
        r.config = ModelSettings(path: "/m.onnx", maxBatchSize: 4, preferredBatchSizes: [2, 4])
        return r
    }

    func testRequestRoundTrip() throws {
        let frame = Codec.frame(sampleRequest())
        XCTAssertEqual(Int(frame[0]) | Int(frame[1]) << 8 | Int(frame[2]) << 16 | Int(frame[3]) << 24, frame.count - 4)
        let r = try Array(frame.dropFirst(4)).withUnsafeBytes { try Codec.request($0) }
        XCTAssertEqual(r.id, 42)
        XCTAssertEqual(r.method, .infer)
        XCTAssertEqual(r.model, "recognizer")
        XCTAssertEqual(r.timeoutMicros, 1500)
        XCTAssertEqual(r.metadata.first?.0, "trace")
        XCTAssertEqual(r.outputs, ["fc1"])
        XCTAssertEqual(try r.inputs[0].tensor().floats, [1, -2.5, 3])
        XCTAssertEqual(r.config?.preferredBatchSizes, [2, 4])
    }

    func testResponseRoundTrip() throws {
        var resp = RPCResponse(id: 9, code: .resourceExhausted, message: "queue full")
        resp.outputs = [WireTensor(name: "y", Tensor(shape: [2], ints: [7, -1], dtype: .i64))]
        resp.models = [ModelInfo(name: "m", version: 2, state: "ready", inputs: [TensorInfo(name: "x", dtype: .f16, shape: [-1, 3])])]
        resp.stats = [ModelStatistics(name: "m", requests: 3, inferences: 5, executions: 2, queueSeconds: 0.5,
                                      computeSeconds: 1.5, queueDepth: 1, inflight: 2)]
        let r = try Array(Codec.frame(resp).dropFirst(4)).withUnsafeBytes { try Codec.response($0) }
        XCTAssertEqual(r.id, 9)
        XCTAssertEqual(r.code, .resourceExhausted)
        XCTAssertEqual(r.message, "queue full")
        XCTAssertEqual(try r.outputs[0].tensor().ints, [7, -1])
        XCTAssertEqual(r.models[0].inputs, [TensorInfo(name: "x", dtype: .f16, shape: [-1, 3])])
        XCTAssertEqual(r.stats, resp.stats)
    }

    func testGarbageIsRefused() {
        let garbage: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x12]
        XCTAssertThrowsError(try garbage.withUnsafeBytes { try Codec.request($0) }) { e in
            XCTAssertEqual((e as? TransportError)?.code, .invalidArgument)
        }
    }

    func testWrongTensorSizeIsInvalidArgument() {
        let t = WireTensor(name: "x", dtype: .f32, shape: [2, 2], data: [0, 0, 0, 0])
        XCTAssertThrowsError(try t.tensor()) { e in
            XCTAssertEqual((e as? TransportError)?.code, .invalidArgument)
            XCTAssertTrue("\(e)".contains("'x'"))
        }
    }

    func testFrameDecoderByteAtATimeAndInBulk() throws {
        var stream: [UInt8] = []
        for id in 1...3 {
            var r = sampleRequest()
            r.id = UInt64(id)
            stream += Codec.frame(r)
        }
        stream += [0, 0, 0, 0]  // an empty frame is legal
        var one = FrameDecoder()
        var ids: [UInt64] = []
        var empties = 0
        for b in stream {
            one.append([b])
            while let p = try one.next() {
                if p.isEmpty { empties += 1; continue }
                ids.append(try p.withUnsafeBytes { try Codec.request($0) }.id)
            }
        }
        XCTAssertEqual(ids, [1, 2, 3])
        XCTAssertEqual(empties, 1)
        XCTAssertEqual(one.pendingBytes, 0)

        var bulk = FrameDecoder()
        bulk.append(stream)
        var count = 0
        while try bulk.next() != nil { count += 1 }
        XCTAssertEqual(count, 4)
    }

    func testFrameDecoderRefusesOversizedLength() {
        var d = FrameDecoder(maxFrameSize: 1024)
        d.append([0x01, 0x04, 0x00, 0x00])  // 1025
        XCTAssertThrowsError(try d.next()) { e in XCTAssertEqual((e as? TransportError)?.code, .resourceExhausted) }
    }

    func testFrameDecoderWaitsForTruncatedFrame() throws {
        var d = FrameDecoder()
        let f = Codec.frame(sampleRequest())
        d.append(Array(f.dropLast()))
        XCTAssertNil(try d.next())
        d.append([f.last!])
        XCTAssertNotNil(try d.next())
    }

    func testStatusCodeMapping() {
        XCTAssertEqual(RPCCode(ServingError.Code.resourceExhausted), .resourceExhausted)
        XCTAssertEqual(RPCCode(ServingError.Code.deadlineExceeded).rawValue, 4)
        XCTAssertEqual(RPCCode.unavailable.name, "UNAVAILABLE")
    }
}
