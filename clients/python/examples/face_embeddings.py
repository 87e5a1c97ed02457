#!/usr/bin/env python3
"""Face embeddings through unirtd: detect faces with the daemon's `detector`
(YuNet), align the largest face of each photo, embed all crops with one
`recognizer` (SFace) request — inline or through shared memory — and print the
cosine similarity of every pair.

    .venv/bin/python clients/python/examples/face_embeddings.py --socket /run/unirt/unirtd.sock \\
        .cache/photos/obama.jpg .cache/photos/obama2.jpg .cache/photos/biden.jpg [--shm]

Needs numpy and Pillow besides the client; the image steps come from scripts/facepipe.py.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

import facepipe as fp  # noqa: E402
from unirt_client import DEFAULT_SOCKET, Client  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("photos", nargs="+")
    ap.add_argument("--socket", default=DEFAULT_SOCKET)
    ap.add_argument("--shm", action="store_true", help="send the crops and receive embeddings through shared memory")
    args = ap.parse_args()

    with Client(args.socket) as c:
        crops, names = [], []
        # Detection requests are pipelined: all photos are in flight at once.
        pending = []
        for path in args.photos:
            rgb = fp.load_rgb(path)
            x, lb = fp.letterbox(rgb)
            pending.append((path, rgb, lb, c.infer_async("detector", {"input": x})))
        for path, rgb, lb, call in pending:
            face = fp.largest(fp.decode_yunet(call.result(), lb))
            if face is None:
                print(f"{os.path.basename(path)}: no face")
                continue
            crops.append(fp.align_face(rgb, face))
            names.append(os.path.basename(path))
        if not crops:
            return 1
        batch = fp.sface_batch(crops)
        if args.shm:
            region = c.register_region(2 * batch.nbytes + (1 << 20))
            try:
                emb = c.infer_shared("recognizer", {"data": batch}, region)["fc1"]
            finally:
                c.unregister_region(region)
        else:
            emb = c.infer("recognizer", {"data": batch})["fc1"]
    emb = fp.l2_normalize(emb)
    print(f"{len(names)} embeddings of {emb.shape[1]} values")
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            cos = float(emb[i] @ emb[j])
            verdict = "same person" if cos > fp.SAME_PERSON_COSINE else "different person"
            print(f"{names[i]} vs {names[j]}: cosine {cos:.3f} -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
