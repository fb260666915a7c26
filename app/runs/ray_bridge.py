"""The Ray side of the `ray` executor: the bridge process (the cluster's driver) and the actor.

Only this module imports Ray, and only inside the bridge process and the actors' workers (see
app/runs/ray_executor.py for the pipe protocol and why the driver is not the web process).

* `RunActor` trains one job in a thread of its Ray worker (app/runs/worker.py does the
  work, as in a local worker). Its methods run concurrently with training (a threaded actor):
  `drain` hands over the messages the trainer emitted since the last call, `obey` takes a
  command, `answer` replies to a query; weights travel back as the method's return value.
* The bridge gives every actor a pump thread that calls `drain` in a loop and forwards the
  messages; when the actor dies (its worker was killed, its node died), the pump reports why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from app.nn.protocol import Control, MetricsEvent, Query, Reply
from app.runs import ray_messages as msg
from app.runs.executor import Ended, Job, NotReady, Placement, WorkerMessage
from app.runs.worker import WorkerState, become_worker, train_job

if TYPE_CHECKING:
    from ray.actor import ActorHandle

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.02  # metrics wait at most this long in the actor before they travel
DRAIN_SECONDS = 1.0  # a drain call returns after this long even with nothing to say
CAPACITY_EVERY = 2.0  # seconds between looks at the cluster's CPUs
PROBE_SECONDS = 3.0  # the TCP check of the cluster's address
UNAVAILABLE_SECONDS = 60.0  # an actor that answers nothing this long has failed
RETRY_SECONDS = 0.5
ACTOR_CONCURRENCY = 4  # drain + commands + queries while the job trains
# How long the driver waits for a lost head (GCS) before Ray ends it (Ray's default is 60 s):
# then its runs fail, naming the address, and the next run tries to reconnect.
GCS_RECONNECT_SECONDS = "15"


# ---- the actor ---------------------------------------------------------------------------------


class Mailbox:
    """Messages from the trainer's thread, waiting for the next `drain`."""

    def __init__(self) -> None:
        self._items: list[WorkerMessage] = []
        self._first = 0.0  # when the oldest waiting message arrived
        self._changed = threading.Condition()

    def put(self, message: WorkerMessage) -> None:
        with self._changed:
            if not self._items:
                self._first = time.monotonic()
            self._items.append(message)
            self._changed.notify_all()

    def take(self, timeout: float) -> list[WorkerMessage]:
        """Everything waiting, once there is something urgent or the oldest metrics waited
        FLUSH_SECONDS (so a busy run travels in batches); [] after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                now = time.monotonic()
                if self._items:
                    urgent = not all(isinstance(m, MetricsEvent) for m in self._items)
                    due = self._first + FLUSH_SECONDS
                    if urgent or now >= due:
                        items, self._items = self._items, []
                        return items
                    wait = min(due, deadline) - now
                else:
                    wait = deadline - now
                if wait <= 0:
                    return []
                self._changed.wait(wait)


class RunActor:
    """One run on a Ray worker (wrapped with ray.remote by the bridge)."""

    def __init__(self, job: Job) -> None:
        become_worker()  # one CPU per actor (Ray's scheduler counts them), lower priority
        self._state = WorkerState()
        self._mailbox = Mailbox()
        self._trainer = threading.Thread(target=self._train, args=(job,), daemon=True)
        self._trainer.start()

    def _train(self, job: Job) -> None:
        self._mailbox.put(train_job(job, self._mailbox.put, self._state))

    def placement(self) -> Placement:
        import ray

        context = ray.get_runtime_context()
        node_id = context.get_node_id()
        return Placement("ray", os.getpid(), node_id, ray.util.get_node_ip_address())

    def drain(self, timeout: float) -> list[WorkerMessage]:
        return self._mailbox.take(timeout)

    def obey(self, command: Control) -> None:
        self._state.obey(command)

    def answer(self, query: Query) -> tuple[Reply | None, str | None]:
        try:
            return self._state.answer(query), None
        except NotReady as exc:
            return None, str(exc)


# ---- the bridge process ------------------------------------------------------------------------


class _Out:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, message: msg.FromBridge) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._conn.send(message)


def probe(address: str | None) -> str | None:
    """Why the cluster's address cannot be reached over TCP (None: it can, or it is `auto`)."""
    if address is None or address == "auto":
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        return f"the Ray address {address!r} is not HOST:PORT"
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except OSError as exc:
        return f"the Ray cluster at {address} is unreachable: {exc.strerror or exc}"
    return None


def _cluster_cpus() -> int:
    import ray

    return int(ray.cluster_resources().get("CPU", 0))


class Bridge:
    def __init__(self, out: _Out, address: str) -> None:
        import ray

        self._ray = ray
        self._out = out
        self.address = address
        self._actor_class = ray.remote(RunActor)
        self._actors: dict[str, ActorHandle] = {}
        self._lock = threading.Lock()

    def handle(self, message: msg.ToBridge) -> None:
        if isinstance(message, msg.Open):
            actor = self._actor_class.options(
                num_cpus=1, max_concurrency=ACTOR_CONCURRENCY, max_restarts=0
            ).remote(message.job)
            with self._lock:
                self._actors[message.job.run_id] = actor
            threading.Thread(
                target=self._pump, args=(message.job.run_id, actor), daemon=True,
                name=f"pump-{message.job.run_id}",
            ).start()  # fmt: skip
            return
        with self._lock:
            actor = self._actors.get(message.run_id)
        if actor is None:
            return
        if isinstance(message, msg.Command):
            actor.obey.remote(message.command)
        elif isinstance(message, msg.Ask):
            threading.Thread(target=self._ask, args=(actor, message), daemon=True).start()
        elif isinstance(message, msg.Kill):
            self._ray.kill(actor, no_restart=True)

    def _ask(self, actor: ActorHandle, message: msg.Ask) -> None:
        reply: Reply | None
        error: str | None
        try:
            reply, error = self._ray.get(
                actor.answer.remote(message.query), timeout=message.timeout
            )
        except self._ray.exceptions.GetTimeoutError:
            reply, error = (
                None,
                f"timeout: the run's actor did not answer within {message.timeout} s",
            )
        except self._ray.exceptions.RayError as exc:
            reply, error = None, f"the run's actor could not answer: {_first_line(exc)}"
        self._out.send(msg.Replied(message.run_id, message.request_id, reply, error))

    def _pump(self, run_id: str, actor: ActorHandle) -> None:
        ray = self._ray
        reason: str | None = None
        placement: Placement | None = None
        try:
            placement = ray.get(actor.placement.remote())
            self._out.send(msg.Placed(run_id, placement))
            ended = False
            unavailable_since: float | None = None
            while not ended:
                try:
                    messages = ray.get(actor.drain.remote(DRAIN_SECONDS))
                    unavailable_since = None
                except ray.exceptions.ActorUnavailableError:
                    # Its node or worker stopped answering; Ray says for sure (ActorDiedError)
                    # once it has decided. Until then, ask again.
                    now = time.monotonic()
                    unavailable_since = unavailable_since or now
                    if now - unavailable_since > UNAVAILABLE_SECONDS:
                        raise
                    time.sleep(RETRY_SECONDS)
                    continue
                if messages:
                    self._out.send(msg.Batch(run_id, messages))
                    ended = any(isinstance(m, Ended) for m in messages)
        except ray.exceptions.RayError as exc:
            reason = self._death(exc, placement)
        except Exception as exc:  # unpicklable message and the like: the run fails visibly
            log.exception("run %s: lost its actor", run_id)
            reason = f"the run's Ray actor failed: {type(exc).__name__}: {exc}"
        with self._lock:
            self._actors.pop(run_id, None)
        with contextlib.suppress(Exception):
            ray.kill(actor, no_restart=True)
        self._out.send(msg.Closed(run_id, reason))

    def _death(self, exc: Exception, placement: Placement | None) -> str:
        """Why an actor died, in words: its node died, or its worker process did."""
        where = placement.describe() if placement is not None else "its Ray worker"
        node_id = placement.node_id if placement is not None else None
        try:
            alive = {n["NodeID"]: n["Alive"] for n in self._ray.nodes()}
        except Exception:
            return f"lost the Ray cluster at {self.address} while training on {where}"
        if node_id is not None and not alive.get(node_id, False):
            return f"the Ray node it trained on died ({where})"
        if "ray.kill" in str(exc):
            return f"its Ray actor was killed by request ({where})"
        return f"its Ray worker died ({where}): {_first_line(exc)}"

    def watch_capacity(self, stop: threading.Event) -> None:
        last = -1
        while not stop.wait(CAPACITY_EVERY):
            with contextlib.suppress(Exception):
                cpus = _cluster_cpus()
                if cpus != last:
                    last = cpus
                    self._out.send(msg.Capacity(cpus))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _watch_parent(parent: int) -> None:
    """Exit when the server is gone (killed): Ray then ends every actor this driver owns."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def bridge_main(conn: Connection, address: str | None, parent: int) -> None:
    """The bridge process: connect to the cluster, then serve the web process's pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server handles Ctrl-C and closes us
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    out = _Out(conn)
    shown = address or "auto"
    failure = probe(address)
    if failure is None:
        os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", GCS_RECONNECT_SECONDS)
        try:
            import ray

            ray.init(
                address=shown, logging_level=logging.WARNING, log_to_driver=False,
                configure_logging=False,
            )  # fmt: skip
        except ImportError:
            failure = 'Ray is not installed: pip install "nn-playground[ray]"'
        except Exception as exc:
            failure = f"could not join the Ray cluster at {shown}: {_first_line(exc)}"
    if failure is not None:
        out.send(msg.ConnectFailed(failure))
        conn.close()
        return
    bridge = Bridge(out, shown)
    out.send(msg.Connected(_cluster_cpus()))
    stop = threading.Event()
    threading.Thread(target=bridge.watch_capacity, args=(stop,), daemon=True).start()
    try:
        while True:
            bridge.handle(conn.recv())
    except (EOFError, OSError):
        pass  # the web process closed the pipe (shutdown) or died
    stop.set()
    with contextlib.suppress(Exception):
        import ray

        ray.shutdown()
    os._exit(0)
