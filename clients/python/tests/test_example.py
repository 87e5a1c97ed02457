"""The example script against the real face models (skipped when they are not fetched)."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, Daemon, model_table

MODELS = os.path.join(os.environ.get("UNIRT_CACHE") or os.path.join(ROOT, ".cache"), "models")
PHOTOS = os.path.join(os.environ.get("UNIRT_CACHE") or os.path.join(ROOT, ".cache"), "photos")


@pytest.mark.parametrize("shm", [False, True])
def test_face_embeddings_example(shm):
    photos = [os.path.join(PHOTOS, p) for p in ("obama.jpg", "obama2.jpg", "biden.jpg")]
    needed = [os.path.join(MODELS, "yunet.onnx"), os.path.join(MODELS, "sface.onnx"), *photos]
    if not all(os.path.exists(p) for p in needed):
        pytest.skip("real models or photos not fetched (scripts/fetch-models.sh)")
    d = Daemon(model_table("detector", needed[0], max_batch=4) + model_table("recognizer", needed[1], max_batch=16))
    try:
        example = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "face_embeddings.py")
        p = subprocess.run([sys.executable, example, "--socket", d.socket, *photos] + (["--shm"] if shm else []),
                           capture_output=True, text=True, timeout=300)
    finally:
        assert d.stop() == 0
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "3 embeddings of 128 values"
    assert lines[1].startswith("obama.jpg vs obama2.jpg: cosine") and lines[1].endswith("-> same person")
    assert lines[2].startswith("obama.jpg vs biden.jpg: cosine") and lines[2].endswith("-> different person")
