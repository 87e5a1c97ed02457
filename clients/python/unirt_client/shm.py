"""Shared-memory tensors: a memfd the client maps and registers with unirtd once;
tensors then travel as (region, offset, length) references (docs/protocol.md,
"Shared memory")."""

from __future__ import annotations

import mmap
import os

import numpy as np

from . import unirt_pb2 as pb
from .tensors import as_wire_array, numpy_dtype, wire_dtype


class Region:
    """A mapped memfd registered with one connection (see `Client.register_region`).

    The caller owns the bytes: do not write a range a request in flight reads,
    nor read outputs before their answer arrives. `close()` unmaps it.
    """

    def __init__(self, region_id: int, size: int):
        if size <= 0:
            raise ValueError(f"region size must be positive, got {size}")
        self.id = region_id
        self.size = size
        self.fd = os.memfd_create(f"unirt-region-{region_id}", os.MFD_CLOEXEC)
        try:
            os.ftruncate(self.fd, size)
            self.map = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(self.fd)
            raise
        self._view = np.frombuffer(self.map, dtype=np.uint8)

    def write(self, name: str, array, offset: int, out: pb.Tensor | None = None) -> pb.Tensor:
        """Copies `array` to `offset` and returns the `Tensor` that refers to it."""
        a = as_wire_array(array)
        n = a.nbytes
        if offset < 0 or offset + n > self.size:
            raise ValueError(f"tensor '{name}': {n} bytes at {offset} do not fit region {self.id} ({self.size} bytes)")
        self._view[offset:offset + n] = a.reshape(-1).view(np.uint8)
        t = out if out is not None else pb.Tensor()
        t.name = name
        t.dtype = wire_dtype(a.dtype)
        t.shape.extend(a.shape)
        t.shm.region, t.shm.offset, t.shm.length = self.id, offset, n
        return t

    def read(self, t: pb.Tensor, copy: bool = True) -> np.ndarray:
        """The tensor `t` refers to; a copy unless `copy=False` (then a view valid until the range is reused)."""
        d = numpy_dtype(t.dtype, t.name)
        shape = tuple(t.shape)
        ref = t.shm
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if ref.region != self.id or ref.offset + ref.length > self.size or ref.length != count * d.itemsize:
            raise ValueError(f"output '{t.name}': reference ({ref.region}, {ref.offset}, {ref.length}) "
                             f"does not fit region {self.id} or {d}{list(shape)}")
        a = self._view[ref.offset:ref.offset + ref.length].view(d).reshape(shape)
        return a.copy() if copy else a

    def close(self) -> None:
        """Unmaps the region and closes the memfd."""
        if self.fd >= 0:
            self._view = None
            self.map.close()
            os.close(self.fd)
            self.fd = -1
