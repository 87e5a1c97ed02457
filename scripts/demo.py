#!/usr/bin/env python3
"""Face verification demo: YuNet finds faces, SFace compares them, and every
inference goes through the unirt CLI.

    UNIRT=${UNIRT:-.build/release/unirt}
    $UNIRT run MODEL.onnx --input NAME=FILE.npy --output-dir DIR [--batch N]

Steps: decode each photo (Pillow), letterbox it into 640x640 (BGR float32 0..255),
run YuNet, decode faces (strides 8/16/32, score sqrt(cls*obj) >= 0.6, NMS IoU 0.3),
keep the largest face, align it on the ArcFace 112x112 template (Umeyama similarity,
bilinear warp), run SFace once on all crops with --batch N, L2-normalize `fc1` and
print cosine similarities for a same-person and a different-person pair.

UNIRT may be a command line, e.g. UNIRT=".venv/bin/python scripts/ort-run.py".
With --daemon SOCKET the same pipeline runs through a running unirtd instead, via
the Python client (clients/python), using its `detector` and `recognizer` models.
Usage: .venv/bin/python scripts/demo.py [PHOTO ...]   (scripts/demo.sh sets things up)
       .venv/bin/python scripts/demo.py --daemon SOCKET [PHOTO ...]   (scripts/demo-daemon.sh)
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import facepipe as fp  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("UNIRT_CACHE") or os.path.join(ROOT, ".cache")
PAIRS = [("obama.jpg", "obama2.jpg"), ("obama.jpg", "biden.jpg")]


class Unirt:
    """Runs `$UNIRT run ...` and reads back the outputs."""

    def __init__(self, command: str, workdir: str):
        self.argv = shlex.split(command)
        self.workdir = workdir
        self.calls = 0

    def run(self, model: str, inputs: dict[str, np.ndarray], batch: int | None = None) -> dict[str, np.ndarray]:
        self.calls += 1
        call = os.path.join(self.workdir, f"call{self.calls}")
        out_dir = os.path.join(call, "out")
        os.makedirs(out_dir)
        argv = [*self.argv, "run", model]
        for name, arr in inputs.items():
            path = os.path.join(call, f"{name}.npy")
            np.save(path, arr, allow_pickle=False)
            argv += ["--input", f"{name}={path}"]
        argv += ["--output-dir", out_dir]
        if batch is not None:
            argv += ["--batch", str(batch)]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"unirt failed ({proc.returncode}): {' '.join(shlex.quote(a) for a in argv)}\n"
                             f"{proc.stderr.strip()}")
        return {f[:-4]: np.load(os.path.join(out_dir, f)) for f in os.listdir(out_dir) if f.endswith(".npy")}


class Daemon:
    """Runs the models on unirtd through the Python client; same interface as Unirt."""

    NAMES = {"yunet.onnx": "detector", "sface.onnx": "recognizer"}

    def __init__(self, socket_path: str, wait_seconds: float = 120):
        sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
        from unirt_client import Client, UnirtError
        end = time.monotonic() + wait_seconds
        while True:  # the daemon loads its models in the background
            try:
                self.client = Client(socket_path)
                if self.client.ready():
                    break
                self.client.close()
            except UnirtError:
                pass
            if time.monotonic() > end:
                raise SystemExit(f"unirtd at {socket_path} is not ready after {wait_seconds:.0f} s")
            time.sleep(0.05)

    def run(self, model: str, inputs: dict[str, np.ndarray], batch: int | None = None) -> dict[str, np.ndarray]:
        # Axis 0 is the batch axis on the wire: the daemon batches by itself.
        return self.client.infer(self.NAMES[os.path.basename(model)], inputs)


def main() -> int:
    ap = argparse.ArgumentParser(description="face verification demo over the unirt CLI")
    ap.add_argument("photos", nargs="*", help="photos (default: obama.jpg obama2.jpg biden.jpg from the cache)")
    ap.add_argument("--models", default=os.path.join(CACHE, "models"), help="folder with yunet.onnx and sface.onnx")
    ap.add_argument("--daemon", metavar="SOCKET", help="run the models on unirtd at SOCKET (Python client)")
    args = ap.parse_args()

    photos = args.photos or [os.path.join(CACHE, "photos", p) for p in ("obama.jpg", "obama2.jpg", "biden.jpg")]
    yunet = os.path.join(args.models, "yunet.onnx")
    sface = os.path.join(args.models, "sface.onnx")
    for p in [yunet, sface, *photos]:
        if not os.path.exists(p):
            raise SystemExit(f"missing {p} (run scripts/fetch-models.sh)")
    command = os.environ.get("UNIRT") or os.path.join(ROOT, ".build", "release", "unirt")
    print(f"unirtd: {args.daemon}" if args.daemon else f"unirt: {command}", flush=True)

    with tempfile.TemporaryDirectory(prefix="unirt-demo-") as tmp:
        unirt = Daemon(args.daemon) if args.daemon else Unirt(command, tmp)
        crops, names = [], []
        for path in photos:
            rgb = fp.load_rgb(path)
            x, lb = fp.letterbox(rgb)
            faces = fp.decode_yunet(unirt.run(yunet, {"input": x}), lb)
            name = os.path.basename(path)
            print(f"{name}: {rgb.shape[1]}x{rgb.shape[0]}, {len(faces)} face(s)")
            for f in faces:
                x0, y0, w, h = f.box
                print(f"  box x={x0:.0f} y={y0:.0f} w={w:.0f} h={h:.0f}  score {f.score:.3f}")
            face = fp.largest(faces)
            if face is not None:
                crops.append(fp.align_face(rgb, face))
                names.append(name)

        if not crops:
            print("no faces found")
            return 1
        out = unirt.run(sface, {"data": fp.sface_batch(crops)}, batch=len(crops))
        emb = fp.l2_normalize(out["fc1"])

    print(f"embeddings: SFace on {len(crops)} aligned crops in one batch -> fc1 {list(out['fc1'].shape)}")
    index = {n: i for i, n in enumerate(names)}
    pairs = [(a, b) for a, b in PAIRS if a in index and b in index]
    if not pairs:  # photos given on the command line: compare the first with the rest
        pairs = [(names[0], n) for n in names[1:]]
    for a, b in pairs:
        cos = float(emb[index[a]] @ emb[index[b]])
        verdict = "same person" if cos > fp.SAME_PERSON_COSINE else "different person"
        print(f"{a} vs {b}: cosine {cos:.3f} -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
