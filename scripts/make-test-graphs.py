#!/usr/bin/env python3
"""Generate unirt's small ONNX operator fixtures and their ONNX Runtime references.

Writes, for every case below:
    Tests/Fixtures/graphs/<case>/model.onnx
    Tests/Fixtures/graphs/<case>/in/<input name>.npy
    Tests/Fixtures/graphs/<case>/ref/<output name>.npy
    Tests/Fixtures/graphs/README.md          (generated from the cases)
and the malformed / edge-case inputs under Tests/Fixtures/bad/ (see make_bad_fixtures).

Each case draws its data from a numpy RNG seeded by the case name, so adding a case
leaves the others unchanged. References come from ONNX Runtime (CPU, graph
optimizations off); where ONNX Runtime cannot run a construct (blocked
DequantizeLinear) the construct is evaluated in numpy (scripts/onnxtools.py) and
ONNX Runtime runs the rest. Re-running rewrites nothing that has not changed
(references are kept when they agree to within 1e-5 relative).

Usage: scripts/venv.sh && .venv/bin/python scripts/make-test-graphs.py
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnxtools import drop_dangling_inputs, fold_dequantize, ort_session  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAPHS = os.path.join(ROOT, "Tests", "Fixtures", "graphs")
BAD = os.path.join(ROOT, "Tests", "Fixtures", "bad")
INT64_MAX = np.iinfo(np.int64).max
INT64_MIN_PLUS_1 = np.iinfo(np.int64).min + 1  # what PyTorch exports for "to the start"

F32 = np.float32


# --------------------------------------------------------------------------- builder

class GraphBuilder:
    """Collects nodes, inputs, constants and outputs of one fixture graph.

    Exporter styles: `inits_as_inputs` also lists every initializer as a graph input
    (old IR / MXNet style, as in SFace); `weights_as_constants` emits constants as
    Constant nodes instead of initializers (PyTorch style)."""

    def __init__(self, name: str, rng: np.random.Generator, *, inits_as_inputs: bool = False,
                 weights_as_constants: bool = False):
        self.name = name
        self.rng = rng
        self.inits_as_inputs = inits_as_inputs
        self.weights_as_constants = weights_as_constants
        self.nodes: list[onnx.NodeProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.init_inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[tuple[str, int]] = []
        self.inits: list[onnx.TensorProto] = []
        self.feeds: dict[str, np.ndarray] = {}
        self.extra_inputs: list[onnx.ValueInfoProto] = []
        self.reference_transform: Callable[[onnx.ModelProto], onnx.ModelProto] | None = None
        self.reference_note = ""
        self._counts: collections.Counter = collections.Counter()

    # data
    def randn(self, *shape: int, scale: float = 1.0) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(F32)

    def uniform(self, lo: float, hi: float, *shape: int) -> np.ndarray:
        return self.rng.uniform(lo, hi, shape).astype(F32)

    def ints(self, lo: int, hi: int, *shape: int, dtype=np.int8) -> np.ndarray:
        return self.rng.integers(lo, hi, shape, endpoint=True).astype(dtype)

    # graph pieces
    def input(self, name: str, array: np.ndarray) -> str:
        array = np.array(array, order="C")
        self.feeds[name] = array
        self.inputs.append(helper.make_tensor_value_info(
            name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape))
        return name

    def const(self, name: str, array) -> str:
        """A constant tensor in this case's exporter style."""
        array = np.asarray(array)
        if self.weights_as_constants:
            return self.constant_node(name, array)
        self.inits.append(numpy_helper.from_array(array, name))
        if self.inits_as_inputs:
            self.init_inputs.append(helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape))
        return name

    def constant_node(self, name: str, array) -> str:
        """A constant tensor produced by a Constant node, whatever the style."""
        self.nodes.append(helper.make_node("Constant", [], [name], name=f"{name}_node",
                                           value=numpy_helper.from_array(np.asarray(array), name)))
        return name

    def op(self, op_type: str, inputs: list[str], outputs: int | str | list[str] = 1, **attrs):
        """Add a node; returns its output name (or list of names)."""
        self._counts[op_type] += 1
        base = f"{op_type.lower()}{self._counts[op_type]}"
        if isinstance(outputs, int):
            names = [base] if outputs == 1 else [f"{base}_{i}" for i in range(outputs)]
        elif isinstance(outputs, str):
            names = [outputs]
        else:
            names = list(outputs)
        self.nodes.append(helper.make_node(op_type, inputs, names, name=base, **attrs))
        return names[0] if len(names) == 1 else names

    def output(self, name: str, elem_type: int = TensorProto.FLOAT) -> str:
        self.outputs.append((name, elem_type))
        return name

    def model(self, opset: int, shapes: dict[str, tuple] | None = None) -> onnx.ModelProto:
        outputs = [helper.make_tensor_value_info(n, t, None if shapes is None else shapes[n])
                   for n, t in self.outputs]
        graph = helper.make_graph(self.nodes, self.name,
                                  self.inputs + self.extra_inputs + self.init_inputs,
                                  outputs, self.inits)
        opsets = [helper.make_opsetid("", opset)]
        model = helper.make_model(graph, opset_imports=opsets,
                                  ir_version=helper.find_min_ir_version_for(opsets),
                                  producer_name="unirt-fixtures")
        return model


@dataclass
class Case:
    name: str
    opset: int
    summary: str
    build: Callable[[GraphBuilder], None]
    style: str = "initializers"
    notes: list[str] = field(default_factory=list)


CASES: list[Case] = []


def case(name: str, opset: int, summary: str, style: str = "initializers"):
    def register(fn):
        CASES.append(Case(name, opset, summary, fn, style))
        return fn
    return register


def builder_for(c: Case) -> GraphBuilder:
    rng = np.random.default_rng(zlib.crc32(c.name.encode()))
    return GraphBuilder(c.name, rng, inits_as_inputs=c.style == "initializers-as-inputs",
                        weights_as_constants=c.style == "constant-nodes")


# --------------------------------------------------------------------------- cases

@case("conv", 11, "Conv: grouped with dilations and asymmetric pads, depthwise (multiplier 1 and 2), "
      "auto_pad SAME_UPPER / SAME_LOWER / VALID with strides, 1x1 to 127 channels, 1-D conv; "
      "with and without bias.")
def _conv(b: GraphBuilder):
    x = b.input("x", b.randn(1, 6, 13, 11))
    x1d = b.input("x1d", b.randn(1, 3, 127))
    y = b.op("Conv", [x, b.const("w_grouped", b.randn(4, 3, 3, 3)), b.const("b_grouped", b.randn(4))],
             "y_grouped", group=2, dilations=[2, 1], pads=[1, 2, 0, 1], strides=[2, 1], kernel_shape=[3, 3])
    b.output(y)
    y = b.op("Conv", [x, b.const("w_depthwise", b.randn(6, 1, 3, 3))], "y_depthwise",
             group=6, pads=[1, 1, 1, 1], strides=[2, 2])
    b.output(y)
    y = b.op("Conv", [x, b.const("w_dw_mult", b.randn(12, 1, 3, 3)), b.const("b_dw_mult", b.randn(12))],
             "y_depthwise_mult2", group=6, dilations=[2, 2], pads=[2, 2, 2, 2])
    b.output(y)
    y = b.op("Conv", [x, b.const("w_same_upper", b.randn(5, 6, 2, 4)), b.const("b_same_upper", b.randn(5))],
             "y_same_upper", auto_pad="SAME_UPPER", strides=[2, 2], kernel_shape=[2, 4])
    b.output(y)
    y = b.op("Conv", [x, b.const("w_same_lower", b.randn(5, 6, 4, 3))], "y_same_lower",
             auto_pad="SAME_LOWER", strides=[2, 3])
    b.output(y)
    y = b.op("Conv", [x, b.const("w_valid", b.randn(3, 6, 5, 1)), b.const("b_valid", b.randn(3))],
             "y_valid", auto_pad="VALID", strides=[1, 2])
    b.output(y)
    y = b.op("Conv", [x, b.const("w_pointwise", b.randn(127, 6, 1, 1, scale=0.5)),
                      b.const("b_pointwise", b.randn(127))], "y_pointwise")
    b.output(y)
    y = b.op("Conv", [x1d, b.const("w_conv1d", b.randn(13, 3, 5)), b.const("b_conv1d", b.randn(13))],
             "y_conv1d", strides=[2], pads=[2, 1])
    b.output(y)


@case("conv_transpose", 17, "ConvTranspose: stride 2 with pads and output_padding and bias; group 2 with "
      "asymmetric pads, no bias; dilation 2 with stride 3 and output_padding 2.")
def _conv_transpose(b: GraphBuilder):
    x = b.input("x", b.randn(1, 4, 5, 7))
    y = b.op("ConvTranspose", [x, b.const("w_stride2", b.randn(4, 3, 3, 3)), b.const("b_stride2", b.randn(3))],
             "y_stride2", strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 0])
    b.output(y)
    y = b.op("ConvTranspose", [x, b.const("w_grouped", b.randn(4, 2, 4, 4))], "y_grouped",
             group=2, strides=[2, 2], pads=[1, 0, 1, 2])
    b.output(y)
    y = b.op("ConvTranspose", [x, b.const("w_dilated", b.randn(4, 3, 2, 3))], "y_dilated",
             strides=[3, 1], dilations=[2, 2], output_padding=[2, 0])
    b.output(y)


@case("legacy_opset9", 9, "Opset-9 forms: BatchNormalization, InstanceNormalization, PRelu with [C,1,1] "
      "slope, LeakyRelu, Clip with min/max attributes, HardSigmoid, Sigmoid, Tanh, Relu, Dropout (ratio "
      "attribute), Upsample (nearest and linear, scales input), Pad with pads/value attributes "
      "(constant, reflect), Softmax (axis 1 flattens the trailing dims), Flatten + Gemm with C. "
      "Initializers are also listed as graph inputs.", style="initializers-as-inputs")
def _legacy_opset9(b: GraphBuilder):
    x = b.input("x", b.randn(2, 5, 7, 3))
    bn = b.op("BatchNormalization", [x, b.const("bn_scale", b.uniform(0.5, 1.5, 5)),
                                     b.const("bn_bias", b.randn(5)), b.const("bn_mean", b.randn(5, scale=0.3)),
                                     b.const("bn_var", b.uniform(0.2, 2.0, 5))], "bn", epsilon=1e-3)
    pr = b.op("PRelu", [bn, b.const("prelu_slope", b.uniform(0.05, 0.5, 5, 1, 1))], "prelu")
    b.output(b.op("Relu", [pr], "y_relu"))
    b.output(b.op("LeakyRelu", [bn], "y_leaky", alpha=0.07))
    b.output(b.op("Clip", [pr], "y_clip", min=-0.5, max=0.8))
    b.output(b.op("HardSigmoid", [x], "y_hardsigmoid", alpha=0.3, beta=0.4))
    b.output(b.op("Sigmoid", [x], "y_sigmoid"))
    b.output(b.op("Tanh", [x], "y_tanh"))
    b.output(b.op("InstanceNormalization", [x, b.const("in_scale", b.uniform(0.5, 1.5, 5)),
                                            b.const("in_bias", b.randn(5))], "y_instnorm", epsilon=1e-4))
    dr = b.op("Dropout", [pr], "dropout", ratio=0.3)
    b.output(b.op("Upsample", [dr, b.const("up_scales_nearest", np.array([1, 1, 2, 3], F32))],
                  "y_upsample_nearest", mode="nearest"))
    b.output(b.op("Upsample", [x, b.const("up_scales_linear", np.array([1, 1, 2, 2], F32))],
                  "y_upsample_linear", mode="linear"))
    b.output(b.op("Pad", [x], "y_pad_constant", mode="constant", pads=[0, 1, 2, 0, 0, 0, 1, 2], value=0.5))
    b.output(b.op("Pad", [x], "y_pad_reflect", mode="reflect", pads=[0, 0, 2, 1, 0, 0, 3, 2]))
    b.output(b.op("Softmax", [x], "y_softmax_axis1", axis=1))
    fl = b.op("Flatten", [pr], "flat")
    b.output(b.op("Gemm", [fl, b.const("fc_w", b.randn(13, 105, scale=0.1)), b.const("fc_c", b.randn(13))],
                  "y_gemm", transB=1))


@case("elementwise", 13, "Add/Sub/Mul/Div/Pow with multidirectional broadcasting (rank 4 x rank 3 x "
      "rank 1, scalars), Sqrt/Log of positive inputs, Exp, Relu, Sigmoid, Tanh, LeakyRelu (default "
      "alpha), HardSigmoid (defaults), Clip with min/max inputs (both, and max only).")
def _elementwise(b: GraphBuilder):
    a = b.input("a", b.randn(2, 3, 1, 127))
    bb = b.input("b", b.randn(3, 13, 1))
    c = b.input("c", b.uniform(-2.0, 2.0, 127))
    p = b.input("p", b.uniform(0.1, 3.0, 3, 13, 1))
    b.output(b.op("Add", [a, bb], "y_add"))
    b.output(b.op("Sub", [bb, c], "y_sub"))
    b.output(b.op("Mul", [a, b.const("half", np.array(0.5, F32))], "y_mul_scalar"))
    b.output(b.op("Div", [a, b.const("denom", b.uniform(0.5, 2.0, 3, 1, 1))], "y_div"))
    b.output(b.op("Pow", [p, c], "y_pow"))
    b.output(b.op("Pow", [a, b.const("two", np.array(2.0, F32))], "y_square"))
    b.output(b.op("Sqrt", [p], "y_sqrt"))
    b.output(b.op("Log", [p], "y_log"))
    b.output(b.op("Exp", [a], "y_exp"))
    b.output(b.op("Relu", [a], "y_relu"))
    b.output(b.op("Sigmoid", [a], "y_sigmoid"))
    b.output(b.op("Tanh", [a], "y_tanh"))
    b.output(b.op("LeakyRelu", [a], "y_leaky"))
    b.output(b.op("HardSigmoid", [a], "y_hardsigmoid"))
    b.output(b.op("Clip", [a, b.const("clip_min", np.array(-0.3, F32)), b.const("clip_max", np.array(0.7, F32))],
                  "y_clip"))
    b.output(b.op("Clip", [a, "", b.const("clip_max_only", np.array(0.2, F32))], "y_clip_max_only"))


@case("compare_select", 16, "Equal (bool output), Where with broadcasting, Cast bool->float, Expand with "
      "bidirectional broadcasting.")
def _compare_select(b: GraphBuilder):
    i = b.input("i", b.ints(0, 2, 13, 7).astype(F32))
    j = b.input("j", b.ints(0, 2, 7).astype(F32))
    x = b.input("x", b.randn(13, 7))
    eq = b.op("Equal", [i, j], "y_equal")
    b.output(eq, TensorProto.BOOL)
    b.output(b.op("Where", [eq, x, b.const("neg_one", np.array(-1.0, F32))], "y_where"))
    b.output(b.op("Cast", [eq], "y_equal_float", to=TensorProto.FLOAT))
    b.output(b.op("Expand", [x, b.const("expand_shape", np.array([3, 1, 1], np.int64))], "y_expand"))
    b.output(b.op("Expand", [j, b.const("expand_shape2", np.array([2, 1], np.int64))], "y_expand_vector"))


@case("matmul_gemm", 13, "MatMul 2-D (K=127), batched 3-D, 3-D x 2-D broadcast; Gemm with transA, "
      "transB, alpha, beta and 1-D C; Gemm with column C [M,1]; Gemm without C.")
def _matmul_gemm(b: GraphBuilder):
    a = b.input("a", b.randn(13, 127))
    c3 = b.input("c3", b.randn(3, 13, 7))
    at = b.input("at", b.randn(7, 13))
    b.output(b.op("MatMul", [a, b.const("w2d", b.randn(127, 3, scale=0.1))], "y_matmul_2d"))
    b.output(b.op("MatMul", [c3, b.const("w3d", b.randn(3, 7, 5))], "y_matmul_3d"))
    b.output(b.op("MatMul", [c3, b.const("wcol", b.randn(7, 1))], "y_matmul_bcast"))
    b.output(b.op("Gemm", [at, b.const("gemm_b", b.randn(5, 7)), b.const("gemm_c", b.randn(5))],
                  "y_gemm_trans", transA=1, transB=1, alpha=0.5, beta=2.0))
    b.output(b.op("Gemm", [a, b.const("gemm_b2", b.randn(127, 5, scale=0.1)), b.const("gemm_c2", b.randn(13, 1))],
                  "y_gemm_col_c", alpha=1.25))
    b.output(b.op("Gemm", [a, b.const("gemm_b3", b.randn(3, 127, scale=0.1))], "y_gemm_no_c", transB=1))


@case("pooling", 12, "MaxPool 3x3/2 with pads and ceil_mode, 2x2/2 (YuNet), dilated; AveragePool with "
      "pads and count_include_pad 1 and 0, with ceil_mode; GlobalAveragePool.")
def _pooling(b: GraphBuilder):
    x = b.input("x", b.randn(1, 3, 12, 13))
    b.output(b.op("MaxPool", [x], "y_maxpool_ceil", kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1], ceil_mode=1))
    b.output(b.op("MaxPool", [x], "y_maxpool_2x2", kernel_shape=[2, 2], strides=[2, 2]))
    b.output(b.op("MaxPool", [x], "y_maxpool_dilated", kernel_shape=[2, 3], dilations=[2, 1], strides=[1, 2]))
    b.output(b.op("AveragePool", [x], "y_avgpool_include_pad", kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1], count_include_pad=1))
    b.output(b.op("AveragePool", [x], "y_avgpool_exclude_pad", kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1], count_include_pad=0))
    b.output(b.op("AveragePool", [x], "y_avgpool_ceil", kernel_shape=[3, 2], strides=[2, 2], ceil_mode=1))
    b.output(b.op("GlobalAveragePool", [x], "y_global_avg"))


@case("shape_ops_opset11", 11, "Concat, Split with the split attribute and equal Split, Squeeze / "
      "Unsqueeze with axes attributes, Reshape with 0 and -1, Flatten(axis 2), Transpose, Softmax "
      "with opset-11 semantics (axis 1 normalises over the flattened trailing dims) and axis -1.")
def _shape_ops_11(b: GraphBuilder):
    x = b.input("x", b.randn(2, 13, 3, 5))
    x2 = b.input("x2", b.randn(2, 1, 3, 5))
    b.output(b.op("Concat", [x, x2], "y_concat", axis=1))
    for name in b.op("Split", [x], ["y_split_a", "y_split_b", "y_split_c"], axis=1, split=[2, 5, 6]):
        b.output(name)
    parts = b.op("Split", [x], ["y_split_eq0", "y_split_eq1", "y_split_eq2"], axis=2)
    for name in parts:
        b.output(name)
    sq = b.op("Squeeze", [parts[0]], "y_squeeze", axes=[2])
    b.output(sq)
    b.output(b.op("Unsqueeze", [sq], "y_unsqueeze", axes=[0, 3]))
    b.output(b.op("Reshape", [x, b.const("shape_0_m1_5", np.array([0, -1, 5], np.int64))], "y_reshape"))
    b.output(b.op("Reshape", [x, b.const("shape_0_0_m1", np.array([0, 0, -1], np.int64))], "y_reshape_keep"))
    b.output(b.op("Flatten", [x], "y_flatten", axis=2))
    b.output(b.op("Transpose", [x], "y_transpose", perm=[0, 2, 3, 1]))
    b.output(b.op("Softmax", [x], "y_softmax_axis1", axis=1))
    b.output(b.op("Softmax", [x], "y_softmax_last", axis=-1))


@case("shape_ops_opset13", 13, "Split with a split input, Squeeze / Unsqueeze with axes inputs "
      "(negative axes, no axes), Softmax with opset-13 semantics (axis 1 and -1), Slice (negative "
      "starts/ends, negative step, axes, INT64_MAX / INT64_MIN+1 bounds), Gather (axis 0 with 2-D "
      "negative indices, axis 1 with negative indices, scalar index), Shape, Cast to int64 and back, "
      "ConstantOfShape from Shape, Identity. Parameters come from Constant nodes.", style="constant-nodes")
def _shape_ops_13(b: GraphBuilder):
    x = b.input("x", b.randn(2, 13, 3, 5))
    x1 = b.input("x1", b.randn(1, 2, 1, 7))
    for name in b.op("Split", [x, b.const("split_sizes", np.array([4, 9], np.int64))],
                     ["y_split_a", "y_split_b"], axis=1):
        b.output(name)
    b.output(b.op("Squeeze", [x1, b.const("squeeze_axes", np.array([-2], np.int64))], "y_squeeze"))
    b.output(b.op("Squeeze", [x1], "y_squeeze_all"))
    b.output(b.op("Unsqueeze", [x1, b.const("unsqueeze_axes", np.array([-1, 1], np.int64))], "y_unsqueeze"))
    b.output(b.op("Softmax", [x], "y_softmax_axis1", axis=1))
    b.output(b.op("Softmax", [x], "y_softmax_last", axis=-1))
    b.output(b.op("Slice", [x, b.const("sl_starts", np.array([-4, 10], np.int64)),
                            b.const("sl_ends", np.array([-1, 0], np.int64)),
                            b.const("sl_axes", np.array([-1, 1], np.int64)),
                            b.const("sl_steps", np.array([1, -3], np.int64))], "y_slice"))
    b.output(b.op("Slice", [x, b.const("sl2_starts", np.array([0, 1], np.int64)),
                            b.const("sl2_ends", np.array([1, INT64_MAX], np.int64)),
                            b.const("sl2_axes", np.array([0, 2], np.int64))], "y_slice_to_end"))
    b.output(b.op("Slice", [x, b.const("sl3_starts", np.array([-1], np.int64)),
                            b.const("sl3_ends", np.array([INT64_MIN_PLUS_1], np.int64)),
                            b.const("sl3_axes", np.array([2], np.int64)),
                            b.const("sl3_steps", np.array([-1], np.int64))], "y_slice_reverse"))
    b.output(b.op("Gather", [x, b.const("gather_idx0", np.array([[1, 0], [-1, -2]], np.int64))],
                  "y_gather_axis0", axis=0))
    b.output(b.op("Gather", [x, b.const("gather_idx1", np.array([-1, 0, 5, -13], np.int64))],
                  "y_gather_axis1", axis=1))
    b.output(b.op("Gather", [x, b.const("gather_scalar", np.array(-2, np.int64))], "y_gather_scalar", axis=3))
    shape = b.op("Shape", [x], "y_shape")
    b.output(shape, TensorProto.INT64)
    scaled = b.op("Mul", [x, b.const("three", np.array(3.0, F32))], "scaled")
    as_int = b.op("Cast", [scaled], "y_cast_int64", to=TensorProto.INT64)
    b.output(as_int, TensorProto.INT64)
    b.output(b.op("Cast", [as_int], "y_cast_back", to=TensorProto.FLOAT))
    filled = b.op("ConstantOfShape", [shape], "filled",
                  value=numpy_helper.from_array(np.array([0.25], F32), "value"))
    b.output(b.op("Add", [x, filled], "y_constant_of_shape"))
    b.output(b.op("Identity", [x1], "y_identity"))


@case("resize_nearest", 13, "Resize mode nearest: asymmetric + floor with scales [1,1,2,2] (YuNet, "
      "multistyle26), half_pixel + round_prefer_floor with non-integer up/down scales (W: 7 x 0.75 -> 5; "
      "coordinates map with the given scale 0.75, not 5/7), asymmetric + round_prefer_floor with a "
      "sizes input. roi is the empty name.")
def _resize_nearest(b: GraphBuilder):
    x = b.input("x", b.randn(1, 2, 5, 7))
    b.output(b.op("Resize", [x, "", b.const("scales_2x", np.array([1, 1, 2, 2], F32))], "y_asym_floor",
                  mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
    b.output(b.op("Resize", [x, "", b.const("scales_mixed", np.array([1, 1, 1.5, 0.75], F32))],
                  "y_half_pixel_round_prefer_floor", mode="nearest",
                  coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_floor"))
    b.output(b.op("Resize", [x, "", "", b.const("sizes", np.array([1, 2, 9, 3], np.int64))],
                  "y_sizes_asym_round_prefer_floor", mode="nearest",
                  coordinate_transformation_mode="asymmetric", nearest_mode="round_prefer_floor"))


@case("resize_linear", 11, "Resize mode linear (opset 11: roi input required, empty scales when sizes "
      "is given): align_corners with scales, half_pixel with a downscale and a scale whose product is "
      "not an integer (W: 5 x 1.25 -> 6; coordinates map with the given scale 1.25, not 6/5), "
      "asymmetric with sizes, pytorch_half_pixel with sizes including an output dim of 1.")
def _resize_linear(b: GraphBuilder):
    x = b.input("x", b.randn(1, 3, 6, 5))
    roi = b.const("roi", np.zeros(0, F32))
    no_scales = b.const("no_scales", np.zeros(0, F32))
    b.output(b.op("Resize", [x, roi, b.const("scales_up", np.array([1, 1, 2, 1.5], F32))], "y_align_corners",
                  mode="linear", coordinate_transformation_mode="align_corners"))
    b.output(b.op("Resize", [x, roi, b.const("scales_mixed", np.array([1, 1, 0.5, 1.25], F32))],
                  "y_half_pixel", mode="linear", coordinate_transformation_mode="half_pixel"))
    b.output(b.op("Resize", [x, roi, no_scales, b.const("sizes_a", np.array([1, 3, 4, 9], np.int64))],
                  "y_asymmetric_sizes", mode="linear", coordinate_transformation_mode="asymmetric"))
    b.output(b.op("Resize", [x, roi, no_scales, b.const("sizes_b", np.array([1, 3, 1, 3], np.int64))],
                  "y_pytorch_half_pixel", mode="linear", coordinate_transformation_mode="pytorch_half_pixel"))


@case("pad", 11, "Pad with pads as an input (opset 11): constant with a constant_value input, "
      "reflect, edge (also on the channel axis), constant with default value and negative pads (crop).")
def _pad(b: GraphBuilder):
    x = b.input("x", b.randn(1, 3, 5, 7))
    b.output(b.op("Pad", [x, b.const("pads_c", np.array([0, 0, 1, 2, 0, 1, 2, 1], np.int64)),
                          b.const("pad_value", np.array(2.5, F32))], "y_constant", mode="constant"))
    b.output(b.op("Pad", [x, b.const("pads_r", np.array([0, 0, 2, 3, 0, 0, 4, 6], np.int64))], "y_reflect",
                  mode="reflect"))
    b.output(b.op("Pad", [x, b.const("pads_e", np.array([0, 1, 1, 0, 0, 0, 2, 3], np.int64))], "y_edge",
                  mode="edge"))
    b.output(b.op("Pad", [x, b.const("pads_n", np.array([0, 0, -1, 2, 0, 0, 1, -2], np.int64))],
                  "y_negative_pads"))


@case("reduce_opset13", 13, "ReduceMean / ReduceMax with axes attributes and keepdims 1/0, ReduceSum "
      "with an axes input (opset 13) and negative axes, reductions over all axes (scalar output).")
def _reduce_13(b: GraphBuilder):
    x = b.input("x", b.randn(2, 3, 13, 7))
    b.output(b.op("ReduceMean", [x], "y_mean_hw", axes=[2, 3], keepdims=1))
    b.output(b.op("ReduceMax", [x], "y_max_c", axes=[1], keepdims=0))
    b.output(b.op("ReduceSum", [x, b.const("axes_0", np.array([0], np.int64))], "y_sum_axis0", keepdims=0))
    b.output(b.op("ReduceSum", [x, b.const("axes_neg", np.array([-1, 1], np.int64))], "y_sum_neg_axes",
                  keepdims=1))
    b.output(b.op("ReduceSum", [x], "y_sum_all"))
    b.output(b.op("ReduceMean", [x], "y_mean_all_scalar", keepdims=0))


@case("reduce_opset18", 18, "ReduceMean / ReduceMax / ReduceSum with axes inputs (opset 18), negative "
      "axes, keepdims 1/0, no axes (reduce all); Pad (opset 18) with an axes input, edge mode.")
def _reduce_18(b: GraphBuilder):
    x = b.input("x", b.randn(2, 3, 13, 7))
    b.output(b.op("ReduceMean", [x, b.const("axes_hw", np.array([2, 3], np.int64))], "y_mean_hw", keepdims=1))
    b.output(b.op("ReduceMax", [x, b.const("axes_m3", np.array([-3], np.int64))], "y_max_c", keepdims=0))
    b.output(b.op("ReduceSum", [x, b.const("axes_02", np.array([0, 2], np.int64))], "y_sum_02", keepdims=0))
    b.output(b.op("ReduceMean", [x], "y_mean_all", keepdims=1))
    b.output(b.op("Pad", [x, b.const("pads_w", np.array([2, 1], np.int64)), "",
                          b.const("pad_axes", np.array([-1], np.int64))], "y_pad_axes", mode="edge"))


@case("dequantize_linear", 13, "DequantizeLinear of weights: int8 per-tensor with zero point into MatMul, "
      "uint8 per-axis (axis 0) into Gemm transB, int8 per-axis with axis -1, int32 per-tensor bias "
      "without zero point.")
def _dequantize_linear(b: GraphBuilder):
    x = b.input("x", b.randn(13, 127))
    w = b.op("DequantizeLinear", [b.const("wq_tensor", b.ints(-128, 127, 127, 5)),
                                  b.const("wq_tensor_scale", np.array(0.02, F32)),
                                  b.const("wq_tensor_zp", np.array(3, np.int8))], "w_tensor")
    mm = b.op("MatMul", [x, w], "y_per_tensor")
    b.output(mm)
    w = b.op("DequantizeLinear", [b.const("wq_axis0", b.ints(0, 255, 7, 127, dtype=np.uint8)),
                                  b.const("wq_axis0_scale", b.uniform(0.005, 0.02, 7)),
                                  b.const("wq_axis0_zp", b.ints(100, 150, 7, dtype=np.uint8))], "w_axis0", axis=0)
    b.output(b.op("Gemm", [x, w], "y_per_axis0", transB=1))
    w = b.op("DequantizeLinear", [b.const("wq_axis_last", b.ints(-128, 127, 127, 3)),
                                  b.const("wq_axis_last_scale", b.uniform(0.005, 0.02, 3)),
                                  b.const("wq_axis_last_zp", b.ints(-5, 5, 3))], "w_axis_last", axis=-1)
    b.output(b.op("MatMul", [x, w], "y_per_axis_last"))
    bias = b.op("DequantizeLinear", [b.const("bias_q", b.ints(-5000, 5000, 5, dtype=np.int32)),
                                     b.const("bias_scale", np.array(0.001, F32))], "bias")
    b.output(b.op("Add", [mm, bias], "y_int32_bias"))


@case("dequantize_blockwise", 21, "DequantizeLinear opset 21 with block_size (blocked): [5,127] int8 along "
      "axis 1 with block 32 (partial last block) into Gemm transB; [127,3] along axis 0 with block 64; "
      "a 1-D int8 bias with block_size >= its length and scale shape [1] (YuNet's layout, which ONNX "
      "Runtime 1.32 rejects as 'per-tensor'); SFace/YuNet's weight chain DequantizeLinear [O,K] -> "
      "Reshape [O,C,kh,kw] -> Conv; plus a per-axis uint8 DequantizeLinear at opset 21. The reference "
      "dequantizes in numpy and runs the rest with ONNX Runtime.")
def _dequantize_blockwise(b: GraphBuilder):
    x = b.input("x", b.randn(13, 127))
    img = b.input("img", b.randn(1, 3, 13, 11))
    w = b.op("DequantizeLinear", [b.const("wq_rows", b.ints(-128, 127, 5, 127)),
                                  b.const("wq_rows_scale", b.uniform(0.005, 0.02, 5, 4)),
                                  b.const("wq_rows_zp", b.ints(-8, 8, 5, 4))], "w_rows", axis=1, block_size=32)
    b.output(b.op("Gemm", [x, w], "y_blocked_axis1", transB=1))
    w = b.op("DequantizeLinear", [b.const("wq_cols", b.ints(-128, 127, 127, 3)),
                                  b.const("wq_cols_scale", b.uniform(0.005, 0.02, 2, 3)),
                                  b.const("wq_cols_zp", b.ints(-8, 8, 2, 3))], "w_cols", axis=0, block_size=64)
    mm = b.op("MatMul", [x, w], "y_blocked_axis0")
    b.output(mm)
    bias = b.op("DequantizeLinear", [b.const("bias_q", b.ints(-128, 127, 3)),
                                     b.const("bias_scale", np.array([0.01], F32)),
                                     b.const("bias_zp", np.array([-4], np.int8))], "bias", axis=0, block_size=64)
    b.output(b.op("Add", [mm, bias], "y_single_block_bias"))
    w = b.op("DequantizeLinear", [b.const("wq_conv", b.ints(-128, 127, 4, 27)),
                                  b.const("wq_conv_scale", b.uniform(0.005, 0.02, 4, 1)),
                                  b.const("wq_conv_zp", b.ints(-8, 8, 4, 1))], "w_conv_flat", axis=1, block_size=27)
    wr = b.op("Reshape", [w, b.const("w_conv_shape", np.array([4, 3, 3, 3], np.int64))], "w_conv")
    b.output(b.op("Conv", [img, wr], "y_conv_weight_chain", pads=[1, 1, 1, 1]))
    w = b.op("DequantizeLinear", [b.const("wq_axis", b.ints(0, 255, 7, 127, dtype=np.uint8)),
                                  b.const("wq_axis_scale", b.uniform(0.005, 0.02, 7)),
                                  b.const("wq_axis_zp", b.ints(100, 150, 7, dtype=np.uint8))], "w_axis", axis=0)
    b.output(b.op("Gemm", [x, w], "y_per_axis", transB=1))
    b.reference_transform = lambda m: fold_dequantize(m)[0]
    b.reference_note = ("reference: DequantizeLinear evaluated in numpy (scripts/onnxtools.py, "
                        "ONNX opset-21 semantics), the rest by ONNX Runtime")


@case("sface_like", 21, "A small MobileFaceNet-style recognizer in SFace's style: initializers also "
      "listed as graph inputs, an unused graph input without initializer (SFace has 29; a runtime "
      "must not demand them), Sub/Mul input normalization, Conv without bias + BatchNormalization + "
      "PRelu, depthwise stride-2 Conv, Dropout with a ratio from a Constant node, Flatten, Gemm "
      "transB, BatchNormalization on a 2-D tensor.", style="initializers-as-inputs")
def _sface_like(b: GraphBuilder):
    data = b.input("data", b.uniform(0, 255, 1, 3, 15, 15))
    b.extra_inputs.append(helper.make_tensor_value_info("conv_1_weight_unused", TensorProto.FLOAT, [8, 3, 3, 3]))
    x = b.op("Sub", [data, b.const("scalar_op1", np.array([127.5], F32))], "minus")
    x = b.op("Mul", [x, b.const("scalar_op2", np.array([0.0078125], F32))], "scaled")

    def conv_bn_prelu(x, cin, cout, prefix, k=3, stride=1, group=1, prelu=True):
        w = b.const(f"{prefix}_weight", b.randn(cout, cin // group, k, k, scale=0.3))
        y = b.op("Conv", [x, w], f"{prefix}_conv", kernel_shape=[k, k], strides=[stride, stride],
                 pads=[k // 2] * 4, group=group)
        y = b.op("BatchNormalization", [y, b.const(f"{prefix}_gamma", b.uniform(0.5, 1.5, cout)),
                                        b.const(f"{prefix}_beta", b.randn(cout, scale=0.1)),
                                        b.const(f"{prefix}_mean", b.randn(cout, scale=0.1)),
                                        b.const(f"{prefix}_var", b.uniform(0.5, 1.5, cout))],
                 f"{prefix}_bn", epsilon=1e-3)
        if prelu:
            y = b.op("PRelu", [y, b.const(f"{prefix}_slope", b.uniform(0.05, 0.3, cout, 1, 1))], f"{prefix}_prelu")
        return y

    x = conv_bn_prelu(x, 3, 8, "conv_1")
    x = conv_bn_prelu(x, 8, 8, "conv_2_dw", stride=2, group=8)
    x = conv_bn_prelu(x, 8, 16, "conv_3", k=1, prelu=False)
    ratio = b.constant_node("dropout_ratio", np.array(0.4, F32))
    x = b.op("Dropout", [x, ratio], "dropout")
    x = b.op("Flatten", [x], "flat")
    x = b.op("Gemm", [x, b.const("fc_weight", b.randn(12, 16 * 8 * 8, scale=0.05)),
                      b.const("fc_bias", b.randn(12))], "pre_fc1", transB=1)
    b.output(b.op("BatchNormalization", [x, b.const("fc1_gamma", b.uniform(0.5, 1.5, 12)),
                                         b.const("fc1_beta", b.randn(12, scale=0.1)),
                                         b.const("fc1_mean", b.randn(12, scale=0.1)),
                                         b.const("fc1_var", b.uniform(0.5, 1.5, 12))], "fc1", epsilon=2e-5))
    b.reference_transform = lambda m: drop_dangling_inputs(m)[0]
    b.reference_note = "reference: ONNX Runtime on a copy without the unused input `conv_1_weight_unused`"


@case("yunet_like", 17, "A small YuNet-style detector with weights as Constant nodes (PyTorch style): "
      "Conv stride 2 + Relu, depthwise Conv, MaxPool 2x2, FPN top-down path with Resize nearest "
      "(asymmetric, floor, scales from a Constant) + Add, heads with Conv 1x1, Transpose [0,2,3,1], "
      "Reshape [1,-1,k] and Sigmoid.", style="constant-nodes")
def _yunet_like(b: GraphBuilder):
    x = b.input("input", b.uniform(0, 255, 1, 3, 32, 32))

    def conv(x, cin, cout, name, k=3, stride=1, group=1, relu=True, scale=0.1):
        y = b.op("Conv", [x, b.const(f"{name}_w", b.randn(cout, cin // group, k, k, scale=scale)),
                          b.const(f"{name}_b", b.randn(cout, scale=0.1))], name,
                 kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=group,
                 dilations=[1, 1])
        return b.op("Relu", [y], f"{name}_relu") if relu else y

    x = conv(x, 3, 4, "stem", stride=2, scale=0.02)
    x = conv(x, 4, 4, "stem_dw", group=4)
    p1 = b.op("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0)
    x = conv(p1, 4, 8, "stage2", k=1)
    p2 = b.op("MaxPool", [x], "pool2", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0], ceil_mode=0)
    up = b.op("Resize", [p2, "", b.const("up_scales", np.array([1, 1, 2, 2], F32))], "upsample",
              mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor",
              cubic_coeff_a=-0.75)
    lat = conv(p1, 4, 8, "lateral", k=1, relu=False)
    fpn = b.op("Add", [lat, up], "fpn")

    def head(name, channels, sigmoid):
        y = conv(fpn, 8, channels, f"{name}_head", k=1, relu=False)
        y = b.op("Transpose", [y], f"{name}_nhwc", perm=[0, 2, 3, 1])
        out = f"{name}_8"
        y = b.op("Reshape", [y, b.const(f"{name}_shape", np.array([1, -1, channels], np.int64))],
                 f"{name}_flat" if sigmoid else out)
        if sigmoid:
            y = b.op("Sigmoid", [y], out)
        b.output(y)

    head("cls", 1, True)
    head("bbox", 4, False)
    head("kps", 10, False)


@case("multistyle_like", 17, "A small multistyle26-style stylizer: reflect padding whose pads come "
      "from PyTorch's exported subgraph (Constant, ConstantOfShape, Concat, Reshape [-1,2], Slice with "
      "step -1, Transpose, Reshape [-1], Cast), Conv without bias, conditional instance normalization "
      "written out (Unsqueeze, Mul, ReduceSum over styles, ReduceMean, Sub, Pow, Sqrt, Div, Add), "
      "Relu, Resize nearest x2, Sigmoid. Inputs image [1,3,h,w] in 0..1 and a 5-style weight vector.",
      style="constant-nodes")
def _multistyle_like(b: GraphBuilder):
    image = b.input("image", b.uniform(0, 1, 1, 3, 13, 11))
    styles = b.input("style_weights", np.array([0.1, 0.0, 0.6, 0.3, 0.0], F32))
    sw = b.op("Unsqueeze", [styles, b.const("unsq_axis", np.array([1], np.int64))], "style_col")
    reduce_axis = b.const("style_axis", np.array([0], np.int64))

    def reflect_pad(x, p, name):
        n_zero = b.const(f"{name}_four", np.array([4], np.int64))
        zeros = b.op("ConstantOfShape", [n_zero], f"{name}_zeros",
                     value=numpy_helper.from_array(np.array([0], np.int64), "value"))
        torch_pads = b.const(f"{name}_torch_pads", np.array([p, p, p, p], np.int64))
        cat = b.op("Concat", [torch_pads, zeros], f"{name}_cat", axis=0)
        pairs = b.op("Reshape", [cat, b.const(f"{name}_pairs_shape", np.array([-1, 2], np.int64))], f"{name}_pairs")
        rev = b.op("Slice", [pairs, b.const(f"{name}_rs_start", np.array([-1], np.int64)),
                             b.const(f"{name}_rs_end", np.array([INT64_MIN_PLUS_1], np.int64)),
                             b.const(f"{name}_rs_axis", np.array([0], np.int64)),
                             b.const(f"{name}_rs_step", np.array([-1], np.int64))], f"{name}_rev")
        tr = b.op("Transpose", [rev], f"{name}_tr", perm=[1, 0])
        flat = b.op("Reshape", [tr, b.const(f"{name}_flat_shape", np.array([-1], np.int64))], f"{name}_flat")
        pads = b.op("Cast", [flat], f"{name}_pads", to=TensorProto.INT64)
        return b.op("Pad", [x, pads], f"{name}_padded", mode="reflect")

    def cond_instance_norm(x, c, name, act):
        gamma = b.op("ReduceSum", [b.op("Mul", [sw, b.const(f"{name}_gamma", b.uniform(0.5, 1.5, 5, c))],
                                        f"{name}_gw"), reduce_axis], f"{name}_gsum", keepdims=0)
        gamma = b.op("Reshape", [gamma, b.const(f"{name}_cshape", np.array([1, -1, 1, 1], np.int64))], f"{name}_g")
        beta = b.op("ReduceSum", [b.op("Mul", [sw, b.const(f"{name}_beta", b.randn(5, c, scale=0.2))],
                                       f"{name}_bw"), reduce_axis], f"{name}_bsum", keepdims=0)
        beta = b.op("Reshape", [beta, b.const(f"{name}_cshape2", np.array([1, -1, 1, 1], np.int64))], f"{name}_b")
        mean = b.op("ReduceMean", [x], f"{name}_mean", axes=[2, 3], keepdims=1)
        centred = b.op("Sub", [x, mean], f"{name}_centred")
        sq = b.op("Pow", [centred, b.const(f"{name}_two", np.array(2.0, F32))], f"{name}_sq")
        var = b.op("ReduceMean", [sq], f"{name}_var", axes=[2, 3], keepdims=1)
        std = b.op("Sqrt", [b.op("Add", [var, b.const(f"{name}_eps", np.array(1e-5, F32))], f"{name}_vare")],
                   f"{name}_std")
        inv = b.op("Div", [b.const(f"{name}_one", np.array(1.0, F32)), std], f"{name}_inv")
        y = b.op("Mul", [b.op("Mul", [centred, inv], f"{name}_norm"), gamma], f"{name}_scaled")
        y = b.op("Add", [y, beta], f"{name}_shifted")
        return b.op(act, [y], f"{name}_{act.lower()}")

    x = reflect_pad(image, 2, "pad1")
    x = b.op("Conv", [x, b.const("conv1_w", b.randn(4, 3, 5, 5, scale=0.3))], "conv1", kernel_shape=[5, 5],
             pads=[0, 0, 0, 0], strides=[1, 1], dilations=[1, 1], group=1)
    x = cond_instance_norm(x, 4, "norm1", "Relu")
    x = b.op("Resize", [x, "", b.const("up_scales", np.array([1, 1, 2, 2], F32))], "up", mode="nearest",
             coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    x = reflect_pad(x, 1, "pad2")
    x = b.op("Conv", [x, b.const("conv2_w", b.randn(3, 4, 3, 3, scale=0.3))], "conv2", kernel_shape=[3, 3],
             pads=[0, 0, 0, 0], strides=[1, 1], dilations=[1, 1], group=1)
    y = cond_instance_norm(x, 3, "norm2", "Sigmoid")
    b.nodes[-1].output[0] = "stylized"
    b.output("stylized")


# --------------------------------------------------------------------------- running and writing

def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def write_bytes(path: str, data: bytes) -> bool:
    """Write `data` unless the file already holds exactly it. Returns True if written."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return True


def npy_bytes(array: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, np.array(array, order="C"), allow_pickle=False)  # keeps 0-d arrays 0-d
    return buf.getvalue()


def write_ref(path: str, array: np.ndarray) -> bool:
    """Write a reference, keeping an existing one that agrees (ULP-level differences
    between CPUs must not churn the fixtures)."""
    if os.path.exists(path):
        try:
            old = np.load(path, allow_pickle=False)
            if old.dtype == array.dtype and old.shape == array.shape:
                if array.dtype.kind == "f":
                    if np.allclose(old, array, rtol=1e-5, atol=1e-6, equal_nan=True):
                        return False
                elif np.array_equal(old, array):
                    return False
        except ValueError:
            pass
    return write_bytes(path, npy_bytes(array))


def expected_dtype(elem_type: int) -> np.dtype:
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def generate_case(c: Case) -> dict:
    b = builder_for(c)
    c.build(b)
    draft = b.model(c.opset)  # output shapes unknown until ONNX Runtime has run it
    ref_model = b.reference_transform(draft) if b.reference_transform else draft
    refs = run(ref_model, b.feeds)

    for name, elem in b.outputs:
        if refs[name].dtype != expected_dtype(elem):
            raise SystemExit(f"{c.name}: output {name} is {refs[name].dtype}, declared {expected_dtype(elem)}")
        if refs[name].dtype.kind == "f" and not np.all(np.isfinite(refs[name])):
            raise SystemExit(f"{c.name}: output {name} has non-finite values")

    model = b.model(c.opset, {n: refs[n].shape for n, _ in b.outputs})
    onnx.checker.check_model(model, full_check=True)

    # Does ONNX Runtime run the fixture itself (not only the reference copy)?
    ort_note = ""
    if b.reference_transform:
        try:
            direct = run(model, b.feeds)
            worst = max(float(np.max(np.abs(direct[n].astype(np.float64) - refs[n]))) if refs[n].size else 0.0
                        for n, _ in b.outputs)
            ort_note = f"ONNX Runtime {onnxruntime.__version__} on the fixture itself agrees (max abs diff {worst:.2g})"
        except Exception as e:  # noqa: BLE001 - report whatever ORT says
            msg = str(e).splitlines()[0]
            if " was false. " in msg:  # ORT_ENFORCE text: keep the human-readable part
                msg = msg.split(" was false. ")[-1]
            ort_note = f"ONNX Runtime {onnxruntime.__version__} on the fixture itself fails: {msg.strip()[:160]}"
    else:
        again = run(model, b.feeds)
        for n, _ in b.outputs:
            if not np.array_equal(again[n], refs[n]):
                raise SystemExit(f"{c.name}: output {n} changed after adding output shapes")

    d = os.path.join(GRAPHS, c.name)
    written = 0
    written += write_bytes(os.path.join(d, "model.onnx"), model.SerializeToString())
    for name, arr in b.feeds.items():
        written += write_bytes(os.path.join(d, "in", f"{name}.npy"), npy_bytes(arr))
    for name, _ in b.outputs:
        written += write_ref(os.path.join(d, "ref", f"{name}.npy"), refs[name])
    # Remove files of inputs/outputs that no longer exist.
    for sub, names in (("in", set(b.feeds)), ("ref", {n for n, _ in b.outputs})):
        for f in os.listdir(os.path.join(d, sub)):
            if f.endswith(".npy") and f[:-4] not in names:
                os.remove(os.path.join(d, sub, f))
                written += 1

    ops = collections.Counter(n.op_type for n in model.graph.node)
    return {
        "case": c, "ops": ops, "written": written,
        "inputs": [(n, a.shape, a.dtype) for n, a in b.feeds.items()],
        "outputs": [(n, refs[n].shape, refs[n].dtype) for n, _ in b.outputs],
        "notes": [x for x in (b.reference_note, ort_note) if x],
    }


def shape_str(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def write_readme(results: list[dict]) -> bool:
    lines = [
        "# Operator test graphs",
        "",
        "Small ONNX graphs with inputs and reference outputs, for testing unirt's ONNX import, shape",
        "inference and kernels op by op. Generated by `scripts/make-test-graphs.py`; do not edit by hand.",
        "",
        "Regenerate (deterministic: numpy RNG seeded by the case name; unchanged files are not rewritten):",
        "",
        "```sh",
        "scripts/venv.sh",
        ".venv/bin/python scripts/make-test-graphs.py",
        "```",
        "",
        "Layout of each case directory:",
        "",
        "- `model.onnx`: the graph; output shapes are declared.",
        "- `in/<input name>.npy`: one file per graph input that must be fed (initializers listed as",
        "  inputs have their defaults and are not fed).",
        "- `ref/<output name>.npy`: the expected output, float32 unless the op produces int64 or bool.",
        "",
        f"References come from ONNX Runtime {onnxruntime.__version__} (CPU execution provider, graph",
        f"optimizations off) with onnx {onnx.__version__} and numpy {np.__version__}, except where a case",
        "says otherwise. They are float32 results of float32 arithmetic: compare with a tolerance",
        "(about 1e-5 relative / 1e-5 absolute for most ops; Exp, Pow, Softmax, Resize linear and",
        "reductions over many elements accumulate in different orders and may need 1e-4).",
        "",
        "Exporter styles vary on purpose: `initializers` (the usual), `initializers-as-inputs` (every",
        "initializer also listed in graph.input, as old exporters and MXNet did; SFace does this) and",
        "`constant-nodes` (weights and parameters as Constant nodes, as PyTorch emits).",
        "",
        "| case | opset | style | ops |",
        "|---|---|---|---|",
    ]
    for r in results:
        c = r["case"]
        ops = ", ".join(f"{k}×{v}" if v > 1 else k for k, v in sorted(r["ops"].items()))
        lines.append(f"| [`{c.name}`](#{c.name}) | {c.opset} | {c.style} | {ops} |")
    lines.append("")
    for r in results:
        c = r["case"]
        lines += [f"## {c.name}", "", c.summary, ""]
        ins = ", ".join(f"`{n}` {shape_str(s)} {d}" for n, s, d in r["inputs"])
        outs = ", ".join(f"`{n}` {shape_str(s)} {d}" for n, s, d in r["outputs"])
        lines += [f"- opset {c.opset}, style {c.style}", f"- inputs: {ins}", f"- outputs: {outs}"]
        lines += [f"- {note}" for note in r["notes"]]
        lines.append("")
    return write_bytes(os.path.join(GRAPHS, "README.md"), "\n".join(lines).encode())


# --------------------------------------------------------------------------- bad fixtures

def make_bad_fixtures() -> int:
    """Malformed inputs and batch-override cases under Tests/Fixtures/bad/."""
    rng = np.random.default_rng(zlib.crc32(b"bad"))
    written = 0
    opsets = [helper.make_opsetid("", 17)]
    ir = helper.find_min_ir_version_for(opsets)

    def mk(nodes, inputs, outputs, inits, name):
        g = helper.make_graph(nodes, name, inputs, outputs, inits)
        return helper.make_model(g, opset_imports=opsets, ir_version=ir, producer_name="unirt-fixtures")

    # A valid model to truncate: a conv with a few KB of weights.
    w = rng.standard_normal((16, 8, 3, 3)).astype(F32)
    valid = mk([helper.make_node("Conv", ["x", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])],
               [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 6, 6])],
               [numpy_helper.from_array(w, "w")], "valid_conv")
    onnx.checker.check_model(valid, full_check=True)
    data = valid.SerializeToString()
    written += write_bytes(os.path.join(BAD, "truncated.onnx"), data[: len(data) // 2])

    text = ("This file is not an ONNX model: it is plain text, and a protobuf parser must reject it.\n"
            + "".join(chr(c) for c in rng.integers(0x61, 0x7b, 200)) + "\n")
    written += write_bytes(os.path.join(BAD, "not-protobuf.onnx"), text.encode())

    # LSTM: valid ONNX that unirt does not implement.
    hidden, inp, seq = 4, 3, 5
    lstm = mk([helper.make_node("LSTM", ["x", "w", "r", "b"], ["y", "y_h"], name="lstm", hidden_size=hidden)],
              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [seq, 1, inp])],
              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [seq, 1, 1, hidden]),
               helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [1, 1, hidden])],
              [numpy_helper.from_array(rng.standard_normal((1, 4 * hidden, inp)).astype(F32), "w"),
               numpy_helper.from_array(rng.standard_normal((1, 4 * hidden, hidden)).astype(F32), "r"),
               numpy_helper.from_array(rng.standard_normal((1, 8 * hidden)).astype(F32), "b")], "lstm")
    onnx.checker.check_model(lstm, full_check=True)
    written += write_bytes(os.path.join(BAD, "unsupported-op.onnx"), lstm.SerializeToString())

    # External data: the initializer's bytes live in external-data.bin next to the model.
    wext = rng.standard_normal((4, 4)).astype(F32)
    t = numpy_helper.from_array(wext, "w")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "external-data.bin"), ("offset", "0"), ("length", str(wext.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    ext = mk([helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
             [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [t], "external")
    written += write_bytes(os.path.join(BAD, "external-data.onnx"), ext.SerializeToString())
    written += write_bytes(os.path.join(BAD, "external-data.bin"), wext.tobytes())

    # npy files.
    good = npy_bytes(rng.standard_normal((1, 3, 4, 4)).astype(F32))
    header_end = good.index(b"\n") + 1  # magic (6) + version (2) + length (2) + dict + padding + \n
    header = good[10:header_end].decode("latin1").rstrip("\n")
    broken = header.replace("'descr'", "'dexcr'").replace("(1, 3, 4, 4)", "(1, 3, 4, 4")
    broken = broken.ljust(len(header)) + "\n"  # same length: only the dict is corrupt
    written += write_bytes(os.path.join(BAD, "bad-header.npy"),
                           good[:10] + broken.encode("latin1") + good[header_end:])
    written += write_bytes(os.path.join(BAD, "wrong-dtype.npy"),
                           npy_bytes(rng.standard_normal((1, 3, 4, 4)).astype(np.float64)))

    # Batch override: [1,3,4,4] -> Reshape to a hard-coded [3,16] mixes batch into a non-batch axis.
    mix_w = rng.standard_normal((16, 5)).astype(F32)
    mixing = mk([helper.make_node("Reshape", ["x", "shape"], ["flat"], name="reshape"),
                 helper.make_node("MatMul", ["flat", "w"], ["y"], name="matmul")],
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 5])],
                [numpy_helper.from_array(np.array([3, 16], np.int64), "shape"),
                 numpy_helper.from_array(mix_w, "w")], "batch_mixing")
    onnx.checker.check_model(mixing, full_check=True)
    written += write_bytes(os.path.join(BAD, "batch-mixing.onnx"), mixing.SerializeToString())
    x1 = rng.standard_normal((1, 3, 4, 4)).astype(F32)
    written += write_bytes(os.path.join(BAD, "batch-mixing-b1", "in", "x.npy"), npy_bytes(x1))
    written += write_ref(os.path.join(BAD, "batch-mixing-b1", "ref", "y.npy"), run(mixing, {"x": x1})["y"])

    # Batch override that works: Conv -> Reshape [1,-1] (batch written as 1, as exporters do) -> Gemm.
    conv_w = (rng.standard_normal((5, 3, 3, 3)) * 0.3).astype(F32)
    conv_b = rng.standard_normal(5).astype(F32)
    fc_w = (rng.standard_normal((7, 80)) * 0.1).astype(F32)
    fc_b = rng.standard_normal(7).astype(F32)

    def batch_ok(n: int) -> onnx.ModelProto:
        return mk([helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
                   helper.make_node("Reshape", ["conv", "shape"], ["flat"], name="reshape"),
                   helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], name="gemm", transB=1)],
                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, 3, 4, 4])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, 7])],
                  [numpy_helper.from_array(conv_w, "conv_w"), numpy_helper.from_array(conv_b, "conv_b"),
                   numpy_helper.from_array(np.array([n, -1], np.int64), "shape"),
                   numpy_helper.from_array(fc_w, "fc_w"), numpy_helper.from_array(fc_b, "fc_b")], "batch_ok")

    ok1, ok3 = batch_ok(1), batch_ok(3)
    onnx.checker.check_model(ok1, full_check=True)
    written += write_bytes(os.path.join(BAD, "batch-ok.onnx"), ok1.SerializeToString())
    for n, m in ((1, ok1), (3, ok3)):
        x = rng.standard_normal((n, 3, 4, 4)).astype(F32)
        written += write_bytes(os.path.join(BAD, f"batch-ok-b{n}", "in", "x.npy"), npy_bytes(x))
        written += write_ref(os.path.join(BAD, f"batch-ok-b{n}", "ref", "y.npy"), run(m, {"x": x})["y"])

    # Self-checks: the broken files really are broken.
    for f in ("truncated.onnx", "not-protobuf.onnx"):
        try:
            onnx.load(os.path.join(BAD, f))
        except Exception:  # noqa: BLE001
            continue
        raise SystemExit(f"{f} unexpectedly parses as ONNX")
    try:
        np.load(os.path.join(BAD, "bad-header.npy"), allow_pickle=False)
    except Exception:  # noqa: BLE001 - numpy raises ValueError or a tokenizer error
        pass
    else:
        raise SystemExit("bad-header.npy unexpectedly loads")

    readme = f"""# Malformed and edge-case inputs

Generated by `scripts/make-test-graphs.py` (with the operator graphs); do not edit by hand.
Inputs and references below come from ONNX Runtime {onnxruntime.__version__} (CPU).

| file | what it is | what unirt should do |
|---|---|---|
| `truncated.onnx` | the first half of the bytes of a valid model (a Conv with a 16x8x3x3 initializer) | reject it with a parse error |
| `not-protobuf.onnx` | plain ASCII text | reject it with a parse error |
| `unsupported-op.onnx` | a valid opset-17 model with one `LSTM` node | reject it naming the op `LSTM` |
| `external-data.onnx` | a valid MatMul model whose initializer `w` has `data_location = EXTERNAL` (location `external-data.bin`, offset 0, length 64; the file is next to it, so ONNX Runtime runs it) | load the data from `external-data.bin`, or reject the model with a clear "external data" error; never read the empty inline data |
| `bad-header.npy` | an .npy whose header dict is corrupt (misspelt `descr` key, unclosed shape tuple) | reject the input file |
| `wrong-dtype.npy` | a valid float64 .npy of shape [1,3,4,4] (fits `batch-ok.onnx` except for its dtype) | reject it: the model input is float32 |
| `batch-mixing.onnx` | input `x` [1,3,4,4] -> Reshape to the constant [3,16] -> MatMul -> `y` [3,5]; the Reshape moves the channel axis into dim 0, so a batch override cannot be honoured | run at batch 1 (`batch-mixing-b1/`), refuse `--batch N` for N > 1 with a clear error |
| `batch-ok.onnx` | input `x` [1,3,4,4] -> Conv -> Reshape to [1,-1] -> Gemm -> `y` [1,7], the usual exporter output: batch written as 1 in the Reshape target | with `--batch 3` produce `batch-ok-b3/ref/y.npy` from `batch-ok-b3/in/x.npy`; `batch-ok-b1/` is the plain run |

`batch-ok-b3/ref/y.npy` is ONNX Runtime's output for a copy of the model exported with batch 3
(input [3,3,4,4], Reshape target [3,-1]).
"""
    written += write_bytes(os.path.join(BAD, "README.md"), readme.encode())
    return written


# --------------------------------------------------------------------------- main

def dir_size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args()
    if args.list:
        for c in CASES:
            print(f"{c.name:24s} opset {c.opset:2d}  {c.style}")
        return 0

    os.makedirs(GRAPHS, exist_ok=True)
    names = {c.name for c in CASES}
    if len(names) != len(CASES):
        raise SystemExit("duplicate case names")
    for entry in os.listdir(GRAPHS):
        path = os.path.join(GRAPHS, entry)
        if os.path.isdir(path) and entry not in names:
            shutil.rmtree(path)
            print(f"removed stale case {entry}")

    results = []
    written = 0
    for c in CASES:
        r = generate_case(c)
        results.append(r)
        written += r["written"]
        print(f"{c.name:24s} opset {c.opset:2d} {len(r['outputs']):2d} outputs  "
              f"{', '.join(sorted(r['ops']))}")
        for note in r["notes"]:
            print(f"{'':24s} {note}")
    written += write_readme(results)
    written += make_bad_fixtures()
    ops = sorted({op for r in results for op in r["ops"]})
    size = dir_size(GRAPHS) + dir_size(BAD)
    print(f"{len(CASES)} cases, {len(ops)} ops, {size / 1024:.0f} KiB of fixtures, {written} files written")
    if size > 2_500_000:
        raise SystemExit("fixtures are larger than 2.5 MB; shrink some cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
