"""numpy arrays to and from `unirt.v1.Tensor`: elements packed little-endian in C order."""

from __future__ import annotations

import numpy as np

from . import unirt_pb2 as pb

_TO_NUMPY = {
    pb.DT_F32: np.dtype("<f4"),
    pb.DT_F16: np.dtype("<f2"),
    pb.DT_F64: np.dtype("<f8"),
    pb.DT_I8: np.dtype("i1"),
    pb.DT_U8: np.dtype("u1"),
    pb.DT_I16: np.dtype("<i2"),
    pb.DT_I32: np.dtype("<i4"),
    pb.DT_I64: np.dtype("<i8"),
    pb.DT_BOOL: np.dtype("?"),
}
_FROM_NUMPY = {(d.kind, d.itemsize): w for w, d in _TO_NUMPY.items()}


def wire_dtype(dtype: np.dtype) -> int:
    """The `DataType` of a numpy dtype; ValueError for one the protocol lacks."""
    d = np.dtype(dtype)
    try:
        return _FROM_NUMPY[(d.kind, d.itemsize)]
    except KeyError:
        raise ValueError(f"dtype {d} has no unirt DataType (supported: "
                         f"{', '.join(str(x) for x in _TO_NUMPY.values())})") from None


def numpy_dtype(wire: int, tensor: str = "?") -> np.dtype:
    """The numpy dtype of a `DataType`; ValueError naming the tensor for an unknown one."""
    try:
        return _TO_NUMPY[wire]
    except KeyError:
        raise ValueError(f"tensor '{tensor}': unknown data type {wire}") from None


def as_wire_array(array) -> np.ndarray:
    """`array` as a C-contiguous little-endian array (a view when it already is one)."""
    a = np.asarray(array)
    d = _TO_NUMPY[wire_dtype(a.dtype)]
    return np.ascontiguousarray(a, dtype=d)


def to_tensor(name: str, array, out: pb.Tensor | None = None) -> pb.Tensor:
    """A `Tensor` carrying `array` inline; fills `out` when given (e.g. `request.inputs.add()`)."""
    a = as_wire_array(array)
    t = out if out is not None else pb.Tensor()
    t.name = name
    t.dtype = wire_dtype(a.dtype)
    t.shape.extend(a.shape)
    t.data = a.tobytes()
    return t


def from_tensor(t: pb.Tensor) -> np.ndarray:
    """The inline data of `t` as an array. Zero-copy: the array is read-only."""
    d = numpy_dtype(t.dtype, t.name)
    shape = tuple(t.shape)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if len(t.data) != count * d.itemsize:
        raise ValueError(f"tensor '{t.name}': {len(t.data)} bytes, {d}{list(shape)} needs {count * d.itemsize}")
    return np.frombuffer(t.data, dtype=d, count=count).reshape(shape)
