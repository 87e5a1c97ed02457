"""End-to-end: the Python client against the real unirtd."""

import os
import threading

import numpy as np
import pytest

from conftest import GRAPHS, Daemon, model_table
from unirt_client import Client, UnirtError, encode_frame, unirt_pb2 as pb


def assert_close(got, ref, name):
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5, err_msg=name)


def test_health_ready_models_status(client):
    assert client.health() is True
    assert client.ready() is True
    assert [m.name for m in client.list_models()] == ["conv", "face", "slow"]
    face = client.model_status("face")
    assert face.state == "ready"
    assert face.inputs[0].name == "data" and list(face.inputs[0].shape) == [1, 3, 15, 15]
    with pytest.raises(UnirtError) as e:
        client.model_status("nope")
    assert e.value.code == pb.NOT_FOUND and e.value.code_name == "NOT_FOUND"


def test_infer_matches_references(client, conv_io, face_io):
    for model, (inputs, refs) in [("conv", conv_io), ("face", face_io)]:
        out = client.infer(model, inputs)
        assert sorted(out) == sorted(refs)
        for name, ref in refs.items():
            assert_close(out[name], ref, f"{model}.{name}")
    only = client.infer("conv", conv_io[0], outputs=["y_valid"])
    assert list(only) == ["y_valid"]


def test_pipelined_requests_on_one_connection(client, face_io):
    inputs, refs = face_io
    batch = np.concatenate([inputs["data"] * k for k in range(1, 4)])
    calls = [client.infer_async("face", {"data": inputs["data"]}) for _ in range(24)]
    calls.append(client.infer_async("face", {"data": batch}))
    assert len({c.id for c in calls}) == len(calls)
    # Collected in reverse order: answers are matched by id, not arrival.
    results = [c.result(timeout=30) for c in reversed(calls)]
    assert results[0]["fc1"].shape == (3, 12)
    for r in results[1:]:
        assert_close(r["fc1"], refs["fc1"], "face.fc1")


def test_threads_share_one_client(client, face_io):
    inputs, refs = face_io
    errors = []

    def work():
        try:
            for _ in range(10):
                assert_close(client.infer("face", inputs)["fc1"], refs["fc1"], "face.fc1")
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_batching_is_observed_in_stats(daemon, face_io):
    inputs, _ = face_io
    with daemon.client() as c:
        before = c.stats().models["face"]
        calls = [c.infer_async("face", inputs) for _ in range(16)]
        for call in calls:
            call.result(timeout=30)
        s = c.stats()
    after = s.models["face"]
    assert after.inferences - before.inferences == 16
    assert after.executions - before.executions < 16
    for metric in ["unirt_requests_total", "unirt_inferences_total", "unirt_executions_total",
                   "unirt_queue_duration_seconds", "unirt_batch_size", "process_resident_memory_bytes"]:
        assert metric in s.metrics


def test_errors_keep_the_connection(client, face_io):
    inputs, _ = face_io
    with pytest.raises(UnirtError) as e:
        client.infer("missing", inputs)
    assert e.value.code == pb.NOT_FOUND
    with pytest.raises(UnirtError) as e:
        client.infer("face", {"nope": inputs["data"]})
    assert e.value.code == pb.INVALID_ARGUMENT
    with pytest.raises(UnirtError) as e:
        client.infer("face", {"data": np.zeros((1, 3, 15, 14), np.float32)})
    assert e.value.code == pb.INVALID_ARGUMENT
    unknown = client.call(pb.Request(method=99))
    assert unknown.status.code == pb.UNIMPLEMENTED
    client.send_raw(encode_frame(b"\xff\xff\xff\xff\xff\x01"))
    assert client.wait_connection_error(timeout=10).status.code == pb.INVALID_ARGUMENT
    assert client.health()


def test_oversized_frame_closes_only_that_connection(daemon, client):
    bad = daemon.client()
    bad.send_raw(b"\xff\xff\xff\x7f")
    assert bad.wait_connection_error(timeout=10).status.code == pb.RESOURCE_EXHAUSTED
    with pytest.raises(UnirtError) as e:
        bad.health()
    assert e.value.code == pb.UNAVAILABLE
    bad.close()
    assert client.health()


def test_deadline_exceeded_is_never_computed(client, conv_io):
    before = client.stats().models["slow"].inferences
    with pytest.raises(UnirtError) as e:
        client.infer("slow", conv_io[0], timeout_us=1000)
    assert e.value.code == pb.DEADLINE_EXCEEDED
    assert client.stats().models["slow"].inferences == before


def test_client_side_timeout(client, conv_io):
    call = client.infer_async("slow", conv_io[0])
    with pytest.raises(TimeoutError):
        call.result(timeout=0.01)
    assert sorted(call.result(timeout=30)) == sorted(conv_io[1])


def test_shared_memory_matches_inline(client, conv_io):
    inputs, refs = conv_io
    region = client.register_region(1 << 20)
    try:
        out = client.infer_shared("conv", inputs, region)
        assert sorted(out) == sorted(refs)
        for name, ref in refs.items():
            assert_close(out[name], ref, f"conv.{name}")
        r = pb.Request(method=pb.METHOD_INFER, model="conv")
        t = r.inputs.add(name="x", dtype=pb.DT_F32, shape=[1, 6, 13, 11])
        t.shm.region, t.shm.offset, t.shm.length = region.id, 1 << 20, 4
        assert client.call(r).status.code == pb.INVALID_ARGUMENT
        small = client.infer_shared_async("conv", inputs, region, length=region.size // 64)
        with pytest.raises(UnirtError) as e:
            small.result(timeout=30)
        assert e.value.code == pb.RESOURCE_EXHAUSTED
    finally:
        client.unregister_region(region)
    missing = pb.Request(method=pb.METHOD_UNREGISTER_REGION, region=region.id)
    assert client.call(missing).status.code == pb.NOT_FOUND


def test_load_and_unload(client):
    info = client.load_model("extra", os.path.join(GRAPHS, "sface_like", "model.onnx"), max_batch_size=2)
    assert info.name == "extra" and info.state == "ready"
    assert client.infer("extra", {"data": np.zeros((1, 3, 15, 15), np.float32)})["fc1"].shape == (1, 12)
    client.unload_model("extra")
    with pytest.raises(UnirtError) as e:
        client.unload_model("extra")
    assert e.value.code == pb.NOT_FOUND
    with pytest.raises(UnirtError) as e:
        client.load_model("bad", "/nonexistent.onnx")
    assert e.value.code == pb.INVALID_ARGUMENT


def test_unreachable_daemon(tmp_path):
    with pytest.raises(UnirtError) as e:
        Client(str(tmp_path / "none.sock"))
    assert e.value.code == pb.UNAVAILABLE and "none.sock" in e.value.message


def test_calls_fail_cleanly_when_the_daemon_stops(conv_io):
    d = Daemon(model_table("slow", os.path.join(GRAPHS, "conv", "model.onnx"), max_batch=64, delay_us=300_000))
    c = d.client()
    call = c.infer_async("slow", conv_io[0])
    # Frames of one connection are handled in order: once Stats answers, the Infer is queued.
    assert c.stats().models["slow"].queue_depth == 1
    # SIGTERM drains: the queued request is still answered, then the connection closes.
    assert d.stop() == 0, d.log_text()
    assert sorted(call.result(timeout=30)) == sorted(conv_io[1])
    with pytest.raises(UnirtError) as e:
        c.health()
    assert e.value.code == pb.UNAVAILABLE
    c.close()
