"""The `local` executor: every run trains in a worker process of its own on this machine.

Workers come from multiprocessing's "forkserver": one clean, single-threaded process that the
server starts as a fresh interpreter (never a fork of the threaded server), which imports the
training code once and forks a worker per run. A worker so starts in ~20 ms instead of the
~0.25 s a fresh interpreter spends importing NumPy and the trainer, and shares those pages with
the others. Where there is no forkserver (not POSIX), workers are spawned. Each has one duplex
pipe to the server:

* server → worker: control commands (app/nn/protocol.py) and `Request(id, query)`;
* worker → server: the trainer's events (metrics batched: at most one message per
  `FLUSH_SECONDS`), `Download`, `Answer(id, ...)` and finally `Ended`.

In the server a reader thread per worker turns the pipe back into `WorkerMessage`s. When the
pipe reaches EOF without `Ended`, the worker died: the reader reports `WorkerDied` with its
exit code or signal. In the worker, the command thread exits the process when the server's
end of the pipe closes or its parent process changes (the forkserver ends with the server), so
no worker outlives the server by more than a moment.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, get_args

from app.data.mnist import MNIST_DIR_ENV
from app.nn.protocol import (
    Control,
    MetricsEvent,
    Query,
    Reply,
    TrainerEvent,
)
from app.runs.executor import (
    Download,
    Ended,
    ExecutorName,
    Job,
    NotReady,
    Placement,
    WorkerDied,
    WorkerGone,
    WorkerMessage,
)
from app.runs.replies import Replies
from app.runs.worker import WorkerState, become_worker, train_job

if TYPE_CHECKING:  # ForkServerContext exists only where there is a forkserver (not Windows)
    from multiprocessing.context import ForkServerContext, SpawnContext

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.02  # metrics leave the worker at most this long after the trainer emits them
EXIT_GRACE = 5.0  # seconds the reader waits for the process to exit after its pipe closed


@dataclass(frozen=True)
class Request:
    id: int
    query: Query


@dataclass(frozen=True)
class Answer:
    id: int
    reply: Reply | None
    error: str | None = None


@dataclass
class MetricsBatch:
    events: list[MetricsEvent]


# ---- the server side -----------------------------------------------------------------------


class LocalHandle:
    """One worker process, its pipe and the reader thread that delivers its messages."""

    def __init__(self, process: BaseProcess, conn: Connection, job: Job,
                 on_message: Callable[[WorkerMessage], None]) -> None:  # fmt: skip
        self._process = process
        self._conn = conn
        self._on_message = on_message
        self._send_lock = threading.Lock()
        self._replies = Replies("worker")
        self._done = threading.Event()
        self._reader = threading.Thread(
            target=self._read, name=f"run-reader-{job.run_id}", daemon=True
        )
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def send(self, command: Control) -> None:
        self._send(command)

    def request(self, query: Query, timeout: float) -> Reply:
        if self._done.is_set():
            raise WorkerGone(self._replies.gone_message)
        return self._replies.ask(lambda request_id: self._send(Request(request_id, query)), timeout)

    def alive(self) -> bool:
        return self._process.is_alive()

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()

    def join(self, timeout: float) -> bool:
        return self._done.wait(timeout)

    def placement(self) -> Placement:
        return Placement("local", self._process.pid)

    def _send(self, message: Control | Request) -> bool:
        with self._send_lock:
            try:
                self._conn.send(message)
                return True
            except (OSError, ValueError):  # the worker has gone (or the pipe is closed)
                return False

    def _read(self) -> None:
        ended = False
        try:
            while True:
                message = self._conn.recv()
                ended = self._dispatch(message) or ended
        except (EOFError, OSError):
            pass
        except Exception:  # an unreadable message: treat the worker as broken
            log.exception("unreadable message from a worker")
            self.kill()
        self._process.join(EXIT_GRACE)
        with self._send_lock:
            self._conn.close()
        self._replies.close()
        if not ended:
            self._deliver(WorkerDied(describe_exit(self._process.exitcode)))
        self._done.set()

    def _dispatch(self, message: object) -> bool:
        """Deliver one pipe message; True when it was `Ended`."""
        if isinstance(message, Answer):
            self._replies.answer(message.id, message.reply, message.error)
        elif isinstance(message, MetricsBatch):
            for event in message.events:
                self._deliver(event)
        elif isinstance(message, WORKER_MESSAGES):
            self._deliver(message)
            return isinstance(message, Ended)
        return False

    def _deliver(self, message: WorkerMessage) -> None:
        try:
            self._on_message(message)
        except Exception:  # a bug in a handler must not stop the stream of this run
            log.exception("handling %s failed", type(message).__name__)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "the worker process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker process died (killed by {name})"
    return f"the worker process exited unexpectedly (exit code {code})"


def worker_context() -> ForkServerContext | SpawnContext:
    """The forkserver context, with app/runs/preload.py (one BLAS thread, then this module:
    NumPy, the trainer, the MNIST loader) imported in the forkserver before its first fork;
    spawn where there is no forkserver."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["app.runs.preload"])
    return context


class LocalExecutor:
    """Workers on this machine; at most `max_runs` of them exist at once (the manager's slots)."""

    name: ExecutorName = "local"

    def __init__(self) -> None:
        self._context = worker_context()
        if isinstance(self._context, multiprocessing.context.ForkServerContext):
            # Start the forkserver (and its preload: NumPy, the trainer) now, in the background,
            # not when the first run starts: that start holds the run slots' lock, and a class
            # of 30 creating runs at once waited 2-4 s behind it (bench/classroom.py).
            threading.Thread(
                target=multiprocessing.forkserver.ensure_running, name="nnp-forkserver", daemon=True
            ).start()

    def capacity(self) -> int:
        return os.cpu_count() or 1

    def check(self) -> None:
        pass  # this machine can always start a process (a failure fails that run visibly)

    def start(self, job: Job, on_message: Callable[[WorkerMessage], None]) -> LocalHandle:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=worker_main,
            args=(child_end, job),
            name=f"nnp-worker-{job.run_id}",
            daemon=True,
        )
        process.start()
        # Keep no copy of the worker's end here: its EOF is how the reader sees the worker die.
        child_end.close()
        return LocalHandle(process, parent_end, job, on_message)

    def close(self) -> None:
        pass


# ---- the worker side -------------------------------------------------------------------------


class Outbox:
    """The worker's sending end: one lock for every thread, metrics batched by time."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self._metrics: list[MetricsEvent] = []
        self._last_flush = time.monotonic()

    def emit(self, event: WorkerMessage) -> None:
        """The trainer's callback (its thread): metrics wait for the next flush."""
        if isinstance(event, MetricsEvent):
            with self._lock:
                self._metrics.append(event)
                if time.monotonic() - self._last_flush >= FLUSH_SECONDS:
                    self._flush()
        else:
            self.send(event)

    def send(self, message: WorkerMessage | Answer) -> None:
        with self._lock:
            self._flush()
            self._conn.send(message)

    def flush_if_due(self) -> None:
        with self._lock:
            if self._metrics and time.monotonic() - self._last_flush >= FLUSH_SECONDS:
                self._flush()

    def _flush(self) -> None:
        if self._metrics:
            self._conn.send(MetricsBatch(self._metrics))
            self._metrics = []
        self._last_flush = time.monotonic()


def _serve_commands(conn: Connection, outbox: Outbox, state: WorkerState, parent: int) -> None:
    """The worker's command thread: obey the server, flush metrics, exit when it is gone (the
    pipe's end, or `parent`, the process that started this one, is gone)."""
    try:
        while os.getppid() == parent:
            if conn.poll(FLUSH_SECONDS):
                _obey(conn.recv(), outbox, state)
            outbox.flush_if_due()
    except (EOFError, OSError):
        pass
    except Exception:
        log.exception("worker command thread failed")
    os._exit(0)  # the server is gone (or the pipe broke): nobody is listening any more


def _obey(message: Control | Request, outbox: Outbox, state: WorkerState) -> None:
    if not isinstance(message, Request):
        state.obey(message)
        return
    try:
        outbox.send(Answer(message.id, state.answer(message.query)))
    except NotReady as exc:
        outbox.send(Answer(message.id, None, str(exc)))


def worker_main(conn: Connection, job: Job) -> None:
    """A worker process: load MNIST, train, report, exit."""
    parent = os.getppid()  # the forkserver (or the server, if spawned)
    # MNIST comes from where the job says (the server resolved its settings, NNP_MNIST_DIR
    # included), not from the forkserver's environment: a copy of the server's from whenever
    # the forkserver started.
    os.environ.pop(MNIST_DIR_ENV, None)
    become_worker()
    # Ctrl-C in a terminal reaches the whole process group: the server handles it (and stops
    # this worker, so the run ends `interrupted`), the worker must not die of it first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    outbox = Outbox(conn)
    state = WorkerState()
    threading.Thread(
        target=_serve_commands, args=(conn, outbox, state, parent), name="commands", daemon=True
    ).start()
    ended = train_job(job, outbox.emit, state)
    with contextlib.suppress(OSError):
        outbox.send(ended)
    conn.close()


WORKER_MESSAGES = (*get_args(TrainerEvent), Download, Ended)
