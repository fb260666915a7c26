"""The `ray` executor: every run is a Ray actor, placed by Ray's scheduler anywhere in a cluster.

The web process never imports Ray. It starts one *bridge* process (app/runs/ray_bridge.py,
spawned like a local worker) that is the cluster's driver and owns every actor; the two talk
over one duplex pipe, with the run's id on every message:

    web → bridge   Open(job) · Command(control) · Ask(query) · Kill
    bridge → web   Connected / ConnectFailed · Capacity · Placed · Batch(worker messages)
                   · Replied · Closed (the actor is gone; its last message was delivered)

Why a separate driver: a Ray driver terminates its own process when the cluster's head (GCS)
stays unreachable (measured with Ray 2.60: "Failed to connect to GCS within 5 seconds … The
program will terminate"), and the server must keep serving predictions when the cluster goes
away. When the bridge dies, its runs fail with a reason that names the address, and the next
run starts a new bridge (which reconnects, or fails fast with the address in its error).
Because the bridge owns the actors, they die with it: a killed server leaves no actor behind
(the bridge exits when its parent changes, and Ray ends the actors of a driver that exits).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from app.nn.protocol import Control, Query, Reply
from app.runs.executor import (
    Ended,
    ExecutorName,
    ExecutorUnavailable,
    Job,
    Placement,
    WorkerDied,
    WorkerGone,
    WorkerMessage,
)
from app.runs.ray_messages import (
    Ask,
    Batch,
    Capacity,
    Closed,
    Command,
    Connected,
    ConnectFailed,
    FromBridge,
    Kill,
    Open,
    Placed,
    Replied,
    ToBridge,
)
from app.runs.replies import Replies

log = logging.getLogger(__name__)

CONNECT_SECONDS = 30.0  # how long a new bridge may take to join the cluster
BRIDGE_EXIT_SECONDS = 5.0


# ---- one run, seen from the web process -------------------------------------------------------


class RayHandle:
    def __init__(self, bridge: _Bridge, job: Job, on_message: Callable[[WorkerMessage], None]):
        self.run_id = job.run_id
        self._bridge = bridge
        self._on_message = on_message
        self._replies = Replies("actor")
        self._placement: Placement | None = None
        self._ended = False
        self._done = threading.Event()

    # RunHandle

    def send(self, command: Control) -> None:
        if not self._done.is_set():
            self._bridge.send(Command(self.run_id, command))

    def request(self, query: Query, timeout: float) -> Reply:
        if self._done.is_set():
            raise WorkerGone(self._replies.gone_message)

        def send(request_id: int) -> bool:
            return self._bridge.send(Ask(self.run_id, request_id, query, timeout))

        # The bridge gives up after `timeout` and says so: wait a moment longer for that.
        return self._replies.ask(send, timeout, grace=1.0)

    def alive(self) -> bool:
        return not self._done.is_set()

    def kill(self) -> None:
        if not self._done.is_set():
            self._bridge.send(Kill(self.run_id))

    def join(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def placement(self) -> Placement | None:
        return self._placement

    # from the bridge's reader thread

    def placed(self, placement: Placement) -> None:
        self._placement = placement

    def deliver(self, messages: list[WorkerMessage]) -> None:
        for message in messages:
            self._ended = self._ended or isinstance(message, Ended)
            try:
                self._on_message(message)
            except Exception:  # a bug in a handler must not stop the stream of this run
                log.exception("handling %s failed", type(message).__name__)

    def replied(self, message: Replied) -> None:
        self._replies.answer(message.request_id, message.reply, message.error)

    def closed(self, reason: str | None) -> None:
        if self._done.is_set():
            return
        self._replies.close()
        if not self._ended:
            self.deliver([WorkerDied(reason or "the run's Ray actor ended without a word")])
        self._done.set()


# ---- the bridge process, seen from the web process --------------------------------------------


class _Bridge:
    """One bridge process and the reader thread that routes its messages to the runs."""

    def __init__(self, address: str | None) -> None:
        from app.runs.ray_bridge import bridge_main

        context = multiprocessing.get_context("spawn")
        self._conn, child_end = context.Pipe(duplex=True)
        self._process: BaseProcess = context.Process(
            target=bridge_main, args=(child_end, address, os.getpid()), name="nnp-ray-bridge",
            daemon=True,
        )  # fmt: skip
        self._process.start()
        child_end.close()
        self.address = address or "auto"
        self.cpus = 0
        self.failure: str | None = None  # why it could not connect, or why it went away
        self.ready = threading.Event()  # Connected or ConnectFailed arrived (or it died)
        self.handles: dict[str, RayHandle] = {}
        self._lock = threading.Lock()
        self._closing = False
        self._reader = threading.Thread(target=self._read, name="ray-bridge-reader", daemon=True)
        self._reader.start()

    @property
    def connected(self) -> bool:
        return self.ready.is_set() and self.failure is None and self._process.is_alive()

    def send(self, message: ToBridge) -> bool:
        with self._lock:
            try:
                self._conn.send(message)
                return True
            except (OSError, ValueError):
                return False

    def open(self, job: Job, on_message: Callable[[WorkerMessage], None]) -> RayHandle:
        handle = RayHandle(self, job, on_message)
        self.handles[job.run_id] = handle
        if not self.send(Open(job)):
            self.handles.pop(job.run_id, None)
            raise ExecutorUnavailable(f"lost the Ray cluster at {self.address}")
        return handle

    def close(self) -> None:
        self._closing = True  # the reader's recv may now fail in any way: that is the end
        with self._lock:
            self._conn.close()
        self._process.join(BRIDGE_EXIT_SECONDS)
        if self._process.is_alive():
            self._process.kill()

    def _read(self) -> None:
        try:
            while True:
                self._route(self._conn.recv())
        except (EOFError, OSError):
            pass
        except Exception:
            if not self._closing:  # (closing: the pipe was closed under a recv in progress)
                log.exception("unreadable message from the Ray bridge")
                self._process.kill()
        self._process.join(BRIDGE_EXIT_SECONDS)
        if self.failure is None:
            self.failure = (
                f"lost the Ray cluster at {self.address}: its driver process ended "
                f"(exit code {self._process.exitcode})"
            )
        self.ready.set()
        for handle in list(self.handles.values()):
            handle.closed(self.failure)

    def _route(self, message: FromBridge) -> None:
        if isinstance(message, Connected | Capacity):
            self.cpus = message.cpus
            self.ready.set()
            return
        if isinstance(message, ConnectFailed):
            self.failure = message.reason
            self.ready.set()
            return
        handle = self.handles.get(message.run_id)
        if handle is None:
            return
        if isinstance(message, Batch):
            handle.deliver(message.messages)
        elif isinstance(message, Placed):
            handle.placed(message.placement)
        elif isinstance(message, Replied):
            handle.replied(message)
        elif isinstance(message, Closed):
            # Forget it before its run hears of the end: a run that hears it may be resumed at
            # once, under the same id, and that new handle must not be the one forgotten.
            del self.handles[message.run_id]
            handle.closed(message.reason)


class RayExecutor:
    """Runs as actors on the Ray cluster at `address` (HOST:PORT; None: this machine's)."""

    name: ExecutorName = "ray"

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._lock = threading.Lock()
        self._bridge: _Bridge | None = None
        self._closed = False
        self._bridge_now()  # connect in the background while the server starts

    def _bridge_now(self) -> _Bridge:
        """The current bridge; a new one when the last one failed and has no runs left."""
        with self._lock:
            if self._closed:
                raise ExecutorUnavailable("the server is shutting down")
            bridge = self._bridge
            stale = bridge is not None and bridge.ready.is_set() and not bridge.connected
            if bridge is None or stale:
                if bridge is not None and stale:
                    bridge.close()
                bridge = self._bridge = _Bridge(self.address)
            return bridge

    def _connected_bridge(self) -> _Bridge:
        bridge = self._bridge_now()
        if not bridge.ready.wait(CONNECT_SECONDS):
            bridge.failure = (
                f"the Ray cluster at {bridge.address} did not answer within {CONNECT_SECONDS:.0f} s"
            )
            bridge.close()
        if not bridge.connected:
            raise ExecutorUnavailable(bridge.failure or f"no Ray cluster at {bridge.address}")
        return bridge

    def capacity(self) -> int:
        """The cluster's CPUs as last reported; never waits (the manager asks under its lock).
        Before the first connection, or without one: 1, so the next start says why it can't."""
        bridge = self._bridge
        return max(1, bridge.cpus) if bridge is not None else 1

    def check(self) -> None:
        self._connected_bridge()

    def start(self, job: Job, on_message: Callable[[WorkerMessage], None]) -> RayHandle:
        """Never waits (the manager starts jobs under its lock): `check()` connects first."""
        bridge = self._bridge
        if bridge is None or not bridge.connected:
            reason = bridge.failure if bridge is not None else None
            raise ExecutorUnavailable(
                reason or f"not connected to the Ray cluster at {self.address or 'auto'}"
            )
        return bridge.open(job, on_message)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            bridge, self._bridge = self._bridge, None
        if bridge is not None:
            bridge.close()
