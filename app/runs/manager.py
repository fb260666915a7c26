"""RunManager: creates runs, queues them for a training slot, controls and persists them.

Training never happens in this process: a run with a slot is a `Job` on the executor
(app/runs/executor.py; `local` = a worker process per run), which reports back on a thread of
its own; `_on_message` applies each message to the `Run` (the one owner of its state) and
persists what must survive. At most `max_runs` runs hold a slot; later ones wait `queued`, in
order, up to `max_queued` of them, and start by themselves when a slot frees.

The flusher thread writes every live run's new metric points to SQLite every `flush_interval`
seconds, so a crash loses at most that much history; a run's end writes everything.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

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
from app.nn.trainer import TrainConfig
from app.runs.executor import (
    DataSource,
    Download,
    Ended,
    Executor,
    Job,
    WorkerDied,
    WorkerMessage,
    make_executor,
)
from app.runs.run import ENDED, LIVE, Run, ranked_digits
from app.store.db import Store, StoredRun
from app.store.files import path_for, write_atomic
from app.store.models import ModelEntry, ModelRegistry, utc_now

__all__ = ["DataSource", "RunManager", "RunNotFound", "RunStateError", "TooManyRuns"]

log = logging.getLogger(__name__)

INTERRUPTED_REASON = "the server stopped while this run was live"
SHUTDOWN_REASON = "the server shut down"
STOPPED_REASON = "stopped by request"
PAUSE_WAIT_SECONDS = 2.0  # how long pause/resume wait for the worker to confirm
STOP_WAIT_SECONDS = 5.0  # how long stop waits for the worker to end before killing it
# Ended runs that can continue from their last checkpoint (besides a parked paused one).
RESUMABLE: frozenset[Status] = frozenset({"interrupted", "failed"})


Digits = list[dict[str, Any]]  # index, label, predicted, confidence, pixels (784 in 0..1)


class RunNotFound(KeyError):
    pass


class RunStateError(Exception):
    """The request is valid but not in the run's current state (→ 409)."""


class TooManyRuns(Exception):
    """Every training slot is busy and the queue is full (→ 429)."""


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
    ) -> None:
        self.store = store
        self.runs_dir = runs_dir
        self.data = data
        self._max_runs = max_runs  # None: as many as the executor can train at once
        self.max_queued = max_queued
        self.executor = executor or make_executor("local")
        self.flush_interval = flush_interval
        self.paused_slot_seconds = paused_slot_seconds
        self._runs: dict[str, Run] = {}
        self._slots: set[str] = set()  # ids of the runs whose job is on the executor
        self._queue: deque[Run] = deque()
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._flusher: threading.Thread | None = None
        self._test_labels: np.ndarray | None = None

    @property
    def max_runs(self) -> int:
        """Slots: runs that train at once (NNP_MAX_RUNS, or the executor's capacity: this
        machine's cores, or the Ray cluster's CPUs as it is now)."""
        return self._max_runs if self._max_runs is not None else self.executor.capacity()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load stored runs; runs a dead process left live are marked interrupted."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.store.mark_interrupted(INTERRUPTED_REASON, utc_now())
        for stored in self.store.load_runs():
            self._runs[stored.id] = Run.from_stored(stored)
        self._flusher = threading.Thread(target=self._flush_loop, name="run-flusher", daemon=True)
        self._flusher.start()

    def shutdown(self, timeout: float = 3.0) -> None:
        """Stop every run (queued and training) and persist; returns within about `timeout`
        seconds, having killed any worker that did not stop by then."""
        self._closing.set()
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
            busy = [run for run in self._runs.values() if run.id in self._slots]
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
        if self._flusher is not None:
            self._flusher.join(1.0)
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

    # -- commands -------------------------------------------------------------------------

    def create(self, preset: str | None, overrides: dict[str, Any]) -> Run:
        """Validate the config (ValueError names the field); start it, or queue it when every
        slot is busy (TooManyRuns when the queue is full too)."""
        from app.presets import resolve_config

        config = resolve_config(preset, overrides)
        config_dict = dict(config.to_dict())
        if preset is not None:
            config_dict["preset"] = preset
        self.executor.check()  # ExecutorUnavailable (e.g. the cluster is unreachable) first
        with self._lock:
            if len(self._slots) >= self.max_runs and len(self._queue) >= self.max_queued:
                raise TooManyRuns(
                    f"{self.max_runs} training run(s) are live and {len(self._queue)} wait "
                    "(the limit); stop one or wait for one to finish"
                )
            run_id = f"r_{secrets.token_hex(4)}"
            while run_id in self._runs:
                run_id = f"r_{secrets.token_hex(4)}"
            run = Run(id=run_id, config=config_dict, created=utc_now())
            self._runs[run_id] = run
            try:
                self.store.add_run(StoredRun(run.id, run.status, run.config, run.created))
            except Exception:
                self._runs.pop(run_id, None)
                raise
            self._queue.append(run)
            run.queue_position = len(self._queue)
            self._fill_slots()
        return run

    def pause(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status != "running":
            raise RunStateError(f"run {run_id} is {run.status}; only a running run can pause")
        self._control(run, Pause())
        # Answer once the worker reports the pause (a batch takes milliseconds), so the step a
        # client sees after pausing is the final one.
        run.wait_until(lambda: run.status != "running", PAUSE_WAIT_SECONDS)
        self._persist_state(run)
        return run

    def resume(self, run_id: str) -> Run:
        """Resume a paused run; a parked one (it gave its slot back), or an interrupted or
        failed one, is queued for a slot and continues from its checkpoint."""
        run = self.get(run_id)
        if run.status in RESUMABLE or run.parked:
            return self._resume_from_checkpoint(run)
        if run.status != "paused":
            raise RunStateError(
                f"run {run_id} is {run.status}; only a paused, interrupted or failed run can resume"
            )
        self._control(run, Resume())
        run.wait_until(lambda: run.status != "paused", PAUSE_WAIT_SECONDS)
        self._persist_state(run)
        return run

    def _resume_from_checkpoint(self, run: Run) -> Run:
        if run.parked and run.handle is not None:
            run.handle.join(STOP_WAIT_SECONDS)  # its worker is still handing the slot back
        weights = run.final_weights or self._load_final(run)
        if weights is None:
            raise RunStateError(f"run {run.id} is {run.status} and has no checkpoint to resume")
        self.executor.check()
        with self._lock:
            if run.status not in RESUMABLE and not run.parked:
                raise RunStateError(f"run {run.id} is {run.status}; it cannot resume")
            if len(self._slots) >= self.max_runs and len(self._queue) >= self.max_queued:
                raise TooManyRuns(f"{len(self._queue)} runs wait for a slot (the limit)")
            run.prepare_resume(weights)
            run.set_status("queued")
            self._queue.append(run)
            run.queue_position = len(self._queue)
            self._fill_slots()
        if run.queue_position is None:  # it got a slot: answer once it trains again
            run.wait_until(lambda: run.status not in ("queued", "downloading"), PAUSE_WAIT_SECONDS)
        self._persist_state(run)
        return run

    def step(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status != "paused":
            raise RunStateError(
                f"run {run_id} is {run.status}; single steps need a paused run (pause it first)"
            )
        self._control(run, Step())
        self._watch_pause(run)  # stepping through batches is not idle: the wait starts again
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
        run.config["learning_rate"] = learning_rate
        if run.handle is not None:
            run.handle.send(SetLearningRate(learning_rate))
        if run.latest is not None:
            run.latest = {**run.latest, "learning_rate": learning_rate}
        self.store.update_run(run.id, latest=run.latest, config=run.config)
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
        self.store.delete_run(run_id)
        path_for(self.runs_dir, run_id).unlink(missing_ok=True)
        if run.on_change is not None:
            run.on_change("deleted", None)

    def network(self, run_id: str) -> Network:
        """The run's current (or final) network; RunStateError before training has begun."""
        run = self.get(run_id)
        network = run.network()
        if network is None and run.status in ENDED:
            weights = self._load_final(run)
            network = weights.network() if weights is not None else None
        if network is None:
            raise RunStateError(f"run {run_id} is {run.status} and has no weights yet")
        return network

    def set_model(self, run: Run, model_id: str) -> None:
        run.model_id = model_id
        self.store.update_run(run.id, model_id=model_id)

    def model_metadata(self, run: Run) -> dict[str, Any]:
        """What a model saved from `run` records about where it came from."""
        last = run.evaluations[-1] if run.evaluations else {}
        return {
            "source_run": run.id,
            "config": run.config,
            "preset": run.config.get("preset"),
            "epochs": run.progress()["epoch"],
            "test_accuracy": last.get("test_accuracy"),
        }

    def save(self, run_id: str, models: ModelRegistry, name: str | None = None) -> ModelEntry:
        """Store the run's current (or final, or last checkpoint's) network as a model named
        `name` (default "run <id>"), and remember it as the run's model. RunStateError before
        training has begun; the registry's errors (e.g. NonFiniteModel) pass through."""
        run = self.get(run_id)
        network = self.network(run_id)  # asking the worker waits on its pipe
        name = (name or "").strip() or f"run {run.id}"
        entry = models.add(network, self.model_metadata(run), name=name)
        self.set_model(run, entry.id)
        return entry

    def digits(
        self, run_id: str, *, label: int | None, predicted: int | None, limit: int
    ) -> Digits:
        """Test digits from the run's last evaluation (see `ranked_digits`), each with its
        label, prediction, confidence and pixels; [] before the first evaluation.
        MNISTUnavailable when the test set can be neither found nor downloaded."""
        from app.data.mnist import pixel_values

        run = self.get(run_id)
        predictions, confidence = run.predictions, run.confidence
        if predictions is None or confidence is None:
            return []
        images, labels = self._test_set()
        if len(predictions) != len(labels):
            return []
        chosen = ranked_digits(
            predictions, confidence, labels, label=label, predicted=predicted, limit=limit
        )
        return [
            {
                "index": int(i),
                "label": int(labels[i]),
                "predicted": int(predictions[i]),
                "confidence": float(confidence[i]),
                "pixels": pixel_values(images[i]),
            }
            for i in chosen
        ]

    def _test_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The MNIST test split from the runs' data source (cached per process by app.data)."""
        from app.data.mnist import load_mnist_test

        source = self.data
        if source.mirrors:
            return load_mnist_test(
                source.mnist_dir, source.cache_dir, download=source.download,
                mirrors=source.mirrors,
            )  # fmt: skip
        return load_mnist_test(source.mnist_dir, source.cache_dir, download=source.download)

    def _control(self, run: Run, command: Control) -> None:
        if run.parked:
            raise RunStateError(
                f"run {run.id} is paused and gave its training slot back; resume it first"
            )
        if run.handle is None:
            raise RunStateError(f"run {run.id} is {run.status}; it is not training")
        run.handle.send(command)

    def _end(self, run: Run) -> None:
        """Ask a live run to stop: a queued one ends at once, a training one soon."""
        run.stop_requested = True
        with self._lock:
            queued = run in self._queue
            if queued:
                self._queue.remove(run)
                run.set_queue_position(None)
                self._renumber()
        if queued or (run.parked and run.handle is None):
            self._finish(run, "stopped", STOPPED_REASON, None)
        elif run.handle is not None:
            run.handle.send(Stop())

    # -- slots and the queue ----------------------------------------------------------------

    def _fill_slots(self) -> None:
        """Start queued runs while slots are free (under the lock)."""
        with self._lock:
            while self._queue and len(self._slots) < self.max_runs and not self._closing.is_set():
                run = self._queue.popleft()
                self._slots.add(run.id)
                try:
                    self._launch(run)
                except Exception as exc:  # e.g. no more processes: the run fails visibly
                    log.exception("could not start run %s", run.id)
                    self._slots.discard(run.id)
                    self._finish(run, "failed", f"could not start its worker: {exc}", None)
            self._renumber()

    def _renumber(self) -> None:
        for position, waiting in enumerate(self._queue, start=1):
            waiting.set_queue_position(position)

    def _launch(self, run: Run) -> None:
        config = TrainConfig.from_dict({k: v for k, v in run.config.items() if k != "preset"})
        run.set_queue_position(None)
        job = Job(run.id, config, self.data, resume=run.resume_from)
        run.resume_from = None
        run.handle = self.executor.start(job, lambda message: self._on_message(run, message))
        if run.speed is not None:  # chosen while it waited
            run.handle.send(SetSpeed(run.speed))

    def _release(self, run: Run) -> None:
        if self._free_slot(run):
            self._fill_slots()

    def _free_slot(self, run: Run) -> bool:
        """Give back the run's slot; True when it held one."""
        with self._lock:
            held = run.id in self._slots
            self._slots.discard(run.id)
            return held

    # -- parking: a run paused for paused_slot_seconds gives its slot back -------------------

    def _watch_pause(self, run: Run) -> None:
        since = run.paused_since = time.monotonic()
        timer = threading.Timer(self.paused_slot_seconds, self._park, (run, since))
        timer.daemon = True
        timer.start()

    def _park(self, run: Run, since: float) -> None:
        """Checkpoint a run still paused since `since`, then end its worker (slot freed)."""
        if run.paused_since != since or self._closing.is_set():
            return
        with self._lock:
            handle = run.handle
            if run.status != "paused" or run.stop_requested or handle is None or run.parked:
                return
        weights = run.weights()  # paused: these are the weights it will continue from
        if weights is None or run.paused_since != since or run.status != "paused":
            return
        try:
            self._save_final(run, weights, checkpoint=True)
        except Exception:
            log.exception("could not checkpoint paused run %s; it keeps its slot", run.id)
            return
        run.final_weights = weights
        run.parked = True
        log.info(
            "run %s paused for %.0f s: checkpointed, slot freed", run.id, time.monotonic() - since
        )
        handle.send(Stop())

    # -- messages from the run's worker (on the executor's thread) ---------------------------

    def _on_message(self, run: Run, message: WorkerMessage) -> None:
        if isinstance(message, MetricsEvent):
            run.record_metrics(message)
        elif isinstance(message, EvaluationEvent):
            evaluation = run.record_evaluation(message, self.test_labels())
            if run.on_change is not None:
                run.on_change("evaluation", evaluation)
            self._persist_evaluation(run)
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
        self._persist_state(run)
        if event.status == "paused":
            self._watch_pause(run)
        else:
            run.paused_since = None

    def _on_end(
        self, run: Run, status: Status, reason: str | None, weights: Weights | None
    ) -> None:
        if run.parked and not run.stop_requested:
            # It gave its slot back on purpose: still paused, resumable from its checkpoint.
            run.handle = None
            self._release(run)
            return
        if run.shutting_down:
            status, reason = "interrupted", SHUTDOWN_REASON
        elif run.stop_requested and status in ("failed", "stopped"):
            status, reason = "stopped", STOPPED_REASON  # killed after a stop that hung
        held = self._free_slot(run)  # before the status changes: who sees it ended finds a slot
        self._finish(run, status, reason, weights)
        if weights is None and run.final_weights is None:
            self._load_final(run)  # its last checkpoint, for probes and the network view
        if held:
            self._fill_slots()

    def test_labels(self) -> np.ndarray | None:
        """The MNIST test labels, for the mistakes gallery (the worker has just loaded them)."""
        if self._test_labels is None:
            from app.data.mnist import MNISTUnavailable, load_mnist_test

            try:
                _, labels = load_mnist_test(
                    self.data.mnist_dir, self.data.cache_dir, download=False
                )
            except MNISTUnavailable:
                return None
            self._test_labels = labels
        return self._test_labels

    def _finish(
        self, run: Run, status: Status, reason: str | None, weights: Weights | None
    ) -> None:
        if run.status in ENDED:
            return
        run.finished = run.finished or utc_now()
        if self._runs.get(run.id) is not run:  # deleted meanwhile: nothing to record
            run.set_status(status, reason)
            return
        if weights is not None:
            run.final_weights = weights
            try:
                self._save_final(run, weights)
            except Exception:
                log.exception("could not save the weights of run %s", run.id)
        run.set_status(status, reason)
        try:
            self._persist_points(run)
            self._persist_evaluation(run)
            self._persist_state(run)
        except sqlite3.ProgrammingError:
            # The store closed under a worker that answered past the shutdown deadline.
            log.info("run %s ended after the store closed", run.id)

    def _on_checkpoint(self, run: Run, event: CheckpointEvent) -> None:
        """Write the checkpoint where the final weights go: a run that dies (worker killed,
        server killed) can still be saved as a model from it."""
        if self._runs.get(run.id) is not run or not run.live:
            return
        try:
            self._save_final(run, event.weights, checkpoint=True)
        except Exception:
            log.exception("could not write the checkpoint of run %s", run.id)

    def _save_final(self, run: Run, weights: Weights, *, checkpoint: bool = False) -> None:
        from app.nn.serialize import model_to_bytes

        metadata = {
            "source_run": run.id,
            "config": run.config,
            "step": weights.step,
            "checkpoint": checkpoint,
        }
        write_atomic(path_for(self.runs_dir, run.id), model_to_bytes(weights.network(), metadata))

    def _load_final(self, run: Run) -> Weights | None:
        from app.nn.serialize import ModelFileError, load_model

        path = path_for(self.runs_dir, run.id)
        if not path.exists():
            return None
        try:
            network, metadata = load_model(path)
        except (ModelFileError, OSError) as exc:
            log.warning("run %s: unreadable weights: %s", run.id, exc)
            return None
        run.final_weights = Weights.of(network, int(metadata.get("step", run.current_step())))
        return run.final_weights

    # -- persistence ----------------------------------------------------------------------

    def _persist_points(self, run: Run) -> None:
        end = run.history_length()
        start = run.persisted_points
        if end > start and self._runs.get(run.id) is run:
            self.store.append_points(run.id, start, run.points(start, end))
            run.persisted_points = end

    def _persist_state(self, run: Run) -> None:
        if self._runs.get(run.id) is not run:
            return
        self.store.update_run(
            run.id,
            status=run.status,
            reason=run.reason,
            started=run.started,
            finished=run.finished if run.status in ENDED else None,
            progress=run.progress_state,
            latest=run.latest,
        )

    def _persist_evaluation(self, run: Run) -> None:
        if self._runs.get(run.id) is not run or not run.evaluations:
            return
        fields: dict[str, Any] = {"evaluations": list(run.evaluations)}
        if run.predictions is not None and run.confidence is not None:
            fields["predictions"] = run.predictions.tobytes()
            fields["confidence"] = run.confidence.tobytes()
        self.store.update_run(run.id, **fields)

    def flush(self) -> None:
        """Write every live run's new points and progress (also called by the flusher)."""
        for run in self.list():
            if run.live or run.history_length() > run.persisted_points:
                try:
                    self._persist_points(run)
                    if run.live:
                        self.store.update_run(
                            run.id, progress=run.progress_state, latest=run.latest
                        )
                except Exception:
                    log.exception("could not persist run %s", run.id)

    def _flush_loop(self) -> None:
        while not self._closing.wait(self.flush_interval):
            self.flush()
        self.flush()
