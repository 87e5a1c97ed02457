"""ONNX graph helpers shared by the fixture, reference and demo scripts.

- `dequantize`: DequantizeLinear in numpy, per-tensor, per-axis and blocked
  (opset 21 `block_size`), following the ONNX operator specification.
- `fold_dequantize`: a copy of a model where every DequantizeLinear whose inputs
  are all initializers is replaced by a float initializer. ONNX Runtime 1.32
  refuses the blocked DequantizeLinear nodes of the YuNet/SFace files, so the
  reference scripts run it on such float copies.
- `drop_dangling_inputs`: remove graph inputs that have no initializer and feed
  no node (SFace lists 29 of them; ONNX Runtime insists they be fed).
- `override_batch`: a copy of a model whose batch dimension is N or symbolic.
- `ort_session`: an ONNX Runtime CPU session with logging quietened.

Run these with the project's virtual environment (scripts/venv.sh).
"""

from __future__ import annotations

import copy

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def dequantize(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None = None,
               axis: int = 1, block_size: int = 0) -> np.ndarray:
    """y = (x - zero_point) * scale, with the scale layout picked as in ONNX opset 21.

    - block_size > 0: blocked. `scale` has the rank of `x`; along `axis` it has
      ceil(x.shape[axis] / block_size) entries and element i uses entry
      i // block_size (the last block may be partial). Other dims match `x`.
    - scale is a scalar or has one element: per-tensor.
    - otherwise: per-axis, `scale` is 1-D of length x.shape[axis].
    `zero_point` (optional, defaults to 0) has the same layout as `scale`.
    """
    x = np.asarray(x)
    scale = np.asarray(scale, dtype=np.float32)
    zp = np.zeros_like(scale, dtype=np.int64) if zero_point is None else np.asarray(zero_point)
    if zp.shape != scale.shape:
        raise ValueError(f"zero point shape {zp.shape} differs from scale shape {scale.shape}")
    rank = x.ndim
    per_tensor = block_size <= 0 and scale.size == 1 and scale.ndim <= 1
    if not per_tensor:  # the axis only matters per-axis and blocked
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise ValueError(f"axis {axis} out of range for rank {rank}")

    if block_size > 0:
        if scale.ndim != rank:
            raise ValueError(f"blocked dequantization needs scale of rank {rank}, got {scale.shape}")
        n = x.shape[axis]
        want = -(-n // block_size)
        for d in range(rank):
            expected = want if d == axis else x.shape[d]
            if scale.shape[d] != expected:
                raise ValueError(f"blocked scale shape {scale.shape} does not fit x {x.shape}, "
                                 f"axis {axis}, block_size {block_size}")
        index = np.arange(n) // block_size
        scale_full = np.take(scale, index, axis=axis)
        zp_full = np.take(zp, index, axis=axis)
    elif per_tensor:
        scale_full = scale.reshape(())
        zp_full = zp.reshape(())
    else:
        if scale.ndim != 1 or scale.shape[0] != x.shape[axis]:
            raise ValueError(f"per-axis scale shape {scale.shape} does not fit x {x.shape} axis {axis}")
        bshape = [1] * rank
        bshape[axis] = scale.shape[0]
        scale_full = scale.reshape(bshape)
        zp_full = zp.reshape(bshape)

    diff = x.astype(np.int64) - zp_full.astype(np.int64)
    return (diff.astype(np.float32) * scale_full).astype(np.float32)


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def fold_dequantize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """Copy of `model` with each initializer-fed DequantizeLinear replaced by a
    float32 initializer named after its output. Initializers left unused are
    removed (with their graph-input entries). Everything else is unchanged.
    Returns (new model, number of nodes folded)."""
    m = copy.deepcopy(model)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    keep_nodes = []
    new_inits = []
    folded = 0
    for node in g.node:
        inputs = [i for i in node.input if i]
        if node.op_type == "DequantizeLinear" and inputs and all(i in inits for i in inputs):
            a = _attrs(node)
            arrays = [numpy_helper.to_array(inits[i]) if i else None for i in node.input]
            x, scale = arrays[0], arrays[1]
            zp = arrays[2] if len(arrays) > 2 else None
            y = dequantize(x, scale, zp, axis=a.get("axis", 1), block_size=a.get("block_size", 0))
            new_inits.append(numpy_helper.from_array(y, node.output[0]))
            folded += 1
        else:
            keep_nodes.append(node)
    del g.node[:]
    g.node.extend(keep_nodes)
    g.initializer.extend(new_inits)

    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    kept = [t for t in g.initializer if t.name in used]
    removed = {t.name for t in g.initializer} - {t.name for t in kept}
    del g.initializer[:]
    g.initializer.extend(kept)
    kept_inputs = [i for i in g.input if i.name not in removed]
    del g.input[:]
    g.input.extend(kept_inputs)
    # value_info of folded outputs stays valid (float32, same shape); drop entries
    # for tensors that no longer exist.
    names = used | {t.name for t in g.initializer} | {o for n in g.node for o in n.output}
    vi = [v for v in g.value_info if v.name in names]
    del g.value_info[:]
    g.value_info.extend(vi)
    return m, folded


def drop_dangling_inputs(model: onnx.ModelProto) -> tuple[onnx.ModelProto, list[str]]:
    """Copy of `model` without graph inputs that have no initializer and feed no node."""
    m = copy.deepcopy(model)
    g = m.graph
    inits = {t.name for t in g.initializer}
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    dropped = [i.name for i in g.input if i.name not in inits and i.name not in used]
    kept = [i for i in g.input if i.name in inits or i.name in used]
    del g.input[:]
    g.input.extend(kept)
    return m, dropped


def runtime_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs a caller must feed (inputs that have no initializer)."""
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def data_dependent_tensors(model: onnx.ModelProto) -> set[str]:
    """Names of tensors whose value depends on a runtime (non-initializer) input."""
    live = {i.name for i in runtime_inputs(model)}
    for node in model.graph.node:  # nodes are topologically sorted in a valid model
        if any(i in live for i in node.input if i):
            live.update(o for o in node.output if o)
    return live


def batch_one_reshapes(model: onnx.ModelProto) -> list[str]:
    """Reshape nodes on the data path whose constant target shape starts with 1,
    i.e. hard-codes batch 1 (a batch override has to rewrite them)."""
    live = data_dependent_tensors(model)
    consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            a = _attrs(n)
            if "value" in a:
                consts[n.output[0]] = numpy_helper.to_array(a["value"])
    found = []
    for n in model.graph.node:
        if n.op_type == "Reshape" and n.input[0] in live and n.input[1] in consts:
            shape = consts[n.input[1]]
            if shape.ndim == 1 and shape.size > 0 and shape[0] == 1:
                found.append(n.name or n.output[0])
    return found


def override_batch(model: onnx.ModelProto, batch: int | str) -> tuple[onnx.ModelProto, list[str]]:
    """Copy of `model` with dim 0 of every runtime input and every output set to
    `batch` (an int, or a string for a symbolic dim), intermediate value_info
    shapes dropped, and data-path Reshapes whose constant target starts with 1
    rewritten to start with 0 ("copy the input's dim 0"). Returns the copy and
    the names of the Reshapes rewritten."""
    m = copy.deepcopy(model)
    g = m.graph

    def set_dim0(vi: onnx.ValueInfoProto) -> None:
        dims = vi.type.tensor_type.shape.dim
        if len(dims) == 0:
            return
        d = dims[0]
        if isinstance(batch, int):
            d.dim_value = batch
        else:
            d.dim_param = batch

    for vi in runtime_inputs(m):
        set_dim0(vi)
    for vi in g.output:
        set_dim0(vi)
    del g.value_info[:]

    rewritten = batch_one_reshapes(m)
    if rewritten:
        names = set(rewritten)
        consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        for n in g.node:
            if n.op_type == "Constant" and "value" in _attrs(n):
                consts[n.output[0]] = numpy_helper.to_array(_attrs(n)["value"])
        for n in g.node:
            if n.op_type == "Reshape" and (n.name or n.output[0]) in names:
                target = consts[n.input[1]].astype(np.int64).copy()
                # 0 copies the input's dim 0, unless allowzero=1 makes it literal.
                if _attrs(n).get("allowzero", 0):
                    if not isinstance(batch, int):
                        raise ValueError(f"cannot make Reshape {n.name} batch-symbolic with allowzero=1")
                    target[0] = batch
                else:
                    target[0] = 0
                new_name = n.input[1] + "_keep_batch"
                g.initializer.append(numpy_helper.from_array(target, new_name))
                n.input[1] = new_name
    return m, rewritten


def ort_session(model: onnx.ModelProto | str | bytes, optimize: bool = False):
    """An ONNX Runtime CPU session (graph optimizations off unless `optimize`)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 4  # errors surface as exceptions; keep stderr quiet
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if isinstance(model, onnx.ModelProto):
        model = model.SerializeToString()
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def runnable_by_ort(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict]:
    """Float copy that ONNX Runtime can run: DequantizeLinear of initializers
    folded, dangling inputs dropped. Returns the copy and a summary dict."""
    m, folded = fold_dequantize(model)
    m, dropped = drop_dangling_inputs(m)
    return m, {"folded_dequantize": folded, "dropped_inputs": dropped}


__all__ = [
    "dequantize", "fold_dequantize", "drop_dangling_inputs", "runtime_inputs",
    "data_dependent_tensors", "batch_one_reshapes", "override_batch", "ort_session",
    "runnable_by_ort", "TensorProto",
]
