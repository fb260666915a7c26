"""RunManager: creates runs, trains each in its own thread, persists them, controls them.

Training never runs on the event loop: each run gets a daemon thread that loads MNIST
(downloading it on first use) and then blocks in `Trainer.run()`. The manager's flusher thread
writes every live run's new metric points to SQLite every `flush_interval` seconds, so a crash
loses at most that much history; a run's end writes everything.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.runs.run import ENDED, LIVE, Run
from app.store.db import Store, StoredRun
from app.store.files import path_for, write_atomic
from app.store.models import utc_now

log = logging.getLogger(__name__)

INTERRUPTED_REASON = "the server stopped while this run was live"
SHUTDOWN_REASON = "the server shut down"
STOPPED_REASON = "stopped by request"
PAUSE_WAIT_SECONDS = 2.0


class RunNotFound(KeyError):
    pass


class RunStateError(Exception):
    """The request is valid but not in the run's current state (→ 409)."""


class TooManyRuns(Exception):
    """Every training slot is busy (→ 429)."""


@dataclass
class DataSource:
    """Where runs get MNIST from (kept here so app/runs never reads Settings)."""

    mnist_dir: Path | None
    cache_dir: Path
    download: bool = True
    mirrors: tuple[str, ...] | None = None  # None: the built-in public mirrors


class RunManager:
    def __init__(
        self,
        store: Store,
        runs_dir: Path,
        data: DataSource,
        *,
        max_runs: int,
        flush_interval: float = 2.0,
    ) -> None:
        self.store = store
        self.runs_dir = runs_dir
        self.data = data
        self.max_runs = max_runs
        self.flush_interval = flush_interval
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._flusher: threading.Thread | None = None

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
        """Stop every training thread and persist; returns within about `timeout` seconds."""
        self._closing.set()
        # Every run whose thread still works, including runs already reported stopped whose
        # thread is finishing its mini-batch: all must be done before the store closes.
        busy = [run for run in self.list() if run.live or (run.thread and run.thread.is_alive())]
        for run in busy:
            run.shutting_down = run.live
            run.stop_requested = True
            if run.trainer is not None:
                run.trainer.stop()
        deadline = time.monotonic() + timeout
        for run in busy:
            if run.thread is not None:
                run.thread.join(max(0.0, deadline - time.monotonic()))
            if run.live:  # its thread is stuck (e.g. mid-download): record it as interrupted
                self._finish(run, "interrupted", SHUTDOWN_REASON)
        if self._flusher is not None:
            self._flusher.join(max(0.1, deadline - time.monotonic()))

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
        """Validate the config (ValueError names the field) and start training in a thread."""
        from app.presets import resolve_config

        config = resolve_config(preset, overrides)
        config_dict = dict(config.to_dict())
        if preset is not None:
            config_dict["preset"] = preset
        with self._lock:
            if sum(1 for run in self._runs.values() if run.live) >= self.max_runs:
                raise TooManyRuns(
                    f"{self.max_runs} training run(s) are already live (the limit); "
                    "stop one or wait for it to finish"
                )
            run_id = f"r_{secrets.token_hex(4)}"
            while run_id in self._runs:
                run_id = f"r_{secrets.token_hex(4)}"
            run = Run(id=run_id, config=config_dict, created=utc_now())
            self._runs[run_id] = run
        try:
            self.store.add_run(StoredRun(run.id, run.status, run.config, run.created))
        except Exception:
            with self._lock:
                self._runs.pop(run_id, None)
            raise
        run.thread = threading.Thread(
            target=self._work, args=(run, config), name=f"train-{run_id}", daemon=True
        )
        run.thread.start()
        return run

    def pause(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status != "running" or run.trainer is None:
            raise RunStateError(f"run {run_id} is {run.status}; only a running run can pause")
        run.trainer.pause()
        # Answer once the training thread has really stopped between batches (a batch takes
        # milliseconds), so the step a client sees after pausing is the final one.
        deadline = time.monotonic() + PAUSE_WAIT_SECONDS
        while run.trainer.status == "running" and time.monotonic() < deadline:
            time.sleep(0.001)
        if run.trainer.status in ("running", "paused"):  # not if it ended meanwhile
            run.set_status("paused")
        self._persist_state(run)
        return run

    def resume(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status != "paused" or run.trainer is None:
            raise RunStateError(f"run {run_id} is {run.status}; only a paused run can resume")
        run.trainer.resume()
        run.set_status("running")
        self._persist_state(run)
        return run

    def step(self, run_id: str) -> Run:
        run = self.get(run_id)
        if run.status != "paused" or run.trainer is None:
            raise RunStateError(
                f"run {run_id} is {run.status}; single steps need a paused run (pause it first)"
            )
        run.trainer.step()
        return run

    def stop(self, run_id: str) -> Run:
        run = self.get(run_id)
        if not run.live:
            raise RunStateError(f"run {run_id} has already ended ({run.status})")
        run.stop_requested = True
        if run.trainer is not None:
            run.trainer.stop()
        # Report the outcome at once; the thread confirms it (and writes the weights) shortly.
        run.finished = utc_now()
        run.set_status("stopped", STOPPED_REASON)
        self._persist_state(run)
        return run

    def set_learning_rate(self, run_id: str, learning_rate: float) -> Run:
        run = self.get(run_id)
        if not run.live:
            raise RunStateError(
                f"run {run_id} has ended ({run.status}); its learning rate is fixed"
            )
        run.config["learning_rate"] = learning_rate
        if run.trainer is not None:
            run.trainer.set_learning_rate(learning_rate)
        if run.latest is not None:
            run.latest = {**run.latest, "learning_rate": learning_rate}
        self.store.update_run(run.id, latest=run.latest, config=run.config)
        return run

    def delete(self, run_id: str) -> None:
        run = self.get(run_id)
        if run.live:
            run.stop_requested = True
            if run.trainer is not None:
                run.trainer.stop()
        with self._lock:
            self._runs.pop(run_id, None)
        self.store.delete_run(run_id)
        path_for(self.runs_dir, run_id).unlink(missing_ok=True)
        if run.on_change is not None:
            run.on_change("deleted", None)

    def network(self, run_id: str) -> Any:
        """The run's current (or final) network; RunStateError before training has begun."""
        run = self.get(run_id)
        network = run.network()
        if network is None and run.status in ENDED:
            network = self._load_final(run)
        if network is None:
            raise RunStateError(f"run {run_id} is {run.status} and has no weights yet")
        return network

    def set_model(self, run: Run, model_id: str) -> None:
        run.model_id = model_id
        self.store.update_run(run.id, model_id=model_id)

    # -- the training thread --------------------------------------------------------------

    def _work(self, run: Run, config: Any) -> None:
        from app.data.mnist import MNISTUnavailable, load_mnist
        from app.nn.trainer import EvaluationEvent, MetricsEvent, StatusEvent, Trainer

        try:

            def progress(done: int, total: int) -> None:
                if run.status == "queued":
                    run.set_status("downloading")
                run.download = (int(done), int(total))

            data = load_mnist(
                self.data.mnist_dir,
                self.data.cache_dir,
                download=self.data.download,
                progress=progress,
                **({"mirrors": self.data.mirrors} if self.data.mirrors else {}),
            )
            if run.stop_requested:
                if run.shutting_down:
                    self._finish(run, "interrupted", SHUTDOWN_REASON)
                else:
                    self._finish(run, "stopped", STOPPED_REASON)
                return
            test_labels = data.test_labels

            def on_event(event: Any) -> None:
                if isinstance(event, MetricsEvent):
                    run.record_metrics(event)
                elif isinstance(event, EvaluationEvent):
                    evaluation = run.record_evaluation(event, test_labels)
                    if run.on_change is not None:
                        run.on_change("evaluation", evaluation)
                    self._persist_evaluation(run)
                elif (
                    isinstance(event, StatusEvent)
                    and event.status in LIVE
                    and not run.stop_requested
                ):
                    # Final statuses are applied once, by _finish, after the weights are saved.
                    run.set_status(event.status, event.reason)

            trainer = Trainer(config, data, on_event=on_event)
            run.data = data  # kept for the digits browser
            run.trainer = trainer
            if run.config.get("learning_rate") != config.learning_rate:
                trainer.set_learning_rate(run.config["learning_rate"])
            if run.stop_requested:
                trainer.stop()
            else:
                run.started = utc_now()
                run.set_status("running")
                self.store.update_run(run.id, status="running", started=run.started)
            final = trainer.run()
            reason = getattr(trainer, "reason", None)
            if run.shutting_down:
                final, reason = "interrupted", SHUTDOWN_REASON
            elif run.stop_requested:
                final, reason = "stopped", STOPPED_REASON
            elif final not in ENDED:
                final = "finished"
            self._finish(run, final, reason)
        except MNISTUnavailable as exc:
            self._finish(run, "failed", str(exc))
        except Exception as exc:  # any bug in training must end the run visibly, not silently
            log.exception("run %s failed", run.id)
            self._finish(run, "failed", f"{type(exc).__name__}: {exc}")

    def _finish(self, run: Run, status: str, reason: str | None) -> None:
        run.finished = run.finished or utc_now()
        if self._runs.get(run.id) is not run:  # deleted meanwhile: nothing to record
            return
        if run.trainer is not None:
            try:
                self._save_final(run)
            except Exception:
                log.exception("could not save the weights of run %s", run.id)
        run.set_status(status, reason)
        try:
            self._persist_points(run)
            self._persist_evaluation(run)
            self._persist_state(run)
        except sqlite3.ProgrammingError:
            # The store closed under a thread stuck past the shutdown deadline (e.g. in a
            # download); shutdown has already recorded the run as interrupted.
            log.info("run %s ended after the store closed", run.id)

    def _save_final(self, run: Run) -> None:
        from app.nn.serialize import model_to_bytes

        network = run.trainer.snapshot()
        run.final_network = network
        metadata = {"source_run": run.id, "config": run.config}
        write_atomic(path_for(self.runs_dir, run.id), model_to_bytes(network, metadata))

    def _load_final(self, run: Run) -> Any:
        from app.nn.serialize import ModelFileError, load_model

        path = path_for(self.runs_dir, run.id)
        if not path.exists():
            return None
        try:
            run.final_network, _ = load_model(path)
        except (ModelFileError, OSError) as exc:
            log.warning("run %s: unreadable weights: %s", run.id, exc)
            return None
        return run.final_network

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
