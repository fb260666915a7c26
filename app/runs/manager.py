"""RunManager: creates runs, controls them, and applies what their workers report.

Training never happens in this process: a run with a slot is a `Job` on the executor
(app/runs/executor.py; `local` = a worker process per run), which reports back on a thread of
its own; `_on_message` applies each message to the `Run` (the one owner of its state) and
persists what must survive. The manager's helpers each have one job:

* app/runs/slots.py    the training slots, the queue and parking;
* app/runs/records.py  the runs' records in the store, and the flusher thread;
* app/runs/saving.py   a run's weight file (checkpoints, final weights) and saving it as a model;
* app/runs/gallery.py  the test-digit gallery (mistakes, digits by label and prediction).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from app.clock import utc_now
from app.data.mnist import DataSource
from app.nn.network import Network
from app.nn.protocol import (
    CheckpointEvent,
    Control,
    EvaluationEvent,
    MetricsEvent,
    Pause,
    Resume,
    SetLearningRate,
    SetSpeed,
    Status,
    StatusEvent,
    Step,
    Stop,
    Weights,
)
from app.runs.drawing_files import DrawingSnapshots
from app.runs.errors import RunNotFound, RunStateError, TooManyRuns
from app.runs.executor import Download, Ended, Executor, Job, WorkerDied, WorkerMessage
from app.runs.finetune import LabelledSource, snapshot_drawings, start_model
from app.runs.gallery import Gallery, RunDigit
from app.runs.records import RunRecords
from app.runs.run import ENDED, LIVE, Run
from app.runs.saving import WeightFiles, save_model
from app.runs.slots import Slots
from app.store.db import TEACHER_ID, Store
from app.store.disk import is_disk_full
from app.store.files import remove_leftover_temps
from app.store.models import ModelEntry, ModelRegistry
from app.store.quotas import OverQuota, Quotas

__all__ = ["DataSource", "RunManager", "RunNotFound", "RunStateError", "TooManyRuns"]

log = logging.getLogger(__name__)

Digits = list[RunDigit]  # (a module alias: `list` is a method of RunManager)

INTERRUPTED_REASON = "the server stopped while this run was live"
SHUTDOWN_REASON = "the server shut down"
STOPPED_REASON = "stopped by request"
PAUSE_WAIT_SECONDS = 2.0  # how long pause/resume wait for the worker to confirm
STOP_WAIT_SECONDS = 5.0  # how long stop waits for the worker to end before killing it
# Ended runs that can continue from their last checkpoint (besides a parked paused one).
RESUMABLE: frozenset[Status] = frozenset({"interrupted", "failed"})


class RunManager:
    def __init__(
        self,
        store: Store,
        runs_dir: Path,
        data: DataSource,
        *,
        max_runs: int | None = None,
        max_queued: int = 100,
        executor: Executor | None = None,
        flush_interval: float = 2.0,
        paused_slot_seconds: float = 300.0,
        names: Callable[[str], str] = str,
        drawings: LabelledSource | None = None,
    ) -> None:
        """`drawings`: where runs on labelled drawings get them (app/store/drawings.py's
        store); None: such runs are refused (422)."""
        if executor is None:
            from app.runs.executors import make_executor

            executor = make_executor("local")
        self.store = store
        self.runs_dir = runs_dir
        self.data = data
        self.executor = executor
        self.names = names  # a learner id's display name (the store owns names)
        self._runs: dict[str, Run] = {}
        self.files = WeightFiles(runs_dir)
        self.drawings = drawings
        self.snapshots = DrawingSnapshots(runs_dir)
        self.records = RunRecords(store, self._is_current, flush_interval)
        self.gallery = Gallery(data)
        self.slots = Slots(
            executor,
            max_runs=max_runs,
            max_queued=max_queued,
            paused_slot_seconds=paused_slot_seconds,
            launch=self._launch,
            fail=lambda run, reason: self._finish(run, "failed", reason, None),
            checkpoint=lambda run, weights: self.files.write(run, weights, checkpoint=True),
        )
        self._lock = self.slots.lock

    @property
    def max_runs(self) -> int:
        return self.slots.max_runs

    def _is_current(self, run: Run) -> bool:
        """Whether `run` is still the run of its id (not deleted)."""
        return self._runs.get(run.id) is run

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load stored runs; runs a dead process left live are marked interrupted."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        remove_leftover_temps(self.runs_dir)  # checkpoints a kill -9 interrupted
        for run in self.records.load(INTERRUPTED_REASON, utc_now()):
            run.owner_names = self.names
            if run.config.data != "mnist":
                run.drawings = self.snapshots.counts(run.id)
            self._runs[run.id] = run
        self.snapshots.remove_orphans(set(self._runs))
        self.records.start_flusher(self.list)

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop every run (queued and training) and persist; returns within about `timeout`
        seconds, having killed any worker that did not stop by then."""
        self.slots.closing.set()
        self.records.stop_flusher()
        queued = self.slots.drain()
        with self._lock:
            busy = [run for run in self._runs.values() if self.slots.holds(run)]
        parked = [run for run in self.list() if run.parked and run.live]
        for run in queued + parked:
            self._finish(run, "interrupted", SHUTDOWN_REASON, None)
        for run in busy:
            run.shutting_down = run.live
            run.stop_requested = True
            if run.handle is not None:
                run.handle.send(Stop())
        deadline = time.monotonic() + timeout
        for run in busy:
            handle = run.handle
            if handle is not None and not handle.join(max(0.0, deadline - time.monotonic())):
                handle.kill()
                handle.join(2.0)
        for run in busy:
            if run.live:  # its worker never answered: record it as interrupted
                self._finish(run, "interrupted", SHUTDOWN_REASON, None)
        self.records.join_flusher()
        self.executor.close()

    # -- queries --------------------------------------------------------------------------

    def list(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def get(self, run_id: str) -> Run:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotFound(f"no run with id {run_id!r}")
        return run

    def active_count(self) -> int:
        return sum(1 for run in self.list() if run.live)

    def network(self, run_id: str) -> Network:
        """The run's current (or final) network; RunStateError before training has begun."""
        run = self.get(run_id)
        network = run.network()
        if network is None and run.status in ENDED:
            weights = self.files.load(run)
            network = weights.network() if weights is not None else None
        if network is None:
            raise RunStateError(f"run {run_id} is {run.status} and has no weights yet")
        return network

    def digits(
        self, run_id: str, *, label: int | None, predicted: int | None, limit: int
    ) -> Digits:
        """Test digits from the run's last evaluation (see app/runs/gallery.py)."""
        run = self.get(run_id)
        return self.gallery.digits(
            run.predictions, run.confidence, label=label, predicted=predicted, limit=limit,
            dataset=run.config.dataset,
        )  # fmt: skip

    # -- commands -------------------------------------------------------------------------

    def create(
        self,
        preset: str | None,
        overrides: Mapping[str, object],
        *,
        owner: str = TEACHER_ID,
        quotas: Quotas | None = None,
        models: ModelRegistry | None = None,
    ) -> Run:
        """Validate the config (ValueError names the field); start it, or queue it when every
        slot is busy (TooManyRuns when the queue is full too). With `quotas` (a learner's):
        NetworkTooLarge or OverQuota when it would exceed them, and nothing is created.
        `models`: where `from_model` is found (issue 17 §2; its access is the caller's to
        check). A run on drawings takes its snapshot of them now (app/runs/finetune.py)."""
        from app.presets import parameter_count, resolve_config

        config, start = start_model(resolve_config(preset, overrides), overrides, models)
        split = snapshot_drawings(config, owner, self.drawings)
        if quotas is not None:
            quotas.check_parameters(parameter_count(config.sizes()))
        self.executor.check()  # ExecutorUnavailable (e.g. the cluster is unreachable) first
        with self._lock:
            self._check_active(owner, quotas)
            self.slots.check_room()
            run_id = f"r_{secrets.token_hex(4)}"
            while run_id in self._runs:
                run_id = f"r_{secrets.token_hex(4)}"
            run = Run(id=run_id, config=config, preset=preset, created=utc_now(), owner=owner)
            run.owner_names = self.names
            run.start_from, run.drawing_split = start, split
            run.drawings = split.counts() if split is not None else None
            self._runs[run_id] = run
            try:
                if split is not None:
                    self.snapshots.write(run_id, split)
                self.records.add(run)
            except Exception:
                self._runs.pop(run_id, None)
                self.snapshots.delete(run_id)
                raise
            self.slots.enqueue(run)
        return run

    def _check_active(self, owner: str, quotas: Quotas | None) -> None:
        """OverQuota when `owner` already has `quotas.active_runs` live runs (under the lock)."""
        if quotas is None:
            return
        live = sum(1 for run in self._runs.values() if run.owner == owner and run.live)
        if live >= quotas.active_runs:
            raise OverQuota(
                f"you already have {live} active run(s), the most a learner may have "
                f"({quotas.active_runs}); stop one or wait for it to finish"
            )

    def pause(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status != "running":
            raise RunStateError(f"run {run_id} is {run.status}; only a running run can pause")
        self._control(run, Pause())
        # Answer once the worker reports the pause (a batch takes milliseconds), so the step a
        # client sees after pausing is the final one.
        run.wait_until(lambda: run.status != "running", PAUSE_WAIT_SECONDS)
        self.records.state(run)
        return run

    def resume(self, run_id: str, quotas: Quotas | None = None) -> Run:
        """Resume a paused run; a parked one (it gave its slot back), or an interrupted or
        failed one, is queued for a slot and continues from its checkpoint (within the
        owner's `quotas` of active runs, when given)."""
        run = self.get(run_id)
        if run.status in RESUMABLE or run.parked or run.parking:
            return self._resume_from_checkpoint(run, quotas)
        if run.status != "paused":
            raise RunStateError(
                f"run {run_id} is {run.status}; only a paused, interrupted or failed run can resume"
            )
        self._control(run, Resume())
        run.wait_until(lambda: run.status != "paused", PAUSE_WAIT_SECONDS)
        self.records.state(run)
        return run

    def _resume_from_checkpoint(self, run: Run, quotas: Quotas | None) -> Run:
        if run.parking and run.handle is not None:
            run.handle.join(STOP_WAIT_SECONDS)  # its worker is still handing the slot back
        weights = run.final_weights or self.files.load(run)
        if weights is None:
            raise RunStateError(f"run {run.id} is {run.status} and has no checkpoint to resume")
        self.executor.check()
        with self._lock:
            if run.status not in RESUMABLE and not run.parked:
                raise RunStateError(f"run {run.id} is {run.status}; it cannot resume")
            if not run.live:  # a parked run is still live: it already counts
                self._check_active(run.owner, quotas)
            self.slots.check_room()
            run.prepare_resume(weights)
            run.set_status("queued")
            self.slots.enqueue(run)
        if run.queue_position is None:  # it got a slot: answer once it trains again
            run.wait_until(lambda: run.status not in ("queued", "downloading"), PAUSE_WAIT_SECONDS)
        self.records.state(run)
        return run

    def step(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status != "paused":
            raise RunStateError(
                f"run {run_id} is {run.status}; single steps need a paused run (pause it first)"
            )
        self._control(run, Step())
        self.slots.watch_pause(run)  # stepping through batches is not idle: the wait restarts
        return run

    def stop(self, run_id: str) -> Run:
        run = self.get(run_id)
        if not run.live:
            raise RunStateError(f"run {run_id} has already ended ({run.status})")
        self._end(run)
        if not run.wait_until(lambda: not run.live, STOP_WAIT_SECONDS) and run.handle:
            run.handle.kill()  # it did not stop between two batches: it never will
            run.wait_until(lambda: not run.live, STOP_WAIT_SECONDS)
        return run

    def set_learning_rate(self, run_id: str, learning_rate: float) -> Run:
        run = self.get(run_id)
        if not run.live:
            raise RunStateError(
                f"run {run_id} has ended ({run.status}); its learning rate is fixed"
            )
        run.config.learning_rate = learning_rate
        if run.handle is not None:
            run.handle.send(SetLearningRate(learning_rate))
        if run.latest is not None:
            run.latest = {**run.latest, "learning_rate": learning_rate}
        self.records.update(run, latest=run.latest, config=run.config_json())
        return run

    def set_speed(self, run_id: str, batches_per_second: float | None) -> Run:
        """Slow motion (at most this many mini-batches a second) or full speed (None)."""
        run = self.get(run_id)
        if not run.live:
            raise RunStateError(f"run {run_id} has ended ({run.status}); it has no speed")
        run.set_speed(batches_per_second)
        if run.handle is not None:
            run.handle.send(SetSpeed(batches_per_second))
        return run

    def delete(self, run_id: str) -> None:
        run = self.get(run_id)
        with self._lock:
            self._runs.pop(run_id, None)
        if run.live:
            self._end(run)
        self.files.delete(run_id)  # first: on a full disk, that frees room for the database
        self.snapshots.delete(run_id)
        self.records.delete(run_id)
        if run.on_change is not None:
            run.on_change("deleted", None)

    def save(
        self,
        run_id: str,
        models: ModelRegistry,
        name: str | None = None,
        quotas: Quotas | None = None,
    ) -> ModelEntry:
        """Store the run's current (or final, or last checkpoint's) network as a model named
        `name` (default "run <id>"), owned by the run's owner (within their `quotas` of
        models, when given), and remember it as the run's model. RunStateError before
        training has begun; the registry's errors (e.g. NonFiniteModel) pass through."""
        run = self.get(run_id)
        network = self.network(run_id)  # asking the worker waits on its pipe
        entry = save_model(run, network, models, name, None if quotas is None else quotas.models)
        run.model_id = entry.id
        self.records.update(run, model_id=entry.id)
        return entry

    def _control(self, run: Run, command: Control) -> None:
        if run.parked or run.parking:
            raise RunStateError(
                f"run {run.id} is paused and gave its training slot back; resume it first"
            )
        if run.handle is None:
            raise RunStateError(f"run {run.id} is {run.status}; it is not training")
        run.handle.send(command)

    def _end(self, run: Run) -> None:
        """Ask a live run to stop: a queued one ends at once, a training one soon."""
        run.stop_requested = True
        queued = self.slots.dequeue(run)
        if queued or (run.parked and run.handle is None):
            self._finish(run, "stopped", STOPPED_REASON, None)
        elif run.handle is not None:
            run.handle.send(Stop())

    def _launch(self, run: Run) -> None:
        """Start the run's job on the executor (Slots calls it, under the lock)."""
        # A copy: the job travels to the worker as it is now (PATCH changes the run's own).
        config = dataclasses.replace(run.config, layers=list(run.config.layers))
        drawings = run.drawing_split
        if drawings is None and config.data != "mnist":  # resumed after a restart
            drawings = run.drawing_split = self.snapshots.load(run.id)
        start = run.start_from if run.resume_from is None else None  # a checkpoint wins
        job = Job(run.id, config, self.data, resume=run.resume_from, start=start,
                  drawings=drawings)  # fmt: skip
        run.resume_from = None
        run.handle = self.executor.start(job, lambda message: self._on_message(run, message))
        if run.speed is not None:  # chosen while it waited
            run.handle.send(SetSpeed(run.speed))

    # -- messages from the run's worker (on the executor's thread) ---------------------------

    def _on_message(self, run: Run, message: WorkerMessage) -> None:
        if isinstance(message, MetricsEvent):
            run.record_metrics(message)
        elif isinstance(message, EvaluationEvent):
            evaluation = run.record_evaluation(message, self.gallery.labels(run.config.dataset))
            if run.on_change is not None:
                run.on_change("evaluation", evaluation)
            self.records.evaluation(run)
        elif isinstance(message, StatusEvent):
            self._on_status(run, message)
        elif isinstance(message, Download):
            run.record_download(message)
        elif isinstance(message, CheckpointEvent):
            self._on_checkpoint(run, message)
        elif isinstance(message, Ended):
            self._on_end(run, message.status, message.reason, message.weights)
        elif isinstance(message, WorkerDied):
            self._on_end(run, "failed", message.reason, None)

    def _on_status(self, run: Run, event: StatusEvent) -> None:
        # Final statuses are applied once, from `Ended`, after the weights are saved.
        if event.status not in LIVE or run.stop_requested:
            return
        if event.status == "running" and run.started is None:
            run.started = utc_now()
        run.set_status(event.status, event.reason)
        self.records.state(run)
        if event.status == "paused":
            self.slots.watch_pause(run)
        else:
            run.paused_since = None

    def _on_end(
        self, run: Run, status: Status, reason: str | None, weights: Weights | None
    ) -> None:
        if run.parking and not run.stop_requested:
            # It gave its slot back on purpose: still paused, resumable from its checkpoint.
            # `parked` only now, with the slot given back under the lock: whoever sees it
            # parked finds its slot free.
            with self._lock:
                run.handle = None
                self.slots.free(run)
                run.parked, run.parking = True, False
            self.slots.fill()
            return
        if run.shutting_down:
            status, reason = "interrupted", SHUTDOWN_REASON
        elif run.stop_requested and status in ("failed", "stopped"):
            status, reason = "stopped", STOPPED_REASON  # killed after a stop that hung
        held = self.slots.free(run)  # before the status changes: who sees it ended finds a slot
        self._finish(run, status, reason, weights)
        if weights is None and run.final_weights is None:
            self.files.load(run)  # its last checkpoint, for probes and the network view
        if held:
            self.slots.fill()

    def _finish(
        self, run: Run, status: Status, reason: str | None, weights: Weights | None
    ) -> None:
        if run.status in ENDED:
            return
        run.finished = run.finished or utc_now()
        if not self._is_current(run):  # deleted meanwhile: nothing to record
            run.set_status(status, reason)
            return
        if weights is not None:
            run.final_weights = weights  # kept in memory: it can still be saved as a model
            try:
                self.files.write(run, weights)
            except Exception as exc:
                log_failure(f"could not save the weights of run {run.id}", exc)
                if status in ("finished", "stopped"):  # not a result whose weights are lost
                    status, reason = "failed", f"its final weights could not be written: {exc}"
        run.set_status(status, reason)
        # A resume continues from a checkpoint and reads the snapshot again: free both.
        run.drawing_split = run.start_from = None
        self.records.ended(run)

    def _on_checkpoint(self, run: Run, event: CheckpointEvent) -> None:
        """Write the checkpoint where the final weights go: a run that dies (worker killed,
        server killed) can still be saved as a model from it."""
        if not self._is_current(run) or not run.live:
            return
        try:
            self.files.write(run, event.weights, checkpoint=True)
        except Exception as exc:
            log_failure(f"could not write the checkpoint of run {run.id}", exc)

    def flush(self) -> None:
        """Write every live run's new points and progress (the flusher does it regularly)."""
        self.records.flush(self.list())


def log_failure(what: str, exc: Exception) -> None:
    """A full disk in one line (it says all there is to say); anything else with its traceback."""
    if is_disk_full(exc):
        log.error("%s: %s", what, exc)
    else:
        log.exception(what)
