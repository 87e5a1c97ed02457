#!/usr/bin/env python3
"""Reference inputs and ONNX Runtime outputs for the real models, on real photos.

Needs the models and photos from scripts/fetch-models.sh. Writes (under
$UNIRT_CACHE, default <repo>/.cache):

    models/float/yunet.onnx, models/float/sface.onnx
        float copies: every DequantizeLinear fed by initializers replaced by a float32
        initializer computed in numpy (ONNX opset-21 semantics incl. block_size), graph
        inputs without initializer that feed no node dropped; all else unchanged.
        ONNX Runtime 1.32 rejects YuNet's blocked DequantizeLinear (1-D biases with a
        one-element scale and block_size > 0 read as "per-tensor") and insists on SFace's
        29 unused weight inputs being fed, so references run on these copies.
    refs/yunet/        in/input.npy [1,3,640,640] (obama.jpg letterboxed, BGR 0..255),
                       ref/{cls,obj,bbox,kps}_{8,16,32}.npy
    refs/sface/        in/data.npy [1,3,112,112] (aligned face from obama.jpg, RGB 0..255),
                       ref/fc1.npy [1,128]
    refs/sface_b4/     in/data.npy [4,3,112,112] (four people), ref/fc1.npy [4,128]:
                       ONNX Runtime on the float copy with batch 4 (for batch-override tests)
    refs/multistyle26/ in/image.npy [1,3,256,256] (RGB 0..1), in/style_weights.npy [26]
                       (one-hot, style 3), ref/stylized.npy
    refs/<name>/meta.json  sources, hashes, versions

Skips work whose inputs (model and photo hashes, this script's version) are unchanged.
Usage: .venv/bin/python scripts/make-model-refs.py [--force]
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facepipe as fp  # noqa: E402
from onnxtools import (batch_one_reshapes, drop_dangling_inputs, fold_dequantize,  # noqa: E402
                       ort_session, override_batch, runnable_by_ort)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("UNIRT_CACHE") or os.path.join(ROOT, ".cache")
MODELS = os.path.join(CACHE, "models")
PHOTOS = os.path.join(CACHE, "photos")
REFS = os.path.join(CACHE, "refs")
VERSION = 1  # bump when the way references are made changes

SFACE_PHOTO = "obama.jpg"
SFACE_B4_PHOTOS = ["obama.jpg", "biden.jpg", "person_a_1.jpg", "person_b_1.jpg"]
FACE_PHOTOS = ["obama.jpg", "obama2.jpg", "biden.jpg", "person_a_1.jpg", "person_a_2.jpg", "person_b_1.jpg"]
YUNET_PHOTO = "obama.jpg"
STYLE_PHOTO = "person_b_2.jpg"
STYLE_INDEX = 3


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_npy(path: str, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path + ".tmp.npy", np.array(array, order="C"), allow_pickle=False)
    os.replace(path + ".tmp.npy", path)


def run(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort_session(model)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def describe(model: onnx.ModelProto) -> str:
    g = model.graph
    inits = {t.name for t in g.initializer}

    def dims(vi):
        return "[" + ",".join(d.dim_param or str(d.dim_value) for d in vi.type.tensor_type.shape.dim) + "]"

    ins = [f"{i.name} {dims(i)}" for i in g.input if i.name not in inits]
    outs = [f"{o.name} {dims(o)}" for o in g.output]
    ops = collections.Counter(n.op_type for n in g.node)
    return (f"    opset {model.opset_import[0].version}, ir {model.ir_version}, producer "
            f"'{model.producer_name}'\n    inputs: {', '.join(ins[:4])}"
            f"{f' (+{len(ins) - 4} more)' if len(ins) > 4 else ''}\n    outputs: {', '.join(outs)}\n"
            f"    ops: {', '.join(f'{k} {v}' for k, v in ops.most_common())}")


def float_copy(name: str) -> tuple[onnx.ModelProto, dict]:
    """The float copy of models/<name>.onnx, rebuilt when the source changed."""
    src = os.path.join(MODELS, f"{name}.onnx")
    dst = os.path.join(MODELS, "float", f"{name}.onnx")
    stamp = dst + ".json"
    src_hash = sha256(src)
    if os.path.exists(dst) and os.path.exists(stamp):
        with open(stamp) as f:
            info = json.load(f)
        if info.get("source_sha256") == src_hash and info.get("version") == VERSION:
            return onnx.load(dst), info
    model = onnx.load(src)
    fmodel, summary = runnable_by_ort(model)
    onnx.checker.check_model(fmodel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    onnx.save(fmodel, dst + ".tmp")
    os.replace(dst + ".tmp", dst)
    info = {"version": VERSION, "source": f"models/{name}.onnx", "source_sha256": src_hash,
            "sha256": sha256(dst), **summary}
    with open(stamp, "w") as f:
        json.dump(info, f, indent=2)
    print(f"  wrote models/float/{name}.onnx ({summary['folded_dequantize']} DequantizeLinear folded, "
          f"{len(summary['dropped_inputs'])} unused inputs dropped)")
    return fmodel, info


def up_to_date(name: str, key: dict) -> bool:
    meta = os.path.join(REFS, name, "meta.json")
    if not os.path.exists(meta):
        return False
    with open(meta) as f:
        old = json.load(f)
    if old.get("key") != key:
        return False
    return all(os.path.exists(os.path.join(REFS, name, p)) for p in old.get("files", []))


def write_refs(name: str, key: dict, inputs: dict, outputs: dict, extra: dict) -> None:
    d = os.path.join(REFS, name)
    files = []
    for sub, arrays in (("in", inputs), ("ref", outputs)):
        for k, v in arrays.items():
            save_npy(os.path.join(d, sub, f"{k}.npy"), v)
            files.append(f"{sub}/{k}.npy")
    meta = {"key": key, "files": files, "onnxruntime": onnxruntime.__version__,
            "inputs": {k: list(v.shape) for k, v in inputs.items()},
            "outputs": {k: list(v.shape) for k, v in outputs.items()}, **extra}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)


def detect(yunet: onnx.ModelProto, photo: str) -> tuple[np.ndarray, fp.Face]:
    rgb = fp.load_rgb(os.path.join(PHOTOS, photo))
    x, lb = fp.letterbox(rgb)
    faces = fp.decode_yunet(run(yunet, {"input": x}), lb)
    face = fp.largest(faces)
    if face is None:
        raise SystemExit(f"no face found in {photo}")
    return rgb, face


def main() -> int:
    ap = argparse.ArgumentParser(description="reference outputs of the real models")
    ap.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = ap.parse_args()

    needed = [os.path.join(MODELS, f"{m}.onnx") for m in ("yunet", "sface", "multistyle26")]
    needed += [os.path.join(PHOTOS, p) for p in {SFACE_PHOTO, YUNET_PHOTO, STYLE_PHOTO, *SFACE_B4_PHOTOS, *FACE_PHOTOS}]
    missing = [p for p in needed if not os.path.exists(p)]
    if missing:
        raise SystemExit(f"missing {missing[0]}: run scripts/fetch-models.sh first")

    hashes = {os.path.relpath(p, CACHE): sha256(p) for p in needed}
    print("float copies:")
    yunet, yinfo = float_copy("yunet")
    sface, sinfo = float_copy("sface")
    print(f"  yunet: {yinfo['folded_dequantize']} DequantizeLinear folded; "
          f"sface: {sinfo['folded_dequantize']} folded, {len(sinfo['dropped_inputs'])} unused inputs dropped")

    summary = []

    # YuNet
    key = {"version": VERSION, "model": hashes["models/yunet.onnx"], "photo": hashes[f"photos/{YUNET_PHOTO}"]}
    if args.force or not up_to_date("yunet", key):
        rgb = fp.load_rgb(os.path.join(PHOTOS, YUNET_PHOTO))
        x, lb = fp.letterbox(rgb)
        out = run(yunet, {"input": x})
        faces = fp.decode_yunet(out, lb)
        write_refs("yunet", key, {"input": x}, out,
                   {"photo": YUNET_PHOTO, "letterbox_scale": lb.scale, "model": "models/float/yunet.onnx",
                    "faces": [{"box": f.box.round(2).tolist(), "score": round(f.score, 4)} for f in faces]})
        summary.append(f"yunet: {YUNET_PHOTO} -> {len(faces)} face(s), best score "
                       f"{faces[0].score:.3f}" if faces else f"yunet: {YUNET_PHOTO} -> no face")
    else:
        summary.append("yunet: up to date")

    # SFace, batch 1 and batch 4
    key = {"version": VERSION, "model": hashes["models/sface.onnx"], "detector": hashes["models/yunet.onnx"],
           "photos": [hashes[f"photos/{p}"] for p in SFACE_B4_PHOTOS]}
    if args.force or not up_to_date("sface", key) or not up_to_date("sface_b4", key):
        crops = {}
        for p in dict.fromkeys([SFACE_PHOTO, *SFACE_B4_PHOTOS]):
            rgb, face = detect(yunet, p)
            crops[p] = fp.align_face(rgb, face)
        x1 = fp.sface_batch([crops[SFACE_PHOTO]])
        out1 = run(sface, {"data": x1})
        write_refs("sface", key, {"data": x1}, out1,
                   {"photo": SFACE_PHOTO, "model": "models/float/sface.onnx",
                    "crop": "largest YuNet face, Umeyama-aligned onto the ArcFace template, bilinear"})

        reshapes = batch_one_reshapes(sface)
        sface4, _ = override_batch(sface, 4)
        x4 = fp.sface_batch([crops[p] for p in SFACE_B4_PHOTOS])
        out4 = run(sface4, {"data": x4})
        single = np.concatenate([run(sface, {"data": x4[i:i + 1]})["fc1"] for i in range(4)])
        batch_diff = float(np.abs(single - out4["fc1"]).max())
        emb = fp.l2_normalize(out4["fc1"])
        cos = emb @ emb.T
        write_refs("sface_b4", key, {"data": x4}, out4,
                   {"photos": SFACE_B4_PHOTOS, "model": "models/float/sface.onnx with batch 4",
                    "batch_one_reshapes": reshapes, "max_abs_diff_vs_batch1_runs": batch_diff,
                    "cosine": np.round(cos, 4).tolist()})

        # Cross-check the numpy dequantization against ONNX Runtime's own kernel, which
        # accepts SFace's blocked layout once the unused inputs are dropped.
        native, _ = drop_dangling_inputs(onnx.load(os.path.join(MODELS, "sface.onnx")))
        native_out = run(native, {"data": x1})["fc1"]
        dq_diff = float(np.abs(native_out - out1["fc1"]).max())
        summary.append(f"sface: {SFACE_PHOTO} -> fc1 {list(out1['fc1'].shape)}; numpy vs ORT "
                       f"DequantizeLinear max abs diff {dq_diff:.3g}")
        summary.append(f"sface_b4: {', '.join(SFACE_B4_PHOTOS)} -> fc1 {list(out4['fc1'].shape)}; "
                       f"Reshapes hard-coding batch 1: {reshapes or 'none'}; batch 4 vs 4 x batch 1 "
                       f"max abs diff {batch_diff:.3g}; cosine obama/biden {cos[0, 1]:.3f}, "
                       f"obama/person_a {cos[0, 2]:.3f}")
    else:
        summary.append("sface, sface_b4: up to date")

    # Face photos with their five landmarks (IMAGE.landmarks) and the aligned crops
    # (IMAGE.crop.npy, [112,112,3] RGB float32): the reference for image decoding and
    # fit=align preprocessing, and a calibration folder of images.
    key = {"version": VERSION, "detector": hashes["models/yunet.onnx"],
           "photos": [hashes[f"photos/{p}"] for p in FACE_PHOTOS]}
    if args.force or not up_to_date("faces", key):
        d = os.path.join(REFS, "faces")
        os.makedirs(d, exist_ok=True)
        files = []
        for p in FACE_PHOTOS:
            rgb, face = detect(yunet, p)
            shutil.copyfile(os.path.join(PHOTOS, p), os.path.join(d, p))
            with open(os.path.join(d, p + ".landmarks"), "w") as f:
                f.write(" ".join(f"{v:.4f}" for v in face.landmarks.reshape(-1)) + "\n")
            save_npy(os.path.join(d, p + ".crop.npy"), fp.align_face(rgb, face).astype(np.float32))
            files += [p, p + ".landmarks", p + ".crop.npy"]
        with open(os.path.join(d, "meta.json"), "w") as f:
            json.dump({"key": key, "files": files,
                       "landmarks": "x y of right eye, left eye, nose, right and left mouth corner (YuNet)"}, f, indent=2)
        summary.append(f"faces: {len(FACE_PHOTOS)} photos with landmarks and aligned crops")
    else:
        summary.append("faces: up to date")

    # multistyle26
    key = {"version": VERSION, "model": hashes["models/multistyle26.onnx"], "photo": hashes[f"photos/{STYLE_PHOTO}"]}
    if args.force or not up_to_date("multistyle26", key):
        model = onnx.load(os.path.join(MODELS, "multistyle26.onnx"))
        rgb = fp.resize_rgb(fp.load_rgb(os.path.join(PHOTOS, STYLE_PHOTO)), 256, 256)
        image = np.ascontiguousarray((rgb.astype(np.float32) / 255.0).transpose(2, 0, 1)[None])
        weights = np.zeros(26, np.float32)
        weights[STYLE_INDEX] = 1.0
        out = run(model, {"image": image, "style_weights": weights})
        write_refs("multistyle26", key, {"image": image, "style_weights": weights}, out,
                   {"photo": STYLE_PHOTO, "style": STYLE_INDEX, "model": "models/multistyle26.onnx"})
        s = out["stylized"]
        summary.append(f"multistyle26: {STYLE_PHOTO} 256x256, style {STYLE_INDEX} -> stylized "
                       f"{list(s.shape)} range {s.min():.3f}..{s.max():.3f}")
    else:
        summary.append("multistyle26: up to date")

    print("models:")
    for name in ("yunet", "sface", "multistyle26"):
        print(f"  {name}:")
        print(describe(onnx.load(os.path.join(MODELS, f"{name}.onnx"))))
    print("references in", REFS)
    for line in summary:
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
