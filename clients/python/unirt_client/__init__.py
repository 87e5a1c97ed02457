"""Python client for unirtd, the unirt inference daemon.

    from unirt_client import Client
    with Client("/run/unirt/unirtd.sock") as c:
        out = c.infer("recognizer", {"data": crops})   # dict of numpy arrays

Runtime dependencies: protobuf and numpy. The wire protocol is described in
docs/protocol.md; `unirt_pb2` is generated from Protos/unirt/v1/unirt.proto.
"""

from . import unirt_pb2
from .client import DEFAULT_SOCKET, Client, PendingCall, Stats, UnirtError
from .framing import FrameDecoder, FrameError, encode_frame
from .shm import Region
from .tensors import from_tensor, to_tensor

__all__ = [
    "DEFAULT_SOCKET", "Client", "PendingCall", "Stats", "UnirtError", "Region",
    "FrameDecoder", "FrameError", "encode_frame", "from_tensor", "to_tensor", "unirt_pb2",
]
