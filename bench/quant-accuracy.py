#!/usr/bin/env python3
"""Accuracy and speed of unirt's FP16 and INT8 plans against its FP32 plans, on real photos.

Splits the face photos in .cache/photos into a calibration half and an evaluation
half (by photo, so no evaluated face was seen in calibration), builds FP32, FP16 and
INT8 plans of the three real models with `unirt build`, and measures:

- SFace: cosine of each evaluation face's embedding to FP32 (mean, min), and whether
  every same/different decision (cosine >= 0.363) over all pairs is kept. Faces are
  found with YuNet (ONNX Runtime, float copy) and aligned to 112x112 with
  scripts/facepipe.py. Calibration crops are augmented: mirror, brightness x0.75 and
  x1.25, and a 1.5-pixel shift.
- YuNet (640x640 letterboxed photos): every face FP32 finds must be found by the
  quantized plan with IoU >= 0.9 and score within 0.05, and no extra faces.
- multistyle26 (256x256 RGB 0..1, several styles): PSNR of the stylized image vs FP32.
- ONNX Runtime's own static INT8 quantization of SFace (QDQ, u8 activations, s8
  weights, per channel, MinMax and Entropy calibration on the same crops) on the same
  evaluation faces, against ONNX Runtime FP32.
- Speed: `unirt bench` of each plan (SFace b8, YuNet 640, 2 threads) and ONNX Runtime
  FP32/INT8 on SFace b8, one after the other (a rough figure; bench/int8-speed.py
  times the same plans interleaved against ONNX Runtime FP32 and static INT8).

Results go to bench/results/quant-accuracy.json and quant-accuracy.md with the machine.

    .venv/bin/python bench/quant-accuracy.py [--threads 2] [--skip-speed] [--only sface,yunet,multistyle26]
"""
from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

ort.set_default_logger_severity(3)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import facepipe as fp  # noqa: E402

CACHE = Path(os.environ.get("UNIRT_CACHE", ROOT / ".cache"))
UNIRT = os.environ.get("UNIRT", str(ROOT / ".build/release/unirt"))
PHOTOS = CACHE / "photos"
RESULTS = ROOT / "bench" / "results"

# Calibration photos; every other photo is evaluation only.
CALIB_PHOTOS = ["obama.jpg", "biden.jpg", "person_a_1.jpg", "person_b_1.jpg", "impostor_1.jpg",
                "obama_partial_face.jpg"]


def sh(args: list[str]) -> str:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{r.stderr}")
    return r.stdout


def photos() -> tuple[list[str], list[str]]:
    names = sorted(os.path.basename(p) for p in glob.glob(str(PHOTOS / "*"))
                   if p.lower().endswith((".jpg", ".jpeg", ".png")))
    return [n for n in names if n in CALIB_PHOTOS], [n for n in names if n not in CALIB_PHOTOS]


def augment(img: np.ndarray) -> list[np.ndarray]:
    """HxWx3 float 0..255 -> variants: as is, mirrored, darker, brighter, shifted."""
    shifted = np.roll(img, (1, 2), axis=(0, 1))
    return [img, img[:, ::-1], np.clip(img * 0.75, 0, 255), np.clip(img * 1.25, 0, 255), shifted]


class Detector:
    """YuNet float copy on ONNX Runtime, to find and align faces."""

    def __init__(self):
        self.sess = ort.InferenceSession(str(CACHE / "models/float/yunet.onnx"), providers=["CPUExecutionProvider"])

    def faces(self, rgb: np.ndarray) -> list[fp.Face]:
        x, lb = fp.letterbox(rgb)
        names = [o.name for o in self.sess.get_outputs()]
        outs = dict(zip(names, self.sess.run(None, {self.sess.get_inputs()[0].name: x})))
        return fp.decode_yunet(outs, lb)


def unirt_run(plan: str, inputs: dict[str, np.ndarray], tmp: str) -> dict[str, np.ndarray]:
    args = [UNIRT, "run", plan, "--output-dir", tmp + "/out"]
    for k, v in inputs.items():
        np.save(f"{tmp}/{k}.npy", np.ascontiguousarray(v))
        args += ["--input", f"{k}={tmp}/{k}.npy"]
    out = sh(args)
    res = {}
    for line in out.splitlines():
        name, _, path = line.partition(" ")[0], None, line.split("-> ")[-1]
        res[name] = np.load(path)
    return res


# Extra `unirt build` flags for every int8 plan (--refine-scales adds its flag here). The accuracy
# measured is that of every layer the accuracy target allows in int8: the build machine's speed
# check (on by default) could only move more layers to FP32, so it is off here and the numbers do
# not depend on which layers happened to be faster on this CPU.
INT8_FLAGS: list[str] = ["--no-int8-speed-check"]


def build(model: str, out: str, precision: str, extra: list[str]) -> tuple[str, float]:
    t = time.time()
    log = sh([UNIRT, "build", model, "-o", out, "--precision", precision] + extra
             + (INT8_FLAGS if precision == "int8" else []))
    return log, time.time() - t


def bench(plan: str, threads: int, inputs: dict[str, str] | None = None) -> float:
    args = [UNIRT, "bench", plan, "--threads", str(threads), "--iterations", "20", "--warmup", "3", "--json"]
    for k, v in (inputs or {}).items():
        args += ["--input", f"{k}={v}"]
    return json.loads(sh(args))


def ort_bench(sess: ort.InferenceSession, feeds: dict, n: int = 20) -> float:
    for _ in range(3):
        sess.run(None, feeds)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def ort_session(path: str, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = fp.l2_normalize(a), fp.l2_normalize(b)
    return (a * b).sum(-1)


# ---------------------------------------------------------------------------- SFace

def face_crops(det: Detector) -> dict[str, list[np.ndarray]]:
    """Aligned 112x112 face crops of the calibration and the evaluation photos."""
    cal, ev = photos()
    crops = {"calib": [], "eval": []}
    for split, names in (("calib", cal), ("eval", ev)):
        for n in names:
            rgb = fp.load_rgb(str(PHOTOS / n))
            crops[split] += [fp.align_face(rgb, f) for f in det.faces(rgb)]
    return crops


def save_calibration(crops: list[np.ndarray], folder) -> int:
    """Every augmented variant of each crop as folder/NNNN.npy (one SFace input each); returns the count."""
    i = 0
    for c in crops:
        for v in augment(c):
            np.save(f"{folder}/{i:04d}.npy", fp.sface_batch([v]))
            i += 1
    return i


def sface(det: Detector, tmp: str, threads: int, speed: bool) -> dict:
    crops = face_crops(det)
    calib_dir = f"{tmp}/sface_calib"
    os.makedirs(calib_dir)
    i = save_calibration(crops["calib"], calib_dir)
    evx = fp.sface_batch(crops["eval"])
    n_eval = len(evx)
    model = str(CACHE / "models/sface.onnx")
    plans, logs = {}, {}
    for prec, extra in (("fp32", []), ("fp16", []),
                        ("int8", ["--calib", calib_dir, "--calib-method", "mse", "--accuracy-target", "cosine=0.995",
                                  "--calib-cache", f"{tmp}/sface.cache", "--calib-stats", f"{tmp}/sface.stats.json"])):
        plans[prec] = f"{tmp}/sface_{prec}.plan"
        logs[prec], _ = build(model, plans[prec], prec, extra + ["--batch", "8"])
    # Evaluate in batches of 8 (last batch zero-padded).
    pad = (-n_eval) % 8
    xb = np.concatenate([evx, np.zeros((pad, 3, 112, 112), np.float32)])
    emb = {}
    for prec, plan in plans.items():
        outs = [unirt_run(plan, {"data": xb[j:j + 8]}, tmp)["fc1"] for j in range(0, len(xb), 8)]
        emb[prec] = np.concatenate(outs)[:n_eval]
    res = {"calibration_samples": i, "calibration_faces": len(crops["calib"]), "eval_faces": n_eval,
           "int8_build_log": logs["int8"]}

    def decisions(e):
        e = fp.l2_normalize(e)
        return [bool(e[a] @ e[b] >= fp.SAME_PERSON_COSINE) for a, b in itertools.combinations(range(len(e)), 2)]

    ref_dec = decisions(emb["fp32"])
    for prec in ("fp16", "int8"):
        c = cosine(emb[prec], emb["fp32"])
        res[prec] = {"cosine_mean": float(c.mean()), "cosine_min": float(c.min()),
                     "decisions_kept": int(sum(a == b for a, b in zip(decisions(emb[prec]), ref_dec))),
                     "pairs": len(ref_dec)}

    # ONNX Runtime static INT8 on the float copy, same calibration crops.
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # Symbolic batch so that the same files run at batch 1 and 8.
    import onnx
    import onnxtools
    float_model = f"{tmp}/sface_float_dyn.onnx"
    onnx.save(onnxtools.override_batch(onnx.load(str(CACHE / "models/float/sface.onnx")), "N")[0], float_model)
    calib_files = sorted(glob.glob(f"{calib_dir}/*.npy"))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter({"data": np.load(f)} for f in calib_files)

        def get_next(self):
            return next(self.it, None)

    pre = f"{tmp}/sface_pre.onnx"
    try:
        quant_pre_process(float_model, pre, skip_symbolic_shape=True)
    except Exception:  # the pre-processing step is optional
        pre = float_model
    fp_sess = ort_session(float_model, threads)
    ref = np.concatenate([fp_sess.run(None, {"data": evx[j:j + 1]})[0] for j in range(n_eval)])
    res["ort"] = {}
    for name, method in (("minmax", CalibrationMethod.MinMax), ("entropy", CalibrationMethod.Entropy)):
        q = f"{tmp}/sface_ort_{name}.onnx"
        quantize_static(pre, q, Reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True, calibrate_method=method)
        qs = ort_session(q, threads)
        out = np.concatenate([qs.run(None, {"data": evx[j:j + 1]})[0] for j in range(n_eval)])
        c = cosine(out, ref)
        res["ort"][name] = {"cosine_mean": float(c.mean()), "cosine_min": float(c.min())}
        if speed:
            feeds = {"data": np.ascontiguousarray(xb[:8])}
            res["ort"][name]["ms_b8"] = ort_bench(ort_session(q, threads), feeds)
    if speed:
        feeds = {"data": np.ascontiguousarray(xb[:8])}
        res["ort"]["fp32_ms_b8"] = ort_bench(ort_session(float_model, threads), feeds)
        np.save(f"{tmp}/sface_b8.npy", xb[:8])
        res["speed_ms_b8"] = {p: bench(plans[p], threads, {"data": f"{tmp}/sface_b8.npy"}) for p in plans}
    return res


# ---------------------------------------------------------------------------- YuNet

def yunet(tmp: str, threads: int, speed: bool) -> dict:
    cal, ev = photos()
    calib_dir = f"{tmp}/yunet_calib"
    os.makedirs(calib_dir)
    i = 0
    for n in cal:
        rgb = fp.load_rgb(str(PHOTOS / n)).astype(np.float32)
        for v in augment(rgb):
            x, _ = fp.letterbox(v.astype(np.uint8))
            np.save(f"{calib_dir}/{i:04d}.npy", x)
            i += 1
    model = str(CACHE / "models/yunet.onnx")
    plans, logs = {}, {}
    for prec, extra in (("fp32", []), ("fp16", []),
                        ("int8", ["--calib", calib_dir, "--calib-method", "mse", "--accuracy-target", "sqnr=30", "--int8-min-reduction", "1",
                                  "--calib-stats", f"{tmp}/yunet.stats.json"])):
        plans[prec] = f"{tmp}/yunet_{prec}.plan"
        logs[prec], _ = build(model, plans[prec], prec, extra)
    res = {"calibration_samples": i, "int8_build_log": logs["int8"], "photos": {}}
    for prec in ("fp16", "int8"):
        res[prec] = {"fp32_faces": 0, "matched": 0, "missing": 0, "extra": 0, "min_iou": 1.0, "max_score_delta": 0.0}
    for n in ev:
        rgb = fp.load_rgb(str(PHOTOS / n))
        x, lb = fp.letterbox(rgb)
        faces = {p: fp.decode_yunet(unirt_run(plans[p], {"input": x}, tmp), lb) for p in plans}
        ref = faces["fp32"]
        for prec in ("fp16", "int8"):
            r = res[prec]
            r["fp32_faces"] += len(ref)
            got = list(faces[prec])
            for f in ref:
                if not got:
                    r["missing"] += 1
                    continue
                ious = fp.iou(f.box, np.array([g.box for g in got]))
                j = int(np.argmax(ious))
                if ious[j] >= 0.9 and abs(got[j].score - f.score) <= 0.05:
                    r["matched"] += 1
                    r["min_iou"] = min(r["min_iou"], float(ious[j]))
                    r["max_score_delta"] = max(r["max_score_delta"], abs(got[j].score - f.score))
                    got.pop(j)
                else:
                    r["missing"] += 1
            r["extra"] += len(got)
    if speed:
        np.save(f"{tmp}/yunet_in.npy", fp.letterbox(fp.load_rgb(str(PHOTOS / ev[0])))[0])
        res["speed_ms"] = {p: bench(plans[p], threads, {"input": f"{tmp}/yunet_in.npy"}) for p in plans}
    return res


# ---------------------------------------------------------------------------- multistyle26

def multistyle(tmp: str, threads: int) -> dict:
    cal, ev = photos()
    calib_dir = f"{tmp}/ms_calib"
    os.makedirs(f"{calib_dir}/image")
    os.makedirs(f"{calib_dir}/style_weights")
    i = 0
    for k, n in enumerate(cal):
        rgb = fp.resize_rgb(fp.load_rgb(str(PHOTOS / n)), 256, 256).astype(np.float32)
        for v in augment(rgb)[:3]:
            for style in (k * 5 % 26, (k * 5 + 13) % 26):
                np.save(f"{calib_dir}/image/{i:04d}.npy", (v / 255).transpose(2, 0, 1)[None].astype(np.float32))
                w = np.zeros(26, np.float32)
                w[style] = 1
                np.save(f"{calib_dir}/style_weights/{i:04d}.npy", w)
                i += 1
    model = str(CACHE / "models/multistyle26.onnx")
    plans = {}
    logs = {}
    for prec, extra in (("fp32", []), ("fp16", []),
                        ("int8", ["--calib", calib_dir, "--calib-method", "mse", "--accuracy-target", "psnr=32",
                                  "--calib-stats", f"{tmp}/ms.stats.json"])):
        plans[prec] = f"{tmp}/ms_{prec}.plan"
        logs[prec], _ = build(model, plans[prec], prec, extra)
    res = {"calibration_samples": i, "int8_build_log": logs["int8"]}
    psnr = {"fp16": [], "int8": []}
    for k, n in enumerate(ev):
        x = (fp.resize_rgb(fp.load_rgb(str(PHOTOS / n)), 256, 256).astype(np.float32) / 255).transpose(2, 0, 1)[None]
        w = np.zeros(26, np.float32)
        w[(k * 7 + 3) % 26] = 1
        outs = {p: next(iter(unirt_run(plans[p], {"image": x, "style_weights": w}, tmp).values())) for p in plans}
        for prec in psnr:
            mse = float(np.mean((outs[prec].astype(np.float64) - outs["fp32"]) ** 2))
            psnr[prec].append(10 * np.log10(1 / max(mse, 1e-20)))
    for prec in psnr:
        res[prec] = {"psnr_mean": float(np.mean(psnr[prec])), "psnr_min": float(np.min(psnr[prec]))}
    return res


def machine() -> dict:
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(), "onnxruntime": ort.__version__}


def export_gpu(det: Detector, out: str) -> None:
    """Face crops for int8 GPU plans built on another machine: calibration samples
    (calib/sface/NNNN.npy) and the evaluation faces with their FP32 embeddings from
    ONNX Runtime (refs/sface-eval/in/data.npy, ref/fc1.npy), as `unirt gpu-check` reads them."""
    crops = face_crops(det)
    cdir, edir = f"{out}/calib/sface", f"{out}/refs/sface-eval"
    for d in (cdir, f"{edir}/in", f"{edir}/ref"):
        os.makedirs(d, exist_ok=True)
    i = save_calibration(crops["calib"], cdir)
    evx = fp.sface_batch(crops["eval"])
    sess = ort_session(str(CACHE / "models/float/sface.onnx"), 2)
    name = sess.get_inputs()[0].name
    emb = np.concatenate([sess.run(None, {name: evx[j:j + 1]})[0] for j in range(len(evx))])
    np.save(f"{edir}/in/data.npy", evx)
    np.save(f"{edir}/ref/fc1.npy", emb.astype(np.float32))
    print(f"exported {i} calibration samples and {len(evx)} evaluation faces to {out}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--export-gpu", metavar="DIR", help="only write calibration and evaluation crops for GPU int8 checks")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--only", default="sface,yunet,multistyle26")
    ap.add_argument("--isa", choices=["avx2", "generic"],
                    help="build and run unirt on these kernels only (UNIRT_CPU_ISA), as on a CPU without "
                         "AVX-512/VNNI (int8 plans then default to 7-bit weights); results saved as quant-accuracy-ISA*")
    ap.add_argument("--refine-scales", action="store_true",
                    help="build the int8 plans with --refine-scales; results saved as quant-accuracy[-ISA]-refined*")
    a = ap.parse_args()
    if a.refine_scales:
        INT8_FLAGS.append("--refine-scales")
    if a.isa:
        os.environ["UNIRT_CPU_ISA"] = a.isa
    if a.export_gpu:
        export_gpu(Detector(), a.export_gpu)
        return
    only = a.only.split(",")
    results = {"machine": machine(), "threads": a.threads, "date": time.strftime("%Y-%m-%d %H:%M"),
               "unirt_isa": a.isa or "detected", "int8_flags": INT8_FLAGS}
    with tempfile.TemporaryDirectory(prefix="quant-acc-") as tmp:
        if "sface" in only:
            results["sface"] = sface(Detector(), tmp, a.threads, not a.skip_speed)
            print(json.dumps({k: v for k, v in results["sface"].items() if k != "int8_build_log"}, indent=1))
        if "yunet" in only:
            results["yunet"] = yunet(tmp, a.threads, not a.skip_speed)
            print(json.dumps({k: v for k, v in results["yunet"].items() if k != "int8_build_log"}, indent=1))
        if "multistyle26" in only:
            results["multistyle26"] = multistyle(tmp, a.threads)
            print(json.dumps({k: v for k, v in results["multistyle26"].items() if k != "int8_build_log"}, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "quant-accuracy" + (f"-{a.isa}" if a.isa else "") + ("-refined" if a.refine_scales else "")
    if only != ["sface", "yunet", "multistyle26"]:
        name += "-" + "-".join(only)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS / name}.json")


if __name__ == "__main__":
    main()
