#!/usr/bin/env python3
"""Speed of unirt's INT8 plans against its FP32 plans and ONNX Runtime (FP32 and static INT8).

For SFace at batch 8 and YuNet at 640x640, builds (once, kept under --work):

- unirt FP32 plan: `unirt build MODEL --precision fp32`
- unirt INT8 plan: the same flags bench/quant-accuracy.py uses, so the plan timed is the
  one whose accuracy that script reports (MSE calibration on the same augmented
  calibration photos, mixed precision to the same --accuracy-target)
- ONNX Runtime FP32: the float copy of the model (models/float/*.onnx)
- ONNX Runtime static INT8: quantize_static on that float copy (QDQ, u8 activations,
  s8 per-channel weights, MinMax calibration on the same calibration inputs)

and times the four interleaved, A B C D A B C D ..., at the same thread count (default 2):
each round runs `unirt bench PLAN --iterations N` for the two plans and N timed
`session.run` calls for the two ONNX Runtime sessions, on the same real input. The
figure per engine is the median over rounds of each round's median. Ratios are speedups
(time of the other engine / time of the unirt INT8 plan).

Results (medians, ratios, every round, machine description, command) go to
bench/results/int8-speed-<date>.json and int8-speed-latest.md.

    .venv/bin/python bench/int8-speed.py [--threads 2] [--rounds 7] [--iterations 10] [--only sface,yunet] [--rebuild]
        [--isa avx2]   # unirt on its AVX2 kernels only (no AVX-512, no VNNI), as on the AVX2 machines of the bar

Run it under the shared CPU lock so that no build runs beside it.
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("quant_accuracy", ROOT / "bench" / "quant-accuracy.py")
qa = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qa)
fp = qa.fp

RESULTS = ROOT / "bench" / "results"


def unirt() -> str:
    return os.environ.get("UNIRT", qa.UNIRT)


def sh(args: list[str]) -> str:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stderr}")
    return r.stdout


def build(model: str, out: str, precision: str, extra: list[str], rebuild: bool) -> None:
    if os.path.exists(out) and not rebuild:
        return
    print(f"building {out}", flush=True)
    sh([unirt(), "build", model, "-o", out, "--precision", precision] + extra)


def ort_quantize(float_model: str, out: str, input_name: str, calib_files: list[str], rebuild: bool) -> None:
    if os.path.exists(out) and not rebuild:
        return
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({input_name: np.load(f)} for f in calib_files)

        def get_next(self):
            return next(self.it, None)

    pre = out + ".pre.onnx"
    try:
        quant_pre_process(float_model, pre, skip_symbolic_shape=True)
    except Exception:  # the pre-processing step is optional
        pre = float_model
    quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, per_channel=True, calibrate_method=CalibrationMethod.MinMax)


def prepare_sface(work: Path, rebuild: bool) -> dict:
    calib_dir = work / "sface_calib"
    x8 = work / "sface_b8.npy"
    if rebuild or not x8.exists():
        shutil.rmtree(calib_dir, ignore_errors=True)
        calib_dir.mkdir(parents=True)
        crops = qa.face_crops(qa.Detector())
        qa.save_calibration(crops["calib"], calib_dir)
        evx = fp.sface_batch(crops["eval"])
        xb = np.concatenate([evx, np.zeros((max(0, 8 - len(evx)), 3, 112, 112), np.float32)])[:8]
        np.save(x8, np.ascontiguousarray(xb))
    model = str(qa.CACHE / "models/sface.onnx")
    plans = {"fp32": str(work / "sface_fp32.plan"), "int8": str(work / "sface_int8.plan")}
    build(model, plans["fp32"], "fp32", ["--batch", "8"], rebuild)
    build(model, plans["int8"], "int8",
          ["--calib", str(calib_dir), "--calib-method", "mse", "--accuracy-target", "cosine=0.995",
           "--calib-cache", str(work / "sface.cache"), "--batch", "8"], rebuild)
    import onnx
    import onnxtools
    float_model = str(work / "sface_float_dyn.onnx")
    if rebuild or not os.path.exists(float_model):
        onnx.save(onnxtools.override_batch(onnx.load(str(qa.CACHE / "models/float/sface.onnx")), "N")[0], float_model)
    ort_int8 = str(work / "sface_ort_int8.onnx")
    ort_quantize(float_model, ort_int8, "data", sorted(glob.glob(str(calib_dir / "*.npy"))), rebuild)
    return {"plans": plans, "ort": {"fp32": float_model, "int8": ort_int8}, "input_name": "data", "input": str(x8),
            "label": "SFace b8"}


def prepare_yunet(work: Path, rebuild: bool) -> dict:
    calib_dir = work / "yunet_calib"
    x = work / "yunet_in.npy"
    if rebuild or not x.exists():
        shutil.rmtree(calib_dir, ignore_errors=True)
        calib_dir.mkdir(parents=True)
        cal, ev = qa.photos()
        i = 0
        for n in cal:
            rgb = fp.load_rgb(str(qa.PHOTOS / n)).astype(np.float32)
            for v in qa.augment(rgb):
                xi, _ = fp.letterbox(v.astype(np.uint8))
                np.save(calib_dir / f"{i:04d}.npy", xi)
                i += 1
        np.save(x, fp.letterbox(fp.load_rgb(str(qa.PHOTOS / ev[0])))[0])
    model = str(qa.CACHE / "models/yunet.onnx")
    plans = {"fp32": str(work / "yunet_fp32.plan"), "int8": str(work / "yunet_int8.plan")}
    build(model, plans["fp32"], "fp32", [], rebuild)
    build(model, plans["int8"], "int8",
          ["--calib", str(calib_dir), "--calib-method", "mse", "--accuracy-target", "sqnr=30",
           "--int8-min-reduction", "1"], rebuild)
    float_model = str(qa.CACHE / "models/float/yunet.onnx")
    ort_int8 = str(work / "yunet_ort_int8.onnx")
    ort_quantize(float_model, ort_int8, "input", sorted(glob.glob(str(calib_dir / "*.npy"))), rebuild)
    return {"plans": plans, "ort": {"fp32": float_model, "int8": ort_int8}, "input_name": "input", "input": str(x),
            "label": "YuNet 640"}


def unirt_round(plan: str, threads: int, iterations: int, input_name: str, input_path: str) -> float:
    out = sh([unirt(), "bench", plan, "--threads", str(threads), "--iterations", str(iterations), "--warmup", "2",
              "--json", "--input", f"{input_name}={input_path}"])
    return float(json.loads(out)["p50_ms"])


def ort_round(sess: ort.InferenceSession, feeds: dict, iterations: int) -> float:
    for _ in range(2):
        sess.run(None, feeds)
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def measure(m: dict, threads: int, rounds: int, iterations: int) -> dict:
    feeds = {m["input_name"]: np.load(m["input"])}
    sessions = {k: qa.ort_session(v, threads) for k, v in m["ort"].items()}
    order = [("unirt_fp32", lambda: unirt_round(m["plans"]["fp32"], threads, iterations, m["input_name"], m["input"])),
             ("unirt_int8", lambda: unirt_round(m["plans"]["int8"], threads, iterations, m["input_name"], m["input"])),
             ("ort_fp32", lambda: ort_round(sessions["fp32"], feeds, iterations)),
             ("ort_int8", lambda: ort_round(sessions["int8"], feeds, iterations))]
    per_round = {k: [] for k, _ in order}
    for r in range(rounds):
        for k, f in order:
            per_round[k].append(f())
        print(f"  {m['label']} round {r + 1}/{rounds}: " +
              ", ".join(f"{k} {v[-1]:.2f} ms" for k, v in per_round.items()), flush=True)
    med = {k: float(statistics.median(v)) for k, v in per_round.items()}
    int8 = med["unirt_int8"]
    ratios = {"int8_vs_unirt_fp32": med["unirt_fp32"] / int8, "int8_vs_ort_int8": med["ort_int8"] / int8,
              "int8_vs_ort_fp32": med["ort_fp32"] / int8, "unirt_fp32_vs_ort_fp32": med["ort_fp32"] / med["unirt_fp32"]}
    # Each round's four measurements ran back to back; on a shared machine whose speed drifts
    # between states, the median of the per-round ratios is the steadier comparison.
    rr = lambda a, b: float(statistics.median(x / y for x, y in zip(per_round[a], per_round[b])))
    round_ratios = {"int8_vs_unirt_fp32": rr("unirt_fp32", "unirt_int8"), "int8_vs_ort_int8": rr("ort_int8", "unirt_int8")}
    layers = {}
    try:
        info = json.loads(sh([unirt(), "inspect", m["plans"]["int8"], "--json"]))
        prec = info.get("plan", {}).get("layer_precision") or {}
        if isinstance(prec, dict):
            layers = {"int8": sum(1 for v in prec.values() if v == "int8"), "fp32": sum(1 for v in prec.values() if v != "int8")}
    except SystemExit:
        pass
    return {"median_ms": med, "ratios": ratios, "round_ratio_medians": round_ratios, "rounds_ms": per_round,
            "int8_layers": layers}


def markdown(res: dict) -> str:
    lines = [f"# INT8 speed ({res['date']} UTC)", "",
             f"Machine: {res['machine']['cpu']}, {res['machine']['cores']} cores, {res['machine']['system']}, "
             f"ONNX Runtime {res['machine']['onnxruntime']}; CPU features: {res['machine'].get('flags', '')}.", "",
             f"Command: `{res['command']}` — {res['threads']} threads, {res['rounds']} interleaved rounds of "
             f"{res['iterations']} iterations, median of round medians. unirt kernels: {res.get('unirt_isa', 'detected')}.", "",
             "| model | unirt FP32 ms | unirt INT8 ms | ORT FP32 ms | ORT INT8 ms | INT8 vs our FP32 | INT8 vs ORT INT8 | per-round medians (vs our FP32, vs ORT INT8) |",
             "|---|---|---|---|---|---|---|---|"]
    for key in ("sface", "yunet"):
        if key not in res:
            continue
        r = res[key]
        m = r["median_ms"]
        lines.append(f"| {r['label']} | {m['unirt_fp32']:.2f} | {m['unirt_int8']:.2f} | {m['ort_fp32']:.2f} | "
                     f"{m['ort_int8']:.2f} | {r['ratios']['int8_vs_unirt_fp32']:.2f}x | "
                     f"{r['ratios']['int8_vs_ort_int8']:.2f}x | "
                     + (f"{r['round_ratio_medians']['int8_vs_unirt_fp32']:.2f}x, {r['round_ratio_medians']['int8_vs_ort_int8']:.2f}x |"
                        if "round_ratio_medians" in r else "– |"))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--only", default="sface,yunet")
    ap.add_argument("--work", default=str(qa.CACHE / "int8-speed"), help="where plans and inputs are kept")
    ap.add_argument("--rebuild", action="store_true", help="rebuild plans and quantized models")
    ap.add_argument("--isa", choices=["avx2", "generic"],
                    help="build and run unirt on these kernels only (UNIRT_CPU_ISA), as on a CPU without AVX-512/VNNI; "
                         "plans kept apart, ONNX Runtime unchanged")
    a = ap.parse_args()
    if a.isa:
        os.environ["UNIRT_CPU_ISA"] = a.isa
        if a.work == str(qa.CACHE / "int8-speed"):
            a.work = str(qa.CACHE / f"int8-speed-{a.isa}")
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    mach = qa.machine()
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split(":", 1)[1].split()
        mach["flags"] = " ".join(f for f in flags if f.startswith(("avx", "fma", "f16c")))
    except (OSError, StopIteration):
        pass
    res = {"machine": mach, "threads": a.threads, "rounds": a.rounds, "iterations": a.iterations,
           "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "command": " ".join([".venv/bin/python"] + sys.argv),
           "unirt": unirt(), "unirt_isa": a.isa or "detected"}
    only = a.only.split(",")
    models = {}
    if "sface" in only:
        models["sface"] = prepare_sface(work, a.rebuild)
    if "yunet" in only:
        models["yunet"] = prepare_yunet(work, a.rebuild)
    for k, m in models.items():
        r = measure(m, a.threads, a.rounds, a.iterations)
        r["label"] = m["label"]
        res[k] = r
        print(json.dumps({k: {"median_ms": r["median_ms"], "ratios": r["ratios"]}}, indent=1), flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    name = f"int8-speed-{a.isa}" if a.isa else "int8-speed"
    (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(res, indent=1) + "\n")
    (RESULTS / f"{name}-latest.md").write_text(markdown(res))
    print(markdown(res))
    print(f"wrote {RESULTS}/{name}-{stamp}.json and {name}-latest.md")


if __name__ == "__main__":
    main()
