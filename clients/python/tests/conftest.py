"""Fixtures: the real unirtd binary on a temporary socket with a temporary
config serving the committed fixture graphs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
GRAPHS = os.path.join(ROOT, "Tests", "Fixtures", "graphs")

from unirt_client import Client  # noqa: E402


def unirtd_binary() -> str:
    return os.environ.get("UNIRTD") or os.path.join(ROOT, ".build", "release", "unirtd")


def npy_folder(path: str) -> dict[str, np.ndarray]:
    return {f[:-4]: np.load(os.path.join(path, f)) for f in sorted(os.listdir(path)) if f.endswith(".npy")}


def model_table(name: str, path: str, max_batch: int = 8, delay_us: int = 2000, queue: int = 256) -> str:
    return (f"[models.{name}]\npath = \"{path}\"\nmax_batch_size = {max_batch}\n"
            f"max_queue_delay_us = {delay_us}\nmax_queue_size = {queue}\ninstances = {{ cpu = 1, gpu = 0 }}\n\n")


class Daemon:
    """A running unirtd; `stop()` sends SIGTERM and returns the exit status."""

    def __init__(self, config: str):
        binary = unirtd_binary()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"{binary} not found: build it with `swift build -c release` (or set UNIRTD)")
        self.dir = tempfile.mkdtemp(prefix="unirt-pytest-")
        self.socket = os.path.join(self.dir, "unirtd.sock")
        self.config = os.path.join(self.dir, "unirtd.toml")
        with open(self.config, "w") as f:
            f.write(f"socket = \"{self.socket}\"\n" + config)
        # READY=1 on a notify socket says the models are loaded: no polling needed.
        notify_path = os.path.join(self.dir, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(60)
        self.log = open(os.path.join(self.dir, "unirtd.log"), "w+")
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        self.proc = subprocess.Popen([binary, "--config", self.config], env=env, stderr=self.log)
        try:
            while not notify.recv(4096).startswith(b"READY=1"):
                pass
        except socket.timeout:
            self.proc.kill()
            raise RuntimeError(f"unirtd did not become ready:\n{self.log_text()}")
        finally:
            notify.close()

    def log_text(self) -> str:
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def client(self) -> Client:
        return Client(self.socket)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=60)


@pytest.fixture(scope="session")
def daemon():
    d = Daemon(model_table("conv", os.path.join(GRAPHS, "conv", "model.onnx"), delay_us=5000)
               + model_table("face", os.path.join(GRAPHS, "sface_like", "model.onnx"), delay_us=5000)
               + model_table("slow", os.path.join(GRAPHS, "conv", "model.onnx"), max_batch=64, delay_us=400_000))
    yield d
    assert d.stop() == 0, d.log_text()


@pytest.fixture
def client(daemon):
    with daemon.client() as c:
        yield c


@pytest.fixture(scope="session")
def conv_io():
    d = os.path.join(GRAPHS, "conv")
    return npy_folder(os.path.join(d, "in")), npy_folder(os.path.join(d, "ref"))


@pytest.fixture(scope="session")
def face_io():
    d = os.path.join(GRAPHS, "sface_like")
    return npy_folder(os.path.join(d, "in")), npy_folder(os.path.join(d, "ref"))
