"""Frame decoding and tensor conversion, without a daemon."""

import numpy as np
import pytest

from unirt_client import FrameDecoder, FrameError, encode_frame, from_tensor, to_tensor, unirt_pb2 as pb


def test_decoder_byte_at_a_time_and_in_bulk():
    payloads = [b"abc", b"", bytes(range(256)) * 10, b"z"]
    stream = b"".join(encode_frame(p) for p in payloads)
    d = FrameDecoder()
    got = []
    for b in stream:
        got += d.feed(bytes([b]))
    assert got == payloads
    assert d.pending_bytes == 0
    assert FrameDecoder().feed(stream) == payloads
    # A frame split across two reads.
    d = FrameDecoder()
    assert d.feed(stream[:7]) == [b"abc"]
    assert d.feed(stream[7:]) == payloads[1:]


def test_decoder_refuses_oversized_length_prefix():
    with pytest.raises(FrameError, match="exceeds the maximum of 16"):
        FrameDecoder(max_frame_size=16).feed(b"\x11\x00\x00\x00")


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"])
def test_tensor_round_trip(dtype):
    a = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    t = pb.Tensor.FromString(to_tensor("x", a).SerializeToString())
    assert t.name == "x" and list(t.shape) == [2, 3, 4]
    b = from_tensor(t)
    assert b.dtype == a.dtype and np.array_equal(a, b)


def test_tensor_non_contiguous_and_big_endian_are_packed():
    a = np.arange(12, dtype=">f4").reshape(3, 4).T
    assert np.array_equal(from_tensor(to_tensor("x", a)), a)


def test_tensor_errors_name_the_tensor():
    with pytest.raises(ValueError, match="has no unirt DataType"):
        to_tensor("c", np.zeros(2, dtype=np.complex64))
    t = pb.Tensor(name="w", dtype=pb.DT_F32, shape=[2], data=b"\0\0\0\0")
    with pytest.raises(ValueError, match="tensor 'w': 4 bytes"):
        from_tensor(t)
