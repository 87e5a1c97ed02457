#!/usr/bin/env python3
"""Stand-in for `unirt run` built on ONNX Runtime, for debugging and for checking
the demo pipeline against a second implementation.

    ort-run.py run MODEL.onnx --input NAME=FILE.npy [--input ...] --output-dir DIR [--batch N]

Writes DIR/<output name>.npy for every graph output. Before running, the model is
made runnable by ONNX Runtime 1.32 in memory: DequantizeLinear nodes fed by
initializers are folded to float32 in numpy (ONNX Runtime rejects YuNet's blocked
layout), graph inputs that feed no node are dropped (SFace lists 29), and with
--batch N dim 0 of the inputs and outputs becomes N (Reshapes whose constant target
hard-codes batch 1 are rewritten to keep dim 0).

Use it in place of the real CLI:  UNIRT=".venv/bin/python scripts/ort-run.py" scripts/demo.sh
Exit status: 0 on success, 2 on bad input (unknown input name, unreadable file, wrong
dtype or shape), 1 on any other failure.
"""

from __future__ import annotations

import argparse
import os
import sys

try:
    import numpy as np
    import onnx
except ImportError:
    # Started with a python that lacks the packages (e.g. UNIRT="python scripts/ort-run.py"):
    # re-run under the project's virtual environment.
    _venv = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv")
    _python = os.path.join(_venv, "bin", "python")
    if os.path.exists(_python) and os.path.realpath(sys.prefix) != os.path.realpath(_venv):
        os.execv(_python, [_python, os.path.abspath(__file__), *sys.argv[1:]])
    raise

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnxtools import ort_session, override_batch, runnable_by_ort, runtime_inputs  # noqa: E402


class BadInput(Exception):
    pass


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="ort-run.py", description="run an ONNX model with ONNX Runtime")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run MODEL on .npy inputs, write one .npy per output")
    r.add_argument("model")
    r.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy")
    r.add_argument("--output-dir", required=True)
    r.add_argument("--batch", type=int)
    return ap.parse_args(argv)


def load_inputs(specs: list[str], model: onnx.ModelProto) -> dict[str, np.ndarray]:
    wanted = {i.name: i for i in runtime_inputs(model)}
    feeds = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise BadInput(f"--input expects NAME=FILE.npy, got '{spec}'")
        if name not in wanted:
            raise BadInput(f"model has no input '{name}' (inputs: {', '.join(wanted)})")
        try:
            arr = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - any unreadable file is the caller's problem
            raise BadInput(f"cannot read {path}: {e}") from e
        elem = wanted[name].type.tensor_type.elem_type
        want = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem))
        if arr.dtype != want:
            raise BadInput(f"input '{name}' must be {want}, {path} holds {arr.dtype}")
        dims = wanted[name].type.tensor_type.shape.dim
        if len(dims) != arr.ndim or any(d.dim_value and d.dim_value != s for d, s in zip(dims, arr.shape)):
            shape = [d.dim_param or d.dim_value for d in dims]
            raise BadInput(f"input '{name}' must have shape {shape}, {path} has {list(arr.shape)}")
        feeds[name] = arr
    missing = [n for n in wanted if n not in feeds]
    if missing:
        raise BadInput(f"missing --input for {', '.join(missing)}")
    return feeds


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        try:
            model = onnx.load(args.model)
        except Exception as e:  # noqa: BLE001
            raise BadInput(f"cannot load model {args.model}: {e}") from e
        model, _ = runnable_by_ort(model)
        if args.batch is not None:
            if args.batch < 1:
                raise BadInput("--batch must be at least 1")
            model, _ = override_batch(model, args.batch)
        feeds = load_inputs(args.input, model)
        sess = ort_session(model)
        names = [o.name for o in sess.get_outputs()]
        outputs = sess.run(names, feeds)
        os.makedirs(args.output_dir, exist_ok=True)
        for name, value in zip(names, outputs):
            np.save(os.path.join(args.output_dir, f"{name}.npy"), np.array(value, order="C"), allow_pickle=False)
        return 0
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
