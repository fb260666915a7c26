"""What every executor's worker does, wherever it runs: load the run's dataset (MNIST or another
of app/data/datasets.py's registry), train one job, report.

The executors differ only in how messages travel (app/runs/local.py: a pipe to a process of
this machine; app/runs/ray_bridge.py: a Ray actor's method calls). Both hand `train_job` a
function that sends one `WorkerMessage` back, and feed commands to a `WorkerState`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from app.data.mnist import MNIST, MNISTUnavailable, load_training_data
from app.nn.protocol import Control, Query, Reply, Stop
from app.nn.trainer import Trainer
from app.runs.executor import Download, Ended, Job, NotReady, WorkerMessage
from app.runs.replies import NOT_TRAINING

log = logging.getLogger(__name__)

DOWNLOAD_EVERY = 0.1  # seconds between download progress messages
STOPPED_REASON = "stopped by request"

WORKER_NICE = 10  # workers yield the CPU to the web server: predictions stay fast while runs train

Emit = Callable[[WorkerMessage], None]


def become_worker() -> None:
    """Set up a process (or Ray worker) to train one run: one BLAS thread (one core per run:
    the slots are the cores), and a lower CPU priority than the server's."""
    import os

    from app.nn.network import set_blas_threads

    set_blas_threads(1)
    # Not POSIX, or not allowed: train at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.nice(WORKER_NICE)


class _Cancelled(Exception):
    """Stop arrived while MNIST was still loading."""


class WorkerState:
    """The worker's trainer once it exists; commands that came before it wait here."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.trainer: Trainer | None = None
        self.early: list[Control] = []
        self.stopped = False

    def obey(self, command: Control) -> None:
        with self.lock:
            trainer = self.trainer
            if trainer is None:
                self.early.append(command)
                self.stopped = self.stopped or isinstance(command, Stop)
                return
        trainer.handle(command)

    def answer(self, query: Query) -> Reply:
        """The trainer's reply; NotReady before it trains."""
        with self.lock:
            trainer = self.trainer
        if trainer is None:
            raise NotReady(NOT_TRAINING)
        reply = trainer.handle(query)
        if reply is None:  # every query has a reply; None would be a trainer bug
            raise NotReady(f"the trainer did not answer {type(query).__name__}")
        return reply

    def attach(self, trainer: Trainer) -> None:
        with self.lock:
            for command in self.early:
                trainer.handle(command)
            self.trainer = trainer


def train_job(job: Job, emit: Emit, state: WorkerState) -> Ended:
    """Load MNIST (reporting download progress), train, and return the final word; never
    raises: a failure is the run's `failed` status with the reason."""
    try:
        return _train(job, emit, state)
    except Exception as exc:  # reported as the run's failure, never silently
        log.exception("run %s failed", job.run_id)
        return Ended("failed", f"{type(exc).__name__}: {exc}", None)


def _train(job: Job, emit: Emit, state: WorkerState) -> Ended:
    try:
        data = _load_mnist(job, emit, state)
    except _Cancelled:
        return Ended("stopped", STOPPED_REASON, None)
    except MNISTUnavailable as exc:
        return Ended("failed", str(exc), None)
    resume = job.resume
    first = resume or job.start  # a checkpoint, or the model a fine-tune starts from
    trainer = Trainer(
        job.config,
        data,
        on_event=emit,
        checkpoint_seconds=job.checkpoint_seconds,
        network=first.network() if first is not None else None,
        start_step=resume.step if resume is not None else 0,
        drawings=job.drawings,
    )
    state.attach(trainer)
    try:
        trainer.run()
    except Exception:  # the trainer has recorded the failure as its status and reason
        log.exception("run %s failed", job.run_id)
    status = trainer.status if trainer.status != "pending" else "failed"
    return Ended(status, trainer.reason, trainer.weights())


def _load_mnist(job: Job, emit: Emit, state: WorkerState) -> MNIST:
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        if state.stopped:
            raise _Cancelled
        now = time.monotonic()
        if now - last >= DOWNLOAD_EVERY or done >= total:
            last = now
            emit(Download(int(done), int(total)))

    data = load_training_data(job.data, progress, job.config.dataset)
    if state.stopped:
        raise _Cancelled
    return data
