"""Review #11: a run's end and a flush that overlap must not lose the run's last metric points
(a real SQLite file; the two writers are real threads, their interleaving forced by hooks)."""

from __future__ import annotations

import threading
from pathlib import Path

from app.nn.config import TrainConfig
from app.runs.records import RunRecords
from app.runs.run import Run
from app.store.db import Store


def _add_points(run: Run, count: int) -> None:
    for _ in range(count):
        step = len(run.steps)
        run.steps.append(step)
        run.epochs.append(step / 100)
        run.costs.append(1.0 / (step + 1))
        run.accuracies.append(0.5)  # last: readers size their slices on this list


def test_a_flush_overlapping_the_runs_end_keeps_every_point(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    records = RunRecords(store, lambda run: True)
    run = Run(id="r_0000beef", config=TrainConfig(), created="2026-12-04T00:00:00Z")
    records.add(run)
    _add_points(run, 100)
    records.points(run)  # [0, 100) stored
    _add_points(run, 50)

    append = store.append_points
    flusher_writing, end_wrote, flusher_done = (threading.Event() for _ in range(3))

    def hooked_append(run_id: str, start: int, points: dict) -> None:  # type: ignore[type-arg]
        if threading.current_thread().name == "flusher":
            flusher_writing.set()  # it has read its start and end (100, 150)
            # Let the run's end overtake, if it can (it can't while the flusher writes).
            end_wrote.wait(0.5)
            append(run_id, start, points)
        else:
            append(run_id, start, points)
            end_wrote.set()
            flusher_done.wait(0.5)  # the flusher's write and bookkeeping, if they can go first

    store.append_points = hooked_append  # type: ignore[method-assign]

    def flush() -> None:
        records.points(run)
        flusher_done.set()

    flusher = threading.Thread(target=flush, name="flusher")
    flusher.start()
    assert flusher_writing.wait(10)
    _add_points(run, 10)  # the run's last points arrive; then it ends on its reader thread
    records.points(run)
    flusher.join(10)
    store.append_points = append  # type: ignore[method-assign]
    try:
        (stored,) = store.load_runs()
        assert stored.metrics["step"] == list(range(160))
        assert run.persisted_points == 160
    finally:
        store.close()
