"""A connection to unirtd over its Unix socket.

Requests are pipelined on one connection and answers are matched by id, so any
number of threads may share a `Client`, and one thread may keep many requests
in flight with the `*_async` methods.

Receiving has no thread of its own: whichever caller is waiting takes the
reader role, reads frames and hands answers to the other waiters; when its own
answer arrives it gives the role up. A single-threaded caller therefore pays no
thread handoff per request; it also polls the socket briefly (`spin_us`) before
sleeping, because waking a sleeping thread costs more than a short round trip.

Thread ownership: `_send_lock` serialises writes to the socket. `_cv` guards
`_reading`, `_pending`, `_responses` and `_failure`; only the thread that set
`_reading` touches the socket's receiving side and `_decoder`.
"""

from __future__ import annotations

import itertools
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np

from . import unirt_pb2 as pb
from .framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, FrameError, encode_frame
from .shm import Region
from .tensors import from_tensor, to_tensor

#: Where unirtd listens unless configured otherwise.
DEFAULT_SOCKET = "/run/unirt/unirtd.sock"


class UnirtError(Exception):
    """A non-OK answer, or the connection failing (UNAVAILABLE).

    `code` is the numeric status (gRPC numbering), `code_name` its name
    (e.g. "RESOURCE_EXHAUSTED") and `message` the daemon's one-line reason.
    """

    def __init__(self, code: int, message: str):
        self.code = code
        try:
            self.code_name = pb.Code.Name(code)
        except ValueError:
            self.code_name = f"CODE_{code}"
        self.message = message
        super().__init__(f"{self.code_name}: {message}")


@dataclass
class Stats:
    """The Stats RPC: Prometheus text and per-model totals by name."""
    metrics: str
    models: dict[str, pb.ModelStats]


class PendingCall:
    """A request in flight. `result()` waits for its answer (helping to read the
    socket while it waits) and converts it; `response()` returns it raw."""

    __slots__ = ("id", "_client", "_convert", "_response")

    def __init__(self, client: Client, request_id: int, convert: Callable[[pb.Response], object]):
        self.id = request_id
        self._client = client
        self._convert = convert
        self._response: pb.Response | None = None

    def response(self, timeout: float | None = None) -> pb.Response:
        """The answer whatever its status; TimeoutError after `timeout` seconds."""
        if self._response is None:
            self._response = self._client._wait(self.id, timeout)
        return self._response

    def result(self, timeout: float | None = None):
        """The converted answer; raises UnirtError when its status is not OK."""
        r = self.response(timeout)
        if r.status.code != pb.OK:
            raise UnirtError(r.status.code, r.status.message)
        return self._convert(r)


def _model_info(r: pb.Response) -> pb.ModelInfo:
    return r.models[0] if r.models else pb.ModelInfo()


def _outputs(r: pb.Response) -> dict[str, np.ndarray]:
    out = {}
    for t in r.outputs:
        if t.HasField("shm"):
            raise UnirtError(pb.INTERNAL, f"output '{t.name}' came back in shared memory unasked")
        out[t.name] = from_tensor(t)
    return out


class Client:
    """A connection to unirtd. Use as a context manager or call `close()`.

    Errors: UnirtError for non-OK answers (its code says which); UnirtError with
    UNAVAILABLE when the daemon is unreachable or the connection drops.
    """

    def __init__(self, socket_path: str = DEFAULT_SOCKET, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
                 spin_us: int = 50):
        self.socket_path = socket_path
        #: How long a waiting caller polls the socket before sleeping (a sleeping
        #: thread's wake-up costs ~30 µs on small VMs).
        self.spin_seconds = spin_us / 1e6
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(socket_path)
        except OSError as e:
            self._sock.close()
            raise UnirtError(pb.UNAVAILABLE, f"cannot connect to unirtd at {socket_path}: {e.strerror or e}") from None
        self._fd = self._sock.fileno()
        self._ids = itertools.count(1)
        self._send_lock = threading.Lock()
        self._cv = threading.Condition(threading.Lock())
        self._reading = False
        self._pending: set[int] = set()
        self._responses: dict[int, pb.Response] = {}
        self._failure: UnirtError | None = None
        self._decoder = FrameDecoder(max_frame_size)
        self._buffer = bytearray(256 * 1024)
        self._closed = False

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection; calls still waiting fail with UNAVAILABLE."""
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        with self._cv:
            if self._failure is None:
                self._failure = UnirtError(pb.UNAVAILABLE, "client closed")
            reading = self._reading
            self._cv.notify_all()
        if not reading:
            self._sock.close()

    # ---- generic calls -------------------------------------------------

    def call_async(self, request: pb.Request, convert: Callable[[pb.Response], object] = lambda r: r,
                   fd: int | None = None) -> PendingCall:
        """Sends `request` (its id is assigned here) and returns at once.
        `fd` travels with the frame as SCM_RIGHTS (RegisterRegion)."""
        request.id = next(self._ids)
        self._send(request, fd)
        return PendingCall(self, request.id, convert)

    def call(self, request: pb.Request, timeout: float | None = None) -> pb.Response:
        """Sends `request` and returns its answer, whatever the status."""
        return self.call_async(request).response(timeout)

    def _checked(self, request: pb.Request, convert=lambda r: r, timeout: float | None = None):
        return self.call_async(request, convert).result(timeout)

    # ---- methods -------------------------------------------------------

    def infer_async(self, model: str, inputs: Mapping[str, np.ndarray], *, outputs: Iterable[str] = (),
                    version: int = 0, timeout_us: int = 0, metadata: Mapping[str, str] | None = None) -> PendingCall:
        """Starts an Infer; `result()` gives {output name: array} (read-only arrays).
        `timeout_us` is the daemon-side deadline counted from arrival (0: none)."""
        r = self._infer_request(model, version, outputs, timeout_us, metadata)
        for name, a in inputs.items():
            to_tensor(name, a, r.inputs.add())
        return self.call_async(r, _outputs)

    def infer(self, model: str, inputs: Mapping[str, np.ndarray], *, outputs: Iterable[str] = (),
              version: int = 0, timeout_us: int = 0, metadata: Mapping[str, str] | None = None,
              timeout: float | None = None) -> dict[str, np.ndarray]:
        """Runs `model` on `inputs` (axis 0 is the batch axis) and returns the
        requested outputs (all when none are named)."""
        return self.infer_async(model, inputs, outputs=outputs, version=version, timeout_us=timeout_us,
                                metadata=metadata).result(timeout)

    def list_models(self) -> list[pb.ModelInfo]:
        """Every model the daemon knows, with state, config and signature."""
        return self._checked(pb.Request(method=pb.METHOD_LIST_MODELS), lambda r: list(r.models))

    def model_status(self, name: str) -> pb.ModelInfo:
        """One model's state, config and signature (NOT_FOUND if unknown)."""
        return self._checked(pb.Request(method=pb.METHOD_MODEL_STATUS, model=name), _model_info)

    def health(self) -> bool:
        """Whether the daemon's loop answers."""
        return self._checked(pb.Request(method=pb.METHOD_HEALTH), lambda r: r.live)

    def ready(self) -> bool:
        """Whether every configured model is loaded and the daemon is not draining."""
        return self.call(pb.Request(method=pb.METHOD_READY)).ready

    def stats(self) -> Stats:
        """Prometheus text and per-model totals."""
        return self._checked(pb.Request(method=pb.METHOD_STATS),
                             lambda r: Stats(r.metrics, {m.name: m for m in r.stats}))

    def load_model(self, name: str, path: str, *, max_batch_size: int = 0, max_queue_delay_us: int = 0,
                   max_queue_size: int = 0, preferred_batch_sizes: Iterable[int] = (), cpu_instances: int = 1,
                   gpu_instances: int = 0, precision: str = "fp32") -> pb.ModelInfo:
        """Loads (or replaces) a model; only root or the daemon's uid may (else PERMISSION_DENIED)."""
        cfg = pb.ModelConfig(path=path, max_batch_size=max_batch_size, max_queue_delay_us=max_queue_delay_us,
                             max_queue_size=max_queue_size, preferred_batch_sizes=list(preferred_batch_sizes),
                             cpu_instances=cpu_instances, gpu_instances=gpu_instances, precision=precision)
        return self._checked(pb.Request(method=pb.METHOD_LOAD_MODEL, model=name, config=cfg), _model_info)

    def unload_model(self, name: str) -> None:
        """Unloads a model once its queue is computed."""
        self._checked(pb.Request(method=pb.METHOD_UNLOAD_MODEL, model=name))

    # ---- shared memory -------------------------------------------------

    def register_region(self, size: int) -> Region:
        """Creates a memfd of `size` bytes, maps it and registers it with the daemon."""
        region = Region(next(self._ids), size)
        try:
            r = pb.Request(method=pb.METHOD_REGISTER_REGION, region=region.id, region_size=size)
            self.call_async(r, fd=region.fd).result()
        except BaseException:
            region.close()
            raise
        return region

    def unregister_region(self, region: Region) -> None:
        """Forgets `region` on the daemon's side and unmaps it here."""
        try:
            self._checked(pb.Request(method=pb.METHOD_UNREGISTER_REGION, region=region.id))
        finally:
            region.close()

    def infer_shared_async(self, model: str, inputs: Mapping[str, np.ndarray], region: Region, *,
                           outputs: Iterable[str] = (), offset: int = 0, length: int | None = None,
                           version: int = 0, timeout_us: int = 0) -> PendingCall:
        """Like `infer_async`, with the inputs copied into `region` from `offset`
        on and the outputs written by the daemon right after them (up to
        `offset + length`). Results are copies."""
        end = region.size if length is None else offset + length
        r = self._infer_request(model, version, outputs, timeout_us, None)
        at = offset
        for name, a in inputs.items():
            t = region.write(name, a, at, r.inputs.add())
            at += t.shm.length
        if at > end:
            raise ValueError(f"inputs need {at - offset} bytes but the range holds {end - offset}")
        r.output_region.region, r.output_region.offset, r.output_region.length = region.id, at, end - at
        return self.call_async(r, lambda resp: {t.name: region.read(t) for t in resp.outputs})

    def infer_shared(self, model: str, inputs: Mapping[str, np.ndarray], region: Region, **kw) -> dict[str, np.ndarray]:
        """Runs `model` with inputs and outputs in `region` (see `infer_shared_async`)."""
        timeout = kw.pop("timeout", None)
        return self.infer_shared_async(model, inputs, region, **kw).result(timeout)

    # ---- raw access (tests) --------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Writes bytes as they are (for exercising the daemon's frame checks)."""
        with self._send_lock:
            self._sock.sendall(data)

    def wait_connection_error(self, timeout: float | None = None) -> pb.Response:
        """Waits for the next answer with id 0: a connection-level error."""
        with self._cv:
            self._pending.add(0)
        return self._wait(0, timeout)

    # ---- plumbing ------------------------------------------------------

    @staticmethod
    def _infer_request(model, version, outputs, timeout_us, metadata) -> pb.Request:
        r = pb.Request(method=pb.METHOD_INFER, model=model, version=version, timeout_us=timeout_us)
        r.outputs.extend(outputs)
        if metadata:
            for k, v in metadata.items():
                r.metadata.add(key=k, value=v)
        return r

    def _send(self, request: pb.Request, fd: int | None) -> None:
        frame = encode_frame(request.SerializeToString())
        with self._cv:
            if self._failure is not None:
                raise self._failure
            self._pending.add(request.id)
        try:
            with self._send_lock:
                if fd is None:
                    self._sock.sendall(frame)
                else:
                    sent = socket.send_fds(self._sock, [frame], [fd])
                    if sent < len(frame):
                        self._sock.sendall(frame[sent:])
        except OSError as e:
            err = UnirtError(pb.UNAVAILABLE, f"connection to {self.socket_path} lost: {e.strerror or e}")
            with self._cv:
                self._pending.discard(request.id)
                if self._failure is None:
                    self._failure = err
                self._cv.notify_all()
            raise err from None

    def _wait(self, request_id: int, timeout: float | None) -> pb.Response:
        deadline = None if timeout is None else time.monotonic() + timeout
        cv = self._cv
        with cv:
            while True:
                r = self._responses.pop(request_id, None)
                if r is not None:
                    self._pending.discard(request_id)
                    return r
                if self._failure is not None:
                    self._pending.discard(request_id)
                    raise self._failure
                if not self._reading:
                    self._reading = True
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no answer to request {request_id} within {timeout} s")
                cv.wait(remaining)
        return self._read_until(request_id, deadline, timeout)

    def _read_until(self, request_id: int, deadline: float | None, timeout: float | None) -> pb.Response:
        """Reader role: reads frames until `request_id` is answered. Gives the role up on return."""
        cv, sock, buf = self._cv, self._sock, self._buffer
        view = memoryview(buf)
        spin_until = time.perf_counter() + self.spin_seconds
        try:
            while True:
                try:
                    n = sock.recv_into(buf, 0, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    if time.perf_counter() < spin_until:
                        continue
                    n = None
                except InterruptedError:
                    continue
                except OSError as e:
                    raise UnirtError(pb.UNAVAILABLE, f"connection to {self.socket_path} lost: {e.strerror or e}") from None
                if n is None:
                    if deadline is not None:
                        remaining = deadline - time.monotonic()
                        if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
                            raise TimeoutError(f"no answer to request {request_id} within {timeout} s")
                    try:
                        n = sock.recv_into(buf)
                    except InterruptedError:
                        continue
                    except OSError as e:
                        raise UnirtError(pb.UNAVAILABLE, f"connection to {self.socket_path} lost: {e.strerror or e}") from None
                if n == 0:
                    raise UnirtError(pb.UNAVAILABLE, self._closed_reason())
                try:
                    payloads = self._decoder.feed(view[:n])
                    responses = [pb.Response.FromString(p) for p in payloads]
                except (FrameError, Exception) as e:  # a broken answer stream cannot be resynchronised
                    raise UnirtError(pb.UNAVAILABLE, f"undecodable answer from unirtd: {e}") from None
                if not responses:
                    continue
                with cv:
                    mine = None
                    for r in responses:
                        if r.id == request_id:
                            mine = r
                        elif r.id in self._pending:
                            self._responses[r.id] = r
                        elif r.id == 0:
                            self._last_connection_error = r
                    if mine is not None:
                        self._pending.discard(request_id)
                        self._reading = False
                        cv.notify_all()
                        return mine
                    cv.notify_all()
        except BaseException as e:
            with cv:
                self._reading = False
                if isinstance(e, UnirtError) and self._failure is None:
                    self._failure = e
                self._pending.discard(request_id)
                cv.notify_all()
                closed = self._closed
            if closed:
                self._sock.close()
            if isinstance(e, UnirtError) and self._failure is not None and e is not self._failure:
                raise self._failure from None
            raise

    def _closed_reason(self) -> str:
        last = getattr(self, "_last_connection_error", None)
        if last is not None and last.status.code != pb.OK:
            return f"connection closed by unirtd after {pb.Code.Name(last.status.code)}: {last.status.message}"
        return "connection closed by unirtd"
