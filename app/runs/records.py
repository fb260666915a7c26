"""A run's record in the store: what must survive the server (SQLite, app/store/db.py).

The flusher thread writes every live run's new metric points every `flush_interval` seconds,
so a crash loses at most that much history; a run's end writes everything.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from app.runs.run import ENDED, Run
from app.store.db import ColumnValue, Store, StoredRun
from app.store.disk import StorageFull

log = logging.getLogger(__name__)


class RunRecords:
    """Writes runs to `store`; `is_current(run)` says whether the run is still the one of its
    id (a deleted run is not written again)."""

    def __init__(
        self, store: Store, is_current: Callable[[Run], bool], flush_interval: float = 2.0
    ) -> None:
        self.store = store
        self.is_current = is_current
        self.flush_interval = flush_interval
        self._closing = threading.Event()
        self._flusher: threading.Thread | None = None
        self._points_lock = threading.Lock()  # one writer of points at a time (see `points`)

    def load(self, interrupted_reason: str, now: str) -> list[Run]:
        """Every stored run; those a dead process left live become `interrupted` first."""
        self.store.mark_interrupted(interrupted_reason, now)
        return [Run.from_stored(stored) for stored in self.store.load_runs()]

    def add(self, run: Run) -> None:
        self.store.add_run(
            StoredRun(run.id, run.status, run.config_json(), run.created, owner=run.owner)
        )

    def delete(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def update(self, run: Run, **fields: ColumnValue) -> None:
        self.store.update_run(run.id, **fields)

    def points(self, run: Run) -> None:
        """Store the run's points not stored yet. The flusher thread and the run's end (its
        reader thread) both call this: serialised, so they never both write from the same
        start, the shorter chunk replacing the longer one and its last points lost."""
        with self._points_lock:
            self._write_points(run)

    def _write_points(self, run: Run) -> None:
        end = run.history_length()
        start = run.persisted_points
        if end > start and self.is_current(run):
            self.store.append_points(run.id, start, run.points(start, end))
            run.persisted_points = end

    def state(self, run: Run) -> None:
        if not self.is_current(run):
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

    def evaluation(self, run: Run) -> None:
        if not self.is_current(run) or not run.evaluations:
            return
        fields: dict[str, ColumnValue] = {"evaluations": list(run.evaluations)}
        if run.predictions is not None and run.confidence is not None:
            fields["predictions"] = run.predictions.tobytes()
            fields["confidence"] = run.confidence.tobytes()
        try:
            self.store.update_run(run.id, **fields)
        except StorageFull as exc:  # kept in memory; written again at the run's end
            log.warning("run %s: %s", run.id, exc)

    def ended(self, run: Run) -> None:
        """Everything of a run that has just ended: its state first, so that one part the
        disk can't take (StorageFull) never keeps the others, above all the status, out."""
        for write in (self.state, self.evaluation, self.points):
            try:
                write(run)
            except sqlite3.ProgrammingError:
                # The store closed under a worker that answered past the shutdown deadline.
                log.info("run %s ended after the store closed", run.id)
                return
            except StorageFull as exc:
                log.error("run %s: %s", run.id, exc)

    def flush(self, runs: list[Run]) -> None:
        """Write every live run's new points and progress (also done by the flusher)."""
        for run in runs:
            if run.live or run.history_length() > run.persisted_points:
                try:
                    self.points(run)
                    if run.live:
                        self.store.update_run(
                            run.id, progress=run.progress_state, latest=run.latest
                        )
                except StorageFull as exc:  # written at the next flush, or at the end
                    log.warning("could not persist run %s: %s", run.id, exc)
                except Exception:
                    log.exception("could not persist run %s", run.id)

    def start_flusher(self, runs: Callable[[], list[Run]]) -> None:
        def loop() -> None:
            while not self._closing.wait(self.flush_interval):
                self.flush(runs())
            self.flush(runs())

        self._flusher = threading.Thread(target=loop, name="run-flusher", daemon=True)
        self._flusher.start()

    def stop_flusher(self) -> None:
        """The flusher writes once more, then ends (`join_flusher` waits for it)."""
        self._closing.set()

    def join_flusher(self, timeout: float = 1.0) -> None:
        if self._flusher is not None:
            self._flusher.join(timeout)
