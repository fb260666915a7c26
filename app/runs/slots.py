"""Training slots and the queue: at most `max_runs` runs hold a slot (their job is on the
executor); later ones wait `queued`, in order, up to `max_queued` of them, and start by
themselves when a slot frees. A run paused for `paused_slot_seconds` is *parked*: it is
checkpointed and its worker ends, so its slot goes to the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from app.nn.protocol import Stop, Weights
from app.runs.errors import TooManyRuns
from app.runs.executor import Executor
from app.runs.run import Run

log = logging.getLogger(__name__)


class Slots:
    """The slots and the queue. `launch(run)` starts a run's job (called under the lock);
    when it raises, `fail(run, reason)` ends the run; `checkpoint(run, weights)` writes the
    weights a parked run continues from."""

    def __init__(
        self,
        executor: Executor,
        *,
        max_runs: int | None,
        max_queued: int,
        paused_slot_seconds: float,
        launch: Callable[[Run], None],
        fail: Callable[[Run, str], None],
        checkpoint: Callable[[Run, Weights], None],
    ) -> None:
        self.executor = executor
        self._max_runs = max_runs  # None: as many as the executor can train at once
        self.max_queued = max_queued
        self.paused_slot_seconds = paused_slot_seconds
        self._launch, self._fail, self._checkpoint = launch, fail, checkpoint
        self.lock = threading.RLock()  # also guards the manager's registry of runs
        self.closing = threading.Event()  # the server shuts down: start nothing more
        self._held: set[str] = set()  # ids of the runs whose job is on the executor
        self._queue: deque[Run] = deque()
        self._timers: dict[str, threading.Timer] = {}  # each paused run's parking timer

    @property
    def max_runs(self) -> int:
        """Slots: runs that train at once (NNP_MAX_RUNS, or the executor's capacity: this
        machine's cores, or the Ray cluster's CPUs as it is now)."""
        return self._max_runs if self._max_runs is not None else self.executor.capacity()

    def full(self) -> bool:
        """Every slot is busy and the queue is full (call under the lock)."""
        return len(self._held) >= self.max_runs and len(self._queue) >= self.max_queued

    def check_room(self) -> None:
        """TooManyRuns when a new run could neither start nor wait (call under the lock)."""
        if self.full():
            raise TooManyRuns(
                f"{self.max_runs} training run(s) are live and {len(self._queue)} wait "
                "(the limit); stop one or wait for one to finish"
            )

    def enqueue(self, run: Run) -> None:
        """Queue `run` for a slot; it starts at once when one is free."""
        with self.lock:
            self._queue.append(run)
            run.queue_position = len(self._queue)
            self.fill()

    def dequeue(self, run: Run) -> bool:
        """Take `run` out of the queue; True when it was waiting there."""
        with self.lock:
            if run not in self._queue:
                return False
            self._queue.remove(run)
            run.set_queue_position(None)
            self._renumber()
            return True

    def drain(self) -> list[Run]:
        """Empty the queue (at shutdown); the runs that waited."""
        with self.lock:
            queued = list(self._queue)
            self._queue.clear()
            return queued

    def holds(self, run: Run) -> bool:
        return run.id in self._held

    def fill(self) -> None:
        """Start queued runs while slots are free."""
        with self.lock:
            while self._queue and len(self._held) < self.max_runs and not self.closing.is_set():
                run = self._queue.popleft()
                self._held.add(run.id)
                run.set_queue_position(None)
                try:
                    self._launch(run)
                except Exception as exc:  # e.g. no more processes: the run fails visibly
                    log.exception("could not start run %s", run.id)
                    self._held.discard(run.id)
                    self._fail(run, f"could not start its worker: {exc}")
            self._renumber()

    def _renumber(self) -> None:
        for position, waiting in enumerate(self._queue, start=1):
            waiting.set_queue_position(position)

    def free(self, run: Run) -> bool:
        """Give back the run's slot; True when it held one."""
        with self.lock:
            held = run.id in self._held
            self._held.discard(run.id)
            self._unwatch(run)  # its worker has ended: nothing left to park
            return held

    # -- parking: a run paused for paused_slot_seconds gives its slot back -------------------

    def watch_pause(self, run: Run) -> None:
        """(Re)start the run's one parking timer: it parks the run if it is still paused since
        now after paused_slot_seconds (a step restarts the wait; the previous timer is
        cancelled, so a run never has more than one)."""
        since = run.paused_since = time.monotonic()
        timer = threading.Timer(self.paused_slot_seconds, self._park, (run, since))
        timer.daemon = True
        with self.lock:
            self._unwatch(run)
            self._timers[run.id] = timer
        timer.start()

    def _unwatch(self, run: Run) -> None:
        """Cancel the run's parking timer, if any (call under the lock)."""
        timer = self._timers.pop(run.id, None)
        if timer is not None:
            timer.cancel()

    def _park(self, run: Run, since: float) -> None:
        """Checkpoint a run still paused since `since`, then end its worker: the manager
        marks it parked and frees its slot once the worker has ended.

        The run is claimed (`parking`) under the lock before its weights are asked for and
        written, so a resume or step meanwhile goes the parked way (it waits for the worker)
        instead of reaching the worker and being undone by the Stop below."""
        if run.paused_since != since or self.closing.is_set():
            return
        with self.lock:
            handle = run.handle
            if run.status != "paused" or run.stop_requested or handle is None:
                return
            if run.parked or run.parking or run.paused_since != since:
                return
            run.parking = True  # parked once its worker has ended (the manager's _on_end)
        weights = run.weights()  # paused: these are the weights it will continue from
        try:
            if weights is not None:
                self._checkpoint(run, weights)
        except Exception:
            log.exception("could not checkpoint paused run %s; it keeps its slot", run.id)
            weights = None
        if weights is None:  # it keeps its worker and slot
            with self.lock:
                run.parking = False
            return
        with self.lock:
            if run.status != "paused" or run.paused_since != since:
                run.parking = False  # it moved on after all: it keeps its worker and slot
                return
            run.final_weights = weights
        log.info(
            "run %s paused for %.0f s: checkpointed; its worker ends and frees the slot",
            run.id,
            time.monotonic() - since,
        )
        handle.send(Stop())
