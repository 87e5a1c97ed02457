"""Frames on the unirtd socket: a 4-byte little-endian payload length, then one
protobuf message of that many bytes (docs/protocol.md, "Frames")."""

from __future__ import annotations

import struct

_LENGTH = struct.Struct("<I")

#: Largest payload the client accepts by default (the daemon's own default is 64 MiB).
DEFAULT_MAX_FRAME_SIZE = 1 << 30


class FrameError(Exception):
    """A length prefix above the limit: the stream cannot be resynchronised."""


def encode_frame(payload: bytes) -> bytes:
    """Prefixes `payload` with its length."""
    return _LENGTH.pack(len(payload)) + payload


class FrameDecoder:
    """Splits a byte stream into payloads; accepts input in pieces of any size.

    Not thread-safe: one reader owns it.
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE):
        self.max_frame_size = max_frame_size
        self._buf = bytearray()
        self._start = 0

    @property
    def pending_bytes(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buf) - self._start

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Appends received bytes and returns every payload now complete."""
        self._buf += data
        out = []
        buf, start, end = self._buf, self._start, len(self._buf)
        while end - start >= 4:
            (n,) = _LENGTH.unpack_from(buf, start)
            if n > self.max_frame_size:
                raise FrameError(f"frame of {n} bytes exceeds the maximum of {self.max_frame_size}")
            if end - start - 4 < n:
                break
            out.append(bytes(buf[start + 4:start + 4 + n]))
            start += 4 + n
        if start == end:
            buf.clear()
            start = 0
        elif start >= 1 << 20:
            del buf[:start]
            start = 0
        self._start = start
        return out
