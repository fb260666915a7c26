"""RunManager on real MNIST: worker processes, status machine, persistence, restart, shutdown."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from app.runs.manager import RunStateError, TooManyRuns

from .support import nice_of, wait_for

SHORT = {"epochs": 1, "train_subset": 1000, "validation_size": 500, "layers": [16]}
LONG = {"epochs": 100, "validation_size": 500, "layers": [16]}


def test_a_run_trains_in_its_worker_process_and_is_persisted(make_manager, tmp_path: Path) -> None:
    manager = make_manager()
    run = manager.create("3b1b", SHORT)
    assert run.handle is not None
    placement = wait_for(lambda: run.handle.placement())
    assert placement.pid != os.getpid()
    # It trains at a lower priority than the server's (predictions stay fast): nice ≥ 10.
    wait_for(lambda: (nice_of(placement.pid) or 0) >= 10, what="the worker's lower priority")
    wait_for(lambda: run.status == "finished")
    assert run.handle.join(5) and not run.handle.alive()
    assert (tmp_path / "runs" / f"{run.id}.npz").exists()  # final weights, atomically written
    (stored,) = manager.store.load_runs()
    assert stored.status == "finished" and stored.finished
    assert stored.metrics["step"] == run.steps and len(run.steps) > 0
    assert len(stored.evaluations) == 1 and stored.predictions is not None
    with pytest.raises(RunStateError):
        manager.pause(run.id)


def test_limits_states_and_shutdown(make_manager) -> None:
    manager = make_manager(max_runs=1, max_queued=0)
    run = manager.create(None, LONG)
    with pytest.raises(TooManyRuns):
        manager.create(None, SHORT)
    wait_for(lambda: run.status == "running")
    with pytest.raises(RunStateError):
        manager.step(run.id)  # only while paused
    manager.pause(run.id)
    assert run.status == "paused"
    began = time.monotonic()
    manager.shutdown(timeout=3)
    assert time.monotonic() - began < 3.5
    assert not run.handle.alive()
    assert run.status == "interrupted" and run.reason == "the server shut down"


def test_restart_marks_live_runs_interrupted_and_keeps_history(make_manager) -> None:
    first = make_manager()
    run = first.create(None, LONG)
    wait_for(lambda: len(run.steps) >= 3)
    first.flush()
    kept = list(run.steps[: run.persisted_points])
    # Simulate a crash: the store still says "running" and the threads never said goodbye.
    first.store.update_run(run.id, status="running")
    first.shutdown()
    first.store.update_run(run.id, status="running")
    second = make_manager()
    again = second.get(run.id)
    assert again.status == "interrupted" and again.reason
    assert again.steps[: len(kept)] == kept and len(again.steps) >= len(kept) > 0


def test_a_run_at_chance_after_its_first_evaluation_is_reported_as_collapsed(make_manager) -> None:
    manager = make_manager()
    config = {
        **SHORT,
        "epochs": 3,
        "train_subset": 8000,
        "batch_size": 32,
        "optimizer": "sgd",
        "learning_rate": 1000.0,
    }
    run = manager.create(None, config)
    wait_for(lambda: run.status not in {"queued", "downloading", "running"})
    assert run.status == "diverged"
    # Either the cost overflowed outright, or the first evaluation found chance-level accuracy.
    assert "learning rate 1000" in run.reason and "smaller" in run.reason
    if run.reason.startswith("collapsed"):
        assert len(run.evaluations) == 1  # stopped after the first epoch, not all three
        assert "try 100" in run.reason
